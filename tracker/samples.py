"""`SensorSamples`: a block of timestamped IMU samples from one sensor.

This is the unit that flows from sources (files, BLE) into the pipeline. Values are in
the sensor frame (docs/frames.md): specific force in m/s^2, angular velocity in rad/s,
time in seconds on that sensor's own clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.units import PLACEMENTS


@dataclass(frozen=True, eq=False)
class SensorSamples:
    """Samples of one sensor: ``time_s`` (n,), ``acc_mps2`` (n, 3), ``gyro_rad_s`` (n, 3)."""

    placement: str
    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyro_rad_s: np.ndarray

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ValueError(f"unknown placement {self.placement!r}; expected one of {PLACEMENTS}")
        t = np.ascontiguousarray(self.time_s, dtype=np.float64)
        acc = np.ascontiguousarray(self.acc_mps2, dtype=np.float64).reshape(-1, 3)
        gyro = np.ascontiguousarray(self.gyro_rad_s, dtype=np.float64).reshape(-1, 3)
        if t.ndim != 1 or len(acc) != len(t) or len(gyro) != len(t):
            raise ValueError(
                f"inconsistent sample arrays: time {t.shape}, acc {acc.shape}, gyro {gyro.shape}"
            )
        object.__setattr__(self, "time_s", t)
        object.__setattr__(self, "acc_mps2", acc)
        object.__setattr__(self, "gyro_rad_s", gyro)

    def __len__(self) -> int:
        return len(self.time_s)

    @classmethod
    def empty(cls, placement: str) -> SensorSamples:
        return cls(placement, np.empty(0), np.empty((0, 3)), np.empty((0, 3)))

    def slice(self, start: int, stop: int) -> SensorSamples:
        """Samples ``[start, stop)`` by index."""
        return SensorSamples(
            self.placement,
            self.time_s[start:stop],
            self.acc_mps2[start:stop],
            self.gyro_rad_s[start:stop],
        )

    @staticmethod
    def concat(blocks: list[SensorSamples]) -> SensorSamples:
        """Join blocks of the same placement in the order given."""
        if not blocks:
            raise ValueError("no blocks to join")
        placement = blocks[0].placement
        if any(b.placement != placement for b in blocks):
            raise ValueError("cannot join blocks of different placements")
        return SensorSamples(
            placement,
            np.concatenate([b.time_s for b in blocks]),
            np.concatenate([b.acc_mps2 for b in blocks]),
            np.concatenate([b.gyro_rad_s for b in blocks]),
        )

    def equals(self, other: SensorSamples) -> bool:
        """Exact equality of placement and every value."""
        return (
            self.placement == other.placement
            and np.array_equal(self.time_s, other.time_s)
            and np.array_equal(self.acc_mps2, other.acc_mps2)
            and np.array_equal(self.gyro_rad_s, other.gyro_rad_s)
        )
