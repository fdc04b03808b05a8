"""Markdown reports, for papers and READMEs."""

from __future__ import annotations

import pandas as pd

from macro_bench.aggregate.compare import verdict_sentence
from macro_bench.aggregate.metric_specs import REPORTED, SCORE, SCORE_SPEC
from macro_bench.aggregate.render_format import metric_label, pvalue, signed, with_interval

METRIC_NAMES = [spec.name for spec in REPORTED]


def table(headers: list[str], rows: list[list[object]]) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _range(counts: pd.Series) -> str:
    low, high = int(counts.min()), int(counts.max())
    return str(low) if low == high else f"{low}-{high}"


def _interval_cell(row) -> str:
    return with_interval(row.value, row.ci_low, row.ci_high)


def _wide(long: pd.DataFrame, index: list[str], columns: str) -> pd.DataFrame:
    long = long.assign(cell=[_interval_cell(r) for r in long.itertuples()])
    return long.pivot(index=index, columns=columns, values="cell")


def coverage_summary(coverage, n_models: int) -> str:
    totals = coverage.table.groupby("model", sort=False).agg(
        languages_scored=("documents_scored", lambda s: int((s > 0).sum())),
        documents_scored=("documents_scored", "sum"),
        languages_used=("documents_used", lambda s: int((s > 0).sum())),
        documents_used=("documents_used", "sum"),
    )
    text = []
    if coverage.complete:
        text.append(
            "The model was scored on every document; all are used.\n\n" if n_models == 1
            else f"All {n_models} models were scored on the same documents; every document is used.\n\n"
        )
    else:
        text.append(
            "**The models were scored on different documents.** They are compared only on the documents "
            "all of them share (same language and `index_id`); what each model had beyond that is listed here "
            "and left out of every other table.\n\n"
        )
    text.append(table(
        ["Model", "Languages scored", "Documents scored", "Languages used", "Documents used"],
        [[m, r.languages_scored, r.documents_scored, r.languages_used, r.documents_used] for m, r in totals.iterrows()],
    ))
    left = coverage.table[coverage.table["documents_left_out"] > 0]
    if not left.empty:
        text.append("\nDocuments left out (not scored for every model):\n\n")
        text.append(table(
            ["Model", "Language", "Scored", "Used", "Left out"],
            [[r.model, r.language, r.documents_scored, r.documents_used, r.documents_left_out] for r in left.itertuples()],
        ))
    if not coverage.languages_left_out.empty:
        text.append("\nLanguages left out entirely:\n\n")
        text.append(table(["Language", "Missing for"], coverage.languages_left_out.values.tolist()))
    return "".join(text)


def problems_section(problems, runs) -> str:
    parts = ["## Warnings and notes\n\n"]
    if not problems.warnings and not problems.notes and runs.excluded.empty:
        return parts[0] + "None: every file read cleanly.\n"
    parts += [f"- **warning:** {w}\n" for w in problems.warnings]
    parts += [f"- note: {n}\n" for n in problems.notes]
    if not runs.excluded.empty:
        parts.append("\nTasks left out of every table:\n\n")
        parts.append(table(["Model", "Task", "File", "Reason"], runs.excluded.values.tolist()))
    return "".join(parts)


def reproducibility_section(info: dict, settings) -> str:
    parts = [
        "## Reproducibility\n\n",
        f"- macro-bench {info['macro_bench_version']}; intervals: percentile bootstrap over documents, "
        f"{settings.n_resamples} resamples, seed {settings.seed}, confidence {settings.confidence:g}\n",
    ]
    for label, key in (("lm-eval version", "lm_eval_versions"), ("metric signature", "signatures")):
        for value, models in info[key].items():
            parts.append(f"- {label} `{value}`: {', '.join(models)}\n")
    parts.append("- task versions: " + ", ".join(f"{v} ({n} tasks)" for v, n in info["task_versions"].items()) + "\n\n")
    parts.append(table(
        ["Model", "Model args", "Run started (UTC)", "Tasks", "Results files"],
        [[m["model"], "; ".join(m["model_args"]), "; ".join(m["started"]), m["tasks"], "; ".join(m["results_files"])]
         for m in info["models"]],
    ))
    return "".join(parts)


