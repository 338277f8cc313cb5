"""Movesense GATT SensorData Protocol (GSP): 6-axis IMU stream of Movesense sensors.

Pure encoders and decoders, no I/O. Sources: the ``gatt_sensordata_app`` firmware sample
(``samples/gatt_sensordata_app/GATTSensorDataClient.cpp``), its official bleak client
(``samples/gatt_sensordata_app/python_client/movesense_sensor_data.py``) and the IMU API
(``movesense-api/meas/imu.yaml``), as in
github.com/JonasPrimbs/movesense-ble-ecg-firmware@6534c14974a2a77576f0e1136a6077ad0103de35.

Why Movesense rather than WitMotion as the second commodity IMU: a ``/Meas/IMU6/{rate}``
notification carries accelerometer AND gyroscope samples together, at 104/208 Hz and
more, with a device timestamp (ms) of the first sample, so sample times come from the
sensor's clock and two sensors can be aligned. WitMotion BLE packets have no timestamp
and no counter (one 20-byte sample per packet, timed only by arrival), which defeats the
clock alignment the pipeline relies on (DESIGN 5).

Values are in the sensor frame of docs/frames.md: m/s^2 and rad/s; times in seconds on
the sensor's local clock.

Protocol outline
----------------
* Write ``[command, ref, data...]`` to the command characteristic: HELLO ``00 ref``,
  SUBSCRIBE ``01 ref <ASCII path>`` (e.g. ``/Meas/IMU6/104``), UNSUBSCRIBE ``02 ref``.
  ``ref`` is the client's non-zero tag for the subscription; at most 4 at a time.
* The data characteristic notifies ``01 ref <status>`` (command result; HELLO answers
  ``01 ref 'Hello'``) and ``02 ref <SBEM body>`` (data). Newer firmware continues a body
  that does not fit one notification with ``03 ref <rest>`` and ``04 ref <rest>``.
* IMU6 body: ``timestamp:u32 ms`` (time of the FIRST sample), then N x (x, y, z) float32
  acceleration in m/s^2, then N x (x, y, z) float32 angular rate in deg/s. No counter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from tracker.devices.base import DecodedPacket, DecodeError, DecodeReason, length_reason
from tracker.errors import InputError
from tracker.units import RAD_PER_DEG

# --- GATT ---------------------------------------------------------------------------------

GSP_SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
#: Write: commands.
GSP_COMMAND_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
#: Notify: command results and data.
GSP_DATA_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"
#: Advertised names look like "Movesense 174430000051".
DEVICE_NAME_PREFIX = "Movesense"

#: The firmware keeps at most this many subscriptions.
MAX_SUBSCRIPTIONS = 4
#: Rates /Meas/IMU/Info reports on current sensors (third-party list, UNCONFIRMED: ask
#: the device or try, a wrong rate is answered with HTTP 501).
IMU6_SAMPLE_RATES_HZ: tuple[int, ...] = (13, 26, 52, 104, 208, 416, 833, 1666)
#: The firmware's notification buffer ("MTU - 3"): bodies longer than this minus the
#: 2-byte prefix are split into parts.
FIRMWARE_NOTIFICATION_BYTES = 158

#: Longest attribute value BLE allows (ATT).
MAX_PAYLOAD_BYTES = 512
#: Parts 1..3 of one message.
MAX_PARTS = 3


class Command(IntEnum):
    HELLO = 0
    SUBSCRIBE = 1
    UNSUBSCRIBE = 2


class Response(IntEnum):
    """First byte of a data-characteristic notification."""

    COMMAND_RESULT = 1
    DATA = 2
    DATA_PART2 = 3
    DATA_PART3 = 4


_HELLO = b"Hello"
_TS_BYTES = 4
_SAMPLE_BYTES = 24  # 3 float32 acc + 3 float32 gyro per sample


def _check_ref(ref: int) -> int:
    if not 1 <= ref <= 0xFF:
        raise InputError(f"Movesense client reference must be 1..255, got {ref}")
    return ref


# --- commands -----------------------------------------------------------------------------


def imu6_path(sample_rate_hz: int) -> str:
    """The resource path of the 6-axis IMU stream at ``sample_rate_hz``."""
    if sample_rate_hz <= 0:
        raise InputError(f"sample rate must be a positive number of Hz, got {sample_rate_hz}")
    return f"/Meas/IMU6/{int(sample_rate_hz)}"


def encode_hello(ref: int) -> bytes:
    return bytes([Command.HELLO, _check_ref(ref)])


def encode_subscribe(ref: int, path: str) -> bytes:
    """``01 ref <path>``; the path is ASCII without a terminating NUL."""
    raw = path.encode("ascii")
    if not raw.startswith(b"/") or len(raw) > FIRMWARE_NOTIFICATION_BYTES:
        raise InputError(f"Movesense resource path {path!r} must start with / and be short")
    return bytes([Command.SUBSCRIBE, _check_ref(ref)]) + raw


def encode_subscribe_imu6(ref: int, *, sample_rate_hz: int) -> bytes:
    return encode_subscribe(ref, imu6_path(sample_rate_hz))


def encode_unsubscribe(ref: int) -> bytes:
    return bytes([Command.UNSUBSCRIBE, _check_ref(ref)])


@dataclass(frozen=True)
class GspCommand:
    """A command as written to the command characteristic (what the emulator receives)."""

    command: int
    ref: int
    path: str | None = None

    def imu6_rate_hz(self) -> int | None:
        """The sample rate when this subscribes to ``/Meas/IMU6/{rate}``, else None."""
        prefix = "/Meas/IMU6/"
        if self.path is None or not self.path.startswith(prefix):
            return None
        rate = self.path[len(prefix) :]
        return int(rate) if rate.isdigit() and int(rate) > 0 else None


def decode_command(data: bytes) -> GspCommand:
    """Parse a command write (emulator side)."""
    data = bytes(data)
    if len(data) < 2:
        raise DecodeError(
            f"Movesense command is {len(data)} bytes, expected at least 2", DecodeReason.TRUNCATED
        )
    if len(data) > MAX_PAYLOAD_BYTES:
        raise DecodeError(
            f"Movesense command is {len(data)} bytes, longer than any attribute",
            DecodeReason.OVERSIZED,
        )
    cmd, ref = data[0], data[1]
    if ref == 0:
        raise DecodeError("Movesense command with client reference 0 (must be non-zero)")
    if cmd == Command.SUBSCRIBE:
        try:
            path = data[2:].decode("ascii")
        except UnicodeDecodeError:
            raise DecodeError("Movesense subscribe path is not ASCII") from None
        if not path.startswith("/"):
            raise DecodeError(f"Movesense subscribe path {path!r} does not start with /")
        return GspCommand(cmd, ref, path)
    if cmd in (Command.HELLO, Command.UNSUBSCRIBE):
        if len(data) != 2:
            raise DecodeError(f"Movesense command {cmd} takes no data, got {len(data) - 2} B")
        return GspCommand(cmd, ref)
    raise DecodeError(f"unknown Movesense command {cmd}")


# --- notifications ------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandResult:
    """``01 ref ...``: the answer to HELLO (``hello``) or an HTTP-like status."""

    ref: int
    status: int | None = None
    hello: bool = False

    @property
    def ok(self) -> bool:
        return self.hello or (self.status is not None and 200 <= self.status < 300)


@dataclass(frozen=True)
class DataPart:
    """``02/03/04 ref <bytes>``: part 1, 2 or 3 of a subscription's data message."""

    ref: int
    part: int
    body: bytes


