"""`tracker live` with a phone at one placement and a BLE sensor at the other
(`tracker.devices.mixed_session`): an emulated BLE sensor and an emulated phone playing
one dual-sensor source, on a virtual clock, over an in-process BLE link and 127.0.0.1."""

from __future__ import annotations

import asyncio
import csv
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bleak.backends.scanner import BaseBleakScanner
from cli_helpers import assert_one_line_error, run
from live_helpers import VIRTUAL_ASYNCIO, run_virtual, write_source

import tracker.cli.live as live_cli
from tracker.analysis.result import SessionResult
from tracker.analysis.settings import AnalysisSettings
from tracker.app.live import LiveConfig, LiveResult, LiveSink, run_live
from tracker.app.offline import analyse_recording
from tracker.devices.ble import BleSession, BleTransport, LinkEvent, ReconnectPolicy, StreamItem
from tracker.devices.emulator import Faults
from tracker.devices.mixed_session import MixedSession
from tracker.devices.phone_source import PhoneSession
from tracker.devices.phyphox_source import PhyphoxSession
from tracker.devices.playback import PlaybackClock
from tracker.devices.sources import SensorSources
from tracker.errors import DeviceError
from tracker.live.display import LiveStatus
from tracker.recording.load import load_recording, save_recording
from tracker.recording.model import Recording
from tracker.recording.native import iter_packets, read_native
from tracker.samples import SensorSamples

#: The source's sample period.
SOURCE_PERIOD_S = 1 / 104.0
#: Rep boundaries may differ from the source's by this much: the emulated BLE sensor
#: (our firmware profile) resamples the source onto its own sample grid and quantises it
#: (two emulated BLE sensors already differ by up to 12 ms); the phones pass the
#: source's samples unchanged. Measured: at most 15.5 ms (1.6 sample periods) on the
#: source's timeline, 17.3 ms (1.8) on the session clock after the cross-correlation.
BOUNDARY_TOLERANCE_S = 2 * SOURCE_PERIOD_S
#: The phone apps and how their raw bodies are recorded.
PHONES = {"sensorlogger": "sensor_logger_push", "phyphox": "phyphox_remote"}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_source(tmp_path_factory.mktemp("mixed-source"))


@pytest.fixture(scope="module")
def reference(source: Path) -> SessionResult:
    """Offline analysis of the dual-sensor source."""
    return analyse_recording(load_recording(source), AnalysisSettings())


