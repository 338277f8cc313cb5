"""The Movella DOT as a live sensor: emulated peripheral, scan, start / stop, dual sessions,
and a recording streamed through emulated DOTs analysed like the source (no radio)."""

from __future__ import annotations

import asyncio
import csv
import struct
from pathlib import Path

import numpy as np
import pytest
from ble_helpers import blocks, collect, motion, run, stream_emulated, transport
from bleak import BleakClient
from click.testing import CliRunner
from live_helpers import SPEED, VIRTUAL_ASYNCIO, write_source

import tracker.cli.live as live_cli
from tracker.cli import cli
from tracker.devices import movella_dot as dot
from tracker.devices.ble import BleSession, LinkEvent, RawPacket, scan
from tracker.devices.bumble_backend import BumbleClient, VirtualBleWorld
from tracker.devices.emulator import Faults, MovellaDotSensor
from tracker.devices.kinds import StreamConfig, StreamStartError
from tracker.devices.playback import PlaybackClock
from tracker.devices.supported import kind_of_advertisement
from tracker.recording.load import load_recording, save_recording
from tracker.recording.model import Recording
from tracker.recording.native import iter_packets
from tracker.samples import SensorSamples
from tracker.signal.resample import ANALYSIS_RATE_HZ

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
        session = BleSession({"lumbar": sensor.target}, transport=transport(world))
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


def test_lost_and_malformed_notifications_are_counted_from_the_timestamps() -> None:
    # No sequence counter: a lost notification shows as a step of several periods.
    faults = Faults(
        drop=frozenset({40, 41, 42, 100}),
        malformed={60: "truncated", 61: "oversized", 62: "garbage", 63: "empty"},
    )

    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _dot(world, faults=faults)
        session = BleSession({"lumbar": sensor.target}, transport=transport(world))
        await session.open()
        items = await collect(session, sensor.exhausted.wait)
        got = blocks(items, "lumbar")
        stats = session.stats["lumbar"]
        assert len(got) == 300 - 4 - 4
        assert (stats.malformed, stats.truncated, stats.oversized) == (4, 2, 1)
        # The drops at 40-42 and 100 are two gaps; the four malformed ones one more.
        assert stats.timestamp_gaps == 3 and stats.lost_samples_estimate == 3 + 1 + 4
        await world.close()

    run(body)


def test_the_emulated_dot_follows_the_specification_byte_for_byte() -> None:
    # Read through bleak's public API as any central would, with the spec's bytes written
    # out literally (spec Tables 7, 12, 13, 15, 17), so a codec drifting from the spec
    # cannot hide a wrong emulator.
    base = "-4947-11e9-8646-d663bd873d93"

    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _dot(world, speed=None)
        async with BleakClient(sensor.address, backend=BumbleClient, bumble_world=world) as c:
            chars = {ch.uuid: ch.properties for ch in c.services.characteristics.values()}
            assert {"read", "write"} <= set(chars["15172001" + base])
            assert "notify" in chars["15172003" + base]
            assert {"read", "write"} <= set(chars["15171002" + base])
            control = bytes(await c.read_gatt_char("15171002" + base))
            assert len(control) == 32 and control[24:26] == bytes.fromhex("3c 00")  # 60 Hz
            # 5 Hz is no live rate: ignored. 20 Hz (visit index bit 4): taken.
            await c.write_gatt_char("15171002" + base, b"\x10" + bytes(23) + b"\x05\x00" + bytes(6))
            assert sensor.rate_hz == 60.0
            await c.write_gatt_char("15171002" + base, b"\x10" + bytes(23) + b"\x14\x00" + bytes(6))
            assert sensor.rate_hz == 20.0
            notes: asyncio.Queue[bytes] = asyncio.Queue()
            await c.start_notify("15172003" + base, lambda _c, d: notes.put_nowait(bytes(d)))
            assert bytes(await c.read_gatt_char("15172001" + base)) == bytes.fromhex("01 00 15")
            await c.write_gatt_char("15172001" + base, bytes.fromhex("01 01 15"), True)
            assert bytes(await c.read_gatt_char("15172001" + base)) == bytes.fromhex("01 01 15")
            first = await asyncio.wait_for(notes.get(), 2.0)
            second = await asyncio.wait_for(notes.get(), 2.0)
            await c.write_gatt_char("15172001" + base, bytes.fromhex("01 00 15"), True)
            assert bytes(await c.read_gatt_char("15172001" + base)) == bytes.fromhex("01 00 15")
        assert len(first) == 28
        t0, t1 = (struct.unpack_from("<I", p)[0] for p in (first, second))
        assert t0 == round(sensor.clock_start_s * 1e6) and t1 - t0 == 50_000  # 20 Hz in us
        acc = struct.unpack_from("<3f", first, 4)
        gyro_dps = struct.unpack_from("<3f", first, 16)
        np.testing.assert_allclose(acc, sensor.grid_acc_mps2[0], atol=ACC_F32)
        np.testing.assert_allclose(np.radians(gyro_dps), sensor.grid_gyro_rad_s[0], atol=GYRO_F32)
        await world.close()

    run(body)


def test_the_output_rate_is_set_through_device_control() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _dot(world)
        config = StreamConfig(sample_rate_hz=25.0)  # the next rate a DOT offers: 30 Hz
        session = BleSession({"lumbar": sensor.target}, transport=transport(world), config=config)
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
        session = BleSession({"lumbar": sensor.target}, transport=transport(world), config=config)
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