def _status(raw: bytes) -> int:
    # The firmware writes 507 as bytes 01 FB (big-endian); forks write little-endian.
    # An HTTP status is 100..599; for every status in use (200, 201, 404, 501, 507, ...)
    # only one of the two readings lands there (200 = 00 C8 read backwards is 51200).
    big, little = int.from_bytes(raw, "big"), int.from_bytes(raw, "little")
    if 100 <= big <= 599:
        return big
    if 100 <= little <= 599:
        return little
    raise DecodeError(f"Movesense status bytes {raw.hex(' ')} are no HTTP status")


def decode_notification(data: bytes) -> CommandResult | DataPart:
    """Parse one notification of the data characteristic."""
    data = bytes(data)
    if len(data) < 2:
        raise DecodeError(
            f"Movesense notification is {len(data)} bytes, expected at least 2",
            DecodeReason.TRUNCATED,
        )
    if len(data) > MAX_PAYLOAD_BYTES:
        raise DecodeError(
            f"Movesense notification is {len(data)} bytes, longer than any attribute",
            DecodeReason.OVERSIZED,
        )
    kind, ref = data[0], data[1]
    if kind == Response.COMMAND_RESULT:
        rest = data[2:]
        if rest == _HELLO:
            return CommandResult(ref, hello=True)
        if len(rest) != 2:
            raise DecodeError(
                f"Movesense command result has {len(rest)} status bytes, expected 2",
                length_reason(len(rest), 2),
            )
        return CommandResult(ref, status=_status(rest))
    if kind in (Response.DATA, Response.DATA_PART2, Response.DATA_PART3):
        return DataPart(ref, kind - Response.DATA + 1, data[2:])
    raise DecodeError(f"unknown Movesense notification type {kind}")


