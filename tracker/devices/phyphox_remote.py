"""phyphox's remote access, decoded: pure functions, no I/O.

With remote access on, phyphox (RWTH Aachen; Android and iOS) serves its running
experiment over HTTP (phyphox-docs ``docs/remote-interface/openapi.yaml``, checked
against phyphox-android ``RemoteServer.java``):

* ``/config``: the experiment: ``buffers`` (``name``, ``size``) and ``inputs``, one per
  sensor, ``{"source": "accelerometer", "outputs": [{"x": "accX"}, ..., {"t":
  "acc_time"}]}``. The buffer names are the experiment author's: `parse_config` finds
  the accelerometer ("Acceleration with g": specific force in m/s^2, +9.81 up at rest)
  and the gyroscope (rad/s) among the inputs, never assuming names.
* ``/get?acc_time=T&accX=T%7Cacc_time&...``: per buffer the values whose time buffer
  holds more than T (the ``|`` form makes a buffer follow its time buffer; the server
  nudges T up by one unit in the 8th significant digit, the precision it prints), with
  ``updateMode`` ``partial``; ``full`` after the data was cleared (the whole buffer),
  ``single`` for a bare name (its last value). Non-finite values come as ``null``.
  ``status``: ``session`` (changes when the experiment is reloaded), ``measuring``.
* ``/time``: ``[{"event": "START"|"PAUSE", "experimentTime": s, "systemTime": epoch
  s}, ...]``. Sensor times are *experiment time*: seconds since the first start, pauses
  left out; each event pairs the two clocks, so `TimeMap` puts samples on the phone's
  wall clock, where a pause is the gap it was.
* ``/control?cmd=start|stop|clear``: ``{"result": true|false}``.

A time buffer and its x, y, z are paired by index: rows past the shortest are left for
the next poll; a row with a ``null`` is dropped (and counted).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import numpy as np

from tracker.errors import DeviceError, InputError

#: The protocol name of /get answers kept in a native recording (`RawPacket.protocol`).
PROTOCOL = "phyphox_remote"
#: phyphox's sensor names (its file format's ``<sensor type=...>``).
ACCELEROMETER = "accelerometer"
LINEAR_ACCELERATION = "linear_acceleration"
GYROSCOPE = "gyroscope"
AXES = ("x", "y", "z")


@dataclass(frozen=True)
class SensorBuffers:
    """The buffer names one sensor writes: its time and x, y, z."""

    time: str
    x: str
    y: str
    z: str

    @property
    def values(self) -> tuple[str, str, str]:
        return (self.x, self.y, self.z)


@dataclass(frozen=True)
class ExperimentBuffers:
    """The accelerometer's and the gyroscope's buffers of the running experiment."""

    acc: SensorBuffers
    gyro: SensorBuffers
    title: str = ""


@dataclass(frozen=True)
class StreamBlock:
    """One sensor's new rows of a /get answer: experiment times (s), (n, 3) values."""

    time_s: np.ndarray
    values: np.ndarray
    #: Newest time of the rows paired in this answer (kept or dropped for a null):
    #: the threshold of the next request. None when there were none.
    newest_s: float | None
    #: Rows dropped because a value or the time was null.
    nulls: int


@dataclass(frozen=True)
class GetAnswer:
    session: str
    measuring: bool
    acc: StreamBlock
    gyro: StreamBlock
    #: The buffers were cleared since the last answer (``full`` mode with times before
    #: the thresholds): the experiment time started again.
    restarted: bool


def _reject_constant(name: str) -> float:
    # phyphox writes null for a non-finite value, never NaN / Infinity literals.
    raise ValueError(f"{name} is not a number")


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"phyphox's {what} answer is not JSON: {exc}") from exc


