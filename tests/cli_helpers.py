"""Running the command line in this process, and what a failure on bad input looks like."""

from __future__ import annotations

from click.testing import CliRunner, Result

from tracker.cli import cli


def run(*args: object, obj: object = None) -> Result:
    """``tracker ARGS...`` through click's runner (stdout and stderr kept apart)."""
    return CliRunner().invoke(cli, [str(a) for a in args], obj=obj)


def one_line_error(result: Result) -> str:
    """The stderr of a command refused on bad input: exit code 1, one ``Error: ...``
    line, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def assert_one_line_error(result: Result, expected: str) -> None:
    """`one_line_error` that names ``expected``, and nothing on stdout."""
    assert expected in one_line_error(result), result.stderr
    assert result.stdout == "", result.stdout
