"""Polar Measurement Data (PMD): Verity Sense accelerometer and gyroscope, H10/OH1 accelerometer.

Pure encoders and decoders, no I/O. The BLE session calls the ``encode_*`` command
builders and the ``decode_*`` parsers; the emulator calls the opposite pairs to speak the
protocol byte for byte. Byte layouts follow the vendor's SDK and PDF:
github.com/polarofficial/polar-ble-sdk@8fb5311c8f63fd58fdd03df1b46cbb2e8f05209e, its
``sources/Android/.../gatt/client/pmd/`` (BlePMDClient.kt, PmdMeasurementType.kt) and
``technical_documentation/online_measurement.pdf``.

Decoded values are in the sensor frame of docs/frames.md: specific force in m/s^2,
angular velocity in rad/s, times in seconds on the device clock (seconds since
2000-01-01T00:00:00Z as the device believes it to be).

Protocol outline
----------------
* The client enables notifications on the control point (CP) and on the data
  characteristic, then writes CP commands: ``01 <type>`` get settings, ``02 <type> <TLVs>``
  start, ``03 <type>`` stop, ``04 <type>`` get SDK-mode settings; ``02 09`` / ``03 09``
  switch the Verity Sense's SDK mode on / off (that mode unlocks 26-416 Hz).
* Each command is answered on the CP with ``F0 <op> <type> <status> <more> <params>``.
  The start response may carry a FACTOR setting that scales compressed samples.
* Data notifications are ``<type> <u64 timestamp ns> <frame type> <content>``; the
  timestamp belongs to the LAST sample of the frame (see `sample_times_ns`).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum

import numpy as np

from tracker.devices.base import DecodedPacket, DecodeError, DecodeReason
from tracker.errors import DeviceError, InputError
from tracker.units import G_MPS2, RAD_PER_DEG

# --- GATT ---------------------------------------------------------------------------------

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
#: Read: feature bitmap; write: commands; notify: responses.
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
#: Notify: measurement data frames.
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
#: Advertised names look like "Polar Sense 1A2B3C4D", "Polar H10 1A2B3C4D".
DEVICE_NAME_PREFIX = "Polar"

#: Longest attribute value BLE allows (ATT); anything longer is not a PMD notification.
MAX_PAYLOAD_BYTES = 512


class MeasurementType(IntEnum):
    """PMD measurement type ids (the low 6 bits of a type byte)."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAG = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14


class ControlPointOp(IntEnum):
    """Commands the client writes to the control point (first byte)."""

    GET_MEASUREMENT_SETTINGS = 1
    REQUEST_MEASUREMENT_START = 2
    STOP_MEASUREMENT = 3
    GET_SDK_MODE_MEASUREMENT_SETTINGS = 4
    GET_MEASUREMENT_STATUS = 5
    GET_SDK_MODE_STATUS = 6


class ResponseStatus(IntEnum):
    """Status byte of a control-point response."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


class SettingType(IntEnum):
    """Setting ids of the type-length-value lists in requests and responses."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5
    SECURITY = 6


#: Width in bytes of one value of each setting (PmdSetting.typeToFieldSize in the SDK).
#: CHANNELS is one byte: a 2-byte value makes the Verity Sense reject the request.
_SETTING_WIDTH = {
    SettingType.SAMPLE_RATE: 2,
    SettingType.RESOLUTION: 2,
    SettingType.RANGE: 2,
    SettingType.RANGE_MILLIUNIT: 4,
    SettingType.CHANNELS: 1,
    SettingType.FACTOR: 4,
    SettingType.SECURITY: 16,
}

#: First byte of a feature read of the control point.
FEATURE_READ_CODE = 0x0F
#: First byte of every response notification on the control point.
RESPONSE_CODE = 0xF0
#: First byte of a server-initiated CP notification: the device stopped streams by itself.
ONLINE_MEASUREMENT_STOPPED = 0x01

_TYPE_MASK = 0x3F
_COMPRESSED_BIT = 0x80
_HEADER_BYTES = 10


def _type_name(type_id: int) -> str:
    try:
        return MeasurementType(type_id).name
    except ValueError:
        return f"type {type_id}"


def _check_u8(name: str, value: int) -> int:
    if not 0 <= value <= 0xFF:
        raise InputError(f"{name} must fit in one byte (0..255), got {value}")
    return value


# --- feature read -------------------------------------------------------------------------


def decode_features(data: bytes) -> frozenset[MeasurementType]:
    """Measurement types a device offers, from a read of the control point.

    Byte 0 is 0x0F; then bit ``i`` of the little-endian bitmap is measurement type ``i``
    (e.g. bit 2 of byte 1 = ACC, bit 1 of byte 2 = SDK_MODE). Unknown bits are ignored.
    """
    data = bytes(data)
    if len(data) < 2:
        raise DecodeError(
            f"PMD feature read is {len(data)} bytes, expected at least 2", DecodeReason.TRUNCATED
        )
    if len(data) > MAX_PAYLOAD_BYTES:
        raise DecodeError(
            f"PMD feature read is {len(data)} bytes, longer than any attribute",
            DecodeReason.OVERSIZED,
        )
    if data[0] != FEATURE_READ_CODE:
        raise DecodeError(f"PMD feature read starts with 0x{data[0]:02X}, expected 0x0F")
    bitmap = int.from_bytes(data[1:], "little")
    return frozenset(t for t in MeasurementType if bitmap >> t.value & 1)


