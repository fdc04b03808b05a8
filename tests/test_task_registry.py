"""What lm-eval sees of our tasks: names, tags, no groups."""

from __future__ import annotations

from pathlib import Path

from macro_bench.languages import load_languages, tag_for_family

SIB200 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sib200"


def _manager():
    from lm_eval.tasks import TaskManager

    return TaskManager(include_defaults=False, metadata={"sib200_dir": str(SIB200), "xnli_dir": str(SIB200.parent / "xnli")})


def test_glob_finds_every_language_task_and_only_tags_never_groups():
    from lm_eval.tasks._index import Kind

    manager = _manager()
    matched = manager.match_tasks(["macro_*"])
    languages = load_languages()
    from macro_bench.datasets.xnli import XNLI_CODES

    expected_tasks = {f"macro_sib200_{code}" for code in languages} | {f"macro_xnli_{code}" for code in XNLI_CODES}
    assert {name for name in matched if manager.task_index[name].kind == Kind.TASK} == expected_tasks
    kinds = {manager.task_index[name].kind for name in matched}
    # A group named macro_* would make lm-eval report every task twice under the glob.
    assert Kind.GROUP not in kinds and kinds == {Kind.TASK, Kind.TAG}
    families = {language.family for language in languages.values()}
    assert {name for name in matched if manager.task_index[name].kind == Kind.TAG} == {
        "macro_sib200", "macro_xnli", *(tag_for_family(family) for family in families)
    }


def test_family_tag_loads_exactly_that_family_in_both_datasets():
    from macro_bench.datasets.xnli import XNLI_CODES

    languages = load_languages()
    tag = tag_for_family("Tai-Kadai")
    loaded = _manager().load([tag])
    expected = {f"macro_sib200_{code}" for code, lang in languages.items() if lang.family == "Tai-Kadai"}
    expected |= {f"macro_xnli_{code}" for code in XNLI_CODES if languages[code].family == "Tai-Kadai"}
    assert set(loaded["tasks"]) == expected and "macro_xnli_tha_Thai" in expected
