"""Bad settings are refused before lm-eval loads the model (macro_bench/preflight.py).

lm-eval 0.4.13 constructs the model before it builds the tasks. Each bad input here
goes through the real ``lm_eval`` command line with a model whose construction writes
a marker file (and then stops the run): the run must fail, the marker must not exist,
and the last line printed must say what is wrong. A control run with good settings
writes the marker, so the marker does show a construction when there is one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from macro_bench import preflight
from macro_bench.lm_eval_adapter import patches
from macro_bench.preflight import RunCheckError, check_run, known_metadata_keys, macro_tasks

REPO = Path(__file__).resolve().parents[1]
ENG, DEU_XNLI = "macro_sib200_eng_Latn", "macro_xnli_deu_Latn"
HEADER = "index_id\tcategory\ttext\n"
CONSTRUCTED = "marker model constructed"

# Started by every child Python through PYTHONPATH. It registers the marker model
# (lm-eval 0.4.13 has no model plugins) and turns off lm-eval's 14,927 built-in tasks:
# indexing them takes 12 s per run and they play no part in these checks (the
# start-up hook still adds macro-bench's tasks, as in any install).
SITECUSTOMIZE = """
import lm_eval.tasks.manager as _manager
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

_init = _manager.TaskManager.__init__


def _without_builtin_tasks(self, *args, **kwargs):
    kwargs["include_defaults"] = False
    _init(self, *args, **kwargs)


_manager.TaskManager.__init__ = _without_builtin_tasks


@register_model("macro-bench-marker")
class MarkerLM(LM):
    @classmethod
    def create_from_arg_obj(cls, arg_dict, additional_config=None):
        with open(arg_dict["marker"], "w", encoding="utf-8") as handle:
            handle.write("constructed")
        raise SystemExit(%r)
