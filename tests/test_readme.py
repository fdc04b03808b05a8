"""The README's set-up commands are the ones CI and the demo really run."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return [block.split("```", 1)[0].strip() for block in text.split("```bash\n")[1:]]


def test_ci_runs_exactly_the_readme_test_command():
    """Every command .ci/run runs after moving to the repository root is the README's test block,
    the browser's installation included (without it the README's command skipped the browser test)."""
    readme_commands = _bash_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    ci_lines = [line for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    ci_commands = ci_lines[ci_lines.index('cd "$(dirname "$0")/.."') + 1 :]
    assert "\n".join(ci_commands) in readme_commands
    assert "chromium" in ci_commands[0] and ci_commands[-1].endswith("python -m pytest -q -n 2")


def test_readme_main_job_command_is_the_demo():
    readme_commands = _bash_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    (main_job,) = [c for c in readme_commands if c.startswith("python3 -m venv") and "macro-bench demo" in c]
    assert "pip install torch==2.13.0" in main_job


# --- the example output: benchmarks/readme_example.py ------------------------------------

def _readme_example():
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_example", REPO / "benchmarks" / "readme_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_example_block_is_the_stored_demo_output():
    import json

    example = _readme_example()
    stored = json.loads(example.STORED.read_text(encoding="utf-8"))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert example.readme_block(readme) == example.render(stored)
    assert readme.count(example.BEGIN) == 1 and readme.count(example.END) == 1
    # What the block is made of is the demo's printout: the table has one column per language.
    assert "| metric | eng_Latn | zho_Hans |" in stored["summary"] and stored["documents"] == 20


def test_stored_demo_output_is_what_the_demo_runs_now(monkeypatch):
    """A changed demo, demo setting or protocol makes the stored output stale: rerun the script."""
    import json
    import shlex

    from macro_bench import demo
    from macro_bench.cli import build_parser
    from macro_bench.datasets import get_dataset
    from macro_bench.options import Options
    from macro_bench.second_pass import generation_settings
    from macro_bench.signature import signature

    example = _readme_example()
    stored = json.loads(example.STORED.read_text(encoding="utf-8"))
    monkeypatch.chdir(REPO)  # the script runs the README's command from the repository root
    args = build_parser().parse_args(list(example.DEMO_ARGUMENTS))
    command = demo.lm_eval_command(args.languages.split(","), args.limit, args.output_path, args.sib200_dir,
                                   args.max_gen_toks, args.batch_size)
    assert example.anonymized("OMP_NUM_THREADS=1 " + shlex.join(command), example.placeholders()) == stored["command"]
    assert stored["signature"] == signature(
        dataset=get_dataset("sib200"), options=Options(),
        generation=generation_settings({"max_gen_toks": args.max_gen_toks}, apply_chat_template=False),
        apply_chat_template=False, system_instruction=None, num_fewshot=0, truncation_counted=True,
    )


def test_stored_demo_table_is_what_todays_metrics_make_of_its_documents():
    """A gate or metric changed within one signature (it happens) also makes the example stale."""
    import json
    from collections import defaultdict

    from macro_bench.metrics.document import derive_metrics
    from macro_bench.record import Record

    example = _readme_example()
    stored = json.loads(example.STORED.read_text(encoding="utf-8"))
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for document in stored["records"]:
        for metric, value in derive_metrics(Record.from_dict(document["record"])).items():
            values[metric, document["record"]["language"]].append(value)
    table = [line for line in stored["summary"].splitlines() if line.startswith("|")]
    languages = [cell.strip() for cell in table[0].split("|")[2:-1]]
    shown = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]] for line in table[2:]}
    recomputed = {metric: [f"{sum(values[metric, language]) / len(values[metric, language]):.2f}"
                           if values[metric, language] else "-" for language in languages]
                  for metric in {metric for metric, _ in values}}
    assert len(stored["records"]) == stored["documents"]
    assert shown == recomputed
