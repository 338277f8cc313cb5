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
from tracker.signal.orientation import OrientationTracker, at_sample_times
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
    assert r.input_period_s == pytest.approx(1 / 104, rel=0.02)
    # 104 Hz is averaged in pairs to the analysis rate (52 Hz).
    assert r.period_s == pytest.approx(2 * r.input_period_s)
    tg = np.concatenate([u.time_s for u in outs])
    assert np.allclose(np.diff(tg), r.period_s)
    z = np.concatenate([u.acc_mps2 for u in outs])[:, 2]
    assert np.allclose(z, tg)  # the z channel is t itself: linear interpolation is exact


def test_fast_streams_are_averaged_to_the_analysis_rate_keeping_the_rotation():
    rng = np.random.default_rng(2)
    t = np.arange(4000) / 208.0
    gyro = np.stack([np.sin(7 * t), rng.normal(0, 2, len(t)), np.cos(3 * t)], axis=1)
    r, outs = _resample_in_blocks(t, gyro.copy(), gyro, np.array([0, len(t)]))
    assert r.period_s == pytest.approx(4 / 208)
    g = np.concatenate([u.gyro_rad_s for u in outs])
    # The rotation integrated over the stream is the same on the coarser grid.
    assert np.allclose(g.sum(axis=0) * r.period_s, gyro[: 4 * len(g)].sum(axis=0) / 208.0)


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
    up, _ = orient.update(acc, gyro)
    cal = MountingCalibrator("sacrum", 1 / fs, CalibrationSettings())
    done = cal.update(t, acc, gyro, up)
    assert done is not None
    m = cal.result
    # Body axes seen in the sensor frame.
    assert np.allclose(m.up, r_mount.inv().apply([0, 0, 1]), atol=0.02)
    assert np.allclose(m.left, r_mount.inv().apply([0, 1, 0]), atol=0.02)
    assert np.allclose(m.inclination_deg(up), theta, atol=0.5)
    assert m.off_axis_share < 0.01


def test_calibration_without_standing_phase_is_estimated_and_marked_approximate():
    fs = 50.0
    t = np.arange(0, 40, 1 / fs)
    rng = np.random.default_rng(0)
    gyro = rng.normal(0, 1.0, (len(t), 3))  # never still
    acc = np.tile([0, 0, G_MPS2], (len(t), 1))
    cal = MountingCalibrator("lumbar", 1 / fs, CalibrationSettings())
    assert cal.update(t, acc, gyro, acc / G_MPS2) is None
    assert cal.finish()
    assert cal.result is not None and cal.result.approximate
    assert any("approximate" in w for w in cal.result.warnings)


def test_calibration_of_a_sensor_that_never_moved_is_a_clear_error():
    fs = 50.0
    t = np.arange(0, 10, 1 / fs)
    acc = np.tile([0, 0, G_MPS2], (len(t), 1))
    cal = MountingCalibrator("lumbar", 1 / fs, CalibrationSettings())
    assert cal.update(t, acc, np.zeros((len(t), 3)), acc / G_MPS2) is None
    with pytest.raises(AnalysisError, match="never moved"):
        cal.finish()


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


#: Sample period of the hole tests: that of the grid the chain gives the orientation
#: filter (the resampler's analysis rate), so the resampler passes samples through.
HOLE_DT_S = 1 / 50


def _hinging_with_hole(gap, cycle_s=3.0, amp_deg=30.0, acc_amp_mps2=1.5):
    """A sensor pitching forward and back (0..2*amp_deg every cycle_s, with a horizontal
    acceleration of the same rhythm), its samples between ``gap`` lost, resampled as the
    chain does: grid times, acc, gyro, in-gap flags, hole lengths and the true earth-up."""
    t = np.arange(0.0, 24.0, HOLE_DT_S)
    omega = 2 * np.pi / cycle_s

    def motion(t):
        moving = t > 4.0
        pitch = np.where(moving, np.radians(amp_deg) * (1 - np.cos(omega * (t - 4.0))), 0.0)
        rate = np.where(moving, np.radians(amp_deg) * omega * np.sin(omega * (t - 4.0)), 0.0)
        to_earth = Rotation.from_rotvec(np.outer(pitch, [0.0, 1.0, 0.0]))
        lin = np.zeros((len(t), 3))
        lin[:, 0] = np.where(moving, acc_amp_mps2 * np.sin(omega * (t - 4.0)), 0.0)
        acc = to_earth.inv().apply(lin + np.array([0.0, 0.0, G_MPS2]))
        return acc, np.outer(rate, [0.0, 1.0, 0.0]), to_earth.inv().apply([0.0, 0.0, 1.0])

    keep = (t < gap[0]) | (t >= gap[1])
    acc, gyro, _ = motion(t[keep])
    r = UniformResampler(max_gap_s=0.1)
    blocks = [b for b in (r.push(t[keep], acc, gyro), r.flush()) if b is not None]
    grid = np.concatenate([b.time_s for b in blocks])
    cols = [np.concatenate([getattr(b, f) for b in blocks]) for f in ("acc_mps2", "gyro_rad_s")]
    in_gap = np.concatenate([b.in_gap for b in blocks])
    span = np.concatenate([b.span_s for b in blocks])
    return grid, cols[0], cols[1], in_gap, span, motion(grid)[2]


