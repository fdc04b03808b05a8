"""The leaderboard of one dataset: every metric per model x language, x language family,
per model family x language family, the overall score, and the held-out-family view.

Statistics: documents are pooled into a per-language value (the mean over the documents
where the metric is defined), languages into a family value, families into an overall
value, each level an unweighted mean of the one below. Models are ranked by ``score``. 95% intervals are percentile intervals of a cluster
bootstrap over documents (see :mod:`macro_bench.aggregate.bootstrap`), computed at every
level from the same replicates. All models are compared on the documents they share.
"""

from __future__ import annotations

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
    models = list(model_families)
    where = f"dataset {dataset}: " if dataset else ""
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
    languages = language_table(sorted(coverage.shared["language"].unique()), problems)
    language_codes = languages["language"].tolist()
    families = sorted(languages["language_family"].unique())
    family_codes = pd.Categorical(languages["language_family"], categories=families).codes.astype(np.int64)
    model_family_of = [model_families[m][0] for m in models]
    model_family_names = sorted(set(model_family_of))
    model_family_codes = pd.Categorical(model_family_of, categories=model_family_names).codes.astype(np.int64)
    held_out_codes = _held_out_codes(families, settings.seen_families) if settings.seen_families else None

    panel = build_panel(coverage.shared, models, language_codes)
    weights = bootstrap_weights(len(panel.doc_keys), settings.n_resamples, settings.seed)
    means = language_means(panel, weights)
    family_of_model = np.array(model_family_of, dtype=object)

    overall, by_language, by_family, by_model_family, held_out = [], [], [], [], []
    for spec in REPORTED:
        per_language = means[spec.name]
        per_family, n_languages = average_groups(per_language, family_codes, len(families))
        per_model, n_families = average_all(per_family)
        per_model_family, n_models = average_groups(per_family.transpose(0, 2, 1), model_family_codes, len(model_family_names))
        per_model_family = per_model_family.transpose(0, 2, 1)
        n_documents = panel.n_present(spec.name)
        n_documents_family = _sum_groups(n_documents, family_codes, len(families))
        # Languages a model-family average drew on: those defined for the family's models.
        n_languages_mf = np.stack([n_languages[model_family_codes == k].max(axis=0) for k in range(len(model_family_names))])
        c = settings.confidence
        by_language.append(
            tidy(spec, per_language, [("model", models), ("language", language_codes)], c, n_documents=n_documents)
        )
        by_family.append(
            tidy(spec, per_family, [("model", models), ("language_family", families)], c,
                 n_languages=n_languages, n_documents=n_documents_family)
        )
        overall.append(tidy(spec, per_model, [("model", models)], c, n_language_families=n_families,
                            n_documents=n_documents.sum(axis=1)))
        by_model_family.append(
            tidy(spec, per_model_family,
                 [("model_family", model_family_names), ("language_family", families)], c,
                 n_models=n_models.T, n_languages=n_languages_mf)
        )
        if held_out_codes is not None:
            split, n_split = average_groups(per_family, held_out_codes, 2)
            seen, unseen = split[..., 0], split[..., 1]
            table = tidy(spec, seen, [("model", models)], c, prefix="seen_", n_seen_families=n_split[:, 0])
            unseen_table = tidy(spec, unseen, [("model", models)], c, prefix="held_out_", n_held_out_families=n_split[:, 1])
            gap_table = tidy(spec, seen - unseen, [("model", models)], c, prefix="gap_")
            held_out.append(
                table.merge(unseen_table, on=["model", "metric"]).merge(gap_table, on=["model", "metric"])
            )

    overall_table = pd.concat(overall, ignore_index=True)
    score = overall_table[overall_table["metric"] == SCORE].set_index("model")["value"]
    rank = score.rank(ascending=False, method="min").astype("int64")
    model_table = pd.DataFrame(
        {
            "model": models,
            "model_family": family_of_model,
            "family_source": [model_families[m][1] for m in models],
            "rank": rank.reindex(models).to_numpy(),
        }
    ).sort_values(["rank", "model"], kind="stable").reset_index(drop=True)
    order = {model: i for i, model in enumerate(model_table["model"])}

    def ranked(table: pd.DataFrame) -> pd.DataFrame:
        table = table.merge(model_table[["model", "model_family"]], on="model")
        front = ["model", "model_family"]
        table = table[front + [c for c in table.columns if c not in front]]
        return table.sort_values("model", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)

    overall_table = ranked(overall_table)
    overall_table.insert(2, "rank", overall_table["model"].map(rank).astype("int64"))
    by_language_table = ranked(pd.concat(by_language, ignore_index=True)).merge(languages, on="language", how="left")
    return Leaderboard(
        dataset=dataset,
        overall=overall_table,
        by_language=by_language_table,
        by_language_family=ranked(pd.concat(by_family, ignore_index=True)),
        by_model_family=pd.concat(by_model_family, ignore_index=True),
        held_out=ranked(pd.concat(held_out, ignore_index=True)) if held_out else None,
        coverage=coverage,
        models=model_table,
        languages=languages,
        settings=settings,
        problems=problems,
    )
