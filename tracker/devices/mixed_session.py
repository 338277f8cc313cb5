"""A phone at one placement and a BLE sensor at the other, as one live source.

`MixedSession` has the shape of `tracker.devices.ble.BleSession` (placements, stats,
devices, battery_percent, open / close, async iteration of `StreamItem` s). It runs a
`BleSession` (the BLE placement) and a phone session (`tracker.devices.phone_source.
PhoneSession` or `tracker.devices.phyphox_source.PhyphoxSession`, the other one) side by
side and hands on their items as they come, in one stream:

* one clock: both sources are opened with the same session-clock zero, so a real
  sensor's and a real phone's device times (each put on the session clock by its
  `ClockMapper`) share an origin; the pipeline's cross-correlation of the two sensors'
  sagittal gyro then takes out what the arrival times leave (link latency). When every
  sensor is emulated, both sides already put their samples on the source recording's
  timeline (`KnownClock`), and the caller gives the emulated phone the emulated BLE
  sensor's `PlaybackClock`, so both play the recording in step;
* opening: both sides open at once; when one fails, the other is closed (a real BLE
  scan is cancelled rather than waited for, ``cancel_ble_open``) and the failure, a
  one-line `DeviceError`, is raised;
* a link event, a gap or the end of one side's stream does not stop the other: the
  iteration ends when both ended (or `close` ended them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tracker.devices.ble import BleSession, StreamItem, until_done
from tracker.devices.phone_source import PhoneSession
from tracker.devices.phyphox_source import PhyphoxSession
from tracker.devices.stream_tracking import StreamStats
from tracker.errors import DeviceError
from tracker.recording.model import DeviceInfo
from tracker.units import PLACEMENTS

_DONE = object()


class MixedSession:
    """``ble`` and ``phone`` (at different placements) as one source; see the module
    docstring. ``cancel_ble_open``: the BLE side may be cancelled while opening (a real
    sensor; an emulated one's bumble GATT client does not survive it).
    ``source_timeline``: every sensor is emulated (both sides on the source's timeline).
    """

    def __init__(
        self,
        ble: BleSession,
        phone: PhoneSession | PhyphoxSession,
        *,
        cancel_ble_open: bool,
        source_timeline: bool,
    ) -> None:
        both = [*ble.placements, phone.placement]
        if len(set(both)) != len(both):
            raise DeviceError(f"the phone and a BLE sensor are both at {phone.placement}")
        self.ble = ble
        self.phone = phone
        self.cancel_ble_open = cancel_ble_open
        self.source_timeline = source_timeline
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pumps: list[asyncio.Task[None]] = []
        self._ender: asyncio.Task[None] | None = None
        self._errors: list[DeviceError] = []
        self._closed = False

    # -- the BleSession shape ------------------------------------------------------------
    @property
    def placements(self) -> tuple[str, ...]:
        mine = {*self.ble.placements, self.phone.placement}
        return tuple(p for p in PLACEMENTS if p in mine)

    @property
    def stats(self) -> dict[str, StreamStats]:
        return {**self.ble.stats, **self.phone.stats}

    @property
    def devices(self) -> dict[str, DeviceInfo]:
        return {**self.ble.devices, **self.phone.devices}

    @property
    def battery_percent(self) -> dict[str, int | None]:
        return {**self.ble.battery_percent, **self.phone.battery_percent}

    @property
    def requests_rejected(self) -> int:
        return self.phone.requests_rejected

    async def __aenter__(self) -> MixedSession:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[StreamItem]:
        return self._items()

    async def _items(self) -> AsyncIterator[StreamItem]:
        async for item in until_done(self._queue, _DONE):
            yield item
        if self._errors:
            raise self._errors[0]

    # -- opening and closing --------------------------------------------------------------
    async def open(self, origin_s: float | None = None) -> None:
        """Open both sides with one clock zero (``origin_s``, loop time; now when None);
        on a failure of either, close both and raise it."""
        loop = asyncio.get_running_loop()
        origin_s = loop.time() if origin_s is None else origin_s
        ble = loop.create_task(self.ble.open(origin_s))
        phone = loop.create_task(self.phone.open(origin_s))
        try:
            try:
                await asyncio.wait((ble, phone), return_when=asyncio.FIRST_EXCEPTION)
            finally:
                await _settle(ble, phone, cancel_ble=self.cancel_ble_open)
            # (Each one retrieved: asyncio would log a second failure as never retrieved.)
            errors = [t.exception() for t in (ble, phone) if not t.cancelled()]
            failed = [e for e in errors if e is not None]
            if failed:
                raise failed[0]
        except BaseException:
            await self._close_sides()
            raise
        self._pumps = [loop.create_task(self._pump(side)) for side in (self.ble, self.phone)]
        self._ender = loop.create_task(self._end_when_pumped())

    async def _pump(self, side: BleSession | PhoneSession | PhyphoxSession) -> None:
        try:
            async for item in side:
                self._queue.put_nowait(item)
        except DeviceError as exc:  # a stream that failed: said once both ended
            self._errors.append(exc)

    async def _end_when_pumped(self) -> None:
        await asyncio.gather(*self._pumps)
        self._queue.put_nowait(_DONE)

    async def _close_sides(self) -> None:
        # The phone first: its closing is quick (stop listening / polling), a BLE
        # sensor's takes a round trip.
        try:
            await self.phone.close()
        finally:
            await self.ble.close()

    async def close(self) -> None:
        """Close both sides; ends the iteration once what they queued was handed on.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._close_sides()
        if self._ender is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._ender
        self._queue.put_nowait(_DONE)


async def _settle(ble: asyncio.Task[None], phone: asyncio.Task[None], *, cancel_ble: bool) -> None:
    """Both openings over: one still running after the other failed (or the opening
    was cancelled) is cancelled where allowed, else waited for."""
    waits: list[asyncio.Task[None]] = []
    for task, cancel in ((ble, cancel_ble), (phone, True)):
        if not task.done():
            if cancel:
                task.cancel()
            waits.append(task)
    if waits:
        await asyncio.wait(waits)
