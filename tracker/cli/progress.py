"""A plain-text progress display on stderr for commands that work through many files."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

import click


class Progress:
    """One status line redrawn in place with ``\\r`` on a terminal; one line per update
    otherwise (logs and pipes keep every step). `message` prints a line that stays (an
    error, a note) without garbling the status line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self._width = 0  # length of the status line on screen (tty only)

    def update(self, line: str) -> None:
        if not self.tty:
            click.echo(line, file=self.stream)
            return
        # A line wider than the terminal would wrap, and \r only goes back to its last
        # row: cut it. Pad with spaces over the rest of a longer previous line.
        line = line[: max(1, shutil.get_terminal_size().columns - 1)]
        click.echo("\r" + line.ljust(self._width), file=self.stream, nl=False)
        self._width = len(line)

    def message(self, line: str) -> None:
        self._clear()
        click.echo(line, file=self.stream)

    def close(self) -> None:
        """End the status line (the last status stays visible)."""
        if self.tty and self._width:
            click.echo("", file=self.stream)
            self._width = 0

    def _clear(self) -> None:
        if self.tty and self._width:
            click.echo("\r" + " " * self._width + "\r", file=self.stream, nl=False)
            self._width = 0
