"""Simulator truth: rep counts, tempo, boundaries and fault flags for every exercise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracker.errors import InputError
from tracker.sim import SessionConfig, SetSpec, simulate_session
from tracker.sim.config import parse_fault, with_faults
from tracker.sim.exercises import STYLES
from tracker.units import EXERCISES, LUMBAR, SACRUM

#: Rep duration (leaving rest -> back at rest), seconds, per exercise (docs/truth-format.md).
REP_DURATION_S = {
    "kettlebell_swing": (0.95, 1.45),
    "deadlift": (2.0, 5.0),
    "romanian_deadlift": (2.5, 6.0),
    "good_morning": (2.6, 6.0),
    "cable_pull_through": (1.5, 3.6),
    "hip_thrust": (2.0, 4.8),
    "squat": (1.9, 5.0),
    "wall_hip_hinge": (2.0, 5.5),
}


@pytest.fixture(scope="module", params=EXERCISES)
def session(request: pytest.FixtureRequest) -> object:
    ex = request.param
    faults: dict[str, tuple[int, ...] | None] = {"flexion": (2,), "overextension": (4,)}
    if ex == "squat":
        faults = {"butt_wink": (2, 5), "overextension": (4,)}
    cfg = SessionConfig(
        seed=EXERCISES.index(ex) + 100,
        setup="dual",
        sets=(SetSpec(ex, 6, faults), SetSpec(ex, 5, {"creep": None, "borderline": (3,)})),
        rate_hz={LUMBAR: 104.0, SACRUM: 52.0},
        rest_s=(20.0, 30.0),
        tier="hard",
    )
    return simulate_session(cfg)


def test_rep_counts_and_boundaries(session: object) -> None:
    t = session.truth
    assert [s.reps for s in t.sets] == [6, 5]
    assert len(t.reps) == 11
    for st in t.sets:
        reps = [r for r in t.reps if r.set == st.set]
        assert [r.rep for r in reps] == list(range(1, st.reps + 1))
        assert st.start_s == reps[0].start_s and st.end_s == reps[-1].end_s
    for a, b in zip(t.reps, t.reps[1:], strict=False):
        assert a.start_s < a.end_s <= b.start_s
    for r in t.reps:
        st = t.sets[r.set - 1]
        assert st.start_s <= r.start_s < r.end_s <= st.end_s
        assert r.start_s <= r.peak_hinge_s <= r.end_s


def test_non_rep_events_never_overlap_reps(session: object) -> None:
    t = session.truth
    kinds = {e.kind for e in t.events}
    assert "stand" in kinds
    assert kinds & {"walk", "shift"}
    for e in t.events:
        assert e.start_s < e.end_s
        for r in t.reps:
            assert e.end_s <= r.start_s + 1e-9 or e.start_s >= r.end_s - 1e-9, (e, r)


def test_tempo_matches_the_documented_range(session: object) -> None:
    t = session.truth
    ex = t.reps[0].exercise
    lo, hi = REP_DURATION_S[ex]
    durations = np.array([r.duration_s for r in t.reps])
    assert durations.min() >= lo and durations.max() <= hi, (ex, durations)
    if ex == "kettlebell_swing":
        starts = np.array([r.start_s for r in t.reps if r.set == 1])
        assert np.all((np.diff(starts) >= 1.0) & (np.diff(starts) <= 1.6))


def test_fault_labels_agree_with_the_default_limits(session: object) -> None:
    for r in session.truth.reps:
        hard_flex = {"flexion", "butt_wink"} & set(r.faults)
        if hard_flex:
            assert r.flexion_under_load and r.lumbar_flexion_deg >= 38.0, r
        elif "borderline_flexion" not in r.faults:
            assert not r.flexion_under_load and r.lumbar_flexion_deg <= 31.0, r
        if "overextension" in r.faults:
            assert r.overextension and r.lumbar_extension_deg >= 12.0, r
        elif "borderline_extension" not in r.faults:
            assert not r.overextension and r.lumbar_extension_deg <= 6.5, r
        assert r.borderline == any(f.startswith("borderline") for f in r.faults)
        if r.borderline:
            v = r.lumbar_flexion_deg if "borderline_flexion" in r.faults else r.lumbar_extension_deg
            limit = 36.0 if "borderline_flexion" in r.faults else 10.0
            assert abs(v - limit) < 3.0


def test_creep_raises_peak_flexion_over_the_set(session: object) -> None:
    st = session.truth.sets[1]
    peaks = [r.lumbar_flexion_deg for r in session.truth.reps if r.set == 2 and not r.borderline]
    assert st.creep_deg >= 12.0
    assert peaks[-1] - peaks[0] >= 8.0
    assert st.flexion_rise_deg >= 8.0 and st.flexion_creep
    assert not session.truth.sets[0].flexion_creep or session.truth.sets[0].flexion_rise_deg >= 8


def test_depth_and_share_are_physiological(session: object) -> None:
    ex = session.truth.reps[0].exercise
    style = STYLES[ex]
    for r in session.truth.reps:
        assert style.theta_bottom_deg[0] - 15 <= r.hinge_depth_deg <= style.theta_bottom_deg[1] + 6
        assert 0.0 < r.lumbar_share < 1.0
        assert r.peak_hip_extension_velocity_deg_s > 10.0
    if ex == "hip_thrust":
        # Lying back on the bench: trunk strongly negative (docs/frames.md).
        assert all(r.pelvis_tilt_min_deg < -80 for r in session.truth.reps)
        assert all(-62 < r.hinge_depth_deg < -35 for r in session.truth.reps)
    if ex == "squat":
        assert all(25 <= r.hinge_depth_deg <= 46 for r in session.truth.reps)


def test_truth_json_is_complete(session: object) -> None:
    d = json.loads(session.truth.to_json())
    assert d["format"] == "tracker-sim-truth" and d["version"] == 1
    assert set(d["setup"]) == {LUMBAR, SACRUM}
    for p in (LUMBAR, SACRUM):
        m = np.array(d["setup"][p]["mounting_body_to_sensor"])
        assert np.allclose(m @ m.T, np.eye(3), atol=1e-5)
    assert d["timeline_placement"] == LUMBAR
    assert d["limits"] == {
        "flexion_limit_deg": 36.0,
        "extension_limit_deg": 10.0,
        "creep_limit_deg": 8.0,
    }
    assert len(d["reps"]) == 11 and len(d["sets"]) == 2
    assert {"rep", "start_s", "end_s", "lumbar_flexion_deg", "faults"} <= set(d["reps"][0])


def test_truth_times_are_on_the_lumbar_clock(session: object) -> None:
    t = session.truth
    lum = session.recording.sensors[LUMBAR]
    first = t.setup[LUMBAR]["clock"]["first_sample_s"]
    assert 0.0 <= first <= 1.0  # sensors start up to a second late (hard tier)
    assert abs(lum.time_s[0] - (t.start_s + first)) < 0.005
    assert t.reps[-1].end_s < lum.time_s[-1]


def test_parse_fault() -> None:
    assert parse_fault("flexion:2,5") == ("flexion", (2, 5), None)
    assert parse_fault("overextension") == ("overextension", None, None)
    assert parse_fault("creep:14") == ("creep", None, 14.0)
    assert parse_fault("butt-wink:all") == ("butt_wink", (), None)
    spec = with_faults("squat", 4, ["butt_wink:all", "flexion:2,9"])
    assert spec.faults == {"butt_wink": (1, 2, 3, 4), "flexion": (2,)}
    assert with_faults("deadlift", 4, ["butt_wink"]).faults == {}
    for bad in ("rounding", "flexion:x", "creep:lots"):
        with pytest.raises(InputError):
            parse_fault(bad)


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"seed": -1}, "seed"),
        ({"setup": "triple"}, "setup"),
        ({"tier": "brutal"}, "tier"),
        ({"rate_hz": 5.0}, "rate"),
        ({"rate_hz": {LUMBAR: 100.0}}, "sacrum"),
        ({"sets": ()}, "set"),
        ({"sets": (SetSpec("curl", 3),)}, "exercise"),
        ({"sets": (SetSpec("deadlift", 3, {"flexion": (4,)}),)}, "rep 4"),
        ({"sets": (SetSpec("deadlift", 3, {"butt_wink": None}),)}, "squat"),
        ({"mounting": {LUMBAR: np.diag([1.0, 1.0, -1.0])}}, "rotation"),
    ],
)
def test_bad_config_is_an_input_error(kw: dict, word: str) -> None:
    base = {"seed": 1, "sets": (SetSpec("deadlift", 3),), "rate_hz": 100.0}
    base.update(kw)
    with pytest.raises(InputError, match=word):
        simulate_session(SessionConfig(**base))