def metric_glossary() -> str:
    return table(
        ["Metric", "Better", "Meaning"],
        [[spec.name, "higher" if spec.higher_is_better else "lower", spec.description] for spec in REPORTED],
    )


def leaderboard_markdown(report) -> str:
    board, runs = report.board, report.runs
    s = board.settings
    n_models = len(board.models)
    docs_per_language = board.coverage.table.groupby("language")["documents_used"].max()
    docs_per_language = docs_per_language[docs_per_language > 0]
    out = [
        "# macro-bench leaderboard\n\n",
        f"{n_models} model{'s' if n_models != 1 else ''}, {len(board.languages)} languages in {board.languages['language_family'].nunique()} "
        f"language families, {int(docs_per_language.sum())} documents per model "
        f"({_range(docs_per_language)} per language). "
        f"Values are point estimates with {s.confidence:.0%} bootstrap intervals over documents.\n\n",
        f"**Ranking score** ({SCORE}): {SCORE_SPEC.description}. It is shown beside its components, "
        "never instead of them. Family and overall values average languages first, so a family with "
        "many languages does not outweigh one with few. ↑ higher is better, ↓ lower is better.\n\n",
        "## Ranking\n\n",
    ]
    overall = _wide(board.overall, ["model"], "metric")
    out.append(table(
        ["Rank", "Model", "Model family", *[metric_label(m) for m in METRIC_NAMES]],
        [[r.rank, r.model, r.model_family, *[overall.loc[r.model, m] for m in METRIC_NAMES]] for r in board.models.itertuples()],
    ))
    out.append("\n## By language family\n\nModels x language families; the number of languages averaged is in the header.\n\n")
    n_languages = board.languages.groupby("language_family").size()
    for metric in METRIC_NAMES:
        part = board.by_language_family[board.by_language_family["metric"] == metric]
        wide = _wide(part, ["model"], "language_family")
        families = list(wide.columns)
        out.append(f"### {metric_label(metric)}\n\n")
        out.append(table(
            ["Model", *[f"{f} ({n_languages[f]})" for f in families]],
            [[m, *[wide.loc[m, f] for f in families]] for m in board.models["model"]],
        ))
        out.append("\n")
    out.append("## By model family and language family\n\nModel families average their models (equal weight).\n\n")
    for metric in METRIC_NAMES:
        part = board.by_model_family[board.by_model_family["metric"] == metric]
        wide = _wide(part, ["model_family"], "language_family")
        out.append(f"### {metric_label(metric)}\n\n")
        out.append(table(["Model family", *wide.columns], [[mf, *row] for mf, row in wide.iterrows()]))
        out.append("\n")
    if board.held_out is not None:
        out.append(
            f"## Seen vs held-out language families\n\nSeen: {', '.join(s.seen_families)}. Held out: every other "
            "family. Each side averages its families; gap = seen - held-out (for ↓ metrics a positive gap means "
            "the held-out families do better).\n\n"
        )
        out.append(table(
            ["Model", "Metric", "Seen", "Held out", "Gap"],
            [[r.model, metric_label(r.metric), with_interval(r.seen_value, r.seen_ci_low, r.seen_ci_high),
              with_interval(r.held_out_value, r.held_out_ci_low, r.held_out_ci_high),
              with_interval(r.gap_value, r.gap_ci_low, r.gap_ci_high)] for r in board.held_out.itertuples()],
        ))
        out.append("\n")
    out.append("## By language\n\n")
    # Plain dicts: label lookups in pandas cost milliseconds each, and there are
    # models x languages x metrics of them.
    by_language = _wide(board.by_language, ["language", "model"], "metric").to_dict("index")
    score_rows = board.by_language[board.by_language["metric"] == SCORE]
    n_docs = dict(zip(zip(score_rows["language"], score_rows["model"], strict=True), score_rows["n_documents"], strict=True))
    names = board.languages.set_index("language").to_dict("index")
    rows = []
    for language in board.languages["language"]:
        for model in board.models["model"]:
            cells = by_language[(language, model)]
            rows.append([language, names[language]["name"], names[language]["language_family"], model,
                         n_docs[(language, model)], *[cells[m] for m in METRIC_NAMES]])
    out.append(table(["Language", "Name", "Family", "Model", "Documents", *[metric_label(m) for m in METRIC_NAMES]], rows))
    out.append("\n## Coverage\n\n" + coverage_summary(board.coverage, n_models) + "\n")
    out.append(reproducibility_section(report.reproducibility, s) + "\n")
    out.append(problems_section(board.problems, runs) + "\n")
    out.append("## Metrics\n\n" + metric_glossary())
    return "".join(out)


