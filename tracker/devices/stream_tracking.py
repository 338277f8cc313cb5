"""Bookkeeping of a live sensor stream: lost packets, timestamp gaps, device -> host clock.

Pure, I/O-free helpers used by the BLE session (tracker.devices.ble). Times are seconds;
the device clock is the sensor's own (docs/frames.md, "Timelines").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

#: A jump between consecutive samples longer than this many nominal periods is a gap.
GAP_PERIODS = 1.5


@dataclass
class StreamStats:
    """Counters of one sensor's stream (cumulative over reconnects)."""

    packets: int = 0  # notifications received on the data characteristic
    decoded_packets: int = 0
    samples: int = 0
    lost_packets: int = 0  # from sequence-counter gaps (protocols that have one)
    timestamp_gaps: int = 0  # jumps in device time longer than GAP_PERIODS periods
    lost_samples_estimate: int = 0  # samples missing according to device time
    malformed: int = 0  # payloads the decoder rejected (any reason)
    truncated: int = 0  # ... of which shorter than the protocol says
    oversized: int = 0  # ... of which longer than the protocol says
    disconnects: int = 0
    reconnects: int = 0
    mtu: int | None = None


class SequenceTracker:
    """Counts packets lost from a wrapping sequence counter (uint16 by default).

    `update` returns how many packets are missing between the previous and this one.
    A repeated or older counter (a duplicate) counts nothing. Call `reset` after a
    reconnect: the loss across a disconnect is reported as a `Gap`, not as lost packets.
    """

    def __init__(self, modulus: int = 1 << 16) -> None:
        self.modulus = modulus
        self._last: int | None = None

    def reset(self) -> None:
        self._last = None

    def update(self, seq: int) -> int:
        if self._last is None:
            self._last = seq
            return 0
        step = (seq - self._last) % self.modulus
        if step == 0 or step > self.modulus // 2:
            return 0  # duplicate or late packet: not a loss
        self._last = seq
        return step - 1


class TimestampGapTracker:
    """Finds jumps in a sensor's device time longer than `GAP_PERIODS` sample periods.

    The period is a running mean of the recent in-packet intervals, or of the steps
    between packets of one sample each (so no rate is assumed);
    `update` takes one packet's device times and returns the estimated number of
    missing samples before it (0 when contiguous or unknown).
    """

    def __init__(self) -> None:
        self._last_time_s: float | None = None
        self._period_s: float | None = None

    def reset(self) -> None:
        self._last_time_s = None

    @property
    def period_s(self) -> float | None:
        return self._period_s

    def update(self, first_s: float, last_s: float, n: int) -> int:
        period: float | None = None
        if n > 1 and last_s > first_s:
            period = (last_s - first_s) / (n - 1)
        elif n == 1 and self._last_time_s is not None and first_s > self._last_time_s:
            # One sample per packet (Movella DOT): the step from the previous packet is a
            # period, unless samples are missing; a step that looks like a gap is not one.
            step_s = first_s - self._last_time_s
            if self._period_s is None or step_s <= GAP_PERIODS * self._period_s:
                period = step_s
        if period is not None:
            # Smooth a little: one jittery packet must not move the threshold much.
            self._period_s = (
                period if self._period_s is None else 0.9 * self._period_s + 0.1 * period
            )
        missing = 0
        if self._last_time_s is not None and self._period_s:
            dt = first_s - self._last_time_s
            if dt > GAP_PERIODS * self._period_s:
                missing = max(1, round(dt / self._period_s) - 1)
        self._last_time_s = last_s
        return missing


class ClockMapper:
    """Maps a sensor's device clock onto the session's host clock.

    ``session_time = device_time + offset``. The offset is fixed by the first packet
    (host arrival time x ``speed`` minus the device time of its newest sample), so each
    sensor keeps its own clock's rate and spacing (a later alignment step refines the
    offset between two sensors; docs/frames.md "Timelines"). It is kept across
    reconnects, since the device clock runs on, and re-anchored when the device clock
    jumps backwards (a reboot). ``speed`` is how much faster than real time the device
    runs (emulated devices); 1 for real sensors.

    `offset_error_s` reports, for diagnostics, the newest packet's lateness against the
    anchor: a growing value means the clocks drift apart.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self.offset_s: float | None = None
        self.reanchors = 0
        self.offset_error_s = 0.0
        self._last_device_s: float | None = None

    def map(self, device_times_s: Sequence[float], host_arrival_s: float) -> float:
        """Offset to add to this packet's device times (anchors on the first packet)."""
        newest = float(device_times_s[-1])
        host_scaled = host_arrival_s * self.speed
        if self.offset_s is None or (
            self._last_device_s is not None and newest < self._last_device_s - 1.0
        ):
            if self.offset_s is not None:
                self.reanchors += 1
            self.offset_s = host_scaled - newest
        self._last_device_s = newest
        self.offset_error_s = (host_scaled - newest) - self.offset_s
        return self.offset_s

    def timeline_now_s(self, host_now_s: float) -> float:
        """Where the mapped timeline is at session-clock time ``host_now_s``."""
        return host_now_s * self.speed


class KnownClock:
    """A device clock known to run on the recording's timeline, shifted by ``offset_s``.

    An emulated sensor replaying a recording has one: its clock reads a known value at
    the source's first sample and runs with the source, so its samples go back on the
    source's own timeline exactly, and two emulated sensors of one recording line up as
    the recording does (no estimate from arrival times, which at ``--speed`` X would put
    X times the link's latency between them). ``now_s`` says where the device's stream is
    on that timeline now (for a gap that no later sample closes).
    """

    def __init__(self, offset_s: float, now_s: Callable[[], float]) -> None:
        self.offset_s = offset_s
        self._now_s = now_s

    def map(self, device_times_s: Sequence[float], host_arrival_s: float) -> float:
        return self.offset_s

    def timeline_now_s(self, host_now_s: float) -> float:
        return self._now_s()


class DeviceClock(Protocol):
    """How a link puts device times on the recording's timeline: `ClockMapper` (a real
    sensor, mapped onto the session clock) or `KnownClock` (an emulated one)."""

    def map(self, device_times_s: Sequence[float], host_arrival_s: float) -> float:
        """The offset to add to this packet's device times."""
        ...

    def timeline_now_s(self, host_now_s: float) -> float:
        """Where the timeline is at session-clock time ``host_now_s``."""
        ...
