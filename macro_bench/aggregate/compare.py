"""Paired comparison of two models on the documents of one dataset both were scored on.

Per metric, per language, per language family and overall: A, B, the difference A - B
with a paired cluster-bootstrap interval, and a two-sided sign-flip permutation p-value
(A and B swapped per document, jointly across languages for the same ``doc_key``,
so the test respects the parallel corpus as the bootstrap does). Only documents where
both models have the metric count, so a difference is never one of document sets.
"Better" follows each metric's direction. Fluency gets no difference and no verdict
when the two runs' fluency scorers differ (``fluency_comparable=False``, e.g. each model
scored itself): the two values are then on different scales.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from macro_bench.aggregate.bootstrap import bootstrap_weights, sign_flips, two_sided_pvalues
from macro_bench.aggregate.coverage import Coverage, shared_coverage
from macro_bench.aggregate.hierarchy import average_all, average_groups
from macro_bench.aggregate.leaderboard import LanguageAxis, Settings, language_axis
from macro_bench.aggregate.metric_specs import FLUENCY, REPORTED, MetricSpec
from macro_bench.aggregate.panel import Panel, build_panel, language_means
from macro_bench.aggregate.problems import InputError, Problems
from macro_bench.aggregate.summary import summarize

LEVELS = ("language", "language_family", "overall")


NO_VERDICT = "no verdict"


@dataclass
class Comparison:
    dataset: str
    model_a: str
    model_b: str
    by_language: pd.DataFrame
    by_family: pd.DataFrame
    overall: pd.DataFrame
    verdict: pd.DataFrame
    coverage: Coverage
    languages: pd.DataFrame
    settings: Settings
    alpha: float
    fluency_comparable: bool = True
    problems: Problems = field(default_factory=Problems)


def _pair_presence(panel: Panel) -> None:
    # A document counts for a metric only where both models have it.
    n_docs, n_languages = len(panel.doc_keys), len(panel.languages)
    shared_masks: dict[int, np.ndarray] = {}
    for spec in panel.metrics:
        mask = panel.present[spec.name]
        if id(mask) not in shared_masks:
            both = mask.reshape(n_docs, 2, n_languages).min(axis=1, keepdims=True)
            shared_masks[id(mask)] = np.broadcast_to(both, (n_docs, 2, n_languages)).reshape(n_docs, -1).copy()
        panel.present[spec.name] = shared_masks[id(mask)]
        panel.values[spec.name] = panel.values[spec.name] * panel.present[spec.name]


def _better(spec: MetricSpec, difference: np.ndarray, pvalue: np.ndarray, alpha: float) -> np.ndarray:
    signed = difference if spec.higher_is_better else -difference
    significant = pvalue < alpha
    return np.where(significant & (signed > 0), "A", np.where(significant & (signed < 0), "B", "none"))


def _qvalues(pvalues: np.ndarray) -> np.ndarray:
    # Benjamini-Hochberg across the languages (or families) of one metric.
    out = np.full(pvalues.shape, np.nan)
    defined = ~np.isnan(pvalues)
    if defined.any():
        out[defined] = false_discovery_control(pvalues[defined], method="bh")
    return out


def _level_table(spec, stats_a, stats_b, flip_stats, settings, alpha, labels: dict[str, object], comparable: bool,
                 **counts) -> pd.DataFrame:
    a, a_low, a_high = summarize(stats_a, settings.confidence)
    b, b_low, b_high = summarize(stats_b, settings.confidence)
    difference, low, high = summarize(stats_a - stats_b, settings.confidence)
    pvalue = two_sided_pvalues(flip_stats)
    better = _better(spec, difference, pvalue, alpha)
    if not comparable:
        nothing = np.full(np.shape(difference), np.nan)
        difference, low, high, pvalue = nothing, nothing, nothing, nothing
        better = np.full(np.shape(nothing), NO_VERDICT)
    table = pd.DataFrame(
        {
            **labels,
            "metric": spec.name,
            "higher_is_better": spec.higher_is_better,
            "a": a, "a_ci_low": a_low, "a_ci_high": a_high,
            "b": b, "b_ci_low": b_low, "b_ci_high": b_high,
            "difference": difference, "ci_low": low, "ci_high": high,
            "p_value": pvalue,
            "q_value": _qvalues(np.atleast_1d(pvalue)),
            "better": better,
            **counts,
        },
        index=range(np.size(difference)),
    )
    return table


def _verdict(tables: dict[str, pd.DataFrame], alpha: float) -> pd.DataFrame:
    # A metric without a verdict (fluency between different scorers) has no p-values,
    # so it counts 0 languages compared.
    rows = []
    for level, table in tables.items():
        for metric, group in table.groupby("metric", sort=False):
            tested = group.dropna(subset=["p_value"])
            significant_bh = tested["q_value"] < alpha
            rows.append(
                {
                    "metric": metric,
                    "level": level,
                    "a_better": int((tested["better"] == "A").sum()),
                    "b_better": int((tested["better"] == "B").sum()),
                    "no_difference": int((tested["better"] == "none").sum()),
                    "compared": len(tested),
                    "a_better_after_bh": int(((tested["better"] == "A") & significant_bh).sum()),
                    "b_better_after_bh": int(((tested["better"] == "B") & significant_bh).sum()),
                }
            )
    return pd.DataFrame(rows)


def _paired_documents(documents: pd.DataFrame, model_a: str, model_b: str, where: str, problems: Problems) -> Coverage:
    """The documents both models were scored on; an error when there are none."""
    coverage = shared_coverage(documents, [model_a, model_b])
    if coverage.shared.empty:
        raise InputError(f"{where}{model_a} and {model_b} share no scored document (same language and doc_key)")
    if not coverage.languages_left_out.empty:
        problems.warn(
            f"{where}languages left out because only one model has them: "
            + "; ".join(f"{r.language} (missing for {r.models_without})" for r in coverage.languages_left_out.itertuples())
        )
    return coverage


def _flip_statistics(panel: Panel, spec: MetricSpec, flips: np.ndarray, languages: LanguageAxis):
    """The sign-flip statistic per language, family and overall, and each language's paired document count.

    The statistic is the mean paired difference per language, then averaged up exactly as the values are.
    """
    shape = (len(panel.doc_keys), 2, len(languages.codes))
    values = panel.values[spec.name].reshape(shape)
    joint = panel.present[spec.name].reshape(shape)[:, 0, :]
    n_joint = joint.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        flip_language = (flips @ (values[:, 0, :] - values[:, 1, :])) / n_joint
    flip_family, _ = average_groups(flip_language, languages.family_codes, len(languages.families))
    flip_overall, _ = average_all(flip_family)
    return flip_language, flip_family, flip_overall, n_joint


def _metric_level_tables(spec: MetricSpec, per_language: np.ndarray, flip_statistics, languages: LanguageAxis,
                         settings: Settings, alpha: float, comparable: bool) -> dict[str, pd.DataFrame]:
    """One metric's comparison tables per language, language family and overall."""
    flip_language, flip_family, flip_overall, n_joint = flip_statistics
    per_family, n_languages = average_groups(per_language, languages.family_codes, len(languages.families))
    per_model, _ = average_all(per_family)
    return {
        "language": _level_table(spec, per_language[:, 0], per_language[:, 1], flip_language, settings, alpha,
                                 {"language": languages.codes}, comparable, n_documents=n_joint.astype(np.int64)),
        "language_family": _level_table(spec, per_family[:, 0], per_family[:, 1], flip_family, settings, alpha,
                                        {"language_family": languages.families}, comparable,
                                        n_languages=n_languages[0].astype(np.int64)),
        "overall": _level_table(spec, per_model[:, :1], per_model[:, 1:], flip_overall[:, None], settings, alpha, {},
                                comparable, n_documents=np.array([n_joint.sum()], dtype=np.int64)),
    }