def comparison_markdown(report) -> str:
    c = report.comparison
    s = c.settings
    out = [
        f"# macro-bench comparison: {c.model_a} (A) vs {c.model_b} (B)\n\n",
        f"Paired on the documents both models were scored on: {int(c.coverage.shared['index_id'].size // 2)} documents "
        f"in {len(c.languages)} languages. Difference = A - B with a {s.confidence:.0%} paired bootstrap interval; "
        f"p: two-sided sign-flip permutation test ({s.n_resamples} resamples); q: Benjamini-Hochberg across the "
        f"languages (or families) of a metric. Better: significant at p < {c.alpha:g} in the metric's direction "
        "(↑ higher is better, ↓ lower is better).\n\n",
        "## Verdict\n\n",
        f"- {verdict_sentence(c, SCORE)}\n- {verdict_sentence(c, SCORE, 'language_family')}\n\n",
    ]
    verdict = c.verdict.pivot(index="metric", columns="level")
    out.append(table(
        ["Metric", "Languages: A better", "B better", "no difference", "Families: A better", "B better", "no difference",
         "A better after BH (languages)", "B better after BH (languages)"],
        [[metric_label(m), verdict.loc[m, ("a_better", "language")], verdict.loc[m, ("b_better", "language")],
          verdict.loc[m, ("no_difference", "language")], verdict.loc[m, ("a_better", "language_family")],
          verdict.loc[m, ("b_better", "language_family")], verdict.loc[m, ("no_difference", "language_family")],
          verdict.loc[m, ("a_better_after_bh", "language")], verdict.loc[m, ("b_better_after_bh", "language")]]
         for m in METRIC_NAMES],
    ))

    def rows(frame, label_columns):
        return [[*[getattr(r, col) for col in label_columns], metric_label(r.metric),
                 with_interval(r.a, r.a_ci_low, r.a_ci_high), with_interval(r.b, r.b_ci_low, r.b_ci_high),
                 f"{signed(r.difference)} [{signed(r.ci_low)}, {signed(r.ci_high)}]", pvalue(r.p_value),
                 pvalue(r.q_value), r.better] for r in frame.itertuples()]

    headers = ["Metric", "A", "B", "A - B", "p", "q", "Better"]
    out.append("\n## Overall\n\nAverage over language families (each the average of its languages).\n\n")
    out.append(table(headers, rows(c.overall, [])))
    out.append("\n## By language family\n\n")
    out.append(table(["Family", "Languages", *headers], rows(c.by_family, ["language_family", "n_languages"])))
    out.append("\n## By language\n\n")
    ordered = c.by_language.sort_values(["language", "metric"], key=lambda col: col.map({m: i for i, m in enumerate(METRIC_NAMES)}) if col.name == "metric" else col, kind="stable")
    out.append(table(["Language", "Family", "Documents", *headers], rows(ordered, ["language", "language_family", "n_documents"])))
    out.append("\n## Coverage\n\n" + coverage_summary(c.coverage, 2) + "\n")
    out.append(reproducibility_section(report.reproducibility, s) + "\n")
    out.append(problems_section(c.problems, report.runs) + "\n")
    out.append("## Metrics\n\n" + metric_glossary())
    return "".join(out)
