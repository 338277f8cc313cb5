"""The BLE session against emulated sensors on a virtual link (no radio)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from ble_helpers import NoAdapterScanner, blocks, collect, motion, run, stream_emulated, transport
from bleak.exc import BleakDBusError

from tracker.devices import tracker_imu as imu
from tracker.devices.ble import (
    BleSession,
    BleTransport,
    LinkEvent,
    RawPacket,
    ReconnectPolicy,
    scan,
)
from tracker.devices.bumble_backend import VirtualBleWorld
from tracker.devices.emulator import Faults, MovesenseSensor, PolarPmdSensor, TrackerImuSensor
from tracker.devices.kinds import (
    BluetoothUnavailableError,
    DeviceNotFoundError,
    ServiceMissingError,
    StreamConfig,
    StreamStartError,
    UnknownDeviceError,
)
from tracker.devices.sources import SensorSources, parse_device_spec
from tracker.errors import DeviceError, TrackerError
from tracker.recording.load import save_recording
from tracker.recording.model import Gap, Recording
from tracker.samples import SensorSamples

RATE_HZ = 100.0
ACC_LSB = imu.acc_mps2_per_count(8)
GYRO_LSB = imu.gyro_rad_s_per_count(2000)
FAST = ReconnectPolicy(initial_delay_s=0.02, max_delay_s=0.1)


async def _sensor(world: VirtualBleWorld, placement: str = "lumbar", **kwargs) -> TrackerImuSensor:
    kwargs.setdefault("speed", None)
    duration_s = kwargs.pop("duration_s", 3.0)
    sensor = TrackerImuSensor(world, motion(placement, duration_s, RATE_HZ), **kwargs)
    await sensor.start()
    return sensor


def _assert_matches_source(got: SensorSamples, sensor: TrackerImuSensor, first: int) -> None:
    """``got`` holds grid samples ``first, first+1, ...`` to within one count."""
    n = len(got)
    assert n > 0
    np.testing.assert_allclose(got.acc_mps2, sensor.grid_acc_mps2[first : first + n], atol=ACC_LSB)
    np.testing.assert_allclose(
        got.gyro_rad_s, sensor.grid_gyro_rad_s[first : first + n], atol=GYRO_LSB
    )
    np.testing.assert_allclose(np.diff(got.time_s), 1 / RATE_HZ, atol=2e-6)


def test_scan_lists_supported_devices_only() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        await _sensor(world, address="C0:00:00:00:00:07")
        await _sensor(
            world, address="C0:00:00:00:00:08", name="HRM 08", faults=Faults(lacks_service=True)
        )
        found = await scan(0.3, transport=transport(world))
        assert [(d.kind, d.name, d.address) for d in found] == [
            ("tracker_imu", "LTRK0007", "C0:00:00:00:00:07")
        ]
        assert found[0].rssi is not None
        everything = await scan(0.3, transport=transport(world), include_unsupported=True)
        assert {d.kind for d in everything} == {"tracker_imu", None}
        await world.close()

    run(body)


def test_one_sensor_streams_every_sample_in_order() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _sensor(world)
        session = BleSession({"lumbar": sensor.name}, transport=transport(world))
        await session.open()
        assert sensor.streaming
        items = await collect(session, sensor.exhausted.wait)
        got = blocks(items, "lumbar")
        assert len(got) == len(sensor.grid_t_s) == 300
        _assert_matches_source(got, sensor, 0)
        info = session.devices["lumbar"]
        assert (info.protocol, info.sample_rate_hz, info.acc_range_g, info.gyro_range_dps) == (
            "tracker_imu",
            RATE_HZ,
            8,
            2000,
        )
        assert info.model == sensor.model and info.address == sensor.address
        assert session.battery_percent == {"lumbar": 87}
        stats = session.stats["lumbar"]
        assert (stats.lost_packets, stats.malformed, stats.timestamp_gaps) == (0, 0, 0)
        raw = [i for i in items if isinstance(i, RawPacket)]
        assert len(raw) == stats.packets == sensor.stats.sent == 30
        assert all(r.protocol == "tracker_imu" and r.placement == "lumbar" for r in raw)
        assert raw[0].device_time_s == pytest.approx(sensor.clock_start_s)
        # Stop: the session sent STOP, then hung up.
        assert sensor.stats.stops == 1 and not sensor.streaming and sensor.connection is None
        assert [e.event for e in items if isinstance(e, LinkEvent)] == ["connected"]
        await world.close()

    run(body)


def test_two_sensors_at_once() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        lumbar = await _sensor(world, "lumbar", speed=20.0)
        sacrum = await _sensor(world, "sacrum", speed=20.0, rate_hz=50.0)
        session = BleSession(
            {"lumbar": lumbar.name, "sacrum": sacrum.name}, transport=transport(world)
        )
        await session.open()

        async def both() -> None:
            await asyncio.gather(lumbar.exhausted.wait(), sacrum.exhausted.wait())

        items = await collect(session, both)
        got_l, got_s = blocks(items, "lumbar"), blocks(items, "sacrum")
        assert len(got_l) == 300 and len(got_s) == 150
        assert session.devices["sacrum"].sample_rate_hz == 50.0
        np.testing.assert_allclose(np.diff(got_s.time_s), 1 / 50.0, atol=2e-6)
        # Both clocks are mapped near the session clock: paced x20, they start together.
        assert abs(got_l.time_s[0] - got_s.time_s[0]) < 0.5
        await world.close()

    run(body)


def test_disconnect_mid_stream_keeps_earlier_samples_and_reports_the_gap() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        # Paced on the virtual clock (`run`): the reconnect takes its back-off and link
        # set-up there, never the machine's load, so it is back long before the stream's
        # end (4 s of recording left, 0.2 s at x20) and what follows the gap is streamed.
        sensor = await _sensor(
            world, speed=20.0, duration_s=6.0, faults=Faults(disconnect_after=20)
        )
        session = BleSession({"lumbar": sensor.name}, transport=transport(world), reconnect=FAST)
        await session.open()
        items = await collect(session, sensor.exhausted.wait)
        got = blocks(items, "lumbar")
        gaps = [i for i in items if isinstance(i, Gap)]
        assert len(gaps) == 1 and gaps[0].reason == "disconnected"
        assert len(got) > 200, "no samples after the reconnect"
        before = got.time_s <= gaps[0].start_s
        # Every sample sent before the drop arrived: 20 notifications x 10 samples.
        assert before.sum() == 200
        _assert_matches_source(got.slice(0, 200), sensor, 0)
        assert gaps[0].start_s == got.time_s[199] and gaps[0].end_s == got.time_s[200]
        # The device clock ran on while disconnected: the gap is real and time-consistent.
        missing = round((gaps[0].end_s - gaps[0].start_s) * RATE_HZ) - 1
        assert missing > 0 and len(got) == 600 - missing
        resumed = int(np.searchsorted(sensor.grid_t_s, got.time_s[200] - got.time_s[0] - 1e-6))
        _assert_matches_source(got.slice(200, len(got)), sensor, resumed)
        assert [e.event for e in items if isinstance(e, LinkEvent)] == [
            "connected",
            "disconnected",
            "reconnected",
        ]
        stats = session.stats["lumbar"]
        assert (stats.disconnects, stats.reconnects, stats.lost_packets) == (1, 1, 0)
        await world.close()

    run(body)


def test_injected_packet_loss_is_counted() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        # uint8 sequence numbers wrap at 256: drops on both sides of the wrap.
        dropped = frozenset({3, 4, 254, 255, 256, 300})
        sensor = await _sensor(world, duration_s=40.0, faults=Faults(drop=dropped))
        session = BleSession({"lumbar": sensor.name}, transport=transport(world))
        await session.open()
        items = await collect(session, sensor.exhausted.wait)
        stats = session.stats["lumbar"]
        assert sensor.stats.produced == 400 and sensor.stats.dropped == 6
        assert stats.lost_packets == 6
        assert stats.timestamp_gaps == 3  # runs {3, 4}, {254, 255, 256}, {300}
        assert stats.lost_samples_estimate == 60
        assert len(blocks(items, "lumbar")) == 4000 - 60
        await world.close()

    run(body)


def test_malformed_truncated_oversized_notifications_are_counted_and_skipped() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        malformed = {2: "truncated", 5: "oversized", 9: "empty", 12: "garbage"}
        sensor = await _sensor(world, faults=Faults(malformed=malformed))
        session = BleSession({"lumbar": sensor.name}, transport=transport(world))
        await session.open()
        items = await collect(session, sensor.exhausted.wait)
        stats = session.stats["lumbar"]
        assert (stats.malformed, stats.truncated, stats.oversized) == (4, 2, 1)
        assert stats.packets == 30 and stats.decoded_packets == 26
        assert stats.lost_packets == 4  # their sequence numbers never decoded
        got = blocks(items, "lumbar")
        assert len(got) == 260 and np.all(np.diff(got.time_s) > 0)
        # All 30 payloads, bad ones included, go to the recording for re-decoding.
        assert len([i for i in items if isinstance(i, RawPacket)]) == 30
        await world.close()

    run(body)


def test_small_mtu_streams_one_sample_per_notification() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _sensor(world, duration_s=1.0)
        base = transport(world)
        small = BleTransport(
            base.scanner_backend, base.client_backend, {"bumble_world": world, "bumble_mtu": 23}
        )
        session = BleSession({"lumbar": sensor.name}, transport=small)
        await session.open()
        items = await collect(session, sensor.exhausted.wait)
        assert session.stats["lumbar"].mtu == 23 and sensor.samples_per_notification == 1
        raw = [i for i in items if isinstance(i, RawPacket)]
        assert len(raw) == 100 and {len(r.payload) for r in raw} == {20}
        _assert_matches_source(blocks(items, "lumbar"), sensor, 0)
        await world.close()

    run(body)


def test_device_clock_wrap_keeps_time_increasing() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        wrap_s = imu.DEVICE_CLOCK_WRAP_US * 1e-6
        sensor = await _sensor(world, clock_start_s=wrap_s - 1.0)
        session = BleSession({"lumbar": sensor.name}, transport=transport(world))
        await session.open()
        got = blocks(await collect(session, sensor.exhausted.wait), "lumbar")
        assert len(got) == 300
        np.testing.assert_allclose(np.diff(got.time_s), 1 / RATE_HZ, atol=2e-6)
        assert session.stats["lumbar"].timestamp_gaps == 0
        await world.close()

    run(body)


def test_device_lacking_the_service_is_a_clear_error() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _sensor(world, faults=Faults(lacks_service=True))
        session = BleSession({"lumbar": sensor.name}, transport=transport(world))
        with pytest.raises(ServiceMissingError) as err:
            await session.open()
        message = str(err.value)
        assert sensor.name in message and "supported kinds: tracker_imu" in message
        assert "polar_pmd" in message
        assert sensor.connection is None  # hung up after the check
        # A device no kind claims (neither by name nor by service) is "not supported".
        other = await _sensor(world, name="HRM 08", faults=Faults(lacks_service=True))
        session = BleSession({"sacrum": other.name}, transport=transport(world))
        with pytest.raises(UnknownDeviceError, match=r"not a supported sensor.*tracker_imu"):
            await session.open()
        await world.close()

    run(body)


def test_absent_device_and_unknown_kind() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        await _sensor(world)
        session = BleSession({"sacrum": "LTRK9999"}, transport=transport(world), scan_timeout_s=0.2)
        with pytest.raises(DeviceNotFoundError, match="LTRK9999"):
            await session.open()
        await world.close()

    run(body)
    with pytest.raises(UnknownDeviceError, match="supported kinds: tracker_imu"):
        parse_device_spec("emulator:fitbit:session.csv")
    with pytest.raises(DeviceError, match="unknown placement"):
        BleSession({"neck": "LTRK0001"})


def test_parse_device_spec() -> None:
    assert parse_device_spec("AA:BB:CC:DD:EE:FF").target == "AA:BB:CC:DD:EE:FF"
    assert parse_device_spec(" LTRK00A1 ").target == "LTRK00A1"
    spec = parse_device_spec("emulator:rec/session.trk")
    assert spec.is_emulator and spec.kind is None and str(spec.emulator_path) == "rec/session.trk"
    spec = parse_device_spec("emulator:polar_pmd:/tmp/x.csv")
    assert spec.kind == "polar_pmd" and str(spec.emulator_path) == "/tmp/x.csv"
    assert str(parse_device_spec("emulator:C:\\rec.csv").emulator_path) == "C:\\rec.csv"
    with pytest.raises(TrackerError):
        parse_device_spec("emulator:")


def test_emulator_device_string_streams_a_recording_file(tmp_path) -> None:
    path = tmp_path / "session.csv"
    recording = Recording(
        {"lumbar": motion("lumbar", 2.0, RATE_HZ), "sacrum": motion("sacrum", 2.0, 50.0)}
    )
    save_recording(recording, path)
    devices = {"lumbar": f"emulator:{path}", "sacrum": f"emulator:polar_pmd:{path}"}

    async def body() -> tuple[np.ndarray, BleSession, list]:
        items = []
        async with SensorSources(devices, speed=50.0) as sources:
            async with BleSession(sources.targets) as session:
                sources.start_playback()
                async for item in session:  # ends by itself when both recordings ran out
                    items.append(item)
            return sources.emulated["sacrum"].grid_t_s, session, items

    sacrum_grid, session, items = run(body)
    lumbar, sacrum = blocks(items, "lumbar"), blocks(items, "sacrum")
    assert len(lumbar) == 200
    np.testing.assert_allclose(lumbar.acc_mps2, recording.sensors["lumbar"].acc_mps2, atol=ACC_LSB)
    # The emulated Verity Sense samples the 50 Hz sacrum motion at 208 Hz.
    assert session.devices["sacrum"].protocol == "polar_pmd"
    assert len(sacrum) == len(sacrum_grid) == 412
    finished = [e.placement for e in items if isinstance(e, LinkEvent) and e.event == "finished"]
    assert sorted(finished) == ["lumbar", "sacrum"]


@pytest.mark.parametrize("kind", ["tracker_imu", "polar_pmd", "movesense"])
def test_emulated_sensors_stream_on_the_source_recordings_timeline(tmp_path, kind) -> None:
    # A device clock far from the source's: samples still land on the source's own times,
    # both sensors alike, with no correction downstream.
    start_s = 228.75
    shifted = {
        p: SensorSamples(p, s.time_s + start_s, s.acc_mps2, s.gyro_rad_s)
        for p, s in (
            ("lumbar", motion("lumbar", 2.0, 104.0)),
            ("sacrum", motion("sacrum", 2.0, 104.0)),
        )
    }
    path = tmp_path / "source.trk"
    save_recording(Recording(shifted), path)
    devices = {p: f"emulator:{kind}:{path}" for p in shifted}

    items = stream_emulated(devices, speed=40.0)
    for p in shifted:
        got = blocks(items, p)
        assert len(got) > 150
        # Each grid sample is the source's motion at that very time (to within a count).
        source = shifted[p]
        want = np.interp(got.time_s, source.time_s, source.acc_mps2[:, 0])
        np.testing.assert_allclose(got.acc_mps2[:, 0], want, atol=0.02)
        assert abs(got.time_s[0] - start_s) < 0.05


def test_an_emulated_sensor_beside_a_real_one_goes_on_the_session_clock(tmp_path) -> None:
    # A source far from zero: with a real sensor in the session there is no source
    # timeline to share, so the emulated one is mapped like the real one.
    shifted = motion("lumbar", 2.0, RATE_HZ)
    path = tmp_path / "source.trk"
    save_recording(
        Recording(
            {
                "lumbar": SensorSamples(
                    "lumbar", shifted.time_s + 500.0, shifted.acc_mps2, shifted.gyro_rad_s
                )
            }
        ),
        path,
    )

    async def body() -> list:
        world = VirtualBleWorld()
        real = await _sensor(world, "sacrum", speed=10.0)
        devices = {"lumbar": f"emulator:{path}", "sacrum": real.name}
        async with SensorSources(devices, speed=10.0, transport=transport(world)) as sources:
            assert not sources.all_emulated
            async with BleSession(sources.targets) as session:
                sources.start_playback()
                items = await collect(session, sources.emulated["lumbar"].exhausted.wait)
        await world.close()
        return items

    items = run(body)
    lumbar, sacrum = blocks(items, "lumbar"), blocks(items, "sacrum")
    assert len(lumbar) == 200 and len(sacrum) > 0
    # Both start near the session clock's zero (x10: within a second of data).
    assert abs(lumbar.time_s[0]) < 1.0 and abs(sacrum.time_s[0]) < 1.0
    np.testing.assert_allclose(np.diff(lumbar.time_s), 1 / RATE_HZ, atol=2e-6)


def test_sensor_that_never_comes_back_gives_up_with_a_gap() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _sensor(world, speed=20.0, faults=Faults(disconnect_after=5))
        session = BleSession(
            {"lumbar": sensor.name},
            transport=transport(world),
            reconnect=ReconnectPolicy(0.02, 0.05, give_up_after_s=0.3),
            connect_timeout_s=0.2,
        )
        await session.open()
        await asyncio.wait_for(_wait_disconnect_injected(sensor), 5.0)
        await sensor.close()  # the sensor is gone for good
        items = [item async for item in session]  # ends once the link gives up
        events = [e.event for e in items if isinstance(e, LinkEvent)]
        assert events[:2] == ["connected", "disconnected"] and events[-1] == "gave_up"
        gaps = [i for i in items if isinstance(i, Gap)]
        assert len(gaps) == 1 and gaps[0].end_s >= gaps[0].start_s
        assert len(blocks(items, "lumbar")) == 50
        await session.close()
        await world.close()

    run(body)


async def _wait_disconnect_injected(sensor: TrackerImuSensor) -> None:
    while sensor.stats.disconnects_injected == 0:
        await asyncio.sleep(0.01)


class _NoDbusScanner(NoAdapterScanner):
    """What bleak meets when the system D-Bus socket is missing."""

    async def start(self) -> None:
        raise FileNotFoundError(2, "No such file or directory")


class _NoBluezScanner(NoAdapterScanner):
    """D-Bus runs but bluetoothd does not."""

    async def start(self) -> None:
        raise BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", ["org.bluez"])


@pytest.mark.parametrize("backend", [NoAdapterScanner, _NoDbusScanner, _NoBluezScanner])
def test_no_bluetooth_is_one_clear_error(backend: type) -> None:
    async def body() -> None:
        broken = BleTransport(scanner_backend=backend)
        with pytest.raises(BluetoothUnavailableError, match="systemctl start bluetooth"):
            await scan(0.1, transport=broken)
        with pytest.raises(BluetoothUnavailableError, match="emulator:PATH"):
            await BleSession({"lumbar": "LTRK0001"}, transport=broken).open()

    run(body)


def test_polar_verity_sense_streams_paired_acc_and_gyro() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = PolarPmdSensor(
            world,
            motion("sacrum", 3.0, 200.0),
            speed=20.0,
            faults=Faults(drop=frozenset({7}), disconnect_after=30),
        )
        await sensor.start()
        assert [d.kind for d in await scan(0.3, transport=transport(world))] == ["polar_pmd"]
        session = BleSession({"sacrum": sensor.name}, transport=transport(world), reconnect=FAST)
        await session.open()
        info = session.devices["sacrum"]
        assert (info.protocol, info.sample_rate_hz, info.acc_range_g, info.gyro_range_dps) == (
            "polar_pmd",
            208,
            8,
            1000,
        )
        assert sensor.sdk_mode  # 208 Hz needs SDK mode, which the session switched on
        items = await collect(session, sensor.exhausted.wait)
        got = blocks(items, "sacrum")
        stats = session.stats["sacrum"]
        # Frame 7 is block 3's gyro frame: its 21 accelerometer samples are dropped,
        # not paired with invented rates, and show as one timestamp gap.
        assert stats.timestamp_gaps == 1 and stats.lost_samples_estimate == 21
        assert (stats.disconnects, stats.reconnects) == (1, 1)
        gaps = [i for i in items if isinstance(i, Gap)]
        assert len(gaps) == 1
        # Samples before the drop: blocks 0-14 (30 frames minus the dropped one) = 315.
        assert (got.time_s <= gaps[0].start_s).sum() == 15 * 21 - 21
        period_s = 1 / 208
        idx = np.round((got.time_s - got.time_s[0]) / period_s).astype(int)
        np.testing.assert_allclose(got.time_s - got.time_s[0], idx * period_s, atol=1e-6)
        np.testing.assert_allclose(got.acc_mps2, sensor.grid_acc_mps2[idx], atol=0.006)
        np.testing.assert_allclose(got.gyro_rad_s, sensor.grid_gyro_rad_s[idx], atol=3e-4)
        assert sensor.stats.stops == 2  # ACC and GYRO stopped at close
        await world.close()

    run(body)


def test_rate_and_range_commands_reach_the_sensor() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _sensor(world, duration_s=2.0)
        config = StreamConfig(sample_rate_hz=50.0, acc_range_g=4, gyro_range_dps=500)
        session = BleSession({"lumbar": sensor.name}, transport=transport(world), config=config)
        await session.open()
        info = session.devices["lumbar"]
        assert (info.sample_rate_hz, info.acc_range_g, info.gyro_range_dps) == (50.0, 4, 500)
        assert (sensor.rate_hz, sensor.acc_range_g, sensor.gyro_range_dps) == (50.0, 4, 500)
        got = blocks(await collect(session, sensor.exhausted.wait), "lumbar")
        assert len(got) == 100
        np.testing.assert_allclose(np.diff(got.time_s), 1 / 50.0, atol=2e-6)
        # The emulated board resampled the 100 Hz motion at 50 Hz, quantised at ±4 g.
        np.testing.assert_allclose(
            got.acc_mps2,
            motion("lumbar", 2.0, RATE_HZ).acc_mps2[::2],
            atol=imu.acc_mps2_per_count(4),
        )
        bad = BleSession(
            {"lumbar": sensor.name},
            transport=transport(world),
            config=StreamConfig(sample_rate_hz=5000.0),
        )
        with pytest.raises(StreamStartError, match="5000"):
            await bad.open()
        await world.close()

    run(body)


def test_polar_rejects_a_rate_it_cannot_do() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = PolarPmdSensor(world, motion("lumbar", 1.0, 200.0), speed=None)
        await sensor.start()
        session = BleSession(
            {"lumbar": sensor.name},
            transport=transport(world),
            config=StreamConfig(sample_rate_hz=1000.0),
        )
        with pytest.raises(StreamStartError, match=r"\[26, 52, 104, 208, 416\]"):
            await session.open()
        await world.close()

    run(body)


def test_a_bug_in_decoding_ends_the_stream_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.devices.host_protocols import TrackerImuProtocol

    def broken(self, char_uuid: str, payload: bytes) -> list:
        raise RuntimeError("decoder bug")

    monkeypatch.setattr(TrackerImuProtocol, "decode", broken)

    async def body() -> None:
        world = VirtualBleWorld()
        sensor = await _sensor(world)
        session = BleSession({"lumbar": sensor.name}, transport=transport(world))
        await session.open()
        events = []
        with pytest.raises(DeviceError, match=r"lumbar stream failed.*decoder bug"):
            async for item in session:  # ends once the only link failed
                events.append(item)
        assert [e.event for e in events if isinstance(e, LinkEvent)] == ["connected", "failed"]
        await session.close()
        await world.close()

    run(body)


def test_movesense_gsp_streams_imu6_messages_split_in_parts() -> None:
    async def body() -> None:
        world = VirtualBleWorld()
        sensor = MovesenseSensor(
            world,
            motion("lumbar", 2.0, 100.0),
            speed=None,
            faults=Faults(drop=frozenset({4}), malformed={9: "truncated"}),
        )
        await sensor.start()
        assert sensor.name.startswith("Movesense ")
        assert [d.kind for d in await scan(0.3, transport=transport(world))] == ["movesense"]
        session = BleSession({"lumbar": sensor.name}, transport=transport(world))
        await session.open()
        assert session.devices["lumbar"].sample_rate_hz == 208
        items = await collect(session, sensor.exhausted.wait)
        got = blocks(items, "lumbar")
        stats = session.stats["lumbar"]
        # 8 samples (40 ms) per message = 196 bytes: two notifications each. Dropping
        # notification 4 (message 2, part 1) orphans its part 2; truncating notification
        # 9 (message 4, part 2) leaves a body that cannot decode: both counted, no crash.
        assert stats.malformed == 2 and stats.timestamp_gaps == 2
        assert stats.lost_samples_estimate == 16
        assert len(got) == len(sensor.grid_t_s) - 16
        idx = np.round((got.time_s - got.time_s[0]) * 208).astype(int)
        np.testing.assert_allclose(got.acc_mps2, sensor.grid_acc_mps2[idx], atol=1e-5)
        np.testing.assert_allclose(got.gyro_rad_s, sensor.grid_gyro_rad_s[idx], atol=1e-6)
        assert sensor.stats.stops == 1  # UNSUBSCRIBE at close
        await world.close()

    run(body)
