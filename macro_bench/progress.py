"""Labelled progress bars for the second pass's stages.

Card
----
Each stage of the second pass that can take long shows one bar, labelled
``macro-bench <task> [<stage>]``, on data-parallel rank 0 only (as lm-eval shows its
own), and lm-eval's unlabelled bar for the same work is turned off:

* **generation** (:class:`GenerationProgress`): the requests go to the model one
  batch at a time (:func:`macro_bench.lm_eval_adapter.data_parallel.call_on_every_rank`, in the
  batches one call would make, so the texts are identical). The bar counts decoding
  steps: each batch takes at most ``max_gen_toks`` steps, so the total is batches x
  ``max_gen_toks``; a batch whose texts all stop early jumps to its end. For lm-eval's
  HF model each step is one forward call of the transformers model, counted by a
  forward hook (removed afterwards; it reads nothing and changes nothing), so a single
  batch of 60 s shows a rate and a remaining time from its first tokens on, updated
  with every token; any other model moves once per batch.
* **classification and scoring** (:class:`BatchProgress`): one step per forward batch,
  whether the shared-prefix scorer or lm-eval's own ``loglikelihood`` computes it. The
  fluency texts of the scoring stage (two per valid counterfactual) keep lm-eval's own
  ``loglikelihood_rolling`` bars (one per batch, unlabelled): lm-eval 0.4.13 shows them
  whatever its caller asks, so a bar of ours would only add a second one.

A stage with nothing to compute (everything cached, or nothing to score) shows no bar.
The remaining time is tqdm's, from the bar's own steps: after the first step it is
recomputed at every update, never a figure frozen from the first step.
"""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

from macro_bench.wording import plural

# Seconds between two redraws: every decoding step of a small model would redraw many times a second.
_REDRAW_SECONDS = 0.5


def _shown(model: Any) -> bool:
    return int(getattr(model, "rank", 0) or 0) == 0


class BatchProgress:
    """A labelled bar over the batches of one model call, one step per batch."""

    unit = "batch"

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: tqdm | None = None
        self.batches: list[int] = []
        self.done = 0

    def start(self, batch_sizes: list[int], model: Any) -> None:
        self.batches, self.done = list(batch_sizes), 0
        if not self.batches:
            return
        self.bar = tqdm(total=self.total(), desc=self.description(), unit=self.unit,
                        disable=not _shown(model), mininterval=_REDRAW_SECONDS, dynamic_ncols=True)

    def total(self) -> int:
        return len(self.batches)

    def description(self) -> str:
        return self.label

    def batch_done(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class GenerationProgress(BatchProgress):
    """A bar over decoding steps: ``max_gen_toks`` per batch, one step per forward call."""

    unit = "tok"

    def __init__(self, label: str, max_gen_toks: int) -> None:
        super().__init__(label)
        self.max_gen_toks = max_gen_toks
        self.steps_in_batch = 0
        self._hook = None

    def total(self) -> int:
        return len(self.batches) * self.max_gen_toks

    def description(self) -> str:
        current = min(self.done + 1, len(self.batches))
        return f"{self.label} batch {current}/{len(self.batches)} ({plural(self.batches[current - 1], 'text')})"

    def start(self, batch_sizes: list[int], model: Any) -> None:
        super().start(batch_sizes, model)
        self.steps_in_batch = 0
        if self.bar is not None and not self.bar.disable:
            self._hook = _forward_hook(model, self.step)

    def step(self, *_: Any) -> None:
        """One decoding step of the current batch (the forward hook calls it)."""
        if self.bar is not None and self.steps_in_batch < self.max_gen_toks:
            self.steps_in_batch += 1
            self.bar.update(1)

    def batch_done(self) -> None:
        self.done += 1
        if self.bar is not None:
            # The batch is over: its unused steps (texts that all stopped early) count as done.
            self.bar.update(self.max_gen_toks - self.steps_in_batch)
            if self.done < len(self.batches):
                self.bar.set_description_str(self.description(), refresh=False)
        self.steps_in_batch = 0

    def close(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        super().close()


def _forward_hook(model: Any, callback: Any) -> Any:
    """A forward hook calling ``callback`` after each forward of ``model``'s torch module, or None.

    lm-eval's HF model keeps its transformers model in ``.model``; generation calls it
    once per new token. Other models have no such module: their bar moves per batch.
    """
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of lm-eval[hf]
        return None
    module = getattr(model, "model", None)
    if not isinstance(module, torch.nn.Module):
        return None
    return module.register_forward_hook(callback)
