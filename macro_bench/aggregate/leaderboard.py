"""The leaderboard of one dataset: every metric per model x language, x language family,
per model family x language family, the overall score, and the held-out-family view.

Statistics: documents are pooled into a per-language value (the mean over the documents
where the metric is defined), languages into a family value, families into an overall
value, each level an unweighted mean of the one below. Models are ranked by ``score``. 95% intervals are percentile intervals of a cluster
bootstrap over documents (see :mod:`macro_bench.aggregate.bootstrap`), computed at every
level from the same replicates. All models are compared on the documents they share.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from macro_bench.aggregate.bootstrap import bootstrap_weights
from macro_bench.aggregate.coverage import Coverage, shared_coverage
from macro_bench.aggregate.hierarchy import average_all, average_groups
from macro_bench.aggregate.metric_specs import REPORTED, SCORE
from macro_bench.aggregate.panel import build_panel, language_means
from macro_bench.aggregate.problems import InputError, Problems
from macro_bench.aggregate.summary import tidy

UNKNOWN_FAMILY = "Unknown"


@dataclass(frozen=True)
class Settings:
    n_resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    seen_families: tuple[str, ...] = ()


@dataclass
class Leaderboard:
    dataset: str
    overall: pd.DataFrame
    by_language: pd.DataFrame
    by_language_family: pd.DataFrame
    by_model_family: pd.DataFrame
    held_out: pd.DataFrame | None
    coverage: Coverage
    models: pd.DataFrame  # model, model_family, family_source, rank
    languages: pd.DataFrame  # language, name, language_family
    settings: Settings
    problems: Problems = field(default_factory=Problems)


def language_table(codes: list[str], problems: Problems) -> pd.DataFrame:
    from macro_bench.languages import load_languages

    known = load_languages()
    unknown = [code for code in codes if code not in known]
    if unknown:
        problems.warn(
            f"languages not in macro_bench/languages.tsv, grouped as family {UNKNOWN_FAMILY!r}: {', '.join(unknown)}"
        )
    return pd.DataFrame(
        {
            "language": codes,
            "name": [known[c].name if c in known else c for c in codes],
            "language_family": [known[c].family if c in known else UNKNOWN_FAMILY for c in codes],
        }
    )


def _held_out_codes(families: list[str], seen: tuple[str, ...]) -> np.ndarray:
    unknown = sorted(set(seen) - set(families))
    if unknown:
        raise InputError(
            f"--seen-families names {', '.join(unknown)}, not a language family of these runs; "
            f"the families are: {', '.join(families)}"
        )
    codes = np.array([0 if family in seen else 1 for family in families])
    if codes.min() == 1 or codes.max() == 0:
        raise InputError(
            "--seen-families must leave at least one family seen and one held out; "
            f"the families of these runs are: {', '.join(families)}"
        )
    return codes


def language_families(codes: list[str]) -> list[str]:
    from macro_bench.languages import load_languages

    known = load_languages()
    return sorted({known[c].family if c in known else UNKNOWN_FAMILY for c in codes})


def _sum_groups(counts: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    members = np.zeros((len(codes), n_groups))
    members[np.arange(len(codes)), codes] = 1.0
    return counts @ members


@dataclass(frozen=True)
class LanguageAxis:
    """The languages the compared models share, in code order, and their language families."""

    table: pd.DataFrame  # language, name, language_family
    codes: list[str]
    families: list[str]
    family_codes: np.ndarray  # each language's index in families


def language_axis(coverage: Coverage, problems: Problems) -> LanguageAxis:
    table = language_table(sorted(coverage.shared["language"].unique()), problems)
    families = sorted(table["language_family"].unique())
    family_codes = pd.Categorical(table["language_family"], categories=families).codes.astype(np.int64)
    return LanguageAxis(table, table["language"].tolist(), families, family_codes)


def _shared_documents(documents: pd.DataFrame, models: list[str], where: str, problems: Problems) -> Coverage:
    """The documents every model was scored on; an error when there are none."""
    coverage = shared_coverage(documents, models)
    if coverage.shared.empty:
        raise InputError(
            f"{where}the {len(models)} models share no scored document (same language and doc_key), "
            "so they cannot be compared; see the coverage of each run"
        )
    if not coverage.languages_left_out.empty:
        problems.warn(
            f"{where}languages left out because not every model has a document in them: "
            + "; ".join(f"{r.language} (missing for {r.models_without})" for r in coverage.languages_left_out.itertuples())
        )
    return coverage


@dataclass(frozen=True)
class _ModelAxis:
    """The models in display order and the model family each belongs to."""

    models: list[str]
    family_of: list[str]  # per model
    families: list[str]
    family_codes: np.ndarray  # each model's index in families

    @classmethod
    def of(cls, model_families: dict[str, tuple[str, str]]) -> _ModelAxis:
        family_of = [family for family, _ in model_families.values()]
        families = sorted(set(family_of))
        return cls(list(model_families), family_of, families,
                   pd.Categorical(family_of, categories=families).codes.astype(np.int64))


def _held_out_table(spec, per_family: np.ndarray, held_out_codes: np.ndarray, models: list[str], c: float) -> pd.DataFrame:
    """Seen families, held-out families and the gap between them, per model."""
    split, n_split = average_groups(per_family, held_out_codes, 2)
    seen, unseen = split[..., 0], split[..., 1]
    table = tidy(spec, seen, [("model", models)], c, prefix="seen_", n_seen_families=n_split[:, 0])
    unseen_table = tidy(spec, unseen, [("model", models)], c, prefix="held_out_", n_held_out_families=n_split[:, 1])
    gap_table = tidy(spec, seen - unseen, [("model", models)], c, prefix="gap_")
    return table.merge(unseen_table, on=["model", "metric"]).merge(gap_table, on=["model", "metric"])


def _metric_tables(spec, per_language: np.ndarray, n_documents: np.ndarray, languages: LanguageAxis,
                   model_axis: _ModelAxis, c: float, held_out_codes: np.ndarray | None) -> dict[str, pd.DataFrame]:
    """One metric's tables at every level, from its per-language bootstrap means."""
    models, families = model_axis.models, languages.families
    per_family, n_languages = average_groups(per_language, languages.family_codes, len(families))
    per_model, n_families = average_all(per_family)
    per_model_family, n_models = average_groups(
        per_family.transpose(0, 2, 1), model_axis.family_codes, len(model_axis.families)
    )
    per_model_family = per_model_family.transpose(0, 2, 1)
    n_documents_family = _sum_groups(n_documents, languages.family_codes, len(families))
    # Languages a model-family average drew on: those defined for the family's models.
    n_languages_mf = np.stack(
        [n_languages[model_axis.family_codes == k].max(axis=0) for k in range(len(model_axis.families))]
    )
    tables = {
        "by_language": tidy(spec, per_language, [("model", models), ("language", languages.codes)], c,
                            n_documents=n_documents),
        "by_language_family": tidy(spec, per_family, [("model", models), ("language_family", families)], c,
                                   n_languages=n_languages, n_documents=n_documents_family),
        "overall": tidy(spec, per_model, [("model", models)], c, n_language_families=n_families,
                        n_documents=n_documents.sum(axis=1)),
        "by_model_family": tidy(spec, per_model_family,
                                [("model_family", model_axis.families), ("language_family", families)], c,
                                n_models=n_models.T, n_languages=n_languages_mf),
    }
    if held_out_codes is not None:
        tables["held_out"] = _held_out_table(spec, per_family, held_out_codes, models, c)
    return tables


