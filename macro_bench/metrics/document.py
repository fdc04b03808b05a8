"""From one document's measurements (the scoring pass output) to its metric values.

These are the per-document values lm-eval aggregates per language and writes to
``--log_samples``. Two metrics are left out for a document where they are undefined,
rather than guessed: ``fluency`` when the counterfactual is empty (no perplexity; the
document is counted by ``empty_rate``) and ``language_confusion_rate`` when the
language identifier does not know the task's language or the output is empty.
"""

from __future__ import annotations

from macro_bench.language_id import is_confused
from macro_bench.metrics.gates import is_copy, is_empty
from macro_bench.metrics.faithfulness import faithfulness
from macro_bench.metrics.fluency import fluency_ratio
from macro_bench.metrics.validity import flip, target_hit


def document_metrics(doc: dict, measured: dict) -> dict[str, float]:
    counterfactual = measured["counterfactual"]
    prediction_original = measured["prediction_original"]
    prediction_counterfactual = measured["prediction_counterfactual"]
    faithful = faithfulness(
        [frozenset(i["deleted_positions"]) for i in measured["interventions"]],
        [i["outcome"] for i in measured["interventions"]],
        frozenset(measured["edited_positions"]),
    )
    values = {
        "flip_rate": flip(prediction_original, prediction_counterfactual),
        "target_rate": target_hit(prediction_counterfactual, measured["target_label"]),
        "minimality": measured["minimality"],
        "faithfulness": faithful.score,
        "faithfulness_defined": float(faithful.defined),
        "copy_rate": float(counterfactual is not None and is_copy(doc["text"], counterfactual)),
        "empty_rate": float(is_empty(counterfactual)),
        "accuracy": float(prediction_original == measured["gold_label"]),
    }
    fluency = None
    if measured["loglik_original"] is not None and measured["loglik_counterfactual"] is not None:
        fluency = fluency_ratio(
            measured["loglik_original"],
            measured["bytes_original"],
            measured["loglik_counterfactual"],
            measured["bytes_counterfactual"],
        )
    if fluency is not None:
        values["fluency"] = fluency
    confused = is_confused(doc["language"], measured["language_identified"])
    if confused is not None:
        values["language_confusion_rate"] = float(confused)
    return values
