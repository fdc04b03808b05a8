"""Thin lm-eval glue for the macro_xnli_* tasks; the logic lives in macro_bench."""

from macro_bench.documents import load_documents
from macro_bench.metrics.document import process_results
from macro_bench.lm_eval_adapter.second_pass_filter import SecondPass

__all__ = ["SecondPass", "load_documents", "process_results"]
