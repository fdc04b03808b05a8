"""What the leaderboard and comparison reports say, built once as a report model.

Both writers render the :class:`~macro_bench.aggregate.report_model.Report` built here,
so each section, and each dimension of the tables (the dataset, the language, the
model), is written once. Every dataset gets its own section: models are ranked within a
dataset and nothing is averaged across datasets.
"""

from __future__ import annotations

import math

import pandas as pd

from macro_bench.aggregate import svg
from macro_bench.aggregate.compare import verdict_sentence
from macro_bench.aggregate.examples import STRATA
from macro_bench.aggregate.metric_specs import BY_NAME, CONDITIONAL, REPORTED, REPORTED_NAMES, SCORE, SCORE_COMPONENTS
from macro_bench.aggregate.render_format import interval, metric_label, number, pvalue, signed
from macro_bench.aggregate.report_model import (
    Bullets,
    Cell,
    ExampleSet,
    Grid,
    Paragraph,
    Plot,
    Report,
    Section,
    Table,
)
from macro_bench.aggregate.signatures import ALLOW_OPTION, SELF_SCORED_NOTE
from macro_bench.wording import plural


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def text_cell(value: object, link: str = "") -> Cell:
    return Cell(str(value), link=link)


def count_cell(value) -> Cell:
    return Cell(str(int(value)), sort=float(value))


# A bootstrap interval over fewer documents than this says nothing (2 documents gave
# "0.533 [0.533, 0.533]"): such a value is shown with its n and no interval.
MIN_DOCUMENTS_FOR_INTERVAL = 5


def value_cell(value: float, low: float, high: float, n: int | None = None) -> Cell:
    few = n is not None and not _missing(n) and int(n) < MIN_DOCUMENTS_FOR_INTERVAL
    detail = "" if few else interval(low, high)
    if n is not None:
        detail = f"{detail} n={int(n)}".strip()
    return Cell(number(value), sort=None if _missing(value) else float(value), detail=detail)


def _range(counts: pd.Series) -> str:
    low, high = int(counts.min()), int(counts.max())
    return str(low) if low == high else f"{low}-{high}"


def _labels(self_scored: bool) -> list[str]:
    return [metric_label(m, self_scored) for m in REPORTED_NAMES]


def _metric_cells(cells: dict, key: tuple) -> list[Cell]:
    """One cell per reported metric; conditional metrics carry their document count."""
    out = []
    for metric in REPORTED_NAMES:
        row = cells.get((*key, metric))
        if row is None:
            out.append(Cell("n/a"))
            continue
        n = getattr(row, "n_documents", None) if metric in CONDITIONAL else None
        out.append(value_cell(row.value, row.ci_low, row.ci_high, n))
    return out


def _cells_by(frame: pd.DataFrame, keys: list[str]) -> dict:
    return {tuple(getattr(r, k) for k in keys): r for r in frame.itertuples()}


def example_anchor(dataset: str, model_index: int, language: str) -> str:
    return f"ex-{dataset}-{model_index}-{language}"


# ---------------------------------------------------------------- shared sections


def coverage_blocks(coverage, n_models: int, table_id: str) -> list:
    if coverage.complete:
        lead = Paragraph(
            "The model was scored on every document; all are used." if n_models == 1
            else f"All {n_models} models were scored on the same documents; every document is used.", "note")
    else:
        lead = Paragraph(
            "**The models were scored on different documents.** They are compared only on the documents all of them "
            "share (same language and `doc_key`); what each model had beyond that is listed here and left out of every "
            "other table.", "warn")
    totals = coverage.table.groupby("model", sort=False).agg(
        languages_scored=("documents_scored", lambda s: int((s > 0).sum())),
        documents_scored=("documents_scored", "sum"),
        languages_used=("documents_used", lambda s: int((s > 0).sum())),
        documents_used=("documents_used", "sum"),
    )
    blocks = [lead, Table(
        f"{table_id}-totals", ["Model", "Languages scored", "Documents scored", "Languages used", "Documents used"],
        [[text_cell(m), count_cell(r.languages_scored), count_cell(r.documents_scored), count_cell(r.languages_used),
          count_cell(r.documents_used)] for m, r in totals.iterrows()],
    )]
    left = coverage.table[coverage.table["documents_left_out"] > 0]
    if not left.empty:
        blocks += [Paragraph("Documents left out (not scored for every model):"), Table(
            f"{table_id}-left-out", ["Model", "Language", "Scored", "Used", "Left out"],
            [[text_cell(r.model), text_cell(r.language), count_cell(r.documents_scored), count_cell(r.documents_used),
              count_cell(r.documents_left_out)] for r in left.itertuples()], filterable=True,
        )]
    if not coverage.languages_left_out.empty:
        blocks += [Paragraph("Languages left out entirely:"), Table(
            f"{table_id}-languages-left-out", ["Language", "Missing for"],
            [[text_cell(a), text_cell(b)] for a, b in coverage.languages_left_out.values],
        )]
    return blocks


