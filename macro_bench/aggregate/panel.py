"""Per-document values as dense (document x model-language) matrices, and their means.

The long table of one dataset's documents becomes, per metric, a matrix with one row
per document (``doc_key``) and one column per (model, language): the layout that lets
one matrix product compute a weighted mean for every group and every bootstrap
replicate at once. Every metric is an arithmetic mean over the documents where it is
defined (its registry population), so absent values weigh nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from macro_bench.aggregate.metric_specs import REPORTED, MetricSpec


@dataclass
class Panel:
    models: list[str]
    languages: list[str]
    doc_keys: np.ndarray
    metrics: tuple[MetricSpec, ...]
    values: dict[str, np.ndarray]  # (documents, models * languages); 0 where absent
    present: dict[str, np.ndarray]  # same shape, 1.0 where the document has the metric

    def n_present(self, metric: str) -> np.ndarray:
        """(models, languages) count of documents with a value for ``metric``."""
        return self.present[metric].sum(axis=0).reshape(len(self.models), len(self.languages))


def build_panel(
    documents: pd.DataFrame, models: list[str], languages: list[str], metrics: tuple[MetricSpec, ...] = REPORTED
) -> Panel:
    model_codes = pd.Categorical(documents["model"], categories=models).codes.astype(np.int64)
    language_codes = pd.Categorical(documents["language"], categories=languages).codes.astype(np.int64)
    if (model_codes < 0).any() or (language_codes < 0).any():
        raise ValueError("documents name a model or language outside the panel's lists")
    doc_keys, doc_codes = np.unique(documents["doc_key"].to_numpy(), return_inverse=True)
    columns = model_codes * len(languages) + language_codes
    shape = (len(doc_keys), len(models) * len(languages))
    exists = np.zeros(shape)
    exists[doc_codes, columns] = 1.0
    values, present = {}, {}
    for spec in metrics:
        raw = documents[spec.name].to_numpy(dtype=np.float64)
        has_value = ~np.isnan(raw)
        matrix = np.zeros(shape)
        matrix[doc_codes[has_value], columns[has_value]] = raw[has_value]
        mask = np.zeros(shape)
        mask[doc_codes[has_value], columns[has_value]] = 1.0
        # Sharing the object lets language_means compute the common denominator once.
        present[spec.name] = exists if np.array_equal(mask, exists) else mask
        values[spec.name] = matrix
    return Panel(models, languages, doc_keys, metrics, values, present)


def language_means(panel: Panel, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Per metric, (replicates, models, languages) weighted means over documents.

    NaN where a group has no document with the metric in that replicate (for row 0:
    the metric is undefined there, e.g. language confusion for a language the
    identifier does not know).
    """
    shape = (weights.shape[0], len(panel.models), len(panel.languages))
    denominators: dict[int, np.ndarray] = {}
    means = {}
    for spec in panel.metrics:
        mask = panel.present[spec.name]
        if id(mask) not in denominators:
            denominators[id(mask)] = weights @ mask
        with np.errstate(divide="ignore", invalid="ignore"):
            means[spec.name] = ((weights @ panel.values[spec.name]) / denominators[id(mask)]).reshape(shape)
    return means
