"""Samples at a sensor's range limit (saturation), taken out before resampling.

A saturated channel repeats the same full-scale count while the true value is beyond
it: a swing faster than a gyro's range, an impact harder than an accelerometer's. Its
value is wrong, and so is every orientation integrated through it. Such samples are
dropped, so the stream has a hole there: the resampler bridges a short one with a cubic
from the slopes on each side (which restores the shape of a clipped peak far better than
the flat top) and marks a long one, after which angles are withheld as after a
disconnect (`tracker.signal.chain`).

A sample is taken as clipped when a channel holds exactly the same value as on the
`FLAT_RUN - 1` samples before it, at a magnitude that only a range limit explains (no
common range is smaller than 2 g or 125 deg/s) and that is the largest the sensor has
reported on any axis so far (nothing lies beyond a range limit). Flatness alone is not
enough: a quantised signal repeats a count for a few samples at the top of a smooth
peak. The test looks back
only, so it gives the same answer however the stream is split into blocks; the first
samples of a clipped stretch are kept.
"""

from __future__ import annotations

import numpy as np

from tracker.samples import SensorSamples
from tracker.units import G_MPS2, RAD_PER_DEG

#: Smallest magnitudes at which an exactly flat channel is taken as clipped.
ACC_CLIP_FLOOR_MPS2 = 1.9 * G_MPS2
GYRO_CLIP_FLOOR_RAD_S = 120.0 * RAD_PER_DEG
#: Equal samples in a row that make a flat top.
FLAT_RUN = 4


class ClipFilter:
    """Drops clipped samples from a sensor's blocks, counting them."""

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None  # last FLAT_RUN - 1 raw samples, (k, 6)
        self._peak = [0.0, 0.0]  # largest |acc|, |gyro| axis value so far
        self.clipped_samples = 0
        self.clipped_acc = False
        self.clipped_gyro = False
        #: Largest clipped magnitude seen per kind (the range limit).
        self.acc_limit_mps2 = 0.0
        self.gyro_limit_rad_s = 0.0

    def drop_clipped(self, block: SensorSamples) -> SensorSamples:
        n = len(block)
        if n == 0:
            return block
        cur = np.concatenate((block.acc_mps2, block.gyro_rad_s), axis=1)
        x = cur if self._prev is None else np.concatenate((self._prev, cur))
        self._prev = x[-(FLAT_RUN - 1) :].copy()
        k = FLAT_RUN - 1
        if len(x) <= k:
            return block
        last = x[k:]  # rows that have FLAT_RUN - 1 samples before them
        flat = np.ones(last.shape, dtype=bool)
        for j in range(1, FLAT_RUN):
            flat &= last == x[k - j : len(x) - j]
        floor = np.array([ACC_CLIP_FLOOR_MPS2] * 3 + [GYRO_CLIP_FLOOR_RAD_S] * 3)
        # A range limit is the largest magnitude the sensor ever reports on any axis.
        mag = np.abs(cur)
        peak = np.empty_like(mag)
        for kind in (slice(0, 3), slice(3, 6)):
            run = np.maximum.accumulate(mag[:, kind].max(axis=1))
            i = 0 if kind.start == 0 else 1
            run = np.maximum(run, self._peak[i])
            self._peak[i] = float(run[-1])
            peak[:, kind] = run[:, None]
        top = mag >= peak
        clipped_ch = flat & (np.abs(last) >= floor) & top[n - len(last) :]
        clipped = np.zeros(n, dtype=bool)
        clipped[n - len(clipped_ch) :] = clipped_ch.any(axis=1)
        if not clipped.any():
            return block
        self.clipped_samples += int(clipped.sum())
        hit = clipped_ch.any(axis=0)
        if hit[:3].any():
            self.clipped_acc = True
            mags = np.abs(last[:, :3][clipped_ch[:, :3]])
            self.acc_limit_mps2 = max(self.acc_limit_mps2, float(mags.max()))
        if hit[3:].any():
            self.clipped_gyro = True
            mags = np.abs(last[:, 3:][clipped_ch[:, 3:]])
            self.gyro_limit_rad_s = max(self.gyro_limit_rad_s, float(mags.max()))
        keep = ~clipped
        return SensorSamples(
            block.placement, block.time_s[keep], block.acc_mps2[keep], block.gyro_rad_s[keep]
        )

    def notice(self, placement: str) -> str | None:
        """One line for the lifter, or None if nothing was clipped."""
        if not self.clipped_samples:
            return None
        what = []
        if self.clipped_acc:
            what.append(f"accelerometer at its range limit (±{self.acc_limit_mps2 / G_MPS2:.1f} g)")
        if self.clipped_gyro:
            what.append(
                f"gyroscope at its range limit (±{self.gyro_limit_rad_s / RAD_PER_DEG:.0f} deg/s)"
            )
        return (
            f"{placement} sensor: {' and '.join(what)} on {self.clipped_samples} samples; "
            "angles there are interpolated, or withheld where the stretch is long "
            "(set a wider range on the sensor if it supports one)"
        )
