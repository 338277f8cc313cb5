"""Per-sensor orientation with VQF (6-axis, no magnetometer), fed block by block.

Only the inclination part of the orientation is used downstream: the direction of
"earth up" expressed in the sensor frame (docs/frames.md). Heading drifts without a
magnetometer but never enters a sagittal angle.

VQF (Laidig & Seel 2023) low-pass filters the accelerometer in an almost-inertial frame
and estimates gyro bias at rest and in motion, which is what carries the estimate through
the large linear accelerations of a kettlebell swing. Feeding it in blocks gives exactly
the same result as one batch call (its state is carried).
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


#: VQF's accelerometer time constant in normal running (its default).
TAU_ACC_S = 3.0
#: After a gap in the data the rotation during the gap is lost; the accelerometer is
#: then trusted more (shorter time constant) for a while, so the inclination re-converges
#: within about a swing instead of several seconds.
TAU_ACC_AFTER_GAP_S = 1.0
RECOVERY_AFTER_GAP_S = 3.0


class OrientationTracker:
    """VQF for one sensor at a constant, measured sample period."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._vqf = VQF(period_s, tauAcc=TAU_ACC_S)
        self._recovery_left = 0
        self._recovery_n = max(1, round(RECOVERY_AFTER_GAP_S / period_s))

    def update(
        self, acc_mps2: np.ndarray, gyro_rad_s: np.ndarray, in_gap: np.ndarray | None = None
    ) -> np.ndarray:
        """Feed samples; return earth-up in the sensor frame, shape (n, 3).

        ``in_gap`` marks samples interpolated across a gap in the stream; the filter runs
        in recovery mode for `RECOVERY_AFTER_GAP_S` after each such stretch. Switch points
        are sample indices, so block boundaries do not change the result.
        """
        n = len(acc_mps2)
        if n == 0:
            return np.empty((0, 3))
        gyro = np.ascontiguousarray(gyro_rad_s, dtype=np.float64)
        acc = np.ascontiguousarray(acc_mps2, dtype=np.float64)
        gap = np.zeros(n, dtype=bool) if in_gap is None else np.asarray(in_gap, dtype=bool)
        out = np.empty((n, 4))
        i = 0
        while i < n:
            if gap[i]:
                # Inside a gap: keep integrating the interpolated gyro; recovery starts
                # when real data returns.
                j = i + int(np.argmin(gap[i:])) if not gap[i:].all() else n
                self._run(gyro, acc, out, i, j, TAU_ACC_S)
                self._recovery_left = self._recovery_n
                i = j
                continue
            nxt = i + int(np.argmax(gap[i:])) if gap[i:].any() else n
            if self._recovery_left > 0:
                j = min(nxt, i + self._recovery_left)
                self._run(gyro, acc, out, i, j, TAU_ACC_AFTER_GAP_S)
                self._recovery_left -= j - i
            else:
                j = nxt
                self._run(gyro, acc, out, i, j, TAU_ACC_S)
            i = j
        return up_in_sensor_frame(out)

    def _run(self, gyro, acc, out, i: int, j: int, tau_s: float) -> None:
        if j <= i:
            return
        if self._vqf.params["tauAcc"] != tau_s:
            self._vqf.setTauAcc(tau_s)
        out[i:j] = self._vqf.updateBatch(gyro[i:j], acc[i:j])["quat6D"]
