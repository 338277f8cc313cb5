"""Event lines (replay, ``live --quiet``) speak the summary's clock: time since the
recording started, in time order, whatever the sensors' own clocks read."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from live_helpers import SOURCE_CONFIG

from tracker.analysis.events import CalibrationDone, Notice, RepCompleted, SetStarted
from tracker.analysis.result import recording_start_s
from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording
from tracker.cli import cli
from tracker.recording.load import save_recording
from tracker.recording.model import Recording
from tracker.report.event_lines import EventLines, clock_text
from tracker.samples import SensorSamples
from tracker.sim import simulate_session

#: A sensor clock far from zero, as a real device's (seconds since it was switched on).
CLOCK_OFFSET_S = 228.7

_STAMP = re.compile(r"^(-?)(\d+):(\d\d\.\d\d)  ")


def _stamp_s(line: str) -> float:
    m = _STAMP.match(line)
    assert m, line
    value = int(m[2]) * 60 + float(m[3])
    return -value if m[1] else value


def _shifted(recording: Recording, offset_s: float) -> Recording:
    sensors = {
        p: SensorSamples(p, s.time_s + offset_s, s.acc_mps2, s.gyro_rad_s)
        for p, s in recording.sensors.items()
    }
    return replace(recording, sensors=sensors)


@pytest.fixture(scope="module")
def recording() -> Recording:
    return _shifted(simulate_session(SOURCE_CONFIG).recording, CLOCK_OFFSET_S)


def test_clock_text_is_minutes_and_hundredths() -> None:
    assert [clock_text(t) for t in (0.0, 3.755, 65.5, 600.0, -1.25)] == [
        "0:00.00",
        "0:03.75",
        "1:05.50",
        "10:00.00",
        "-0:01.25",
    ]


def test_replayed_events_are_stamped_since_the_start_in_time_order(recording: Recording) -> None:
    start_s = recording_start_s(recording)
    lines = EventLines(start_s)
    printed: list[str] = []
    result = analyse_recording(
        recording, AnalysisSettings(), 0.05, on_event=lambda e: printed.append(lines.line(e))
    )
    stamps = [_stamp_s(line) for line in printed]
    assert stamps == sorted(stamps)
    # Nothing on the sensor's clock: every stamp is within the recording.
    assert 0 <= stamps[0] and stamps[-1] <= recording.duration_s() + 0.01
    reps = [line for line in printed if " rep " in line and "CUE" not in line]
    assert len(reps) == len(result.reps) == 6
    # Each rep line names where its rep ran, on the summary's clock.
    for line, rep in zip(reps, result.reps, strict=True):
        span = f"({clock_text(rep.start_s - start_s)}-{clock_text(rep.end_s - start_s)})"
        assert span in line
        assert _stamp_s(line) >= rep.end_s - start_s - 0.01


def test_an_event_about_an_earlier_moment_keeps_the_order_and_names_its_time() -> None:
    lines = EventLines(100.0)
    assert lines.line(CalibrationDone(103.5, "sacrum", 3.5)).startswith("0:03.50  calibrated")
    # The lumbar sensor's standing phase ended earlier, but it is reported later.
    assert lines.line(CalibrationDone(103.4, "lumbar", 3.4)) == (
        "0:03.50  calibrated lumbar sensor, 3.4 s standing until 0:03.40"
    )
    lines.advance(110.2)
    assert lines.line(SetStarted(107.0, 1, "deadlift")) == (
        "0:10.20  set 1 started at 0:07.00: deadlift"
    )
    assert lines.line(Notice(109.0, "sacrum sensor: 1.0 s lost (disconnected)")) == (
        "0:10.20  note: sacrum sensor: 1.0 s lost (disconnected) (at 0:09.00)"
    )
    # An event at the stream's own moment names no other time.
    assert lines.line(SetStarted(110.2, 2, "deadlift")) == "0:10.20  set 2 started: deadlift"


def test_replay_cli_prints_the_summary_clock(recording: Recording, tmp_path: Path) -> None:
    path = tmp_path / "offset.trk"
    save_recording(recording, path)
    result = CliRunner().invoke(cli, ["replay", str(path), "--fast", "--no-profile"])
    assert result.exit_code == 0, result.output
    events, _, summary = result.output.partition("\n\n")
    stamps = [_stamp_s(line) for line in events.splitlines()]
    assert stamps == sorted(stamps) and stamps[-1] < 60
    (set_line,) = [line for line in summary.splitlines() if line.startswith("Set 1 ")]
    summary_start = set_line.split()[-1].split("-")[0]  # m:ss.s
    (started,) = [line for line in events.splitlines() if "set 1 started" in line]
    # The set's start: the stamp, or the moment the line names when reported later.
    at = re.search(r"started at (\d+):(\d\d\.\d\d)", started)
    start = int(at[1]) * 60 + float(at[2]) if at else _stamp_s(started)
    minutes, seconds = summary_start.split(":")
    assert start == pytest.approx(int(minutes) * 60 + float(seconds), abs=0.051)


def test_rep_event_stamp_is_not_before_its_rep() -> None:
    from tracker.analysis.events import RepMetrics

    m = RepMetrics(1, 1, "deadlift", 12.0, 14.5, 60.0, None, None, None, None, None, 1.0, 1.5, 90.0)
    line = EventLines(10.0).line(RepCompleted(15.0, m))
    assert line == "0:05.00  set 1 rep 1 (0:02.00-0:04.50): 2.50 s, depth 60 deg"
