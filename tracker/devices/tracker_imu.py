"""Our own BLE profile ("tracker IMU", version 1): constants, data packets, control messages.

This module is the Python mirror of the specification in ``firmware_notes/README.md`` and
of its C implementation ``firmware_notes/lumbar_imu/packet.{h,c}``; the shared vector file
``firmware_notes/vectors.txt`` keeps all three byte-identical. It is pure: no I/O, no
clock, no BLE. Decoded values are in the sensor frame of docs/frames.md (m/s^2, rad/s).

Data notification (little-endian, 8-byte header then ``count`` samples of 12 bytes)::

    0  u8   format      bits 7..5 version (1), bits 4..2 gyro range code, bits 1..0 acc code
    1  u8   seq         +1 per notification, wraps 255 -> 0, reset to 0 by START
    2  u32  t0_us       device time of sample 0 in microseconds, wraps every 71.6 min
    6  u16  rate_count  bits 15..11 sample count (1..31), bits 10..0 rate in 1/4 Hz
    8  count x (ax, ay, az, gx, gy, gz) int16

Sample ``i`` was taken at device time ``t0_us * 1e-6 + i / sample_rate_hz``. The 32-bit
microsecond clock wraps; :func:`unwrap_t0_us` and :class:`DeviceClockUnwrapper` extend it
for the session, which keeps the state (decoding stays pure).
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any

import numpy as np

from tracker.devices.base import DecodedPacket, DecodeError, DecodeReason, length_reason
from tracker.units import G_MPS2, RAD_PER_DEG

PROTOCOL_NAME = "tracker_imu"
PROTOCOL_VERSION = 1

# ---- GATT ---------------------------------------------------------------------------

#: Advertised local name: this prefix + 4 upper-case hex digits of the device address
#: (8 characters, so that name and 128-bit service UUID fit one 31-byte advertisement).
NAME_PREFIX = "LTRK"
NAME_LENGTH = 8

#: 128-bit UUIDs: one random uuid4 (generated once, UUID_BASE), bytes 2-3 numbering the
#: attributes as the Nordic UART service does.
UUID_BASE = "286a2714-1143-4c0a-9811-1adab226356d"
SERVICE_UUID = "286a0001-1143-4c0a-9811-1adab226356d"
DATA_CHAR_UUID = "286a0002-1143-4c0a-9811-1adab226356d"
CONTROL_CHAR_UUID = "286a0003-1143-4c0a-9811-1adab226356d"


def _sig_uuid(short: int) -> str:
    """A Bluetooth SIG 16-bit UUID in bleak's normalised 128-bit form."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


BATTERY_SERVICE_UUID = _sig_uuid(0x180F)
BATTERY_LEVEL_CHAR_UUID = _sig_uuid(0x2A19)
DEVICE_INFORMATION_SERVICE_UUID = _sig_uuid(0x180A)
MANUFACTURER_NAME_CHAR_UUID = _sig_uuid(0x2A29)
MODEL_NUMBER_CHAR_UUID = _sig_uuid(0x2A24)
FIRMWARE_REVISION_CHAR_UUID = _sig_uuid(0x2A26)


@dataclass(frozen=True)
class CharacteristicSpec:
    """One characteristic: name, 128-bit UUID, bleak property names."""

    name: str
    uuid: str
    properties: tuple[str, ...]


@dataclass(frozen=True)
class ServiceSpec:
    """One primary service and its characteristics.

    ``required`` is False for a service a board may lack (the battery service of a board
    without a battery gauge); the host treats its absence as "unknown".
    """

    name: str
    uuid: str
    characteristics: tuple[CharacteristicSpec, ...]
    required: bool = True


