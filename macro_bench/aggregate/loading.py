"""Reading lm-eval output folders into one table of per-document metric values.

lm-eval 0.4.x with ``--output_path OUT --log_samples`` writes, per model,
``OUT/<model>/results_<datetime>.json`` (aggregates, versions, configs, model args) and
``OUT/<model>/samples_<task>_<datetime>.jsonl`` (one line per document, with that
document's metric values and, in ``filtered_resps[0]``, its record:
:class:`macro_bench.record.Record`). A
macro-bench task is ``macro_<dataset>_<lang_Script>``; its dataset and language are read
from ``configs.<task>.metadata`` (``macro_dataset``, ``macro_language``), else from the
name. Documents are identified by their ``doc_key`` (shared by a document's parallel
translations). Statistics here are recomputed from the samples; the results file gives
provenance and a cross-check. When a model ran a task more than once, the newest run (by
the datetime in the file name, as lm-eval itself orders them) is used and the older one
is listed as superseded.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from macro_bench.aggregate.metric_specs import BY_NAME, REPORTED_NAMES, SCORE
from macro_bench.aggregate.problems import InputError, Problems
from macro_bench.wording import plural

TASK_PATTERN = re.compile(r"^macro_(?P<dataset>[a-z0-9]+)_(?P<language>[a-z]{3}_[A-Z][a-z]{3})$")
TASK_NAMES_HELP = "macro_<dataset>_<lang_Script>"
DATASET_KEY, LANGUAGE_KEY = "macro_dataset", "macro_language"
_LIST_AT_MOST = 8


@dataclass(frozen=True)
class TaskRun:
    """One macro task as recorded by one results file."""

    model: str
    task: str
    dataset: str
    language: str
    results_file: Path
    run_datetime: datetime
    filter: str
    task_version: str
    signature: str | None
    model_args: str
    pretrained: str | None
    lm_eval_version: str
    started: str
    n_samples: int | None
    reported: dict[str, float]
    higher_is_better: dict[str, bool]

    @property
    def samples_file(self) -> Path:
        stamp = self.results_file.stem.removeprefix("results_")
        return self.results_file.with_name(f"samples_{self.task}_{stamp}.jsonl")


@dataclass
class LoadedRuns:
    # dataset, model, language, doc_key (str), row (the line's position among the samples
    # file's non-empty lines), one float column per registry metric (NaN: not defined).
    documents: pd.DataFrame
    task_runs: pd.DataFrame  # provenance of each (model, task) used
    excluded: pd.DataFrame  # (model, task, file, reason) left out of every table
    superseded: pd.DataFrame  # older runs replaced by a newer one
    problems: Problems = field(default_factory=Problems)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.task_runs["model"]))


def _short_list(items, limit: int = _LIST_AT_MOST) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def find_results_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_file():
            if not (path.name.startswith("results_") and path.suffix == ".json"):
                raise InputError(f"{path}: not an lm-eval results file (expected results_<datetime>.json or a folder)")
            found.append(path)
        else:
            matches = sorted(path.rglob("results_*.json"))
            if not matches:
                raise InputError(
                    f"{path}: no lm-eval results files (results_*.json) in this folder or below; "
                    "run lm_eval with --output_path and --log_samples"
                )
            found.extend(matches)
    # Keep paths as the user wrote them (reports stay portable); dedupe on the real file.
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _run_datetime(path: Path, problems: Problems) -> datetime:
    # lm-eval names files with datetime.now().isoformat() where ':' became '-'.
    stamp = path.stem.removeprefix("results_")
    day, _, clock = stamp.partition("T")
    try:
        return datetime.fromisoformat(f"{day}T{clock.replace('-', ':')}")
    except ValueError:
        problems.warn(f"{path}: cannot read the run time from the file name; ordering runs by file modification time")
        return datetime.fromtimestamp(path.stat().st_mtime)


def _model_args_text(model_args) -> str:
    if isinstance(model_args, dict):
        return ",".join(f"{k}={v}" for k, v in model_args.items())
    return "" if model_args is None else str(model_args)


def _pretrained(model_args) -> str | None:
    # Same precedence as lm-eval's own model naming (GeneralConfigTracker._get_model_name).
    if isinstance(model_args, dict):
        args = {str(k): str(v) for k, v in model_args.items()}
    else:
        args = dict(part.split("=", 1) for part in str(model_args or "").split(",") if "=" in part)
    for key in ("peft", "delta", "pretrained", "model", "path", "engine"):
        if args.get(key):
            return args[key]
    return None


def _started(results: dict) -> str:
    date = results.get("date")
    if isinstance(date, (int, float)):
        return datetime.fromtimestamp(date, tz=timezone.utc).isoformat(timespec="seconds")
    return "" if date is None else str(date)


def _read_results(path: Path, problems: Problems) -> dict | None:
    """The results file's object, or None (with a warning) when it is no lm-eval results file."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        problems.warn(f"{path}: unreadable results file ({err}); skipped")
        return None
    if not isinstance(results, dict) or not isinstance(results.get("results"), dict):
        problems.warn(f"{path}: not an lm-eval results file (no 'results' object); skipped")
        return None
    return results


