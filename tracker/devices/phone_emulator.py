"""An emulated phone running Sensor Logger's HTTP push, for tests and the demo.

`EmulatedPhone` POSTs a recording's samples to a URL over a real TCP connection, as
the app does (`tracker.devices.sensor_logger_push`): one message per ``batch_s`` of
recording, paced by the event loop's clock at ``speed`` times real time, with the
Android conventions (``accelerometer`` without gravity plus a ``gravity`` stream, the
gyroscope at ``gyro_factor`` times the accelerometer's rate), and optionally with
messages swapped in order and repeated, deterministically from ``seed``.

The phone's clock reads `EPOCH_BASE_NS` at the recording's first sample and runs with
the recording, so a receiver that knows this puts the samples back on the recording's
own timeline (to the nanosecond the app's times resolve).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from tracker.devices.playback import PlaybackClock
from tracker.devices.sensor_logger_push import ACCELEROMETER, GRAVITY, GYROSCOPE, NS_PER_S
from tracker.errors import DeviceError
from tracker.samples import SensorSamples

#: The emulated phone's clock at the recording's first sample: 2023-11-14 22:13:20 UTC.
EPOCH_BASE_NS = 1_700_000_000 * NS_PER_S
#: The app's default batch period for live streaming is a second or so; live use wants
#: it short, but a longer one is the harder case for latency, so tests use 1 s.
DEFAULT_BATCH_S = 1.0
#: Android phones often run the gyroscope several times faster than the accelerometer
#: (e.g. 443 Hz against 73 Hz): five times is in that range.
DEFAULT_GYRO_FACTOR = 5
#: Time constant of the low-pass that plays Android's gravity sensor (a fused estimate
#: that follows slow tilts and ignores swings).
GRAVITY_TAU_S = 0.5


def _gravity(time_s: np.ndarray, acc: np.ndarray) -> np.ndarray:
    out = np.empty_like(acc)
    g = acc[0].copy()
    prev = float(time_s[0])
    for i, t in enumerate(time_s):
        alpha = 1.0 - np.exp(-(float(t) - prev) / GRAVITY_TAU_S)
        g += alpha * (acc[i] - g)
        out[i] = g
        prev = float(t)
    return out


def upsampled(time_s: np.ndarray, values: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """``factor`` samples per source interval, on the straight line between source
    samples: a receiver interpolating back at the source times gets the source values."""
    if factor <= 1 or len(time_s) < 2:
        return time_s, values
    frac = np.arange(factor) / factor
    t = (time_s[:-1, None] + np.diff(time_s)[:, None] * frac).ravel()
    v = np.column_stack([np.interp(t, time_s, values[:, j]) for j in range(3)])
    return np.concatenate([t, time_s[-1:]]), np.vstack([v, values[-1:]])


class EmulatedPhone:
    """Pushes ``samples`` to ``url`` (http://127.0.0.1:PORT/PATH); see the module docstring.

    ``swap_every``: every n-th pair of messages is sent in reverse order (0: never);
    ``repeat_every``: every n-th message is sent twice (0: never); ``pause``: (start_s,
    length_s) of recording during which nothing is sent (a lost Wi-Fi link; the app
    drops those messages). ``on_start`` is called with the loop time at which the
    phone measures the recording's first sample (benchmarks time latency from it).
    ``clock``: a `PlaybackClock` to play by instead of starting on `run` at ``speed``
    (shared with emulated BLE sensors, the phone plays the recording with them, from
    the moment the clock starts).
    """

    def __init__(
        self,
        samples: SensorSamples,
        url: str,
        *,
        speed: float = 1.0,
        batch_s: float = DEFAULT_BATCH_S,
        gyro_factor: int = DEFAULT_GYRO_FACTOR,
        swap_every: int = 0,
        repeat_every: int = 0,
        pause: tuple[float, float] | None = None,
        on_start: Callable[[float], None] | None = None,
        clock: PlaybackClock | None = None,
    ) -> None:
        if not url.startswith("http://127.0.0.1:"):
            raise DeviceError("the emulated phone only talks to 127.0.0.1")
        hostport, _, path = url[len("http://") :].partition("/")
        self.port = int(hostport.split(":")[1])
        self.path = "/" + path
        self.samples = samples
        self.clock = clock
        self.speed = clock.speed if clock is not None else speed
        self.batch_s = batch_s
        self.gyro_factor = gyro_factor
        self.swap_every = swap_every
        self.repeat_every = repeat_every
        self.pause = pause
        self.on_start = on_start
        self.statuses: list[int] = []
        #: (loop time sent, newest sample's recording time) per message, for latency.
        self.sent: list[tuple[float, float]] = []

    def messages(self) -> list[tuple[float, bytes]]:
        """(recording time of the batch's end, body) per message, in messageId order."""
        s = self.samples
        t = s.time_s - s.time_s[0]
        gravity = _gravity(t, s.acc_mps2)
        streams = {
            ACCELEROMETER: (t, s.acc_mps2 - gravity),
            GRAVITY: (t, gravity),
            GYROSCOPE: upsampled(t, s.gyro_rad_s, self.gyro_factor),
        }
        n = int(np.floor(t[-1] / self.batch_s)) + 1
        out = []
        for m in range(n):
            lo, hi = m * self.batch_s, (m + 1) * self.batch_s
            payload: list[dict[str, Any]] = []
            for name, (ts, vs) in streams.items():
                sel = (ts >= lo) & (ts < hi)
                for ti, v in zip(ts[sel], vs[sel], strict=True):
                    payload.append(
                        {
                            "name": name,
                            "time": EPOCH_BASE_NS + round(float(ti) * NS_PER_S),
                            "values": {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])},
                        }
                    )
            doc = {
                "messageId": m,
                "sessionId": "emulated",
                "deviceId": "emulated",
                "payload": payload,
            }
            out.append((min(hi, float(t[-1])), json.dumps(doc).encode()))
        return out

    def _order(self, n: int) -> list[int]:
        order = list(range(n))
        if self.swap_every:
            for i in range(1, n - 1, self.swap_every):
                order[i], order[i + 1] = order[i + 1], order[i]
        if self.repeat_every:
            order = [k for i in order for k in ([i, i] if i % self.repeat_every == 1 else [i])]
        return order

    async def run(self) -> None:
        """Send every message when its batch is complete (paced at ``speed``)."""
        messages = self.messages()
        loop = asyncio.get_running_loop()
        if self.clock is not None:
            await self.clock.sleep_until(0.0)
            start = loop.time() - self.clock.now_s() / self.speed
        else:
            start = loop.time()
        if self.on_start is not None:
            self.on_start(start)
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            for i in self._order(len(messages)):
                end_s, body = messages[i]
                if self.pause and self.pause[0] <= end_s < self.pause[0] + self.pause[1]:
                    continue
                # A message swapped behind a later one goes out right after it.
                due = start + end_s / self.speed
                await asyncio.sleep(max(0.0, due - loop.time()))
                self.sent.append((loop.time(), end_s))
                self.statuses.append(await self._post(reader, writer, body))
        finally:
            writer.close()
            await writer.wait_closed()

    async def _post(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes
    ) -> int:
        writer.write(
            (
                f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        return status
