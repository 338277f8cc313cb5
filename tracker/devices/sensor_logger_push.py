"""Sensor Logger's HTTP push, decoded: pure functions and state, no I/O.

While it records, the app POSTs ``application/json`` once per batch period (set in the
app) to a URL the user enters (github.com/tszheichoi/awesome-sensor-logger, PUSHING.md)::

    {"messageId": 0, "sessionId": "...", "deviceId": "...",
     "payload": [{"name": "accelerometer", "time": 1698501144401773000,
                  "values": {"x": ..., "y": ..., "z": ...}}, ...]}

``messageId`` increases by one per message; ``time`` is UTC epoch nanoseconds (a
string of digits is accepted too: some receivers in the wild parse it so). PUSHING.md
leaves the fields after ``time`` to each sensor; the receivers published alongside the
app read the motion sensors' ``values.x``, ``.y``, ``.z``, in the units and axes of the
file export, so the conventions of
`tracker.recording.sensor_logger` apply: Android's ``accelerometer`` excludes gravity
(specific force = accelerometer + gravity), iOS reports the opposite sign unless the
app's "Standardise Units & Frames" is on, ``gyroscope`` is rad/s on both. A push
message does not say which platform sent it, so the user says so with the DEVICE name
(`Convention`). Other sensors in the payload (location, battery, ...) are ignored.

* `decode_message` checks one body and returns its motion samples (`PushMessage`);
  it raises `InputError` naming the field at fault.
* `PushAssembler` puts messages back in ``messageId`` order (they may arrive out of
  order or twice), keeps each stream sorted with repeated times dropped, and releases
  samples on the accelerometer's clock with the gyroscope (and gravity) interpolated
  onto it, exactly as the file importer does (`resample_onto`), once every stream has
  passed them: the same samples whatever the batching.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from tracker.errors import InputError
from tracker.recording.phone_files import Stream, resample_onto
from tracker.samples import SensorSamples

#: The protocol name of push bodies kept in a native recording (`RawPacket.protocol`).
PROTOCOL = "sensor_logger_push"
ACCELEROMETER = "accelerometer"
GRAVITY = "gravity"
GYROSCOPE = "gyroscope"
TOTAL = "totalacceleration"
#: The payload names used here; the rest are other sensors and are skipped.
MOTION_NAMES = (ACCELEROMETER, GRAVITY, GYROSCOPE, TOTAL)
NS_PER_S = 1_000_000_000
#: Samples kept before the newest released one, for interpolating the next ones: a
#: gyroscope at five times the accelerometer's rate needs a few; this many also keep
#: the median period of `resample_onto`'s hole check meaningful.
HISTORY_SAMPLES = 64


class Convention(Enum):
    """How the phone's accelerometer relates to specific force (docs/frames.md)."""

    #: Android, or iOS with "Standardise Units & Frames" on: f = accelerometer + gravity.
    ANDROID = "android"
    #: iOS as recorded by default: f = -(accelerometer + gravity).
    IOS = "ios"


@dataclass(frozen=True)
class PushMessage:
    """The motion samples of one push body: per payload name, epoch-nanosecond times
    (int64, as sent, unsorted) and (n, 3) values."""

    message_id: int
    session_id: str
    device_id: str
    streams: dict[str, tuple[np.ndarray, np.ndarray]]

    @property
    def n_samples(self) -> int:
        return sum(len(t) for t, _ in self.streams.values())


def _reject_constant(name: str) -> float:
    # json accepts NaN and Infinity by default; a sample with one is not a measurement.
    raise ValueError(f"{name} is not a number")


def _time_ns(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise InputError(f"{where}: 'time' must be epoch nanoseconds, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    raise InputError(f"{where}: 'time' must be epoch nanoseconds, got {value!r}")


def _xyz(values: Any, where: str) -> tuple[float, float, float]:
    if not isinstance(values, dict):
        raise InputError(f"{where}: 'values' must be an object with x, y, z")
    out = []
    for axis in ("x", "y", "z"):
        v = values.get(axis)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InputError(f"{where}: values.{axis} must be a finite number, got {v!r}")
        out.append(float(v))
    return out[0], out[1], out[2]


def decode_message(body: bytes) -> PushMessage:
    """One push body as a `PushMessage`; `InputError` when it is not one (not JSON, a
    missing or mistyped field, a NaN or infinite value), naming where."""
    try:
        doc = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"the body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InputError("the body must be a JSON object with messageId and payload")
    message_id = doc.get("messageId")
    if isinstance(message_id, bool) or not isinstance(message_id, int) or message_id < 0:
        raise InputError(f"messageId must be a whole number >= 0, got {message_id!r}")
    payload = doc.get("payload")
    if not isinstance(payload, list):
        raise InputError("payload must be a list of samples")
    times: dict[str, list[int]] = {}
    values: dict[str, list[tuple[float, float, float]]] = {}
    for i, entry in enumerate(payload):
        where = f"payload[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where} must be an object with name, time, values")
        name = entry.get("name")
        if not isinstance(name, str):
            raise InputError(f"{where}: 'name' must be a string")
        name = name.lower()
        if name not in MOTION_NAMES:
            continue
        where = f"{where} ({name})"
        times.setdefault(name, []).append(_time_ns(entry.get("time"), where))
        values.setdefault(name, []).append(_xyz(entry.get("values"), where))
    streams = {
        name: (np.asarray(times[name], dtype=np.int64), np.asarray(values[name], dtype=float))
        for name in times
    }
    return PushMessage(
        message_id,
        str(doc.get("sessionId", "")),
        str(doc.get("deviceId", "")),
        streams,
    )


@dataclass
class _Buffer:
    """One stream's released samples not yet used up: sorted epoch-ns times, values."""

    time_ns: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    values: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))

    def add(self, time_ns: np.ndarray, values: np.ndarray) -> int:
        """Merge samples in; returns how many repeated an existing time (dropped)."""
        t = np.concatenate([self.time_ns, time_ns])
        v = np.concatenate([self.values, values.reshape(-1, 3)])
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        keep = np.ones(len(t), dtype=bool)
        keep[1:] = t[1:] != t[:-1]
        self.time_ns, self.values = t[keep], v[keep]
        return int(len(t) - np.count_nonzero(keep))

    @property
    def newest_ns(self) -> int | None:
        return int(self.time_ns[-1]) if len(self.time_ns) else None

    def stream(self, origin_ns: int) -> Stream:
        return Stream((self.time_ns - origin_ns) / NS_PER_S, self.values)

    def trim_before(self, time_ns: int) -> None:
        """Forget all but `HISTORY_SAMPLES` samples before ``time_ns``."""
        first = max(0, int(np.searchsorted(self.time_ns, time_ns)) - HISTORY_SAMPLES)
        self.time_ns, self.values = self.time_ns[first:], self.values[first:]


