"""What every phone source shares: the `BleSession` shape and putting sample blocks on
the session clock, with a `Gap` for every hole in them.

A phone app's samples come from an assembler (`tracker.devices.sensor_logger_push.
PushAssembler`) on seconds since the phone's first sample; `PhoneStream.emit_block`
shifts them by the session's `DeviceClock` (a real phone's `ClockMapper`, fixed by the
first block; an emulated phone's `KnownClock`, the source recording's timeline, unless
the session has a real sensor too: then it is mapped like a real phone), reports
a jump longer than `GAP_S` as a `Gap`, counts the samples and queues the block. The
push receiver (`tracker.devices.phone_source`) and the phyphox poller
(`tracker.devices.phyphox_source`) add how the bodies arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from tracker.devices.ble import LinkEvent, StreamItem, until_done
from tracker.devices.stream_tracking import ClockMapper, DeviceClock, KnownClock, StreamStats
from tracker.recording.model import Gap
from tracker.samples import SensorSamples

#: Samples further apart than this on the phone's clock are a gap in the recording:
#: at any IMU rate a phone offers (>= 50 Hz) that is dozens of missing samples.
GAP_S = 0.5
_DONE = object()


class PhoneStream:
    """One phone at ``placement``: the queue of `StreamItem` s its session iterates over,
    its counters, and the clock of its samples. Subclasses implement `open` / `close`.

    ``source_timeline``: the samples go on the source recording's timeline (an emulated
    phone in a session of emulated sensors only); see `emulated_clock`.
    """

    def __init__(self, placement: str, *, source_timeline: bool) -> None:
        self.placement = placement
        self.source_timeline = source_timeline
        self._stats = StreamStats()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._origin_s = 0.0
        self._clock: DeviceClock = ClockMapper(1.0)
        self._last_time_s: float | None = None
        #: Why the samples stop, when they do (the next gap's reason).
        self._gap_reason = ""
        self._closed = False

    # -- the BleSession shape ------------------------------------------------------------
    @property
    def placements(self) -> tuple[str, ...]:
        return (self.placement,)

    @property
    def stats(self) -> dict[str, StreamStats]:
        return {self.placement: self._stats}

    @property
    def battery_percent(self) -> dict[str, int | None]:
        return {self.placement: None}

    async def open(self, origin_s: float | None = None) -> None:
        """Start the source; ``origin_s``: the session clock's zero (loop time; now
        when None)."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> PhoneStream:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[StreamItem]:
        return until_done(self._queue, _DONE)

    # -- for subclasses -------------------------------------------------------------------
    def _set_origin(self, origin_s: float | None) -> None:
        """The session clock's zero: ``origin_s`` (loop time; a mixed session gives both
        its sources the same one) or now."""
        self._origin_s = asyncio.get_running_loop().time() if origin_s is None else origin_s

    def emulated_clock(self, offset_s: float, speed: float) -> DeviceClock:
        """The clock of an emulated phone whose times are ``offset_s`` before the
        source's: the source's timeline when `source_timeline`, else mapped onto the
        session clock like a real sensor's (running ``speed`` times fast), as a real
        sensor in the same session is."""
        if self.source_timeline:
            return KnownClock(offset_s, lambda: 0.0)
        return ClockMapper(speed)

    def _now_s(self) -> float:
        return asyncio.get_running_loop().time() - self._origin_s

    def _event(self, event: str, detail: str = "") -> None:
        self._queue.put_nowait(LinkEvent(self.placement, self._now_s(), event, detail))

    def _end(self) -> None:
        """Ends the iteration once what is queued was taken."""
        self._queue.put_nowait(_DONE)

    def emit_block(self, block: SensorSamples | None, host_s: float | None = None) -> None:
        """Queue ``block`` (seconds since the phone's first sample) on the session's
        timeline; ``host_s``: when the body carrying its newest sample arrived (now
        when None)."""
        if block is None:
            return
        offset = self._clock.map(
            (float(block.time_s[-1]),), self._now_s() if host_s is None else host_s
        )
        times = block.time_s + offset
        # A hole between blocks, or inside one (a block released after a pause spans it).
        edges = np.concatenate(
            ([times[0] if self._last_time_s is None else self._last_time_s], times)
        )
        for k in np.flatnonzero(np.diff(edges) > GAP_S):
            self._stats.timestamp_gaps += 1
            self._queue.put_nowait(
                Gap(
                    self.placement,
                    float(edges[k]),
                    float(edges[k + 1]),
                    self._gap_reason or "no data from the phone",
                )
            )
            self._gap_reason = ""
        self._last_time_s = float(times[-1])
        self._stats.samples += len(times)
        self._queue.put_nowait(
            SensorSamples(self.placement, times, block.acc_mps2, block.gyro_rad_s)
        )