def signatures_section(reproducibility: dict, differences) -> Section:
    blocks = [Bullets([
        f"dataset {dataset}: `{signature or '(not recorded)'}`: {', '.join(models)}"
        for dataset, signatures in reproducibility["signatures"].items() for signature, models in signatures.items()
    ])]
    if differences:
        blocks += [
            Paragraph(
                f"**Runs with different signatures share a table** ({ALLOW_OPTION}): numbers in one column were "
                "measured under different settings. The fields that differ:", "warn"),
            Table("signature-differences", ["Dataset", "Field", "Values (models)"],
                  [[text_cell(d.dataset), text_cell(d.field),
                    text_cell(" vs ".join(f"{v or '(empty)'} ({', '.join(m)})" for v, m in d.values.items()))]
                   for d in differences]),
        ]
    else:
        blocks.append(Paragraph("Within each dataset every run has the same signature.", "note"))
    return Section("signatures", "Metric signatures", blocks)


def reproducibility_section(info: dict, settings) -> Section:
    items = [
        f"macro-bench {info['macro_bench_version']}; intervals: percentile bootstrap over documents, "
        f"{settings.n_resamples} resamples, seed {settings.seed}, confidence {settings.confidence:g}"
    ]
    items += [f"lm-eval version `{value}`: {', '.join(models)}" for value, models in info["lm_eval_versions"].items()]
    items.append("task versions: " + ", ".join(f"{v} ({plural(n, 'task')})" for v, n in info["task_versions"].items()))
    table = Table(
        "runs", ["Model", "Model args", "Run started (UTC)", "Tasks", "Results files"],
        [[text_cell(m["model"]), text_cell("; ".join(m["model_args"])), text_cell("; ".join(m["started"])),
          count_cell(m["tasks"]), text_cell("; ".join(m["results_files"]))] for m in info["models"]],
    )
    return Section("reproducibility", "Reproducibility", [Bullets(items), table])


def problems_section(problems, runs) -> Section:
    if not problems.warnings and not problems.notes and runs.excluded.empty:
        return Section("problems", "Warnings and notes", [Paragraph("None: every file read cleanly.")])
    blocks = []
    if problems.warnings:
        blocks.append(Bullets([f"**warning:** {w}" for w in problems.warnings], "warn"))
    if problems.notes:
        blocks.append(Bullets([f"note: {n}" for n in problems.notes]))
    if not runs.excluded.empty:
        blocks += [Paragraph("Tasks left out of every table:"),
                   Table("excluded", ["Model", "Task", "File", "Reason"], [[text_cell(v) for v in row] for row in runs.excluded.values])]
    return Section("problems", "Warnings and notes", blocks)


def metrics_section() -> Section:
    rows = [[text_cell(s.name), text_cell("baseline" if s.is_baseline else "higher" if s.higher_is_better else "lower"), text_cell(s.population),
             text_cell(s.value_range), text_cell(s.description)] for s in REPORTED]
    return Section("metrics", "Metrics", [
        Paragraph("From macro-bench's metric registry. Each metric is the mean over its population of documents; a "
                  "document outside it contributes nothing (conditional metrics show their document count n)."),
        Table("metrics", ["Metric", "Better", "Averaged over", "Range", "Meaning"], rows),
    ])


# ---------------------------------------------------------------- leaderboard


def _dataset_intro(board) -> str:
    docs = board.coverage.table.groupby("language")["documents_used"].max()
    docs = docs[docs > 0]
    n_models = len(board.models)
    return (
        f"{plural(n_models, 'model')}, {plural(len(board.languages), 'language')} in "
        f"{plural(board.languages['language_family'].nunique(), 'language family', 'language families')}, {int(docs.sum())} documents per model "
        f"({_range(docs)} per language)."
    )


