"""The `tracker` command line.

Commands live in small modules of this package, one per area; each parses options,
calls the library and renders the result. This module holds the group and the single
place where library errors become ``Error: ...`` with exit code 1.

A command's module is imported only when that command runs (or when the command list is
shown): `tracker export` then starts without importing the BLE stack, asyncio and the
live display, about a third of the start-up time.
"""

from __future__ import annotations

import importlib
import re
import sys

import click

from tracker import __version__, stop_signals
from tracker.errors import TrackerError

#: Every command, and the module of this package that defines it (with ``@cli.command``).
COMMAND_MODULES = {
    "export": "analyse",
    "summary": "analyse",
    "replay": "analyse",
    "calibrate": "analyse",
    "convert": "files",
    "info": "files",
    "history": "history",
    "live": "live",
    "scan": "live",
    "phyphox-experiment": "live",
    "plot": "report",
    "report": "report",
    "simulate": "simulate",
}

#: Commands that end cleanly on a stop signal themselves (`tracker.stop_signals`).
TAKES_STOP_SIGNALS = {"live"}


class TrackerGroup(click.Group):
    """Click group that loads each command's module on first use and turns library
    errors into one line and exit code 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            # Importing the module registers its commands on this group.
            importlib.import_module(f"{__name__}.{COMMAND_MODULES[cmd_name]}")
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name not in TAKES_STOP_SIGNALS:
            # Held since the program's first line (`tracker.__main__`): back to Python's
            # defaults (Ctrl-C raises KeyboardInterrupt: "Interrupted.", exit 130).
            stop_signals.release()
        return name, command, rest

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            raise click.ClickException(one_line(str(exc))) from exc
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)


def one_line(message: str) -> str:
    """Collapse a message to one line (errors are always shown on a single line), its
    control characters escaped (`terminal_safe`)."""
    return terminal_safe(" ".join(message.split()))


#: Characters that a terminal acts on instead of showing: C0 and C1 controls (escape
#: sequences can move the cursor, retitle the window or hide text), DEL, and the
#: Unicode bidirectional overrides that reorder what is shown.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` for one line of a terminal: every control character shown escaped
    (``\\x1b``, ``\\n``), so text from a file or a radio (a device name, a note) can
    neither break the line nor send the terminal a command."""
    return _UNSAFE.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    return repr(c)[1:-1] if ord(c) < 0x100 else f"\\u{ord(c):04x}"


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tracker")
def cli() -> None:
    """Count reps and cue lumbar flexion and over-extension from lower-back IMUs.

    Flags are technique cues, not injury predictions. Units and frames: docs/frames.md.
    """


def main() -> None:
    cli(prog_name="tracker")
