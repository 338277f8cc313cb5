"""Daily-life sessions of the simulator: the physics of each activity, the truth, the
belt pouch, and that the analysis takes them without refusing."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording
from tracker.errors import InputError
from tracker.sim import Imperfections, SessionConfig, SetSpec, simulate_session
from tracker.sim.config import BOUT_KINDS, Bout
from tracker.sim.gait import GAIT_STYLES, locomotion
from tracker.sim.tracks import Timeline
from tracker.units import DEG_PER_RAD, G_MPS2, SACRUM


def _daily(bouts: tuple[Bout, ...], **kw) -> SessionConfig:
    opts = {"seed": 3, "rate_hz": 100.0, "setup": "sacrum", "tier": "easy"} | kw
    return SessionConfig(sets=(), daily=bouts, **opts)


def _world_up_force(res, placement: str = SACRUM) -> tuple[np.ndarray, np.ndarray]:
    """Timeline times and the sensor's ideal specific force along world up (m/s^2)."""
    sig = res.signals[placement]
    f = np.einsum("nij,nj->ni", sig.rotation, sig.acc_mps2)
    return sig.timeline_s, f[:, 2]


def _during(res, kind: str, t: np.ndarray, margin_s: float = 1.0) -> np.ndarray:
    e = next(e for e in res.truth.events if e.kind == kind)
    return (t >= e.start_s + margin_s) & (t < e.end_s - margin_s)


@pytest.fixture(scope="module")
def clean_day():
    bouts = (
        Bout("walk_slow", 12.0),
        Bout("walk_brisk", 12.0),
        Bout("stairs_up", 12),
        Bout("stairs_down", 12),
        Bout("jog", 12.0),
        Bout("jog_in_place", 10.0),
        Bout("sit", 10.0),
        Bout("pick_up"),
    )
    return simulate_session(_daily(bouts, imperfections=Imperfections.none()))


def test_every_activity_is_in_the_truth_and_nothing_is_a_rep(clean_day):
    kinds = {e.kind for e in clean_day.truth.events}
    expected = set(GAIT_STYLES) | {"stand_to_sit", "sitting", "sit_to_stand", "pick_up", "stand"}
    assert expected <= kinds
    assert clean_day.truth.sets == [] and clean_day.truth.reps == []
    assert clean_day.truth.config["daily"][0] == ["walk_slow", 12.0]


def test_jogging_lands_with_2_to_3_g_and_flies_in_between(clean_day):
    t, f = _world_up_force(clean_day)
    for kind in ("jog", "jog_in_place"):
        m = _during(clean_day, kind, t)
        peak = np.percentile(f[m], 99.5) / G_MPS2
        assert 1.8 <= peak <= 3.4, (kind, peak)
        assert np.percentile(f[m], 2) / G_MPS2 < 0.25  # flight: close to free fall


def test_walking_bounces_at_its_cadence_with_heel_strikes(clean_day):
    t, f = _world_up_force(clean_day)
    for kind, (lo, hi) in (("walk_slow", (1.4, 1.7)), ("walk_brisk", (1.9, 2.2))):
        m = _during(clean_day, kind, t)
        x = f[m] - f[m].mean()
        spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        freq = np.fft.rfftfreq(len(x), 1.0 / 100.0)
        band = (freq > 1.0) & (freq < 4.0)
        step_hz = freq[band][np.argmax(spec[band])]
        assert lo - 0.1 <= step_hz <= hi + 0.1, (kind, step_hz)
        # Heel strikes: peaks sharper than a smooth bounce's (a sine's are sqrt(2) SD).
        assert np.max(x) > 1.6 * np.std(x)


