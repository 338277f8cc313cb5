"""The live session library: cue policy, display state, and sessions with emulated sensors
(bumble virtual link, no radio)."""

from __future__ import annotations

import asyncio
import errno
import os
import sys
from pathlib import Path

import pytest
from live_helpers import SPEED, run_virtual, write_source

from tracker.analysis.events import (
    FlagRaised,
    Notice,
    RepCompleted,
    RepMetrics,
    SetEnded,
    SetStarted,
    SetSummary,
)
from tracker.analysis.settings import AnalysisSettings
from tracker.app.live import LiveConfig, LiveResult, LiveSink, run_live
from tracker.devices.ble import LinkEvent, ReconnectPolicy
from tracker.devices.emulator import Faults
from tracker.devices.stream_tracking import StreamStats
from tracker.live import speech
from tracker.live.cues import CuePolicy
from tracker.live.display import LiveStatus, status_lines
from tracker.recording import native
from tracker.recording.native import iter_packets, read_native

FAST_RECONNECT = ReconnectPolicy(initial_delay_s=0.02, max_delay_s=0.1)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_source(tmp_path_factory.mktemp("live"))


def rep(n: int, *, flex: float = 20.0, ext: float = 2.0, set_no: int = 1) -> RepMetrics:
    return RepMetrics(
        set=set_no,
        rep=n,
        exercise="kettlebell_swing",
        start_s=float(n),
        end_s=n + 1.0,
        hinge_depth_deg=55.0,
        lumbar_flexion_deg=flex,
        lumbar_extension_deg=ext,
        flexion_under_load=flex > 36,
        overextension=ext > 10,
        lumbar_share=0.3,
        eccentric_s=0.5,
        concentric_s=0.5,
        peak_hip_extension_deg_s=200.0,
    )


def set_end(t_s: float, set_no: int = 1) -> SetEnded:
    return SetEnded(t_s, SetSummary(set_no, "kettlebell_swing", 0.0, t_s, ()))


# --- cue policy ------------------------------------------------------------------------


def test_cues_now_fire_at_the_crossing_and_are_bounded_per_set() -> None:
    policy = CuePolicy("now", max_per_set=2, min_interval_s=0.0)
    flags = [FlagRaised(float(t), "flexion", 40.0, 36.0) for t in range(5)]
    cues = [c for f in flags for c in policy.update(f)]
    assert [c.time_s for c in cues] == [0.0, 1.0]
    assert (policy.given, policy.suppressed) == (2, 3)
    # A rep report does not cue again in this mode.
    assert policy.update(RepCompleted(5.0, rep(5, flex=45.0))) == []
    # The bound is per set: the next set cues again.
    assert policy.update(set_end(6.0)) == []
    assert [c.kind for c in policy.update(FlagRaised(7.0, "overextension", 12.0, 10.0))] == [
        "overextension"
    ]


def test_cues_are_spaced_by_the_minimum_interval() -> None:
    policy = CuePolicy("now", max_per_set=None, min_interval_s=1.0)
    times = [0.0, 0.4, 0.9, 1.2, 2.1, 2.3]
    got = [c.time_s for t in times for c in policy.update(FlagRaised(t, "flexion", 40.0, 36.0))]
    assert got == [0.0, 1.2, 2.3]


def test_cues_after_rep_wait_for_the_rep_and_name_it() -> None:
    policy = CuePolicy("after_rep", max_per_set=5, min_interval_s=0.0)
    assert policy.update(SetStarted(0.0, 1, "kettlebell_swing")) == []
    # The crossing itself is silent ...
    assert policy.update(FlagRaised(1.5, "flexion", 44.0, 36.0)) == []
    # ... the cue comes with the rep, once it is back at rest.
    (cue,) = policy.update(RepCompleted(2.4, rep(1, flex=44.0)))
    assert (cue.kind, cue.rep, cue.time_s) == ("flexion", 1, 2.4)
    assert "44 deg" in cue.text and cue.spoken
    assert policy.update(RepCompleted(3.4, rep(2))) == []
    # A rep doing both gets one cue, for flexion.
    assert [c.kind for c in policy.update(RepCompleted(4.4, rep(3, flex=50.0, ext=15.0)))] == [
        "flexion"
    ]
    assert [c.kind for c in policy.update(RepCompleted(5.4, rep(4, ext=15.0)))] == ["overextension"]


def test_creep_cues_in_both_modes_and_counts_toward_the_bound() -> None:
    for mode in ("now", "after_rep"):
        policy = CuePolicy(mode, max_per_set=1, min_interval_s=0.0)
        creep = FlagRaised(9.0, "creep", 9.5, 8.0, set=1, rep=4)
        (cue,) = policy.update(creep)
        assert cue.kind == "creep" and "rep 4" in cue.text
        assert policy.update(FlagRaised(9.5, "flexion", 40.0, 36.0)) == []


