"""What a device kind is, the registry of kinds, and the errors about devices.

A *kind* is one protocol family (our firmware profile, Polar PMD, ...). For each, a
`DeviceKind` knows how to recognise the device (advertised name prefix, service UUIDs, GATT
service) and holds the host side of its protocol as a `HostProtocol`: the start / stop
command exchange and a stateful decoder, written against a tiny `GattIO` interface so
that no bleak object reaches the pure codec modules. The codecs themselves (byte
layouts) live in one module per family (tracker.devices.tracker_imu, .polar_pmd,
.movesense, .movella_dot).

Decoded values are in the sensor frame of docs/frames.md (m/s^2, rad/s, seconds on the
device clock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from tracker.devices.base import DecodedPacket
from tracker.errors import DeviceError


class UnknownDeviceError(DeviceError):
    """A device (or a device kind) the tool does not support."""


class ServiceMissingError(DeviceError):
    """A connected device lacks the GATT service its protocol needs."""


class DeviceNotFoundError(DeviceError):
    """No device with the given address or name answered."""


class BluetoothUnavailableError(DeviceError):
    """No usable Bluetooth adapter, or the system's Bluetooth service is not running."""


class StreamStartError(DeviceError):
    """The device refused or failed to start streaming."""


class GattIO(Protocol):
    """The few GATT operations a protocol needs (implemented over bleak in ble.py)."""

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None: ...

    async def read(self, char_uuid: str) -> bytes: ...

    async def subscribe(self, char_uuid: str, callback: Callable[[bytes], None]) -> None: ...

    def mtu(self) -> int: ...


@dataclass(frozen=True)
class StreamConfig:
    """What the user asks of a sensor; None = the device's current / default setting."""

    sample_rate_hz: float | None = None
    acc_range_g: float | None = None
    gyro_range_dps: float | None = None


@dataclass(frozen=True)
class StreamSetup:
    """What the sensor streams after a successful start (None = unknown)."""

    sample_rate_hz: float | None = None
    acc_range_g: float | None = None
    gyro_range_dps: float | None = None


class HostProtocol:
    """Host side of one protocol, for one connection (create a new one per connect).

    `start` subscribes and commands the device to stream, `decode` turns one data
    notification into zero or more sample packets with acc AND gyro set (a protocol
    that streams them separately pairs them up here), `stop` ends the stream.
    """

    #: Characteristics whose notifications carry measurement data (recorded raw).
    data_uuids: tuple[str, ...] = ()
    #: Modulus of the packet sequence counter (protocols that have one).
    seq_modulus: int = 1 << 16

    async def start(
        self, io: GattIO, config: StreamConfig, on_data: Callable[[str, bytes], None]
    ) -> StreamSetup:
        """Subscribe ``on_data(char_uuid, payload)`` to the data characteristics and start."""
        raise NotImplementedError

    async def stop(self, io: GattIO) -> None:
        raise NotImplementedError

    def decode(self, char_uuid: str, payload: bytes) -> list[DecodedPacket]:
        """Samples in one notification; raises `DecodeError` on a malformed payload."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget per-stream state (previous timestamps) after a reconnect."""

    def payload_time_s(self, payload: bytes) -> float | None:
        """The device timestamp a payload carries (for the raw record), if any."""
        return None


@dataclass(frozen=True)
class DeviceKind:
    """A supported device family."""

    kind: str
    description: str
    #: The GATT service that must be present.
    service_uuid: str
    #: Advertised name prefixes that identify the kind even without service UUIDs.
    name_prefixes: tuple[str, ...]
    host_protocol: Callable[[], HostProtocol]
    #: Smallest ATT MTU with which the device can stream (payload = MTU - 3).
    min_mtu: int = 23
    #: Bluetooth SIG company ids whose manufacturer-specific data identifies the kind.
    manufacturer_ids: tuple[int, ...] = ()

    def matches_advertisement(
        self, name: str | None, service_uuids: list[str], manufacturer_ids: Iterable[int] = ()
    ) -> bool:
        if self.service_uuid in (u.lower() for u in service_uuids):
            return True
        if any(m in self.manufacturer_ids for m in manufacturer_ids):
            return True
        return bool(name and any(name.startswith(p) for p in self.name_prefixes))


_KINDS: dict[str, DeviceKind] = {}


def register(kind: DeviceKind) -> None:
    _KINDS[kind.kind] = kind


def registered_kinds() -> dict[str, DeviceKind]:
    """The kinds registered so far, by id, in registration order. Lookups go through
    `tracker.devices.supported`, which registers the built-in kinds first."""
    return dict(_KINDS)
