"""Every command has help text and appears in the README; the README's commands run."""

import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tracker.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_has_help_and_is_in_the_readme():
    runner = CliRunner()
    for name, command in cli.commands.items():
        assert command.help, f"{name} has no help text"
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert f"`tracker {name}" in README, f"{name} is missing from the README"


def test_readme_links_exist():
    for link in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in link:
            assert (ROOT / link).exists(), link


def test_ci_runs_exactly_the_readme_test_command():
    block = README.split("<!-- test-command -->")[1].split("<!-- /test-command -->")[0]
    command = [line for line in block.splitlines() if line and not line.startswith("```")]
    assert len(command) == 1 and "pytest" in command[0]
    assert "README.md" in (ROOT / ".ci" / "run").read_text()


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "tracker" in result.output


def test_python_dash_m_runs():
    out = subprocess.run(
        [sys.executable, "-m", "tracker", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0 and "export" in out.stdout
