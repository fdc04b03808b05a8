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
    assert "chromium" in ci_commands[0] and ci_commands[-1].endswith("python -m pytest -q")


def test_readme_main_job_command_is_the_demo():
    readme_commands = _bash_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    (main_job,) = [c for c in readme_commands if c.startswith("python3 -m venv") and "macro-bench demo" in c]
    assert "pip install torch==2.13.0" in main_job