def _dataset_and_language(path: Path, task: str, named: re.Match, metadata: dict, problems: Problems) -> tuple[str, str]:
    """The task's dataset and language: its metadata's when recorded (warning when they differ from its name)."""
    dataset = str(metadata.get(DATASET_KEY) or named["dataset"])
    language = str(metadata.get(LANGUAGE_KEY) or named["language"])
    if (dataset, language) != (named["dataset"], named["language"]):
        problems.warn(
            f"{path}: task {task} records {DATASET_KEY}={dataset}, {LANGUAGE_KEY}={language} in its metadata; "
            "the metadata is used"
        )
    return dataset, language


def _reported_by_filter(task: str, values: dict, unreported_metrics: dict[str, set[str]]) -> dict[str, dict[str, float]]:
    """The task's metric values (``metric,filter`` keys, stderrs left out) per filter; notes metrics no report shows."""
    reported: dict[str, dict[str, float]] = defaultdict(dict)
    for key, value in values.items():
        metric, sep, filter_name = key.partition(",")
        if sep and not metric.endswith("_stderr") and isinstance(value, (int, float)):
            reported[filter_name][metric] = float(value)
            if metric not in BY_NAME:
                unreported_metrics[metric].add(task)
    return reported


def _n_samples(results: dict, task: str) -> int | None:
    """The number of documents lm-eval recorded for the task (``effective`` when it records both)."""
    n_samples = results.get("n-samples", {}).get(task)
    if isinstance(n_samples, dict):
        n_samples = n_samples.get("effective", n_samples.get("original"))
    return int(n_samples) if isinstance(n_samples, (int, float)) else None


def parse_results_file(
    path: Path, problems: Problems, ignored_tasks: dict[str, set[Path]], unreported_metrics: dict[str, set[str]]
) -> list[TaskRun]:
    results = _read_results(path, problems)
    if results is None:
        return []
    config = results.get("config") if isinstance(results.get("config"), dict) else {}
    model_args = config.get("model_args")
    pretrained = _pretrained(model_args)
    model = results.get("model_name") or pretrained or path.parent.name
    run_datetime = _run_datetime(path, problems)
    task_runs = []
    for task, values in results["results"].items():
        named = TASK_PATTERN.match(task)
        if not named:
            ignored_tasks[task].add(path)
            continue
        metadata = ((results.get("configs") or {}).get(task) or {}).get("metadata") or {}
        dataset, language = _dataset_and_language(path, task, named, metadata, problems)
        if not isinstance(values, dict):
            problems.warn(f"{path}: results for {task} are not an object; task skipped")
            continue
        reported = _reported_by_filter(task, values, unreported_metrics)
        if not reported:
            problems.warn(f"{path}: no metric values for {task}; task skipped")
            continue
        filters = sorted(reported)
        if len(filters) > 1:
            problems.warn(f"{path}: {task} has several filters ({', '.join(filters)}); using {filters[0]!r}")
        task_runs.append(
            TaskRun(
                model=str(model),
                task=task,
                dataset=dataset,
                language=language,
                results_file=path,
                run_datetime=run_datetime,
                filter=filters[0],
                task_version=str(results.get("versions", {}).get(task, "")),
                signature=metadata.get("signature"),
                model_args=_model_args_text(model_args),
                pretrained=pretrained,
                lm_eval_version=str(results.get("lm_eval_version", "")),
                started=_started(results),
                n_samples=_n_samples(results, task),
                reported=reported[filters[0]],
                higher_is_better=dict(results.get("higher_is_better", {}).get(task) or {}),
            )
        )
    return task_runs