def test_cue_policy_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="cue mode"):
        CuePolicy("later")
    with pytest.raises(ValueError, match="max_per_set"):
        CuePolicy(max_per_set=-1)


# --- display ---------------------------------------------------------------------------


def test_status_shows_set_reps_last_rep_loss_and_battery() -> None:
    status = LiveStatus(recording_path="s.trk", elapsed_s=6.25, recording_start_s=200.0)
    status.advance(262.5)
    assert "calibrating" in status_lines(status)[1]
    status.apply_event(SetStarted(1.0, 2, "deadlift"))
    for n in (1, 2, 3):
        status.apply_event(RepCompleted(float(n), rep(n, set_no=2, flex=40.0 if n == 3 else 20.0)))
    status.apply_link(LinkEvent("lumbar", 1.0, "connected"))
    status.apply_link(LinkEvent("sacrum", 1.0, "disconnected"))
    stats = StreamStats(packets=95, lost_packets=5, malformed=1)
    status.apply_stats({"lumbar": stats, "sacrum": StreamStats()}, {"lumbar": 80, "sacrum": None})
    lines = status_lines(status)
    # Time since the recording started (the summary's clock) next to the wall time: they
    # differ when emulated sensors run faster than real time.
    assert lines[0] == "tracker live  1:02.50 recorded (0:06.25 wall time)  recording to s.trk"
    assert lines[1].startswith("set 2 (deadlift, in progress): 3 reps")
    assert "depth 55 deg, lumbar flexion 40 deg" in lines[2] and "FLEXION" in lines[2]
    assert "tempo 0.5 s down / 0.5 s up" in lines[2]
    assert "battery 80%; packet loss 5.0% (5 lost, 1 malformed)" in lines[3]
    assert lines[4].startswith("sacrum  DISCONNECTED") and "battery -" in lines[4]
    assert lines[5] == "last cue: none"
    (cue,) = CuePolicy("now").update(FlagRaised(261.0, "flexion", 40.0, 36.0))
    status.apply_cue(cue, 6.1)
    assert status_lines(status)[5] == "last cue: lumbar flexion 40 deg at 1:01.00 (0:06.10 wall)"


# --- sessions with emulated sensors --------------------------------------------------


class Collect(LiveSink):
    def __init__(self, stop_after_s: float | None = None, stop: asyncio.Event | None = None):
        self.events: list = []
        self.cues: list = []
        self.links: list[LinkEvent] = []
        self.statuses = 0
        self.opened_path: Path | None = None
        self.stop_after_s, self.stop = stop_after_s, stop

    def opened(self, path, devices) -> None:
        self.opened_path = path

    def event(self, event, at_s) -> None:
        self.events.append(event)

    def cue(self, cue, at_s) -> None:
        self.cues.append(cue)

    def link(self, event) -> None:
        self.links.append(event)

    def status(self, status) -> None:
        self.statuses += 1

    def samples(self, block, arrival_s, at_s) -> None:
        assert at_s >= arrival_s >= 0
        if self.stop is not None and self.stop_after_s is not None and at_s > self.stop_after_s:
            self.stop.set()


def dual(source: Path) -> dict[str, str]:
    return {"lumbar": f"emulator:{source}", "sacrum": f"emulator:{source}"}


def live(config: LiveConfig, sink: LiveSink, stop: asyncio.Event | None = None) -> LiveResult:
    """Run a session on a virtual clock (`run_virtual`), bounded so a bug cannot hang."""

    async def body() -> LiveResult:
        async with asyncio.timeout(300):
            return await run_live(config, sink, stop)

    return run_virtual(body())