def encode_features(types: Iterable[int]) -> bytes:
    """The control point's read value advertising ``types`` (emulator side)."""
    bitmap = 0
    for t in types:
        bitmap |= 1 << _check_u8("measurement type", int(t))
    return bytes([FEATURE_READ_CODE]) + bitmap.to_bytes(
        max(2, (bitmap.bit_length() + 7) // 8), "little"
    )


# --- settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PmdSettings:
    """Settings as exchanged on the control point.

    A GET_SETTINGS response lists every value the device accepts; a start request carries
    one value per setting; a start response usually carries only ``factor``. ``ranges``
    is in the stream's own unit: ±g for ACC, ±deg/s for GYRO. Empty tuple = not present.
    """

    sample_rates_hz: tuple[int, ...] = ()
    resolutions_bits: tuple[int, ...] = ()
    ranges: tuple[int, ...] = ()
    ranges_milliunit: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    #: Scale of compressed samples; None when the device did not send one (then 1.0).
    factor: float | None = None
    security: tuple[bytes, ...] = field(default=(), repr=False)


_FIELD_OF = {
    SettingType.SAMPLE_RATE: "sample_rates_hz",
    SettingType.RESOLUTION: "resolutions_bits",
    SettingType.RANGE: "ranges",
    SettingType.RANGE_MILLIUNIT: "ranges_milliunit",
    SettingType.CHANNELS: "channels",
}


def decode_settings(params: bytes) -> PmdSettings:
    """Parse a settings TLV list: ``type:u8, count:u8, count x value`` repeated.

    Integer values are signed little-endian, as in the vendor SDK (whose tests read a
    RANGE_MILLIUNIT of ``FF FF FF FF`` as -1); FACTOR is an IEEE-754 float32; SECURITY is
    16 raw bytes. Raises `DecodeError` on an unknown setting type (its width is unknown,
    so nothing after it can be read) and on a truncated value.
    """
    params = bytes(params)
    if len(params) > MAX_PAYLOAD_BYTES * 16:
        raise DecodeError(
            f"PMD settings are {len(params)} bytes, implausibly long", DecodeReason.OVERSIZED
        )
    values: dict[str, tuple] = {}
    factor: float | None = None
    pos = 0
    while pos < len(params):
        if pos + 2 > len(params):
            raise DecodeError(
                f"PMD settings truncated: setting header at byte {pos}", DecodeReason.TRUNCATED
            )
        type_id, count = params[pos], params[pos + 1]
        pos += 2
        try:
            setting = SettingType(type_id)
        except ValueError:
            raise DecodeError(f"unknown PMD setting type {type_id} at byte {pos - 2}") from None
        width = _SETTING_WIDTH[setting]
        end = pos + width * count
        if end > len(params):
            raise DecodeError(
                f"PMD setting {setting.name} truncated: needs {width * count} bytes, "
                f"{len(params) - pos} left",
                DecodeReason.TRUNCATED,
            )
        items = [params[i : i + width] for i in range(pos, end, width)]
        pos = end
        if setting is SettingType.FACTOR:
            if count != 1:
                raise DecodeError(f"PMD FACTOR setting has {count} values, expected 1")
            factor = struct.unpack("<f", items[0])[0]
            if not math.isfinite(factor) or factor == 0.0:
                raise DecodeError(f"PMD FACTOR {factor!r} cannot scale samples")
        elif setting is SettingType.SECURITY:
            values["security"] = tuple(items)
        else:
            values[_FIELD_OF[setting]] = tuple(
                int.from_bytes(b, "little", signed=True) for b in items
            )
    return PmdSettings(**values, factor=factor)


def encode_settings(settings: PmdSettings) -> bytes:
    """Serialise settings as TLVs in setting-id order (inverse of `decode_settings`)."""
    out = bytearray()
    for setting, name in _FIELD_OF.items():
        vals = getattr(settings, name)
        if not vals:
            continue
        width = _SETTING_WIDTH[setting]
        out += bytes([setting, _check_u8("number of values", len(vals))])
        for v in vals:
            if not -(1 << (8 * width - 1)) <= v < 1 << (8 * width - 1):
                raise InputError(f"PMD setting {setting.name} value {v} does not fit {width} B")
            out += int(v).to_bytes(width, "little", signed=True)
    if settings.factor is not None:
        out += bytes([SettingType.FACTOR, 1]) + struct.pack("<f", settings.factor)
    for item in settings.security:
        if len(item) != 16:
            raise InputError(f"PMD SECURITY value must be 16 bytes, got {len(item)}")
    if settings.security:
        out += bytes([SettingType.SECURITY, len(settings.security)]) + b"".join(settings.security)
    return bytes(out)


# --- control point commands ---------------------------------------------------------------


def encode_get_settings(measurement_type: int, *, sdk_mode: bool = False) -> bytes:
    """``01 <type>`` (or ``04 <type>``: the settings available in SDK mode)."""
    op = (
        ControlPointOp.GET_SDK_MODE_MEASUREMENT_SETTINGS
        if sdk_mode
        else ControlPointOp.GET_MEASUREMENT_SETTINGS
    )
    return bytes([op, _check_u8("measurement type", int(measurement_type))])


def encode_start(
    measurement_type: int,
    *,
    sample_rate_hz: int,
    resolution_bits: int | None = None,
    range_: int | None = None,
    channels: int | None = None,
) -> bytes:
    """``02 <type> <TLVs>``: start streaming with one value per setting (count = 1).

    ``range_`` is ±g for ACC and ±deg/s for GYRO. Send every setting the device listed in
    its GET_SETTINGS response (the H10 lists no CHANNELS). FACTOR is never sent: only the
    device chooses it.
    """
    one = PmdSettings(
        sample_rates_hz=(sample_rate_hz,),
        resolutions_bits=() if resolution_bits is None else (resolution_bits,),
        ranges=() if range_ is None else (range_,),
        channels=() if channels is None else (channels,),
    )
    return bytes(
        [ControlPointOp.REQUEST_MEASUREMENT_START, _check_u8("measurement type", measurement_type)]
    ) + encode_settings(one)


def encode_stop(measurement_type: int) -> bytes:
    """``03 <type>``: stop one stream."""
    return bytes([ControlPointOp.STOP_MEASUREMENT, _check_u8("measurement type", measurement_type)])


def encode_sdk_mode(enable: bool) -> bytes:
    """``02 09`` enters SDK mode (Verity Sense: 26..416 Hz ACC/GYRO), ``03 09`` leaves it."""
    op = ControlPointOp.REQUEST_MEASUREMENT_START if enable else ControlPointOp.STOP_MEASUREMENT
    return bytes([op, MeasurementType.SDK_MODE])


@dataclass(frozen=True)
class ControlPointCommand:
    """A command as written to the control point (what the emulator receives)."""

    op: int
    #: Measurement type without the recording-type bit; None for commands without one.
    measurement_type: int | None
    settings: PmdSettings = PmdSettings()
    #: Bit 7 of the type byte: 1 = offline recording instead of streaming.
    offline: bool = False


def decode_command(data: bytes) -> ControlPointCommand:
    """Parse a control-point write (emulator side)."""
    data = bytes(data)
    if not data:
        raise DecodeError("empty PMD control point command", DecodeReason.TRUNCATED)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise DecodeError(
            f"PMD command is {len(data)} bytes, longer than any attribute", DecodeReason.OVERSIZED
        )
    op = data[0]
    if len(data) == 1:
        return ControlPointCommand(op, None)
    type_byte = data[1]
    settings = decode_settings(data[2:]) if len(data) > 2 else PmdSettings()
    return ControlPointCommand(op, type_byte & _TYPE_MASK, settings, bool(type_byte & 0x80))


# --- control point responses --------------------------------------------------------------


def status_name(status: int) -> str:
    """Name of a response status byte, e.g. ``INVALID_SAMPLE_RATE``."""
    try:
        return ResponseStatus(status).name
    except ValueError:
        return f"UNKNOWN_STATUS_{status}"


@dataclass(frozen=True)
class ControlPointResponse:
    """``F0 <op> <type> <status> <more> <params>`` from the control point.

    As in the vendor SDK, ``more`` and ``params`` are read only on success: an error
    response carries neither.
    """

    op: int
    measurement_type: int
    status: int
    more: bool = False
    params: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status == ResponseStatus.SUCCESS

    @property
    def status_name(self) -> str:
        return status_name(self.status)

    def settings(self) -> PmdSettings:
        """The params parsed as settings (GET_SETTINGS and start responses)."""
        return decode_settings(self.params)


@dataclass(frozen=True)
class MeasurementStopped:
    """Server-initiated ``01 <types>``: the device ended these streams by itself."""

    measurement_types: tuple[int, ...]


def decode_control_point(data: bytes) -> ControlPointResponse | MeasurementStopped:
    """Parse a notification on the control point."""
    data = bytes(data)
    if not data:
        raise DecodeError("empty PMD control point notification", DecodeReason.TRUNCATED)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise DecodeError(
            f"PMD CP notification is {len(data)} bytes, longer than any attribute",
            DecodeReason.OVERSIZED,
        )
    if data[0] == ONLINE_MEASUREMENT_STOPPED:
        return MeasurementStopped(tuple(b & _TYPE_MASK for b in data[1:]))
    if data[0] != RESPONSE_CODE:
        raise DecodeError(f"PMD CP notification starts with 0x{data[0]:02X}, expected 0xF0")
    if len(data) < 4:
        raise DecodeError(
            f"PMD CP response is {len(data)} bytes, expected at least 4", DecodeReason.TRUNCATED
        )
    op, type_byte, status = data[1], data[2], data[3]
    if status != ResponseStatus.SUCCESS:
        return ControlPointResponse(op, type_byte & _TYPE_MASK, status)
    more = len(data) > 4 and data[4] != 0
    return ControlPointResponse(op, type_byte & _TYPE_MASK, status, more, data[5:])


def join_responses(parts: Sequence[ControlPointResponse]) -> ControlPointResponse:
    """One response from a sequence whose parts said ``more``: params concatenated."""
    if not parts:
        raise DecodeError("no PMD CP response parts to join")
    first = parts[0]
    for i, p in enumerate(parts):
        if (p.op, p.measurement_type) != (first.op, first.measurement_type):
            raise DecodeError(f"PMD CP response part {i} answers another command")
        if p.more != (i < len(parts) - 1):
            raise DecodeError(f"PMD CP response part {i} has more={p.more}, out of sequence")
    return replace(parts[-1], more=False, params=b"".join(p.params for p in parts))


def ensure_success(response: ControlPointResponse) -> ControlPointResponse:
    """Return ``response`` if it succeeded, else raise `DeviceError` naming the status."""
    if not response.ok:
        try:
            op = ControlPointOp(response.op).name
        except ValueError:
            op = f"op {response.op}"
        raise DeviceError(
            f"Polar device refused {op} for {_type_name(response.measurement_type)}: "
            f"{response.status_name} ({response.status})"
        )
    return response


def encode_response(
    op: int, measurement_type: int, status: int, params: bytes = b"", *, more: bool = False
) -> bytes:
    """A control-point response notification (emulator side)."""
    head = bytes(
        [
            RESPONSE_CODE,
            _check_u8("op", op),
            _check_u8("measurement type", measurement_type),
            _check_u8("status", status),
        ]
    )
    if status != ResponseStatus.SUCCESS:
        return head
    return head + bytes([1 if more else 0]) + bytes(params)


def encode_measurement_stopped(measurement_types: Iterable[int]) -> bytes:
    """Server-initiated stop notification (emulator side)."""
    return bytes([ONLINE_MEASUREMENT_STOPPED]) + bytes(
        _check_u8("measurement type", t) for t in measurement_types
    )


# --- data frames --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Format:
    """How one (measurement type, frame type byte) is laid out and scaled."""

    value_bytes: int  # width of a raw sample value (or of the delta reference)
    as_float: bool  # values are IEEE-754 float32 bit patterns
    si_per_unit: float  # m/s^2 per mG or per g; rad/s per deg/s
    uses_factor: bool  # multiply by the start response's FACTOR


_MG = G_MPS2 / 1000.0
_CHANNELS = 3

# Following the vendor SDK (AccData.kt, GyrData.kt): uncompressed ACC is in mG and is not
# scaled by FACTOR; compressed frames are. The SDK's behaviour is what has met real H10 and
# Verity units, so we copy it rather than guess. The PDF says 8-bit ACC (0x00) is in G on
# the Verity Sense; the SDK reads it as mG and so do we (no device is known to send it).
# Only compressed gyro frames are documented.
_FORMATS: dict[tuple[int, int], _Format] = {
    (MeasurementType.ACC, 0x00): _Format(1, False, _MG, False),
    (MeasurementType.ACC, 0x01): _Format(2, False, _MG, False),
    (MeasurementType.ACC, 0x02): _Format(3, False, _MG, False),
    (MeasurementType.ACC, 0x80): _Format(2, False, G_MPS2, True),  # g x factor
    (MeasurementType.ACC, 0x81): _Format(2, False, _MG, True),  # mG x factor
    (MeasurementType.GYRO, 0x80): _Format(2, False, RAD_PER_DEG, True),  # deg/s x factor
    (MeasurementType.GYRO, 0x81): _Format(4, True, RAD_PER_DEG, True),  # float deg/s x factor
}

#: Frame type bytes each stream type can be decoded from (the emulator picks one).
SUPPORTED_FRAME_TYPES: dict[MeasurementType, tuple[int, ...]] = {
    MeasurementType.ACC: (0x00, 0x01, 0x02, 0x80, 0x81),
    MeasurementType.GYRO: (0x80, 0x81),
}


@dataclass(frozen=True)
class DataFrameHeader:
    """The first 10 bytes of a data notification."""

    measurement_type: int
    #: Device time of the frame's LAST sample, ns since 2000-01-01T00:00:00Z.
    timestamp_ns: int
    #: Byte 9 as sent: bit 7 = delta compressed, bits 0-6 = frame type number.
    frame_type: int

    @property
    def compressed(self) -> bool:
        return bool(self.frame_type & _COMPRESSED_BIT)


def decode_data_header(payload: bytes) -> DataFrameHeader:
    """Parse the header of a data notification (enough to route it to its stream)."""
    payload = bytes(payload)
    if len(payload) < _HEADER_BYTES:
        raise DecodeError(
            f"PMD data frame is {len(payload)} bytes, shorter than its header",
            DecodeReason.TRUNCATED,
        )
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError(
            f"PMD data frame is {len(payload)} bytes, longer than any attribute",
            DecodeReason.OVERSIZED,
        )
    return DataFrameHeader(
        payload[0] & _TYPE_MASK, int.from_bytes(payload[1:9], "little"), payload[9]
    )


def _format_of(header: DataFrameHeader) -> _Format:
    fmt = _FORMATS.get((header.measurement_type, header.frame_type))
    if fmt is None:
        raise DecodeError(
            f"PMD frame type 0x{header.frame_type:02X} of {_type_name(header.measurement_type)} "
            "is not supported (only ACC and compressed GYRO frames are decoded)"
        )
    return fmt


def _decode_delta_content(content: bytes, value_bytes: int, as_float: bool) -> list[list[int]]:
    """Reference sample + delta blocks -> raw samples (vendor ``parseDeltaFramesAll``).

    Block: ``bits:u8, count:u8`` then ``ceil(bits*count*3/8)`` bytes read as one
    little-endian, LSB-first bitstream of two's-complement deltas, channel-interleaved.
    Integer samples are sign-extended references plus deltas; float32 samples are bit
    patterns, and deltas are added to the patterns modulo 2^32 (Kotlin ``Int`` overflow).
    """
    ref_len = _CHANNELS * value_bytes
    if len(content) < ref_len:
        raise DecodeError(
            f"PMD compressed frame content is {len(content)} bytes, reference needs {ref_len}",
            DecodeReason.TRUNCATED,
        )
    prev = [
        int.from_bytes(content[i : i + value_bytes], "little", signed=not as_float)
        for i in range(0, ref_len, value_bytes)
    ]
    samples = [prev]
    pos = ref_len
    while pos < len(content):
        if pos + 2 > len(content):
            raise DecodeError(
                f"PMD delta block header truncated at byte {pos}", DecodeReason.TRUNCATED
            )
        bits, count = content[pos], content[pos + 1]
        pos += 2
        if not 1 <= bits <= 32:
            raise DecodeError(f"PMD delta width {bits} bits is outside 1..32")
        nbytes = (bits * count * _CHANNELS + 7) // 8
        if pos + nbytes > len(content):
            raise DecodeError(
                f"PMD delta block truncated: needs {nbytes} bytes, {len(content) - pos} left",
                DecodeReason.TRUNCATED,
            )
        stream = int.from_bytes(content[pos : pos + nbytes], "little")
        pos += nbytes
        mask = (1 << bits) - 1
        sign = 1 << (bits - 1)
        for _ in range(count):
            cur = []
            for c in range(_CHANNELS):
                d = stream & mask
                stream >>= bits
                if d & sign:
                    d -= 1 << bits
                v = prev[c] + d
                cur.append(v & 0xFFFFFFFF if as_float else v)
            samples.append(cur)
            prev = cur
    return samples


def decode_raw(payload: bytes) -> tuple[DataFrameHeader, np.ndarray]:
    """Header and raw sample values (n, 3) of a data notification, before any scaling.

    Values are integers in the frame's unit (mG, g or deg/s before FACTOR), or float32
    for GYRO frame type 0x81. Raises `DecodeError` on anything malformed.
    """
    header = decode_data_header(payload)
    fmt = _format_of(header)
    content = bytes(payload[_HEADER_BYTES:])
    if header.compressed:
        raw = _decode_delta_content(content, fmt.value_bytes, fmt.as_float)
        if fmt.as_float:
            f32 = np.array(raw, dtype=np.uint32).view(np.float32)
            # Check before widening: a signalling NaN raises "invalid value" in the cast.
            with np.errstate(invalid="ignore"):
                finite = bool(np.isfinite(f32).all())
            if not finite:
                raise DecodeError("PMD gyro frame holds a NaN or infinite value")
            return header, f32.astype(np.float64)
        return header, np.array(raw, dtype=np.int64)
    step = fmt.value_bytes * _CHANNELS
    if not content or len(content) % step:
        raise DecodeError(
            f"PMD frame content is {len(content)} bytes, not a positive multiple of {step}",
            DecodeReason.TRUNCATED if not content else DecodeReason.INVALID,
        )
    dtype = {1: "<i1", 2: "<i2"}.get(fmt.value_bytes)
    if dtype is not None:
        values = np.frombuffer(content, dtype=dtype).astype(np.int64)
    else:  # 24-bit: sign-extend by hand
        b = np.frombuffer(content, dtype=np.uint8).reshape(-1, 3).astype(np.int64)
        values = b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
    return header, values.reshape(-1, _CHANNELS)


#: When consecutive frame timestamps imply a sample period within this fraction of the
#: nominal period, the measured period is used (it tracks the device's real rate, e.g. a
#: "52 Hz" setting that runs at 50 Hz). A larger deviation means frames were lost or the
#: clock jumped; the nominal period then keeps the gap visible instead of stretching the
#: samples over it.
PERIOD_TOLERANCE = 0.25


def sample_times_ns(
    timestamp_ns: int,
    n_samples: int,
    *,
    sample_rate_hz: float,
    previous_timestamp_ns: int | None,
) -> np.ndarray:
    """Device time of every sample of a frame, ns since 2000-01-01 (float64).

    The frame timestamp is the time of its LAST sample. The period ``dt`` is:

    * measured, ``(timestamp_ns - previous_timestamp_ns) / n_samples``, when the previous
      frame's timestamp of the same stream is given, later than the previous one, and
      within `PERIOD_TOLERANCE` of ``1e9 / sample_rate_hz``; the samples then fill the
      interval after the previous frame: ``t_i = previous + (i + 1) * dt``;
    * otherwise nominal, ``1e9 / sample_rate_hz``, counted back from the last sample:
      ``t_i = timestamp_ns - (n_samples - 1 - i) * dt``.

    Either way ``t[-1] == timestamp_ns``. This is the vendor SDK's rule
    (PmdTimeStampUtils.getTimeStamps) plus the tolerance check, which the SDK lacks: it
    always takes the measured period, so one lost frame doubles the next frame's period.
    """
    if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise InputError(f"sample rate must be a positive number of Hz, got {sample_rate_hz}")
    if n_samples < 1:
        raise DecodeError("PMD frame holds no samples")
    nominal_ns = 1e9 / sample_rate_hz
    last = float(timestamp_ns)
    if previous_timestamp_ns is not None and timestamp_ns > previous_timestamp_ns:
        measured_ns = (timestamp_ns - previous_timestamp_ns) / n_samples
        if abs(measured_ns / nominal_ns - 1.0) <= PERIOD_TOLERANCE:
            t = previous_timestamp_ns + measured_ns * np.arange(1, n_samples + 1)
            t[-1] = last
            return t
    return last - nominal_ns * np.arange(n_samples - 1, -1, -1, dtype=np.float64)


def decode_data(
    payload: bytes,
    *,
    sample_rate_hz: float,
    factor: float | None,
    previous_timestamp_ns: int | None = None,
) -> DecodedPacket:
    """Decode one ACC or GYRO data notification into SI units.

    ``sample_rate_hz`` is the rate the stream was started with; ``factor`` is the FACTOR of
    the start response (None when it had none: 1.0); ``previous_timestamp_ns`` is the
    header timestamp of the previous frame of the same stream (None for the first frame
    or after a restart). Sample times follow `sample_times_ns`. Only the stream present
    in the frame is set: ``acc_mps2`` for ACC, ``gyro_rad_s`` for GYRO. PMD has no
    sequence counter (``seq`` is None): detect loss from the timestamps.

    FACTOR scales compressed frames only: uncompressed ACC frames are already in mG, as
    the vendor SDK reads them. ``device_time_s`` is seconds since 2000-01-01 on the device
    clock; at present-day values float64 resolves about 0.12 us.
    """
    header, raw = decode_raw(payload)
    fmt = _format_of(header)
    scale = fmt.si_per_unit
    if fmt.uses_factor and factor is not None:
        if not (math.isfinite(factor) and factor != 0.0):
            raise InputError(f"PMD factor must be a finite non-zero number, got {factor}")
        scale *= factor
    values = raw.astype(np.float64) * scale
    times_ns = sample_times_ns(
        header.timestamp_ns,
        len(values),
        sample_rate_hz=sample_rate_hz,
        previous_timestamp_ns=previous_timestamp_ns,
    )
    time_s = times_ns / 1e9
    if header.measurement_type == MeasurementType.ACC:
        return DecodedPacket(time_s, acc_mps2=values)
    return DecodedPacket(time_s, gyro_rad_s=values)


class PmdStreamDecoder:
    """One stream's decoding state: rate, factor and the previous frame's timestamp."""

    def __init__(
        self, measurement_type: int, *, sample_rate_hz: float, factor: float | None
    ) -> None:
        if measurement_type not in SUPPORTED_FRAME_TYPES:
            raise InputError(f"cannot decode PMD {_type_name(measurement_type)} streams")
        self.measurement_type = MeasurementType(measurement_type)
        self.sample_rate_hz = sample_rate_hz
        self.factor = factor
        self.previous_timestamp_ns: int | None = None

    def decode(self, payload: bytes) -> DecodedPacket:
        """Decode the next frame of this stream and remember its timestamp."""
        header = decode_data_header(payload)
        if header.measurement_type != self.measurement_type:
            raise DecodeError(
                f"PMD frame of {_type_name(header.measurement_type)} fed to the "
                f"{self.measurement_type.name} decoder"
            )
        packet = decode_data(
            payload,
            sample_rate_hz=self.sample_rate_hz,
            factor=self.factor,
            previous_timestamp_ns=self.previous_timestamp_ns,
        )
        self.previous_timestamp_ns = header.timestamp_ns
        return packet


# --- data frame encoders (emulator side) --------------------------------------------------


def _encodable_format(header: DataFrameHeader) -> _Format:
    try:
        return _format_of(header)
    except DecodeError as exc:
        raise InputError(str(exc)) from None


def _delta_width(deltas: Sequence[int]) -> int:
    """Smallest two's-complement width holding every delta (at least 1 bit)."""
    return max([1, *(d.bit_length() + 1 if d >= 0 else (~d).bit_length() + 1 for d in deltas)])


def _encode_delta_content(
    raw: np.ndarray,
    value_bytes: int,
    as_float: bool,
    block_lengths: Sequence[int] | None,
    delta_bits: Sequence[int] | None,
) -> bytes:
    """Inverse of `_decode_delta_content`."""
    rows = [[int(v) for v in r] for r in raw]
    n_deltas = len(rows) - 1
    if block_lengths is None:
        block_lengths = [255] * (n_deltas // 255) + ([n_deltas % 255] if n_deltas % 255 else [])
    if sum(block_lengths) != n_deltas or any(not 0 < b <= 255 for b in block_lengths):
        raise InputError(
            f"delta block lengths {list(block_lengths)} must be 1..255 and sum to {n_deltas}"
        )
    if delta_bits is not None and len(delta_bits) != len(block_lengths):
        raise InputError("give one delta width per delta block")
    out = bytearray()
    for v in rows[0]:
        out += (v & 0xFFFFFFFF if as_float else v).to_bytes(
            value_bytes, "little", signed=not as_float
        )
    start = 0
    for k, length in enumerate(block_lengths):
        deltas = []
        for i in range(start + 1, start + length + 1):
            for c in range(_CHANNELS):
                d = rows[i][c] - rows[i - 1][c]
                if as_float:  # wrap into a signed 32-bit step, as the decoder adds mod 2^32
                    d = (d + (1 << 31)) % (1 << 32) - (1 << 31)
                deltas.append(d)
        start += length
        bits = _delta_width(deltas)
        if bits > 32:
            raise InputError(f"delta block {k} needs {bits}-bit deltas; PMD allows 32")
        if delta_bits is not None:
            if delta_bits[k] < bits or delta_bits[k] > 32:
                raise InputError(f"delta width {delta_bits[k]} cannot hold block {k} (>= {bits})")
            bits = delta_bits[k]
        stream = 0
        for j, d in enumerate(deltas):
            stream |= (d & ((1 << bits) - 1)) << (j * bits)
        nbytes = (bits * len(deltas) + 7) // 8
        out += bytes([bits, length]) + stream.to_bytes(nbytes, "little")
    return bytes(out)


def encode_raw(
    measurement_type: int,
    timestamp_ns: int,
    frame_type: int,
    raw: np.ndarray,
    *,
    block_lengths: Sequence[int] | None = None,
    delta_bits: Sequence[int] | None = None,
) -> bytes:
    """A data notification from raw values (n, 3) (inverse of `decode_raw`).

    For compressed frame types the first sample is the reference and the rest go into
    delta blocks of ``block_lengths`` samples each (default: blocks of up to 255), each
    with the smallest width that holds its deltas unless ``delta_bits`` widens it.
    Raw values must fit the frame's value width; float frames take float32 values.
    """
    header = DataFrameHeader(measurement_type, timestamp_ns, frame_type)
    fmt = _encodable_format(header)
    if not 0 <= timestamp_ns < 1 << 64:
        raise InputError(f"PMD timestamp {timestamp_ns} ns does not fit 64 bits")
    raw = np.asarray(raw)
    if raw.ndim != 2 or raw.shape[1] != _CHANNELS or len(raw) < 1:
        raise InputError(f"raw samples must have shape (n >= 1, 3), got {raw.shape}")
    head = bytes([measurement_type]) + timestamp_ns.to_bytes(8, "little") + bytes([frame_type])
    if fmt.as_float:
        ints = np.asarray(raw, dtype=np.float32).view(np.uint32).astype(np.int64)
    else:
        ints = np.asarray(raw, dtype=np.int64)
        lo, hi = -(1 << (8 * fmt.value_bytes - 1)), (1 << (8 * fmt.value_bytes - 1)) - 1
        if header.compressed:
            check = ints[:1]  # only the reference has a fixed width
        else:
            check = ints
        if check.size and (check.min() < lo or check.max() > hi):
            raise InputError(f"raw values must fit {8 * fmt.value_bytes}-bit signed integers")
    if header.compressed:
        body = _encode_delta_content(ints, fmt.value_bytes, fmt.as_float, block_lengths, delta_bits)
    elif fmt.value_bytes in (1, 2):
        body = ints.astype("<i1" if fmt.value_bytes == 1 else "<i2").tobytes()
    else:
        u = ints.reshape(-1) & 0xFFFFFF
        body = np.stack([u & 0xFF, u >> 8 & 0xFF, u >> 16], axis=1).astype(np.uint8).tobytes()
    if len(head) + len(body) > MAX_PAYLOAD_BYTES:
        raise InputError(
            f"{len(raw)} samples make a {len(head) + len(body)}-byte PMD frame, longer than "
            f"any attribute ({MAX_PAYLOAD_BYTES} B); split them (see encode_stream)"
        )
    return head + body


def raw_from_si(
    measurement_type: int, frame_type: int, values: np.ndarray, *, factor: float | None
) -> np.ndarray:
    """SI values (m/s^2 or rad/s, (n, 3)) -> raw values of a frame type (emulator side).

    Integer frames are rounded and saturated at the value width, like a real sensor at
    the end of its range; float frames give float32, saturated at its largest finite value.
    """
    fmt = _encodable_format(DataFrameHeader(measurement_type, 0, frame_type))
    scale = fmt.si_per_unit * (factor if fmt.uses_factor and factor is not None else 1.0)
    scaled = np.asarray(values, dtype=np.float64) / scale
    if fmt.as_float:
        f32_max = float(np.finfo(np.float32).max)
        return np.clip(scaled, -f32_max, f32_max).astype(np.float32)
    lim = 1 << (8 * fmt.value_bytes - 1)
    # Compressed frames carry int16 references but Polar decodes sums into 32-bit ints;
    # saturating deltas' targets at the reference width keeps every sample representable.
    return np.clip(np.rint(scaled), -lim, lim - 1).astype(np.int64)


def encode_data(
    measurement_type: int,
    timestamp_ns: int,
    frame_type: int,
    values: np.ndarray,
    *,
    factor: float | None,
) -> bytes:
    """A data notification carrying SI values (n, 3): m/s^2 for ACC, rad/s for GYRO.

    ``timestamp_ns`` is the device time of the LAST sample. Values are quantised to the
    frame type's unit (and FACTOR for compressed frames), so decoding returns them to
    within half a unit.
    """
    raw = raw_from_si(measurement_type, frame_type, values, factor=factor)
    return encode_raw(measurement_type, timestamp_ns, frame_type, raw)


def encode_stream(
    measurement_type: int,
    frame_type: int,
    times_ns: np.ndarray,
    values: np.ndarray,
    *,
    factor: float | None,
    max_payload_bytes: int,
) -> list[bytes]:
    """Pack SI samples into as few data notifications as fit ``max_payload_bytes`` each.

    ``times_ns`` (n,) are the samples' device times in ns since 2000-01-01; each frame's
    header carries the time of its last sample, as a device does. ``max_payload_bytes``
    is the link's ATT MTU minus 3. Frames are filled greedily in order.
    """
    smallest = _HEADER_BYTES + 3 * 4  # header + one sample of the widest frame type
    if not smallest <= max_payload_bytes <= MAX_PAYLOAD_BYTES:
        raise InputError(
            f"max payload must be {smallest}..{MAX_PAYLOAD_BYTES} B, got {max_payload_bytes}"
        )
    times = np.asarray(times_ns)
    raw = raw_from_si(measurement_type, frame_type, values, factor=factor)
    if times.shape != (len(raw),):
        raise InputError(f"need one time per sample: {times.shape} times, {len(raw)} samples")

    def frame(start: int, stop: int) -> bytes | None:
        try:
            out = encode_raw(measurement_type, int(times[stop - 1]), frame_type, raw[start:stop])
        except InputError:
            return None
        return out if len(out) <= max_payload_bytes else None

    frames: list[bytes] = []
    start = 0
    while start < len(raw):
        # frame size never shrinks when a sample is added, so bisect the largest that fits
        lo, hi = start + 1, len(raw)
        if frame(start, lo) is None:
            raise InputError("a single sample does not fit the payload size")
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if frame(start, mid) is None:
                hi = mid - 1
            else:
                lo = mid
        fitted = frame(start, lo)
        assert fitted is not None  # lo only ever moves to a size that fits
        frames.append(fitted)
        start = lo
    return frames


# --- device capabilities (for the emulator and for choosing start settings) ----------------

#: Settings the Verity Sense reports in SDK mode (bleakheart PR #11; Polar's
#: PolarVeritySense.md). Read the actual values with GET_SETTINGS: 26/52 Hz may be 25/50 Hz.
VERITY_SENSE_SDK_MODE_SETTINGS: dict[MeasurementType, PmdSettings] = {
    MeasurementType.ACC: PmdSettings(
        sample_rates_hz=(26, 52, 104, 208, 416),
        resolutions_bits=(16,),
        ranges=(2, 4, 8, 16),
        channels=(3,),
    ),
    MeasurementType.GYRO: PmdSettings(
        sample_rates_hz=(26, 52, 104, 208, 416),
        resolutions_bits=(16,),
        ranges=(250, 500, 1000, 2000),
        channels=(3,),
    ),
}

#: H10 accelerometer (Polar's PolarH10.md): 25-200 Hz, ±2/4/8 g, 16 bit; no gyroscope.
H10_SETTINGS: dict[MeasurementType, PmdSettings] = {
    MeasurementType.ACC: PmdSettings(
        sample_rates_hz=(25, 50, 100, 200), resolutions_bits=(16,), ranges=(2, 4, 8)
    ),
}
