"""Movella DOT (formerly Xsens DOT): real-time streaming over its GATT services.

Pure encoders and decoders, no I/O. Source: the vendor's "Movella DOT BLE Service
Specification", document XD0506P, Revision C (July 2023), cited below as "spec" with its
section / table; and the vendor's example central, github.com/xsens/xsens_dot_server
(``bleHandler.js`` and ``global.js`` at 307582fe7475b4cf804571c3a90f7c4669af3541), cited
as "dot_server".

Values are in the sensor frame of docs/frames.md: m/s^2 and rad/s; times in seconds on
the sensor's local clock.

Protocol outline (what this module implements)
----------------------------------------------
* Every attribute's UUID is ``1517xxxx-4947-11E9-8646-D663BD873D93`` (spec 1.1); all
  multi-byte members are little-endian (spec 1.3).
* Scanning: Movella's Bluetooth company identifier 2182 = 0x0886 together with the
  advertised name "Movella DOT" (firmware 2.x; "Xsens DOT" before 2.4) identify a DOT
  (spec 1.2, Table 3 and Table 4). The spec names the company id "for scanning" but does
  not lay out the advertisement: that the id is sent as manufacturer-specific data, and
  what follows it there, is UNCONFIRMED. Nothing says the service UUIDs are advertised.
* Output rate: the 32-byte device control characteristic ``0x1002`` (spec 2.2, Table 7):
  byte 0 is a "visit index" bitmask saying which fields a write sets (bit 4 = output
  rate), the rate is a u16 at offset 24. Live rates are 1, 4, 10, 12, 15, 20, 30 and 60
  (default) Hz; 120 Hz is for on-device recording only. (The rate set is the spec's;
  "any rate 1-60 Hz" is not what the vendor documents.) The rate cannot change while a
  measurement runs.
* Measurement control ``0x2001`` (spec 3.1, Table 13): 3 bytes ``[type=1, action,
  payload mode]``, action 1 start / 0 stop; read back gives the current state.
  Notifications must be enabled on the payload characteristic before the start.
* Payload mode 21 "Rate quantities" (spec 3.3, Table 15; 3.5, Table 17) notifies on the
  medium payload characteristic ``0x2003``: u32 timestamp (microseconds, sensor clock),
  calibrated acceleration f32 x3 in m/s^2, angular velocity f32 x3 in deg/s, sensor
  frame: 28 bytes, one sample per notification. The characteristic is 40 bytes long
  and "trailing unused bytes are all set to 0x00", so a notification may carry up to
  12 zero bytes of padding after the sample; they are accepted. dot_server reads the
  same layout for mode 20 (rate quantities with magnetometer): acc at offset 4, gyro at
  16. Rate quantities carry no clipping flags; the Extended modes (2, 7) do (status
  bits and clip counts, spec 3.5.1) but hold free acceleration and orientation instead
  of the calibrated specific force and rate of turn this tool needs.
* The u32 microsecond counter wraps every 2^32 us = 71.6 min; `RateQuantitiesDecoder`
  unwraps it (dot_server adds its ROLLOVER constant 4294967295 on a step back, one
  microsecond short of the counter's modulus; here the modulus 2^32 is used). Without
  the vendor's synchronisation (Message service, spec 5.3, not implemented) each DOT
  runs its own clock from power-on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

import numpy as np

from tracker.devices.base import DecodedPacket, DecodeError, DecodeReason, length_reason
from tracker.errors import InputError
from tracker.units import RAD_PER_DEG

# --- GATT (spec 1.1, Tables 2, 5, 12, 20) ---------------------------------------------------

_BASE_UUID = "1517{:04x}-4947-11e9-8646-d663bd873d93"


def dot_uuid(short: int) -> str:
    """The full 128-bit UUID (lower case, as bleak writes it) of a DOT attribute."""
    if not 0 <= short <= 0xFFFF:
        raise InputError(f"Movella DOT short UUID must be 16 bits, got {short:#x}")
    return _BASE_UUID.format(short)


CONFIGURATION_SERVICE_UUID = dot_uuid(0x1000)
#: Read: 34 bytes of MAC, firmware version, build date, serial, product code.
DEVICE_INFO_UUID = dot_uuid(0x1001)
#: Read / write: 32 bytes of settings (output rate, tag, filter profile, ...).
DEVICE_CONTROL_UUID = dot_uuid(0x1002)
#: Notify: power off / power saving / button reports.
DEVICE_REPORT_UUID = dot_uuid(0x1004)
MEASUREMENT_SERVICE_UUID = dot_uuid(0x2000)
#: Read / write: ``[1, action, payload mode]``.
MEASUREMENT_CONTROL_UUID = dot_uuid(0x2001)
#: Notify: payload modes longer than 40 bytes.
LONG_PAYLOAD_UUID = dot_uuid(0x2002)
#: Notify: payload modes of 21-40 bytes, rate quantities among them.
MEDIUM_PAYLOAD_UUID = dot_uuid(0x2003)
#: Notify: payload modes of up to 20 bytes.
SHORT_PAYLOAD_UUID = dot_uuid(0x2004)
BATTERY_SERVICE_UUID = dot_uuid(0x3000)
#: Read / notify: ``[level %, charging]``.
BATTERY_UUID = dot_uuid(0x3001)

#: Movella Technologies B.V.'s Bluetooth SIG company identifier (spec Table 3: 2182).
COMPANY_ID = 0x0886
#: Advertised names: "Movella DOT" from firmware 2.x, "Xsens DOT" before (spec Table 4).
DEVICE_NAMES: tuple[str, ...] = ("Movella DOT", "Xsens DOT")

#: Length of the medium payload characteristic (spec Table 12).
MEDIUM_PAYLOAD_BYTES = 40

# --- device control (spec 2.2, Table 7) ---------------------------------------------------

DEVICE_CONTROL_BYTES = 32
#: Offsets of the fields in the device control structure.
_TAG_LENGTH_AT = 7
_TAG_AT = 8
TAG_MAX_BYTES = 16
_OUTPUT_RATE_AT = 24
_FILTER_PROFILE_AT = 26

#: Output rates for real-time streaming (spec Table 7).
LIVE_OUTPUT_RATES_HZ: tuple[int, ...] = (1, 4, 10, 12, 15, 20, 30, 60)
#: The rate a DOT streams at unless told otherwise (spec Table 7, "60 (Default)").
DEFAULT_OUTPUT_RATE_HZ = 60
#: Only for recording to the sensor's flash, not for streaming (spec Table 7).
RECORDING_ONLY_RATE_HZ = 120


class VisitIndex(IntFlag):
    """Byte 0 of a device control write: which fields the write sets."""

    IDENTIFY = 0x01
    POWER_OFF = 0x02
    POWER_SAVING_TIMEOUT = 0x04
    TAG_NAME = 0x08
    OUTPUT_RATE = 0x10
    FILTER_PROFILE = 0x20


@dataclass(frozen=True)
class DeviceControl:
    """The device control fields this tool uses (the rest stays as the sensor has it)."""

    visit_index: VisitIndex
    output_rate_hz: int
    filter_profile: int = 0
    tag: str = ""


def encode_set_output_rate(rate_hz: int) -> bytes:
    """A device control write that sets only the output rate (visit index bit 4)."""
    if rate_hz not in LIVE_OUTPUT_RATES_HZ:
        raise InputError(
            f"a Movella DOT streams at {', '.join(map(str, LIVE_OUTPUT_RATES_HZ))} Hz, "
            f"not {rate_hz}"
        )
    return encode_device_control(DeviceControl(VisitIndex.OUTPUT_RATE, output_rate_hz=int(rate_hz)))


def encode_device_control(control: DeviceControl) -> bytes:
    """The 32-byte structure (also what a read of the characteristic returns)."""
    tag = control.tag.encode("utf-8")
    if len(tag) > TAG_MAX_BYTES:
        raise InputError(f"Movella DOT tag {control.tag!r} is longer than {TAG_MAX_BYTES} bytes")
    if not 0 <= control.output_rate_hz <= 0xFFFF:
        raise InputError(f"Movella DOT output rate {control.output_rate_hz} does not fit 16 bits")
    out = bytearray(DEVICE_CONTROL_BYTES)
    out[0] = int(control.visit_index) & 0xFF
    out[_TAG_LENGTH_AT] = len(tag)
    out[_TAG_AT : _TAG_AT + len(tag)] = tag
    out[_OUTPUT_RATE_AT : _OUTPUT_RATE_AT + 2] = control.output_rate_hz.to_bytes(2, "little")
    out[_FILTER_PROFILE_AT] = control.filter_profile & 0xFF
    return bytes(out)


def decode_device_control(data: bytes) -> DeviceControl:
    """Parse the device control structure (a write, emulator side, or a read)."""
    data = bytes(data)
    if len(data) != DEVICE_CONTROL_BYTES:
        raise DecodeError(
            f"Movella DOT device control is {len(data)} bytes, expected {DEVICE_CONTROL_BYTES}",
            length_reason(len(data), DEVICE_CONTROL_BYTES),
        )
    tag_len = data[_TAG_LENGTH_AT]
    if tag_len > TAG_MAX_BYTES:
        raise DecodeError(f"Movella DOT tag length {tag_len} is over {TAG_MAX_BYTES}")
    try:
        tag = data[_TAG_AT : _TAG_AT + tag_len].decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("Movella DOT tag is not UTF-8") from None
    return DeviceControl(
        visit_index=VisitIndex(data[0] & 0x3F),
        output_rate_hz=int.from_bytes(data[_OUTPUT_RATE_AT : _OUTPUT_RATE_AT + 2], "little"),
        filter_profile=data[_FILTER_PROFILE_AT],
        tag=tag,
    )


# --- measurement control (spec 3.1, Table 13) ---------------------------------------------

MEASUREMENT_CONTROL_BYTES = 3
#: Byte 0: the control target; only "measurement" exists.
CONTROL_TYPE_MEASUREMENT = 1


class Action(IntEnum):
    STOP = 0
    START = 1


class PayloadMode(IntEnum):
    """Byte 2 of the measurement control (spec Table 13)."""

    HIGH_FIDELITY_WITH_MAG = 1
    EXTENDED_QUATERNION = 2
    COMPLETE_QUATERNION = 3
    ORIENTATION_EULER = 4
    ORIENTATION_QUATERNION = 5
    FREE_ACCELERATION = 6
    EXTENDED_EULER = 7
    COMPLETE_EULER = 16
    HIGH_FIDELITY = 17
    DELTA_QUANTITIES_WITH_MAG = 18
    DELTA_QUANTITIES = 19
    RATE_QUANTITIES_WITH_MAG = 20
    RATE_QUANTITIES = 21
    CUSTOM_MODE_1 = 22
    CUSTOM_MODE_2 = 23
    CUSTOM_MODE_3 = 24
    CUSTOM_MODE_4 = 25
    CUSTOM_MODE_5 = 26


@dataclass(frozen=True)
class MeasurementControl:
    action: Action
    payload_mode: int

    @property
    def start(self) -> bool:
        return self.action == Action.START


def encode_measurement_control(
    action: Action, payload_mode: int = PayloadMode.RATE_QUANTITIES
) -> bytes:
    """``[1, action, payload mode]``; the mode matters only on start (spec Table 13)."""
    if not 0 <= payload_mode <= 0xFF:
        raise InputError(f"Movella DOT payload mode must be a byte, got {payload_mode}")
    return bytes([CONTROL_TYPE_MEASUREMENT, Action(action), payload_mode])


def encode_start(payload_mode: int = PayloadMode.RATE_QUANTITIES) -> bytes:
    return encode_measurement_control(Action.START, payload_mode)


def encode_stop(payload_mode: int = PayloadMode.RATE_QUANTITIES) -> bytes:
    return encode_measurement_control(Action.STOP, payload_mode)


def decode_measurement_control(data: bytes) -> MeasurementControl:
    """Parse a measurement control write (emulator side) or read."""
    data = bytes(data)
    if len(data) != MEASUREMENT_CONTROL_BYTES:
        raise DecodeError(
            f"Movella DOT measurement control is {len(data)} bytes, expected 3",
            length_reason(len(data), MEASUREMENT_CONTROL_BYTES),
        )
    if data[0] != CONTROL_TYPE_MEASUREMENT:
        raise DecodeError(f"Movella DOT control type {data[0]} (only 1, measurement, exists)")
    if data[1] not in (Action.STOP, Action.START):
        raise DecodeError(f"Movella DOT measurement action {data[1]} (0 stop or 1 start)")
    return MeasurementControl(Action(data[1]), data[2])


# --- rate quantities (spec 3.3 Table 15, 3.5 Table 17) --------------------------------------

RATE_QUANTITIES_BYTES = 28
_TS_BYTES = 4
#: The microsecond timestamp's modulus: it wraps after 4294.97 s (71.6 min).
TIMESTAMP_MODULUS_US = 1 << 32
_US_PER_S = 1_000_000


def payload_timestamp_us(payload: bytes) -> int:
    """The raw (wrapping) sensor timestamp of a payload, in microseconds."""
    if len(payload) < _TS_BYTES:
        raise DecodeError(
            f"Movella DOT payload is {len(payload)} bytes, too short for a timestamp",
            DecodeReason.TRUNCATED,
        )
    return int.from_bytes(payload[:_TS_BYTES], "little")


def _check_rate_quantities(payload: bytes) -> None:
    n = len(payload)
    if n < RATE_QUANTITIES_BYTES:
        raise DecodeError(
            f"Movella DOT rate quantities payload is {n} bytes, expected 28",
            DecodeReason.TRUNCATED,
        )
    if n > MEDIUM_PAYLOAD_BYTES:
        raise DecodeError(
            f"Movella DOT payload is {n} bytes, longer than its 40-byte characteristic",
            DecodeReason.OVERSIZED,
        )
    if any(payload[RATE_QUANTITIES_BYTES:]):
        # Only zero padding may follow the sample: anything else is another payload mode.
        raise DecodeError(
            f"Movella DOT payload of {n} bytes is not rate quantities (28 bytes, "
            "zero padding after)",
            DecodeReason.OVERSIZED,
        )


def decode_rate_quantities(payload: bytes) -> DecodedPacket:
    """One rate-quantities notification -> one sample (time on the raw, wrapping clock)."""
    payload = bytes(payload)
    _check_rate_quantities(payload)
    # NaN and infinity are told by their bits (exponent all ones): converting a
    # signalling NaN to float64 would raise a floating-point error first.
    bits = np.frombuffer(payload, dtype="<u4", count=6, offset=_TS_BYTES)
    if ((bits & 0x7F800000) == 0x7F800000).any():
        raise DecodeError("Movella DOT sample holds a NaN or infinite value")
    floats = bits.view("<f4").astype(np.float64)
    time_s = np.array([payload_timestamp_us(payload) / _US_PER_S])
    return DecodedPacket(
        time_s,
        acc_mps2=floats[:3].reshape(1, 3),
        gyro_rad_s=floats[3:].reshape(1, 3) * RAD_PER_DEG,
    )


def encode_rate_quantities(
    timestamp_us: int, acc_mps2: np.ndarray, gyro_rad_s: np.ndarray
) -> bytes:
    """One 28-byte rate-quantities payload: u32 us, acc m/s^2, gyro deg/s (float32)."""
    acc = np.asarray(acc_mps2, dtype=np.float64).reshape(-1)
    gyro = np.asarray(gyro_rad_s, dtype=np.float64).reshape(-1)
    if acc.shape != (3,) or gyro.shape != (3,):
        raise InputError(f"need one acc and one gyro sample (3 values each), got {acc.shape}")
    if not 0 <= timestamp_us < TIMESTAMP_MODULUS_US:
        raise InputError(f"Movella DOT timestamp {timestamp_us} us does not fit 32 bits")
    return (
        int(timestamp_us).to_bytes(4, "little")
        + acc.astype("<f4").tobytes()
        + (gyro / RAD_PER_DEG).astype("<f4").tobytes()
    )


class TimestampUnwrapper:
    """Turns the wrapping u32 microsecond counter into a running count.

    A step back by more than half the counter's range is a wrap, not a late packet (at
    60 Hz a sample is 16.7 ms; half the range is 35.8 min).
    One unwrapper serves a sensor across reconnects: its clock runs on meanwhile.
    """

    def __init__(self) -> None:
        self._wraps = 0
        self._last_us: int | None = None

    def unwrap(self, timestamp_us: int) -> int:
        last = self._last_us
        if last is not None:
            if timestamp_us < last - TIMESTAMP_MODULUS_US // 2:
                self._wraps += 1
            elif timestamp_us > last + TIMESTAMP_MODULUS_US // 2 and self._wraps:
                # A late packet from before the latest wrap.
                return timestamp_us + (self._wraps - 1) * TIMESTAMP_MODULUS_US
        self._last_us = timestamp_us
        return timestamp_us + self._wraps * TIMESTAMP_MODULUS_US


class RateQuantitiesDecoder:
    """One rate-quantities stream: decodes each notification and unwraps its timestamp."""

    def __init__(self) -> None:
        self._unwrapper = TimestampUnwrapper()

    def feed(self, payload: bytes) -> DecodedPacket:
        packet = decode_rate_quantities(payload)
        ts_us = self._unwrapper.unwrap(payload_timestamp_us(payload))
        return DecodedPacket(
            np.array([ts_us / _US_PER_S]),
            acc_mps2=packet.acc_mps2,
            gyro_rad_s=packet.gyro_rad_s,
        )