def _angle_deg(a, b):
    return np.degrees(np.arccos(np.clip(np.sum(a * b, axis=1), -1.0, 1.0)))


def _orient(acc, gyro, in_gap, span, clipped=None):
    """Earth-up at the sample times (as the chain gives it) and the lost flags."""
    o = OrientationTracker(HOLE_DT_S)
    up, lost = o.update(acc, gyro, in_gap, span, clipped)
    up_end, lost_end = o.flush()
    up = at_sample_times(np.concatenate((up, up_end)), gyro, HOLE_DT_S)
    return up, np.concatenate((lost, lost_end))


def test_orientation_is_given_at_the_sample_times():
    # A swing (45 deg each way at 1 Hz, 10 m/s^2 of its own acceleration) at 50 Hz: the
    # filter's output is half a period late (2.8 deg at the fastest point); moved back
    # to the sample times it agrees with the truth there.
    dt = 0.02
    t = np.arange(0.0, 40.0, dt)
    omega = 2 * np.pi
    moving = t > 4.0
    pitch = np.where(moving, np.radians(45.0) * (1 - np.cos(omega * (t - 4.0))), 0.0)
    rate = np.where(moving, np.radians(45.0) * omega * np.sin(omega * (t - 4.0)), 0.0)
    to_earth = Rotation.from_rotvec(np.outer(pitch, [0.0, 1.0, 0.0]))
    lin = np.zeros((len(t), 3))
    lin[:, 0] = np.where(moving, 10.0 * np.sin(omega * (t - 4.0)), 0.0)
    acc = to_earth.inv().apply(lin + np.array([0.0, 0.0, G_MPS2]))
    gyro = np.outer(rate, [0.0, 1.0, 0.0])
    up_true = to_earth.inv().apply([0.0, 0.0, 1.0])
    up, _ = OrientationTracker(dt).update(acc, gyro)
    late = _angle_deg(up, up_true)[moving]
    on_time = _angle_deg(at_sample_times(up, gyro, dt), up_true)[moving]
    assert late.mean() > 1.5
    assert on_time.mean() < 0.6 and on_time.max() < 2.6


@pytest.mark.parametrize("gap", [(10.0, 12.5), (11.2, 12.0), (8.0, 11.0)])
def test_orientation_is_realigned_after_a_disconnect(gap):
    # The rotation during lost data is unknown: integrated through the filled-in
    # stretch, the inclination after it is off by tens of degrees and VQF takes seconds
    # to pull it back. Re-aligned on the mean accelerometer after the disconnect, the
    # samples right after it are close to the truth.
    t, acc, gyro, in_gap, span, up_true = _hinging_with_hole(gap)
    after = (t >= gap[1]) & (t < gap[1] + 2.0)
    up, lost = _orient(acc, gyro, in_gap, span)
    assert len(up) == len(t)
    np.testing.assert_array_equal(lost, span > 0.6)
    assert lost.sum() > 0.95 * (gap[1] - gap[0]) / HOLE_DT_S
    err = _angle_deg(up, up_true)
    assert err[after].max() < 1.5
    assert err[t > gap[1]].max() < 2.0
    # Taken as data (no hole lengths given), the filled-in stretch leaves a large error
    # after the long holes (the 0.8 s one happens to lose little).
    plain = OrientationTracker(HOLE_DT_S)
    up_plain, lost_plain = plain.update(acc, gyro)
    assert not lost_plain.any()
    if gap[1] - gap[0] > 2.0:
        assert _angle_deg(up_plain, up_true)[after].max() > 15.0


