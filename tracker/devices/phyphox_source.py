"""phyphox's remote access as a live source: the phone is polled over HTTP.

DEVICE ``phone:phyphox@HOST[:PORT]`` (port 8080, phyphox's default on Android; iOS
serves on 80) or ``emulator:phyphox:PATH`` (`tracker.devices.phyphox_emulator` on
127.0.0.1). `PhyphoxSession` has the shape of `tracker.devices.ble.BleSession` (via
`PhoneStream`). On `open` it reads ``/config`` (the accelerometer and gyroscope buffers;
a one-line `DeviceError` when the phone cannot be reached or the experiment lacks
them), starts the measurement unless it runs, starts after the rows already there, and
reads ``/time``; then, until closed, it asks ``/get`` for what is new, every
`POLL_INTERVAL_S` after the last answer (one request at a time, each on a new
connection: phyphox's server is single-threaded, and one client reports keep-alive
breaking it). Every answer is yielded as a `RawPacket` (protocol ``phyphox_remote``,
the request path and the body) before it is decoded, so a recording decodes again
(`tracker.devices.phyphox_remote.decode_recorded`); the samples come from a
`PhyphoxAssembler`.

* Clock: the phone's clock (``/time``), put on the session clock by a `ClockMapper`
  fixed by the first block; the emulated phone's clock is known (`KnownClock`), so its
  samples land on the source recording's timeline (unless a real sensor shares the
  session: `PhoneStream.emulated_clock`).
* No answer (Wi-Fi gone): ``disconnected``, retries every `RETRY_INTERVAL_S`,
  ``reconnected`` when it answers, the samples missing across it a `Gap`.
* Answers without new samples for `STALL_AFTER_S` (the screen went off and phyphox or
  the phone's sensors stopped): a ``paused`` event, ``resumed`` when data returns, a
  `Gap`. A reloaded experiment (``session`` changed) or a clear on the phone: a
  ``restarted`` event, /config and /time again, the measurement started again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from tracker.devices.phone_source import the_phone
from tracker.devices.phone_stream import PhoneStream
from tracker.devices.phyphox_remote import (
    PROTOCOL,
    PhyphoxAssembler,
    latest_query,
    parse_control,
    parse_get,
    recorded_payload,
)
from tracker.devices.playback import PlaybackClock
from tracker.errors import DeviceError, InputError, TrackerError
from tracker.recording.model import DeviceInfo, RawPacket

#: Pause between an answer and the next request. phyphox's own web page waits 10 ms
#: and its server answers in a few tens of ms over Wi-Fi; a lifting cue should follow
#: the movement within ~100 ms, so 40 ms (a sample waits half of it on average) keeps
#: the poll well inside that budget without loading the phone more than its own page.
POLL_INTERVAL_S = 0.04
#: Longest wait for an answer: a phone in Wi-Fi power save answers within a few hundred
#: ms; no answer in 2 s is a lost link (then `RETRY_INTERVAL_S` between attempts).
REQUEST_TIMEOUT_S = 2.0
RETRY_INTERVAL_S = 0.5
#: Answers without a new sample this long while answering: the sensors stopped (at
#: >= 50 Hz a working sensor gives dozens of samples per second).
STALL_AFTER_S = 1.0
#: Largest answer read: a full answer of the shipped experiment (8 buffers of 20000
#: values of ~14 characters) is ~2.3 MB; more than twice that is not phyphox.
MAX_BODY_BYTES = 5_000_000

CHECK_HINT = (
    "check that remote access is on in phyphox (the experiment's menu), that HOST:PORT "
    "is the address it shows, and that this computer is on the same network as the phone"
)


class NoAnswer(DeviceError):
    """A request to the phone got no (HTTP) answer."""


async def http_get(host: str, port: int, path: str, timeout_s: float) -> tuple[int, bytes]:
    """``GET path`` on a new connection; (status, body). `DeviceError` (one line) when
    there is no answer: refused, timed out, cut off, not HTTP."""
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    "Accept: application/json\r\nConnection: close\r\n\r\n".encode("latin-1")
                )
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status, length = parse_head(head)
                if length is not None:
                    if length > MAX_BODY_BYTES:
                        raise NoAnswer(f"an answer of {length} bytes is not phyphox's")
                    body = await reader.readexactly(length)
                else:
                    body = await reader.read(MAX_BODY_BYTES + 1)
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()
    except TimeoutError as exc:
        raise NoAnswer(f"no answer within {timeout_s:g} s") from exc
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise NoAnswer(str(exc) or type(exc).__name__) from exc
    return status, body


def _digits(text: str) -> bool:
    # (str.isdigit also takes "²" and other digits int() refuses)
    return text.isascii() and text.isdigit()


def parse_head(head: bytes) -> tuple[int, int | None]:
    """(status, Content-Length or None) of an HTTP answer's head; `NoAnswer` when it
    is not one."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not _digits(parts[1]):
        raise NoAnswer("the answer is not HTTP")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and _digits(value.strip()):
            length = int(value.strip())
        if name.strip().lower() == "transfer-encoding":
            raise NoAnswer("a chunked answer is not phyphox's")
    return int(parts[1]), length


