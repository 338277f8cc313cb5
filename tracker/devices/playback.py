"""Playing a recording back at ``speed`` times real time, at the source edge.

* `PlaybackClock`: the clock emulated sensors stream by (tracker.devices.emulator); one
  shared by a session's sensors makes them sample the recording together.
* `paced`: a recording's blocks handed on when they would have been streamed (`tracker
  replay`); the analysis it feeds never waits itself.

Both take their time from an injected clock (the event loop's, or ``clock`` / ``sleep``),
so a test runs them on a virtual one without waiting.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tracker.errors import DeviceError
from tracker.samples import SensorSamples


def _check_speed(speed: float) -> float:
    if not (speed > 0 and math.isfinite(speed)):
        raise DeviceError(f"playback speed must be a positive number, got {speed}")
    return float(speed)


class PlaybackClock:
    """Where emulated sensors are in their recording: seconds of grid time (after the
    source's first sample), running ``speed`` times faster than the event loop's clock
    once `start` was called.

    Time is the running loop's (``loop.time()``), so a loop whose clock jumps ahead when
    idle (tests) plays a recording at any speed without waiting for it.
    """

    def __init__(self, speed: float) -> None:
        self.speed = _check_speed(speed)
        self._origin_s: float | None = None  # loop time of grid time 0
        self._started = asyncio.Event()

    @property
    def started(self) -> bool:
        return self._origin_s is not None

    def start(self) -> None:
        """Start playing (grid time 0 is now); later calls change nothing."""
        if self._origin_s is None:
            self._origin_s = asyncio.get_running_loop().time()
            self._started.set()

    def now_s(self) -> float:
        """Grid time now (0 before the start)."""
        if self._origin_s is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._origin_s) * self.speed

    async def sleep_until(self, t_s: float) -> None:
        """Return once the clock has started and reads at least ``t_s``."""
        await self._started.wait()
        assert self._origin_s is not None
        delay_s = t_s / self.speed - (asyncio.get_running_loop().time() - self._origin_s)
        if delay_s > 0:
            await asyncio.sleep(delay_s)


def paced(
    blocks: Iterable[SensorSamples],
    speed: float,
    start_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> Iterator[SensorSamples]:
    """``blocks`` (in time order) handed on as a sensor would have streamed them at
    ``speed`` times real time: a block whose newest sample is at ``t`` on the
    recording's timeline comes ``(t - start_s) / speed`` seconds (of ``clock``) after
    the iteration began. A consumer slower than that gets the next block at once.
    """
    speed = _check_speed(speed)
    began_s = clock()
    for block in blocks:
        if len(block):
            delay_s = (float(block.time_s[-1]) - start_s) / speed - (clock() - began_s)
            if delay_s > 0:
                sleep(delay_s)
        yield block


def load_placement_samples(path: Path, placement: str) -> SensorSamples:
    """The samples an emulated sensor at ``placement`` streams from a recording file.

    Takes that placement's sensor; a single-sensor recording serves any placement.
    """
    from tracker.recording.load import load_recording

    recording = load_recording(path)
    if placement in recording.sensors:
        samples = recording.sensors[placement]
    elif len(recording.sensors) == 1:
        samples = next(iter(recording.sensors.values()))
    else:
        raise DeviceError(
            f"{path} has no {placement} sensor (it has {', '.join(recording.placements)})"
        )
    if samples.placement != placement:
        samples = SensorSamples(placement, samples.time_s, samples.acc_mps2, samples.gyro_rad_s)
    return samples