def encode_hello_response(ref: int) -> bytes:
    return bytes([Response.COMMAND_RESULT, _check_ref(ref)]) + _HELLO


def encode_command_result(ref: int, status: int) -> bytes:
    """``01 ref <status u16 big-endian>`` as the firmware sample writes it."""
    if not 100 <= status <= 599:
        raise InputError(f"HTTP-like status must be 100..599, got {status}")
    return bytes([Response.COMMAND_RESULT, _check_ref(ref)]) + status.to_bytes(2, "big")


class DataReassembler:
    """Joins parts 1-3 of data messages, per subscription reference.

    A part that fills a whole notification (``notification_bytes``, the firmware's
    buffer, 158 on the cited firmware) may be continued; a shorter one ends its message.
    A message whose last part happens to be exactly full is released when the next part
    1 of that reference arrives (one notification late).
    """

    def __init__(self, notification_bytes: int = FIRMWARE_NOTIFICATION_BYTES) -> None:
        if notification_bytes < 3:
            raise InputError(
                f"notification size must be at least 3 bytes, got {notification_bytes}"
            )
        self.notification_bytes = notification_bytes
        self._pending: dict[int, list[bytes]] = {}

    def feed(self, notification: bytes) -> list[tuple[int, bytes]]:
        """Add one notification; return the messages it completes as (ref, body)."""
        msg = decode_notification(notification)
        if not isinstance(msg, DataPart):
            return []
        done: list[tuple[int, bytes]] = []
        pending = self._pending.pop(msg.ref, None)
        if msg.part == 1:
            if pending is not None:
                done.append((msg.ref, b"".join(pending)))
            pending = [msg.body]
        else:
            if pending is None or len(pending) != msg.part - 1:
                raise DecodeError(
                    f"Movesense data part {msg.part} of ref {msg.ref} without part {msg.part - 1}"
                )
            pending.append(msg.body)
        full = len(notification) >= self.notification_bytes
        if full and len(pending) < MAX_PARTS:
            self._pending[msg.ref] = pending
        else:
            done.append((msg.ref, b"".join(pending)))
        return done


# --- IMU6 data ----------------------------------------------------------------------------


def decode_imu6(body: bytes, *, sample_rate_hz: float) -> DecodedPacket:
    """Decode an IMU6 message body (after ``02 ref``) into SI units.

    Sample ``i`` is at ``timestamp_ms / 1000 + i / sample_rate_hz`` seconds on the
    sensor's clock (the timestamp belongs to the first sample). The u32 millisecond
    counter wraps after 49.7 days; `Imu6StreamDecoder` unwraps it.
    """
    if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise InputError(f"sample rate must be a positive number of Hz, got {sample_rate_hz}")
    body = bytes(body)
    if len(body) > MAX_PARTS * MAX_PAYLOAD_BYTES:
        raise DecodeError(
            f"Movesense IMU6 body is {len(body)} bytes, implausibly long", DecodeReason.OVERSIZED
        )
    n, rest = divmod(len(body) - _TS_BYTES, _SAMPLE_BYTES)
    if n < 1 or rest:
        raise DecodeError(
            f"Movesense IMU6 body is {len(body)} bytes; expected 4 + 24 x samples (>= 1)",
            # A whole number of samples plus a part is cut off or carries extra bytes.
            DecodeReason.TRUNCATED if n < 1 else DecodeReason.INVALID,
        )
    timestamp_ms = int.from_bytes(body[:_TS_BYTES], "little")
    # NaN and infinity are told by their bits (exponent all ones): converting a
    # signalling NaN to float64 would raise a floating-point error first.
    bits = np.frombuffer(body, dtype="<u4", offset=_TS_BYTES)
    if ((bits & 0x7F800000) == 0x7F800000).any():
        raise DecodeError("Movesense IMU6 sample holds a NaN or infinite value")
    floats = bits.view("<f4").astype(np.float64)
    acc = floats[: 3 * n].reshape(n, 3)
    gyro = floats[3 * n :].reshape(n, 3) * RAD_PER_DEG
    time_s = timestamp_ms / 1000.0 + np.arange(n) / sample_rate_hz
    return DecodedPacket(time_s, acc_mps2=acc, gyro_rad_s=gyro)