#: The peripheral's GATT table (besides the GAP/GATT services every stack adds).
GATT_PROFILE: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "imu",
        SERVICE_UUID,
        (
            CharacteristicSpec("data", DATA_CHAR_UUID, ("notify",)),
            CharacteristicSpec("control", CONTROL_CHAR_UUID, ("write", "notify")),
        ),
    ),
    ServiceSpec(
        "battery",
        BATTERY_SERVICE_UUID,
        (CharacteristicSpec("battery_level", BATTERY_LEVEL_CHAR_UUID, ("read", "notify")),),
        required=False,
    ),
    ServiceSpec(
        "device_information",
        DEVICE_INFORMATION_SERVICE_UUID,
        (
            CharacteristicSpec("manufacturer_name", MANUFACTURER_NAME_CHAR_UUID, ("read",)),
            CharacteristicSpec("model_number", MODEL_NUMBER_CHAR_UUID, ("read",)),
            CharacteristicSpec("firmware_revision", FIRMWARE_REVISION_CHAR_UUID, ("read",)),
        ),
    ),
)

#: Connection parameters the firmware requests after connecting (ms), and its ATT MTU.
REQUESTED_CONNECTION_INTERVAL_MIN_MS = 7.5
REQUESTED_CONNECTION_INTERVAL_MAX_MS = 15.0
PREFERRED_ATT_MTU = 247

# ---- data packet layout -----------------------------------------------------------------

HEADER_SIZE = 8
SAMPLE_SIZE = 12
MAX_SAMPLES_PER_PACKET = 31  # the count field has 5 bits
MAX_PACKET_SIZE = HEADER_SIZE + MAX_SAMPLES_PER_PACKET * SAMPLE_SIZE
RATE_UNITS_PER_HZ = 4  # the rate travels in quarter-hertz ...
MAX_RATE_QHZ = 0x7FF  # ... in 11 bits
MAX_SAMPLE_RATE_HZ = MAX_RATE_QHZ / RATE_UNITS_PER_HZ  # 511.75 Hz
#: Full scale per range code (the code is the index).
ACC_RANGES_G: tuple[int, ...] = (2, 4, 8, 16)
GYRO_RANGES_DPS: tuple[int, ...] = (125, 250, 500, 1000, 2000)
#: One notification carries at most this much time of data (spec, "Batching").
MAX_BATCH_LATENCY_S = 0.1
#: The 32-bit microsecond device clock wraps after this many microseconds (71.6 min).
DEVICE_CLOCK_WRAP_US = 1 << 32

_VERSION_SHIFT = 5
_GYRO_SHIFT = 2
_COUNT_SHIFT = 11
_COUNT_FULL_SCALE = 32768.0
_SAMPLE_DTYPE = np.dtype("<i2")


