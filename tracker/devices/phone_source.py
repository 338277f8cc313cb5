"""A phone as a live sensor: Sensor Logger pushing its motion sensors over HTTP.

DEVICE names (``tracker live --lumbar DEVICE`` or ``--sacrum DEVICE``; one phone per
session, the other placement may be a BLE sensor: `tracker.devices.mixed_session`):

* ``phone:sensorlogger``: Sensor Logger on Android, or on iOS with "Standardise Units &
  Frames" on (f = accelerometer + gravity);
* ``phone:sensorlogger-ios``: Sensor Logger on iOS with that setting off (signs flipped);
* ``emulator:sensorlogger:PATH``: an emulated phone (`tracker.devices.phone_emulator`)
  that POSTs PATH's samples for that placement to the receiver over 127.0.0.1, as the
  app would (batches, reordering, repeats, Android's rate mismatch);
* ``phone:phyphox@HOST[:PORT]`` and ``emulator:phyphox:PATH``: phyphox's remote access,
  polled (`tracker.devices.phyphox_source`; parsed here, so one function knows every
  phone DEVICE).

`PhoneSession` has the shape of `tracker.devices.ble.BleSession` (placements, stats,
devices, battery_percent, open / close, async iteration of the same `StreamItem` s),
so the live use case feeds it to the same pipeline and recording. It runs a
`PushReceiver` on a per-session token while open and:

* yields every accepted body as a `RawPacket` (protocol ``sensor_logger_push``, host
  receive time, the body as sent) before decoding it, so a recording can be decoded
  again (`decode_recorded`); then the samples the `PushAssembler` releases;
* puts the phone's clock on the session clock like a BLE sensor's (`ClockMapper`,
  fixed by the first batch); the emulated phone's clock is known (`KnownClock`), so
  its samples land on the source recording's own timeline (unless a real sensor
  shares the session: `PhoneStream.emulated_clock`);
* warns (a ``waiting`` link event) when no request arrived within ``warn_after_s``: a
  network that isolates its clients (guest Wi-Fi) never lets the phone through;
* reports a pause in requests as ``disconnected`` / ``reconnected`` and the samples
  missing across it as a `Gap`; the session goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.devices.ble import check_placements
from tracker.devices.http_receiver import PushReceiver, ReceiverCounts, new_token
from tracker.devices.phone_stream import PhoneStream
from tracker.devices.playback import PlaybackClock, load_placement_samples
from tracker.devices.sensor_logger_push import (
    PROTOCOL,
    Convention,
    PushAssembler,
    decode_message,
)
from tracker.errors import DeviceError, InputError
from tracker.recording.model import DeviceInfo, RawPacket
from tracker.samples import SensorSamples

PHONE_PREFIX = "phone:"
EMULATED_PREFIX = "emulator:sensorlogger:"
APPS = {"sensorlogger": Convention.ANDROID, "sensorlogger-ios": Convention.IOS}
PHYPHOX = "phyphox"
EMULATED_PHYPHOX_PREFIX = "emulator:phyphox:"
#: The port phyphox's remote access serves on Android (iOS: 80; the app shows it).
PHYPHOX_PORT = 8080
#: Port the receiver listens on by default: a fixed one, so the URL entered in the app
#: stays valid from session to session (only the token changes). Above the ports
#: other services commonly use; 0 asks for any free port (tests).
DEFAULT_PORT = 8765
#: No request this long after the start: the phone cannot reach us (wrong URL, or a
#: network that isolates clients); say so once, with what to try.
WARN_AFTER_S = 15.0
#: Requests stopped for this long after they came: the phone's link is gone. Longer
#: than any batch period the app offers for live use (a few seconds at most).
PAUSE_AFTER_S = 3.0
#: A message missing behind later ones is given up after this long: a late message
#: is hardly ever later than a second batch; waiting longer only delays every cue.
REORDER_WAIT_S = 2.0
#: How often the session checks for silence and held-back messages.
WATCH_INTERVAL_S = 0.25

WAITING_HINT = (
    "no request from the phone yet: check that HTTP Push is on in Sensor Logger's "
    "settings (the gear on the Logger page) with the URL above, and that the phone is "
    "on the same network; guest "
    "and public Wi-Fi often isolate devices, so try the phone's own hotspot with this "
    "computer joined to it"
)


@dataclass(frozen=True)
class PhoneDevice:
    """A parsed phone DEVICE string. ``app``: ``sensorlogger`` (pushes to us) or
    ``phyphox`` (polled at ``host``:``port``)."""

    convention: Convention
    emulator_path: Path | None = None
    app: str = "sensorlogger"
    host: str = ""
    port: int = PHYPHOX_PORT

    @property
    def is_emulator(self) -> bool:
        return self.emulator_path is not None

    @property
    def is_phyphox(self) -> bool:
        return self.app == PHYPHOX


def _emulated(text: str, prefix: str) -> Path:
    path = text[len(prefix) :]
    if not path:
        raise DeviceError(f"{text!r} names no recording: use {prefix}PATH")
    return Path(path)


def _phyphox_address(text: str, rest: str) -> PhoneDevice:
    host, sep, port_text = rest.rpartition(":")
    if not sep:
        host, port_text = rest, str(PHYPHOX_PORT)
    if not host or any(c.isspace() or c in "/@?#" for c in host):
        raise DeviceError(
            f"{text!r} names no phone address: use phone:phyphox@HOST[:PORT] with the "
            "address phyphox shows under remote access (e.g. phone:phyphox@192.168.1.20)"
        )
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise DeviceError(f"{text!r}: the port must be a number from 1 to 65535")
    return PhoneDevice(Convention.ANDROID, app=PHYPHOX, host=host, port=int(port_text))


def parse_phone_device(text: str) -> PhoneDevice | None:
    """The phone named by ``text`` (see the module docstring); None when it names none.

    Raises `DeviceError` for an unknown phone app or a phyphox DEVICE without address."""
    text = text.strip()
    if text.startswith(EMULATED_PREFIX):
        return PhoneDevice(Convention.ANDROID, _emulated(text, EMULATED_PREFIX))
    if text.startswith(EMULATED_PHYPHOX_PREFIX):
        path = _emulated(text, EMULATED_PHYPHOX_PREFIX)
        return PhoneDevice(Convention.ANDROID, path, app=PHYPHOX, host="127.0.0.1")
    if not text.startswith(PHONE_PREFIX):
        return None
    app, at, rest = text[len(PHONE_PREFIX) :].partition("@")
    app = app.lower()
    if app == PHYPHOX:
        return _phyphox_address(text, rest.strip())
    if app not in APPS or at:
        raise DeviceError(
            f"unknown phone app {text[len(PHONE_PREFIX) :]!r}: use "
            f"phone:{' or phone:'.join(APPS)} or phone:phyphox@HOST[:PORT]"
        )
    return PhoneDevice(APPS[app])


def phone_devices(devices: Mapping[str, str]) -> dict[str, PhoneDevice]:
    """The phones among ``devices`` (placement -> DEVICE)."""
    found = {p: parse_phone_device(d) for p, d in devices.items()}
    return {p: d for p, d in found.items() if d is not None}


def lan_address() -> str:
    """This machine's address on the network its default route uses (no packet is sent:
    connecting a UDP socket only picks the interface); 127.0.0.1 when there is none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def qr_text(url: str) -> str | None:
    """``url`` as a QR code drawn with block characters for a terminal (dark on light),
    or None when the optional ``qrcode`` package (the ``phone`` extra) is missing."""
    try:
        # (imported by name: the package ships no type information)
        qrcode: Any = importlib.import_module("qrcode")
    except ImportError:
        return None
    code = qrcode.QRCode(border=2)
    code.add_data(url)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue().rstrip("\n")


