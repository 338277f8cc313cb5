"""Timestamp mending (tracker/recording/timestamps.py): each rule, its bounds, its notes,
and that a recording with injected ties, duplicates and jitter reads and analyses like
the clean one, through the samples CSV and the native format."""

from __future__ import annotations

import datetime
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording
from tracker.errors import InputError
from tracker.recording import framing
from tracker.recording.model import Recording
from tracker.recording.native import _encode_samples, read_native
from tracker.recording.samples_csv import HEADER, read_samples_csv
from tracker.recording.timestamps import (
    MAX_JITTER_BACK_PERIODS,
    MendedTimes,
    mend_notes,
    mend_timestamps,
)
from tracker.samples import SensorSamples
from tracker.sim import SessionConfig, SetSpec, simulate_session


def mend(
    t: list[float] | np.ndarray, values: np.ndarray | None = None, **kw: object
) -> MendedTimes:
    t = np.asarray(t, dtype=np.float64)
    if values is None:
        values = np.arange(len(t), dtype=np.float64)  # every row different
    return mend_timestamps(
        t, (values,), name="lumbar", source="f.csv", where=lambda i: f"line {i + 2}", **kw
    )  # type: ignore[arg-type]


def test_clean_times_are_returned_as_they_are() -> None:
    t = np.array([0.0, 0.01, 0.02])
    m = mend(t)
    assert m.index is None and m.time_s is t and not m.changed
    assert mend_notes({"lumbar": m}) == []


def test_exact_duplicate_rows_are_dropped_wherever_they_repeat() -> None:
    t = [0.0, 0.01, 0.01, 0.02, 0.02, 0.02, 0.03]
    values = np.array([0, 1, 1, 2, 3, 2, 4], dtype=np.float64)  # rows 2 and 5 repeat
    m = mend(t, values)
    assert m.duplicates == 2 and m.ties == 1
    np.testing.assert_array_equal(m.take(values), [0, 1, 2, 3, 4])
    np.testing.assert_allclose(m.time_s, [0.0, 0.01, 0.02, 0.025, 0.03])