def max_samples_per_notification(att_mtu: int) -> int:
    """Most samples one notification can carry at this ATT MTU (0: not even one)."""
    payload = att_mtu - 3
    if payload < HEADER_SIZE + SAMPLE_SIZE:
        return 0
    return min(MAX_SAMPLES_PER_PACKET, (payload - HEADER_SIZE) // SAMPLE_SIZE)


def samples_per_notification(max_payload_bytes: int, sample_rate_hz: float) -> int:
    """Samples per notification the firmware sends (mirror of C ``ltp_samples_per_notification``).

    As many as fit ``max_payload_bytes`` (ATT MTU - 3), but at most 100 ms of data, so
    that live feedback is not held back by batching.
    """
    fit = max_samples_per_notification(max_payload_bytes + 3)
    latency_cap = max(1, rate_to_qhz(sample_rate_hz) // 40)
    return min(fit, latency_cap)


def rate_to_qhz(sample_rate_hz: float) -> int:
    """The wire code of a sample rate: nearest quarter-hertz, 1..2047."""
    if not math.isfinite(sample_rate_hz):
        raise ValueError(f"sample rate {sample_rate_hz!r} Hz is not a number")
    qhz = round(sample_rate_hz * RATE_UNITS_PER_HZ)
    if not 1 <= qhz <= MAX_RATE_QHZ:
        raise ValueError(
            f"sample rate {sample_rate_hz} Hz is outside the profile's "
            f"{1 / RATE_UNITS_PER_HZ}..{MAX_SAMPLE_RATE_HZ} Hz"
        )
    return qhz


def _range_code(value: float, ranges: tuple[int, ...], what: str, unit: str) -> int:
    for code, full_scale in enumerate(ranges):
        if value == full_scale:
            return code
    raise ValueError(f"{what} range ±{value} {unit} is not one of ±{ranges} {unit}")


def acc_range_code(acc_range_g: float) -> int:
    """Wire code of an accelerometer full scale (±2/4/8/16 g)."""
    return _range_code(acc_range_g, ACC_RANGES_G, "accelerometer", "g")


def gyro_range_code(gyro_range_dps: float) -> int:
    """Wire code of a gyroscope full scale (±125/250/500/1000/2000 °/s)."""
    return _range_code(gyro_range_dps, GYRO_RANGES_DPS, "gyroscope", "dps")


def acc_mps2_per_count(acc_range_g: float) -> float:
    """m/s^2 of one accelerometer count: full scale / 32768."""
    return acc_range_g * G_MPS2 / _COUNT_FULL_SCALE


def gyro_rad_s_per_count(gyro_range_dps: float) -> float:
    """rad/s of one gyroscope count: full scale / 32768."""
    return gyro_range_dps * RAD_PER_DEG / _COUNT_FULL_SCALE


@dataclass(frozen=True, eq=False)
class DataPacket:
    """One data notification with its fields as they are on the wire.

    ``acc_counts`` and ``gyro_counts`` are int16 arrays of shape (n, 3) in the sensor
    frame (docs/frames.md); ``t0_us`` is the wrapped 32-bit device time of sample 0.
    """

    seq: int
    t0_us: int
    rate_qhz: int
    acc_range_g: int
    gyro_range_dps: int
    acc_counts: np.ndarray
    gyro_counts: np.ndarray

    @property
    def sample_rate_hz(self) -> float:
        return self.rate_qhz / RATE_UNITS_PER_HZ

    def __len__(self) -> int:
        return len(self.acc_counts)


def encode_data_packet(
    *,
    seq: int,
    t0_us: int,
    sample_rate_hz: float,
    acc_range_g: float,
    gyro_range_dps: float,
    acc_counts: np.ndarray,
    gyro_counts: np.ndarray,
) -> bytes:
    """Build one data notification from raw int16 counts (mirror of C ``ltp_encode``).

    ``sample_rate_hz`` is rounded to the nearest 0.25 Hz (the wire resolution). Raises
    ValueError for fields the format cannot carry.
    """
    acc = np.asarray(acc_counts)
    gyro = np.asarray(gyro_counts)
    if acc.ndim != 2 or acc.shape[1:] != (3,) or gyro.shape != acc.shape:
        raise ValueError(f"counts must both have shape (n, 3), got {acc.shape} and {gyro.shape}")
    n = len(acc)
    if not 1 <= n <= MAX_SAMPLES_PER_PACKET:
        raise ValueError(f"a packet carries 1..{MAX_SAMPLES_PER_PACKET} samples, got {n}")
    for name, arr in (("acc_counts", acc), ("gyro_counts", gyro)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{name} must be integers, got {arr.dtype}")
        if n and (arr.min() < -32768 or arr.max() > 32767):
            raise ValueError(f"{name} outside int16")
    if not 0 <= seq <= 0xFF:
        raise ValueError(f"seq {seq} outside 0..255")
    if not 0 <= t0_us < DEVICE_CLOCK_WRAP_US:
        raise ValueError(f"t0_us {t0_us} outside the 32-bit device clock")
    fmt = (
        (PROTOCOL_VERSION << _VERSION_SHIFT)
        | (gyro_range_code(gyro_range_dps) << _GYRO_SHIFT)
        | acc_range_code(acc_range_g)
    )
    rate_count = (n << _COUNT_SHIFT) | rate_to_qhz(sample_rate_hz)
    header = bytes((fmt, seq)) + t0_us.to_bytes(4, "little") + rate_count.to_bytes(2, "little")
    body = np.empty((n, 6), dtype=_SAMPLE_DTYPE)
    body[:, :3] = acc
    body[:, 3:] = gyro
    return header + body.tobytes()


def quantize(
    acc_mps2: np.ndarray, gyro_rad_s: np.ndarray, *, acc_range_g: float, gyro_range_dps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Physical samples (n, 3) -> int16 counts as a sensor would give them.

    Rounds to the nearest count and saturates at the int16 limits, as the firmware does
    when it converts the IMU library's floats (spec, "Samples").
    """
    acc = np.asarray(acc_mps2, dtype=np.float64) / acc_mps2_per_count(acc_range_g)
    gyro = np.asarray(gyro_rad_s, dtype=np.float64) / gyro_rad_s_per_count(gyro_range_dps)
    return (
        np.clip(np.rint(acc), -32768, 32767).astype(np.int16),
        np.clip(np.rint(gyro), -32768, 32767).astype(np.int16),
    )


def parse_data_packet(payload: bytes) -> DataPacket:
    """Check and split one data notification into its wire fields (mirror of C ``ltp_decode``).

    Checks, in this order (the C decoder's order): shorter than the header -> truncated;
    version; reserved gyro range code; rate 0; count 0; shorter than count samples ->
    truncated; longer -> oversized. Each raises DecodeError naming the fault.
    """
    data = bytes(payload)
    if len(data) < HEADER_SIZE:
        raise DecodeError(
            f"tracker-imu packet truncated: {len(data)} bytes, the header alone is {HEADER_SIZE}",
            DecodeReason.TRUNCATED,
        )
    fmt = data[0]
    version = fmt >> _VERSION_SHIFT
    if version != PROTOCOL_VERSION:
        raise DecodeError(
            f"tracker-imu packet of unsupported profile version {version}; this tracker "
            f"reads version {PROTOCOL_VERSION}: update the tracker or the firmware"
        )
    gyro_code = (fmt >> _GYRO_SHIFT) & 0x07
    if gyro_code >= len(GYRO_RANGES_DPS):
        raise DecodeError(f"tracker-imu packet with reserved gyro range code {gyro_code}")
    rate_count = int.from_bytes(data[6:8], "little")
    rate_qhz = rate_count & MAX_RATE_QHZ
    count = rate_count >> _COUNT_SHIFT
    if rate_qhz == 0:
        raise DecodeError("tracker-imu packet with sample rate 0")
    if count == 0:
        raise DecodeError("tracker-imu packet with sample count 0")
    size = HEADER_SIZE + count * SAMPLE_SIZE
    if len(data) < size:
        raise DecodeError(
            f"tracker-imu packet truncated: {len(data)} bytes for {count} samples "
            f"({size} bytes); is the ATT MTU smaller than the firmware was told?",
            DecodeReason.TRUNCATED,
        )
    if len(data) > size:
        raise DecodeError(
            f"tracker-imu packet oversized: {len(data)} bytes for {count} samples ({size} bytes)",
            DecodeReason.OVERSIZED,
        )
    body = np.frombuffer(data, dtype=_SAMPLE_DTYPE, offset=HEADER_SIZE).reshape(count, 6)
    return DataPacket(
        seq=data[1],
        t0_us=int.from_bytes(data[2:6], "little"),
        rate_qhz=rate_qhz,
        acc_range_g=ACC_RANGES_G[fmt & 0x03],
        gyro_range_dps=GYRO_RANGES_DPS[gyro_code],
        acc_counts=body[:, :3].copy(),
        gyro_counts=body[:, 3:].copy(),
    )


def decode_data_packet(payload: bytes) -> DecodedPacket:
    """One data notification -> samples in m/s^2 and rad/s (sensor frame, docs/frames.md).

    ``device_time_s`` is ``t0_us * 1e-6 + i / sample_rate_hz`` on the *wrapped* 32-bit
    device clock; see :class:`DeviceClockUnwrapper`. Raises DecodeError on a malformed,
    truncated or oversized payload.
    """
    packet = parse_data_packet(payload)
    n = len(packet)
    time_s = packet.t0_us * 1e-6 + np.arange(n) / packet.sample_rate_hz
    return DecodedPacket(
        device_time_s=time_s,
        acc_mps2=packet.acc_counts * acc_mps2_per_count(packet.acc_range_g),
        gyro_rad_s=packet.gyro_counts * gyro_rad_s_per_count(packet.gyro_range_dps),
        seq=packet.seq,
    )


# ---- device clock -------------------------------------------------------------------


def unwrap_t0_us(t0_us: int, previous_us: int | None) -> int:
    """Extend a wrapped 32-bit microsecond time to the value nearest ``previous_us``.

    ``previous_us`` is the last unwrapped time of the same device (None for the first
    packet, which is taken as is). Correct while consecutive packets are less than half
    a wrap (35.8 min) apart, which a live connection always is.
    """
    if previous_us is None:
        return t0_us
    half = DEVICE_CLOCK_WRAP_US // 2
    delta = (t0_us - previous_us + half) % DEVICE_CLOCK_WRAP_US - half
    return previous_us + delta


class DeviceClockUnwrapper:
    """Keeps one device's clock monotonic across the 71.6-minute wrap of ``t0_us``.

    One instance per connected device; feed it every decoded packet in arrival order.
    """

    def __init__(self) -> None:
        self._previous_us: int | None = None

    def unwrap(self, packet: DecodedPacket) -> DecodedPacket:
        """The packet with ``device_time_s`` shifted by whole wraps of the device clock."""
        if len(packet) == 0:
            return packet
        t0_us = round(float(packet.device_time_s[0]) * 1e6) % DEVICE_CLOCK_WRAP_US
        unwrapped = unwrap_t0_us(t0_us, self._previous_us)
        self._previous_us = unwrapped
        shift_s = (unwrapped - t0_us) * 1e-6
        if shift_s == 0:
            return packet
        return replace(packet, device_time_s=packet.device_time_s + shift_s)


# ---- control characteristic ---------------------------------------------------------


class Opcode(IntEnum):
    """Commands written to the control characteristic (write with response)."""

    START = 0x01
    STOP = 0x02
    SET_RATE = 0x03
    SET_RANGE = 0x04
    IDENTIFY = 0x05
    GET_STATUS = 0x06


class Status(IntEnum):
    """Result code in every response."""

    OK = 0x00
    UNKNOWN_OPCODE = 0x01
    INVALID_LENGTH = 0x02
    INVALID_PARAMETER = 0x03
    INVALID_STATE = 0x04
    SENSOR_ERROR = 0x05


class EventCode(IntEnum):
    """Unsolicited notifications on the control characteristic."""

    OVERFLOW = 0x01
    STREAM_STOPPED = 0x02


class StopReason(IntEnum):
    LOW_BATTERY = 0x01
    SENSOR_ERROR = 0x02


RESPONSE_MARKER = 0xF0
EVENT_MARKER = 0xE0
#: Parameter bytes each command carries.
COMMAND_PARAM_SIZES: dict[Opcode, int] = {
    Opcode.START: 2,
    Opcode.STOP: 0,
    Opcode.SET_RATE: 2,
    Opcode.SET_RANGE: 2,
    Opcode.IDENTIFY: 1,
    Opcode.GET_STATUS: 0,
}
#: Parameter bytes of each successful response.
RESPONSE_PARAM_SIZES: dict[Opcode, int] = {
    Opcode.START: 5,
    Opcode.STOP: 0,
    Opcode.SET_RATE: 2,
    Opcode.SET_RANGE: 2,
    Opcode.IDENTIFY: 0,
    Opcode.GET_STATUS: 10,
}
MAX_IDENTIFY_S = 60


@dataclass(frozen=True)
class Command:
    """A decoded control command. Unused fields stay None."""

    opcode: Opcode
    max_payload_bytes: int | None = None  # START
    sample_rate_hz: float | None = None  # SET_RATE
    acc_range_g: int | None = None  # SET_RANGE
    gyro_range_dps: int | None = None  # SET_RANGE
    identify_s: int | None = None  # IDENTIFY


@dataclass(frozen=True)
class StreamConfig:
    """What START answers: the stream's settings and samples per notification."""

    sample_rate_hz: float
    acc_range_g: int
    gyro_range_dps: int
    samples_per_notification: int


@dataclass(frozen=True)
class DeviceStatus:
    """What GET_STATUS answers."""

    streaming: bool
    sample_rate_hz: float
    acc_range_g: int
    gyro_range_dps: int
    samples_per_notification: int
    dropped_samples: int


@dataclass(frozen=True)
class Response:
    """A response to a command; ``value`` is the decoded parameters, None without.

    ``opcode`` is a plain int only when the device answers UNKNOWN_OPCODE to a code
    this module does not know either.
    """

    opcode: Opcode | int
    status: Status
    value: StreamConfig | DeviceStatus | float | tuple[int, int] | None = None


@dataclass(frozen=True)
class Event:
    """An unsolicited event: OVERFLOW carries the dropped-sample total, STREAM_STOPPED a reason."""

    code: EventCode
    dropped_samples: int | None = None
    reason: StopReason | None = None


def encode_start(max_payload_bytes: int) -> bytes:
    """START: the central's notification payload budget (its ATT MTU - 3)."""
    if not HEADER_SIZE + SAMPLE_SIZE <= max_payload_bytes <= 0xFFFF:
        raise ValueError(
            f"max payload {max_payload_bytes} bytes: need at least {HEADER_SIZE + SAMPLE_SIZE}"
        )
    return bytes((Opcode.START,)) + max_payload_bytes.to_bytes(2, "little")


def encode_stop() -> bytes:
    return bytes((Opcode.STOP,))


def encode_set_rate(sample_rate_hz: float) -> bytes:
    """SET_RATE: the wanted rate; the device answers with the nearest rate it runs."""
    return bytes((Opcode.SET_RATE,)) + rate_to_qhz(sample_rate_hz).to_bytes(2, "little")


def encode_set_range(acc_range_g: float, gyro_range_dps: float) -> bytes:
    return bytes((Opcode.SET_RANGE, acc_range_code(acc_range_g), gyro_range_code(gyro_range_dps)))


def encode_identify(duration_s: int) -> bytes:
    """IDENTIFY: blink the board's LED for ``duration_s`` (1..60) seconds."""
    if not 1 <= duration_s <= MAX_IDENTIFY_S:
        raise ValueError(f"identify duration {duration_s} s outside 1..{MAX_IDENTIFY_S}")
    return bytes((Opcode.IDENTIFY, duration_s))


def encode_get_status() -> bytes:
    return bytes((Opcode.GET_STATUS,))


class CommandError(DecodeError):
    """A control write the device must refuse; ``status`` is the code to answer with."""

    def __init__(self, message: str, opcode: int, status: Status) -> None:
        super().__init__(message)
        self.opcode = opcode
        self.status = status


def decode_command(payload: bytes) -> Command:
    """Parse a control write, as the firmware (or the emulator) does.

    Raises CommandError carrying the opcode and the status the device answers with.
    """
    data = bytes(payload)
    if not data:
        raise CommandError("empty control write", 0, Status.INVALID_LENGTH)
    try:
        op = Opcode(data[0])
    except ValueError:
        raise CommandError(
            f"unknown control opcode 0x{data[0]:02x}", data[0], Status.UNKNOWN_OPCODE
        ) from None
    params = data[1:]
    if len(params) != COMMAND_PARAM_SIZES[op]:
        raise CommandError(
            f"{op.name} takes {COMMAND_PARAM_SIZES[op]} parameter bytes, got {len(params)}",
            op,
            Status.INVALID_LENGTH,
        )
    if op is Opcode.START:
        budget = int.from_bytes(params, "little")
        if budget < HEADER_SIZE + SAMPLE_SIZE:
            raise CommandError(
                f"START payload budget {budget} bytes is below one sample",
                op,
                Status.INVALID_PARAMETER,
            )
        return Command(op, max_payload_bytes=budget)
    if op is Opcode.SET_RATE:
        qhz = int.from_bytes(params, "little")
        if not 1 <= qhz <= MAX_RATE_QHZ:
            raise CommandError(f"SET_RATE {qhz}/4 Hz out of range", op, Status.INVALID_PARAMETER)
        return Command(op, sample_rate_hz=qhz / RATE_UNITS_PER_HZ)
    if op is Opcode.SET_RANGE:
        acc_code, gyro_code = params
        if acc_code >= len(ACC_RANGES_G) or gyro_code >= len(GYRO_RANGES_DPS):
            raise CommandError(
                f"SET_RANGE codes {acc_code}, {gyro_code} unknown", op, Status.INVALID_PARAMETER
            )
        return Command(
            op, acc_range_g=ACC_RANGES_G[acc_code], gyro_range_dps=GYRO_RANGES_DPS[gyro_code]
        )
    if op is Opcode.IDENTIFY:
        seconds = params[0]
        if not 1 <= seconds <= MAX_IDENTIFY_S:
            raise CommandError(
                f"IDENTIFY {seconds} s outside 1..{MAX_IDENTIFY_S}", op, Status.INVALID_PARAMETER
            )
        return Command(op, identify_s=seconds)
    return Command(op)


def _expect(value: object, kind: type | types.UnionType, op: Opcode) -> Any:
    if not isinstance(value, kind):
        raise ValueError(f"a successful {op.name} response needs a {kind} value, got {value!r}")
    return value


def encode_response(
    opcode: int,
    status: Status,
    value: StreamConfig | DeviceStatus | float | tuple[int, int] | None = None,
) -> bytes:
    """A response notification ``F0 opcode status params`` (params only with Status.OK).

    ``value`` per opcode: START StreamConfig, SET_RATE the rate set (Hz), SET_RANGE
    (acc_range_g, gyro_range_dps), GET_STATUS DeviceStatus, others None.
    """
    head = bytes((RESPONSE_MARKER, opcode, status))
    if status is not Status.OK:
        return head
    op = Opcode(opcode)
    if op is Opcode.START:
        config: StreamConfig = _expect(value, StreamConfig, op)
        params = (
            rate_to_qhz(config.sample_rate_hz).to_bytes(2, "little")
            + bytes((acc_range_code(config.acc_range_g), gyro_range_code(config.gyro_range_dps)))
            + bytes((config.samples_per_notification,))
        )
    elif op is Opcode.SET_RATE:
        params = rate_to_qhz(float(_expect(value, float | int, op))).to_bytes(2, "little")
    elif op is Opcode.SET_RANGE:
        acc_g, gyro_dps = _expect(value, tuple, op)
        params = bytes((acc_range_code(acc_g), gyro_range_code(gyro_dps)))
    elif op is Opcode.GET_STATUS:
        device: DeviceStatus = _expect(value, DeviceStatus, op)
        params = (
            bytes((int(device.streaming),))
            + rate_to_qhz(device.sample_rate_hz).to_bytes(2, "little")
            + bytes(
                (
                    acc_range_code(device.acc_range_g),
                    gyro_range_code(device.gyro_range_dps),
                    device.samples_per_notification,
                )
            )
            + (device.dropped_samples % DEVICE_CLOCK_WRAP_US).to_bytes(4, "little")
        )
    else:
        params = b""
    return head + params


def encode_overflow_event(dropped_samples: int) -> bytes:
    """OVERFLOW event: samples dropped since START (u32, wraps)."""
    return bytes((EVENT_MARKER, EventCode.OVERFLOW)) + (
        dropped_samples % DEVICE_CLOCK_WRAP_US
    ).to_bytes(4, "little")


def encode_stream_stopped_event(reason: StopReason) -> bytes:
    return bytes((EVENT_MARKER, EventCode.STREAM_STOPPED, reason))


def _decode_rate(two: bytes) -> float:
    qhz = int.from_bytes(two, "little")
    if not 1 <= qhz <= MAX_RATE_QHZ:
        raise DecodeError(f"control response with sample rate code {qhz}")
    return qhz / RATE_UNITS_PER_HZ


def _decode_ranges(acc_code: int, gyro_code: int) -> tuple[int, int]:
    if acc_code >= len(ACC_RANGES_G) or gyro_code >= len(GYRO_RANGES_DPS):
        raise DecodeError(f"control response with range codes {acc_code}, {gyro_code}")
    return ACC_RANGES_G[acc_code], GYRO_RANGES_DPS[gyro_code]


def decode_control_notification(payload: bytes) -> Response | Event:
    """Parse a notification of the control characteristic: a response or an event."""
    data = bytes(payload)
    if len(data) < 2:
        raise DecodeError(
            f"control notification of {len(data)} bytes is too short", DecodeReason.TRUNCATED
        )
    if data[0] == EVENT_MARKER:
        try:
            code = EventCode(data[1])
        except ValueError:
            raise DecodeError(f"unknown control event 0x{data[1]:02x}") from None
        if code is EventCode.OVERFLOW:
            if len(data) != 6:
                raise DecodeError(
                    f"OVERFLOW event of {len(data)} bytes, expected 6", length_reason(len(data), 6)
                )
            return Event(code, dropped_samples=int.from_bytes(data[2:6], "little"))
        if len(data) != 3:
            raise DecodeError(
                f"STREAM_STOPPED event of {len(data)} bytes, expected 3",
                length_reason(len(data), 3),
            )
        try:
            return Event(code, reason=StopReason(data[2]))
        except ValueError:
            raise DecodeError(f"unknown stream stop reason 0x{data[2]:02x}") from None
    if data[0] != RESPONSE_MARKER:
        raise DecodeError(f"control notification starts with 0x{data[0]:02x}, not F0 or E0")
    if len(data) < 3:
        raise DecodeError("control response without a status byte")
    try:
        op = Opcode(data[1])
    except ValueError:
        op = None
    try:
        status = Status(data[2])
    except ValueError:
        raise DecodeError(f"control response with unknown status 0x{data[2]:02x}") from None
    params = data[3:]
    if op is None:
        if status is Status.UNKNOWN_OPCODE and not params:
            # The device names the opcode it did not know; keep it as an int.
            return Response(data[1], status)
        raise DecodeError(f"control response to unknown opcode 0x{data[1]:02x}")
    expected = RESPONSE_PARAM_SIZES[op] if status is Status.OK else 0
    if len(params) != expected:
        raise DecodeError(
            f"{op.name} response ({status.name}) has {len(params)} parameter bytes, "
            f"expected {expected}"
        )
    if status is not Status.OK:
        return Response(op, status)
    value: StreamConfig | DeviceStatus | float | tuple[int, int] | None = None
    if op is Opcode.START:
        acc_g, gyro_dps = _decode_ranges(params[2], params[3])
        value = StreamConfig(_decode_rate(params[0:2]), acc_g, gyro_dps, params[4])
    elif op is Opcode.SET_RATE:
        value = _decode_rate(params)
    elif op is Opcode.SET_RANGE:
        value = _decode_ranges(params[0], params[1])
    elif op is Opcode.GET_STATUS:
        if params[0] > 1:
            raise DecodeError(f"status with streaming flag {params[0]}")
        acc_g, gyro_dps = _decode_ranges(params[3], params[4])
        value = DeviceStatus(
            streaming=bool(params[0]),
            sample_rate_hz=_decode_rate(params[1:3]),
            acc_range_g=acc_g,
            gyro_range_dps=gyro_dps,
            samples_per_notification=params[5],
            dropped_samples=int.from_bytes(params[6:10], "little"),
        )
    return Response(op, status, value)


# ---- battery --------------------------------------------------------------------------


def encode_battery_level(percent: int) -> bytes:
    """Battery Level characteristic value (SIG 0x2A19): one byte, 0..100 %."""
    if not 0 <= percent <= 100:
        raise ValueError(f"battery level {percent} % outside 0..100")
    return bytes((percent,))


def decode_battery_level(payload: bytes) -> int:
    """Battery percentage 0..100 from the Battery Level characteristic."""
    data = bytes(payload)
    if len(data) != 1 or data[0] > 100:
        raise DecodeError(f"battery level must be one byte 0..100, got {data.hex() or 'nothing'}")
    return data[0]