@dataclass
class AssemblerStats:
    messages: int = 0
    duplicate_messages: int = 0  # a messageId seen before
    late_messages: int = 0  # older than messages already skipped past: dropped
    skipped_messages: int = 0  # never arrived (given up waiting; see `skip_missing`)
    repeated_samples: int = 0  # a time already held for that stream


class PushAssembler:
    """Push messages in, `SensorSamples` of ``placement`` out (see the module docstring).

    `add` takes a decoded message in any order; `take` returns the samples every
    stream has covered so far (None when none), on seconds since the first sample
    (``origin_ns``, epoch nanoseconds). `take(final=True)` at the end also releases
    what only the accelerometer covers (still with gyroscope data on both sides).
    Messages after a missing one wait until it arrives or `skip_missing` gives up on it.
    """

    def __init__(self, placement: str, convention: Convention) -> None:
        self.placement = placement
        self.convention = convention
        self.stats = AssemblerStats()
        self.origin_ns: int | None = None
        # The app numbers a session's messages from 0: a first message with a higher id
        # waits for those before it (or for `skip_missing`, when the session had
        # started before we listened).
        self._next_id = 0
        self._waiting: dict[int, PushMessage] = {}
        self._buffers: dict[str, _Buffer] = {}
        self._last_ns: int | None = None  # newest accelerometer time released
        self._skipped_ids: set[int] = set()

    @property
    def waiting(self) -> int:
        """Messages held back behind a missing one."""
        return len(self._waiting)

    def add(self, message: PushMessage) -> None:
        self.stats.messages += 1
        mid = message.message_id
        if mid in self._waiting:
            self.stats.duplicate_messages += 1
            return
        if mid < self._next_id:
            # Skipped as lost, or seen already: either way its samples would land
            # behind what was released.
            if mid in self._skipped_ids:
                self.stats.late_messages += 1
            else:
                self.stats.duplicate_messages += 1
            return
        self._waiting[mid] = message
        self._release_in_order()

    def _release_in_order(self) -> None:
        while self._next_id in self._waiting:
            message = self._waiting.pop(self._next_id)
            self._next_id += 1
            for name, (t, v) in message.streams.items():
                if len(t) == 0:
                    continue
                if self.origin_ns is None:
                    self.origin_ns = int(t.min())
                buffer = self._buffers.setdefault(name, _Buffer())
                self.stats.repeated_samples += buffer.add(t, v)

    def skip_missing(self) -> int:
        """Give up on the messages missing before the held ones; returns how many."""
        if not self._waiting:
            return 0
        first = min(self._waiting)
        skipped = first - self._next_id
        self.stats.skipped_messages += skipped
        self._skipped_ids.update(range(self._next_id, first))
        self._next_id = first
        self._release_in_order()
        return skipped

    def _acc_names(self) -> tuple[str, ...]:
        if TOTAL in self._buffers:
            return (TOTAL,)
        return (ACCELEROMETER, GRAVITY)

    def take(self, *, final: bool = False) -> SensorSamples | None:
        """The samples ready now (see the class docstring), or None."""
        if self.origin_ns is None:
            return None
        acc_names = self._acc_names()
        needed = (*acc_names, GYROSCOPE)
        # Interpolating a stream needs two of its samples (one alone has no period).
        if any(n not in self._buffers or len(self._buffers[n].time_ns) < 2 for n in needed):
            return None
        base = self._buffers[acc_names[0]]
        ends = [self._buffers[n].newest_ns for n in needed]
        known = [e for e in ends if e is not None]
        horizon = max(known) if final else min(known)
        t_ns = base.time_ns
        start = 0 if self._last_ns is None else int(np.searchsorted(t_ns, self._last_ns, "right"))
        stop = int(np.searchsorted(t_ns, horizon, "right"))
        if stop <= start:
            return None
        origin = self.origin_ns
        target_s = (t_ns[start:stop] - origin) / NS_PER_S
        acc = base.values[start:stop]
        covered = np.ones(len(target_s), dtype=bool)
        if acc_names[0] == ACCELEROMETER:
            g_at, ok = resample_onto(target_s, self._buffers[GRAVITY].stream(origin))
            acc = acc + g_at
            covered &= ok
        if self.convention is Convention.IOS and acc_names[0] == ACCELEROMETER:
            acc = -acc
        gyro, ok = resample_onto(target_s, self._buffers[GYROSCOPE].stream(origin))
        covered &= ok
        self._last_ns = int(t_ns[stop - 1])
        for buffer in self._buffers.values():
            buffer.trim_before(self._last_ns)
        if not covered.any():
            return None
        return SensorSamples(self.placement, target_s[covered], acc[covered], gyro[covered])
