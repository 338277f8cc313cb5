"""The set classifier: exercise and rest position decided together, with evidence."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tracker.analysis import exercises as ex
from tracker.analysis.exercises import REST_AT_BOTTOM, SetFeatures, classify, named
from tracker.analysis.segmentation import RepSegmenter, Turn
from tracker.analysis.settings import AnalysisSettings, SegmentationSettings
from tracker.analysis.turning import TurningPoint
from tracker.app.offline import analyse_recording
from tracker.sim import SessionConfig, SetSpec, simulate_session
from tracker.units import EXERCISES

#: Hand-made features of one set of each kind, each clear of every limit.
HINGE = SetFeatures(
    median_angle_deg=25.0,
    excursion_deg=60.0,
    hip_travel_m=0.05,
    descent_drop_m=0.0,
    mean_rate_deg_s=35.0,
    bottom_pause_s=0.2,
    top_pause_s=1.0,
    trunk_pause_s=1.0,
    set_up_hold=False,
    rep_s=4.0,
    trunk_sensor=False,
)
SQUAT = dataclasses.replace(
    HINGE, excursion_deg=35.0, hip_travel_m=0.40, bottom_pause_s=0.0, top_pause_s=1.0
)
DEADLIFT = dataclasses.replace(
    HINGE, excursion_deg=55.0, hip_travel_m=0.25, bottom_pause_s=1.5, top_pause_s=0.5
)
SWING = dataclasses.replace(
    HINGE, mean_rate_deg_s=100.0, bottom_pause_s=0.0, top_pause_s=0.1, trunk_pause_s=0.1
)

#: Pauses both at the bottom and, not over twice as long, standing; hips level.
RESTS_BOTH = dataclasses.replace(HINGE, hip_travel_m=0.10, bottom_pause_s=0.6, top_pause_s=1.0)


def test_the_rest_position_follows_the_exercise():
    for exercise in EXERCISES:
        assert named(exercise).rest_is_max == (exercise in {"deadlift", "hip_thrust"})
    for f in (HINGE, SQUAT, DEADLIFT, SWING):
        d = classify(f)
        assert d.rest_is_max == (d.exercise in REST_AT_BOTTOM)


@pytest.mark.parametrize(
    ("features", "exercise"),
    [
        (HINGE, "romanian_deadlift"),
        (SQUAT, "squat"),
        (DEADLIFT, "deadlift"),
        (SWING, "kettlebell_swing"),
        (dataclasses.replace(HINGE, median_angle_deg=-60.0), "hip_thrust"),
        (dataclasses.replace(HINGE, rep_s=2.0), "cable_pull_through"),
        (dataclasses.replace(HINGE, excursion_deg=40.0), "wall_hip_hinge"),
    ],
)
def test_each_kind_of_set_is_recognised_with_its_evidence(features, exercise):
    d = classify(features)
    assert d.exercise == exercise
    # The decision says why, one row per feature that weighed in.
    assert d.evidence and all(e.feature and e.verdict for e in d.evidence)
    assert d.explain().count(";") == len(d.evidence) - 1


# Each row: a set, the feature moved across its limit, and the verdict before/after.
FLIPS = [
    (HINGE, "median_angle_deg", ex.LYING_BACK_DEG + 1, ex.LYING_BACK_DEG - 1, "hip_thrust"),
    (HINGE, "hip_travel_m", 0.14, 0.30, "squat"),
    (RESTS_BOTH, "descent_drop_m", 0.09, 0.20, "deadlift"),
    (dataclasses.replace(RESTS_BOTH, hip_travel_m=0.4), "excursion_deg", 40.0, 70.0, "deadlift"),
    (DEADLIFT, "bottom_pause_s", 1.5, 0.0, "squat"),  # no rest at the bottom: a squat
    (DEADLIFT, "hip_travel_m", 0.25, 0.14, "romanian_deadlift"),  # knees straight, no floor
    (HINGE, "mean_rate_deg_s", 35.0, 100.0, None),
    (SWING, "trunk_pause_s", 0.1, 0.6, "romanian_deadlift"),
    (HINGE, "set_up_hold", False, True, "deadlift"),
    (HINGE, "rep_s", 3.5, 2.0, "cable_pull_through"),
    (HINGE, "excursion_deg", 60.0, 40.0, "wall_hip_hinge"),
]


@pytest.mark.parametrize(("base", "name", "before", "after", "verdict"), FLIPS)
def test_each_evidence_row_changes_the_verdict_it_claims(base, name, before, after, verdict):
    if name == "mean_rate_deg_s":
        # Fast alone is not a swing: the lifter pauses standing between fast hinges.
        base = dataclasses.replace(base, trunk_pause_s=0.1, top_pause_s=0.1)
        verdict = "kettlebell_swing"
    if name == "bottom_pause_s":
        base = dataclasses.replace(base, excursion_deg=60.0)
    if name == "hip_travel_m" and base is DEADLIFT:
        base = dataclasses.replace(base, bottom_pause_s=0.2, top_pause_s=1.0, excursion_deg=60.0)
    a = classify(dataclasses.replace(base, **{name: before}))
    b = classify(dataclasses.replace(base, **{name: after}))
    assert a.exercise != verdict
    assert b.exercise == verdict


def test_a_pause_counts_as_a_rest_only_while_the_hips_do_not_reverse():
    period_s = 0.04
    seg = RepSegmenter(SegmentationSettings(), period_s)
    n = 50
    still = np.zeros(n)
    # Going down at 0.5 m/s, then up at 0.5 m/s, over the 0.6 s the trunk holds still.
    reversing = np.zeros(n)
    reversing[20:35] = 1.0 / (15 * period_s)
    bottom = Turn(TurningPoint(25, 40.0, True), arrive=20, leave=35)
    seg._vert = still
    assert seg._still_pause_s(bottom) == pytest.approx(15 * period_s)
    seg._vert = reversing
    assert seg._still_pause_s(bottom) == 0.0
    # Upward acceleration at a top is not turning round from it (that is downward).
    top = Turn(TurningPoint(25, 0.0, False), arrive=20, leave=35)
    assert seg._still_pause_s(top) == pytest.approx(15 * period_s)


def _set_reps(exercise: str, seed: int, setup: str = "dual"):
    spec = SetSpec(exercise, 6)
    sim = simulate_session(
        SessionConfig(seed=seed, sets=(spec,), rate_hz=100.0, setup=setup, tier="easy")
    )
    truth = json.loads(sim.truth.to_json())
    result = analyse_recording(sim.recording, AnalysisSettings())
    return result, truth


@pytest.mark.parametrize("seed", [41, 42])
def test_a_squat_set_is_counted_top_bottom_top_and_labelled_squat(seed):
    result, truth = _set_reps("squat", seed)
    assert [s.exercise for s in result.sets] == ["squat"]
    assert len(result.reps) == len(truth["reps"]) == 6
    h = result.traces.hinge_deg
    t = result.traces.time_s
    for rep, tr in zip(result.reps, truth["reps"], strict=True):
        assert rep.start_s == pytest.approx(tr["start_s"], abs=0.3)
        assert rep.end_s == pytest.approx(tr["end_s"], abs=0.3)
        # Starts standing: the angle at the start is far below the rep's depth.
        assert h[np.searchsorted(t, rep.start_s)] < rep.hinge_depth_deg - 20.0
    assert result.sets[0].exercise_evidence


@pytest.mark.parametrize("seed", [43, 44])
def test_a_deadlift_from_the_floor_still_rests_at_the_bottom(seed):
    result, truth = _set_reps("deadlift", seed)
    assert [s.exercise for s in result.sets] == ["deadlift"]
    assert len(result.reps) == len(truth["reps"]) == 6
    h = result.traces.hinge_deg
    t = result.traces.time_s
    for rep, tr in zip(result.reps, truth["reps"], strict=True):
        assert rep.start_s == pytest.approx(tr["start_s"], abs=0.3)
        assert rep.end_s == pytest.approx(tr["end_s"], abs=0.3)
        # Starts at the bottom, bent over the bar.
        assert h[np.searchsorted(t, rep.start_s)] > 25.0
