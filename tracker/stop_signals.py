"""The signals that ask the program to stop: Ctrl-C (SIGINT), SIGTERM (``kill``, a
service manager stopping it) and SIGHUP (its terminal was closed).

Python acts on Ctrl-C by raising `KeyboardInterrupt` wherever the program happens to
be, and on SIGTERM and SIGHUP by dying on the spot. For `tracker live` both lose data:
a `KeyboardInterrupt` that lands while a module initialises becomes an ``ImportError``
traceback, one that lands in a finaliser is printed as "Exception ignored" and dropped
(the session then runs on to its end), and dying skips the recording's last flush and
end record. So the program holds these signals (`hold`) from its first line, before
the command line is imported (which takes most of the first half second): a signal is
then only noted. Once the command is known, it either takes them over
(`stop_requests`: `tracker live` ends its session cleanly on each) or releases them
(`release`): they act as Python's defaults again, and one noted in the meantime is
delivered at once, exactly as if it had arrived then.

Handlers can only be set from the main thread; elsewhere these functions leave the
signals as they are.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

# This module is imported first of all (`tracker.__main__`): only what is needed, so
# that the signals are held as early as possible (`typing` alone takes ~2 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Each stop signal (those the system has: Windows has no SIGHUP) and why it came, in
#: the user's words.
STOP_SIGNALS: dict[int, str] = {
    getattr(signal, name): why
    for name, why in (
        ("SIGINT", "Ctrl-C"),
        ("SIGTERM", "SIGTERM: the process was asked to stop"),
        ("SIGHUP", "SIGHUP: the terminal was closed"),
    )
    if hasattr(signal, name)
}

#: Signals noted while no one listens, in order of arrival.
_noted: list[int] = []
#: Who is told of a stop signal now (`stop_requests`), if anyone.
_listener: Callable[[int], None] | None = None
#: The handlers `hold` replaced, to give back on `release`.
_before_hold: dict[int, Any] = {}


def _note(signum: int, frame: object) -> None:
    # Runs in the main thread between two Python steps of whatever runs: only note it.
    if _listener is None:
        _noted.append(signum)
    else:
        _listener(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def hold() -> None:
    """From now on only note stop signals (see the module docstring)."""
    if not _main_thread() or _before_hold:
        return
    for signum in STOP_SIGNALS:
        _before_hold[signum] = signal.signal(signum, _note)


def release() -> None:
    """Undo `hold`: each stop signal acts as before it, and the first one noted while
    held (if any) is delivered now."""
    if not _main_thread() or not _before_hold:
        return
    _restore(_before_hold)
    _before_hold.clear()
    _deliver_noted()


def _restore(handlers: dict[int, Any]) -> None:
    for signum, handler in handlers.items():
        # (None: a handler set outside Python, which cannot be put back; use the default)
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _deliver_noted() -> None:
    noted = _noted[:1]
    _noted.clear()
    if noted:
        signal.raise_signal(noted[0])


@contextlib.contextmanager
def stop_requests(on_stop: Callable[[int], None]) -> Iterator[None]:
    """While the block runs, each stop signal calls ``on_stop(signum)``; one noted
    before the block (while held) is passed on at its start.

    ``on_stop`` runs in the main thread between two Python steps of whatever runs at
    that moment (inside an event loop, say): it must be short and must not raise. After
    the block the signals act as they did before `hold` (or before the block).
    """
    global _listener
    if not _main_thread():
        yield
        return
    before = (
        dict(_before_hold)
        if _before_hold
        else {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    )
    for signum in STOP_SIGNALS:
        signal.signal(signum, _note)
    _before_hold.clear()
    _listener = on_stop
    try:
        noted, _noted[:] = list(_noted), []
        for signum in noted:
            on_stop(signum)
        yield
    finally:
        _listener = None
        _restore(before)
        _deliver_noted()  # (one that came while the block was ending)
