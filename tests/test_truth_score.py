"""The scorer for recordings with truth (bench/truth_score.py) on hand-made cases."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import truth_score as ts


def _truth(sensors=("lumbar", "sacrum")):
    reps = [
        {
            "start_s": 10.0 + 2 * k,
            "end_s": 11.5 + 2 * k,
            "peak_lumbar_flexion_deg": 25.0 if k == 1 else 10.0,
            "peak_lumbar_extension_deg": 2.0,
        }
        for k in range(3)
    ]
    return {
        "sensors": list(sensors),
        "tier": "easy",
        "sets": [{"exercise": "squat", "start_s": 10.0, "end_s": 15.5, "reps": reps}],
        "events": [{"type": "walk", "start_s": 20.0, "end_s": 30.0}],
    }


def _rep(start_s, end_s, flexion_deg=10.0, flag=False, exercise="squat", set_no=1):
    return ts.Reported(set_no, exercise, start_s, end_s, flexion_deg, 2.0, flag, False)


def test_exact_answer_scores_full_marks():
    got = [_rep(10, 11.5), _rep(12, 13.5, 25.0, True), _rep(14, 15.5)]
    f = ts.evaluate(_truth(), got, 20.0, 15.0).figures()
    assert f["rep_f1"] == pytest.approx(100.0)
    assert f["exact_pct"] == f["set_count_exact_pct"] == f["exercise_pct"] == 100.0
    assert f["flexion_flag_f1"] == pytest.approx(100.0)
    assert f["flexion_mae_deg"] == 0.0


def test_inverted_reps_pair_with_nothing():
    """Reps that run bottom -> top -> bottom straddle two true reps: IoU under 0.3."""
    got = [_rep(10.75, 12.75), _rep(12.75, 14.75)]
    t = ts.evaluate(_truth(), got, 20.0, 15.0)
    assert t.reps_paired == 0
    assert t.figures()["rep_f1"] == 0.0
    assert t.false_reps == {"within_set": 2}


def test_missed_flag_extra_rep_and_wrong_label():
    got = [_rep(10, 11.5), _rep(12, 13.5, 15.0), _rep(14, 15.5), _rep(21, 22, exercise="x")]
    t = ts.evaluate(_truth(), got, 20.0, 15.0)
    f = t.figures()
    assert t.reps_paired == 3 and t.count_exact == 0 and t.count_within_1 == 1
    assert f["flexion_flag_r"] == 0.0
    assert t.false_reps == {"walk": 1}


def test_failed_recording_misses_every_rep_and_single_setups_have_no_flags():
    t = ts.evaluate(_truth(("sacrum",)), None, 20.0, 15.0)
    f = t.figures()
    assert t.failed == 1 and f["rep_r"] == 0.0 and "flexion_flag_f1" not in f
