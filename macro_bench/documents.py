"""The documents a macro-bench task evaluates, as lm-eval's ``custom_dataset`` loader.

Each document is a dataset row plus ``language`` (the ``lang_Script`` code) and
``doc_key`` (the row's id shared by its parallel translations). Documents come in
:func:`macro_bench.protocol.document_order_key` order, not file order, so that
``--limit`` samples every label and the same parallel documents in every language.

lm-eval calls the loader when it builds the tasks, before any request runs but after
the model has loaded. The ``lm_eval`` command line and ``simple_evaluate`` check the
same things earlier, before the model loads, and refuse unknown ``--metadata`` keys
(:mod:`macro_bench.preflight`); the loader checks again for callers that build tasks
without ``simple_evaluate``: the ``--metadata`` options, the data, and the lm-eval
internals the second pass needs.
"""

from __future__ import annotations

from typing import Any

from macro_bench import protocol
from macro_bench.lm_eval_adapter import bridge as lm_eval_bridge
from macro_bench.datasets import get_dataset
from macro_bench.languages import get_language
from macro_bench.options import Options

# Task-level metadata keys naming the task's dataset and language; namespaced so that a
# user's --metadata (which lm-eval merges over task metadata) cannot clash with them.
DATASET_KEY = "macro_dataset"
LANGUAGE_KEY = "macro_language"


def load_documents(**metadata: Any):
    """lm-eval ``custom_dataset``: lm-eval passes the task's merged metadata as keywords.

    That includes ``--metadata`` and the run's model_args, which the loader cannot tell
    apart, so it ignores unknown keys (:mod:`macro_bench.preflight` refuses them).
    """
    import datasets

    for key in (DATASET_KEY, LANGUAGE_KEY):
        if not metadata.get(key):
            raise ValueError(
                f"task metadata lacks {key!r}; macro-bench task YAMLs must set it "
                "(regenerate them with `python -m macro_bench.task_configs`)"
            )
    lm_eval_bridge.check_lm_eval()
    Options.from_metadata(metadata)
    dataset = get_dataset(metadata[DATASET_KEY])
    language = metadata[LANGUAGE_KEY]
    get_language(language)
    rows = dataset.load(language, metadata)
    docs = sorted(
        ({**row, "language": language, "doc_key": row[dataset.doc_key_field]} for row in rows),
        key=lambda doc: protocol.document_order_key(doc["doc_key"]),
    )
    return datasets.DatasetDict({dataset.split: datasets.Dataset.from_list(docs)})
