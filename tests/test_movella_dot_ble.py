"""The Movella DOT as a live sensor: emulated peripheral, scan, start / stop (no radio)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from ble_helpers import blocks, collect, motion, run, transport

from tracker.devices import movella_dot as dot
from tracker.devices.ble import LiveSession, RawPacket, scan
from tracker.devices.bumble_backend import VirtualBleWorld
from tracker.devices.emulator import MovellaDotSensor
from tracker.devices.kinds import StreamConfig, StreamStartError, kind_of_advertisement

RATE_HZ = dot.DEFAULT_OUTPUT_RATE_HZ
#: One float32 count of the values the emulator sends (m/s^2 near g, rad/s near 4).
ACC_F32 = 1e-5
GYRO_F32 = 1e-6


async def _dot(world: VirtualBleWorld, placement: str = "lumbar", **kwargs) -> MovellaDotSensor:
    kwargs.setdefault("speed", 20.0)
    duration_s = kwargs.pop("duration_s", 5.0)
    sensor = MovellaDotSensor(world, motion(placement, duration_s, 104.0), **kwargs)
    await sensor.start()
    return sensor


def test_advertisement_matching_by_company_id_or_name() -> None:
    assert kind_of_advertisement("anything", [], [dot.COMPANY_ID]).kind == "movella_dot"
    for name in ("Movella DOT", "Xsens DOT", "Xsens Dot"):
        assert kind_of_advertisement(name, [], []).kind == "movella_dot"
    assert kind_of_advertisement("Movella", [], [0x0887]) is None


def test_scan_finds_dots_by_their_company_id() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        a = await _dot(world, address="C0:00:00:00:00:01")
        b = await _dot(world, "sacrum", address="C0:00:00:00:00:02")
        found = await scan(0.3, transport=transport(world))
        assert sorted((d.kind, d.name, d.address) for d in found) == [
            ("movella_dot", "Movella DOT", a.address),
            ("movella_dot", "Movella DOT", b.address),
        ]
        await world.close()

    run(body)


def test_one_dot_streams_every_sample_across_the_clock_wrap() -> None:
    # The emulated DOT's clock starts 70 min after power-on: its u32 microsecond counter
    # wraps (at 4294.97 s) 95 s into the stream.
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _dot(world, duration_s=100.0, speed=50.0)
        session = LiveSession({"lumbar": sensor.target}, transport=transport(world))
        await session.open()
        assert sensor.streaming and sensor.payload_mode == dot.PayloadMode.RATE_QUANTITIES
        items = await collect(session, sensor.exhausted.wait)
        got = blocks(items, "lumbar")
        assert len(got) == len(sensor.grid_t_s) == 6000
        # One clock throughout: uniform steps of 1/60 s (to the microsecond), no jump.
        np.testing.assert_allclose(np.diff(got.time_s), 1 / RATE_HZ, atol=1.5e-6)
        np.testing.assert_allclose(got.acc_mps2, sensor.grid_acc_mps2, atol=ACC_F32)
        np.testing.assert_allclose(got.gyro_rad_s, sensor.grid_gyro_rad_s, atol=GYRO_F32)
        raw = [i for i in items if isinstance(i, RawPacket)]
        assert len(raw) == 6000 and {len(r.payload) for r in raw} == {28}
        assert raw[0].device_time_s == pytest.approx(4200.0)
        assert raw[-1].device_time_s < 10.0  # the raw counter wrapped
        info = session.devices["lumbar"]
        assert (info.protocol, info.sample_rate_hz) == ("movella_dot", 60)
        stats = session.stats["lumbar"]
        assert (stats.malformed, stats.timestamp_gaps, stats.lost_samples_estimate) == (0, 0, 0)
        # Stopped through the measurement control before hanging up.
        assert sensor.stats.stops == 1 and not sensor.streaming
        await world.close()

    run(body, timeout_s=120.0)


def test_the_output_rate_is_set_through_device_control() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _dot(world)
        config = StreamConfig(sample_rate_hz=25.0)  # the next rate a DOT offers: 30 Hz
        session = LiveSession({"lumbar": sensor.target}, transport=transport(world), config=config)
        await session.open()
        assert sensor.rate_hz == 30.0 and session.devices["lumbar"].sample_rate_hz == 30
        items = await collect(session, sensor.exhausted.wait)
        got = blocks(items, "lumbar")
        assert len(got) == 150
        np.testing.assert_allclose(np.diff(got.time_s), 1 / 30, atol=1.5e-6)
        await world.close()

    run(body)


@pytest.mark.parametrize(
    "config, message",
    [
        (StreamConfig(sample_rate_hz=100.0), "cannot do sample rate"),
        (StreamConfig(acc_range_g=8.0), "ranges are fixed"),
    ],
)
def test_what_a_dot_cannot_do_is_refused_before_streaming(config, message) -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _dot(world)
        session = LiveSession({"lumbar": sensor.target}, transport=transport(world), config=config)
        with pytest.raises(StreamStartError, match=message):
            await session.open()
        assert not sensor.streaming
        await world.close()

    run(body)


class _FakeDot:
    """A `GattIO` holding a DOT's two controls, applying writes as the spec says."""

    def __init__(self, *, measuring: bool, rate_hz: int) -> None:
        self.measurement = dot.encode_measurement_control(
            dot.Action.START if measuring else dot.Action.STOP, dot.PayloadMode.CUSTOM_MODE_1
        )
        self.rate_hz = rate_hz
        self.writes: list[tuple[str, bytes]] = []

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        self.writes.append((char_uuid, data))
        if char_uuid == dot.MEASUREMENT_CONTROL_UUID:
            self.measurement = data
        elif not dot.decode_measurement_control(self.measurement).start:
            self.rate_hz = dot.decode_device_control(data).output_rate_hz

    async def read(self, char_uuid: str) -> bytes:
        if char_uuid == dot.MEASUREMENT_CONTROL_UUID:
            return self.measurement
        control = dot.DeviceControl(dot.VisitIndex(0), output_rate_hz=self.rate_hz)
        return dot.encode_device_control(control)

    async def subscribe(self, char_uuid: str, callback) -> None:
        self.writes.append((char_uuid, b"subscribe"))

    def mtu(self) -> int:
        return 247