def decode_data(payload: bytes, *, sample_rate_hz: float) -> DecodedPacket:
    """Decode one complete IMU6 data notification (``02 ref <body>``)."""
    msg = decode_notification(payload)
    if not isinstance(msg, DataPart) or msg.part != 1:
        raise DecodeError("Movesense notification is not the first part of a data message")
    return decode_imu6(msg.body, sample_rate_hz=sample_rate_hz)


class Imu6StreamDecoder:
    """One IMU6 subscription: reassembles parts and unwraps the u32 ms timestamp."""

    def __init__(
        self,
        ref: int,
        *,
        sample_rate_hz: float,
        notification_bytes: int = FIRMWARE_NOTIFICATION_BYTES,
    ) -> None:
        self.ref = _check_ref(ref)
        self.sample_rate_hz = sample_rate_hz
        self._reassembler = DataReassembler(notification_bytes)
        self._wraps = 0
        self._last_ms: int | None = None

    def feed(self, notification: bytes) -> list[DecodedPacket]:
        """Decode what this notification completes (other references are ignored)."""
        out = []
        for ref, body in self._reassembler.feed(notification):
            if ref != self.ref:
                continue
            packet = decode_imu6(body, sample_rate_hz=self.sample_rate_hz)
            ts_ms = int.from_bytes(body[:_TS_BYTES], "little")
            # a jump back by more than half the counter range is a wrap, not reordering
            if self._last_ms is not None and ts_ms < self._last_ms - (1 << 31):
                self._wraps += 1
            self._last_ms = ts_ms
            if self._wraps:
                packet = DecodedPacket(
                    packet.device_time_s + self._wraps * (1 << 32) / 1000.0,
                    acc_mps2=packet.acc_mps2,
                    gyro_rad_s=packet.gyro_rad_s,
                )
            out.append(packet)
        return out


def encode_imu6(timestamp_ms: int, acc_mps2: np.ndarray, gyro_rad_s: np.ndarray) -> bytes:
    """An IMU6 body: first-sample time (ms), then all acc (m/s^2), then all gyro (deg/s)."""
    acc = np.asarray(acc_mps2, dtype=np.float64).reshape(-1, 3)
    gyro = np.asarray(gyro_rad_s, dtype=np.float64).reshape(-1, 3)
    if len(acc) != len(gyro) or len(acc) < 1:
        raise InputError(f"need as many acc as gyro samples (>= 1), got {len(acc)}, {len(gyro)}")
    if not 0 <= timestamp_ms < 1 << 32:
        raise InputError(f"Movesense timestamp {timestamp_ms} ms does not fit 32 bits")
    return (
        int(timestamp_ms).to_bytes(4, "little")
        + acc.astype("<f4").tobytes()
        + (gyro / RAD_PER_DEG).astype("<f4").tobytes()
    )


def encode_data(
    ref: int,
    timestamp_ms: int,
    acc_mps2: np.ndarray,
    gyro_rad_s: np.ndarray,
    *,
    notification_bytes: int = FIRMWARE_NOTIFICATION_BYTES,
) -> list[bytes]:
    """The notifications carrying one IMU6 message: part 1, then parts 2 and 3 if needed."""
    body = encode_imu6(timestamp_ms, acc_mps2, gyro_rad_s)
    chunk = notification_bytes - 2
    if chunk < 1:
        raise InputError(f"notification size must be at least 3 bytes, got {notification_bytes}")
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    if len(parts) > MAX_PARTS:
        raise InputError(
            f"{len(acc_mps2)} IMU6 samples need {len(parts)} notifications of "
            f"{notification_bytes} B; the protocol has {MAX_PARTS} parts"
        )
    return [bytes([Response.DATA + k, _check_ref(ref)]) + p for k, p in enumerate(parts)]