def test_stairs_rise_one_step_per_step_and_stay_up():
    rng = np.random.default_rng(1)
    tl = Timeline()
    tl.wait(1.0)
    ev = locomotion(tl, rng, "stairs_up", steps=12)
    tl.wait(2.0)
    locomotion(tl, rng, "walk_slow", duration_s=5.0)
    tl.wait(1.0)
    t = np.arange(0.0, tl.now_s, 0.001)
    hz = tl.render(t, 0.03)["hz"]
    after_flight = np.searchsorted(t, ev.end_s + 1.0)
    rise = hz[after_flight] / 12
    assert 0.15 <= rise <= 0.19
    # Later activities move relative to the upper floor.
    assert abs(hz[-1] - hz[after_flight]) < 0.01
    # The rise is smooth: no jerk worth a heel strike from the floor itself.
    acc = np.gradient(np.gradient(hz, t), t)
    assert np.max(np.abs(acc)) < 3.0 * G_MPS2


def test_stairs_up_lean_forward_more_than_level_walking(clean_day):
    theta = clean_day.channels["theta_p"] * DEG_PER_RAD
    t = clean_day.grid_timeline_s

    def mean_tilt(kind: str) -> float:
        return float(np.mean(theta[_during(clean_day, kind, t)]))

    assert mean_tilt("stairs_up") > mean_tilt("walk_slow") + 3.0


def test_a_belt_pouch_rocks_the_phone_once_per_stride():
    bouts = (Bout("walk_brisk", 15.0),)
    firm = simulate_session(_daily(bouts, imperfections=Imperfections.none()))
    loose = simulate_session(_daily(bouts, imperfections=Imperfections.none(), loose_mounting=True))
    assert "pouch" in loose.truth.setup[SACRUM] and "pouch" not in firm.truth.setup[SACRUM]

    def pitch_range_deg(res) -> float:
        sig = res.signals[SACRUM]
        m = _during(res, "walk_brisk", sig.timeline_s, 2.0)
        # The sensor's own forward axis against world up (mounting taken out).
        fwd = np.einsum("nij,j->ni", sig.rotation[m], sig.mounting @ np.array([1.0, 0, 0]))
        return float(np.ptp(np.degrees(np.arcsin(np.clip(fwd[:, 2], -1, 1)))))

    assert pitch_range_deg(loose) > pitch_range_deg(firm) + 5.0
    # The truth's inclination is the pelvis', not the pouch's.
    m = _during(loose, "walk_brisk", loose.signals[SACRUM].timeline_s, 2.0)
    assert np.ptp(loose.signals[SACRUM].inclination_deg[m]) < 12.0


def test_daily_sessions_are_deterministic():
    cfg = _daily((Bout("jog", 8.0), Bout("stairs_down", 6)), loose_mounting=True)
    a, b = simulate_session(cfg), simulate_session(cfg)
    assert a.recording.sensors[SACRUM].equals(b.recording.sensors[SACRUM])
    assert a.truth.to_json() == b.truth.to_json()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"daily": (Bout("swim", 10.0),)}, "unknown activity 'swim'"),
        ({"daily": (Bout("stairs_up", 2.5),)}, "whole steps"),
        ({"daily": (Bout("walk", 0.5),)}, "use 2-1800 s"),
        ({"daily": (Bout("walk", 5.0),), "sets": (SetSpec("squat", 3),)}, "has no sets"),
        ({"daily": ()}, "at least one set"),
    ],
)
def test_bad_daily_configs_say_what_is_wrong(kw, message):
    cfg = SessionConfig(**({"seed": 1, "sets": (), "rate_hz": 100.0} | kw))
    with pytest.raises(InputError, match=message):
        cfg.validate()


def test_every_bout_kind_simulates():
    bouts = tuple(Bout(k, 6 if k.startswith("stairs") else 4.0) for k in BOUT_KINDS)
    res = simulate_session(_daily(bouts, setup="dual", rate_hz=52.0))
    assert len(res.recording.sensors) == 2


@pytest.mark.parametrize("setup", ["dual", "lumbar", "sacrum"])
def test_a_day_without_lifting_is_analysed_not_refused(setup):
    bouts = (Bout("walk", 20.0), Bout("stairs_up", 10), Bout("walk_brisk", 15.0), Bout("sit", 8))
    res = simulate_session(_daily(bouts, setup=setup, tier="medium", standing_s=0.1))
    result = analyse_recording(res.recording, AnalysisSettings())
    assert result.reps == []