class PhyphoxSession(PhoneStream):
    """phyphox at ``devices``' one phone DEVICE as a live source (module docstring).

    ``speed``: how fast the emulated phone plays; ``emulator_options``: passed to
    `EmulatedPhyphox` (tests: faults); ``poll_interval_s``: `POLL_INTERVAL_S`.
    ``clock``, ``on_source_timeline``: as for `tracker.devices.phone_source.PhoneSession`
    (a mixed session's shared playback clock; False with a real sensor in the session).
    """

    def __init__(
        self,
        devices: Mapping[str, str],
        *,
        speed: float = 1.0,
        clock: PlaybackClock | None = None,
        on_source_timeline: bool = True,
        emulator_options: Mapping[str, Any] | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        placement, self.phone = the_phone(devices)
        if not self.phone.is_phyphox:
            raise DeviceError("not a phyphox DEVICE: use phone:phyphox@HOST[:PORT]")
        super().__init__(placement, source_timeline=self.phone.is_emulator and on_source_timeline)
        self.playback_clock = clock
        self.host, self.port = self.phone.host, self.phone.port
        self.speed = speed
        self.emulator_options = dict(emulator_options or {})
        self.poll_interval_s = poll_interval_s
        self.request_timeout_s = request_timeout_s
        self.state = PhyphoxAssembler(placement)
        self.title = ""
        self._emulator: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lost = False
        self._stalled = False
        self._last_new_s = 0.0
        self._sent_after_end = False
        self._source_t0_s = 0.0
        self._emulated_clock_set = False
        #: The last problem reported with a ``waiting`` event (said once).
        self._said = ""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def devices(self) -> dict[str, DeviceInfo]:
        model = "emulated phone (phyphox)" if self.phone.is_emulator else "phone (phyphox)"
        protocol = f"{PROTOCOL} (polled every {self.poll_interval_s * 1000:g} ms)"
        return {
            self.placement: DeviceInfo(
                model=model, protocol=protocol, address=f"http://{self.address}"
            )
        }

    @property
    def requests_rejected(self) -> int:
        """(A polled phone refuses no requests of ours; see ``stats`` for bad answers.)"""
        return 0

    # -- requests ---------------------------------------------------------------------------
    async def _fetch(self, path: str) -> bytes:
        """The body of ``GET path``, recorded; `NoAnswer` when there is none."""
        status, body = await self._fetch_any(path)
        if status != 200:
            raise NoAnswer(f"phyphox answered {path.split('?')[0]} with HTTP {status}")
        return body

    async def _fetch_any(self, path: str) -> tuple[int, bytes]:
        status, body = await http_get(self.host, self.port, path, self.request_timeout_s)
        self._queue.put_nowait(
            RawPacket(self.placement, PROTOCOL, self._now_s(), None, recorded_payload(path, body))
        )
        self._stats.packets += 1
        return status, body

    async def _refresh_time(self) -> None:
        """/time into the assembler; a phyphox older than 1.1.8 has none (HTTP 404):
        then experiment time is the phone's clock."""
        status, body = await self._fetch_any("/time")
        self.state.time(body if status == 200 else b"[]")

    async def open(self, origin_s: float | None = None) -> None:
        """Connect, read the experiment and start it; `DeviceError` (one line) when the
        phone cannot be reached or the experiment cannot be used. ``origin_s``: the
        session clock's zero (loop time; now when None)."""
        loop = asyncio.get_running_loop()
        self._set_origin(origin_s)
        if self.phone.is_emulator:
            await self._start_emulator()
        try:
            try:
                await self._load_experiment(skip_history=True)
            except InputError as exc:
                raise DeviceError(f"phyphox at {self.address} answered oddly: {exc}") from exc
        except NoAnswer as exc:
            await self._stop_emulator()
            raise DeviceError(
                f"cannot reach phyphox at {self.address} ({exc}): {CHECK_HINT}"
            ) from exc
        except DeviceError:
            await self._stop_emulator()
            raise
        self._event("connected", f"phyphox at {self.address}, experiment {self.title!r}")
        self._last_new_s = self._now_s()
        self._tasks.append(loop.create_task(self._poll()))

    async def _load_experiment(self, *, skip_history: bool) -> None:
        """/config, the last values (is it measuring? where is the data?), start unless
        measuring, /time. ``skip_history``: begin after the rows already there (on
        open; after a reload or clear every row is new)."""
        buffers = self.state.config(await self._fetch("/config"))
        self.title = buffers.title
        latest = parse_get(await self._fetch(latest_query(buffers)), buffers)
        if not latest.measuring and not parse_control(await self._fetch("/control?cmd=start")):
            self._event("waiting", "phyphox did not start: tap its play button")
        if skip_history:
            self.state.start_at_latest(latest)
        await self._refresh_time()

    async def _start_emulator(self) -> None:
        from tracker.devices import phyphox_emulator
        from tracker.devices.playback import load_placement_samples

        assert self.phone.emulator_path is not None
        samples = load_placement_samples(self.phone.emulator_path, self.placement)
        self._emulator = phyphox_emulator.EmulatedPhyphox(
            samples, speed=self.speed, clock=self.playback_clock, **self.emulator_options
        )
        self.port = await self._emulator.start()
        self._source_t0_s = float(samples.time_s[0])

    async def _stop_emulator(self) -> None:
        if self._emulator is not None:
            await self._emulator.close()

    # -- polling ----------------------------------------------------------------------------
    async def _poll(self) -> None:
        try:
            while True:
                await self._poll_once()
                if self._emulator_done():
                    break
                await asyncio.sleep(self.poll_interval_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must end the stream visibly, not hang it
            self._event("failed", repr(exc))
        self._finish()

    def _emulator_done(self) -> bool:
        """The emulated phone's recording ended before the last request was sent."""
        return self._emulator is not None and self._sent_after_end

    async def _poll_once(self) -> None:
        rec_s = self._emulator.recording_time_s() if self._emulator is not None else None
        self._sent_after_end = rec_s is not None and rec_s > self._emulator.duration_s
        try:
            if self.state.needs_config:
                await self._load_experiment(skip_history=False)
            body = await self._fetch(self.state.query())
            host_s = self._now_s()
            self._link_back()
            answer = self.state.get(body)
        except NoAnswer as exc:
            self._sent_after_end = False
            self._link_lost(str(exc))
            await asyncio.sleep(RETRY_INTERVAL_S)
            return
        except DeviceError as exc:  # the reloaded experiment cannot be used
            self._sent_after_end = False
            if str(exc) != self._said:
                self._said = str(exc)
                self._event("waiting", str(exc))
            await asyncio.sleep(RETRY_INTERVAL_S)
            return
        except InputError:  # a malformed answer: the next poll asks again
            self._sent_after_end = False
            self._stats.malformed += 1
            return
        self._said = ""
        self._stats.decoded_packets += 1
        self._stats.lost_samples_estimate = self.state.nulls
        if answer is None:
            self._gap_reason = "the experiment was reloaded on the phone"
            self._event("restarted", "the experiment was reloaded or cleared on the phone")
            self._sent_after_end = False
            return
        if self.state.needs_time and answer.measuring:
            # The run resumed after a pause: /time says where (rows wait for it).
            with contextlib.suppress(TrackerError):
                await self._refresh_time()
        new = len(answer.acc.time_s) + len(answer.gyro.time_s)
        if new:
            self._last_new_s = host_s
            if self._stalled:
                self._stalled = False
                self._event("resumed")
        elif not self._stalled and host_s - self._last_new_s > STALL_AFTER_S:
            self._stalled = True
            self._gap_reason = "no samples from phyphox (screen off?)"
            self._event("paused", "no samples from phyphox: keep the phone's screen on")
        self._release(host_s)

    def _link_lost(self, why: str) -> None:
        if not self._lost:
            self._lost = True
            self._stats.disconnects += 1
            self._gap_reason = "no answer from the phone"
            self._event("disconnected", f"no answer from phyphox at {self.address} ({why})")

    def _link_back(self) -> None:
        if self._lost:
            self._lost = False
            self._stats.reconnects += 1
            self._event("reconnected")

    def _release(self, host_s: float | None = None, *, final: bool = False) -> None:
        while True:
            block = self.state.take(final=final)
            if block is None:
                return
            if self._emulator is not None and not self._emulated_clock_set:
                # The emulated phone's clock reads EPOCH_BASE_S at the source's first
                # sample: blocks start at origin, i.e. that far into the source.
                from tracker.devices.phone_emulator import EPOCH_BASE_NS

                origin = self.state.origin_ns or EPOCH_BASE_NS
                offset = self._source_t0_s + (origin - EPOCH_BASE_NS) / 1e9
                self._clock = self.emulated_clock(offset, self.speed)
                self._emulated_clock_set = True
            self.emit_block(block, host_s)
        if not self._lost and not self._stalled:
            # The samples are back: a later hole has a cause of its own.
            self._gap_reason = ""

    def _finish(self) -> None:
        self.state.assembler.skip_missing()
        self._release(final=True)
        if self._emulator is not None:
            self._event("finished", "emulated recording ended")
        self._end()

    async def close(self) -> None:
        """Stop polling (and the emulated phone); ends the iteration. Idempotent."""
        if self._closed:
            return
        self._closed = True
        ended = False
        for task in self._tasks:
            ended = ended or task.done()
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, TrackerError, Exception):
                await task
        await self._stop_emulator()
        if not ended:
            self._finish()
