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

import contextlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import numpy as np

from tracker.devices.sensor_logger_push import (
    GYROSCOPE as PUSH_GYROSCOPE,
)
from tracker.devices.sensor_logger_push import (
    TOTAL,
    Convention,
    PushAssembler,
    PushMessage,
)
from tracker.errors import DeviceError, InputError, TrackerError
from tracker.recording.model import RawPacket
from tracker.samples import SensorSamples

#: The protocol name of /get answers kept in a native recording (`RawPacket.protocol`).
PROTOCOL = "phyphox_remote"
#: phyphox's sensor names (its file format's ``<sensor type=...>``).
ACCELEROMETER = "accelerometer"
LINEAR_ACCELERATION = "linear_acceleration"
GYROSCOPE = "gyroscope"
AXES = ("x", "y", "z")
#: Experiment times outside [0, this] are no measurement (a year of measuring is far
#: beyond any session); they also keep nanosecond times inside int64.
MAX_EXPERIMENT_S = 3.2e7
#: Phone clock (epoch seconds) accepted from /time: up to the year 2096, which with
#: `MAX_EXPERIMENT_S` keeps epoch nanoseconds inside int64.
MAX_SYSTEM_S = 4.0e9


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
    #: Rows dropped because a value or the time was null (or the time out of range).
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
    """The /get path for the last value of each buffer (where the data is now)."""
    names = [n for s in (buffers.acc, buffers.gyro) for n in (s.time, *s.values)]
    return "/get?" + "&".join(quote(n) for n in names)


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
        finite_t = np.isfinite(t) & (t >= 0) & (t <= MAX_EXPERIMENT_S)
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


def _session_of(body: bytes) -> str | None:
    try:
        status = json.loads(body.decode("utf-8")).get("status")
        session = status.get("session")
    except (UnicodeDecodeError, ValueError, RecursionError, AttributeError):
        return None
    return session if isinstance(session, str) else None


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
            top = MAX_EXPERIMENT_S if name == "experimentTime" else MAX_SYSTEM_S
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= top:
                raise InputError(
                    f"phyphox's /time event {i}: {name} must be a number of seconds "
                    f"from 0 to {top:g}, got {v!r}"
                )
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


def recorded_payload(path: str, body: bytes) -> bytes:
    """What a recording keeps of one answer: the request path, a newline, the body."""
    return path.encode("utf-8") + b"\n" + body


def split_payload(payload: bytes) -> tuple[str, bytes]:
    """``(path, body)`` of a `recorded_payload`; `InputError` when it is not one."""
    path, sep, body = payload.partition(b"\n")
    if not sep:
        raise InputError("a recorded phyphox answer lacks its request path")
    return path.decode("utf-8", "replace"), body


