"""The BLE session: scan for sensors, connect, stream decoded sample blocks.

This is the one module that uses bleak (the bumble backend aside). Everything below
the GATT layer is injected through a `BleTransport` (default: the platform's stack;
tests and ``emulator:`` devices: `tracker.devices.bumble_backend`), so the code path is
the same for real and emulated sensors. Which sensors exist is not decided here: a
DEVICE string becomes a `SensorTarget` in `tracker.devices.sources`, which also creates
emulated sensors.

Entry points
------------
* `scan` lists supported devices in range (kind, name, address, RSSI).
* `BleSession` opens one or two sensors, one per placement, each a BLE address or name
  or a `SensorTarget`, and yields a single async stream of `StreamItem`:

  - `SensorSamples` blocks per placement (sensor frame, docs/frames.md), their
    ``time_s`` on the sensor's own clock shifted by a constant: so that both sensors
    start near the session's host clock (`tracker.devices.stream_tracking.ClockMapper`),
    or by the known constant of the target's clock (emulated sensors: the source
    recording's timeline);
  - `RawPacket`: every data notification as received, for the recording writer;
  - `Gap`: a stretch lost to a disconnect, known once the sensor is back;
  - `LinkEvent`: connected, disconnected, reconnected, reconnect_failed, finished.

  ::

      async with BleSession({"lumbar": "AA:BB:CC:DD:EE:FF"}) as session:
          async for item in session:
              ...                      # break (or session.close()) to stop

  Iteration ends when every sensor has finished (an emulated recording ran out, or a
  sensor gave up reconnecting) or the session is closed.

Errors are `tracker.errors.DeviceError` subclasses (tracker.devices.kinds): no adapter /
BlueZ not running, device not found, unknown device kind, missing GATT service.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakError

from tracker.devices.base import DecodeError, DecodeReason
from tracker.devices.kinds import (
    BluetoothUnavailableError,
    DeviceKind,
    DeviceNotFoundError,
    HostProtocol,
    ServiceMissingError,
    StreamConfig,
    StreamStartError,
    UnknownDeviceError,
)
from tracker.devices.stream_tracking import (
    ClockMapper,
    DeviceClock,
    SequenceTracker,
    StreamStats,
    TimestampGapTracker,
)
from tracker.devices.supported import (
    get_kind,
    kind_of_advertisement,
    kind_of_services,
    supported_kinds,
    supported_kinds_text,
)
from tracker.errors import DeviceError, InputError
from tracker.recording.model import DeviceInfo, Gap, RawPacket
from tracker.samples import SensorSamples
from tracker.units import PLACEMENTS

BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER_UUID = "00002a24-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID = "00002a26-0000-1000-8000-00805f9b34fb"

_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_UUID_RE = re.compile(r"^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")  # macOS ids

_BLUETOOTH_HELP = (
    "Bluetooth is not available: no adapter found, it is powered off, or BlueZ is not "
    "running (Linux: `sudo systemctl start bluetooth`, then `bluetoothctl power on`); "
    "without hardware, use an emulator:PATH device"
)


# --- transport and scanning -------------------------------------------------------------


@dataclass(frozen=True)
class BleTransport:
    """Which bleak backends to use. The default (all None) is the platform's stack.

    ``backend_kwargs`` are passed to every `BleakScanner` / `BleakClient` (bleak forwards
    unknown keywords to the backend), e.g. ``{"bumble_world": world}``.
    """

    scanner_backend: type | None = None
    client_backend: type | None = None
    backend_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def scanner_kwargs(self) -> dict[str, Any]:
        return {"backend": self.scanner_backend, **self.backend_kwargs}

    def client_kwargs(self) -> dict[str, Any]:
        return {"backend": self.client_backend, **self.backend_kwargs}


@dataclass(frozen=True)
class FoundDevice:
    """A device seen while scanning; ``kind`` is None when it is not supported."""

    kind: str | None
    name: str | None
    address: str
    rssi: int | None


def _bluetooth_unavailable(exc: BaseException) -> bool:
    if isinstance(
        exc, BleakBluetoothNotAvailableError | FileNotFoundError | ConnectionRefusedError
    ):
        return True
    if isinstance(exc, BleakDBusError):
        return "ServiceUnknown" in exc.dbus_error or "org.bluez" in str(exc)
    return False


@contextlib.contextmanager
def _bluetooth_errors() -> Iterator[None]:
    """Turn "there is no Bluetooth here" into one clear `BluetoothUnavailableError`."""
    try:
        yield
    except (BleakError, OSError) as exc:
        if _bluetooth_unavailable(exc):
            raise BluetoothUnavailableError(f"{_BLUETOOTH_HELP} ({exc})") from exc
        raise


async def scan(
    timeout_s: float,
    *,
    transport: BleTransport | None = None,
    include_unsupported: bool = False,
) -> list[FoundDevice]:
    """Devices advertising within ``timeout_s``, strongest signal first.

    Only supported kinds unless ``include_unsupported``.
    """
    transport = transport or BleTransport()
    with _bluetooth_errors():
        found = await BleakScanner.discover(
            timeout=timeout_s, return_adv=True, **transport.scanner_kwargs()
        )
    result = []
    for device, adv in found.values():
        name = adv.local_name or device.name
        kind = kind_of_advertisement(name, adv.service_uuids, adv.manufacturer_data)
        if kind is None and not include_unsupported:
            continue
        result.append(FoundDevice(kind.kind if kind else None, name, device.address, adv.rssi))
    result.sort(key=lambda d: -(d.rssi if d.rssi is not None else -1000))
    return result


# --- stream items ------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkEvent:
    """A change of a sensor's link: connected, disconnected, reconnected,
    reconnect_failed, gave_up, finished."""

    placement: str
    host_time_s: float
    event: str
    detail: str = ""


StreamItem = SensorSamples | Gap | RawPacket | LinkEvent


async def until_done(queue: asyncio.Queue[Any], done: object) -> AsyncIterator[StreamItem]:
    """The items put on ``queue`` up to ``done`` (a session's iteration)."""
    while True:
        item = await queue.get()
        if item is done:
            return
        yield item


@dataclass(frozen=True)
class ReconnectPolicy:
    """Back-off between reconnect attempts after a drop.

    The n-th attempt waits ``initial_delay_s * factor**n``, at most ``max_delay_s``.
    ``give_up_after_s``: stop trying after that long (None: until the session closes).
    """

    initial_delay_s: float = 0.5
    max_delay_s: float = 8.0
    factor: float = 2.0
    give_up_after_s: float | None = None


# --- targets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SensorTarget:
    """One sensor to open: a BLE address or advertised name (``target``).

    ``transport``: how to reach it (None: the session's); ``kind``: its protocol (None:
    recognised from its advertisement or services); ``clock``: how its device times go
    on the recording's timeline (None: a `ClockMapper` onto the session clock, as for
    every real sensor; a clock keeps state, so a target serves one session);
    ``source_done``: set when the source has sent everything (an emulated recording ran
    out), which finishes the link.
    """

    target: str
    transport: BleTransport | None = None
    kind: str | None = None
    clock: DeviceClock | None = None
    source_done: asyncio.Event | None = None


# --- one sensor --------------------------------------------------------------------------


async def negotiated_mtu(client: BleakClient) -> int:
    """The connection's ATT MTU.

    bleak's BlueZ backend reports 23 until it is told to ask BlueZ (bleak's own
    ``mtu_size.py`` example does the same private call); a firmware told 23 would send
    one sample per notification, too few at Linux's default connection interval.
    """
    backend = getattr(client, "_backend", None)
    acquire = getattr(backend, "_acquire_mtu", None)
    if acquire is not None and getattr(backend, "_mtu_size", 0) is None:
        with contextlib.suppress(BleakError, StopIteration, AssertionError, OSError):
            await acquire()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Using default MTU value" when BlueZ refused
        return client.mtu_size


class _BleakGattIO:
    """`tracker.devices.kinds.GattIO` over a connected `BleakClient`."""

    def __init__(self, client: BleakClient, mtu: int) -> None:
        self.client = client
        self._mtu = mtu

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        await self.client.write_gatt_char(char_uuid, data, response=response)

    async def read(self, char_uuid: str) -> bytes:
        return bytes(await self.client.read_gatt_char(char_uuid))

    async def subscribe(self, char_uuid: str, callback: Callable[[bytes], None]) -> None:
        def on_notify(_sender: Any, data: bytearray) -> None:
            callback(bytes(data))

        await self.client.start_notify(char_uuid, on_notify)

    def mtu(self) -> int:
        return self._mtu


class SensorLink:
    """One sensor at one placement: find, connect, start, decode, reconnect.

    ``emit`` receives every `StreamItem` (called from the event loop, never blocks).
    ``clock_origin_s`` is the loop time the session clock starts at. ``clock`` puts device
    times on the recording's timeline (None: a `ClockMapper` onto the session clock).
    ``source_done`` (emulated sensors) is set when the emulator has sent everything.
    """

    def __init__(
        self,
        placement: str,
        target: str,
        *,
        emit: Callable[[StreamItem], None],
        transport: BleTransport | None = None,
        kind: str | None = None,
        config: StreamConfig | None = None,
        reconnect: ReconnectPolicy | None = None,
        clock: DeviceClock | None = None,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        clock_origin_s: float | None = None,
        source_done: asyncio.Event | None = None,
    ) -> None:
        if placement not in PLACEMENTS:
            raise DeviceError(f"unknown placement {placement!r}; expected one of {PLACEMENTS}")
        self.placement = placement
        self.target = target
        self.transport = transport or BleTransport()
        self.forced_kind = get_kind(kind) if kind is not None else None
        self.kind: DeviceKind | None = self.forced_kind
        self.config = config or StreamConfig()
        self.reconnect_policy = reconnect or ReconnectPolicy()
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.stats = StreamStats()
        self.device_info = DeviceInfo()
        #: Set once the link will produce nothing more.
        self.finished = asyncio.Event()
        self._emit = emit
        self._loop = asyncio.get_running_loop()
        self._origin_s = self._loop.time() if clock_origin_s is None else clock_origin_s
        self._clock: DeviceClock = clock if clock is not None else ClockMapper()
        self._seq = SequenceTracker()
        self._ts_gaps = TimestampGapTracker()
        self._source_done = source_done
        self._device: BLEDevice | None = None
        self._client: BleakClient | None = None
        self._protocol: HostProtocol | None = None
        self._raw: asyncio.Queue[tuple[float, str, bytes]] = asyncio.Queue()
        self._dropped = asyncio.Event()
        self._closing = False
        self._own_disconnect = False
        self.battery_percent: int | None = None
        #: An unexpected error that ended this link's stream (re-raised by BleSession).
        self.error: Exception | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._last_time_s: float | None = None
        self._gap_start_s: float | None = None
        self._gap_reason = ""

    def _now_s(self) -> float:
        return self._loop.time() - self._origin_s

    def _event(self, event: str, detail: str = "") -> None:
        self._emit(LinkEvent(self.placement, self._now_s(), event, detail))

    # -- opening ------------------------------------------------------------------------
    async def open(self) -> None:
        """Find the device, connect, check its service and start streaming.

        Raises a `DeviceError` subclass when the device is not found, unsupported or
        lacks its service, or Bluetooth is unavailable.
        """
        await self._find()
        await self._connect_and_start()
        self._event("connected", f"{self.device_info.model} {self.device_info.address}")
        self._tasks = [
            self._loop.create_task(self._consume(), name=f"ble-consume-{self.placement}"),
            self._loop.create_task(self._supervise(), name=f"ble-supervise-{self.placement}"),
        ]
        if self._source_done is not None:
            self._tasks.append(self._loop.create_task(self._watch_source()))

    async def _find(self) -> None:
        target = self.target
        seen: dict[str, AdvertisementData] = {}

        def match(device: BLEDevice, adv: AdvertisementData) -> bool:
            name = adv.local_name or device.name
            if _MAC_RE.match(target) or _UUID_RE.match(target):
                hit = device.address.upper() == target.upper()
            else:
                hit = name is not None and name.casefold() == target.casefold()
            if hit:
                seen[device.address] = adv
            return hit

        with _bluetooth_errors():
            device = await BleakScanner.find_device_by_filter(
                match, timeout=self.scan_timeout_s, **self.transport.scanner_kwargs()
            )
        if device is None:
            raise DeviceNotFoundError(
                f"no BLE device {target!r} found within {self.scan_timeout_s:g} s; is it on, "
                "charged and in range, and not connected to another app? "
                "(`tracker scan` lists devices)"
            )
        adv = seen[device.address]
        self._device = device
        name = adv.local_name or device.name
        if self.kind is None:
            self.kind = kind_of_advertisement(name, adv.service_uuids, adv.manufacturer_data)
        self.device_info = DeviceInfo(
            model=name or "unknown",
            protocol=self.kind.kind if self.kind else None,
            address=device.address,
        )

    async def _connect_and_start(self) -> None:
        assert self._device is not None
        if self._client is None:
            self._client = BleakClient(
                self._device,
                disconnected_callback=self._on_disconnected,
                timeout=self.connect_timeout_s,
                **self.transport.client_kwargs(),
            )
        client = self._client
        try:
            with _bluetooth_errors():
                await client.connect()
        except (BleakError, TimeoutError, OSError) as exc:
            raise DeviceNotFoundError(
                f"could not connect to {self.target!r} ({self._device.address}): "
                f"{exc or type(exc).__name__}"
            ) from exc
        try:
            await self._start_on(client)
        except BaseException:
            self._own_disconnect = True
            try:
                with contextlib.suppress(BleakError, TimeoutError, OSError):
                    await client.disconnect()
            finally:
                self._own_disconnect = False
            raise
        # A drop noticed while starting (or our own disconnect of a failed start) is old news.
        self._dropped.clear()

    async def _start_on(self, client: BleakClient) -> None:
        services = [s.uuid for s in client.services]
        kind = self.kind
        if kind is None:
            kind = kind_of_services(services)
        name = self.device_info.model
        if kind is None:
            raise UnknownDeviceError(
                f"device {name!r} ({client.address}) is not a supported sensor (it offers "
                f"none of their services); supported kinds: {supported_kinds_text()}"
            )
        if kind.service_uuid not in services:
            raise ServiceMissingError(
                f"device {name!r} ({client.address}) lacks the {kind.kind} service "
                f"{kind.service_uuid}; supported kinds: {supported_kinds_text()}"
            )
        self.kind = kind
        mtu = self.stats.mtu = await negotiated_mtu(client)
        if mtu < kind.min_mtu:
            raise StreamStartError(
                f"device {name!r} negotiated an ATT MTU of {mtu} bytes; "
                f"{kind.kind} needs at least {kind.min_mtu}"
            )
        await self._read_device_info(client)
        io = _BleakGattIO(client, mtu)
        if self._protocol is None:
            # Kept across reconnects: it holds the device clock's unwrapping state.
            self._protocol = kind.host_protocol()
            self._seq = SequenceTracker(self._protocol.seq_modulus)
        else:
            self._protocol.reset()
        try:
            setup = await self._protocol.start(io, self.config, self._on_data)
        except BleakError as exc:
            raise StreamStartError(f"device {name!r} did not start streaming: {exc}") from exc
        self.device_info = replace(
            self.device_info,
            protocol=kind.kind,
            sample_rate_hz=setup.sample_rate_hz,
            acc_range_g=setup.acc_range_g,
            gyro_range_dps=setup.gyro_range_dps,
        )

    async def _read_device_info(self, client: BleakClient) -> None:
        chars = {c.uuid for c in client.services.characteristics.values()}
        info = self.device_info
        if MODEL_NUMBER_UUID in chars:
            with contextlib.suppress(BleakError, UnicodeDecodeError):
                model = (await client.read_gatt_char(MODEL_NUMBER_UUID)).decode("utf-8")
                info = replace(info, model=model.strip("\x00 ") or info.model)
        if FIRMWARE_REVISION_UUID in chars:
            with contextlib.suppress(BleakError, UnicodeDecodeError):
                fw = (await client.read_gatt_char(FIRMWARE_REVISION_UUID)).decode("utf-8")
                info = replace(info, firmware=fw.strip("\x00 ") or None)
        self.device_info = info
        if BATTERY_LEVEL_UUID in chars:
            with contextlib.suppress(BleakError):
                value = await client.read_gatt_char(BATTERY_LEVEL_UUID)
                self.battery_percent = value[0] if value else None

    # -- receiving ----------------------------------------------------------------------
    def _on_data(self, char_uuid: str, payload: bytes) -> None:
        # Notification callbacks only enqueue: decoding happens in the consumer task.
        self._raw.put_nowait((self._loop.time(), char_uuid, payload))

    async def _consume(self) -> None:
        try:
            while True:
                batch = [await self._raw.get()]
                while not self._raw.empty():
                    batch.append(self._raw.get_nowait())
                try:
                    blocks = [b for item in batch if (b := self._process(*item)) is not None]
                finally:
                    for _ in batch:
                        self._raw.task_done()
                if blocks:
                    self._emit_block(SensorSamples.concat(blocks))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A bug, not a bad payload (those are counted in _process): end this sensor's
            # stream loudly; BleSession re-raises it when the iteration ends.
            self.error = exc
            self._event("failed", repr(exc))
            self.finished.set()
            raise

    async def _drain(self) -> None:
        """Wait until every notification received so far is decoded."""
        consumer = self._tasks[0] if self._tasks else None
        if consumer is None or consumer.done():
            return
        join = asyncio.ensure_future(self._raw.join())
        await asyncio.wait({join, consumer}, return_when=asyncio.FIRST_COMPLETED)
        join.cancel()

    def _process(self, arrival_s: float, char_uuid: str, payload: bytes) -> SensorSamples | None:
        host_s = arrival_s - self._origin_s
        protocol = self._protocol
        if protocol is None:
            return None
        kind = self.kind.kind if self.kind else ""
        self._emit(
            RawPacket(self.placement, kind, host_s, protocol.payload_time_s(payload), payload)
        )
        self.stats.packets += 1
        try:
            packets = protocol.decode(char_uuid, payload)
        except (DecodeError, InputError, ValueError) as exc:
            # A payload the codec rejects (InputError / ValueError: a field it cannot
            # use) is counted and skipped; the stream goes on.
            self.stats.malformed += 1
            reason = exc.reason if isinstance(exc, DecodeError) else DecodeReason.INVALID
            if reason is DecodeReason.TRUNCATED:
                self.stats.truncated += 1
            elif reason is DecodeReason.OVERSIZED:
                self.stats.oversized += 1
            return None
        blocks = []
        for packet in packets:
            if len(packet) == 0 or packet.acc_mps2 is None or packet.gyro_rad_s is None:
                continue
            self.stats.decoded_packets += 1
            if packet.seq is not None:
                self.stats.lost_packets += self._seq.update(packet.seq)
            t = np.asarray(packet.device_time_s, dtype=np.float64)
            missing = self._ts_gaps.update(float(t[0]), float(t[-1]), len(t))
            if missing:
                self.stats.timestamp_gaps += 1
                self.stats.lost_samples_estimate += missing
            offset = self._clock.map((float(t[-1]),), host_s)
            times = t + offset
            keep = np.ones(len(times), dtype=bool)
            if self._last_time_s is not None:
                keep = times > self._last_time_s  # drop repeats: blocks stay in time order
            if not keep.any():
                continue
            block = SensorSamples(
                self.placement, times[keep], packet.acc_mps2[keep], packet.gyro_rad_s[keep]
            )
            blocks.append(block)
            self._last_time_s = float(block.time_s[-1])
        return SensorSamples.concat(blocks) if blocks else None

    def _emit_block(self, block: SensorSamples) -> None:
        if self._gap_start_s is not None:
            self._emit(
                Gap(self.placement, self._gap_start_s, float(block.time_s[0]), self._gap_reason)
            )
            self._gap_start_s = None
        self.stats.samples += len(block)
        self._emit(block)

    # -- drops and reconnects -----------------------------------------------------------
    def _on_disconnected(self, _client: BleakClient) -> None:
        # bleak calls this for every disconnect, ours included.
        if not self._closing and not self._own_disconnect:
            self._dropped.set()

    async def _supervise(self) -> None:
        policy = self.reconnect_policy
        while not self._closing:
            await self._dropped.wait()
            self._dropped.clear()
            if self._closing:
                return
            self.stats.disconnects += 1
            self._event("disconnected")
            # Everything received before the drop is still decoded (the queue drains).
            await self._drain()
            if self._gap_start_s is None and self._last_time_s is not None:
                self._gap_start_s = self._last_time_s
                self._gap_reason = "disconnected"
            self._seq.reset()
            self._ts_gaps.reset()
            if self._source_done is not None and self._source_done.is_set():
                return  # the emulated recording ended; _watch_source finishes the link
            delay_s = policy.initial_delay_s
            first_try_s = self._loop.time()
            while not self._closing:
                await asyncio.sleep(delay_s)
                if self._closing:
                    return
                try:
                    await self._connect_and_start()
                except (DeviceError, BleakError, TimeoutError, OSError) as exc:
                    self._event("reconnect_failed", str(exc))
                    delay_s = min(delay_s * policy.factor, policy.max_delay_s)
                    if (
                        policy.give_up_after_s is not None
                        and self._loop.time() - first_try_s > policy.give_up_after_s
                    ):
                        self._event("gave_up", str(exc))
                        self._finish_gap()
                        self.finished.set()
                        return
                    continue
                self.stats.reconnects += 1
                self._event("reconnected")
                break

    def _finish_gap(self) -> None:
        """Report a gap that no sample after it closes (the sensor never came back)."""
        if self._gap_start_s is not None:
            # Where the sensor's timeline is now.
            end_s = max(self._gap_start_s, self._clock.timeline_now_s(self._now_s()))
            self._emit(Gap(self.placement, self._gap_start_s, end_s, self._gap_reason))
            self._gap_start_s = None

    async def _watch_source(self) -> None:
        assert self._source_done is not None
        await self._source_done.wait()
        # The last notifications are still travelling through the virtual link.
        await asyncio.sleep(0.05)
        await self._drain()
        self._event("finished", "emulated recording ended")
        self.finished.set()

    async def close(self) -> None:
        """Stop the stream, disconnect, end the tasks (idempotent, never raises)."""
        if self._closing:
            return
        self._closing = True
        client, protocol = self._client, self._protocol
        if client is not None and client.is_connected:
            if protocol is not None:
                with contextlib.suppress(BleakError, DeviceError, TimeoutError, OSError):
                    async with asyncio.timeout(2.0):
                        await protocol.stop(_BleakGattIO(client, self.stats.mtu or 23))
            with contextlib.suppress(BleakError, TimeoutError, OSError):
                await client.disconnect()
        # Decode what already arrived before the consumer goes.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self._drain()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # a consumer failure was recorded in self.error
        self._tasks = []
        self._finish_gap()
        self.finished.set()


# --- sessions ----------------------------------------------------------------------------

_DONE = object()


def check_placements(devices: Mapping[str, object]) -> None:
    """Raise `DeviceError` unless ``devices`` names at least one known placement, and
    only known ones."""
    if not devices:
        raise DeviceError("no sensor given: name a device for lumbar and/or sacrum")
    unknown = [p for p in devices if p not in PLACEMENTS]
    if unknown:
        raise DeviceError(f"unknown placement {unknown[0]!r}; expected one of {PLACEMENTS}")


class BleSession:
    """One or two sensors streaming at once, as one async stream of `StreamItem`.

    ``devices`` maps placement (``"lumbar"``, ``"sacrum"``) to a BLE address or
    advertised name, or to a `SensorTarget` (emulated sensors: `tracker.devices.sources`).
    ``transport`` selects the bleak backends of targets that name none (tests pass the
    bumble ones).
    """

    def __init__(
        self,
        devices: Mapping[str, str | SensorTarget],
        *,
        transport: BleTransport | None = None,
        config: StreamConfig | None = None,
        reconnect: ReconnectPolicy | None = None,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        check_placements(devices)
        self.targets = {p: _target(d) for p, d in devices.items()}
        self.transport = transport
        self.config = config
        self.reconnect = reconnect
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.links: dict[str, SensorLink] = {}
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._closed = False
        self._watcher: asyncio.Task[None] | None = None

    @property
    def placements(self) -> tuple[str, ...]:
        return tuple(self.targets)

    @property
    def stats(self) -> dict[str, StreamStats]:
        return {p: link.stats for p, link in self.links.items()}

    @property
    def devices(self) -> dict[str, DeviceInfo]:
        """What each sensor reported (model, firmware, rate, ranges) once open."""
        return {p: link.device_info for p, link in self.links.items()}

    @property
    def battery_percent(self) -> dict[str, int | None]:
        """Battery level read at the latest (re)connect, None when not offered."""
        return {p: link.battery_percent for p, link in self.links.items()}

    async def __aenter__(self) -> BleSession:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self, origin_s: float | None = None) -> None:
        """Connect every sensor and start streaming. ``origin_s``: the session clock's
        zero (loop time; now when None; a mixed session gives its phone the same)."""
        loop = asyncio.get_running_loop()
        origin_s = loop.time() if origin_s is None else origin_s
        try:
            for placement, target in self.targets.items():
                self.links[placement] = SensorLink(
                    placement,
                    target.target,
                    emit=self._queue.put_nowait,
                    transport=target.transport or self.transport,
                    kind=target.kind,
                    config=self.config,
                    reconnect=self.reconnect,
                    clock=target.clock,
                    scan_timeout_s=self.scan_timeout_s,
                    connect_timeout_s=self.connect_timeout_s,
                    clock_origin_s=origin_s,
                    source_done=target.source_done,
                )
            for link in self.links.values():
                await link.open()
        except BaseException:
            await self.close()
            raise
        self._watcher = loop.create_task(self._watch_finished())

    async def _watch_finished(self) -> None:
        await asyncio.gather(*(link.finished.wait() for link in self.links.values()))
        self._queue.put_nowait(_DONE)

    async def __aiter__(self) -> AsyncIterator[StreamItem]:
        async for item in until_done(self._queue, _DONE):
            yield item
        for placement, link in self.links.items():
            if link.error is not None:
                raise DeviceError(f"the {placement} stream failed: {link.error!r}") from link.error

    async def close(self) -> None:
        """Stop every sensor; ends the iteration. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for link in self.links.values():
            await link.close()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        self._queue.put_nowait(_DONE)


def _target(device: str | SensorTarget) -> SensorTarget:
    if isinstance(device, SensorTarget):
        return device
    text = device.strip()
    if not text:
        raise DeviceError("empty device: give a BLE address or name")
    return SensorTarget(text)


def describe_supported_kinds() -> list[tuple[str, str]]:
    """(kind, description) of every supported kind, for `tracker scan --help` and errors."""
    return [(k.kind, k.description) for k in supported_kinds().values()]


__all__ = [
    "BleSession",
    "BleTransport",
    "BluetoothUnavailableError",
    "DeviceNotFoundError",
    "FoundDevice",
    "LinkEvent",
    "RawPacket",
    "ReconnectPolicy",
    "SensorLink",
    "SensorTarget",
    "ServiceMissingError",
    "StreamItem",
    "StreamStartError",
    "UnknownDeviceError",
    "describe_supported_kinds",
    "scan",
]
