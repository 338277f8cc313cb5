"""Recordings that do not start with standing still: the standing reference comes from
any still, upright moment the movement confirms (docs/analysis.md, stage 3). Each case
is a clean simulated session edited as real recordings are, and must give the clean
version's reps (exact count, boundaries within 0.2 s), say what it did, and give the
same reps streamed in live-sized and random blocks as in one batch."""

import numpy as np
import pytest
from recording_testdata import random_blocks

from tracker.analysis.events import Notice, RepCompleted
from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording
from tracker.recording.model import Recording
from tracker.sim import SessionConfig, SetSpec, simulate_session
from tracker.sim.edits import crop

#: Boundaries of an edited recording's reps within this of the clean version's (s).
BOUNDARY_TOL_S = 0.2


def _session(exercise: str, setup: str, **kw):
    cfg = SessionConfig(
        seed=7,
        sets=(SetSpec(exercise, 6), SetSpec(exercise, 6)),
        rate_hz=52.0,
        setup=setup,
        tier="easy",
        rest_s=(30.0, 40.0),
        **kw,
    )
    return simulate_session(cfg)


def _stream_equals_batch(rec: Recording, batch) -> None:
    from tracker.analysis.pipeline import Pipeline

    live = analyse_recording(rec, AnalysisSettings(), block_s=0.05)
    assert live.reps == batch.reps
    pipe = Pipeline(rec.placements, AnalysisSettings())
    for b in random_blocks(rec, seed=11):
        pipe.feed(b)
    pipe.finish()
    assert pipe.all_reps == batch.reps
    # The notices too, each at the same time (the sensors' blocks come in another order).
    assert sorted(live.notices) == sorted(batch.notices)
    assert sorted(pipe.notes, key=_when) == sorted(list(batch.notes), key=_when)


def _when(n) -> tuple[float, str]:
    return (n.time_s, n.message)


def _assert_same_reps(got, expected) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert abs(a.start_s - b.start_s) <= BOUNDARY_TOL_S
        assert abs(a.end_s - b.end_s) <= BOUNDARY_TOL_S


CASES = [
    ("romanian_deadlift", "dual"),
    ("kettlebell_swing", "dual"),
    ("squat", "lumbar"),
    ("deadlift", "sacrum"),
]


@pytest.mark.parametrize(("exercise", "setup"), CASES)
def test_recording_started_mid_set(exercise, setup):
    res = _session(exercise, setup)
    clean = analyse_recording(res.recording, AnalysisSettings())
    r2 = res.truth.reps[1]
    t0 = 0.5 * (r2.start_s + r2.end_s)  # halfway through the second rep
    rec = crop(res.recording, t0)
    got = analyse_recording(rec, AnalysisSettings())
    _assert_same_reps(got.reps, [r for r in clean.reps if r.start_s >= t0])
    _stream_equals_batch(rec, got)


@pytest.mark.parametrize(("exercise", "setup"), CASES)
def test_only_a_fifth_of_a_second_of_standing(exercise, setup):
    res = _session(exercise, setup)
    clean = analyse_recording(res.recording, AnalysisSettings())
    # The lifter stands still from the start until the first movement (the next event).
    assert res.truth.events[0].kind == "stand"
    rec = crop(res.recording, res.truth.events[1].start_s - 0.2)
    got = analyse_recording(rec, AnalysisSettings())
    _assert_same_reps(got.reps, clean.reps)
    assert any("standing reference taken at" in n for n in got.notices)
    _stream_equals_batch(rec, got)


def test_recording_started_walking():
    # A walk of 10 s, then barely standing before the first set.
    walk = _session("squat", "dual", lead_in_walk_s=10.0, standing_s=0.2)
    ref = _session("squat", "dual", lead_in_walk_s=10.0, standing_s=3.0)
    got = analyse_recording(walk.recording, AnalysisSettings())
    clean = analyse_recording(ref.recording, AnalysisSettings())
    # The same session, 2.8 s earlier from the first set on.
    shift = ref.truth.reps[0].start_s - walk.truth.reps[0].start_s
    assert len(got.reps) == len(clean.reps) == len(ref.truth.reps)
    for a, b in zip(got.reps, clean.reps, strict=True):
        assert abs(a.start_s + shift - b.start_s) <= BOUNDARY_TOL_S
        assert abs(a.end_s + shift - b.end_s) <= BOUNDARY_TOL_S
    _stream_equals_batch(walk.recording, got)