@dataclass
class SampleTable:
    """The documents of one samples file: their doc_key, line position and metric values."""

    doc_keys: np.ndarray  # str
    rows: np.ndarray  # position among the file's non-empty lines (to re-read a record)
    values: np.ndarray  # (documents, len(REPORTED_NAMES)); NaN where a document lacks the metric


def _samples_schema(key_type):
    import pyarrow as pa

    document = pa.struct([("doc_key", key_type), ("language", pa.string())])
    fields = [("doc_id", pa.int64()), ("doc", document), ("filter", pa.string())]
    return pa.schema(fields + [(name, pa.float64()) for name in REPORTED_NAMES])


def _parse_fast(path: Path):
    """Whole-file parse in C++ (pyarrow comes with lm-eval, through datasets).

    Reads only the fields used, several times faster than json.loads per line. A
    dataset's ``doc_key`` is an integer (SIB-200's ``index_id``) or a string, so both are
    tried. Returns None on anything unexpected so the line-by-line parser can say which
    line is wrong.
    """
    import pyarrow as pa
    import pyarrow.json as pa_json

    for key_type in (pa.int64(), pa.string()):
        try:
            table = pa_json.read_json(
                path, parse_options=pa_json.ParseOptions(explicit_schema=_samples_schema(key_type), unexpected_field_behavior="ignore")
            )
            break
        except Exception:  # pyarrow raises several types for malformed input; the slow path explains
            continue
    else:
        return None
    document = table.column("doc").combine_chunks()
    keys = document.field("doc_key")
    if document.null_count or keys.null_count:
        return None
    return {
        "doc_key": np.asarray([str(key) for key in keys.to_pylist()], dtype=object),
        "row": np.arange(table.num_rows, dtype=np.int64),
        "language": document.field("language").to_pylist(),
        "filter": table.column("filter").to_pylist(),
        "values": np.column_stack(
            [table.column(name).to_numpy(zero_copy_only=False).astype(np.float64) for name in REPORTED_NAMES]
        )
        if table.num_rows
        else np.empty((0, len(REPORTED_NAMES))),
        "bad_lines": [],
    }


def _parse_lines(path: Path) -> dict:
    keys, positions, languages, filters, rows, bad_lines = [], [], [], [], [], []
    with path.open(encoding="utf-8", errors="replace") as handle:
        position = -1
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            position += 1
            try:
                sample = json.loads(line)
                doc = sample["doc"] if isinstance(sample.get("doc"), dict) else {}
                key = doc["doc_key"]
                if key is None or isinstance(key, (dict, list, float)):
                    raise ValueError(f"doc_key {key!r}")
                values = [math.nan if sample.get(name) is None else float(sample[name]) for name in REPORTED_NAMES]
            except (ValueError, TypeError, KeyError, AttributeError):
                bad_lines.append(line_number)
                continue
            keys.append(str(key))
            positions.append(position)
            languages.append(doc.get("language"))
            filters.append(sample.get("filter"))
            rows.append(values)
    return {
        "doc_key": np.asarray(keys, dtype=object),
        "row": np.asarray(positions, dtype=np.int64),
        "language": languages,
        "filter": filters,
        "values": np.asarray(rows, dtype=np.float64).reshape(len(rows), len(REPORTED_NAMES)),
        "bad_lines": bad_lines,
    }