def _sensor(inputs: list[Any], source: str) -> SensorBuffers | None:
    for entry in inputs:
        if not isinstance(entry, dict) or entry.get("source") != source:
            continue
        outputs = entry.get("outputs")
        if not isinstance(outputs, list):
            continue
        names: dict[str, str] = {}
        for out in outputs:
            if isinstance(out, dict):
                names.update({k: v for k, v in out.items() if isinstance(v, str) and v})
        if all(k in names for k in ("t", *AXES)):
            return SensorBuffers(names["t"], names["x"], names["y"], names["z"])
    return None


def parse_config(body: bytes) -> ExperimentBuffers:
    """The accelerometer and gyroscope buffers named by a /config answer.

    `InputError` when the answer is not a config; `DeviceError` when the experiment
    lacks the accelerometer with g or the gyroscope (with their x, y, z and time)."""
    doc = _json(body, "/config")
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list):
        raise InputError("phyphox's /config answer has no list of inputs")
    inputs = doc["inputs"]
    title = doc.get("title") if isinstance(doc.get("title"), str) else ""
    acc = _sensor(inputs, ACCELEROMETER)
    gyro = _sensor(inputs, GYROSCOPE)
    hint = "load the tracker's experiment (see README, Use your phone)"
    if acc is None:
        why = ""
        if _sensor(inputs, LINEAR_ACCELERATION) is not None:
            why = " (its acceleration without g cannot give the inclination)"
        raise DeviceError(
            f"the phyphox experiment {title!r} has no accelerometer with g{why}; {hint}"
        )
    if gyro is None:
        raise DeviceError(f"the phyphox experiment {title!r} has no gyroscope; {hint}")
    return ExperimentBuffers(acc, gyro, str(title))


def get_query(
    buffers: ExperimentBuffers, acc_after_s: float | None, gyro_after_s: float | None
) -> str:
    """The /get path for the rows newer than the given experiment times (None: the whole
    buffer), each value buffer following its time buffer."""
    parts = []
    for sensor, after in ((buffers.acc, acc_after_s), (buffers.gyro, gyro_after_s)):
        threshold = "full" if after is None else repr(float(after))
        parts.append(f"{quote(sensor.time)}={threshold}")
        for name in sensor.values:
            follow = "full" if after is None else quote(f"{threshold}|{sensor.time}", safe="")
            parts.append(f"{quote(name)}={follow}")
    return "/get?" + "&".join(parts)


def latest_query(buffers: ExperimentBuffers) -> str:
    """The /get path for the last value of each time buffer (where the data is now)."""
    return f"/get?{quote(buffers.acc.time)}&{quote(buffers.gyro.time)}"


def _values(doc: dict[str, Any], name: str) -> tuple[list[Any], str]:
    entry = doc.get(name)
    if not isinstance(entry, dict):
        raise InputError(f"phyphox's /get answer lacks buffer {name!r}")
    values = entry.get("buffer")
    if not isinstance(values, list):
        raise InputError(f"phyphox's /get answer: buffer {name!r} holds no list")
    for v in values:
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise InputError(f"phyphox's /get answer: buffer {name!r} holds {v!r}")
    mode = entry.get("updateMode")
    return values, mode if isinstance(mode, str) else ""


def _as_array(values: list[Any]) -> np.ndarray:
    # null (a NaN or infinite value on the phone) becomes NaN; json gives no others.
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


def _block(
    doc: dict[str, Any], sensor: SensorBuffers, after_s: float | None
) -> tuple[StreamBlock, bool]:
    t_list, mode = _values(doc, sensor.time)
    columns = [_values(doc, name)[0] for name in sensor.values]
    n = min(len(t_list), *(len(c) for c in columns))
    t = _as_array(t_list[:n])
    v = np.column_stack([_as_array(c[:n]) for c in columns]) if n else np.empty((0, 3))
    with np.errstate(invalid="ignore", over="ignore"):
        finite_t = np.isfinite(t)
        newest = float(t[finite_t][-1]) if finite_t.any() else None
        restarted = (
            mode == "full" and after_s is not None and newest is not None and newest < after_s
        )
        keep = finite_t & np.isfinite(v).all(axis=1)
        nulls = int(n - np.count_nonzero(keep))
        if after_s is not None and not restarted:
            # A full answer (after a clear on the phone) repeats rows already taken.
            fresh = finite_t & (t > after_s)
            nulls = int(np.count_nonzero(fresh & ~keep))
            keep &= fresh
    return StreamBlock(t[keep], v[keep], newest, nulls), restarted