def _model_table(overall: pd.DataFrame, model_axis: _ModelAxis, model_families: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """model, model_family, family_source and rank (by score, ties sharing the best rank), best first."""
    score = overall[overall["metric"] == SCORE].set_index("model")["value"]
    rank = score.rank(ascending=False, method="min").astype("int64")
    return pd.DataFrame(
        {
            "model": model_axis.models,
            "model_family": np.array(model_axis.family_of, dtype=object),
            "family_source": [model_families[m][1] for m in model_axis.models],
            "rank": rank.reindex(model_axis.models).to_numpy(),
        }
    ).sort_values(["rank", "model"], kind="stable").reset_index(drop=True)


def _ranked(table: pd.DataFrame, model_table: pd.DataFrame) -> pd.DataFrame:
    """The table with each row's model family beside its model, its rows in rank order."""
    order = {model: i for i, model in enumerate(model_table["model"])}
    table = table.merge(model_table[["model", "model_family"]], on="model")
    front = ["model", "model_family"]
    table = table[front + [c for c in table.columns if c not in front]]
    return table.sort_values("model", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def build_leaderboard(
    documents: pd.DataFrame,
    model_families: dict[str, tuple[str, str]],
    settings: Settings = Settings(),
    problems: Problems | None = None,
    dataset: str = "",
) -> Leaderboard:
    """The leaderboard of one dataset's ``documents``.

    ``model_families`` maps each model (in display order) to (family, how it was found).
    """
    problems = problems or Problems()
    model_axis = _ModelAxis.of(model_families)
    coverage = _shared_documents(documents, model_axis.models, f"dataset {dataset}: " if dataset else "", problems)
    languages = language_axis(coverage, problems)
    held_out_codes = _held_out_codes(languages.families, settings.seen_families) if settings.seen_families else None

    panel = build_panel(coverage.shared, model_axis.models, languages.codes)
    weights = bootstrap_weights(len(panel.doc_keys), settings.n_resamples, settings.seed)
    means = language_means(panel, weights)
    tables: dict[str, list[pd.DataFrame]] = defaultdict(list)
    for spec in REPORTED:
        for level, table in _metric_tables(spec, means[spec.name], panel.n_present(spec.name), languages, model_axis,
                                           settings.confidence, held_out_codes).items():
            tables[level].append(table)
    levels = {level: pd.concat(parts, ignore_index=True) for level, parts in tables.items()}

    model_table = _model_table(levels["overall"], model_axis, model_families)
    overall = _ranked(levels["overall"], model_table)
    overall.insert(2, "rank", overall["model"].map(model_table.set_index("model")["rank"]).astype("int64"))
    return Leaderboard(
        dataset=dataset,
        overall=overall,
        by_language=_ranked(levels["by_language"], model_table).merge(languages.table, on="language", how="left"),
        by_language_family=_ranked(levels["by_language_family"], model_table),
        by_model_family=levels["by_model_family"],
        held_out=_ranked(levels["held_out"], model_table) if "held_out" in levels else None,
        coverage=coverage,
        models=model_table,
        languages=languages.table,
        settings=settings,
        problems=problems,
    )
