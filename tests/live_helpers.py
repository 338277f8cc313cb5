"""Shared pieces of the live-session tests: a short simulated dual-sensor source, and an
event loop on a virtual clock that runs emulated sessions without waiting for them."""

from __future__ import annotations

import asyncio
import selectors
import types
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tracker.recording.load import save_recording
from tracker.sim import SessionConfig, SetSpec, simulate_session

T = TypeVar("T")

#: Emulated sensors play at real time: on the virtual clock that costs no waiting.
SPEED = 1.0
#: One set of six swings: rep 3 flexes past the limit, rep 5 over-extends.
SOURCE_CONFIG = SessionConfig(
    seed=3,
    sets=(SetSpec("kettlebell_swing", 6, {"flexion": (3,), "overextension": (5,)}),),
    rate_hz=104.0,
    rest_s=(5.0, 5.0),
    end_standing_s=2.0,
)


def assert_same_reps(reps: Sequence[Any], reference: Sequence[Any], period_s: float) -> None:
    """``reps`` are ``reference``'s: as many, each boundary within one sample period
    (``period_s``), the same flexion flag."""
    assert len(reps) == len(reference)
    for rep, want in zip(reps, reference, strict=True):
        assert abs(rep.start_s - want.start_s) <= period_s
        assert abs(rep.end_s - want.end_s) <= period_s
        assert rep.flexion_under_load == want.flexion_under_load


def write_source(directory: Path) -> Path:
    """The simulated session saved as a native recording in ``directory``."""
    path = directory / "source.trk"
    save_recording(simulate_session(SOURCE_CONFIG).recording, path)
    return path


class _JumpingSelector(selectors.DefaultSelector):
    """Polls without blocking; when nothing is ready and the loop would sleep until its
    next timer, moves the loop's virtual clock to that timer instead."""

    def __init__(self, loop: VirtualClockLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if timeout is None:  # no timer at all: only another thread can wake the loop
            return super().select(None)
        self._loop.virtual_time_s += timeout
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock (``loop.time()``) moves only when every task waits.

    Everything timed by the loop (emulated sensors' pacing, reconnect back-off, the
    session's duration and status ticks, timeouts) runs on it: an emulated session plays
    at any ``speed`` in the CPU time it needs, and the time its work takes is never
    counted against the sensors, so nothing in it can lose a race with the wall clock.
    Real I/O (files, signals through the wake-up pipe) still happens as it comes; work
    in another thread would take no virtual time (the live path starts none).
    """

    def __init__(self) -> None:
        self.virtual_time_s = 0.0
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self.virtual_time_s


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on a `VirtualClockLoop`."""
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        return runner.run(main)


class _VirtualAsyncio(types.ModuleType):
    """The asyncio module, with `run` on a virtual clock (for code under test that calls
    ``asyncio.run`` itself, such as the CLI)."""

    def __init__(self) -> None:
        super().__init__("asyncio")

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
        return run_virtual(main)


#: Patch a module's ``asyncio`` with this to run its event loops on a virtual clock.
VIRTUAL_ASYNCIO = _VirtualAsyncio()
