"""Which runs may share a table: their metric signatures must match.

Every macro-bench task records a signature (``configs.<task>.metadata.signature``, see
:mod:`macro_bench.signature`): every setting that changes a number. Two numbers are
comparable only when their signatures match, so a table (one dataset) whose runs carry
different signatures is refused, naming the fields that differ, unless the user passes
``--allow-mixed-signatures``; the report then lists the differences. Runs of different
datasets differ in the ``dataset`` field by nature: they are different tables, never a
mix.

Fluency is a log-perplexity ratio under a scorer LM. With ``fluency:self`` each model
scores its own text, so fluency values of different models are not on one scale: the
reports say so beside the fluency column, and ``compare`` gives no fluency verdict
between runs whose scorers differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from macro_bench.aggregate.problems import InputError, Problems
from macro_bench.signature import model_identity, parse_signature

NOT_RECORDED = "(not recorded)"
SELF_SCORED_NOTE = "self-scored: not comparable across models"
ALLOW_OPTION = "--allow-mixed-signatures"
# The signature fields that name a model (lm-eval model_args), recorded without the install.
MODEL_FIELDS = ("judge", "fluency")


@dataclass(frozen=True)
class FieldDifference:
    """One signature field whose value differs between the runs of a dataset."""

    dataset: str
    field: str
    values: dict[str, list[str]]  # value -> models whose runs carry it

    def describe(self) -> str:
        return f"{self.field}: " + " vs ".join(
            f"{value or '(empty)'} ({', '.join(models)})" for value, models in self.values.items()
        )


def signature_fields(signature: str) -> dict[str, str]:
    """The fields of a recorded signature (:func:`macro_bench.signature.parse_signature`).

    Runs recorded before the signature left the install out name a judge or fluency model
    by its full local path; it is read as :func:`macro_bench.signature.model_identity`
    records it now, so the same model installed elsewhere compares equal.
    """
    if not signature:
        return {"signature": NOT_RECORDED}
    fields = parse_signature(signature)
    for key in MODEL_FIELDS:
        if fields.get(key, "self") != "self":
            fields[key] = model_identity(fields[key])
    return fields


def differences(task_runs: pd.DataFrame) -> list[FieldDifference]:
    """The fields whose values differ between the runs of each dataset."""
    found = []
    for dataset, runs in task_runs.groupby("dataset", sort=True):
        parsed = [(row.model, signature_fields(row.signature)) for row in runs.itertuples()]
        keys = list(dict.fromkeys(key for _, fields in parsed for key in fields))
        for key in keys:
            values: dict[str, set[str]] = {}
            for model, fields in parsed:
                values.setdefault(fields.get(key, NOT_RECORDED), set()).add(model)
            if len(values) > 1:
                found.append(FieldDifference(str(dataset), key, {v: sorted(m) for v, m in sorted(values.items())}))
    return found


def check_signatures(task_runs: pd.DataFrame, allow_mixed: bool, problems: Problems) -> list[FieldDifference]:
    """Refuse runs with different signatures in one dataset's table, or (allowed) warn and list them."""
    found = differences(task_runs)
    if not found:
        return []
    by_dataset: dict[str, list[FieldDifference]] = {}
    for difference in found:
        by_dataset.setdefault(difference.dataset, []).append(difference)
    detail = "; ".join(
        f"dataset {dataset}: " + "; ".join(d.describe() for d in diffs) for dataset, diffs in by_dataset.items()
    )
    if not allow_mixed:
        raise InputError(
            f"runs with different metric signatures would share a table, so their numbers are not comparable: {detail}. "
            f"Rerun with matching settings, or pass {ALLOW_OPTION} to build the tables anyway (the report then lists "
            "these differences)"
        )
    problems.warn(f"{ALLOW_OPTION}: runs with different metric signatures share a table: {detail}")
    return found


def fluency_scorer(signature: str, pretrained: str, model: str) -> str:
    """Who scored fluency: the shared scorer named in the signature, or the model itself."""
    scorer = signature_fields(signature).get("fluency", NOT_RECORDED)
    return f"self ({pretrained or model})" if scorer == "self" else scorer


def self_scored_datasets(task_runs: pd.DataFrame) -> set[str]:
    """Datasets where some run scored its own fluency (or did not record its scorer)."""
    return set(self_scored_models(task_runs))


def self_scored_models(task_runs: pd.DataFrame) -> dict[str, set[str]]:
    """Per dataset, the models some of whose runs scored their own fluency (or did not record the scorer)."""
    scorers = task_runs["signature"].map(lambda s: signature_fields(s).get("fluency", NOT_RECORDED))
    selected = task_runs.loc[scorers.isin(["self", NOT_RECORDED]), ["dataset", "model"]]
    models: dict[str, set[str]] = {}
    for dataset, model in selected.itertuples(index=False):
        models.setdefault(dataset, set()).add(model)
    return models