def test_a_bridged_hole_that_lost_rotation_counts_as_lost():
    # Half a fast swing (a 1.2 s cycle) missing: the cubic bridge cannot know the
    # rotation in it, so the check after the hole finds the inclination off and treats
    # the hole as lost; the samples after it are re-aligned.
    gap = (10.0, 10.5)
    t, acc, gyro, in_gap, span, up_true = _hinging_with_hole(gap, cycle_s=1.2, amp_deg=40.0)
    up, lost = _orient(acc, gyro, in_gap, span)
    hole = (t > gap[0]) & (t < gap[1] - HOLE_DT_S)
    assert lost[hole].all() and not lost[t > gap[1] + 2 * HOLE_DT_S].any()
    assert _angle_deg(up, up_true)[t > gap[1] + 2 * HOLE_DT_S].max() < 2.0
    plain_up, _ = OrientationTracker(HOLE_DT_S).update(acc, gyro, in_gap)
    assert _angle_deg(plain_up, up_true)[(t > gap[1]) & (t < gap[1] + 1)].max() > 5.0


def test_a_bridged_hole_that_kept_the_rotation_keeps_its_samples():
    # In a slow hinge the cubic bridge is right: no sample is lost, and the inclination
    # stays close. (With the filter in recovery after the hole, as after a clipped
    # one, it would follow the hinge's own acceleration: over 5° off.)
    t, acc, gyro, in_gap, span, up_true = _hinging_with_hole((10.0, 10.4), cycle_s=4.0)
    up, lost = _orient(acc, gyro, in_gap, span)
    assert in_gap.sum() > 0.3 / HOLE_DT_S and not lost.any()
    assert _angle_deg(up, up_true)[t > 10.0].max() < 1.5
    recovering, _ = OrientationTracker(HOLE_DT_S).update(acc, gyro, in_gap, None, in_gap)
    assert _angle_deg(recovering, up_true)[t > 10.0].max() > 5.0


def test_holes_too_close_to_check_stand_as_bridged():
    # Holes every 1.2 s swing (a gyro clipping at its fastest part): no stretch of whole
    # reps lies between two of them, so none is judged, and the result is exactly that
    # of bridging without any check (the filter in recovery after each clipped hole).
    t = np.arange(0.0, 30.0, HOLE_DT_S)
    omega = 2 * np.pi / 1.2
    gyro = np.outer(np.where(t > 4, 3.0 * np.sin(omega * t), 0.0), [0.0, 1.0, 0.0])
    acc = np.tile([0.0, 0.0, G_MPS2], (len(t), 1))
    hole = (t > 4) & (np.mod(t, 1.2) < 0.3)
    up, lost = _orient(acc, gyro, hole, np.where(hole, 0.3, HOLE_DT_S), clipped=hole)
    assert len(up) == len(t) and not lost.any()
    plain = OrientationTracker(HOLE_DT_S).update(acc, gyro, hole, None, hole)[0]
    np.testing.assert_array_equal(up, at_sample_times(plain, gyro, HOLE_DT_S))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 900), min_size=1, max_size=12),
    st.sampled_from([((10.0, 12.5), 3.0), ((10.0, 10.5), 1.2), ((10.0, 10.4), 4.0)]),
)
def test_orientation_around_holes_does_not_depend_on_blocks(sizes, case):
    # Samples after a hole are held until checked or re-aligned; however the stream is
    # cut, the same samples come out with the same values, in order.
    gap, cycle_s = case
    _, acc, gyro, in_gap, span, _ = _hinging_with_hole(gap, cycle_s=cycle_s)
    ref_up, ref_lost = _orient(acc, gyro, in_gap, span)
    cuts = [0, *itertools.accumulate(sizes)]
    cuts = [c for c in cuts if c < len(acc)] + [len(acc)]
    split = OrientationTracker(HOLE_DT_S)
    parts = [
        split.update(acc[a:b], gyro[a:b], in_gap[a:b], span[a:b])
        for a, b in itertools.pairwise(cuts)
    ]
    parts.append(split.flush())
    split_up = at_sample_times(np.concatenate([p[0] for p in parts]), gyro, HOLE_DT_S)
    np.testing.assert_array_equal(split_up, ref_up)
    np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), ref_lost)