def parse_get(
    body: bytes,
    buffers: ExperimentBuffers,
    acc_after_s: float | None = None,
    gyro_after_s: float | None = None,
) -> GetAnswer:
    """A /get answer's new rows per sensor (after the thresholds the request gave) and
    the experiment's status; `InputError` naming what is wrong."""
    doc = _json(body, "/get")
    if not isinstance(doc, dict):
        raise InputError("phyphox's /get answer is not an object with buffer and status")
    data, status = doc.get("buffer"), doc.get("status")
    if not isinstance(data, dict) or not isinstance(status, dict):
        raise InputError("phyphox's /get answer lacks 'buffer' or 'status'")
    session = status.get("session")
    measuring = status.get("measuring")
    if not isinstance(session, str) or not isinstance(measuring, bool):
        raise InputError("phyphox's /get status lacks 'session' or 'measuring'")
    acc, acc_restarted = _block(data, buffers.acc, acc_after_s)
    gyro, gyro_restarted = _block(data, buffers.gyro, gyro_after_s)
    return GetAnswer(session, measuring, acc, gyro, acc_restarted or gyro_restarted)


def parse_control(body: bytes) -> bool:
    """The ``result`` of a /control answer."""
    doc = _json(body, "/control")
    if not isinstance(doc, dict) or not isinstance(doc.get("result"), bool):
        raise InputError("phyphox's /control answer has no boolean 'result'")
    return bool(doc["result"])


@dataclass(frozen=True)
class TimeEvent:
    event: str  # START or PAUSE
    experiment_s: float
    system_s: float  # seconds since the Unix epoch


def parse_time(body: bytes) -> list[TimeEvent]:
    """The events of a /time answer, oldest first."""
    doc = _json(body, "/time")
    if not isinstance(doc, list):
        raise InputError("phyphox's /time answer is not a list of events")
    events = []
    for i, entry in enumerate(doc):
        if not isinstance(entry, dict):
            raise InputError(f"phyphox's /time event {i} is not an object")
        event = entry.get("event")
        clocks = []
        for name in ("experimentTime", "systemTime"):
            v = entry.get(name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(f"phyphox's /time event {i}: {name} must be a number, got {v!r}")
            clocks.append(float(v))
        if not isinstance(event, str):
            raise InputError(f"phyphox's /time event {i} has no event name")
        events.append(TimeEvent(event.upper(), clocks[0], clocks[1]))
    return events


class TimeMap:
    """Experiment time -> the phone's wall clock, from the START events of /time: a
    sample belongs to the run of the latest start at or before its experiment time."""

    def __init__(self, events: list[TimeEvent]) -> None:
        starts = sorted(
            ((e.experiment_s, e.system_s) for e in events if e.event == "START"),
            key=lambda s: s[0],
        )
        self._exp_s = np.array([s[0] for s in starts], dtype=float)
        # Whole nanoseconds: epoch seconds as a float resolve only ~0.2 us.
        self._system_ns = np.array([round(s[1] * 1e9) for s in starts], dtype=np.int64)

    def __bool__(self) -> bool:
        return len(self._exp_s) > 0

    def covers(self, experiment_s: float) -> bool:
        """Whether a start at or before ``experiment_s`` is known."""
        return bool(len(self._exp_s)) and experiment_s >= self._exp_s[0]

    def system_ns(self, experiment_s: np.ndarray) -> np.ndarray:
        """Epoch nanoseconds of these experiment times (int64)."""
        k = np.clip(np.searchsorted(self._exp_s, experiment_s, side="right") - 1, 0, None)
        offset_ns = np.round((experiment_s - self._exp_s[k]) * 1e9).astype(np.int64)
        return self._system_ns[k] + offset_ns
