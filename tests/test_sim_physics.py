"""Simulator physics: specific force at rest, gyro vs orientation, mounting invariance."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tracker.sim import Imperfections, SessionConfig, SetSpec, simulate_session
from tracker.units import G_MPS2, LUMBAR, SACRUM

CLEAN = Imperfections.none()


def _config(**kw: object) -> SessionConfig:
    base = {
        "seed": 11,
        "sets": (SetSpec("kettlebell_swing", 5), SetSpec("squat", 3)),
        "rate_hz": {LUMBAR: 208.0, SACRUM: 104.0},
        "rest_s": (12.0, 15.0),
        "imperfections": CLEAN,
    }
    base.update(kw)
    return SessionConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clean() -> object:
    return simulate_session(_config())


@pytest.fixture(scope="module")
def moving_3d() -> object:
    # Out-of-plane motion, walking with turns and sway on; sensor errors and wobble off,
    # so the ideal gyro must integrate to the model's orientation exactly.
    imp = dataclasses.replace(CLEAN, out_of_plane=True, sway=True, mounting=True)
    return simulate_session(_config(imperfections=imp, tier="hard"))


def test_rest_accelerometer_norm_is_gravity_within_noise() -> None:
    imp = dataclasses.replace(CLEAN, noise=True, mounting=True)
    res = simulate_session(_config(imperfections=imp, sets=(SetSpec("deadlift", 2),)))
    for p, s in res.recording.sensors.items():
        still = s.time_s < s.time_s[0] + 2.0
        norm = np.linalg.norm(s.acc_mps2[still], axis=1)
        noise = res.truth.setup[p]["errors"]["acc_noise_mps2"]
        assert abs(norm.mean() - G_MPS2) < 3 * noise, p
        assert norm.std() < 3 * noise, p
    # With every imperfection of a hard tier the norm is still gravity within bias/scale.
    hard = simulate_session(_config(imperfections=Imperfections(), tier="hard"))
    for s in hard.recording.sensors.values():
        still = s.time_s < s.time_s[0] + 1.5
        assert abs(np.linalg.norm(s.acc_mps2[still], axis=1).mean() - G_MPS2) < 0.35


def test_specific_force_reads_plus_g_along_up_when_standing(clean: object) -> None:
    for s in clean.signals.values():
        up_in_sensor = s.rotation[0].T @ np.array([0.0, 0.0, 1.0])
        assert np.allclose(s.acc_mps2[0], G_MPS2 * up_in_sensor, atol=0.02)


def _integrate(gyro: np.ndarray, t: np.ndarray, r0: np.ndarray) -> np.ndarray:
    """Orientation from body-frame rates (midpoint rule on each step)."""
    out = np.empty((len(t), 3, 3))
    out[0] = r0
    steps = Rotation.from_rotvec(0.5 * (gyro[1:] + gyro[:-1]) * np.diff(t)[:, None]).as_matrix()
    r = r0
    for k in range(len(steps)):
        r = r @ steps[k]
        out[k + 1] = r
    return out


def test_true_gyro_integrates_to_the_planar_inclination(clean: object) -> None:
    truth = clean.truth
    for s in clean.signals.values():
        body_rate_y = (s.gyro_rad_s @ s.mounting)[:, 1]  # R_mount^T applied row-wise
        for st in truth.sets:
            m = (s.timeline_s >= st.start_s - 1.0) & (s.timeline_s <= st.end_s + 1.0)
            t = s.timeline_s[m]
            w = body_rate_y[m]
            theta = s.inclination_deg[m][0] + np.degrees(
                np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(t))])
            )
            assert np.max(np.abs(theta - s.inclination_deg[m])) < 0.3, (s.placement, st.exercise)


def test_true_gyro_integrates_to_the_3d_orientation(moving_3d: object) -> None:
    for s in moving_3d.signals.values():
        st = moving_3d.truth.sets[0]
        m = (s.timeline_s >= st.start_s - 5.0) & (s.timeline_s <= st.end_s + 1.0)
        r_int = _integrate(s.gyro_rad_s[m], s.timeline_s[m], s.rotation[m][0])
        err = Rotation.from_matrix(np.einsum("nji,njk->nik", r_int, s.rotation[m])).magnitude()
        assert np.degrees(err.max()) < 0.5, s.placement


def test_out_of_plane_motion_is_present_when_enabled(moving_3d: object, clean: object) -> None:
    for res, expect in ((moving_3d, True), (clean, False)):
        s = res.signals[LUMBAR]
        body = s.gyro_rad_s @ s.mounting
        off_axis = np.abs(body[:, [0, 2]]).max()
        assert (off_axis > 0.1) == expect


def test_signals_depend_on_mounting_only_through_the_rotation() -> None:
    mounts = [Rotation.random(2, random_state=np.random.default_rng(k)).as_matrix() for k in (1, 2)]
    res = [
        simulate_session(
            _config(mounting={LUMBAR: m[0], SACRUM: m[1]}, sets=(SetSpec("squat", 2),))
        )
        for m in mounts
    ]
    for p, k in ((LUMBAR, 0), (SACRUM, 1)):
        a, b = (r.recording.sensors[p] for r in res)
        assert np.array_equal(a.time_s, b.time_s)
        for field in ("acc_mps2", "gyro_rad_s"):
            body_a = getattr(a, field) @ mounts[0][k]
            body_b = getattr(b, field) @ mounts[1][k]
            assert np.allclose(body_a, body_b, atol=1e-9), (p, field)
            assert not np.allclose(getattr(a, field), getattr(b, field), atol=1e-3)


def test_vertical_acceleration_peaks_near_one_g_in_swings(clean: object) -> None:
    s = clean.signals[SACRUM]
    rep = clean.truth.reps[2]
    m = (s.timeline_s >= rep.start_s) & (s.timeline_s <= rep.end_s)
    f_world_z = np.einsum("nij,nj->ni", s.rotation[m], s.acc_mps2[m])[:, 2]
    assert 0.4 * G_MPS2 < f_world_z.max() - G_MPS2 < 1.6 * G_MPS2


def test_chunking_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.sim import simulate

    imp = Imperfections(packet_loss=False)
    cfg = _config(imperfections=imp, tier="hard", sets=(SetSpec("kettlebell_swing", 4),))
    a = simulate_session(cfg)
    monkeypatch.setattr(simulate, "CHUNK_S", 1.37)
    b = simulate_session(cfg)
    assert a.truth.to_json() == b.truth.to_json()
    for p in (LUMBAR, SACRUM):
        sa, sb = a.recording.sensors[p], b.recording.sensors[p]
        assert np.array_equal(sa.time_s, sb.time_s)
        # Filters and sums restart at different points: rounding-level differences, which
        # can flip an int16 rounding now and then.
        for x, y, lsb in ((sa.acc_mps2, sb.acc_mps2, 1e-2), (sa.gyro_rad_s, sb.gyro_rad_s, 2e-3)):
            assert np.abs(x - y).max() <= lsb
            assert np.mean(x != y) < 0.01
        assert np.allclose(a.signals[p].rotation, b.signals[p].rotation, atol=1e-9)


def test_rotations_are_orthonormal(moving_3d: object) -> None:
    for s in moving_3d.signals.values():
        rtr = np.einsum("nki,nkj->nij", s.rotation, s.rotation)
        assert np.abs(rtr - np.eye(3)).max() < 1e-9
        assert np.allclose(np.linalg.det(s.rotation), 1.0)
