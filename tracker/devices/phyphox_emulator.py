"""An emulated phone running phyphox with remote access on, for tests and the demo.

`EmulatedPhyphox` serves a recording's samples on 127.0.0.1 the way phyphox's remote
access does (`tracker.devices.phyphox_remote`): ``/config``, ``/get`` with phyphox's
thresholds (nudged by one unit in the 8th significant digit; values printed with 8
significant digits, NaN as ``null``), ``/control``, ``/time``. It measures once told
to start, paced by the event loop's clock at ``speed`` times real time: the
accelerometer at the recording's times, the gyroscope ``gyro_factor`` times as fast
(on the straight line between the recording's samples, so interpolating back at the
accelerometer's times gives the recording's values), on their own time buffers.

Its phone clock (``/time``'s system time) reads `EPOCH_BASE_S` at the recording's first
sample and runs with the recording, so a client that knows this puts the samples back
on the recording's own timeline. Faults, for tests: ``pause`` (start_s, length_s) of
recording with the screen off: nothing is measured; with ``pause_measuring`` the
measurement is paused (``measuring`` false, a PAUSE and a START in ``/time``,
experiment time leaves the pause out, as phyphox does), otherwise the sensors just stop
(``measuring`` stays true, the experiment clock runs on). ``reload_at_s``: the
experiment is reloaded then (a new session, buffers and ``/time`` emptied, not
measuring until started again). ``null_every``: every n-th gyroscope x is NaN;
``garbage_every``: every n-th /get answer is cut short (not JSON); ``buffer_size``:
values each buffer keeps (phyphox drops the oldest). ``clock``: a `PlaybackClock` to
play by (shared with emulated BLE sensors): the recording then runs with that clock
from its start, not from the first start command.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from tracker.devices.http_receiver import listen
from tracker.devices.phone_emulator import DEFAULT_GYRO_FACTOR, EPOCH_BASE_NS, upsampled
from tracker.devices.phyphox_remote import ExperimentBuffers, SensorBuffers
from tracker.devices.playback import PlaybackClock
from tracker.devices.sensor_logger_push import NS_PER_S
from tracker.samples import SensorSamples

#: The emulated phone's wall clock at the recording's first sample (epoch seconds).
EPOCH_BASE_S = EPOCH_BASE_NS // NS_PER_S
#: The buffer names of the experiment shipped with the tracker (tracker/devices/experiments/
#: lumbar_tracker.phyphox): what a client has to find in /config.
BUFFERS = ExperimentBuffers(
    SensorBuffers("acc_time", "accX", "accY", "accZ"),
    SensorBuffers("gyr_time", "gyrX", "gyrY", "gyrZ"),
    "Lumbar tracker (acceleration with g + gyroscope)",
)
#: Buffer capacity of that experiment: 40 s of a 500 Hz gyroscope.
BUFFER_SIZE = 20_000
_MAX_HEAD_BYTES = 16_384


def phyphox_number(value: float) -> str:
    """``value`` as phyphox prints it (8 significant digits, Java's ``0.#######E0``);
    ``null`` for a non-finite one."""
    if not math.isfinite(value):
        return "null"
    mantissa, exponent = f"{value:.7E}".split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E{int(exponent)}"


def nudged(threshold: float) -> float:
    """phyphox's threshold after its nudge up by one unit in the 8th digit."""
    if threshold == 0 or not math.isfinite(threshold):
        return threshold
    return threshold + 10.0 ** math.floor(math.log10(abs(threshold) / 1e7))


class EmulatedPhyphox:
    """Serves ``samples`` on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        samples: SensorSamples,
        *,
        speed: float = 1.0,
        gyro_factor: int = DEFAULT_GYRO_FACTOR,
        pause: tuple[float, float] | None = None,
        pause_measuring: bool = True,
        reload_at_s: float | None = None,
        null_every: int = 0,
        garbage_every: int = 0,
        with_gyroscope: bool = True,
        buffer_size: int = BUFFER_SIZE,
        on_start: Callable[[float], None] | None = None,
        clock: PlaybackClock | None = None,
    ) -> None:
        t = samples.time_s - samples.time_s[0]
        self._acc = (t, samples.acc_mps2)
        gyro_t, gyro_v = upsampled(t, samples.gyro_rad_s, gyro_factor)
        gyro_v = gyro_v.copy()
        if null_every:
            gyro_v[null_every - 1 :: null_every, 0] = math.nan
        self._gyro = (gyro_t, gyro_v)
        self.duration_s = float(max(t[-1], gyro_t[-1]))
        self.clock = clock
        self.speed = clock.speed if clock is not None else speed
        self.with_gyroscope = with_gyroscope
        self.buffer_size = buffer_size
        self.pause_measuring = pause_measuring
        self.garbage_every = garbage_every
        self.on_start = on_start
        self.port = 0
        self.session = "emulated-1"
        self.measuring = False
        self.requests: dict[str, int] = {}
        self._transitions: list[tuple[float, str]] = []
        if pause is not None:
            self._transitions += [(pause[0], "screen off"), (pause[0] + pause[1], "screen on")]
        if reload_at_s is not None:
            self._transitions.append((reload_at_s, "reload"))
        self._transitions.sort()
        self._start_loop_s: float | None = None
        self._stalled = False
        self._screen_off = False
        self._paused_by_screen = False
        self._exp_offset_s = 0.0  # experiment time = recording time - this, while measuring
        self._last_exp_s = 0.0  # experiment time reached when the measurement stopped
        self._cursors = [0, 0]
        self._force_full = False
        self._events: list[dict[str, Any]] = []
        self._buffers: dict[str, list[float]] = {}
        self._clear_buffers()
        self._server: asyncio.Server | None = None
        self._gets = 0

    # -- serving ---------------------------------------------------------------------------
    async def start(self) -> int:
        """Listen on a free port of 127.0.0.1; returns it."""
        self._server, self.port = await listen(self._serve, "127.0.0.1", 0, _MAX_HEAD_BYTES)
        return self.port

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            parts = head.decode("latin-1").split("\r\n")[0].split(" ")
            status, body = (400, b'{"error": "bad request"}')
            if len(parts) == 3:
                status, body = self.answer(parts[1])
            writer.write(
                f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n".encode("latin-1")
                + body
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    def answer(self, target: str) -> tuple[int, bytes]:
        """(status, body) for a request target such as ``/get?acc_time=1.5``."""
        url = urlsplit(target)
        params = parse_qsl(url.query, keep_blank_values=True)
        self.requests[url.path] = self.requests.get(url.path, 0) + 1
        self._advance()
        if url.path == "/config":
            return 200, json.dumps(self._config()).encode()
        if url.path == "/time":
            return 200, json.dumps(self._events).encode()
        if url.path == "/control":
            return 200, json.dumps({"result": self._control(dict(params).get("cmd"))}).encode()
        if url.path == "/get":
            return self._get(params)
        return 404, b'{"error": "unknown path"}'

    # -- the experiment ----------------------------------------------------------------------
    def _names(self) -> list[SensorBuffers]:
        return [BUFFERS.acc, BUFFERS.gyro] if self.with_gyroscope else [BUFFERS.acc]

    def _clear_buffers(self) -> None:
        self._buffers = {
            name: [] for sensor in self._names() for name in (sensor.time, *sensor.values)
        }

    def _config(self) -> dict[str, Any]:
        inputs = [
            {
                "source": source,
                "outputs": [{"x": s.x}, {"y": s.y}, {"z": s.z}, {"t": s.time}],
            }
            for source, s in zip(("accelerometer", "gyroscope"), self._names(), strict=False)
        ]
        return {
            "crc32": "1a2b3c4",
            "title": BUFFERS.title,
            "localTitle": BUFFERS.title,
            "category": "Lumbar tracker",
            "localCategory": "Lumbar tracker",
            "buffers": [{"name": n, "size": self.buffer_size} for n in self._buffers],
            "inputs": inputs,
            "export": [],
        }

    def recording_time_s(self) -> float | None:
        """Where the emulated phone is in its recording (None before the first start)."""
        if self._start_loop_s is None:
            return None
        if self.clock is not None:
            return self.clock.now_s()
        return (asyncio.get_running_loop().time() - self._start_loop_s) * self.speed

    def _control(self, cmd: str | None) -> bool:
        if cmd == "start":
            if self._start_loop_s is None:
                self._start_loop_s = asyncio.get_running_loop().time()
                if self.on_start is not None:
                    self.on_start(self._start_loop_s)
            if self._screen_off:
                return False  # (the phone's screen is off: the app does not run)
            if not self.measuring:
                self._start(self.recording_time_s() or 0.0)
            return True
        if cmd == "stop":
            if self.measuring:
                self._stop(self.recording_time_s() or 0.0)
            return True
        if cmd == "clear":
            self.measuring = False
            self._clear_buffers()
            self._events = []
            self._last_exp_s = 0.0
            self._force_full = True
            return True
        return False

    def _start(self, rec_s: float) -> None:
        self.measuring = True
        self._exp_offset_s = rec_s - self._last_exp_s
        self._events.append(self._event("START", self._last_exp_s, rec_s))

    def _stop(self, rec_s: float) -> None:
        self.measuring = False
        self._last_exp_s = rec_s - self._exp_offset_s
        self._events.append(self._event("PAUSE", self._last_exp_s, rec_s))

    @staticmethod
    def _event(event: str, experiment_s: float, rec_s: float) -> dict[str, Any]:
        return {"event": event, "experimentTime": experiment_s, "systemTime": EPOCH_BASE_S + rec_s}

    def _advance(self) -> None:
        """Measure up to now, applying the faults due on the way."""
        now = self.recording_time_s()
        if now is None:
            return
        while self._transitions and self._transitions[0][0] <= now:
            at_s, what = self._transitions.pop(0)
            self._measure(at_s, inclusive=False)
            if what == "screen off":
                self._screen_off = True
                if not self.pause_measuring:
                    self._stalled = True
                elif self.measuring:
                    self._stop(at_s)
                    self._paused_by_screen = True
            elif what == "screen on":
                self._screen_off = self._stalled = False
                if self._paused_by_screen:
                    self._paused_by_screen = False
                    self._start(at_s)
            else:  # reload: a new experiment instance, not measuring
                self.session = f"emulated-{int(self.session.rsplit('-', 1)[1]) + 1}"
                self.measuring = False
                self._clear_buffers()
                self._events = []
                self._last_exp_s = 0.0
        self._measure(now, inclusive=True)

    def _measure(self, until_s: float, *, inclusive: bool) -> None:
        streams = [self._acc, self._gyro][: len(self._names())]
        for k, ((t, v), sensor) in enumerate(zip(streams, self._names(), strict=True)):
            stop = int(np.searchsorted(t, until_s, side="right" if inclusive else "left"))
            start, self._cursors[k] = self._cursors[k], max(self._cursors[k], stop)
            if stop <= start or not self.measuring or self._stalled:
                continue
            rows = {sensor.time: list(t[start:stop] - self._exp_offset_s)}
            for j, name in enumerate(sensor.values):
                rows[name] = list(v[start:stop, j])
            for name, values in rows.items():
                buffer = self._buffers[name]
                buffer.extend(float(x) for x in values)
                del buffer[: -self.buffer_size]

    def _get(self, params: list[tuple[str, str]]) -> tuple[int, bytes]:
        self._gets += 1
        parts = []
        for name, value in dict(params).items():
            data = self._buffers.get(name)
            if data is None:
                continue  # (phyphox skips unknown buffers)
            if value == "" and not self._force_full:
                mode, out = "single", data[-1:] or [math.nan]
            elif value == "full" or self._force_full:
                mode, out = "full", data
            else:
                threshold_text, _, ref_name = value.partition("|")
                try:
                    threshold = nudged(float(threshold_text))
                except ValueError:
                    return 400, b'{"error": "Invalid threshold."}'
                ref = self._buffers.get(ref_name or name)
                if ref is None:
                    return 400, b'{"error": "Unknown reference buffer."}'
                n = min(len(data), len(ref))
                mode = "partial"
                out = [data[i] for i in range(n) if ref[i] > threshold]
            values = ",".join(phyphox_number(x) for x in out)
            parts.append(
                f'"{name}":{{"size":{self.buffer_size},"updateMode":"{mode}", "buffer":[{values}]}}'
            )
        self._force_full = False
        status = (
            f'"status":{{"session":"{self.session}", "measuring":{str(self.measuring).lower()}, '
            '"timedRun":false, "countDown":0}'
        )
        body = ("{" + '"buffer":{' + ",\n".join(parts) + "},\n" + status + "}\n").encode()
        if self.garbage_every and self._gets % self.garbage_every == 0:
            body = body[: len(body) // 2]
        return 200, body