def test_orientation_holds_only_the_samples_after_a_hole():
    _, acc, gyro, in_gap, span, _ = _hinging_with_hole((10.0, 12.5))
    o = OrientationTracker(HOLE_DT_S)
    end = int(np.flatnonzero(span > 0.6)[-1]) + 1
    # Up to the end of the lost stretch everything is final at once ...
    assert len(o.update(acc[:end], gyro[:end], in_gap[:end], span[:end])[0]) == end
    # ... the next 2 s are held (no posture in them matches the first: the hinge takes
    # 3 s a rep), then come out together with what follows.
    n = round(1.5 / HOLE_DT_S)  # 1.5 s
    assert len(o.update(acc[end : end + n], gyro[end : end + n])[0]) == 0
    assert len(o.update(acc[end + n : end + 2 * n], gyro[end + n : end + 2 * n])[0]) == 2 * n
    # A stream that ends inside the held stretch still gets every sample.
    o2 = OrientationTracker(HOLE_DT_S)
    k = n // 3
    o2.update(acc[: end + k], gyro[: end + k], in_gap[: end + k], span[: end + k])
    assert len(o2.flush()[0]) == k


def test_standing_still_after_a_disconnect_is_released_after_a_second():
    # Nothing moves after the hole: the first sample a second later already matches the
    # first one, so the samples come out then rather than after the full 3 s.
    t = np.arange(0.0, 12.0, HOLE_DT_S)
    acc = np.tile([0.0, 0.0, G_MPS2], (len(t), 1))
    gyro = np.zeros((len(t), 3))
    hole = (t >= 5.0) & (t < 6.0)
    o = OrientationTracker(HOLE_DT_S)
    end = int(np.flatnonzero(hole)[-1]) + 1
    assert (
        len(o.update(acc[:end], gyro[:end], hole[:end], np.where(hole, 1.0, HOLE_DT_S)[:end])[0])
        == end
    )
    # Sample by sample: released with the sample one second after the hole.
    second = round(1.0 / HOLE_DT_S)
    out = [len(o.update(acc[k : k + 1], gyro[k : k + 1])[0]) for k in range(end, end + 150)]
    assert out.index(second) == second - 1 and sum(out) == 150


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 400), st.sampled_from([0.0, 0.15, 0.3, 0.5, 0.9, 2.0]), st.booleans()
        ),
        min_size=1,
        max_size=10,
    ),
    st.lists(st.integers(1, 700), min_size=1, max_size=10),
    st.integers(0, 1000),
)
def test_orientation_with_any_holes_gives_every_sample_once_whatever_the_blocks(runs, sizes, seed):
    # Stretches of real data and of holes of every kind (short, checked, clipped,
    # disconnects) in any order: every sample comes out once, finite, unit length, the
    # same however the stream is cut.
    rng = np.random.default_rng(seed)
    spans, clipped = [], []
    for n, span, clip in runs:
        spans.append(np.full(n, span if span > 0 else 0.01))
        clipped.append(np.full(n, clip and span > 0))
    span = np.concatenate(spans)
    clip = np.concatenate(clipped)
    in_gap = span > 0.1
    n = len(span)
    t = np.arange(n) * 0.01
    gyro = np.stack([0.3 * np.sin(t), 1.5 * np.sin(2.1 * t), 0.2 * np.cos(t)], axis=1)
    gyro += rng.normal(0.0, 0.02, (n, 3))
    acc = np.tile([0.0, 0.0, G_MPS2], (n, 1)) + rng.normal(0.0, 0.3, (n, 3))
    whole = OrientationTracker(0.01)
    ref = [whole.update(acc, gyro, in_gap, span, clip), whole.flush()]
    ref_up = np.concatenate([r[0] for r in ref])
    assert len(ref_up) == n
    assert np.all(np.isfinite(ref_up))
    np.testing.assert_allclose(np.linalg.norm(ref_up, axis=1), 1.0, atol=1e-9)
    cuts = [0, *itertools.accumulate(sizes)]
    cuts = [c for c in cuts if c < n] + [n]
    split = OrientationTracker(0.01)
    parts = [
        split.update(acc[a:b], gyro[a:b], in_gap[a:b], span[a:b], clip[a:b])
        for a, b in itertools.pairwise(cuts)
    ]
    parts.append(split.flush())
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), ref_up)
    np.testing.assert_array_equal(
        np.concatenate([p[1] for p in parts]), np.concatenate([r[1] for r in ref])
    )


def test_no_gravity_after_a_disconnect_leaves_the_filter_alone():
    # A sensor that sends zeros after a disconnect gives nothing to align on: no error,
    # every sample out, finite.
    n = 800
    acc = np.tile([0.0, 0.0, G_MPS2], (n, 1))
    acc[400:] = 0.0
    gyro = np.zeros((n, 3))
    span = np.full(n, 0.01)
    span[300:400] = 1.0
    up, lost = _orient(acc, gyro, span > 0.1, span)
    assert len(up) == n and np.all(np.isfinite(up))
    assert lost[300:400].all() and not lost[400:].any()
