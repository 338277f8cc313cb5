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
    return np.stack(
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)], axis=1
    )


class OrientationTracker:
    """VQF for one sensor at a constant, measured sample period."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._vqf = VQF(period_s)

    def update(self, acc_mps2: np.ndarray, gyro_rad_s: np.ndarray) -> np.ndarray:
        """Feed samples; return earth-up in the sensor frame, shape (n, 3)."""
        if len(acc_mps2) == 0:
            return np.empty((0, 3))
        out = self._vqf.updateBatch(
            np.ascontiguousarray(gyro_rad_s, dtype=np.float64),
            np.ascontiguousarray(acc_mps2, dtype=np.float64),
        )
        return up_in_sensor_frame(out["quat6D"])
