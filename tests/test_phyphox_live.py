"""Live sessions from phyphox's remote access through the real HTTP stack on 127.0.0.1:
the emulated phone against the analysis of its source, screen-off pauses, a reloaded
experiment, bad answers, a phone that is not there."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run
from live_helpers import assert_same_reps, run_virtual, write_source

from tracker.analysis.result import SessionResult
from tracker.analysis.settings import AnalysisSettings
from tracker.app.live import LiveConfig, LiveResult, LiveSink, run_live
from tracker.app.offline import analyse_recording
from tracker.devices.ble import LinkEvent
from tracker.devices.phyphox_emulator import EmulatedPhyphox
from tracker.devices.phyphox_remote import PROTOCOL, decode_recorded
from tracker.devices.phyphox_source import PhyphoxSession
from tracker.errors import DeviceError
from tracker.recording.load import load_recording
from tracker.recording.model import Gap, Recording
from tracker.recording.native import iter_packets, read_native

#: The source's sample period: rep boundaries may differ by at most one.
SOURCE_PERIOD_S = 1 / 104.0
#: Recording time of the source's reps (tests/live_helpers.SOURCE_CONFIG): 7.9 s to
#: 15.7 s; a pause before or after them leaves them whole.
BEFORE_REPS = (3.0, 2.5)
AFTER_REPS = (16.5, 2.5)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_source(tmp_path_factory.mktemp("phyphox-source"))


@pytest.fixture(scope="module")
def reference(source: Path) -> SessionResult:
    src = load_recording(source)
    return analyse_recording(
        Recording(sensors={"lumbar": src.sensors["lumbar"]}), AnalysisSettings()
    )


class Collect(LiveSink):
    def __init__(self) -> None:
        self.links: list[LinkEvent] = []

    def link(self, event: LinkEvent) -> None:
        self.links.append(event)


def live_phyphox(source: Path, out: Path, sink: LiveSink, **emulator: object) -> LiveResult:
    config = LiveConfig(
        {"lumbar": f"emulator:phyphox:{source}"},
        out,
        AnalysisSettings(),
        phone_options={"emulator_options": emulator},
    )

    async def body() -> LiveResult:
        async with asyncio.timeout(300):
            return await run_live(config, sink)

    return run_virtual(body())


def assert_reps_of_source(result: LiveResult, reference: SessionResult) -> None:
    assert result.result is not None, result.analysis_error
    assert len(reference.reps) == 6
    assert_same_reps(result.result.reps, reference.reps, SOURCE_PERIOD_S)


def test_a_recording_served_by_the_emulated_phyphox_gives_the_reps_of_the_source(
    source: Path,
    reference: SessionResult,
    tmp_path: Path,
) -> None:
    out = tmp_path / "phyphox.trk"
    sink = Collect()
    result = live_phyphox(source, out, sink)
    assert result.stopped_by == "end"
    assert_reps_of_source(result, reference)
    # The samples came through, on the source's timeline (8 digits of experiment time).
    recorded = read_native(out)
    got, want = recorded.sensors["lumbar"], load_recording(source).sensors["lumbar"]
    assert len(got) == len(want)
    np.testing.assert_allclose(got.time_s, want.time_s, atol=2e-6)
    np.testing.assert_allclose(got.acc_mps2, want.acc_mps2, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(got.gyro_rad_s, want.gyro_rad_s, rtol=1e-6, atol=1e-6)
    assert recorded.meta["timeline"] == "source recording" and not recorded.gaps
    assert "phyphox" in recorded.devices["lumbar"].model
    # Every answer is in the recording and decodes again to the same samples.
    packets = list(iter_packets(out))
    assert len(packets) == result.stats["lumbar"].packets > 100
    assert all(p.protocol == PROTOCOL for p in packets)
    again = decode_recorded(packets, "lumbar")
    assert again is not None and len(again) == len(got)
    np.testing.assert_allclose(
        again.time_s - again.time_s[0], got.time_s - got.time_s[0], atol=1e-8
    )
    assert [e.event for e in sink.links] == ["connected", "finished"]


@pytest.mark.parametrize("pause", [BEFORE_REPS, AFTER_REPS])
@pytest.mark.parametrize("pause_measuring", [True, False], ids=["paused", "sensors-stop"])
def test_a_screen_off_pause_is_a_recorded_gap_and_the_reps_stay(
    source: Path,
    reference: SessionResult,
    tmp_path: Path,
    pause: tuple[float, float],
    pause_measuring: bool,
) -> None:
    out = tmp_path / "pause.trk"
    sink = Collect()
    result = live_phyphox(source, out, sink, pause=pause, pause_measuring=pause_measuring)
    events = [e.event for e in sink.links]
    assert "paused" in events and "resumed" in events
    assert len(result.gaps) == 1
    gap = result.gaps[0]
    t0 = float(load_recording(source).sensors["lumbar"].time_s[0])
    # The samples of the pause are missing, and the gap is where it was.
    assert abs(gap.start_s - t0 - pause[0]) < 0.05 and abs(gap.end_s - t0 - sum(pause)) < 0.05
    assert "screen" in gap.reason
    assert len(read_native(out).gaps) == 1
    assert_reps_of_source(result, reference)


def test_a_reloaded_experiment_is_set_up_again_and_the_session_goes_on(
    source: Path,
    reference: SessionResult,
    tmp_path: Path,
) -> None:
    sink = Collect()
    result = live_phyphox(source, tmp_path / "reload.trk", sink, reload_at_s=17.0)
    assert "restarted" in [e.event for e in sink.links]
    assert_reps_of_source(result, reference)
    got = read_native(tmp_path / "reload.trk").sensors["lumbar"]
    t0 = float(load_recording(source).sensors["lumbar"].time_s[0])
    assert got.time_s[-1] - t0 > 20.0  # it went on after the reload


def test_malformed_answers_and_nulls_are_counted_and_survived(
    source: Path,
    reference: SessionResult,
    tmp_path: Path,
) -> None:
    result = live_phyphox(source, tmp_path / "bad.trk", Collect(), garbage_every=10, null_every=40)
    stats = result.stats["lumbar"]
    assert stats.malformed >= 40  # a tenth of some 500 answers
    assert stats.lost_samples_estimate > 50  # gyroscope rows with a null
    assert result.result is not None and len(result.result.reps) == 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_phone_at_the_address_is_one_line_naming_it(tmp_path: Path) -> None:
    port = free_port()
    result = run("live", "--lumbar", f"phone:phyphox@127.0.0.1:{port}", "-o", tmp_path / "x.trk")
    assert_one_line_error(result, f"cannot reach phyphox at 127.0.0.1:{port}")
    assert "remote access" in result.stderr and "same network" in result.stderr
    assert not (tmp_path / "x.trk").exists()


def test_an_experiment_without_a_gyroscope_is_refused_on_open(source: Path) -> None:
    async def main() -> None:
        session = PhyphoxSession(
            {"lumbar": f"emulator:phyphox:{source}"}, emulator_options={"with_gyroscope": False}
        )
        await session.open()

    with pytest.raises(DeviceError, match="no gyroscope"):
        run_virtual(main())


def test_the_phone_port_option_is_not_for_phyphox() -> None:
    result = run("live", "--lumbar", "phone:phyphox@127.0.0.1", "--phone-port", "9000")
    assert result.exit_code == 2 and "phone:phyphox@HOST:PORT" in result.stderr


async def opened_with_hook(
    source: Path, hook: Callable[[int, EmulatedPhyphox], None], **emulator: object
) -> PhyphoxSession:
    """An open session on the emulated phyphox whose every request first calls
    ``hook(n, emulator)`` (n counts the requests; the hook may raise to cut one off)."""
    session = PhyphoxSession({"lumbar": f"emulator:phyphox:{source}"}, emulator_options=emulator)
    await session.open()
    phone = session._emulator
    real, calls = phone.answer, [0]

    def answer(target: str) -> tuple[int, bytes]:
        calls[0] += 1
        hook(calls[0], phone)
        return real(target)

    phone.answer = answer
    return session


@pytest.mark.parametrize("buffer_size", [20_000, 100], ids=["kept-on-phone", "overwritten"])
def test_a_lost_link_is_reported_and_the_session_goes_on(source: Path, buffer_size: int) -> None:
    """The phone stops answering for a while (Wi-Fi gone), then answers again: what its
    buffers kept meanwhile is fetched; what they could not keep is a gap."""

    def wifi(n: int, emulator: EmulatedPhyphox) -> None:
        if 100 <= n < 106:
            raise ConnectionResetError("Wi-Fi gone")

    async def main() -> tuple[list[str], int, list[Gap]]:
        session = await opened_with_hook(source, wifi, buffer_size=buffer_size)
        events, samples, gaps = [], 0, []
        async for item in session:
            if isinstance(item, LinkEvent):
                events.append(item.event)
            elif isinstance(item, Gap):
                gaps.append(item)
            elif hasattr(item, "acc_mps2"):
                samples += len(item)
        await session.close()
        return events, samples, gaps

    events, samples, gaps = run_virtual(main())
    assert "disconnected" in events and "reconnected" in events and events[-1] == "finished"
    if buffer_size == 20_000:
        assert samples == 2159 and not gaps  # all of it came after the dropout
    else:
        # 6 requests cut off at once, 0.5 s apart (RETRY_INTERVAL_S): ~3 s without
        # answers, far more than 100 values of a 520 Hz gyroscope (0.2 s) keep.
        assert len(gaps) == 1 and gaps[0].reason == "no answer from the phone"
        assert 2.0 < gaps[0].end_s - gaps[0].start_s < 3.5
        assert samples < 2159 - 150


def test_a_reload_into_an_unusable_experiment_is_said_once_and_waited_out(source: Path) -> None:
    def stock_experiment(n: int, emulator: EmulatedPhyphox) -> None:
        if n == 100:  # the user loads phyphox's stock "Acceleration with g"
            emulator.with_gyroscope = False
            emulator._transitions.insert(0, (0.0, "reload"))

    async def main() -> list[LinkEvent]:
        session = await opened_with_hook(source, stock_experiment)
        events: list[LinkEvent] = []
        async for item in session:
            if isinstance(item, LinkEvent):
                events.append(item)
                if item.event == "waiting":
                    await asyncio.sleep(3.0)  # it keeps asking, and says it once
                    await session.close()
        return events

    events = run_virtual(main())
    kinds = [e.event for e in events]
    assert kinds.count("restarted") == 1 and kinds.count("waiting") == 1
    waiting = next(e for e in events if e.event == "waiting")
    assert "no gyroscope" in waiting.detail and "README" in waiting.detail


def test_the_experiment_is_served_to_the_phone_until_it_fetched_it() -> None:
    from tracker.devices.phyphox_experiment import EXPERIMENT_PATH, URL_PATH, serve_experiment
    from tracker.devices.phyphox_source import http_get

    async def main() -> tuple[bool, list[tuple[int, bytes]]]:
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        serving = asyncio.ensure_future(
            serve_experiment("127.0.0.1", 0, ready.set_result, asyncio.Event())
        )
        port = await ready
        answers = [await http_get("127.0.0.1", port, "/other", 2.0)]
        assert not serving.done()  # a wrong path does not end it
        answers.append(await http_get("127.0.0.1", port, URL_PATH, 2.0))
        return await asyncio.wait_for(serving, 2.0), answers

    fetched, answers = asyncio.run(main())
    assert fetched and answers[0][0] == 404
    assert answers[1] == (200, EXPERIMENT_PATH.read_bytes())
    shown = run("phyphox-experiment")
    assert shown.exit_code == 0 and Path(shown.stdout.strip()) == EXPERIMENT_PATH


def test_tracker_live_streams_the_emulated_phyphox_and_prints_the_summary(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from live_helpers import VIRTUAL_ASYNCIO

    import tracker.cli.live as live_cli

    monkeypatch.setattr(live_cli, "asyncio", VIRTUAL_ASYNCIO)
    out = tmp_path / "cli.trk"
    result = run(
        "live",
        "--lumbar",
        f"emulator:phyphox:{source}",
        "-o",
        out,
        "-q",
        "--no-profile",
        "--no-history",
    )
    assert result.exit_code == 0, result.output
    assert "emulated phone (phyphox)" in result.stderr and "Saved" in result.stderr
    assert "Total: 1 set, 6 reps" in result.stdout
    assert "2159 lumbar samples" in result.stderr  # every sample of the source
    assert read_native(out).sensors["lumbar"].time_s.size == 2159