def test_no_still_moment_before_the_last_set():
    # Walking only between sets, and the recording starts in the first set: the first
    # still, upright moment is after the first rep of the last set or later.
    res = _session("squat", "lumbar", rest_activities=("walk",))
    clean = analyse_recording(res.recording, AnalysisSettings())
    t0 = res.truth.reps[1].start_s
    rec = crop(res.recording, t0)
    got = analyse_recording(rec, AnalysisSettings())
    _assert_same_reps(got.reps, [r for r in clean.reps if r.start_s >= t0])
    assert any("standing reference taken at" in n for n in got.notices)
    _stream_equals_batch(rec, got)


@pytest.mark.parametrize(
    ("exercise", "setup"), [("squat", "lumbar"), ("romanian_deadlift", "dual")]
)
def test_sensor_reclipped_between_sets(exercise, setup):
    from scipy.spatial.transform import Rotation

    from tracker.sim.edits import reclip

    res = _session(exercise, setup)
    clean = analyse_recording(res.recording, AnalysisSettings())
    set1_end = max(r.end_s for r in res.truth.reps if r.set == 1)
    axis = np.array([0.3, 0.9, 0.3]) / np.linalg.norm([0.3, 0.9, 0.3])
    turn = Rotation.from_rotvec(np.radians(35.0) * axis).as_matrix()
    rec = reclip(res.recording, "lumbar", set1_end + 6.0, turn)
    got = analyse_recording(rec, AnalysisSettings())
    _assert_same_reps(got.reps, clean.reps)
    for a, b in zip(got.reps, clean.reps, strict=True):
        assert a.hinge_depth_deg == pytest.approx(b.hinge_depth_deg, abs=3.0)
    assert any("re-clipped" in n for n in got.notices)
    assert not any("re-clipped" in n for n in clean.notices)
    # The notice goes out as an event when the sensor is re-calibrated: fed as a live
    # session is, it comes before the next set's reps, stamped with the still moment
    # where the re-clip was found.
    events = analyse_recording(rec, AnalysisSettings(), block_s=0.05).events
    [note] = [e for e in events if isinstance(e, Notice) and "re-clipped" in e.message]
    set2_start = min(r.start_s for r in res.truth.reps if r.set == 2)
    assert set1_end + 6.0 < note.time_s < set2_start
    later = [e for e in events[events.index(note) :] if isinstance(e, RepCompleted)]
    assert later and later[0].metrics.set == 2
    _stream_equals_batch(rec, got)


def test_a_walk_without_a_hinge_has_no_reps_and_no_error():
    res = _session("squat", "dual", lead_in_walk_s=30.0)
    walk = res.truth.events[0]
    assert walk.kind == "walk"
    rec = crop(res.recording, walk.start_s, walk.end_s)
    got = analyse_recording(rec, AnalysisSettings())
    assert got.reps == []
    _stream_equals_batch(rec, got)


def _still_like(s):
    """The same timestamps, the sensor lying still on a table."""
    from tracker.samples import SensorSamples

    acc = np.zeros((len(s), 3))
    acc[:, 2] = 9.81
    return SensorSamples(s.placement, s.time_s, acc, np.zeros((len(s), 3)))


def test_a_sensor_that_never_moved_leaves_the_other_one_analysed():
    import dataclasses

    res = _session("romanian_deadlift", "dual")
    rec = res.recording
    off = dataclasses.replace(
        rec, sensors={**rec.sensors, "sacrum": _still_like(rec.sensors["sacrum"])}
    )
    got = analyse_recording(off, AnalysisSettings())
    alone = analyse_recording(
        dataclasses.replace(rec, sensors={"lumbar": rec.sensors["lumbar"]}), AnalysisSettings()
    )
    assert got.reps == alone.reps and len(got.reps) == len(res.truth.reps)
    assert any("never moved" in n and "other sensor alone" in n for n in got.notices)


def test_no_motion_at_all_is_a_clear_error():
    from tracker.errors import AnalysisError

    rec = _session("squat", "lumbar").recording
    still = Recording({"lumbar": _still_like(rec.sensors["lumbar"])})
    with pytest.raises(AnalysisError, match="never moved"):
        analyse_recording(still, AnalysisSettings())
