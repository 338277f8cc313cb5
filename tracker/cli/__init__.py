"""The `tracker` command line.

Commands live in small modules of this package, one per area; each parses options,
calls the library and renders the result. This module holds the group and the single
place where library errors become ``Error: ...`` with exit code 1.
"""

from __future__ import annotations

import sys

import click

from tracker import __version__
from tracker.errors import TrackerError


class TrackerGroup(click.Group):
    """Click group that turns library errors into one line and exit code 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            raise click.ClickException(one_line(str(exc))) from exc
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)


def one_line(message: str) -> str:
    """Collapse a message to one line (errors are always shown on a single line)."""
    return " ".join(message.split())


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tracker")
def cli() -> None:
    """Count reps and cue lumbar flexion and over-extension from lower-back IMUs.

    Flags are technique cues, not injury predictions. Units and frames: docs/frames.md.
    """


def _register() -> None:
    # Imported for their side effect of adding commands to `cli`.
    from tracker.cli import analyse, files, history, live, report, simulate  # noqa: F401


_register()


def main() -> None:
    cli(prog_name="tracker")