class Collect(LiveSink):
    def __init__(self) -> None:
        self.links: list[LinkEvent] = []

    def link(self, event: LinkEvent) -> None:
        self.links.append(event)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def can_bind(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def ble_and_sensor_logger(source: Path) -> dict[str, str]:
    """An emulated BLE sensor at T12-L1 and an emulated Sensor Logger over the sacrum,
    both playing ``source``."""
    return {"lumbar": f"emulator:{source}", "sacrum": f"emulator:sensorlogger:{source}"}


def live(
    devices: dict[str, str],
    out: Path,
    sink: LiveSink,
    stop: asyncio.Event | None = None,
    phone: dict[str, object] | None = None,
    **config: Any,
) -> LiveResult:
    settings = AnalysisSettings()
    live_config = LiveConfig(devices, out, settings, phone_options=phone or {}, **config)

    async def body() -> LiveResult:
        async with asyncio.timeout(300):
            return await run_live(live_config, sink, stop)

    return run_virtual(body())


@pytest.mark.parametrize("app", list(PHONES))
@pytest.mark.parametrize("phone_at", ["sacrum", "lumbar"])
def test_an_emulated_ble_sensor_and_an_emulated_phone_give_the_reps_of_the_source(
    app: str, phone_at: str, source: Path, reference: SessionResult, tmp_path: Path
) -> None:
    ble_at = "lumbar" if phone_at == "sacrum" else "sacrum"
    out = tmp_path / "mixed.trk"
    sink = Collect()
    devices = {ble_at: f"emulator:{source}", phone_at: f"emulator:{app}:{source}"}
    result = live(devices, out, sink)
    assert result.stopped_by == "end" and result.result is not None, result.analysis_error
    assert result.emulated_timeline and not result.gaps
    # The same reps as the source's, with both sensors (the lumbar angle needs both).
    reps, want = result.result.reps, reference.reps
    assert len(want) == 6 and len(reps) == len(want)
    for rep, ref in zip(reps, want, strict=True):
        assert abs(rep.start_s - ref.start_s) <= BOUNDARY_TOLERANCE_S
        assert abs(rep.end_s - ref.end_s) <= BOUNDARY_TOLERANCE_S
        assert rep.flexion_under_load == ref.flexion_under_load
        assert rep.lumbar_flexion_deg is not None
    # The recording holds both, on the source's timeline, each with its protocol.
    recorded = read_native(out)
    src = load_recording(source)
    assert recorded.meta["timeline"] == "source recording"
    assert set(recorded.sensors) == {"lumbar", "sacrum"}
    for p in ("lumbar", "sacrum"):
        assert recorded.sensors[p].time_s[0] == pytest.approx(src.sensors[p].time_s[0], abs=2e-6)
    got, sent = recorded.sensors[phone_at], src.sensors[phone_at]
    assert len(got) == len(sent)  # the phone passes the source's samples unchanged
    np.testing.assert_allclose(got.time_s, sent.time_s, atol=2e-6)
    np.testing.assert_allclose(got.gyro_rad_s, sent.gyro_rad_s, rtol=1e-6, atol=1e-6)
    assert recorded.devices[phone_at].protocol.startswith(PHONES[app])
    assert recorded.devices[ble_at].protocol == "tracker_imu"
    protocols = {(p.placement, p.protocol) for p in iter_packets(out)}
    assert protocols == {(phone_at, PHONES[app]), (ble_at, "tracker_imu")}
    # Streaming equals batch: the file read back gives the live session's reps.
    again = analyse_recording(recorded, AnalysisSettings()).reps
    assert [(r.start_s, r.end_s) for r in again] == [(r.start_s, r.end_s) for r in reps]
    finished = [e.placement for e in sink.links if e.event == "finished"]
    assert sorted(finished) == ["lumbar", "sacrum"]


def staggered_source(source: Path, directory: Path, sacrum_later_s: float) -> Path:
    """``source`` with both sensors starting together, then the sacrum's first
    ``sacrum_later_s`` cut: emulated sensors start streaming their first samples at once,
    so mapped by arrival (as real ones are) the sacrum is that much off."""
    src = load_recording(source)
    start_s = max(float(x.time_s[0]) for x in src.sensors.values())
    sensors = {}
    for p, x in src.sensors.items():
        keep = x.time_s >= start_s - 1e-9 + (sacrum_later_s if p == "sacrum" else 0.0)
        sensors[p] = SensorSamples(p, x.time_s[keep], x.acc_mps2[keep], x.gyro_rad_s[keep])
    path = directory / "staggered.trk"
    save_recording(Recording(sensors=sensors), path)
    return path


@pytest.mark.parametrize("app", [PhoneSession, PhyphoxSession], ids=list(PHONES))
def test_on_the_session_clock_the_pipeline_aligns_the_phone_with_the_ble_sensor(
    app: type[PhoneSession] | type[PhyphoxSession], source: Path, tmp_path: Path
) -> None:
    # What a real phone or sensor takes: device times on one session clock (ClockMapper),
    # then the cross-correlation of the two sensors' sagittal gyro.
    staggered = staggered_source(source, tmp_path, 0.06)
    name = "sensorlogger" if app is PhoneSession else "phyphox"

    async def body() -> list[StreamItem]:
        clock = PlaybackClock(1.0)
        ble_devices = {"lumbar": f"emulator:{staggered}"}
        async with SensorSources(ble_devices, clock=clock, on_source_timeline=False) as sources:
            phone = app(
                {"sacrum": f"emulator:{name}:{staggered}"}, clock=clock, on_source_timeline=False
            )
            session = MixedSession(
                BleSession(sources.targets), phone, cancel_ble_open=False, source_timeline=False
            )
            async with session:
                sources.start_playback()
                return [item async for item in session]

    items = run_virtual(body())
    got = {
        p: SensorSamples.concat(
            [i for i in items if isinstance(i, SensorSamples) and i.placement == p]
        )
        for p in ("lumbar", "sacrum")
    }
    want = load_recording(staggered)
    offset_s = {p: float(got[p].time_s[0] - want.sensors[p].time_s[0]) for p in got}
    # The device times alone leave the sacrum ~60 ms off: more than 9 deg of fake
    # flexion at 150 deg/s.
    assert 0.05 < offset_s["lumbar"] - offset_s["sacrum"] < 0.08
    reps = analyse_recording(Recording(sensors=got), AnalysisSettings()).reps
    reference = analyse_recording(want, AnalysisSettings()).reps
    assert len(reference) == 6 and len(reps) == 6
    for rep, ref in zip(reps, reference, strict=True):
        assert abs(rep.start_s - offset_s["lumbar"] - ref.start_s) <= BOUNDARY_TOLERANCE_S
        assert abs(rep.end_s - offset_s["lumbar"] - ref.end_s) <= BOUNDARY_TOLERANCE_S
        assert rep.flexion_under_load == ref.flexion_under_load
        assert rep.lumbar_flexion_deg == pytest.approx(ref.lumbar_flexion_deg, abs=0.5)


def test_a_pause_of_the_phone_is_its_gap_and_the_ble_sensor_streams_on(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pause.trk"
    sink = Collect()
    devices = ble_and_sensor_logger(source)
    result = live(devices, out, sink, phone={"emulator_options": {"pause": (8.0, 4.0)}})
    assert result.stopped_by == "end"
    assert [g.placement for g in result.gaps] == ["sacrum"]
    assert [(e.placement, e.event) for e in sink.links if e.event != "finished"] == [
        ("lumbar", "connected"),
        ("sacrum", "disconnected"),
        ("sacrum", "reconnected"),
    ]
    recorded = read_native(out)
    lumbar, src = recorded.sensors["lumbar"], load_recording(source).sensors["lumbar"]
    # The BLE sensor lost nothing while the phone was away.
    assert np.diff(lumbar.time_s).max() < 2 * SOURCE_PERIOD_S
    assert lumbar.time_s[-1] == pytest.approx(src.time_s[-1], abs=SOURCE_PERIOD_S)


def test_a_dropped_ble_sensor_is_its_gap_and_the_phone_streams_on(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "drop.trk"
    sink = Collect()
    devices = ble_and_sensor_logger(source)
    result = live(
        devices,
        out,
        sink,
        reconnect=ReconnectPolicy(initial_delay_s=0.02, max_delay_s=0.1),
        # ~10 notifications/s: number 100 falls in the set (tests/test_live.py).
        faults={"lumbar": Faults(disconnect_after=100)},
    )
    assert result.stopped_by == "end" and result.result is not None
    assert [g.placement for g in result.gaps] == ["lumbar"]
    assert result.stats["lumbar"].reconnects == 1
    assert len(result.result.reps) == 6
    # Every sample of the phone arrived, through the BLE sensor's drop.
    sacrum = read_native(out).sensors["sacrum"]
    assert len(sacrum) == len(load_recording(source).sensors["sacrum"])


class StopAfter(Collect):
    """Sets ``stop`` once the session clock passes ``after_s`` (a Ctrl-C)."""

    def __init__(self, stop: asyncio.Event, after_s: float) -> None:
        super().__init__()
        self.stop, self.after_s = stop, after_s

    def status(self, status: LiveStatus) -> None:
        if status.elapsed_s > self.after_s:
            self.stop.set()


def test_stopping_closes_both_sides_and_the_recording(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "stopped.trk"
    port = free_port()
    stop = asyncio.Event()
    sink = StopAfter(stop, 12.0)
    devices = ble_and_sensor_logger(source)
    result = live(devices, out, sink, stop, phone={"port": port})
    assert result.stopped_by == "interrupted"
    recorded = read_native(out)
    assert recorded.report.clean_close
    for p in ("lumbar", "sacrum"):
        assert 0 < len(recorded.sensors[p]) == result.samples_recorded[p] < 2000
    assert can_bind(port)


def test_a_busy_phone_port_is_one_line_and_the_ble_sensor_is_closed(source: Path) -> None:
    async def body() -> tuple[str, BleSession]:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            clock = PlaybackClock(1.0)
            async with SensorSources({"lumbar": f"emulator:{source}"}, clock=clock) as sources:
                ble = BleSession(sources.targets)
                phone = PhoneSession(
                    {"sacrum": f"emulator:sensorlogger:{source}"}, port=port, clock=clock
                )
                session = MixedSession(ble, phone, cancel_ble_open=False, source_timeline=True)
                with pytest.raises(DeviceError) as caught:
                    await session.open()
                # (the emulated sensor was connected when the phone failed: it was opened
                # fully, then closed)
                return str(caught.value), ble

    message, ble = run_virtual(body())
    assert "cannot listen on port" in message and "\n" not in message
    assert ble.links and all(link.finished.is_set() for link in ble.links.values())
    assert all(link._client is None or not link._client.is_connected for link in ble.links.values())


@pytest.fixture
def virtual_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_cli, "asyncio", VIRTUAL_ASYNCIO)


@pytest.mark.usefixtures("virtual_cli")
def test_a_busy_phone_port_through_the_cli_is_one_line_exit_1(source: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            "live",
            "--lumbar",
            f"emulator:{source}",
            "--sacrum",
            f"emulator:sensorlogger:{source}",
            "--phone-port",
            port,
            "-o",
            tmp_path / "s.trk",
            "--no-profile",
            "--no-history",
        )
    assert_one_line_error(result, f"cannot listen on port {port} for the phone")
    assert not (tmp_path / "s.trk").exists()


class NothingInRangeScanner(BaseBleakScanner):
    """A working adapter with no BLE device in range."""

    def __init__(self, detection_callback, service_uuids, scanning_mode="active", **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(detection_callback, service_uuids)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


@pytest.mark.usefixtures("virtual_cli")
def test_a_ble_sensor_not_found_is_one_line_and_the_phone_stops_listening(
    source: Path, tmp_path: Path
) -> None:
    port = free_port()
    result = run(
        "live",
        "--lumbar",
        "LTRK9999",
        "--sacrum",
        f"emulator:sensorlogger:{source}",
        "--phone-port",
        port,
        "--scan-timeout",
        "0.2",
        "-o",
        tmp_path / "s.trk",
        "--no-profile",
        "--no-history",
        obj={"ble_transport": BleTransport(scanner_backend=NothingInRangeScanner)},
    )
    assert_one_line_error(result, "LTRK9999")
    assert can_bind(port)  # nothing is left listening for the phone
    assert not (tmp_path / "s.trk").exists()


def test_a_ble_sensor_not_found_closes_the_phone_receiver_that_was_listening(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = LiveConfig(
        {"lumbar": "LTRK9999", "sacrum": "phone:sensorlogger"},
        tmp_path / "s.trk",
        AnalysisSettings(),
        transport=BleTransport(scanner_backend=NothingInRangeScanner),
        scan_timeout_s=1.0,
        phone_options={"host": "127.0.0.1", "port": port},
    )

    async def reachable() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    async def body() -> tuple[bool, str, bool]:
        async def probe() -> bool:
            await asyncio.sleep(0.5)  # while the scan for the BLE sensor runs
            return await reachable()

        during = asyncio.ensure_future(probe())
        with pytest.raises(DeviceError) as caught:
            await run_live(config)
        return await during, str(caught.value), await reachable()

    during, message, after = run_virtual(body())
    assert during and not after
    assert "no BLE device 'LTRK9999' found" in message and "\n" not in message
    assert not (tmp_path / "s.trk").exists()


def test_two_phones_are_refused_in_one_line() -> None:
    result = run("live", "--lumbar", "phone:sensorlogger", "--sacrum", "phone:phyphox@127.0.0.1")
    assert_one_line_error(result, "one phone per session")


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.usefixtures("virtual_cli")
def test_tracker_live_mixes_a_ble_sensor_and_a_phone_and_the_recording_exports(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cli.trk"
    result = run(
        "live",
        "--lumbar",
        f"emulator:{source}",
        "--sacrum",
        f"emulator:sensorlogger:{source}",
        "-o",
        out,
        "-q",
        "--no-profile",
        "--no-history",
    )
    assert result.exit_code == 0, result.output
    assert "Total: 1 set, 6 reps" in result.stdout
    assert "lumbar samples" in result.stderr and "2127 sacrum samples" in result.stderr
    assert "emulated phone (Sensor Logger)" in result.stderr
    from_live, from_source = tmp_path / "live.csv", tmp_path / "source.csv"
    for rec, csv_path in ((out, from_live), (source, from_source)):
        exported = run("export", rec, "-o", csv_path, "--no-profile")
        assert exported.exit_code == 0, exported.output
    got, want = read_rows(from_live), read_rows(from_source)
    key = ("set", "rep", "exercise", "flexion_under_load", "overextension")
    assert len(got) == len(want) == 6
    assert [[r[k] for k in key] for r in got] == [[r[k] for k in key] for r in want]
    for g, w in zip(got, want, strict=True):
        for k in ("start_s", "end_s"):
            assert float(g[k]) == pytest.approx(float(w[k]), abs=BOUNDARY_TOLERANCE_S)
        assert float(g["lumbar_flexion_deg"]) == pytest.approx(
            float(w["lumbar_flexion_deg"]), abs=1.0
        )