def test_two_dots_are_aligned_on_one_clock_from_their_microsecond_timestamps() -> None:
    # Two DOTs powered on at different times (device clocks 4200 s and 12.5 s at the
    # first sample) sample one body: each is mapped onto the session clock from its
    # own timestamps, so samples taken at the same moment land at the same time.
    async def body() -> tuple[SensorSamples, SensorSamples, MovellaDotSensor]:
        world = VirtualBleWorld()
        clock = PlaybackClock(10.0)
        lumbar = await _dot(world, "lumbar", clock=clock, duration_s=20.0)
        sacrum = await _dot(world, "sacrum", clock=clock, duration_s=20.0, clock_start_s=12.5)
        session = BleSession(
            {"lumbar": lumbar.target, "sacrum": sacrum.target}, transport=transport(world)
        )
        await session.open()
        clock.start()

        async def both() -> None:
            await asyncio.gather(lumbar.exhausted.wait(), sacrum.exhausted.wait())

        items = await collect(session, both)
        await world.close()
        return blocks(items, "lumbar"), blocks(items, "sacrum"), lumbar

    got_l, got_s, sensor = run(body)
    assert len(got_l) == len(got_s) == len(sensor.grid_t_s) == 1200
    for got in (got_l, got_s):
        np.testing.assert_allclose(np.diff(got.time_s), 1 / RATE_HZ, atol=1.5e-6)
    # The same grid sample of both sensors: one offset for all of them, within the
    # link's delivery time x speed of zero (paced x10 on the virtual link: under 1 ms).
    skew_s = got_l.time_s - got_s.time_s
    assert np.ptp(skew_s) < 3e-6
    assert abs(skew_s[0]) < 1e-3


def test_two_emulated_dots_stream_on_the_source_recordings_timeline(tmp_path) -> None:
    start_s = 228.75
    source = {
        p: SensorSamples(p, s.time_s + start_s, s.acc_mps2, s.gyro_rad_s)
        for p, s in (
            ("lumbar", motion("lumbar", 3.0, 104.0)),
            ("sacrum", motion("sacrum", 3.0, 104.0, phase=0.4)),
        )
    }
    path = tmp_path / "source.trk"
    save_recording(Recording(source), path)
    devices = {p: f"emulator:movella_dot:{path}" for p in source}

    items = stream_emulated(devices, speed=40.0)
    for p, src in source.items():
        got = blocks(items, p)
        grid = start_s + np.arange(len(got)) / RATE_HZ
        assert len(got) == 180
        np.testing.assert_allclose(got.time_s, grid, atol=1e-6)
        want = np.interp(got.time_s, src.time_s, src.acc_mps2[:, 0])
        np.testing.assert_allclose(got.acc_mps2[:, 0], want, atol=ACC_F32)
    finished = [e.placement for e in items if isinstance(e, LinkEvent) and e.event == "finished"]
    assert sorted(finished) == ["lumbar", "sacrum"]


# --- end to end: tracker live with two emulated DOTs ----------------------------------------


def _resampled(recording: Recording, rate_hz: float) -> Recording:
    """Each sensor linearly interpolated onto its own uniform grid from its first sample."""
    out = {}
    for p, s in recording.sensors.items():
        t = (
            s.time_s[0]
            + np.arange(int((s.time_s[-1] - s.time_s[0]) * rate_hz + 1e-9) + 1) / rate_hz
        )
        acc = np.column_stack([np.interp(t, s.time_s, s.acc_mps2[:, k]) for k in range(3)])
        gyro = np.column_stack([np.interp(t, s.time_s, s.gyro_rad_s[:, k]) for k in range(3)])
        out[p] = SensorSamples(p, t, acc, gyro)
    return Recording(out)


def _export(path: Path, out: Path) -> list[dict[str, str]]:
    result = CliRunner().invoke(cli, ["export", str(path), "-o", str(out), "--no-profile"])
    assert result.exit_code == 0, result.output
    with out.open(newline="") as f:
        return list(csv.DictReader(f))


def test_live_through_two_emulated_dots_gives_the_reps_of_the_source_at_60_hz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_cli, "asyncio", VIRTUAL_ASYNCIO)
    source = write_source(tmp_path)
    live_path = tmp_path / "live.trk"
    device = f"emulator:movella_dot:{source}"
    result = CliRunner().invoke(
        cli,
        [
            *("live", "--lumbar", device, "--sacrum", device, "--speed", str(SPEED)),
            *("--no-profile", "--quiet", "-o", str(live_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    resampled_path = tmp_path / "resampled.trk"
    save_recording(_resampled(load_recording(source), float(RATE_HZ)), resampled_path)
    got = _export(live_path, tmp_path / "live.csv")
    want = _export(resampled_path, tmp_path / "resampled.csv")
    assert len(got) == len(want) == 6
    key = ("set", "rep", "exercise", "flexion_under_load", "overextension")
    assert [[r[k] for k in key] for r in got] == [[r[k] for k in key] for r in want]
    one_sample_s = 1.0 / ANALYSIS_RATE_HZ
    for g, w in zip(got, want, strict=True):
        for k in ("start_s", "end_s"):
            assert abs(float(g[k]) - float(w[k])) <= one_sample_s + 1e-9, (k, g[k], w[k])
    # The native recording keeps every DOT notification, re-decodable as it came.
    live = load_recording(live_path)
    packets = list(iter_packets(live_path))
    for placement in ("lumbar", "sacrum"):
        mine = [p for p in packets if p.placement == placement]
        assert {p.protocol for p in mine} == {"movella_dot"}
        assert len(mine) == len(live.sensors[placement])
        decoder = dot.RateQuantitiesDecoder()
        acc = np.vstack([decoder.feed(p.payload).acc_mps2 for p in mine])
        np.testing.assert_array_equal(acc, live.sensors[placement].acc_mps2)
