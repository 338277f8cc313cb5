"""Every command has help text and appears in the README; the README's commands run."""

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

import tracker.cli
from tracker.cli import COMMAND_MODULES, cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_has_help_and_is_in_the_readme():
    runner = CliRunner()
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None and command.help, f"{name} has no help text"
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert f"`tracker {name}" in README, f"{name} is missing from the README"


def test_every_command_is_listed_with_its_module():
    # Commands are loaded on first use through COMMAND_MODULES: a command missing there
    # would not exist for `tracker`, one in the wrong module would fail to load.
    for info in pkgutil.iter_modules(tracker.cli.__path__):
        importlib.import_module(f"tracker.cli.{info.name}")
    for name, command in cli.commands.items():
        assert COMMAND_MODULES.get(name) == command.callback.__module__.rsplit(".", 1)[1], name
    assert set(COMMAND_MODULES) == set(cli.commands)


def test_readme_links_exist():
    for link in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in link:
            assert (ROOT / link).exists(), link


def test_ci_runs_exactly_the_readme_test_command():
    block = README.split("<!-- test-command -->")[1].split("<!-- /test-command -->")[0]
    command = [line for line in block.splitlines() if line and not line.startswith("```")]
    assert len(command) == 1 and "pytest" in command[0] and "-m mypy" in command[0]
    assert "README.md" in (ROOT / ".ci" / "run").read_text()


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "tracker" in result.output


def test_python_dash_m_runs():
    out = subprocess.run(
        [sys.executable, "-m", "tracker", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0 and "export" in out.stdout
