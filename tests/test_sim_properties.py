"""Invariants of simulated sessions over random configurations (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.sim import SessionConfig, SetSpec, simulate_session
from tracker.units import EXERCISES, G_MPS2


@st.composite
def configs(draw: st.DrawFn) -> SessionConfig:
    sets = []
    for _ in range(draw(st.integers(1, 2))):
        ex = draw(st.sampled_from(EXERCISES))
        reps = draw(st.integers(1, 5))
        kinds = ["flexion", "overextension", "creep", "borderline"]
        if ex == "squat":
            kinds.append("butt_wink")
        chosen = draw(st.lists(st.sampled_from(kinds), max_size=2, unique=True))
        sets.append(SetSpec(ex, reps, {k: None for k in chosen}))
    return SessionConfig(
        seed=draw(st.integers(0, 2**31)),
        sets=tuple(sets),
        rate_hz=draw(st.sampled_from([26.0, 52.0, 104.0, 208.0])),
        setup=draw(st.sampled_from(["dual", "lumbar", "sacrum"])),
        tier=draw(st.sampled_from(["easy", "medium", "hard"])),
        standing_s=draw(st.floats(1.0, 3.0)),
        rest_s=(5.0, 15.0),
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_session_invariants(cfg: SessionConfig) -> None:
    res = simulate_session(cfg)
    t = res.truth
    assert [s.reps for s in t.sets] == [s.reps for s in cfg.sets]
    for a, b in zip(t.reps, t.reps[1:], strict=False):
        assert a.end_s <= b.start_s
    for r in t.reps:
        st_ = t.sets[r.set - 1]
        assert st_.start_s <= r.start_s < r.end_s <= st_.end_s
        assert r.flexion_under_load == (r.lumbar_flexion_deg > 36.0)
        assert r.overextension == (r.lumbar_extension_deg > 10.0)
        if {"flexion", "butt_wink"} & set(r.faults):
            assert r.flexion_under_load
        if "overextension" in r.faults:
            assert r.overextension
        if not r.borderline and not ({"flexion", "butt_wink", "overextension"} & set(r.faults)):
            assert not r.flexion_under_load and not r.overextension
    for e in t.events:
        assert all(e.end_s <= r.start_s + 1e-9 or e.start_s >= r.end_s - 1e-9 for r in t.reps)
    for p, s in res.recording.sensors.items():
        assert p in cfg.placements
        assert np.all(np.diff(s.time_s) > 0)
        assert np.all(np.isfinite(s.acc_mps2)) and np.all(np.isfinite(s.gyro_rad_s))
        first = s.time_s < s.time_s[0] + 0.5
        assert abs(np.linalg.norm(s.acc_mps2[first], axis=1).mean() - G_MPS2) < 0.6
    assert set(res.recording.sensors) == set(cfg.placements)