def test_a_measurement_left_running_is_stopped_before_the_rate_changes() -> None:
    from tracker.devices.host_protocols import MovellaDotProtocol

    device = _FakeDot(measuring=True, rate_hz=60)
    setup = asyncio.run(
        MovellaDotProtocol().start(device, StreamConfig(sample_rate_hz=12.0), lambda c, p: None)
    )
    assert setup.sample_rate_hz == 12 and device.rate_hz == 12
    assert device.writes == [
        (dot.MEASUREMENT_CONTROL_UUID, dot.encode_stop()),
        (dot.DEVICE_CONTROL_UUID, dot.encode_set_output_rate(12)),
        (dot.MEDIUM_PAYLOAD_UUID, b"subscribe"),
        (dot.MEASUREMENT_CONTROL_UUID, dot.encode_start()),
    ]
    # A rate already set is not written again.
    device = _FakeDot(measuring=False, rate_hz=60)
    asyncio.run(MovellaDotProtocol().start(device, StreamConfig(), lambda c, p: None))
    assert [w[0] for w in device.writes] == [dot.MEDIUM_PAYLOAD_UUID, dot.MEASUREMENT_CONTROL_UUID]


def test_a_dot_that_keeps_its_rate_or_mode_is_a_clear_error() -> None:
    from tracker.devices.host_protocols import MovellaDotProtocol

    class Stubborn(_FakeDot):
        async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
            self.writes.append((char_uuid, data))  # takes nothing

    with pytest.raises(StreamStartError, match="kept its output rate at 60 Hz instead of 30"):
        asyncio.run(
            MovellaDotProtocol().start(
                Stubborn(measuring=False, rate_hz=60), StreamConfig(sample_rate_hz=30.0), print
            )
        )
    with pytest.raises(StreamStartError, match="did not start rate quantities"):
        asyncio.run(
            MovellaDotProtocol().start(Stubborn(measuring=False, rate_hz=60), StreamConfig(), print)
        )
