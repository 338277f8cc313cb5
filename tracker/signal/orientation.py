"""Per-sensor orientation with VQF (6-axis, no magnetometer), fed block by block.

Only the inclination part of the orientation is used downstream: the direction of
"earth up" expressed in the sensor frame (docs/frames.md). Heading drifts without a
magnetometer but never enters a sagittal angle.

VQF (Laidig & Seel 2023) low-pass filters the accelerometer in an almost-inertial frame
and estimates gyro bias at rest and in motion, which is what carries the estimate through
the large linear accelerations of a kettlebell swing. Feeding it in blocks gives exactly
the same result as one batch call (its state is carried).

After a disconnect the rotation during the lost stretch is unknown, so the inclination
is found again from the data that follows: see `ALIGN_MIN_S`.
"""

from __future__ import annotations

import numpy as np
from vqf import VQF


def up_in_sensor_frame(quat_wxyz: np.ndarray) -> np.ndarray:
    """Earth-up unit vector in the sensor frame for sensor-to-earth quaternions (n, 4)."""
    w, x, y, z = quat_wxyz.T
    out = np.empty((len(quat_wxyz), 3))
    out[:, 0] = 2.0 * (x * z - w * y)
    out[:, 1] = 2.0 * (y * z + w * x)
    out[:, 2] = 1.0 - 2.0 * (x * x + y * y)
    return out


def quat_multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product p * q of one quaternion p (4,) with quaternions q (n, 4), wxyz."""
    w1, x1, y1, z1 = p
    w2, x2, y2, z2 = q.T
    return np.stack(
        (
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ),
        axis=1,
    )


#: VQF's accelerometer time constant in normal running (its default).
TAU_ACC_S = 3.0
#: After a short gap in the data (bridged by interpolation) the rotation during the gap
#: is approximate; the accelerometer is then trusted more (shorter time constant) for a
#: while, so the inclination re-converges within about a swing instead of several seconds.
TAU_ACC_AFTER_GAP_S = 1.0
RECOVERY_AFTER_GAP_S = 3.0
#: After a disconnect, the inclination is found again from the mean accelerometer over
#: the data that follows, expressed in the gyro-integrated frame: there gravity stays put
#: while the lifter's own acceleration averages out, exactly so over a stretch that ends
#: in the posture and turning rate it started with (the velocity is then back to its
#: start value). The stretch ends at the sample between `ALIGN_MIN_S` and `ALIGN_MAX_S`
#: after the disconnect that best matches its first sample; the correction applies to
#: every sample from the disconnect on. Those samples are final only `ALIGN_MAX_S` after
#: it: a delay after disconnects only.
ALIGN_MIN_S = 1.0
ALIGN_MAX_S = 3.0
#: Weight of the turning-rate difference against the posture difference (rad) when
#: matching the start of that stretch: 0.25 s turns 1 rad/s into 0.25 rad.
ALIGN_RATE_WEIGHT_S = 0.25


def rotate(quat_wxyz: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (n, 3) by quaternions (n, 4), wxyz."""
    w = quat_wxyz[:, :1]
    u = quat_wxyz[:, 1:]
    c = np.cross(u, v)
    return v + 2.0 * w * c + 2.0 * np.cross(u, c)


def tilt_to_up(v: np.ndarray) -> np.ndarray:
    """The rotation about a horizontal axis taking direction v (3,) to +z (VQF's
    inclination correction)."""
    x, y, z = v / np.linalg.norm(v)
    q_w = np.sqrt(max(z + 1.0, 0.0) / 2.0)
    if q_w <= 1e-6:
        return np.array([0.0, 1.0, 0.0, 0.0])
    return np.array([q_w, 0.5 * y / q_w, -0.5 * x / q_w, 0.0])


def _run_end(mask: np.ndarray, i: int) -> int:
    """End of the run of True in ``mask`` that starts at ``i``."""
    rest = mask[i:]
    return len(mask) if rest.all() else i + int(np.argmin(rest))