def test_two_emulated_sensors_record_everything_and_count_reps(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "live.trk"
    sink = Collect()
    config = LiveConfig(dual(source), out, AnalysisSettings(), speed=SPEED)
    result = live(config, sink)
    assert result.stopped_by == "end" and result.disk_error is None
    assert sink.opened_path == out and sink.statuses > 0
    assert result.result is not None
    reps = result.result.reps
    assert len(reps) == 6
    assert [r.flexion_under_load for r in reps] == [False, False, True, False, False, False]
    assert [r.overextension for r in reps] == [False, False, False, False, True, False]
    assert [c.kind for c in sink.cues][:1] == ["flexion"]
    recorded = read_native(out)
    assert recorded.report.clean_close and not recorded.report.damaged
    assert recorded.meta["recorded_by"] == "tracker live"
    assert recorded.meta["timeline"] == "source recording"
    for p in ("lumbar", "sacrum"):
        assert len(recorded.sensors[p]) == result.samples_recorded[p] > 2000
        assert recorded.devices[p].protocol == "tracker_imu"
    packets = list(iter_packets(out))
    assert len(packets) == sum(s.packets for s in result.stats.values())
    assert {p.placement for p in packets} == {"lumbar", "sacrum"}
    assert [e.event for e in sink.links].count("finished") == 2


def test_disconnect_mid_set_is_recorded_as_a_gap_and_reps_after_it_count(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "drop.trk"
    sink = Collect()
    config = LiveConfig(
        dual(source),
        out,
        AnalysisSettings(),
        # The emulated sensor's clock runs on while it is disconnected: the gap is as long
        # as the reconnect takes on the (virtual) clock, whatever the machine's load.
        speed=SPEED,
        reconnect=FAST_RECONNECT,
        # ~10 notifications/s of session time: number 100 falls in rep 2 of the set.
        faults={"lumbar": Faults(disconnect_after=100)},
    )
    result = live(config, sink)
    assert result.stats["lumbar"].disconnects == 1 and result.stats["lumbar"].reconnects == 1
    (gap,) = result.gaps
    assert gap.placement == "lumbar" and gap.end_s > gap.start_s
    assert read_native(out).gaps == [gap]
    assert any(isinstance(e, Notice) and "lost (disconnected)" in e.message for e in sink.events)
    assert result.result is not None
    reps = result.result.reps
    first_rep_s = reps[0].start_s
    assert first_rep_s < gap.start_s < reps[-1].start_s
    # Reps that start after the gap are still counted: all six of the set.
    assert len(reps) == 6
    assert sum(r.start_s > gap.end_s for r in reps) >= 3
    assert [e.event for e in sink.links if e.placement == "lumbar"][:3] == [
        "connected",
        "disconnected",
        "reconnected",
    ]


def test_stop_event_closes_the_recording_cleanly(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "stopped.trk"
    stop = asyncio.Event()
    sink = Collect(stop_after_s=0.3, stop=stop)
    config = LiveConfig(dual(source), out, AnalysisSettings(), speed=5.0)
    result = live(config, sink, stop)
    assert result.stopped_by == "interrupted"
    # Stopped long before the set: too little to analyse, but everything is recorded.
    assert result.result is None and "calibrat" in (result.analysis_error or "")
    recorded = read_native(out)
    assert recorded.report.clean_close
    assert 0 < len(recorded.sensors["lumbar"]) == result.samples_recorded["lumbar"] < 2000


def test_duration_stops_the_session(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "short.trk"
    config = LiveConfig(dual(source), out, AnalysisSettings(), speed=5.0, duration_s=0.4)
    result = live(config, Collect())
    assert result.stopped_by == "duration"
    assert 0 < len(read_native(out).sensors["sacrum"]) < 2000


def test_disk_full_stops_cleanly_and_keeps_what_was_written(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "full.trk"
    real_write = os.write
    writes = []

    def write(fd: int, data: bytes) -> int:
        if out.exists() and os.fstat(fd).st_ino == out.stat().st_ino:
            writes.append(len(data))
            if len(writes) > 4:  # the header and a few flushes fit, then the disk is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(native.os, "write", write)
    config = LiveConfig(dual(source), out, AnalysisSettings(), speed=SPEED, flush_interval_s=0.05)
    result = live(config, Collect())
    monkeypatch.undo()
    assert result.stopped_by == "disk_full"
    assert "No space left on device" in (result.disk_error or "")
    assert "\n" not in (result.disk_error or "")
    # No end record could be written; what reached the disk reads back, and the result
    # counts exactly that.
    kept = read_native(out)
    assert not kept.report.clean_close
    assert 0 < len(kept.sensors["lumbar"]) < 2000
    assert result.samples_recorded == {
        p: len(kept.sensors.get(p, ())) for p in ("lumbar", "sacrum")
    }


# --- speech ----------------------------------------------------------------------------


def test_speech_command_is_the_first_program_found(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {"say": "/usr/bin/say", "spd-say": "/usr/bin/spd-say"}
    monkeypatch.setattr(speech.shutil, "which", found.get)
    assert speech.find_speech_command() == ["/usr/bin/say"]
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    assert speech.find_speech_command() is None


def test_speaker_runs_the_command_with_the_text(tmp_path: Path) -> None:
    out = tmp_path / "spoken.txt"
    script = f"import sys; open({str(out)!r}, 'w').write(sys.argv[1])"
    speaker = speech.Speaker([sys.executable, "-c", script])
    assert speaker.say("back flat")
    speaker.close()
    assert out.read_text() == "back flat"
    broken = speech.Speaker([str(tmp_path / "no-such-program")])
    assert not broken.say("back flat")