class PhyphoxAssembler:
    """phyphox's answers in, `SensorSamples` of ``placement`` out: pure state, so a live
    session and the decoding of its recording (`decode_recorded`) run the same steps.

    Feed it /config (`config`), /time (`time`) and /get (`get`) answers in the order
    they came; `query` is the next /get. New rows go on the phone's clock (`TimeMap`;
    experiment time when /time gave nothing) as epoch nanoseconds into a
    `PushAssembler`, which keeps each stream sorted, drops repeated times and puts the
    gyroscope on the accelerometer's times exactly as for Sensor Logger; `take` gives
    what is ready. A pause (``measuring`` false) holds rows back until the next /time
    says where the run resumed (`needs_time`); a changed ``session`` (experiment
    reloaded) or a clear needs /config and /time again (`needs_config`).
    """

    def __init__(self, placement: str) -> None:
        self.placement = placement
        self._new_assembler = lambda: PushAssembler(placement, Convention.ANDROID)
        self.assembler = self._new_assembler()
        self.buffers: ExperimentBuffers | None = None
        self.session: str | None = None
        self.time_map = TimeMap([])
        self.acc_after_s: float | None = None
        self.gyro_after_s: float | None = None
        self.measuring = False
        self.needs_config = True
        self.needs_time = True
        self.restarts = 0
        self.nulls = 0
        self._message_id = 0
        self._held: list[tuple[StreamBlock, StreamBlock]] = []
        self._leftover: list[SensorSamples] = []

    def config(self, body: bytes) -> ExperimentBuffers:
        self.buffers = parse_config(body)
        self.needs_config = False
        return self.buffers

    def time(self, body: bytes) -> None:
        """A /time answer; releases rows held back for it. A malformed one still ends
        the wait (the rows then go by the map known so far)."""
        self.needs_time = False
        try:
            self.time_map = TimeMap(parse_time(body))
        finally:
            held, self._held = self._held, []
            for acc, gyro in held:
                self._add(acc, gyro)

    def query(self) -> str:
        assert self.buffers is not None, "no /config yet"
        return get_query(self.buffers, self.acc_after_s, self.gyro_after_s)

    def start_at_latest(self, answer: GetAnswer) -> None:
        """Begin after the rows an answer to `latest_query` shows (older history is not
        live)."""
        self.session = answer.session
        self.acc_after_s, self.gyro_after_s = answer.acc.newest_s, answer.gyro.newest_s

    def get(self, body: bytes) -> GetAnswer | None:
        """A /get answer to `query`; None when it belongs to a reloaded experiment (its
        rows are fetched again after the new /config). `InputError` when malformed."""
        assert self.buffers is not None, "no /config yet"
        try:
            answer = parse_get(body, self.buffers, self.acc_after_s, self.gyro_after_s)
        except InputError:
            # A reloaded experiment may lack the buffers asked for: its session says so.
            session = _session_of(body)
            if session is None or session == self.session:
                raise
            self._restart(session)
            return None
        if (self.session is not None and answer.session != self.session) or answer.restarted:
            self._restart(answer.session)
            return None
        self.session = answer.session
        for block, which in ((answer.acc, "acc"), (answer.gyro, "gyro")):
            if block.newest_s is not None:
                setattr(self, f"{which}_after_s", block.newest_s)
        self.nulls += answer.acc.nulls + answer.gyro.nulls
        if self.needs_time and (len(answer.acc.time_s) or len(answer.gyro.time_s)):
            self._held.append((answer.acc, answer.gyro))
        else:
            self._add(answer.acc, answer.gyro)
        if not answer.measuring and self.measuring:
            # The run paused (its rows so far belong to the known start): it will resume
            # at a START that /time does not hold yet.
            self.needs_time = True
        self.measuring = answer.measuring
        return answer

    def _restart(self, session: str) -> None:
        self.restarts += 1
        self.session = session
        self.acc_after_s = self.gyro_after_s = None
        self.needs_config = self.needs_time = True
        self._held = []
        if not self.time_map:
            # Experiment time starts again at 0: a new assembler, or the new rows would
            # land behind the old ones.
            self.assembler.skip_missing()
            done = self.assembler.take(final=True)
            if done is not None:
                self._leftover.append(done)
            self.assembler = self._new_assembler()

    def _ns(self, time_s: np.ndarray) -> np.ndarray:
        if self.time_map:
            return self.time_map.system_ns(time_s)
        return np.round(time_s * 1e9).astype(np.int64)

    def _add(self, acc: StreamBlock, gyro: StreamBlock) -> None:
        streams = {
            TOTAL: (self._ns(acc.time_s), acc.values),
            PUSH_GYROSCOPE: (self._ns(gyro.time_s), gyro.values),
        }
        self.assembler.add(PushMessage(self._message_id, self.session or "", "", streams))
        self._message_id += 1

    def take(self, *, final: bool = False) -> SensorSamples | None:
        """The samples ready now (seconds since the phone's first sample), or None."""
        if self._leftover:
            return self._leftover.pop(0)
        return self.assembler.take(final=final)

    @property
    def origin_ns(self) -> int | None:
        """The phone-clock time (epoch ns on phyphox >= 1.1.8) of the first sample."""
        return self.assembler.origin_ns


def decode_recorded(packets: Iterable[RawPacket], placement: str) -> SensorSamples | None:
    """The samples of a session's recorded phyphox answers, decoded again (after a
    decoder fix), on seconds since their first sample; answers that do not decode are
    skipped, as the session skipped them."""
    state = PhyphoxAssembler(placement)
    blocks = []
    for packet in packets:
        if packet.protocol != PROTOCOL or packet.placement != placement:
            continue
        with contextlib.suppress(TrackerError):
            path, body = split_payload(packet.payload)
            if path.startswith("/config"):
                state.config(body)
            elif path.startswith("/time"):
                state.time(body)
            elif path.startswith("/get") and state.buffers is not None:
                state.get(body)
        if (block := state.take()) is not None:
            blocks.append(block)
    while (block := state.take(final=True)) is not None:
        blocks.append(block)
    return SensorSamples.concat(blocks) if blocks else None
