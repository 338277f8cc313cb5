"""Host side of each supported protocol: start / stop exchanges and stateful decoding.

Registers the supported device kinds with `tracker.devices.kinds` (imported by
`tracker.devices.supported` before any lookup). Byte layouts come from the codec
modules; this module only sequences them over the `GattIO` interface. Values are in
the sensor frame of docs/frames.md.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from tracker.devices import movella_dot as dot
from tracker.devices import movesense as ms
from tracker.devices import polar_pmd as pmd
from tracker.devices import tracker_imu as imu
from tracker.devices.base import DecodedPacket, DecodeError
from tracker.devices.kinds import (
    DeviceKind,
    GattIO,
    HostProtocol,
    StreamConfig,
    StreamSetup,
    StreamStartError,
    register,
)
from tracker.errors import DeviceError

_T = TypeVar("_T")

#: How long a device may take to answer a control command.
COMMAND_TIMEOUT_S = 5.0
#: Parts of one Polar control-point answer at most: the longest settings list a device
#: sends fits two or three notifications; endless "more" parts are a broken device.
MAX_RESPONSE_PARTS = 16


class AccGyroPairer:
    """Joins accelerometer and gyroscope samples that arrive in separate frames.

    Both streams run at ``sample_rate_hz`` on one device clock. The gyroscope is
    linearly interpolated at the accelerometer's sample times; an accelerometer sample
    is released once a gyroscope sample at or after its time has arrived. Where the
    gyroscope has a hole (a lost frame: neighbours more than 1.5 periods apart) the
    accelerometer samples inside it are dropped, never paired with made-up rates, so
    the loss shows as a timestamp gap downstream.
    """

    def __init__(self, sample_rate_hz: float) -> None:
        if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
            raise DecodeError(f"cannot pair streams at a sample rate of {sample_rate_hz} Hz")
        self.max_step_s = 1.5 / sample_rate_hz
        self.dropped = 0
        self.reset()

    def reset(self) -> None:
        self._acc_t = np.empty(0)
        self._acc = np.empty((0, 3))
        self._gyr_t = np.empty(0)
        self._gyr = np.empty((0, 3))
        self._acc_released_s = -math.inf

    def _after(self, t: np.ndarray, v: np.ndarray, last_s: float) -> tuple[np.ndarray, np.ndarray]:
        """The samples later than ``last_s`` and than every sample before them.

        A frame whose device timestamp repeats or steps back (a clock adjustment, a
        replayed frame) overlaps the previous one; its overlapping samples are dropped
        so that both buffers, and so every released packet, stay in time order.
        """
        running = np.maximum.accumulate(np.concatenate([[last_s], t]))[:-1]
        keep = t > running
        self.dropped += int((~keep).sum())
        return t[keep], v[keep]

    def add_acc(self, t: np.ndarray, v: np.ndarray) -> None:
        last_s = self._acc_t[-1] if len(self._acc_t) else self._acc_released_s
        t, v = self._after(t, v, last_s)
        self._acc_t = np.concatenate([self._acc_t, t])
        self._acc = np.concatenate([self._acc, v])

    def add_gyro(self, t: np.ndarray, v: np.ndarray) -> None:
        t, v = self._after(t, v, self._gyr_t[-1] if len(self._gyr_t) else -math.inf)
        self._gyr_t = np.concatenate([self._gyr_t, t])
        self._gyr = np.concatenate([self._gyr, v])

    def pop(self) -> DecodedPacket | None:
        """Every accelerometer sample that can be paired now, or None."""
        if len(self._gyr_t) == 0 or len(self._acc_t) == 0:
            return None
        tol = 1e-9
        # Samples before the first gyro sample cannot be interpolated: drop them.
        start = int(np.searchsorted(self._acc_t, self._gyr_t[0] - tol, side="left"))
        end = int(np.searchsorted(self._acc_t, self._gyr_t[-1] + tol, side="right"))
        self.dropped += start
        if end <= start:
            self._acc_t, self._acc = self._acc_t[start:], self._acc[start:]
            return None
        t = self._acc_t[start:end]
        acc = self._acc[start:end]
        self._acc_t, self._acc = self._acc_t[end:], self._acc[end:]
        self._acc_released_s = float(t[-1])
        right = np.clip(np.searchsorted(self._gyr_t, t - tol, side="left"), 0, len(self._gyr_t) - 1)
        left = np.clip(right - 1, 0, None)
        exact = np.abs(self._gyr_t[right] - t) <= tol
        ok = exact | (self._gyr_t[right] - self._gyr_t[left] <= self.max_step_s)
        self.dropped += int((~ok).sum())
        # Keep the last gyro sample at or before the released time: it brackets the next.
        keep = max(0, int(np.searchsorted(self._gyr_t, t[-1] + tol, side="right")) - 1)
        t, acc = t[ok], acc[ok]
        if len(t) == 0:
            self._gyr_t, self._gyr = self._gyr_t[keep:], self._gyr[keep:]
            return None
        gyro = np.column_stack([np.interp(t, self._gyr_t, self._gyr[:, k]) for k in range(3)])
        self._gyr_t, self._gyr = self._gyr_t[keep:], self._gyr[keep:]
        return DecodedPacket(t, acc_mps2=acc, gyro_rad_s=gyro)


class ControlChannel:
    """Commands written to a control characteristic, answered by notifications on it.

    ``parse`` turns a notification into a response (kept for the waiting command) or
    anything else (an unsolicited event, handed to ``on_event``); garbled notifications
    are ignored, so the command then times out with a clear error.
    """

    def __init__(
        self,
        char_uuid: str,
        parse: Callable[[bytes], object],
        is_response: Callable[[object], bool],
        on_event: Callable[[object], None],
    ) -> None:
        #: Where commands are written (responses may come on another characteristic).
        self.char_uuid = char_uuid
        self._parse = parse
        self._is_response = is_response
        self._on_event = on_event
        self._responses: asyncio.Queue[object] = asyncio.Queue()

    def on_notify(self, payload: bytes) -> None:
        try:
            message = self._parse(payload)
        except DecodeError:
            return
        if self._is_response(message):
            self._responses.put_nowait(message)
        else:
            self._on_event(message)

    async def send(self, io: GattIO, data: bytes) -> object:
        """Write ``data`` (with response) and return the next response notification."""
        while not self._responses.empty():  # stale answers to a timed-out command
            self._responses.get_nowait()
        await io.write(self.char_uuid, data, response=True)
        return await self.next_response(data)

    async def next_response(self, data: bytes) -> object:
        """The next response notification (another part of the answer to ``data``)."""
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                return await self._responses.get()
        except TimeoutError:
            raise StreamStartError(
                f"the device did not answer command {data.hex(' ')} within {COMMAND_TIMEOUT_S:g} s"
            ) from None


class TrackerImuProtocol(HostProtocol):
    """Our firmware profile: optional SET_RATE / SET_RANGE, then START with our budget."""

    data_uuids = (imu.DATA_CHAR_UUID,)
    seq_modulus = 256

    def __init__(self) -> None:
        self._control = ControlChannel(
            imu.CONTROL_CHAR_UUID,
            imu.decode_control_notification,
            lambda m: isinstance(m, imu.Response),
            self._on_event,
        )
        self._clock = imu.DeviceClockUnwrapper()
        self.events: list[imu.Event] = []

    def _on_event(self, event: object) -> None:
        if isinstance(event, imu.Event):
            self.events.append(event)

    async def _command(self, io: GattIO, data: bytes) -> imu.Response:
        response = await self._control.send(io, data)
        assert isinstance(response, imu.Response)
        if response.opcode != data[0]:
            # The answer to another command (a late one, or a firmware bug): its value
            # is not what this command needs, and using it would mis-set the stream.
            answered = getattr(response.opcode, "name", f"opcode 0x{response.opcode:02x}")
            raise StreamStartError(
                f"the sensor answered {answered} to {imu.Opcode(data[0]).name}; "
                "power it off and on, and connect again"
            )
        if response.status is not imu.Status.OK:
            name = getattr(response.opcode, "name", str(response.opcode))
            raise StreamStartError(
                f"the sensor refused {name}: {response.status.name} ({int(response.status)})"
            )
        return response

    async def start(
        self, io: GattIO, config: StreamConfig, on_data: Callable[[str, bytes], None]
    ) -> StreamSetup:
        await io.subscribe(imu.CONTROL_CHAR_UUID, self._control.on_notify)
        await io.subscribe(imu.DATA_CHAR_UUID, lambda p: on_data(imu.DATA_CHAR_UUID, p))
        try:
            if config.sample_rate_hz is not None:
                await self._command(io, imu.encode_set_rate(config.sample_rate_hz))
            if config.acc_range_g is not None or config.gyro_range_dps is not None:
                status = (await self._command(io, imu.encode_get_status())).value
                assert isinstance(status, imu.DeviceStatus)
                await self._command(
                    io,
                    imu.encode_set_range(
                        config.acc_range_g or status.acc_range_g,
                        config.gyro_range_dps or status.gyro_range_dps,
                    ),
                )
            budget = io.mtu() - 3
            started = (await self._command(io, imu.encode_start(budget))).value
        except ValueError as exc:  # a setting the profile cannot express
            raise StreamStartError(f"cannot configure the sensor: {exc}") from exc
        assert isinstance(started, imu.StreamConfig)
        return StreamSetup(
            sample_rate_hz=started.sample_rate_hz,
            acc_range_g=started.acc_range_g,
            gyro_range_dps=started.gyro_range_dps,
        )

    async def stop(self, io: GattIO) -> None:
        await self._command(io, imu.encode_stop())

    def decode(self, char_uuid: str, payload: bytes) -> list[DecodedPacket]:
        return [self._clock.unwrap(imu.decode_data_packet(payload))]

    def payload_time_s(self, payload: bytes) -> float | None:
        if len(payload) < imu.HEADER_SIZE:
            return None
        return int.from_bytes(payload[2:6], "little") * 1e-6


def _pick(available: tuple[int, ...], wanted: float | None, default: float, what: str) -> int:
    """The smallest available value >= wanted (or >= default when not asked)."""
    if not available:
        raise StreamStartError(f"the device lists no {what} values")
    target = default if wanted is None else wanted
    bigger = [v for v in sorted(available) if v >= target - 1e-9]
    if wanted is not None and not bigger:
        raise StreamStartError(
            f"the device cannot do {what} {wanted:g}; it offers {sorted(available)}"
        )
    return bigger[0] if bigger else max(available)


class PolarPmdProtocol(HostProtocol):
    """Polar PMD (Verity Sense): SDK mode, then ACC and GYRO streams at one rate.

    Defaults when the user asks nothing: 208 Hz (or the next rate up), ±8 g,
    ±1000 deg/s: a hinge stays well inside these ranges and 200 Hz resolves swings.
    """

    data_uuids = (pmd.PMD_DATA_UUID,)
    DEFAULT_RATE_HZ = 208
    DEFAULT_ACC_RANGE_G = 8
    DEFAULT_GYRO_RANGE_DPS = 1000

    def __init__(self) -> None:
        self._control = ControlChannel(
            pmd.PMD_CONTROL_POINT_UUID,
            pmd.decode_control_point,
            lambda m: isinstance(m, pmd.ControlPointResponse),
            self._on_event,
        )
        self._acc: pmd.PmdStreamDecoder | None = None
        self._gyro: pmd.PmdStreamDecoder | None = None
        self._pairer: AccGyroPairer | None = None
        self.stopped_by_device = False

    def _on_event(self, message: object) -> None:
        if isinstance(message, pmd.MeasurementStopped):
            self.stopped_by_device = True

    async def _command(self, io: GattIO, data: bytes) -> pmd.ControlPointResponse:
        # The PMD control point's decoder gives ControlPointResponse objects; the shared
        # channel types its answers as object.
        parts = [await self._control.send(io, data)]
        while parts[-1].more:  # type: ignore[attr-defined]
            if len(parts) >= MAX_RESPONSE_PARTS:
                raise StreamStartError(
                    f"the Polar device answered {data.hex(' ')} with more than "
                    f"{MAX_RESPONSE_PARTS} parts; power it off and on, and connect again"
                )
            parts.append(await self._control.next_response(data))
        try:
            answer = pmd.join_responses(parts)  # type: ignore[arg-type]
        except DecodeError as exc:
            raise StreamStartError(f"garbled Polar answer to {data.hex(' ')}: {exc}") from exc
        # A late answer to an earlier command (or a firmware bug) must not pass for this one.
        if answer.op != data[0] or (len(data) > 1 and answer.measurement_type != data[1] & 0x3F):
            raise StreamStartError(
                f"the Polar device answered op {answer.op} type {answer.measurement_type} "
                f"to command {data.hex(' ')}; power it off and on, and connect again"
            )
        return answer

    @staticmethod
    def _settings(answer: pmd.ControlPointResponse) -> pmd.PmdSettings:
        try:
            return pmd.ensure_success(answer).settings()
        except (DeviceError, DecodeError) as exc:
            raise StreamStartError(str(exc)) from exc

    async def start(
        self, io: GattIO, config: StreamConfig, on_data: Callable[[str, bytes], None]
    ) -> StreamSetup:
        await io.subscribe(pmd.PMD_CONTROL_POINT_UUID, self._control.on_notify)
        await io.subscribe(pmd.PMD_DATA_UUID, lambda p: on_data(pmd.PMD_DATA_UUID, p))
        try:
            features = pmd.decode_features(await io.read(pmd.PMD_CONTROL_POINT_UUID))
        except DecodeError as exc:
            raise StreamStartError(f"unreadable Polar feature list: {exc}") from exc
        if pmd.MeasurementType.GYRO not in features or pmd.MeasurementType.ACC not in features:
            raise StreamStartError(
                "this Polar device streams no gyroscope (H10 and OH1 have none); "
                "the tracker needs accelerometer and gyroscope, e.g. a Verity Sense"
            )
        sdk = pmd.MeasurementType.SDK_MODE in features
        if sdk:
            answer = await self._command(io, pmd.encode_sdk_mode(True))
            sdk = answer.ok or answer.status == pmd.ResponseStatus.ALREADY_IN_STATE
        choices = {}
        for mtype in (pmd.MeasurementType.ACC, pmd.MeasurementType.GYRO):
            answer = await self._command(io, pmd.encode_get_settings(mtype, sdk_mode=sdk))
            choices[mtype] = self._settings(answer)
        # Settings are signed on the wire: a zero or negative rate or range is no setting.
        rates = tuple(
            r
            for r in set(choices[pmd.MeasurementType.ACC].sample_rates_hz)
            & set(choices[pmd.MeasurementType.GYRO].sample_rates_hz)
            if r > 0
        )
        rate = _pick(rates, config.sample_rate_hz, self.DEFAULT_RATE_HZ, "sample rate (Hz)")
        acc_s, gyro_s = choices[pmd.MeasurementType.ACC], choices[pmd.MeasurementType.GYRO]
        acc_range = _pick(
            tuple(r for r in acc_s.ranges if r > 0),
            config.acc_range_g,
            self.DEFAULT_ACC_RANGE_G,
            "±g range",
        )
        gyro_range = _pick(
            tuple(r for r in gyro_s.ranges if r > 0),
            config.gyro_range_dps,
            self.DEFAULT_GYRO_RANGE_DPS,
            "±deg/s range",
        )
        factors = {}
        for mtype, settings, range_ in (
            (pmd.MeasurementType.ACC, acc_s, acc_range),
            (pmd.MeasurementType.GYRO, gyro_s, gyro_range),
        ):
            request = pmd.encode_start(
                mtype,
                sample_rate_hz=rate,
                resolution_bits=max(settings.resolutions_bits)
                if settings.resolutions_bits
                else None,
                range_=range_,
                channels=max(settings.channels) if settings.channels else None,
            )
            answer = await self._command(io, request)
            if answer.status == pmd.ResponseStatus.ALREADY_IN_STATE:
                # A stream left running by an earlier session: restart it with our settings.
                await self._command(io, pmd.encode_stop(mtype))
                answer = await self._command(io, request)
            factors[mtype] = self._settings(answer).factor
        self._pairer = AccGyroPairer(rate)
        self._acc = pmd.PmdStreamDecoder(
            pmd.MeasurementType.ACC, sample_rate_hz=rate, factor=factors[pmd.MeasurementType.ACC]
        )
        self._gyro = pmd.PmdStreamDecoder(
            pmd.MeasurementType.GYRO, sample_rate_hz=rate, factor=factors[pmd.MeasurementType.GYRO]
        )
        return StreamSetup(sample_rate_hz=rate, acc_range_g=acc_range, gyro_range_dps=gyro_range)

    async def stop(self, io: GattIO) -> None:
        for mtype in (pmd.MeasurementType.ACC, pmd.MeasurementType.GYRO):
            await self._command(io, pmd.encode_stop(mtype))

    def decode(self, char_uuid: str, payload: bytes) -> list[DecodedPacket]:
        header = pmd.decode_data_header(payload)
        if self._pairer is None:
            raise DecodeError("PMD data before the streams were started")
        if header.measurement_type == pmd.MeasurementType.ACC and self._acc is not None:
            packet = self._acc.decode(payload)
            assert packet.acc_mps2 is not None
            self._pairer.add_acc(packet.device_time_s, packet.acc_mps2)
        elif header.measurement_type == pmd.MeasurementType.GYRO and self._gyro is not None:
            packet = self._gyro.decode(payload)
            assert packet.gyro_rad_s is not None
            self._pairer.add_gyro(packet.device_time_s, packet.gyro_rad_s)
        else:
            raise DecodeError(f"unexpected PMD frame of measurement type {header.measurement_type}")
        paired = self._pairer.pop()
        return [paired] if paired is not None else []

    def reset(self) -> None:
        if self._pairer is not None:
            self._pairer.reset()

    def payload_time_s(self, payload: bytes) -> float | None:
        try:
            return pmd.decode_data_header(payload).timestamp_ns * 1e-9
        except DecodeError:
            return None


class MovesenseGspProtocol(HostProtocol):
    """Movesense GATT SensorData Protocol: HELLO, then SUBSCRIBE ``/Meas/IMU6/{rate}``.

    Command results and data share the data characteristic: results are split off at
    notification time (the stream is not flowing yet while we wait for them). Default
    rate 208 Hz; the accelerometer / gyroscope ranges are not settable over GSP.
    """

    data_uuids = (ms.GSP_DATA_UUID,)
    DEFAULT_RATE_HZ = 208
    HELLO_REF = 1
    IMU_REF = 2

    def __init__(self) -> None:
        self._control = ControlChannel(
            ms.GSP_COMMAND_UUID,
            ms.decode_notification,
            lambda m: isinstance(m, ms.CommandResult),
            lambda _m: None,
        )
        self._decoder: ms.Imu6StreamDecoder | None = None

    async def _command(self, io: GattIO, data: bytes) -> ms.CommandResult:
        result = await self._control.send(io, data)
        assert isinstance(result, ms.CommandResult)
        if not result.ok:
            raise StreamStartError(
                f"the Movesense sensor answered {result.status} to command {data.hex(' ')} "
                "(needs firmware with the GATT SensorData Protocol app)"
            )
        return result

    async def start(
        self, io: GattIO, config: StreamConfig, on_data: Callable[[str, bytes], None]
    ) -> StreamSetup:
        if config.acc_range_g is not None or config.gyro_range_dps is not None:
            raise StreamStartError("Movesense ranges cannot be set over its GATT protocol")

        def on_notify(payload: bytes) -> None:
            if payload[:1] == bytes([ms.Response.COMMAND_RESULT]):
                self._control.on_notify(payload)
            else:
                on_data(ms.GSP_DATA_UUID, payload)

        await io.subscribe(ms.GSP_DATA_UUID, on_notify)
        rate = _pick(
            ms.IMU6_SAMPLE_RATES_HZ, config.sample_rate_hz, self.DEFAULT_RATE_HZ, "sample rate (Hz)"
        )
        await self._command(io, ms.encode_hello(self.HELLO_REF))
        self._decoder = ms.Imu6StreamDecoder(
            self.IMU_REF,
            sample_rate_hz=rate,
            # The firmware fills notifications up to its buffer or the link's payload.
            notification_bytes=min(ms.FIRMWARE_NOTIFICATION_BYTES, io.mtu() - 3),
        )
        await self._command(io, ms.encode_subscribe_imu6(self.IMU_REF, sample_rate_hz=rate))
        return StreamSetup(sample_rate_hz=rate)

    async def stop(self, io: GattIO) -> None:
        await self._command(io, ms.encode_unsubscribe(self.IMU_REF))

    def decode(self, char_uuid: str, payload: bytes) -> list[DecodedPacket]:
        if self._decoder is None:
            raise DecodeError("Movesense data before the subscription")
        return self._decoder.feed(payload)

    def payload_time_s(self, payload: bytes) -> float | None:
        if len(payload) >= 6 and payload[0] == ms.Response.DATA:
            return int.from_bytes(payload[2:6], "little") * 1e-3
        return None


class MovellaDotProtocol(HostProtocol):
    """Movella DOT: output rate in device control, then start payload mode 21.

    Both controls are read back after writing, since the DOT acknowledges nothing else
    (a write it does not take leaves the old value). A measurement left running (by
    another app, or across a reconnect) is stopped first: the rate cannot change while
    one runs. Default rate 60 Hz; the ranges are fixed (the spec offers no setting).
    """

    data_uuids = (dot.MEDIUM_PAYLOAD_UUID,)

    def __init__(self) -> None:
        # Kept across reconnects: the sensor's microsecond clock runs on meanwhile.
        self._decoder = dot.RateQuantitiesDecoder()

    @staticmethod
    async def _read(io: GattIO, char_uuid: str, decode: Callable[[bytes], _T]) -> _T:
        raw = await io.read(char_uuid)
        try:
            return decode(raw)
        except DecodeError as exc:
            raise StreamStartError(f"the Movella DOT answered {raw.hex(' ')!r}: {exc}") from exc

    async def _measurement(self, io: GattIO) -> dot.MeasurementControl:
        return await self._read(io, dot.MEASUREMENT_CONTROL_UUID, dot.decode_measurement_control)

    async def _device_control(self, io: GattIO) -> dot.DeviceControl:
        return await self._read(io, dot.DEVICE_CONTROL_UUID, dot.decode_device_control)

    async def start(
        self, io: GattIO, config: StreamConfig, on_data: Callable[[str, bytes], None]
    ) -> StreamSetup:
        if config.acc_range_g is not None or config.gyro_range_dps is not None:
            raise StreamStartError("Movella DOT ranges are fixed; they cannot be set")
        rate = _pick(
            dot.LIVE_OUTPUT_RATES_HZ,
            config.sample_rate_hz,
            dot.DEFAULT_OUTPUT_RATE_HZ,
            "sample rate (Hz)",
        )
        if (await self._measurement(io)).start:
            await io.write(dot.MEASUREMENT_CONTROL_UUID, dot.encode_stop(), response=True)
        control = await self._device_control(io)
        if control.output_rate_hz != rate:
            await io.write(dot.DEVICE_CONTROL_UUID, dot.encode_set_output_rate(rate), response=True)
            control = await self._device_control(io)
            if control.output_rate_hz != rate:
                raise StreamStartError(
                    f"the Movella DOT kept its output rate at {control.output_rate_hz} Hz "
                    f"instead of {rate} Hz"
                )
        # Notifications first, then the start (spec 3.1).
        await io.subscribe(dot.MEDIUM_PAYLOAD_UUID, lambda p: on_data(dot.MEDIUM_PAYLOAD_UUID, p))
        await io.write(dot.MEASUREMENT_CONTROL_UUID, dot.encode_start(), response=True)
        state = await self._measurement(io)
        if not state.start or state.payload_mode != dot.PayloadMode.RATE_QUANTITIES:
            raise StreamStartError(
                f"the Movella DOT did not start rate quantities (mode 21): it reports "
                f"{'started' if state.start else 'stopped'}, mode {state.payload_mode}"
            )
        return StreamSetup(sample_rate_hz=rate)

    async def stop(self, io: GattIO) -> None:
        await io.write(dot.MEASUREMENT_CONTROL_UUID, dot.encode_stop(), response=True)

    def decode(self, char_uuid: str, payload: bytes) -> list[DecodedPacket]:
        return [self._decoder.feed(payload)]

    def payload_time_s(self, payload: bytes) -> float | None:
        """The raw (wrapping) sensor time; the samples carry the unwrapped one."""
        if len(payload) < 4:
            return None
        return dot.payload_timestamp_us(payload) * 1e-6


register(
    DeviceKind(
        kind=imu.PROTOCOL_NAME,
        description="our firmware profile, e.g. on a XIAO nRF52840 Sense",
        service_uuid=imu.SERVICE_UUID,
        name_prefixes=(imu.NAME_PREFIX,),
        host_protocol=TrackerImuProtocol,
        min_mtu=imu.HEADER_SIZE + imu.SAMPLE_SIZE + 3,
    )
)

register(
    DeviceKind(
        kind="polar_pmd",
        description="Polar Verity Sense via Polar Measurement Data",
        service_uuid=pmd.PMD_SERVICE_UUID,
        name_prefixes=(pmd.DEVICE_NAME_PREFIX + " ",),
        host_protocol=PolarPmdProtocol,
    )
)


register(
    DeviceKind(
        kind="movesense",
        description="Movesense with the GATT SensorData Protocol firmware",
        service_uuid=ms.GSP_SERVICE_UUID,
        name_prefixes=(ms.DEVICE_NAME_PREFIX + " ",),
        host_protocol=MovesenseGspProtocol,
    )
)


register(
    DeviceKind(
        kind="movella_dot",
        description="Movella DOT (formerly Xsens DOT), rate quantities",
        service_uuid=dot.MEASUREMENT_SERVICE_UUID,
        # Table 4 of the spec spells the names both "DOT" and "Dot".
        name_prefixes=tuple(n for name in dot.DEVICE_NAMES for n in (name, name.title())),
        host_protocol=MovellaDotProtocol,
        min_mtu=dot.RATE_QUANTITIES_BYTES + 3,
        manufacturer_ids=(dot.COMPANY_ID,),
    )
)