def _ranking(board, self_scored: bool) -> Table:
    overall = _cells_by(board.overall, ["model", "metric"])
    rows = [[count_cell(r.rank), text_cell(r.model), text_cell(r.model_family), *_metric_cells(overall, (r.model,))]
            for r in board.models.itertuples()]
    return Table(f"{board.dataset}-ranking", ["Rank", "Model", "Model family", *_labels(self_scored)], rows)


def _tradeoff(board, confidence: float) -> Plot:
    overall = _cells_by(board.overall, ["model", "metric"])
    points = []
    for r in board.models.itertuples():
        valid, minimal = overall[(r.model, "valid_rate")], overall[(r.model, "minimality")]
        points.append({"label": r.model, "group": r.model_family, "x": minimal.value, "x_low": minimal.ci_low,
                       "x_high": minimal.ci_high, "y": valid.value, "y_low": valid.ci_low, "y_high": valid.ci_high})
    return Plot(
        svg.scatter(points, "minimality (of valid counterfactuals; lower is better)", "valid_rate (higher is better)", "better: top left"),
        f"Each model's valid_rate against the minimality of its valid counterfactuals, with {confidence:.0%} intervals; "
        "the best place is top left. Colour: model family.",
    )


def _grids(frame: pd.DataFrame, row_key: str, rows: list[str], columns: dict[str, str], self_scored: bool, count_note) -> list[Grid]:
    grids = []
    for metric in REPORTED_NAMES:
        part = frame[frame["metric"] == metric]
        cells = {(getattr(r, row_key), columns[r.language_family]): (r.value, r.ci_low, r.ci_high, count_note(r))
                 for r in part.itertuples()}
        grids.append(Grid(metric_label(metric, self_scored), rows, list(columns.values()), cells,
                          BY_NAME[metric].higher_is_better, corner=row_key.replace("_", " ").capitalize()))
    return grids


def _by_language(board, self_scored: bool, model_index: dict[str, int], with_examples: bool) -> Table:
    cells = _cells_by(board.by_language, ["language", "model", "metric"])
    names = board.languages.set_index("language").to_dict("index")
    score = {(r.language, r.model): r.n_documents for r in board.by_language[board.by_language["metric"] == SCORE].itertuples()}
    rows = []
    for language in board.languages["language"]:
        for model in board.models["model"]:
            row = [text_cell(language), text_cell(names[language]["name"]), text_cell(names[language]["language_family"]),
                   text_cell(model), count_cell(score[(language, model)])]
            if with_examples:
                row.append(text_cell("examples", link=example_anchor(board.dataset, model_index[model], language)))
            rows.append(row + _metric_cells(cells, (language, model)))
    headers = ["Language", "Name", "Family", "Model", "Documents", *(["Examples"] if with_examples else []), *_labels(self_scored)]
    return Table(f"{board.dataset}-by-language", headers, rows, filterable=True)


def _example_sets(report, board, model_index: dict[str, int]) -> list[ExampleSet]:
    sets = []
    for language in board.languages["language"]:
        for model in board.models["model"]:
            shown = report.examples.get((board.dataset, model, language), [])
            sets.append(ExampleSet(example_anchor(board.dataset, model_index[model], language),
                                   f"{model} · {language}", shown, f"{board.dataset}-by-language"))
    return sets


def _self_scored_warning(board, self_scorers: set[str]) -> Paragraph:
    """Why fluency values of this dataset's models are on different scales."""
    own = sorted(self_scorers & set(board.models["model"]))
    who = (
        "Each model scored the fluency of its own counterfactuals"
        if len(own) == len(board.models) or not own
        else f"{', '.join(own)} scored the fluency of {'its' if len(own) == 1 else 'their'} own counterfactuals "
             "(the other models share a scorer)"
    )
    return Paragraph(
        f"**fluency: {SELF_SCORED_NOTE}.** {who}, so fluency values of different models are on different "
        "scales (run with `--metadata '{\"fluency_lm\": ...}'` for a shared scorer).", "warn")