def compare_models(
    documents: pd.DataFrame,
    model_a: str,
    model_b: str,
    settings: Settings = Settings(),
    alpha: float = 0.05,
    problems: Problems | None = None,
    dataset: str = "",
    fluency_comparable: bool = True,
) -> Comparison:
    """Compare A and B on one dataset's ``documents``."""
    problems = problems or Problems()
    coverage = _paired_documents(documents, model_a, model_b, f"dataset {dataset}: " if dataset else "", problems)
    languages = language_axis(coverage, problems)
    panel = build_panel(coverage.shared, [model_a, model_b], languages.codes)
    _pair_presence(panel)
    weights = bootstrap_weights(len(panel.doc_keys), settings.n_resamples, settings.seed)
    flips = sign_flips(len(panel.doc_keys), settings.n_resamples, settings.seed + 1)
    means = language_means(panel, weights)

    tables: dict[str, list[pd.DataFrame]] = {level: [] for level in LEVELS}
    for spec in REPORTED:
        comparable = fluency_comparable or spec.name != FLUENCY
        for level, table in _metric_level_tables(spec, means[spec.name], _flip_statistics(panel, spec, flips, languages),
                                                 languages, settings, alpha, comparable).items():
            tables[level].append(table)
    by_language = pd.concat(tables["language"], ignore_index=True).merge(languages.table, on="language", how="left")
    by_family = pd.concat(tables["language_family"], ignore_index=True)
    overall = pd.concat(tables["overall"], ignore_index=True)
    verdict = _verdict({"language": by_language, "language_family": by_family}, alpha)
    return Comparison(dataset, model_a, model_b, by_language, by_family, overall, verdict, coverage, languages.table,
                      settings, alpha, fluency_comparable, problems)


def verdict_sentence(comparison: Comparison, metric: str, level: str = "language") -> str:
    """E.g. 'A better on score in 12 of 20 languages at p < 0.05, worse in 2 (...).'"""
    row = comparison.verdict[(comparison.verdict["metric"] == metric) & (comparison.verdict["level"] == level)].iloc[0]
    unit = "languages" if level == "language" else "language families"
    return (
        f"{comparison.model_a} better on {metric} in {row.a_better} of {row.compared} {unit} at p < {comparison.alpha:g}, "
        f"worse in {row.b_better} ({row.a_better_after_bh} and {row.b_better_after_bh} after Benjamini-Hochberg)."
    )