def test_ties_are_spread_evenly_up_to_the_next_distinct_time() -> None:
    m = mend([0.0, 0.01, 0.01, 0.01, 0.04, 0.05])
    np.testing.assert_allclose(m.time_s, [0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
    assert (m.ties, m.duplicates, m.reversals) == (2, 0, 0)
    np.testing.assert_array_equal(m.take(np.arange(6)), np.arange(6))  # nothing dropped


def test_a_tie_before_a_gap_is_not_stretched_across_the_gap() -> None:
    m = mend([0.0, 0.01, 0.02, 0.02, 1.0, 1.01])
    np.testing.assert_allclose(m.time_s, [0.0, 0.01, 0.02, 0.03, 1.0, 1.01])


def test_a_tie_at_the_end_is_spread_one_period_apart() -> None:
    m = mend([0.0, 0.01, 0.02, 0.02, 0.02])
    np.testing.assert_allclose(m.time_s, [0.0, 0.01, 0.02, 0.03, 0.04])


def test_samples_sharing_each_notification_time_give_the_true_period() -> None:
    stamps = np.repeat(np.arange(0.0, 1.0, 0.04), 4)  # 4 samples per notification, 100 Hz
    m = mend(stamps)
    np.testing.assert_allclose(m.time_s, np.arange(100) * 0.01, atol=1e-12)
    assert m.ties == 75


def test_a_small_backward_step_is_mended_in_file_order() -> None:
    m = mend([0.0, 0.01, 0.02, 0.0195, 0.04, 0.05])
    np.testing.assert_allclose(m.time_s, [0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
    assert (m.reversals, m.ties) == (1, 0)


@pytest.mark.parametrize("back_periods", [0.5, 1.0, 1.9])
def test_backward_steps_within_the_bound_are_jitter(back_periods: float) -> None:
    t = np.arange(20) * 0.01
    t[10] = t[9] - back_periods * 0.01
    t[11] = t[9] + 0.005  # still behind t[12]: the run ends at 12
    m = mend(t)
    assert m.reversals >= 1 and np.all(np.diff(m.time_s) > 0)


def test_a_backward_jump_beyond_the_bound_is_an_error_naming_both_lines() -> None:
    t = np.arange(20) * 0.01
    t[10] = t[9] - (MAX_JITTER_BACK_PERIODS + 0.1) * 0.01
    with pytest.raises(InputError) as info:
        mend(t)
    assert str(info.value) == (
        "f.csv line 12: lumbar time goes back 0.021 s (2.1 sample periods), to 0.069000 s "
        "after 0.090000 s (line 11); a clock that jumps back or restarts cannot be mended: "
        "split the recording there or fix its times"
    )


def test_a_clock_restart_is_an_error() -> None:
    t = np.concatenate([np.arange(100) * 0.01, np.arange(100) * 0.01])
    with pytest.raises(InputError, match=r"line 102: lumbar time goes back 0\.99 s"):
        mend(t)


def test_one_timestamp_for_every_row_is_an_error() -> None:
    with pytest.raises(InputError, match="the times carry no sample period"):
        mend([5.0, 5.0, 5.0])


def test_sort_puts_rows_in_order_first() -> None:
    m = mend([0.0, 0.02, 0.01, 0.03, 0.5, 0.04], sort=True)
    np.testing.assert_array_equal(m.time_s, [0.0, 0.01, 0.02, 0.03, 0.04, 0.5])
    np.testing.assert_array_equal(m.index, [0, 2, 1, 3, 5, 4])
    assert m.reordered == 2


def test_notes_are_one_line_per_kind_with_the_count_per_sensor() -> None:
    a = mend([0.0, 0.01, 0.01, 0.02, 0.03, 0.0295, 0.05])
    b = mend([0.0, 0.01, 0.01, 0.01, 0.04])
    assert mend_notes({"lumbar": a, "sacrum": b}) == [
        "timestamps: spread 3 samples that shared a timestamp evenly up to the next distinct "
        "time (lumbar 1, sacrum 2)",
        "timestamps: mended 1 backward time step shorter than 2 sample periods (jitter) like "
        "repeated timestamps (lumbar 1)",
    ]


# ------------------------------------------------------------------- injected into a session


@cache
def clean_recording() -> Recording:
    # A session whose reps are all found (9) with no cycle near a decision's edge: the
    # put-down after each set pauses 1.2-1.4 s at the bottom, where the reps do not
    # pause. (With one near the edge, mending a single tie can move it across, and the
    # comparison below would test that edge, not the mending.)
    config = SessionConfig(
        seed=9,
        setup="dual",
        rate_hz=52.0,
        sets=(SetSpec("kettlebell_swing", 5), SetSpec("kettlebell_swing", 4)),
        rest_s=(6.0, 8.0),
        rest_activities=("stand",),
    )
    return simulate_session(config).recording


@cache
def clean_reps() -> list[tuple[float, float]]:
    result = analyse_recording(clean_recording(), AnalysisSettings())
    assert len(result.reps) == 5 + 4
    return [(r.start_s, r.end_s) for r in result.reps]


def csv_text(rec: Recording) -> str:
    """Each sensor's rows in their given order (sensor after sensor), unlike
    `write_samples_csv`, which refuses times that do not increase."""
    lines = [HEADER]
    for p, s in rec.sensors.items():
        for t, a, g in zip(s.time_s, s.acc_mps2, s.gyro_rad_s, strict=True):
            lines.append(f"{float(t)!r},{p}," + ",".join(repr(float(x)) for x in (*a, *g)))
    return "\n".join(lines) + "\n"


def native_bytes(rec: Recording) -> bytes:
    """A native file whose samples records hold the given times as they are."""
    out = bytearray(framing.encode_preamble())
    out += framing.encode_record(framing.HEADER, b'{"devices":{},"notes":{}}')
    for p, s in rec.sensors.items():
        out += framing.encode_record(
            framing.SAMPLES, _encode_samples(p, s.time_s, s.acc_mps2, s.gyro_rad_s)
        )
    out += framing.encode_record(framing.END, b"")
    return bytes(out)


FAULTS = st.lists(
    st.tuples(st.integers(2, 10_000), st.sampled_from(["duplicate", "tie", "jitter"])),
    min_size=1,
    max_size=12,
)


def inject(rec: Recording, faults: list[tuple[int, str]]) -> tuple[Recording, dict[str, int]]:
    """The lumbar sensor with faults at well-separated rows; the counts of each kind."""
    s = rec.sensors["lumbar"]
    t, acc, gyro = s.time_s.copy(), s.acc_mps2, s.gyro_rad_s
    period_s = float(np.median(np.diff(t)))
    rows = sorted({(i % (len(t) // 8)) * 8 for i, _ in faults} - {0})  # 8 rows apart
    # Not next to a packet loss: a tie there says nothing about how long the gap was.
    step = np.diff(t, append=np.inf)
    rows = [i for i in rows if max(step[i - 1], step[i]) < 1.5 * period_s]
    kinds = dict(zip(rows, (k for _, k in faults), strict=False))
    dup = [i for i in rows if kinds[i] == "duplicate"]
    for i in rows:
        if kinds[i] == "tie":
            t[i] = t[i - 1]
        elif kinds[i] == "jitter":
            t[i] = t[i - 1] - 0.4 * period_s
    # A duplicate follows its row.
    order = np.sort(np.concatenate([np.arange(len(t)), dup]).astype(np.int64))
    faulty = SensorSamples("lumbar", t[order], acc[order], gyro[order])
    counts = {k: sum(1 for i in rows if kinds[i] == k) for k in ("duplicate", "tie", "jitter")}
    return Recording(sensors={**rec.sensors, "lumbar": faulty}), counts


def check_mended(back: Recording, counts: dict[str, int]) -> None:
    clean = clean_recording()
    for p in clean.placements:
        a, b = clean.sensors[p], back.sensors[p]
        np.testing.assert_allclose(b.acc_mps2, a.acc_mps2, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.gyro_rad_s, a.gyro_rad_s, rtol=0, atol=1e-12)
        period_s = float(np.median(np.diff(a.time_s)))
        assert np.all(np.diff(b.time_s) > 0)
        assert np.abs(b.time_s - a.time_s).max() <= 1.5 * period_s
    notes = " ".join(back.input_notes)
    for kind, word in (("duplicate", "dropped"), ("tie", "spread"), ("jitter", "backward")):
        assert (word in notes) == (counts[kind] > 0), (kind, notes)
    if counts["duplicate"]:
        assert f"dropped {counts['duplicate']} exact duplicate" in notes


PROPERTY = settings(
    max_examples=10,
    deadline=datetime.timedelta(seconds=20),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(faults=FAULTS)
def test_injected_faults_read_back_as_the_clean_samples_csv(tmp_path: Path, faults) -> None:
    faulty, counts = inject(clean_recording(), faults)
    path = tmp_path / "f.csv"
    path.write_text(csv_text(faulty))
    check_mended(read_samples_csv(path), counts)


@PROPERTY
@given(faults=FAULTS)
def test_injected_faults_read_back_as_the_clean_native_recording(tmp_path: Path, faults) -> None:
    faulty, counts = inject(clean_recording(), faults)
    path = tmp_path / "f.trk"
    path.write_bytes(native_bytes(faulty))
    check_mended(read_native(path), counts)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(faults=FAULTS)
def test_a_mended_recording_gives_the_reps_of_the_clean_one(faults) -> None:
    faulty, _ = inject(clean_recording(), faults)
    lumbar = faulty.sensors["lumbar"]
    m = mend_timestamps(
        lumbar.time_s,
        (lumbar.acc_mps2, lumbar.gyro_rad_s),
        name="lumbar",
        source="test",
        where=str,
    )
    mended = SensorSamples("lumbar", m.time_s, m.take(lumbar.acc_mps2), m.take(lumbar.gyro_rad_s))
    rec = Recording(
        sensors={**faulty.sensors, "lumbar": mended}, input_notes=mend_notes({"lumbar": m})
    )
    result = analyse_recording(rec, AnalysisSettings())
    reps = [(r.start_s, r.end_s) for r in result.reps]
    assert len(reps) == len(clean_reps()) > 0
    np.testing.assert_allclose(reps, clean_reps(), atol=0.1)
    assert result.notices[: len(rec.input_notes)] == rec.input_notes