def _summary_sections(dataset: str, board, confidence: float, self_scored: bool) -> list[Section]:
    """Ranking, the validity-minimality trade-off, and the grids by language family and by model family."""
    family_sizes = board.languages.groupby("language_family").size().sort_values(ascending=False, kind="stable")
    family_columns = {f: f"{f} ({n})" for f, n in family_sizes.items()}
    return [
        Section(f"{dataset}-ranking", "Ranking", [
            Paragraph(f"Ranked by `{SCORE}`, shown with its components {' and '.join(f'`{c}`' for c in SCORE_COMPONENTS)}."),
            _ranking(board, self_scored)]),
        Section(f"{dataset}-tradeoff", "Validity vs minimality", [_tradeoff(board, confidence)]),
        Section(f"{dataset}-by-family", "By language family", [
            Paragraph("Models x language families (number of languages in brackets); in the HTML heatmaps darker is "
                      "better for every metric. Each family averages its languages.", "note"),
            *_grids(board.by_language_family, "model", list(board.models["model"]), family_columns, self_scored,
                    lambda r: f"(languages averaged: {r.n_languages}; documents: {r.n_documents})")]),
        Section(f"{dataset}-by-model-family", "By model family", [
            Paragraph("Model families x language families; a model family averages its models with equal weight.", "note"),
            *_grids(board.by_model_family, "model_family", sorted(board.by_model_family["model_family"].unique()),
                    family_columns, self_scored, lambda r: f"(models averaged: {r.n_models})")]),
    ]


def _held_out_section(dataset: str, board, self_scorers: set[str]) -> Section:
    rows = [[text_cell(r.model), text_cell(metric_label(r.metric, r.model in self_scorers)),
             value_cell(r.seen_value, r.seen_ci_low, r.seen_ci_high),
             value_cell(r.held_out_value, r.held_out_ci_low, r.held_out_ci_high),
             value_cell(r.gap_value, r.gap_ci_low, r.gap_ci_high)] for r in board.held_out.itertuples()]
    return Section(f"{dataset}-held-out", "Seen vs held-out language families", [
        Paragraph(f"Seen: {', '.join(board.settings.seen_families)}. Held out: every other family. Each side averages "
                  "its families; gap = seen - held-out (for ↓ metrics a positive gap means the held-out families do "
                  "better).", "note"),
        Table(f"{dataset}-held-out", ["Model", "Metric", "Seen", "Held out", "Gap"], rows, filterable=True)])


def _examples_section(report, dataset: str, board, model_index: dict[str, int]) -> Section:
    return Section(f"{dataset}-examples", "Examples", [
        Paragraph(
            f"Up to {plural(report.examples_per_cell, 'document')} per model and language, chosen by a seeded, stratified rule "
            f"(seed {report.settings.seed}), not by hand: the strata are {', '.join(f'`{x}`' for x in STRATA)} (`no_flip`: "
            "every gate passed but the prediction did not change); one document is drawn from each non-empty stratum in "
            "turn. Edited words are highlighted: deleted or replaced in x, inserted or replaced in x'. The HTML "
            "report shows them.", "note"),
        *_example_sets(report, board, model_index)])


def _dataset_section(report, dataset: str, model_index: dict[str, int]) -> Section:
    board = report.boards[dataset]
    self_scored = dataset in report.self_scored
    # Only these models' fluency is self-scored; a row of another model's fluency carries no label.
    self_scorers = report.self_scored_models.get(dataset, set()) if self_scored else set()
    blocks = [Paragraph(_dataset_intro(board))]
    if self_scored:
        blocks.append(_self_scored_warning(board, self_scorers))
    children = _summary_sections(dataset, board, report.settings.confidence, self_scored)
    if board.held_out is not None:
        children.append(_held_out_section(dataset, board, self_scorers))
    with_examples = report.examples_per_cell > 0
    children.append(Section(f"{dataset}-by-language", "By language", [
        Paragraph("Conditional metrics (averaged over a subset of the documents) show their document count n."
                  + (" **Examples** links to example documents of that model and language." if with_examples else ""), "note"),
        _by_language(board, self_scored, model_index, with_examples)]))
    if with_examples:
        children.append(_examples_section(report, dataset, board, model_index))
    children.append(Section(f"{dataset}-coverage", "Coverage",
                            coverage_blocks(board.coverage, len(board.models), f"{dataset}-coverage")))
    return Section(dataset, f"Dataset {dataset}", blocks, children)


def _datasets_side_by_side(report) -> Section:
    datasets = list(report.boards)
    models = list(dict.fromkeys(m for board in report.boards.values() for m in board.models["model"]))
    headers = ["Model"]
    for dataset in datasets:
        headers += [f"{dataset}: rank", f"{dataset}: {metric_label(SCORE)}"]
    rows = []
    for model in models:
        row = [text_cell(model)]
        for dataset in datasets:
            board = report.boards[dataset]
            ranks = board.models.set_index("model")["rank"]
            overall = board.overall[(board.overall["model"] == model) & (board.overall["metric"] == SCORE)]
            if model in ranks.index:
                r = overall.iloc[0]
                row += [count_cell(ranks[model]), value_cell(r.value, r.ci_low, r.ci_high)]
            else:
                row += [Cell("not run"), Cell("n/a")]
        rows.append(row)
    return Section("datasets", "Datasets side by side", [
        Paragraph("Each model's rank and score in each dataset. The datasets are separate tables with their own "
                  "documents and languages; **no value here is averaged across datasets**.", "note"),
        Table("datasets", headers, rows)])


