"""Spoken cues through the system's text-to-speech program, when there is one.

Never required: `find_speech_command` returns None when no known program is on PATH,
and the caller falls back to the terminal bell.
"""

from __future__ import annotations

import shutil
import subprocess

#: Programs tried in order, with the arguments that make them speak fast and short.
_PROGRAMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("espeak-ng", ("-s", "190")),
    ("espeak", ("-s", "190")),
    ("say", ()),  # macOS
    ("spd-say", ()),  # speech-dispatcher (Linux desktops)
)


def find_speech_command() -> list[str] | None:
    """The command line (without the text) of the first text-to-speech program found."""
    for name, args in _PROGRAMS:
        path = shutil.which(name)
        if path is not None:
            return [path, *args]
    return None


class Speaker:
    """Speaks short phrases without blocking; a phrase still playing is not interrupted,
    the new one is dropped (a cue that arrives while the last is spoken is stale)."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self._proc: subprocess.Popen[bytes] | None = None

    def say(self, text: str) -> bool:
        """Start speaking ``text``; False when the previous phrase is still playing."""
        if self._proc is not None and self._proc.poll() is None:
            return False
        try:
            self._proc = subprocess.Popen(
                [*self.command, text],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Wait briefly for the last phrase (so it is not cut off), then reap it."""
        if self._proc is not None:
            try:
                self._proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