def read_samples(run: TaskRun, problems: Problems) -> SampleTable | None:
    """The documents of one task run, or None (with a warning) when unusable."""
    path = run.samples_file
    if not path.is_file():
        problems.warn(
            f"{path}: missing; {run.task} of {run.results_file.name} is left out "
            "(was lm_eval run with --log_samples?)"
        )
        return None
    try:
        parsed = _parse_fast(path) or _parse_lines(path)
    except OSError as err:
        problems.warn(f"{path}: unreadable ({err}); {run.task} left out")
        return None
    if parsed["bad_lines"]:
        problems.warn(
            f"{path}: {len(parsed['bad_lines'])} corrupt or incomplete line(s) left out "
            f"(line {_short_list(parsed['bad_lines'])}; every line needs doc.doc_key and the metric values)"
        )
    keep = np.array([f is None or f == run.filter for f in parsed["filter"]], dtype=bool)
    if not keep.all():
        problems.note(f"{path}: {int((~keep).sum())} line(s) of filters other than {run.filter!r} not used")
    wrong_language = sorted({str(lang) for lang in parsed["language"] if lang is not None and lang != run.language})
    if wrong_language:
        problems.warn(f"{path}: documents say language {_short_list(wrong_language)}, task is {run.language}")
    doc_keys, rows, values = parsed["doc_key"][keep], parsed["row"][keep], parsed["values"][keep]
    if len(doc_keys) == 0:
        problems.warn(f"{path}: no usable document lines; {run.task} left out")
        return None
    if np.isnan(values[:, REPORTED_NAMES.index(SCORE)]).all():
        problems.warn(
            f"{path}: no document has a {SCORE!r} value, so this is not a protocol-2 run "
            f"(signature: {run.signature or 'none recorded'}); {run.task} left out. Rerun it with this macro-bench."
        )
        return None
    unique_keys, first = np.unique(doc_keys, return_index=True)
    if len(unique_keys) < len(doc_keys):
        repeated = np.setdiff1d(np.arange(len(doc_keys)), first)
        problems.warn(
            f"{path}: {len(repeated)} repeated document(s) (doc_key "
            f"{_short_list(sorted(set(doc_keys[repeated].tolist())))}); the first of each is used"
        )
        first.sort()
        doc_keys, rows, values = doc_keys[first], rows[first], values[first]
    table = SampleTable(doc_keys, rows, values)
    if run.n_samples is not None and len(doc_keys) != run.n_samples:
        problems.warn(
            f"{path}: {plural(len(doc_keys), 'document')}, but {run.results_file.name} says {run.n_samples} "
            "were scored (partial file?)"
        )
    else:
        _check_against_reported(run, table, problems)
    return table


def _check_against_reported(run: TaskRun, table: SampleTable, problems: Problems) -> None:
    # lm-eval averaged the same per-document values (each metric over the documents
    # where it is defined); a disagreement means the samples file is not the one the
    # results file was computed from.
    disagreeing = []
    for metric, reported in run.reported.items():
        if metric not in REPORTED_NAMES:
            continue
        column = table.values[:, REPORTED_NAMES.index(metric)]
        values = column[~np.isnan(column)]
        if len(values) == 0:
            continue
        recomputed = float(values.mean())
        if not math.isclose(recomputed, reported, rel_tol=1e-6, abs_tol=1e-9):
            disagreeing.append(f"{metric} {reported:.6g} vs {recomputed:.6g}")
    if disagreeing:
        problems.warn(
            f"{run.samples_file}: does not match {run.results_file.name} "
            f"(results vs samples: {'; '.join(disagreeing)})"
        )


def _select_newest(task_runs: list[TaskRun], problems: Problems) -> tuple[list[TaskRun], pd.DataFrame]:
    by_key: dict[tuple[str, str], list[TaskRun]] = defaultdict(list)
    for run in task_runs:
        by_key[(run.model, run.task)].append(run)
    chosen, superseded = [], []
    for (model, task), runs in by_key.items():
        runs.sort(key=lambda r: (r.run_datetime, str(r.results_file)))
        chosen.append(runs[-1])
        superseded += [
            {"model": model, "task": task, "used": str(runs[-1].results_file), "superseded": str(old.results_file)}
            for old in runs[:-1]
        ]
    superseded_table = pd.DataFrame(superseded, columns=["model", "task", "used", "superseded"])
    for (model, used, old), group in superseded_table.groupby(["model", "used", "superseded"], sort=False):
        problems.note(
            f"model {model}: {Path(used).name} is newer than {old} for {len(group)} task(s) "
            f"({_short_list(group['task'])}); the newer one is used"
        )
    return chosen, superseded_table


def check_consistency(task_runs: pd.DataFrame, problems: Problems) -> None:
    """Warn when runs that will be compared were made with different task versions or
    (within one model) model args. Signatures are checked by :mod:`signatures`."""
    versions = task_runs.groupby("task")["task_version"].nunique()
    mixed = sorted(versions[versions > 1].index)
    if mixed:
        example = task_runs[task_runs["task"] == mixed[0]]
        detail = "; ".join(f"{r.model}: version {r.task_version} ({r.results_file})" for r in example.itertuples())
        problems.warn(f"task versions differ between runs for {_short_list(mixed)}; e.g. {mixed[0]}: {detail}")
    for model, group in task_runs.groupby("model", sort=False):
        if group["model_args"].nunique() > 1:
            problems.warn(
                f"model {model} was run with different model args across tasks: {_short_list(sorted(group['model_args'].unique()))}"
            )