def leaderboard_report(report) -> Report:
    s = report.settings
    datasets = list(report.boards)
    models = sorted(report.runs.models)
    model_index = {m: i for i, m in enumerate(models)}
    intro = [Paragraph(
        f"{len(models)} model{'s' if len(models) != 1 else ''} on {len(datasets)} dataset{'s' if len(datasets) != 1 else ''} "
        f"({', '.join(datasets)}). Each dataset is its own table: models are ranked within a dataset, and nothing is "
        f"averaged across datasets. Values are point estimates with {s.confidence:.0%} bootstrap intervals over documents. "
        f"**Ranking score** (`{SCORE}`): {BY_NAME[SCORE].description} It is shown beside its components "
        f"(`valid_rate`; `minimality`, over valid counterfactuals), never instead of them. Family and overall values "
        "average languages first, so a family with many languages does not outweigh one with few. "
        "↑ higher is better, ↓ lower is better.")]
    if any(not board.coverage.complete for board in report.boards.values()):
        intro.append(Paragraph("Models were scored on different documents and are compared only on the shared ones; see Coverage.", "warn"))
    if report.signature_differences:
        intro.append(Paragraph(f"Runs with different metric signatures share a table ({ALLOW_OPTION}); see Metric signatures.", "warn"))
    if report.problems.warnings:
        intro.append(Paragraph(f"{len(report.problems.warnings)} warning(s) about the input; see Warnings and notes.", "warn"))
    sections = [_datasets_side_by_side(report)] if len(datasets) > 1 else []
    sections += [_dataset_section(report, dataset, model_index) for dataset in datasets]
    sections += [
        signatures_section(report.reproducibility, report.signature_differences),
        reproducibility_section(report.reproducibility, s),
        problems_section(report.problems, report.runs),
        metrics_section(),
    ]
    return Report("macro-bench leaderboard", intro, sections)


# ---------------------------------------------------------------- comparison


def _comparison_rows(frame: pd.DataFrame, label_columns: list[str], self_scored: bool) -> list[list[Cell]]:
    rows = []
    for r in frame.itertuples():
        rows.append([
            *[count_cell(getattr(r, c)) if c.startswith("n_") else text_cell(getattr(r, c)) for c in label_columns],
            text_cell(metric_label(r.metric, self_scored)),
            value_cell(r.a, r.a_ci_low, r.a_ci_high),
            value_cell(r.b, r.b_ci_low, r.b_ci_high),
            Cell(signed(r.difference), sort=None if _missing(r.difference) else float(r.difference),
                 detail="" if _missing(r.difference) else f"[{signed(r.ci_low)}, {signed(r.ci_high)}]"),
            Cell(pvalue(r.p_value), sort=None if _missing(r.p_value) else float(r.p_value)),
            Cell(pvalue(r.q_value), sort=None if _missing(r.q_value) else float(r.q_value)),
            Cell(r.better, style=f"better-{r.better}" if r.better in ("A", "B") else ""),
        ])
    return rows