""" % CONSTRUCTED


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("preflight")
    good = root / "sib200"
    (good / "eng_Latn").mkdir(parents=True)
    (good / "eng_Latn" / "test.tsv").write_text(HEADER + "1\tsports\tThe team won.\n", encoding="utf-8")
    bad = root / "sib200_bad"
    (bad / "eng_Latn").mkdir(parents=True)
    (bad / "eng_Latn" / "test.tsv").write_text(
        HEADER + "1\tsports\tThe team won.\n2\tsport\tThe team lost.\n", encoding="utf-8"
    )
    (root / "site").mkdir()
    (root / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    (root / "xnli_empty").mkdir()
    return {"root": root, "good": good, "bad": bad, "site": root / "site", "xnli_empty": root / "xnli_empty"}


def run_lm_eval(data: dict[str, Path], tmp_path: Path, *, tasks: str, metadata: dict, extra: tuple = ()):
    marker = tmp_path / "constructed.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("MACRO_SIB200_DIR", "MACRO_XNLI_DIR", "MACRO_BENCH_NO_HOOK")}
    env.update(PYTHONPATH=str(data["site"]), OMP_NUM_THREADS="1")
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("lm_eval")), "--model", "macro-bench-marker",
         "--model_args", f"marker={marker}", "--tasks", tasks, "--metadata", json.dumps(metadata),
         "--output_path", str(tmp_path / "out"), *extra],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    return completed, marker.exists(), (lines[-1] if lines else "")


def test_good_settings_reach_the_model(data, tmp_path):
    # The control: the marker model is constructed when nothing is wrong, so its
    # absence below means the run stopped before the model.
    completed, constructed, last = run_lm_eval(data, tmp_path, tasks=ENG, metadata={"sib200_dir": str(data["good"])})
    assert constructed, completed.stderr[-3000:]
    assert CONSTRUCTED in last
    # Loading a model can be silent for a minute: the run says it is loading, before it does.
    announced = completed.stderr.find("macro-bench: settings checked; loading the model macro-bench-marker now")
    assert 0 <= announced < completed.stderr.find(CONSTRUCTED), completed.stderr[-3000:]


@pytest.mark.parametrize(
    "case",
    ["misspelled key", "missing folder", "malformed file", "missing xnli file", "limit 0", "bad option"],
)
def test_bad_setting_is_refused_before_the_model_loads(data, tmp_path, case):
    tasks, metadata, extra = ENG, {"sib200_dir": str(data["good"])}, ()
    nowhere = data["root"] / "nowhere"
    if case == "misspelled key":
        metadata = {"sib200_directory": str(data["good"])}
        expected = ["'sib200_directory'", "did you mean 'sib200_dir'", *known_metadata_keys()]
    elif case == "missing folder":
        metadata = {"sib200_dir": str(nowhere)}
        expected = [str(nowhere), str(nowhere / "eng_Latn" / "test.tsv"), "expected layout: <dir>/<lang_Script>/"]
    elif case == "malformed file":
        metadata = {"sib200_dir": str(data["bad"])}
        expected = [f"{data['bad'] / 'eng_Latn' / 'test.tsv'}, line 3", "'sport'", "expected layout: <dir>/<lang_Script>/"]
    elif case == "missing xnli file":
        tasks, metadata = DEU_XNLI, {"xnli_dir": str(data["xnli_empty"])}
        expected = [str(data["xnli_empty"] / "dev-de.tsv"), "expected layout: <dir>/dev-<lang>.tsv"]
    elif case == "limit 0":
        extra = ("--limit", "0")
        expected = ["--limit 0 leaves no document", ENG]
    else:
        metadata = {**metadata, "interventions": 1}
        expected = ["'interventions' must be an integer >= 3", "got 1"]
    completed, constructed, last = run_lm_eval(data, tmp_path, tasks=tasks, metadata=metadata, extra=extra)
    assert completed.returncode != 0
    assert not constructed, f"the model was constructed before the {case} was refused"
    assert CONSTRUCTED not in completed.stderr
    assert last.startswith("macro_bench.preflight.RunCheckError: "), completed.stderr[-3000:]
    for text in expected:
        assert text in last, (text, last)


# In-process checks of the rules behind those refusals.


def test_known_keys_are_the_options_and_the_data_folders():
    assert known_metadata_keys() == ("interventions", "judge", "fluency_lm", "sib200_dir", "xnli_dir")


def test_model_args_keys_are_not_refused(data):
    # lm-eval merges --model_args into the metadata every task sees.
    check_run(tasks=[ENG], limit=None, metadata={"pretrained": "x", "sib200_dir": str(data["good"])},
              model_args="pretrained=x", task_manager=None)
    with pytest.raises(RunCheckError, match="'pretrained'"):
        check_run(tasks=[ENG], limit=None, metadata={"pretrained": "x", "sib200_dir": str(data["good"])},
                  model_args=None, task_manager=None)


def test_unknown_key_beside_another_benchmarks_task_only_warns(data, caplog):
    # The key may be the other task's (lm-eval passes --metadata to every task).
    check_run(tasks=[ENG, "someone_elses_task"], limit=None, task_manager=None, model_args=None,
              metadata={"max_seq_lengths": [4096], "sib200_dir": str(data["good"])})
    assert "'max_seq_lengths' is not a macro-bench option" in caplog.text
    with pytest.raises(RunCheckError, match="'max_seq_lengths'"):
        check_run(tasks=[ENG], limit=None, task_manager=None, model_args=None,
                  metadata={"max_seq_lengths": [4096], "sib200_dir": str(data["good"])})


def test_runs_without_macro_bench_tasks_are_not_checked():
    check_run(tasks=["hellaswag"], limit=0, metadata={"anything": 1}, model_args=None, task_manager=None)


def test_tags_expand_to_every_task_they_cover():
    ours, others = macro_tasks(["macro_family_sino_tibetan"])
    assert not others
    assert {"macro_sib200_zho_Hans", "macro_xnli_zho_Hans", "macro_sib200_mya_Mymr"} <= ours.keys()
    assert ours["macro_xnli_zho_Hans"] == {"macro_dataset": "xnli", "macro_language": "zho_Hans"}


def test_negative_and_fractional_zero_limits_are_refused_and_positive_ones_pass(data):
    metadata = {"sib200_dir": str(data["good"])}
    for limit in (0, 0.0, -3):
        with pytest.raises(RunCheckError, match="leaves no document"):
            check_run(tasks=[ENG], limit=limit, metadata=metadata, model_args=None, task_manager=None)
    for limit in (1, 0.5, None):
        check_run(tasks=[ENG], limit=limit, metadata=metadata, model_args=None, task_manager=None)


class _Constructed(Exception):
    pass


@pytest.fixture(scope="module")
def library_model():
    """A model name whose construction raises _Constructed (lm-eval's registry is global: once)."""
    from lm_eval.api.model import LM
    from lm_eval.api.registry import MODEL_REGISTRY, register_model

    name = "macro-bench-preflight-library"
    if name not in MODEL_REGISTRY:

        @register_model(name)
        class _Model(LM):
            @classmethod
            def create_from_arg_string(cls, arg_string, additional_config=None):
                raise _Constructed

    return name


def test_simple_evaluate_checks_before_it_builds_the_model(library_model, data):
    import lm_eval

    with pytest.raises(RunCheckError, match="'sib200_directory'"):
        lm_eval.simple_evaluate(model=library_model, model_args="", tasks=[ENG],
                                metadata={"sib200_directory": str(data["good"])})
    with pytest.raises(_Constructed):
        lm_eval.simple_evaluate(model=library_model, model_args="", tasks=[ENG],
                                metadata={"sib200_dir": str(data["good"])})


def test_a_failing_check_costs_a_warning_not_the_run(library_model, data, monkeypatch):
    import lm_eval

    def broken(**arguments):
        raise AttributeError("a bug in the check")

    monkeypatch.setattr(preflight, "check_run", broken)
    monkeypatch.setattr(patches, "_check_warned", False)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(_Constructed):
        warnings.simplefilter("always")
        lm_eval.simple_evaluate(model=library_model, model_args="", tasks=[ENG],
                                metadata={"sib200_directory": str(data["good"])})
    assert any("could not check the run before the model loads" in str(w.message) for w in caught)
