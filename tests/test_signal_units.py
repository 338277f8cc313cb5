"""Unit tests of the signal stages: resampling, calibration, alignment, turning points."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from tracker.analysis.turning import TurningPointTracker
from tracker.errors import AnalysisError
from tracker.signal.alignment import LagModel, estimate_lag_s
from tracker.signal.calibration import CalibrationSettings, MountingCalibrator
from tracker.signal.orientation import OrientationTracker
from tracker.signal.resample import UniformResampler
from tracker.units import G_MPS2


def _jittery_stream(n, period_s, rng, loss=0.05):
    t = np.arange(n) * period_s + rng.normal(0, period_s * 0.05, n)
    keep = rng.random(n) > loss
    keep[:2] = True
    t = np.sort(t[keep])
    acc = np.stack([np.sin(t), np.cos(t), t], axis=1)
    return t, acc, acc[:, ::-1].copy()


def _resample_in_blocks(t, acc, gyro, cuts):
    r = UniformResampler(max_gap_s=0.5)
    outs = []
    for a, b in itertools.pairwise(cuts):
        ub = r.push(t[a:b], acc[a:b], gyro[a:b])
        if ub is not None:
            outs.append(ub)
    return r, outs


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10_000),
    st.lists(st.integers(1, 700), min_size=1, max_size=30),
    st.sampled_from([0.01, 1 / 208, 1 / 416]),
)
def test_resampling_does_not_depend_on_block_boundaries(seed, sizes, period_s):
    # 208 and 416 Hz streams are averaged in groups of 2 and 4 grid points.
    rng = np.random.default_rng(seed)
    t, acc, gyro = _jittery_stream(700, period_s, rng)
    cuts = np.unique(np.clip(np.cumsum([0, *sizes]), 0, len(t)))
    cuts = np.unique(np.concatenate([cuts, [len(t)]]))
    _, whole = _resample_in_blocks(t, acc, gyro, np.array([0, len(t)]))
    _, parts = _resample_in_blocks(t, acc, gyro, cuts)
    a = np.concatenate([u.acc_mps2 for u in whole])
    b = np.concatenate([u.acc_mps2 for u in parts]) if parts else np.empty((0, 3))
    assert np.array_equal(a, b)


def test_resampler_measures_period_and_interpolates_linearly():
    rng = np.random.default_rng(1)
    t, acc, gyro = _jittery_stream(1000, 1 / 104, rng, loss=0.1)
    r, outs = _resample_in_blocks(t, acc, gyro, np.array([0, len(t)]))
    assert r.period_s == pytest.approx(1 / 104, rel=0.02)
    tg = np.concatenate([u.time_s for u in outs])
    assert np.allclose(np.diff(tg), r.period_s)
    z = np.concatenate([u.acc_mps2 for u in outs])[:, 2]
    assert np.allclose(z, tg)  # the z channel is t itself: linear interpolation is exact


def test_fast_streams_are_averaged_to_the_analysis_rate_keeping_the_rotation():
    rng = np.random.default_rng(2)
    t = np.arange(4000) / 208.0
    gyro = np.stack([np.sin(7 * t), rng.normal(0, 2, len(t)), np.cos(3 * t)], axis=1)
    r, outs = _resample_in_blocks(t, gyro.copy(), gyro, np.array([0, len(t)]))
    assert r.period_s == pytest.approx(2 / 208)
    g = np.concatenate([u.gyro_rad_s for u in outs])
    # The rotation integrated over the stream is the same on the coarser grid.
    assert np.allclose(g.sum(axis=0) * r.period_s, gyro[: 2 * len(g)].sum(axis=0) / 208.0)


def _rotating_sensor(mount, theta_deg, fs):
    """Specific force and gyro of a sensor on a segment tilting by theta about body +y."""
    r_mount = Rotation.from_euler("xyz", mount, degrees=True)  # sensor -> body
    r_body = Rotation.from_rotvec(np.outer(np.radians(theta_deg), [0, 1, 0]))
    r = r_body * r_mount
    acc = r.inv().apply([0, 0, G_MPS2])
    w = np.gradient(np.radians(theta_deg), 1 / fs)
    gyro = r_mount.inv().apply(np.outer(w, [0, 1, 0]))
    return acc, gyro, r_mount


@pytest.mark.parametrize("mount", [(0, 0, 0), (180, 0, 0), (35, -120, 70), (90, 90, 0)])
def test_calibration_recovers_any_mounting_and_forward_sign(mount):
    fs = 100.0
    t = np.arange(0, 8, 1 / fs)
    theta = np.where((t > 3) & (t < 6), 50 * np.sin(np.pi * (t - 3) / 3) ** 2, 0.0)
    acc, gyro, r_mount = _rotating_sensor(mount, theta, fs)
    orient = OrientationTracker(1 / fs)
    up = orient.update(acc, gyro)
    cal = MountingCalibrator("sacrum", 1 / fs, CalibrationSettings())
    done = cal.update(t, acc, gyro, up)
    assert done is not None
    m = cal.result
    # Body axes seen in the sensor frame.
    assert np.allclose(m.up, r_mount.inv().apply([0, 0, 1]), atol=0.02)
    assert np.allclose(m.left, r_mount.inv().apply([0, 1, 0]), atol=0.02)
    assert np.allclose(m.inclination_deg(up), theta, atol=0.5)
    assert m.off_axis_share < 0.01


def test_calibration_without_standing_phase_is_a_clear_error():
    fs = 50.0
    t = np.arange(0, 40, 1 / fs)
    rng = np.random.default_rng(0)
    gyro = rng.normal(0, 1.0, (len(t), 3))  # never still
    acc = np.tile([0, 0, G_MPS2], (len(t), 1))
    cal = MountingCalibrator("lumbar", 1 / fs, CalibrationSettings())
    with pytest.raises(AnalysisError, match="no standing phase"):
        cal.update(t, acc, gyro, acc / G_MPS2)


@pytest.mark.parametrize("true_lag_s", [-0.05, -0.013, 0.0, 0.021, 0.05])
def test_lag_estimate_recovers_clock_offset(true_lag_s):
    fs = 100.0
    t = np.arange(0, 5, 1 / fs)
    rng = np.random.default_rng(3)

    def w(x):
        return 80 * np.sin(2 * np.pi * 0.7 * x) + 30 * np.sin(2 * np.pi * 1.9 * x + 1)

    w_ref = w(t) + rng.normal(0, 1, len(t))
    t_other = np.arange(-0.2, 5.2, 1 / 104)
    w_other = w(t_other - true_lag_s) + rng.normal(0, 1, len(t_other))
    lag, corr = estimate_lag_s(t, w_ref, t_other, w_other, 0.1)
    assert lag == pytest.approx(true_lag_s, abs=0.001)
    assert corr > 0.99


def test_lag_model_fits_drift():
    m = LagModel(min_span_for_drift_s=60)
    for t in range(0, 600, 10):
        m.add(float(t), 0.01 + 100e-6 * t)
    assert m.lag_at(np.array([700.0]))[0] == pytest.approx(0.01 + 0.07, abs=1e-6)


def test_turning_points_ignore_small_wiggles_and_settle_at_pauses():
    fs = 50.0
    t = np.arange(0, 12, 1 / fs)
    h = np.where(t < 2, 0, 60 * np.sin(np.pi * (t - 2) / 4) ** 2)
    h = np.where(t > 6, 0, h) + 1.0 * np.sin(2 * np.pi * 0.5 * t)  # standing sway
    rate = np.gradient(h, 1 / fs)
    tr = TurningPointTracker(8.0, 20, 12.0)
    tps = [tp for i in range(len(t)) if (tp := tr.update(i, h[i], rate[i])) is not None]
    kinds = [tp.is_max for tp in tps]
    assert kinds[:2] == [False, True]  # the standing start, then the bottom of the hinge
    assert t[tps[1].index] == pytest.approx(4.0, abs=0.1)
    assert len(tps) == 3  # back at standing: settled without a further movement
