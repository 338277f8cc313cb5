"""Virtual BLE sensors: bumble GATT servers that speak a supported protocol byte for byte.

Each emulated sensor joins a `VirtualBleWorld` (tracker.devices.bumble_backend) as a
peripheral: it advertises like the real device (name, service UUIDs), serves the
protocol's GATT service plus Battery and Device Information, obeys the protocol's
control commands (start, stop, rate, range) and streams one placement's `SensorSamples`
as notifications, paced by a `PlaybackClock` at real time x ``speed`` (``speed=None``:
as fast as the loop runs). The samples are in the sensor frame of docs/frames.md.

Sensors that share one `PlaybackClock` (`tracker.devices.sources` gives all emulated
sensors of a session one) sample the recording together, as two real sensors on one body
measure the same moment: each stream waits for the clock to start, and grid time t is
sent when the clock reads t. A sensor with a clock of its own starts it with its stream.

The device clock keeps running while the link is down, as on real hardware: after a
reconnect and a new start, a paced stream resumes at "now" and the samples measured in
between are lost, so the host sees a real gap in device time (a flat-out stream,
``speed=None``, has no clock to run and resumes where it stopped).

`Faults` injects what tests need: notifications that never arrive, a disconnect after
N notifications, malformed / truncated / oversized notifications, a device without the
protocol's service.

Every public coroutine must run on the world's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from bumble import core, hci
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService

from tracker.devices import movella_dot as dot
from tracker.devices import movesense as ms
from tracker.devices import polar_pmd as pmd
from tracker.devices import tracker_imu as imu
from tracker.devices.base import DecodeError
from tracker.devices.bumble_backend import VirtualBleWorld
from tracker.devices.kinds import UnknownDeviceError
from tracker.devices.playback import PlaybackClock
from tracker.errors import DeviceError
from tracker.samples import SensorSamples

#: Advertising interval of every emulated sensor; short so that discovery is quick.
ADVERTISING_INTERVAL_MS = 20.0

#: Kinds of malformed notification `Faults.malformed` can inject.
MALFORMED_KINDS = ("truncated", "oversized", "empty", "garbage")

# Bluetooth core spec error codes used as disconnect reasons.
REASON_REMOTE_USER_TERMINATED = hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR
REASON_LINK_LOSS = hci.HCI_CONNECTION_TIMEOUT_ERROR


@dataclass(frozen=True)
class Faults:
    """Faults an emulated sensor injects. Indices count data notifications from 0.

    ``drop``: notifications produced (their sequence numbers used) but never sent.
    ``disconnect_after``: terminate the link once this many notifications were sent
    (once per sensor), with ``disconnect_reason`` (0x13 remote user terminated, 0x08 link
    loss). ``malformed``: index -> one of `MALFORMED_KINDS`; the notification sent in
    place of the real one. ``lacks_service``: the protocol's GATT service is absent.
    """

    drop: frozenset[int] = frozenset()
    disconnect_after: int | None = None
    disconnect_reason: int = REASON_LINK_LOSS
    malformed: Mapping[int, str] = field(default_factory=dict)
    lacks_service: bool = False

    def __post_init__(self) -> None:
        bad = {k for k in self.malformed.values() if k not in MALFORMED_KINDS}
        if bad:
            raise ValueError(f"unknown malformed kinds {sorted(bad)}; use {MALFORMED_KINDS}")


@dataclass
class EmulatorStats:
    """What an emulated sensor did (for tests and the demo)."""

    produced: int = 0  # notifications produced by the device clock (sent or not)
    sent: int = 0  # notifications handed to the link
    dropped: int = 0  # by `Faults.drop`
    malformed: int = 0  # by `Faults.malformed`
    skipped_while_disconnected: int = 0
    disconnects_injected: int = 0
    starts: int = 0
    stops: int = 0  # stop commands received


@dataclass(frozen=True)
class Packet:
    """One data notification the device produces.

    ``time_s`` is the grid time (seconds after the first source sample) of the newest
    sample it carries: a paced packet is sent when that sample would have been measured.
    ``next_sample`` is the grid index of the first sample not carried by this or an
    earlier packet.
    """

    time_s: float
    payload: bytes
    next_sample: int


def advertising_data(
    name: str, service_uuids: list[str], manufacturer: tuple[int, bytes] | None = None
) -> bytes:
    """Legacy advertising data: flags, service UUIDs, manufacturer-specific data (company
    id, payload) and the name (shortened to fit 31 B).

    bumble's virtual controller answers scan requests with the advertising data, so the
    name has to be in the advertisement itself (ble-testing.md pitfall 4).
    """
    flags = (
        core.AdvertisingData.LE_GENERAL_DISCOVERABLE_MODE_FLAG
        | core.AdvertisingData.BR_EDR_NOT_SUPPORTED_FLAG
    )
    structures: list[tuple[int, bytes]] = [(core.AdvertisingData.FLAGS, bytes([flags]))]
    by_size: dict[int, list[bytes]] = {}
    for text in service_uuids:
        raw = core.UUID(text).to_bytes()
        by_size.setdefault(len(raw), []).append(raw)
    list_types = {
        2: core.AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        4: core.AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        16: core.AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    }
    for size, raws in sorted(by_size.items()):
        structures.append((list_types[size], b"".join(raws)))
    if manufacturer is not None:
        company_id, payload = manufacturer
        structures.append(
            (
                core.AdvertisingData.MANUFACTURER_SPECIFIC_DATA,
                company_id.to_bytes(2, "little") + payload,
            )
        )
    used = sum(2 + len(data) for _, data in structures)
    encoded = name.encode("utf-8")
    room = 31 - used - 2
    if room < 1:
        raise ValueError(f"advertising data for {name!r} does not fit in 31 bytes")
    if len(encoded) <= room:
        structures.append((core.AdvertisingData.COMPLETE_LOCAL_NAME, encoded))
    else:
        structures.append((core.AdvertisingData.SHORTENED_LOCAL_NAME, encoded[:room]))
    return bytes(core.AdvertisingData(structures))


class EmulatedSensor:
    """Base class of the virtual peripherals: GATT server, advertising, pacing, faults.

    The device samples the source motion on its own uniform grid at `rate_hz` (the
    source is linearly interpolated when the rates differ, as a real sensor samples the
    real motion at its own rate). A protocol subclass sets `kind`, builds its GATT
    service (`protocol_service`), handles control writes by calling `start_stream` /
    `stop_stream` / `set_rate`, and turns grid samples into notifications (`packets`).
    """

    kind: ClassVar[str] = ""
    #: Served in Device Information (0x2A29, 0x2A24, 0x2A26).
    manufacturer: ClassVar[str] = "emulator"
    model: ClassVar[str] = "emulated sensor"
    firmware: ClassVar[str] = "emulator"

    def __init__(
        self,
        world: VirtualBleWorld,
        samples: SensorSamples,
        *,
        name: str | None = None,
        speed: float | None = 1.0,
        clock: PlaybackClock | None = None,
        faults: Faults | None = None,
        battery_percent: int = 87,
        address: str | None = None,
        rate_hz: float | None = None,
        clock_start_s: float = 1000.0,
    ) -> None:
        if len(samples) < 2:
            raise DeviceError(
                f"an emulated sensor needs at least 2 samples of {samples.placement}, "
                f"got {len(samples)}"
            )
        self.world = world
        self.samples = samples
        # Without a shared ``clock``, ``speed`` makes one of the sensor's own, started
        # with its first stream; a shared clock is started by its owner.
        self._own_clock = clock is None
        if clock is None and speed is not None:
            clock = PlaybackClock(speed)
        #: Paces the stream (None: flat out).
        self.clock = clock
        self.faults = faults or Faults()
        self.battery_percent = battery_percent
        #: Device clock reading at the first source sample (seconds).
        self.clock_start_s = clock_start_s
        self.stats = EmulatorStats()
        #: Set when every sample has been streamed.
        self.exhausted = asyncio.Event()
        self.device: Device = world.add_device(name or self.kind, address)
        self.address = self.device.random_address.to_string(with_type_qualifier=False)
        self.name = name or self.default_name(self.address)
        self.device.name = self.name
        self._data_char: Characteristic | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._connection: Connection | None = None
        self._next_sample = 0  # first grid sample not yet produced
        self._next_index = 0  # notifications produced so far (all starts)
        self._start_index = 0  # value of _next_index at the latest start
        self._disconnect_injected = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.rate_hz = 0.0
        # The device's sample grid (set_rate resamples the source onto it).
        self.grid_t_s: np.ndarray
        self.grid_acc_mps2: np.ndarray
        self.grid_gyro_rad_s: np.ndarray
        self.set_rate(rate_hz if rate_hz is not None else nominal_rate_hz(samples))

    # -- protocol hooks ---------------------------------------------------------------
    def default_name(self, address: str) -> str:
        """Advertised name of the real device with this address."""
        return f"EMU {address[-5:].replace(':', '')}"

    def protocol_service(self) -> tuple[Service, Characteristic]:
        """The protocol's GATT service and its data characteristic."""
        raise NotImplementedError

    def advertised_uuids(self) -> list[str]:
        """Service UUIDs the real device puts in its advertisement."""
        raise NotImplementedError

    def advertised_manufacturer_data(self) -> tuple[int, bytes] | None:
        """(company id, payload) the real device advertises, if any."""
        return None

    def extra_services(self) -> list[Service]:
        """GATT services besides the protocol's (e.g. its configuration service)."""
        return []

    @property
    def target(self) -> str:
        """What a host names to find this sensor: the advertised name, unless every
        device of the kind advertises the same one (then the address)."""
        return self.name

    def packets(self, first_sample: int) -> Iterator[Packet]:
        """Notifications carrying grid samples from ``first_sample`` on, in time order.

        The generator is consumed lazily: when it builds a packet, `current_seq` is that
        packet's sequence number.
        """
        raise NotImplementedError

    def on_exhausted(self, connection: Connection) -> None:
        """Called once the last sample is sent (a protocol may notify the host)."""

    def corrupt(self, payload: bytes, kind: str) -> bytes:
        """The malformed notification of ``kind`` sent instead of ``payload``."""
        if kind == "truncated":
            return payload[: max(1, len(payload) // 2)]
        if kind == "oversized":
            return payload + bytes(13)
        if kind == "empty":
            return b""
        # "garbage": right length, nonsense content (a fixed pattern, reproducible).
        return bytes((0xFF - 37 * i) & 0xFF for i in range(len(payload)))

    # -- the device's sample grid ------------------------------------------------------
    def set_rate(self, rate_hz: float) -> None:
        """Sample the source at ``rate_hz`` from now on (only while not streaming)."""
        if not (rate_hz > 0 and math.isfinite(rate_hz)):
            raise DeviceError(f"emulator sample rate must be positive, got {rate_hz}")
        src_t = self.samples.time_s - self.samples.time_s[0]
        old_t = self.grid_t_s[self._next_sample] if self.rate_hz and self._more() else None
        n = int(np.floor(src_t[-1] * rate_hz + 1e-9)) + 1
        grid = np.arange(n) / rate_hz
        self.grid_t_s = grid
        self.grid_acc_mps2 = np.column_stack(
            [np.interp(grid, src_t, self.samples.acc_mps2[:, k]) for k in range(3)]
        )
        self.grid_gyro_rad_s = np.column_stack(
            [np.interp(grid, src_t, self.samples.gyro_rad_s[:, k]) for k in range(3)]
        )
        self.rate_hz = float(rate_hz)
        if old_t is not None:
            self._next_sample = int(np.searchsorted(grid, old_t - 1e-9))

    def _more(self) -> bool:
        return self._next_sample < len(self.grid_t_s)

    def device_time_s(self, index: int) -> float:
        """Device clock reading of grid sample ``index``."""
        return self.clock_start_s + float(self.grid_t_s[index])

    def current_seq(self) -> int:
        """Notifications produced since the latest start (the next one's sequence number)."""
        return self._next_index - self._start_index

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Power on, serve GATT and advertise (restarting after every disconnect)."""
        device = self.device
        services: list[Service] = []
        uuids: list[str] = []
        if not self.faults.lacks_service:
            service, self._data_char = self.protocol_service()
            services.append(service)
            services.extend(self.extra_services())
            uuids = self.advertised_uuids()
        services.append(BatteryService(lambda _connection: self.battery_percent))
        services.append(
            DeviceInformationService(
                manufacturer_name=self.manufacturer,
                model_number=self.model,
                firmware_revision=self.firmware,
            )
        )
        device.add_services(services)
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        await device.power_on()
        await device.start_advertising(
            auto_restart=True,
            advertising_data=advertising_data(
                self.name, uuids, self.advertised_manufacturer_data()
            ),
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
        )

    async def close(self) -> None:
        """Stop streaming and advertising, drop the link, power off."""
        await self.stop_stream()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.disconnect(), 1.0)
        with contextlib.suppress(Exception):
            await self.device.power_off()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background (e.g. a response notification after a write)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def notify_control(
        self, connection: Connection, char: Characteristic, value: bytes
    ) -> None:
        """Notify ``value`` on ``char`` unless the link is gone meanwhile."""
        if connection is self._connection:
            with contextlib.suppress(Exception):
                await self.device.notify_subscriber(connection, char, value)

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        # The firmware stops streaming when the central goes away.
        if self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None

    @property
    def streaming(self) -> bool:
        return self._stream_task is not None and not self._stream_task.done()

    @property
    def connection(self) -> Connection | None:
        return self._connection

    @property
    def att_mtu(self) -> int:
        """The ATT MTU of the current link (23, the minimum, when none)."""
        return self._connection.att_mtu if self._connection is not None else 23

    # -- streaming --------------------------------------------------------------------
    def start_stream(self, connection: Connection) -> None:
        """Begin (or resume) streaming to ``connection``; a no-op if already streaming."""
        if self.streaming:
            return
        self.stats.starts += 1
        self._stream_task = asyncio.get_running_loop().create_task(self._stream(connection))

    async def stop_stream(self) -> None:
        task, self._stream_task = self._stream_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _stream(self, connection: Connection) -> None:
        assert self._data_char is not None
        clock = self.clock
        restart = self.stats.starts > 1
        if clock is not None and self._more():
            if self._own_clock:
                clock.start()
            await clock.sleep_until(0.0)
            if restart:
                # The device clock ran on while nobody listened: skip what it produced.
                self._skip_until(clock.now_s())
        self._start_index = self._next_index
        for packet in self.packets(self._next_sample):
            if clock is not None:
                await clock.sleep_until(packet.time_s)
            else:
                # Flat out, but let the link and the host run between notifications.
                await asyncio.sleep(0)
            index = self._next_index
            self._next_index += 1
            self._next_sample = packet.next_sample
            self.stats.produced += 1
            if index in self.faults.drop:
                self.stats.dropped += 1
                continue
            payload = packet.payload
            kind = self.faults.malformed.get(index)
            if kind is not None:
                payload = self.corrupt(payload, kind)
                self.stats.malformed += 1
            await self.device.notify_subscriber(connection, self._data_char, payload)
            self.stats.sent += 1
            if (
                self.faults.disconnect_after is not None
                and not self._disconnect_injected
                and self.stats.sent >= self.faults.disconnect_after
            ):
                self._disconnect_injected = True
                self.stats.disconnects_injected += 1
                self._stream_task = None
                await connection.disconnect(self.faults.disconnect_reason)
                return
        if not self._more():
            self.exhausted.set()
            self.on_exhausted(connection)

    def _skip_until(self, now_s: float) -> None:
        """Advance the stream position past every packet due before grid time ``now_s``."""
        for packet in self.packets(self._next_sample):
            if packet.time_s >= now_s:
                return
            self._next_sample = packet.next_sample
            self.stats.skipped_while_disconnected += 1


def nominal_rate_hz(samples: SensorSamples) -> float:
    """The source's sample rate from its median sample interval."""
    dt = np.diff(samples.time_s)
    dt = dt[dt > 0]
    if len(dt) == 0:
        raise DeviceError(f"{samples.placement} samples have no increasing timestamps")
    return float(1.0 / np.median(dt))


class TrackerImuSensor(EmulatedSensor):
    """Our firmware profile (tracker.devices.tracker_imu), as the board runs it.

    Defaults: the source's sample rate, ±8 g and ±2000 deg/s (changeable with
    SET_RATE / SET_RANGE while stopped). START carries the central's payload budget;
    the sensor batches as many samples per notification as fit it (and <= 100 ms).
    """

    kind = imu.PROTOCOL_NAME
    model = "tracker IMU (emulated)"
    firmware = f"profile {imu.PROTOCOL_VERSION}, emulator"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Quarter-hertz wire resolution: the board runs at what it can announce.
        self.set_rate(imu.rate_to_qhz(self.rate_hz) / imu.RATE_UNITS_PER_HZ)
        self.acc_range_g = 8
        self.gyro_range_dps = 2000
        self.samples_per_notification = 1
        self._control_char: Characteristic | None = None

    def default_name(self, address: str) -> str:
        return imu.NAME_PREFIX + address.replace(":", "")[-4:].upper()

    def advertised_uuids(self) -> list[str]:
        return [imu.SERVICE_UUID]

    def protocol_service(self) -> tuple[Service, Characteristic]:
        data = Characteristic(
            imu.DATA_CHAR_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        control: Characteristic[bytes] = Characteristic(
            imu.CONTROL_CHAR_UUID,
            Characteristic.Properties.WRITE | Characteristic.Properties.NOTIFY,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_control),
        )
        self._control_char = control
        return Service(imu.SERVICE_UUID, [data, control]), data

    def _status(self) -> imu.DeviceStatus:
        return imu.DeviceStatus(
            streaming=self.streaming,
            sample_rate_hz=self.rate_hz,
            acc_range_g=self.acc_range_g,
            gyro_range_dps=self.gyro_range_dps,
            samples_per_notification=self.samples_per_notification,
            dropped_samples=0,
        )

    def _on_control(self, connection: Connection, value: bytes) -> None:
        try:
            command = imu.decode_command(value)
        except imu.CommandError as exc:
            self._respond(connection, imu.encode_response(exc.opcode, exc.status))
            return
        op = command.opcode
        if op is imu.Opcode.START and self.streaming:
            # Spec (control table): START while streaming is INVALID_STATE; the stream
            # goes on with its settings, so no packet mixes two configurations.
            self._respond(connection, imu.encode_response(op, imu.Status.INVALID_STATE))
        elif op is imu.Opcode.START:
            assert command.max_payload_bytes is not None
            self.samples_per_notification = imu.samples_per_notification(
                command.max_payload_bytes, self.rate_hz
            )
            config = imu.StreamConfig(
                self.rate_hz, self.acc_range_g, self.gyro_range_dps, self.samples_per_notification
            )
            self._respond(connection, imu.encode_response(op, imu.Status.OK, config))
            self.start_stream(connection)
        elif op is imu.Opcode.STOP:
            self.stats.stops += 1
            self.spawn(self.stop_stream())
            self._respond(connection, imu.encode_response(op, imu.Status.OK))
        elif op in (imu.Opcode.SET_RATE, imu.Opcode.SET_RANGE) and self.streaming:
            self._respond(connection, imu.encode_response(op, imu.Status.INVALID_STATE))
        elif op is imu.Opcode.SET_RATE:
            assert command.sample_rate_hz is not None
            self.set_rate(command.sample_rate_hz)
            self._respond(connection, imu.encode_response(op, imu.Status.OK, self.rate_hz))
        elif op is imu.Opcode.SET_RANGE:
            assert command.acc_range_g is not None and command.gyro_range_dps is not None
            self.acc_range_g, self.gyro_range_dps = command.acc_range_g, command.gyro_range_dps
            ranges = (self.acc_range_g, self.gyro_range_dps)
            self._respond(connection, imu.encode_response(op, imu.Status.OK, ranges))
        elif op is imu.Opcode.GET_STATUS:
            self._respond(connection, imu.encode_response(op, imu.Status.OK, self._status()))
        else:  # IDENTIFY: nothing to blink here
            self._respond(connection, imu.encode_response(op, imu.Status.OK))

    def _respond(self, connection: Connection, response: bytes) -> None:
        assert self._control_char is not None
        self.spawn(self.notify_control(connection, self._control_char, response))

    def packets(self, first_sample: int) -> Iterator[Packet]:
        n = len(self.grid_t_s)
        per = self.samples_per_notification
        for a in range(first_sample, n, per):
            b = min(a + per, n)
            acc, gyro = imu.quantize(
                self.grid_acc_mps2[a:b],
                self.grid_gyro_rad_s[a:b],
                acc_range_g=self.acc_range_g,
                gyro_range_dps=self.gyro_range_dps,
            )
            t0_us = round(self.device_time_s(a) * 1e6) % imu.DEVICE_CLOCK_WRAP_US
            payload = imu.encode_data_packet(
                seq=self.current_seq() % 256,
                t0_us=t0_us,
                sample_rate_hz=self.rate_hz,
                acc_range_g=self.acc_range_g,
                gyro_range_dps=self.gyro_range_dps,
                acc_counts=acc,
                gyro_counts=gyro,
            )
            yield Packet(float(self.grid_t_s[b - 1]), payload, b)

    def corrupt(self, payload: bytes, kind: str) -> bytes:
        if kind == "garbage" and payload:
            # Same length, profile version 7 in the format byte: must be refused.
            return bytes([0xE0 | (payload[0] & 0x1F)]) + payload[1:]
        return super().corrupt(payload, kind)


class PolarPmdSensor(EmulatedSensor):
    """A Polar Verity Sense speaking PMD (tracker.devices.polar_pmd) for ACC and GYRO.

    Offers ACC and GYRO at 52 Hz, or 26-416 Hz after SDK mode is switched on; streams
    compressed frames (ACC 0x81 in mG, GYRO 0x80 in deg/s x FACTOR), each holding up to
    about 100 ms of samples within the MTU; both streams share one rate (an emulator
    limit: the real device can run them at different rates). The device clock counts
    seconds since 2000-01-01. Announces the end of the recording with
    ONLINE_MEASUREMENT_STOPPED on the control point.
    """

    kind = "polar_pmd"
    manufacturer = "Polar Electro Oy"
    model = "Polar Sense (emulated)"
    firmware = "emulator"

    NORMAL_MODE_SETTINGS: ClassVar[dict[int, pmd.PmdSettings]] = {
        pmd.MeasurementType.ACC: pmd.PmdSettings(
            sample_rates_hz=(52,), resolutions_bits=(16,), ranges=(8,), channels=(3,)
        ),
        pmd.MeasurementType.GYRO: pmd.PmdSettings(
            sample_rates_hz=(52,), resolutions_bits=(16,), ranges=(2000,), channels=(3,)
        ),
    }
    ACC_FRAME = 0x81
    GYRO_FRAME = 0x80
    #: The stream begins once both are started (the real device starts each at once).
    _motion_types: ClassVar[set[int]] = {pmd.MeasurementType.ACC, pmd.MeasurementType.GYRO}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # 2025-06-01 in seconds since 2000: a plausible clock for a device that was synced.
        kwargs.setdefault("clock_start_s", 801_964_800.0)
        super().__init__(*args, **kwargs)
        self.sdk_mode = False
        self.started: dict[int, pmd.PmdSettings] = {}  # type -> settings it was started with
        self.factors: dict[int, float] = {
            pmd.MeasurementType.ACC: 1.0,
            pmd.MeasurementType.GYRO: 1.0,
        }
        self._control_char: Characteristic | None = None

    def default_name(self, address: str) -> str:
        return "Polar Sense " + address.replace(":", "")[-8:].upper()

    def advertised_uuids(self) -> list[str]:
        return []  # the PMD service is found after connecting, not in the advertisement

    def protocol_service(self) -> tuple[Service, Characteristic]:
        features = pmd.encode_features(
            [pmd.MeasurementType.ACC, pmd.MeasurementType.GYRO, pmd.MeasurementType.SDK_MODE]
        )
        control: Characteristic[bytes] = Characteristic(
            pmd.PMD_CONTROL_POINT_UUID,
            Characteristic.Properties.READ
            | Characteristic.Properties.WRITE
            | Characteristic.Properties.NOTIFY,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=lambda _c: features, write=self._on_control),
        )
        data = Characteristic(
            pmd.PMD_DATA_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self._control_char = control
        return Service(pmd.PMD_SERVICE_UUID, [control, data]), data

    def _available(self, mtype: int) -> pmd.PmdSettings | None:
        table = pmd.VERITY_SENSE_SDK_MODE_SETTINGS if self.sdk_mode else self.NORMAL_MODE_SETTINGS
        # (an int id that is no MeasurementType is simply not in the table)
        return table.get(mtype)  # type: ignore[call-overload]

    def _respond(self, connection: Connection, data: bytes) -> None:
        assert self._control_char is not None
        self.spawn(self.notify_control(connection, self._control_char, data))

    def _on_control(self, connection: Connection, value: bytes) -> None:
        status = pmd.ResponseStatus
        try:
            command = pmd.decode_command(value)
        except DecodeError:
            op = value[0] if value else 0
            self._respond(connection, pmd.encode_response(op, 0, status.INVALID_PARAMETER))
            return
        op, mtype = command.op, command.measurement_type or 0
        reply, params = status.SUCCESS, b""
        if mtype == pmd.MeasurementType.SDK_MODE and op in (
            pmd.ControlPointOp.REQUEST_MEASUREMENT_START,
            pmd.ControlPointOp.STOP_MEASUREMENT,
        ):
            enable = op == pmd.ControlPointOp.REQUEST_MEASUREMENT_START
            if self.started:
                reply = status.INVALID_STATE
            elif self.sdk_mode == enable:
                reply = status.ALREADY_IN_STATE
            else:
                self.sdk_mode = enable
        elif op in (
            pmd.ControlPointOp.GET_MEASUREMENT_SETTINGS,
            pmd.ControlPointOp.GET_SDK_MODE_MEASUREMENT_SETTINGS,
        ):
            table = (
                pmd.VERITY_SENSE_SDK_MODE_SETTINGS
                if op == pmd.ControlPointOp.GET_SDK_MODE_MEASUREMENT_SETTINGS
                else self.NORMAL_MODE_SETTINGS
            )
            settings = table.get(mtype)  # type: ignore[call-overload]  # (as in _available)
            if settings is None:
                reply = status.NOT_SUPPORTED
            else:
                params = pmd.encode_settings(settings)
        elif op == pmd.ControlPointOp.REQUEST_MEASUREMENT_START:
            reply, params = self._start(connection, mtype, command.settings)
        elif op == pmd.ControlPointOp.STOP_MEASUREMENT:
            if mtype not in self.started:
                reply = status.INVALID_STATE
            else:
                del self.started[mtype]
                self.stats.stops += 1
                if not self.started:
                    self.spawn(self.stop_stream())
        else:
            reply = status.INVALID_OP_CODE
        self._respond(connection, pmd.encode_response(op, mtype, reply, params))

    def _start(
        self, connection: Connection, mtype: int, wanted: pmd.PmdSettings
    ) -> tuple[pmd.ResponseStatus, bytes]:
        status = pmd.ResponseStatus
        available = self._available(mtype)
        if available is None:
            return status.NOT_SUPPORTED, b""
        if mtype in self.started:
            return status.ALREADY_IN_STATE, b""
        if len(wanted.sample_rates_hz) != 1 or wanted.sample_rates_hz[0] not in (
            available.sample_rates_hz
        ):
            return status.INVALID_SAMPLE_RATE, b""
        rate = wanted.sample_rates_hz[0]
        if self.started and rate != self.rate_hz:
            return status.INVALID_SAMPLE_RATE, b""  # one grid for both streams
        if wanted.ranges and wanted.ranges[0] not in available.ranges:
            return status.INVALID_RANGE, b""
        range_ = wanted.ranges[0] if wanted.ranges else max(available.ranges)
        if mtype == pmd.MeasurementType.GYRO:
            # int16 deltas over the full range: the FACTOR scales counts to deg/s.
            self.factors[mtype] = range_ / 32768.0
        if not self.started and not self.streaming:
            self.set_rate(float(rate))
        self.started[mtype] = wanted
        if self._motion_types <= set(self.started):
            self.start_stream(connection)
        return status.SUCCESS, pmd.encode_settings(pmd.PmdSettings(factor=self.factors[mtype]))

    def _frame(self, mtype: int, a: int, b: int) -> bytes:
        values = self.grid_acc_mps2 if mtype == pmd.MeasurementType.ACC else self.grid_gyro_rad_s
        frame = self.ACC_FRAME if mtype == pmd.MeasurementType.ACC else self.GYRO_FRAME
        return pmd.encode_data(
            mtype,
            round(self.device_time_s(b - 1) * 1e9),
            frame,
            values[a:b],
            factor=self.factors[mtype],
        )

    def packets(self, first_sample: int) -> Iterator[Packet]:
        n = len(self.grid_t_s)
        budget = self.att_mtu - 3
        per = max(1, round(self.rate_hz * 0.1))
        a = first_sample
        while a < n:
            b = min(a + per, n)
            frames = [(t, self._frame(t, a, b)) for t in sorted(self.started)]
            while b - a > 1 and any(len(f) > budget for _, f in frames):
                b = a + (b - a) // 2
                frames = [(t, self._frame(t, a, b)) for t in sorted(self.started)]
            for k, (_, frame) in enumerate(frames):
                last = k == len(frames) - 1
                yield Packet(float(self.grid_t_s[b - 1]), frame, b if last else a)
            a = b

    def _on_disconnection(self, reason: int) -> None:
        super()._on_disconnection(reason)
        self.started.clear()  # measurements end with the link; SDK mode stays on

    def on_exhausted(self, connection: Connection) -> None:
        assert self._control_char is not None
        stopped = pmd.encode_measurement_stopped(sorted(self.started))
        self.spawn(self.notify_control(connection, self._control_char, stopped))


class MovesenseSensor(EmulatedSensor):
    """A Movesense sensor running the GATT SensorData Protocol app (tracker.devices.movesense).

    Answers HELLO, SUBSCRIBE ``/Meas/IMU6/{rate}`` (rates of `IMU6_SAMPLE_RATES_HZ`,
    others 404) and UNSUBSCRIBE; sends about 40 ms of samples per message, split into
    parts of the firmware's notification size (or the link's, if smaller). The device
    clock is the sensor's millisecond counter.
    """

    kind = "movesense"
    manufacturer = "Movesense"
    model = "Movesense (emulated)"
    firmware = "gsp emulator"
    MESSAGE_S = 0.04

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscription_ref: int | None = None
        self._data: Characteristic | None = None

    def default_name(self, address: str) -> str:
        return "Movesense " + "1744" + "".join(f"{int(b, 16):03d}" for b in address.split(":")[-3:])

    def advertised_uuids(self) -> list[str]:
        return []  # found by name; the GSP service is discovered after connecting

    def protocol_service(self) -> tuple[Service, Characteristic]:
        command: Characteristic[bytes] = Characteristic(
            ms.GSP_COMMAND_UUID,
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_command),
        )
        data = Characteristic(
            ms.GSP_DATA_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self._data = data
        return Service(ms.GSP_SERVICE_UUID, [command, data]), data

    def _respond(self, connection: Connection, value: bytes) -> None:
        assert self._data is not None
        self.spawn(self.notify_control(connection, self._data, value))

    def _on_command(self, connection: Connection, value: bytes) -> None:
        try:
            command = ms.decode_command(value)
        except DecodeError:
            return  # the firmware ignores what it cannot parse
        ref = command.ref
        if command.command == ms.Command.HELLO:
            self._respond(connection, ms.encode_hello_response(ref))
        elif command.command == ms.Command.SUBSCRIBE:
            rate = command.imu6_rate_hz()
            if rate is None or rate not in ms.IMU6_SAMPLE_RATES_HZ:
                self._respond(connection, ms.encode_command_result(ref, 404))
            elif self.streaming:
                self._respond(connection, ms.encode_command_result(ref, 507))
            else:
                self.set_rate(float(rate))
                self.subscription_ref = ref
                self._respond(connection, ms.encode_command_result(ref, 200))
                self.start_stream(connection)
        else:  # UNSUBSCRIBE
            if ref == self.subscription_ref:
                self.subscription_ref = None
                self.stats.stops += 1
                self.spawn(self.stop_stream())
            self._respond(connection, ms.encode_command_result(ref, 200))

    def _on_disconnection(self, reason: int) -> None:
        super()._on_disconnection(reason)
        self.subscription_ref = None

    def packets(self, first_sample: int) -> Iterator[Packet]:
        assert self.subscription_ref is not None
        n = len(self.grid_t_s)
        per = max(1, round(self.rate_hz * self.MESSAGE_S))
        size = min(ms.FIRMWARE_NOTIFICATION_BYTES, self.att_mtu - 3)
        for a in range(first_sample, n, per):
            b = min(a + per, n)
            parts = ms.encode_data(
                self.subscription_ref,
                round(self.device_time_s(a) * 1000) % (1 << 32),
                self.grid_acc_mps2[a:b],
                self.grid_gyro_rad_s[a:b],
                notification_bytes=size,
            )
            for k, part in enumerate(parts):
                last = k == len(parts) - 1
                yield Packet(float(self.grid_t_s[b - 1]), part, b if last else a)


class MovellaDotSensor(EmulatedSensor):
    """A Movella DOT streaming rate quantities (tracker.devices.movella_dot).

    Serves the configuration service (device control: output rate 1-60 Hz, 60 by
    default, settable only while stopped; a write of a rate it does not offer is
    ignored, so a host reads the rate back), the measurement service (control
    ``[1, start/stop, mode]``, read back as the current state; only payload mode 21 is
    emulated, a start in another mode leaves the sensor stopped) and the DOT battery
    characteristic. Every notification carries one 28-byte sample on the medium payload
    characteristic. Advertises "Movella DOT" with Movella's company id. The device
    clock is the sensor's microsecond counter, which wraps every 71.6 min.
    """

    kind = "movella_dot"
    manufacturer = "Movella Technologies B.V."
    model = "Movella DOT (emulated)"
    firmware = "emulator"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rate_hz", float(dot.DEFAULT_OUTPUT_RATE_HZ))
        # Powered on 70 min ago: the u32 microsecond counter wraps about 95 s into the
        # stream, so every emulated session crosses the wrap a real long session meets.
        kwargs.setdefault("clock_start_s", 4200.0)
        super().__init__(*args, **kwargs)
        self.payload_mode = int(dot.PayloadMode.RATE_QUANTITIES)
        self.tag = dot.DEVICE_NAMES[0]

    def default_name(self, address: str) -> str:
        return dot.DEVICE_NAMES[0]  # every DOT advertises the same name

    @property
    def target(self) -> str:
        return self.address  # the name is the same on every DOT

    def advertised_uuids(self) -> list[str]:
        return []  # found by company id and name (spec 1.2)

    def advertised_manufacturer_data(self) -> tuple[int, bytes] | None:
        # What the DOT sends after the company id is not specified; the address is a
        # plausible payload that keeps two emulated DOTs' advertisements apart.
        return dot.COMPANY_ID, bytes(int(b, 16) for b in reversed(self.address.split(":")))

    def protocol_service(self) -> tuple[Service, Characteristic]:
        control: Characteristic[bytes] = Characteristic(
            dot.MEASUREMENT_CONTROL_UUID,
            Characteristic.Properties.READ | Characteristic.Properties.WRITE,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=self._read_measurement, write=self._on_measurement),
        )
        data = Characteristic(
            dot.MEDIUM_PAYLOAD_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        return Service(dot.MEASUREMENT_SERVICE_UUID, [control, data]), data

    def extra_services(self) -> list[Service]:
        device_control: Characteristic[bytes] = Characteristic(
            dot.DEVICE_CONTROL_UUID,
            Characteristic.Properties.READ | Characteristic.Properties.WRITE,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=self._read_device_control, write=self._on_device_control),
        )
        report = Characteristic(
            dot.DEVICE_REPORT_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        battery: Characteristic[bytes] = Characteristic(
            dot.BATTERY_UUID,
            Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda _c: bytes([self.battery_percent, 0])),
        )
        return [
            Service(dot.CONFIGURATION_SERVICE_UUID, [device_control, report]),
            Service(dot.BATTERY_SERVICE_UUID, [battery]),
        ]

    def _read_device_control(self, _connection: Connection) -> bytes:
        return dot.encode_device_control(
            dot.DeviceControl(dot.VisitIndex(0), output_rate_hz=round(self.rate_hz), tag=self.tag)
        )

    def _on_device_control(self, _connection: Connection, value: bytes) -> None:
        try:
            control = dot.decode_device_control(value)
        except DecodeError:
            return  # the sensor ignores a write it cannot parse
        if control.visit_index & dot.VisitIndex.TAG_NAME:
            self.tag = control.tag
        if (
            control.visit_index & dot.VisitIndex.OUTPUT_RATE
            and not self.streaming
            and control.output_rate_hz in dot.LIVE_OUTPUT_RATES_HZ
        ):
            self.set_rate(float(control.output_rate_hz))

    def _read_measurement(self, _connection: Connection) -> bytes:
        action = dot.Action.START if self.streaming else dot.Action.STOP
        return dot.encode_measurement_control(action, self.payload_mode)

    def _on_measurement(self, connection: Connection, value: bytes) -> None:
        try:
            control = dot.decode_measurement_control(value)
        except DecodeError:
            return
        if not control.start:
            self.stats.stops += 1
            self.spawn(self.stop_stream())
        elif not self.streaming and control.payload_mode == dot.PayloadMode.RATE_QUANTITIES:
            self.payload_mode = control.payload_mode
            self.start_stream(connection)

    def corrupt(self, payload: bytes, kind: str) -> bytes:
        if kind == "garbage" and payload:
            # Rate quantities have no checksum or counter: any 28 bytes of finite floats
            # are a sample. Garbage the decoder can tell is a NaN in the acceleration.
            return payload[:4] + bytes.fromhex("0000c07f") + payload[8:]
        return super().corrupt(payload, kind)

    def packets(self, first_sample: int) -> Iterator[Packet]:
        for i in range(first_sample, len(self.grid_t_s)):
            timestamp_us = round(self.device_time_s(i) * 1e6) % dot.TIMESTAMP_MODULUS_US
            payload = dot.encode_rate_quantities(
                timestamp_us, self.grid_acc_mps2[i], self.grid_gyro_rad_s[i]
            )
            yield Packet(float(self.grid_t_s[i]), payload, i + 1)


#: Emulated sensor classes by kind id.
SENSOR_CLASSES: dict[str, type[EmulatedSensor]] = {
    TrackerImuSensor.kind: TrackerImuSensor,
    PolarPmdSensor.kind: PolarPmdSensor,
    MovesenseSensor.kind: MovesenseSensor,
    MovellaDotSensor.kind: MovellaDotSensor,
}


def create_sensor(
    kind: str | None,
    world: VirtualBleWorld,
    samples: SensorSamples,
    *,
    speed: float | None = 1.0,
    clock: PlaybackClock | None = None,
    faults: Faults | None = None,
    index: int = 1,
    name: str | None = None,
) -> EmulatedSensor:
    """An emulated sensor of ``kind`` (None: our firmware profile) streaming ``samples``,
    paced by ``clock`` when given, else by a clock of its own at ``speed``.

    ``index`` (1, 2, ...) makes the address, hence the advertised name, unique per world.
    """
    kind = kind or imu.PROTOCOL_NAME
    try:
        cls = SENSOR_CLASSES[kind]
    except KeyError:
        raise UnknownDeviceError(
            f"no emulator for device kind {kind!r}; emulated kinds: {', '.join(SENSOR_CLASSES)}"
        ) from None
    return cls(
        world,
        samples,
        name=name,
        speed=speed,
        clock=clock,
        faults=faults,
        address=f"C0:00:00:00:{index >> 8:02X}:{index & 0xFF:02X}",
    )