def decode_recorded(
    packets: Iterable[RawPacket], placement: str, convention: Convention
) -> SensorSamples | None:
    """The samples of recorded push bodies, decoded again (after a decoder fix), on
    seconds since their first sample; bodies that do not decode are skipped."""
    assembler = PushAssembler(placement, convention)
    for packet in packets:
        if packet.protocol != PROTOCOL or packet.placement != placement:
            continue
        with contextlib.suppress(InputError):
            assembler.add(decode_message(packet.payload))
    assembler.skip_missing()
    return assembler.take(final=True)


def the_phone(devices: Mapping[str, str]) -> tuple[str, PhoneDevice]:
    """The placement and phone of ``devices``, which must hold one phone (the other
    placement, if any, a BLE sensor: `tracker.devices.mixed_session`); `DeviceError`
    otherwise."""
    check_placements(devices)
    phones = phone_devices(devices)
    if not phones:
        raise DeviceError("no phone DEVICE given: use phone:sensorlogger or phone:phyphox@HOST")
    if len(phones) > 1:
        raise DeviceError(
            "one phone per session: a phone's receiver serves one placement; give the "
            "other placement a BLE sensor (or leave it out)"
        )
    ((placement, phone),) = phones.items()
    return placement, phone


class PhoneSession(PhoneStream):
    """One phone at ``placement`` as a live source (see the module docstring).

    ``host``: the address to listen on (all interfaces for a real phone; 127.0.0.1
    for the emulated one); ``port``: `DEFAULT_PORT` for a real phone, a free one (0)
    for the emulated phone. ``speed``: how fast the
    emulated phone plays its recording; ``clock``: the `PlaybackClock` it plays by
    instead (a mixed session's, shared with emulated BLE sensors so that they play the
    recording together). ``on_source_timeline``: False when a real sensor shares the
    session (the emulated phone's samples are then mapped onto the session clock).
    ``devices`` may name a BLE sensor at the other placement: it is not this session's.
    """

    def __init__(
        self,
        devices: Mapping[str, str],
        *,
        host: str | None = None,
        port: int | None = None,
        speed: float = 1.0,
        clock: PlaybackClock | None = None,
        on_source_timeline: bool = True,
        warn_after_s: float = WARN_AFTER_S,
        emulator_options: Mapping[str, Any] | None = None,
    ) -> None:
        placement, self.phone = the_phone(devices)
        if self.phone.is_phyphox:
            raise DeviceError("phyphox is polled, not pushed: use PhyphoxSession")
        super().__init__(placement, source_timeline=self.phone.is_emulator and on_source_timeline)
        self.playback_clock = clock
        emulated = self.phone.is_emulator
        self.host = host or ("127.0.0.1" if emulated else "0.0.0.0")
        # The emulated phone is told the port: any free one does.
        self.port = port if port is not None else (0 if emulated else DEFAULT_PORT)
        self.speed = speed
        self.warn_after_s = warn_after_s
        self.emulator_options = dict(emulator_options or {})
        self.token = new_token()
        self.receiver = PushReceiver(self.token, self._on_body, host=self.host, port=self.port)
        self.assembler = PushAssembler(self.placement, self.phone.convention)
        self.url = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._emulator: Any = None
        self._last_request_s: float | None = None
        self._warned = False
        self._paused = False
        self._waiting_since_s: float | None = None

    @property
    def counts(self) -> ReceiverCounts:
        """The receiver's requests by outcome (bad ones included)."""
        return self.receiver.counts

    @property
    def devices(self) -> dict[str, DeviceInfo]:
        model = (
            "emulated phone (Sensor Logger)" if self.phone.is_emulator else "phone (Sensor Logger)"
        )
        protocol = f"{PROTOCOL} ({self.phone.convention.value} convention)"
        # The address without the token: a recording shared later need not carry it.
        address = self.url.rsplit("/", 2)[0] if self.url else None
        return {self.placement: DeviceInfo(model=model, protocol=protocol, address=address)}

    @property
    def requests_rejected(self) -> int:
        """Requests the receiver answered 4xx."""
        return self.receiver.counts.bad

    async def open(self, origin_s: float | None = None) -> None:
        """Start listening (and the emulated phone); raises `DeviceError` when the port
        is taken or the recording cannot be read (then nothing listens). ``origin_s``:
        the session clock's zero (loop time; now when None)."""
        loop = asyncio.get_running_loop()
        self._set_origin(origin_s)
        try:
            port = await self.receiver.start()
        except OSError as exc:
            raise DeviceError(
                f"cannot listen on port {self.port} for the phone ({exc.strerror or exc}); "
                "another tracker live may be running, or choose another port (--phone-port)"
            ) from exc
        shown = "127.0.0.1" if self.phone.is_emulator else lan_address()
        self.url = f"http://{shown}:{port}{self.receiver.path}"
        if self.phone.is_emulator:
            try:
                await self._start_emulator(port)
            except BaseException:
                await self.receiver.close()
                raise
        else:
            self._event("listening", f"enter {self.url} in Sensor Logger's HTTP Push")
        self._tasks.append(loop.create_task(self._watch()))

    async def _start_emulator(self, port: int) -> None:
        from tracker.devices import phone_emulator

        assert self.phone.emulator_path is not None
        samples = load_placement_samples(self.phone.emulator_path, self.placement)
        self._emulator = phone_emulator.EmulatedPhone(
            samples,
            f"http://127.0.0.1:{port}{self.receiver.path}",
            speed=self.speed,
            clock=self.playback_clock,
            **self.emulator_options,
        )
        # Its clock reads the source's time (epoch ns = base + source seconds), so the
        # samples go back on the source's timeline: offset = the source's first time.
        self._clock = self.emulated_clock(float(samples.time_s[0]), self.speed)
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._run_emulator()))

    async def _run_emulator(self) -> None:
        assert self._emulator is not None
        try:
            await self._emulator.run()
        except Exception as exc:  # the emulated phone failing is a failed stream
            self._event("failed", repr(exc))
        self.assembler.skip_missing()
        self._release(final=True)
        self._event("finished", "emulated recording ended")
        self._end()

    # -- requests -------------------------------------------------------------------------
    def _on_body(self, body: bytes, arrival_s: float) -> tuple[int, str]:
        host_s = arrival_s - self._origin_s
        self._last_request_s = host_s
        if self._paused:
            self._paused = False
            self._stats.reconnects += 1
            self._event("reconnected")
        # Kept before decoding: a body this decoder refuses is still in the recording.
        self._queue.put_nowait(RawPacket(self.placement, PROTOCOL, host_s, None, body))
        self._stats.packets += 1
        try:
            message = decode_message(body)
        except InputError as exc:
            self._stats.malformed += 1
            return 400, f"not a Sensor Logger push message: {exc}"
        self._stats.decoded_packets += 1
        self.assembler.add(message)
        if self.assembler.waiting and self._waiting_since_s is None:
            self._waiting_since_s = host_s
        elif not self.assembler.waiting:
            self._waiting_since_s = None
        self._release(final=False, host_s=host_s)
        return 200, "ok"

    def _release(self, *, final: bool, host_s: float | None = None) -> None:
        self.emit_block(self.assembler.take(final=final), host_s)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            now = self._now_s()
            if self._last_request_s is None:
                if not self._warned and now > self.warn_after_s:
                    self._warned = True
                    self._event("waiting", WAITING_HINT)
                continue
            if not self._paused and now - self._last_request_s > PAUSE_AFTER_S:
                self._paused = True
                self._stats.disconnects += 1
                self._gap_reason = "no requests from the phone"
                self._event("disconnected", "no requests from the phone; waiting for it")
            if self._waiting_since_s is not None and now - self._waiting_since_s > REORDER_WAIT_S:
                self._waiting_since_s = None
                self.assembler.skip_missing()
                self._release(final=False)

    async def close(self) -> None:
        """Stop listening (and the emulated phone); ends the iteration. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.receiver.close()
        self.assembler.skip_missing()
        self._release(final=True)
        self._end()
