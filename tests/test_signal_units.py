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


def _hinging_with_disconnect(gap_from_s, gap_to_s, period_s=0.01, acc_amp_mps2=1.5):
    """A sensor pitching forward and back (0..60 deg every 3 s, with a horizontal
    acceleration of the same rhythm) whose data is lost for a stretch: the stretch is
    filled as a resampler fills it (linearly), and flagged as a disconnect."""
    t = np.arange(0.0, 24.0, period_s)
    omega = 2 * np.pi / 3.0
    moving = t > 4.0
    pitch = np.where(moving, np.radians(30.0) * (1 - np.cos(omega * (t - 4.0))), 0.0)
    pitch_rate = np.where(moving, np.radians(30.0) * omega * np.sin(omega * (t - 4.0)), 0.0)
    to_earth = Rotation.from_rotvec(np.outer(pitch, [0.0, 1.0, 0.0]))
    lin = np.zeros((len(t), 3))
    lin[:, 0] = np.where(moving, acc_amp_mps2 * np.sin(omega * (t - 4.0)), 0.0)
    acc = to_earth.inv().apply(lin + np.array([0.0, 0.0, G_MPS2]))
    gyro = np.outer(pitch_rate, [0.0, 1.0, 0.0])
    up_true = to_earth.inv().apply([0.0, 0.0, 1.0])
    lost = (t >= gap_from_s) & (t < gap_to_s)
    edge = np.flatnonzero(~lost)
    for x in (acc, gyro):
        for k in range(3):
            x[lost, k] = np.interp(t[lost], t[edge], x[edge, k])
    return t, acc, gyro, lost, up_true


def _angle_deg(a, b):
    return np.degrees(np.arccos(np.clip(np.sum(a * b, axis=1), -1.0, 1.0)))


@pytest.mark.parametrize("gap", [(10.0, 12.5), (11.2, 12.0), (8.0, 11.0)])
def test_orientation_is_realigned_after_a_disconnect(gap):
    # The rotation during lost data is unknown: integrated through the filled-in
    # stretch, the inclination after it is off by tens of degrees and VQF takes seconds
    # to pull it back. Re-aligned on the mean accelerometer after the disconnect, the
    # samples right after it are close to the truth.
    t, acc, gyro, lost, up_true = _hinging_with_disconnect(*gap)
    after = (t >= gap[1]) & (t < gap[1] + 2.0)

    aligned = OrientationTracker(0.01)
    up = np.concatenate((aligned.update(acc, gyro, lost, lost), aligned.flush()))
    assert len(up) == len(t)
    err = _angle_deg(up, up_true)
    assert err[after].max() < 1.5
    assert err[t > gap[1]].max() < 2.0

    # Without the disconnect flag (the fill taken as data), the error is large.
    plain = OrientationTracker(0.01)
    up_plain = plain.update(acc, gyro, lost)
    assert _angle_deg(up_plain, up_true)[after].max() > max(3.0, 5 * err[after].max())


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 900), min_size=1, max_size=12))
def test_orientation_after_a_disconnect_does_not_depend_on_blocks(sizes):
    # Samples after a disconnect are held until re-aligned; however the stream is cut,
    # the same samples come out with the same values, in order.
    t, acc, gyro, lost, _ = _hinging_with_disconnect(10.0, 12.5)
    whole = OrientationTracker(0.01)
    ref = np.concatenate((whole.update(acc, gyro, lost, lost), whole.flush()))
    cuts = [0, *itertools.accumulate(sizes)]
    cuts = [c for c in cuts if c < len(t)] + [len(t)]
    split = OrientationTracker(0.01)
    parts = [
        split.update(acc[a:b], gyro[a:b], lost[a:b], lost[a:b]) for a, b in itertools.pairwise(cuts)
    ]
    parts.append(split.flush())
    np.testing.assert_array_equal(np.concatenate(parts), ref)


def test_orientation_holds_only_the_samples_after_a_disconnect():
    _, acc, gyro, lost, _ = _hinging_with_disconnect(10.0, 12.5)
    o = OrientationTracker(0.01)
    n_before = int(np.argmax(lost))
    end = int(np.flatnonzero(lost)[-1]) + 1
    # Up to the end of the lost stretch everything is final at once ...
    assert len(o.update(acc[:end], gyro[:end], lost[:end], lost[:end])) == end
    assert n_before > 0
    # ... the next 3 s are held, then come out together with what follows.
    assert len(o.update(acc[end : end + 250], gyro[end : end + 250])) == 0
    assert len(o.update(acc[end + 250 : end + 400], gyro[end + 250 : end + 400])) == 400
    # A stream that ends inside the held stretch still gets every sample.
    o2 = OrientationTracker(0.01)
    o2.update(acc[: end + 50], gyro[: end + 50], lost[: end + 50], lost[: end + 50])
    assert len(o2.flush()) == 50
