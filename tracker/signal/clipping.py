"""Samples at a sensor's range limit (saturation), taken out before resampling.

A saturated channel repeats the same full-scale count while the true value is beyond
it: a swing faster than a gyro's range, an impact harder than an accelerometer's. Its
value is wrong, and so is every orientation integrated through it. Such samples are
dropped, so the stream has a hole there: the resampler bridges a short one with a cubic
from the slopes on each side (which restores the shape of a clipped peak far better than
the flat top; the orientation filter then leans on the accelerometer for a while, as
the cubic still misses the rotation beyond the range) and treats a long one as a
disconnect: no angles inside it, the orientation re-aligned after it
(`tracker.signal.orientation`).

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

import bisect

import numpy as np

from tracker.samples import SensorSamples
from tracker.units import G_MPS2, RAD_PER_DEG

#: Smallest magnitudes at which an exactly flat channel is taken as clipped.
ACC_CLIP_FLOOR_MPS2 = 1.9 * G_MPS2
GYRO_CLIP_FLOOR_RAD_S = 120.0 * RAD_PER_DEG
#: Equal samples in a row that make a flat top.
FLAT_RUN = 4
#: Clipped samples in a session below which the lifter is not told.
NOTICE_MIN_SAMPLES = 10


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
        #: Times of the samples taken out (`in_clipped_hole` forgets the old ones).
        self.dropped_time_s: list[float] = []

    def in_clipped_hole(self, time_s: np.ndarray, span_s: np.ndarray) -> np.ndarray:
        """Which grid points (times, and the length of the hole each was interpolated
        across) lie in a hole left by clipped samples. Grid points come in order, so
        dropped times over 10 s before the first of them are forgotten."""
        out = np.zeros(len(time_s), dtype=bool)
        if not self.dropped_time_s or not len(time_s):
            return out
        d = np.asarray(self.dropped_time_s)
        k = np.searchsorted(d, time_s)
        before = np.abs(time_s - d[np.maximum(k - 1, 0)])
        after = np.abs(d[np.minimum(k, len(d) - 1)] - time_s)
        out = np.minimum(before, after) <= span_s
        # Holes are under a few seconds; older dropped times can go.
        del self.dropped_time_s[: bisect.bisect_left(self.dropped_time_s, float(time_s[0]) - 10.0)]
        return out

    def drop_clipped(self, block: SensorSamples) -> SensorSamples:
        n = len(block)
        if n == 0:
            return block
        k = FLAT_RUN - 1
        acc, gyro = block.acc_mps2, block.gyro_rad_s
        peak_before = list(self._peak)
        acc_ext = max(float(acc.max()), -float(acc.min()))
        gyro_ext = max(float(gyro.max()), -float(gyro.min()))
        self._peak = [max(self._peak[0], acc_ext), max(self._peak[1], gyro_ext)]
        prev = self._prev
        tail = np.concatenate((acc[-k:], gyro[-k:]), axis=1)
        if len(tail) < k and prev is not None:
            tail = np.concatenate((prev, tail))[-k:]
        self._prev = tail
        if acc_ext < ACC_CLIP_FLOOR_MPS2 and gyro_ext < GYRO_CLIP_FLOOR_RAD_S:
            return block  # nothing near any range limit in this block
        # Candidates: beyond a floor and flat for FLAT_RUN samples (rare: only those rows
        # are looked at further). Column by column: numpy reduces a short row slowly.
        big_acc = np.abs(acc) >= ACC_CLIP_FLOOR_MPS2
        big_gyro = np.abs(gyro) >= GYRO_CLIP_FLOOR_RAD_S
        any_big = big_acc[:, 0] | big_acc[:, 1] | big_acc[:, 2]
        any_big |= big_gyro[:, 0] | big_gyro[:, 1] | big_gyro[:, 2]
        off = 0 if prev is None else len(prev)  # row i of the block is row off + i of x
        rows = np.flatnonzero(any_big)
        rows = rows[rows + off >= k]
        if not len(rows):
            return block
        cur = np.concatenate((acc, gyro), axis=1)
        x = cur if prev is None else np.concatenate((prev, cur))
        flat = np.concatenate((big_acc[rows], big_gyro[rows]), axis=1)
        for j in range(1, FLAT_RUN):
            flat &= x[rows + off] == x[rows + off - j]
        hit_rows = flat.any(axis=1)
        if not hit_rows.any():
            return block
        rows, flat = rows[hit_rows], flat[hit_rows]
        # ... and at the largest magnitude its kind has reached by then, on any axis.
        mag = np.abs(cur)
        for i, kind in enumerate((slice(0, 3), slice(3, 6))):
            m = mag[:, kind]
            running = np.maximum.accumulate(np.maximum(np.maximum(m[:, 0], m[:, 1]), m[:, 2]))
            peak = np.maximum(running[rows], peak_before[i])
            flat[:, kind] &= mag[rows, kind] >= peak[:, None]
        hit_rows = flat.any(axis=1)
        if not hit_rows.any():
            return block
        rows, flat = rows[hit_rows], flat[hit_rows]
        self.clipped_samples += len(rows)
        if flat[:, :3].any():
            self.clipped_acc = True
            self.acc_limit_mps2 = max(self.acc_limit_mps2, float(mag[rows, :3][flat[:, :3]].max()))
        if flat[:, 3:].any():
            self.clipped_gyro = True
            lim = float(mag[rows, 3:][flat[:, 3:]].max())
            self.gyro_limit_rad_s = max(self.gyro_limit_rad_s, lim)
        keep = np.ones(n, dtype=bool)
        keep[rows] = False
        self.dropped_time_s.extend(block.time_s[rows])
        return SensorSamples(
            block.placement, block.time_s[keep], block.acc_mps2[keep], block.gyro_rad_s[keep]
        )

    def notice(self, placement: str) -> str | None:
        """One line for the lifter, or None if (next to) nothing was clipped: a quantised
        peak can, rarely, repeat one count long enough to be taken out, which is harmless
        and not worth a word."""
        if self.clipped_samples < NOTICE_MIN_SAMPLES:
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