class OrientationTracker:
    """VQF for one sensor at a constant, measured sample period."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._vqf = VQF(period_s, tauAcc=TAU_ACC_S)
        self._recovery_left = 0
        self._recovery_n = max(1, round(RECOVERY_AFTER_GAP_S / period_s))
        self._align_min_n = max(1, round(ALIGN_MIN_S / period_s))
        self._align_n = max(self._align_min_n, round(ALIGN_MAX_S / period_s))
        #: Gyro-integrated orientation, acc and gyro of the samples held since a
        #: disconnect ended, or None when nothing is held; ``_after_disconnect`` is set
        #: by a disconnect sample.
        self._held: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._n_held = 0
        self._after_disconnect = False
        self._ready: list[np.ndarray] = []

    def update(
        self,
        acc_mps2: np.ndarray,
        gyro_rad_s: np.ndarray,
        in_gap: np.ndarray | None = None,
        disconnect: np.ndarray | None = None,
    ) -> np.ndarray:
        """Feed samples; return earth-up in the sensor frame, shape (m, 3), for the next
        m samples whose orientation is final.

        ``in_gap`` marks samples interpolated across a gap in the stream; the filter runs
        in recovery mode for `RECOVERY_AFTER_GAP_S` after each such stretch.
        ``disconnect`` marks samples inside a gap too long to interpolate: the
        `ALIGN_MAX_S` after one are held back and returned once re-aligned,
        so m is n except around disconnects (`flush` returns what is still held). Switch
        points are sample indices, so block boundaries do not change the result.
        """
        n = len(acc_mps2)
        gyro = np.ascontiguousarray(gyro_rad_s, dtype=np.float64)
        acc = np.ascontiguousarray(acc_mps2, dtype=np.float64)
        gap = np.zeros(n, dtype=bool) if in_gap is None else np.asarray(in_gap, dtype=bool)
        cut = np.zeros(n, dtype=bool) if disconnect is None else np.asarray(disconnect, bool)
        i = 0
        while i < n:
            if cut[i]:
                # Lost data: the interpolated fill keeps the filter running; nothing of it
                # is trusted downstream, and the stretch after it is re-aligned.
                self._close_window()
                j = _run_end(cut, i)
                self._run(gyro, acc, i, j, TAU_ACC_S)
                self._after_disconnect = True
                self._recovery_left = 0
                i = j
                continue
            if self._after_disconnect:
                self._open_window()
            if self._held is not None:
                j = min(n, i + self._align_n - self._n_held)
                if cut[i:j].any():
                    j = i + int(np.argmax(cut[i:j]))
                self._hold(gyro[i:j], acc[i:j])
                if self._n_held >= self._align_n:
                    self._close_window()
                i = j
                continue
            if gap[i]:
                # Inside a short gap: keep integrating the interpolated gyro; recovery
                # starts when real data returns.
                j = _run_end(gap & ~cut, i)
                self._run(gyro, acc, i, j, TAU_ACC_S)
                self._recovery_left = self._recovery_n
                i = j
                continue
            nxt = i + int(np.argmax(gap[i:] | cut[i:])) if (gap[i:] | cut[i:]).any() else n
            if self._recovery_left > 0:
                j = min(nxt, i + self._recovery_left)
                self._run(gyro, acc, i, j, TAU_ACC_AFTER_GAP_S)
                self._recovery_left -= j - i
            else:
                j = nxt
                self._run(gyro, acc, i, j, TAU_ACC_S)
            i = j
        return self._take()

    def flush(self) -> np.ndarray:
        """Earth-up of the samples still held at the end of the stream."""
        self._close_window()
        return self._take()

    def _take(self) -> np.ndarray:
        out = np.concatenate(self._ready) if self._ready else np.empty((0, 3))
        self._ready = []
        return out

    def _open_window(self) -> None:
        self._after_disconnect = False
        if self._vqf.params["tauAcc"] != TAU_ACC_S:
            self._vqf.setTauAcc(TAU_ACC_S)
        self._held = []
        self._n_held = 0

    def _hold(self, gyro: np.ndarray, acc: np.ndarray) -> None:
        if len(gyro):
            q3 = self._vqf.updateBatchFullState(gyro, acc)["gyrQuat"]
            self._held.append((q3, acc, gyro))  # type: ignore[union-attr]
            self._n_held += len(gyro)

    def _close_window(self) -> None:
        """Re-align the held samples (see `ALIGN_MIN_S`) and restart VQF from there."""
        if self._held is None:
            return
        held, self._held = self._held, None
        if not held:
            return
        q3, acc, gyro = (np.concatenate(c) for c in zip(*held, strict=True))
        # The end of the averaged stretch: the sample closest to the first in posture
        # (angle between their gyro-integrated orientations) and turning rate.
        lo = min(self._align_min_n, len(q3)) - 1
        dot = np.abs(q3[lo:] @ q3[0])
        cost = 2.0 * np.arccos(np.minimum(dot, 1.0))
        cost += ALIGN_RATE_WEIGHT_S * np.linalg.norm(gyro[lo:] - gyro[0], axis=1)
        end = lo + int(np.argmin(cost)) + 1
        acc_i = rotate(q3, acc)
        g = acc_i[:end].mean(axis=0)
        acc_quat = tilt_to_up(g)
        self._ready.append(up_in_sensor_frame(quat_multiply(acc_quat, q3)))
        # VQF goes on from this inclination, its accelerometer low-pass settled on g.
        state = self._vqf.state
        state["accQuat"] = list(acc_quat)
        state["lastAccLp"] = list(g)
        b = np.asarray(self._vqf.coeffs["accLpB"])
        a = np.asarray(self._vqf.coeffs["accLpA"])
        state["accLpState"] = [float(x) for gk in g for x in VQF.filterInitialState(gk, b, a)]
        self._vqf.state = state

    def _run(self, gyro, acc, i: int, j: int, tau_s: float) -> None:
        if j <= i:
            return
        if self._vqf.params["tauAcc"] != tau_s:
            self._vqf.setTauAcc(tau_s)
        self._ready.append(up_in_sensor_frame(self._vqf.updateBatch(gyro[i:j], acc[i:j])["quat6D"]))