def _comparison_section(report, dataset: str) -> Section:
    c = report.comparisons[dataset]
    scorer_a, scorer_b = report.fluency_scorers.get(dataset, ("", ""))
    # One scorer for both (a shared one, or one model scoring both of its runs): comparable, no label.
    self_scored = not c.fluency_comparable and (scorer_a.startswith("self") or scorer_b.startswith("self"))
    n_documents = int(c.coverage.shared["doc_key"].size // 2)
    blocks = [Paragraph(f"Paired on the {plural(n_documents, 'document')} of {plural(len(c.languages), 'language')} both models were scored on.")]
    verdict = c.verdict.pivot(index="metric", columns="level")
    verdict_rows = [
        [text_cell(metric_label(m, self_scored))]
        + [count_cell(verdict.loc[m, (col, level)]) for level in ("language", "language_family")
           for col in ("a_better", "b_better", "no_difference")]
        + [count_cell(verdict.loc[m, ("a_better_after_bh", "language")]), count_cell(verdict.loc[m, ("b_better_after_bh", "language")])]
        for m in REPORTED_NAMES
    ]
    verdict_blocks = [Bullets([f"**{verdict_sentence(c, SCORE)}**", verdict_sentence(c, SCORE, "language_family")])]
    if not c.fluency_comparable:
        verdict_blocks.append(Paragraph(
            f"**No fluency verdict:** the two runs' fluency scorers differ (A: {scorer_a}; B: {scorer_b})"
            + (f"; {SELF_SCORED_NOTE}." if self_scored else "."), "warn"))
    verdict_blocks.append(Table(f"{dataset}-verdict", [
        "Metric", "Languages: A better", "B better", "no difference", "Families: A better", "B better", "no difference",
        "A better after BH (languages)", "B better after BH (languages)"], verdict_rows))
    score_rows = c.by_family[c.by_family["metric"] == SCORE]
    overall_score = c.overall[c.overall["metric"] == SCORE].iloc[0]
    forest_rows = [{"label": "Overall", "value": overall_score.difference, "low": overall_score.ci_low,
                    "high": overall_score.ci_high, "verdict": overall_score.better}]
    forest_rows += [{"label": f"{r.language_family} ({r.n_languages})", "value": r.difference, "low": r.ci_low,
                     "high": r.ci_high, "verdict": r.better} for r in score_rows.itertuples()]
    headers = ["Metric", "A", "B", "A - B", "p", "q", "Better"]
    order = {m: i for i, m in enumerate(REPORTED_NAMES)}
    by_language = c.by_language.sort_values(
        ["language", "metric"], key=lambda col: col.map(order) if col.name == "metric" else col, kind="stable")
    children = [
        Section(f"{dataset}-verdict", "Verdict", verdict_blocks),
        Section(f"{dataset}-plot", "Score difference by family", [Plot(
            svg.forest(forest_rows, "score difference A - B"),
            "Score difference A - B per language family with its interval; blue: A significantly better, red: B "
            "significantly better, grey: no significant difference.")]),
        Section(f"{dataset}-overall", "Overall", [
            Paragraph("Average over language families (each the average of its languages)."),
            Table(f"{dataset}-overall", headers, _comparison_rows(c.overall, [], self_scored))]),
        Section(f"{dataset}-by-family", "By language family", [Table(
            f"{dataset}-by-family", ["Family", "Languages", *headers],
            _comparison_rows(c.by_family, ["language_family", "n_languages"], self_scored), filterable=True)]),
        Section(f"{dataset}-by-language", "By language", [Table(
            f"{dataset}-by-language", ["Language", "Name", "Family", "Documents", *headers],
            _comparison_rows(by_language, ["language", "name", "language_family", "n_documents"], self_scored), filterable=True)]),
        Section(f"{dataset}-coverage", "Coverage", coverage_blocks(c.coverage, 2, f"{dataset}-coverage")),
    ]
    return Section(dataset, f"Dataset {dataset}", blocks, children)


def comparison_report(report) -> Report:
    s = report.settings
    datasets = list(report.comparisons)
    intro = [Paragraph(
        f"A = **{report.model_a}**, B = **{report.model_b}**, on {len(datasets)} dataset{'s' if len(datasets) != 1 else ''} "
        f"({', '.join(datasets)}), each compared on its own; nothing is averaged across datasets. Difference = A - B "
        f"with a {s.confidence:.0%} paired bootstrap interval; p: two-sided sign-flip permutation test ({s.n_resamples} "
        "resamples); q: Benjamini-Hochberg across the languages (or families) of a metric. Better: significant at "
        f"p < {report.alpha:g} in the metric's direction (↑ higher is better, ↓ lower is better).")]
    if any(not c.coverage.complete for c in report.comparisons.values()):
        intro.append(Paragraph("The two runs cover different documents; only the shared ones are compared (see Coverage).", "warn"))
    if report.signature_differences:
        intro.append(Paragraph(f"The runs have different metric signatures ({ALLOW_OPTION}); see Metric signatures.", "warn"))
    sections = [_comparison_section(report, dataset) for dataset in datasets]
    sections += [
        signatures_section(report.reproducibility, report.signature_differences),
        reproducibility_section(report.reproducibility, s),
        problems_section(report.problems, report.runs),
        metrics_section(),
    ]
    return Report(f"macro-bench comparison: {report.model_a} vs {report.model_b}", intro, sections)