def _check_direction(run: TaskRun, problems: Problems) -> None:
    flipped = [m for m, higher in run.higher_is_better.items() if m in BY_NAME and bool(higher) != BY_NAME[m].higher_is_better]
    if flipped:
        problems.warn(
            f"{run.results_file}: {run.task} records higher_is_better for {', '.join(flipped)} "
            "opposite to macro-bench's metric registry; the registry's direction is used"
        )


def _document_frame(tables: list[tuple[TaskRun, SampleTable]]) -> pd.DataFrame:
    # One frame built once: per-file DataFrames cost more than parsing the file.
    sizes = [len(table.doc_keys) for _, table in tables]

    def repeated(attribute: str) -> np.ndarray:
        return np.repeat(np.array([getattr(run, attribute) for run, _ in tables], dtype=object), sizes)

    frame = pd.DataFrame(
        {
            "dataset": repeated("dataset"),
            "model": repeated("model"),
            "language": repeated("language"),
            "doc_key": np.concatenate([table.doc_keys for _, table in tables]),
            "row": np.concatenate([table.rows for _, table in tables]),
        }
    )
    values = np.concatenate([table.values for _, table in tables])
    for column, name in enumerate(REPORTED_NAMES):
        frame[name] = values[:, column]
    return frame


def load_runs(paths: list[Path], problems: Problems | None = None) -> LoadedRuns:
    """Read every results file under ``paths`` and the samples files of their macro tasks."""
    problems = problems or Problems()
    results_files = find_results_files([Path(p) for p in paths])
    ignored_tasks: dict[str, set[Path]] = defaultdict(set)
    unreported_metrics: dict[str, set[str]] = defaultdict(set)
    all_runs = [
        run for path in results_files for run in parse_results_file(path, problems, ignored_tasks, unreported_metrics)
    ]
    if ignored_tasks:
        problems.note(f"ignored tasks (not macro-bench): {_short_list(sorted(ignored_tasks))}")
    for metric, tasks in sorted(unreported_metrics.items()):
        problems.note(f"metric {metric!r} of {_short_list(sorted(tasks))} is not in macro-bench's metric registry; not reported")
    if not all_runs:
        where = ", ".join(str(p) for p in paths)
        other = f"; the results files hold only other tasks: {_short_list(sorted(ignored_tasks))}" if ignored_tasks else ""
        raise InputError(f"no {TASK_NAMES_HELP} results in {where} ({len(results_files)} results file(s) read){other}")
    chosen, superseded = _select_newest(all_runs, problems)

    tables: list[tuple[TaskRun, SampleTable]] = []
    provenance, excluded = [], []
    for run in sorted(chosen, key=lambda r: (r.model, r.task)):
        _check_direction(run, problems)
        table = read_samples(run, problems)
        if table is None:
            excluded.append({"model": run.model, "task": run.task, "file": str(run.samples_file), "reason": "no usable samples file"})
            continue
        tables.append((run, table))
        provenance.append(
            {
                "model": run.model,
                "task": run.task,
                "dataset": run.dataset,
                "language": run.language,
                "task_version": run.task_version,
                "signature": run.signature or "",
                "model_args": run.model_args,
                "pretrained": run.pretrained or "",
                "lm_eval_version": run.lm_eval_version,
                "started": run.started,
                "results_file": str(run.results_file),
                "samples_file": str(run.samples_file),
                "n_documents": len(table.doc_keys),
                "n_samples_reported": run.n_samples,
            }
        )
    if not tables:
        raise InputError(
            "no macro-bench task has a usable samples file (see the warnings above); "
            "a leaderboard needs lm_eval --log_samples output of protocol-2 tasks"
        )
    documents = _document_frame(tables)
    provenance_table = pd.DataFrame(provenance)
    check_consistency(provenance_table, problems)
    excluded_table = pd.DataFrame(excluded, columns=["model", "task", "file", "reason"])
    return LoadedRuns(documents, provenance_table, excluded_table, superseded, problems)
