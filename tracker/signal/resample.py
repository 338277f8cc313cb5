"""Streaming resampling of one sensor onto a uniform grid of its own clock.

The orientation filter needs a constant sample period, while real streams jitter and lose
packets. The period is *measured* from the device timestamps (median interval of the
first samples), never assumed; samples are then linearly interpolated onto
``t0 + k * period_s``. Interpolation uses only the two bracketing input samples, so the
output does not depend on how the input was split into blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.errors import AnalysisError

#: Intervals used to measure the sample period before the first output.
PERIOD_PROBE_SAMPLES = 128


@dataclass
class UniformBlock:
    """Resampled samples: grid times (sensor clock), acc (m/s^2), gyro (rad/s)."""

    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyro_rad_s: np.ndarray
    #: True where the grid point falls inside a gap longer than ``max_gap_s``.
    in_gap: np.ndarray


def measure_period_s(time_s: np.ndarray) -> float:
    """Median sample interval of increasing timestamps (robust to jitter and packet loss)."""
    dt = np.diff(time_s)
    dt = dt[dt > 0]
    if len(dt) == 0:
        raise AnalysisError("cannot measure the sample rate: timestamps do not increase")
    return float(np.median(dt))


class UniformResampler:
    """Linear interpolation onto a uniform grid; fed block by block."""

    def __init__(self, max_gap_s: float) -> None:
        self.max_gap_s = max_gap_s
        self.period_s: float | None = None
        self._pending_t: list[np.ndarray] = []
        self._pending_acc: list[np.ndarray] = []
        self._pending_gyro: list[np.ndarray] = []
        self._n_pending = 0
        # Last input sample (carried so the next block can interpolate from it).
        self._last_t: float | None = None
        self._last_acc: np.ndarray | None = None
        self._last_gyro: np.ndarray | None = None
        self._next_k = 0
        self._t0: float | None = None

    @property
    def t0_s(self) -> float | None:
        return self._t0

    def push(self, time_s: np.ndarray, acc: np.ndarray, gyro: np.ndarray) -> UniformBlock | None:
        """Add samples; return the grid points that are now fully determined (or None)."""
        if self.period_s is None:
            self._pending_t.append(time_s)
            self._pending_acc.append(acc)
            self._pending_gyro.append(gyro)
            self._n_pending += len(time_s)
            if self._n_pending <= PERIOD_PROBE_SAMPLES:
                return None
            time_s = np.concatenate(self._pending_t)
            acc = np.concatenate(self._pending_acc)
            gyro = np.concatenate(self._pending_gyro)
            self._pending_t, self._pending_acc, self._pending_gyro = [], [], []
            self.period_s = measure_period_s(time_s[: PERIOD_PROBE_SAMPLES + 1])
            self._t0 = float(time_s[0])
        return self._interpolate(time_s, acc, gyro)

    def _interpolate(self, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray) -> UniformBlock | None:
        if len(t) == 0:
            return None
        if self._last_t is not None:
            t = np.concatenate([[self._last_t], t])
            acc = np.concatenate([self._last_acc[None, :], acc])
            gyro = np.concatenate([self._last_gyro[None, :], gyro])
        assert self.period_s is not None and self._t0 is not None
        k_last = int(np.floor((t[-1] - self._t0) / self.period_s)) + 1
        # Only grid points that the samples so far bracket: the same points, with the
        # same bracketing samples, whichever way the stream was split into blocks.
        while self._t0 + k_last * self.period_s > t[-1]:
            k_last -= 1
        self._last_t, self._last_acc, self._last_gyro = float(t[-1]), acc[-1], gyro[-1]
        if k_last < self._next_k:
            return None
        k = np.arange(self._next_k, k_last + 1)
        self._next_k = k_last + 1
        tg = self._t0 + k * self.period_s
        idx = np.clip(np.searchsorted(t, tg, side="right"), 1, len(t) - 1)
        t_lo, t_hi = t[idx - 1], t[idx]
        span = t_hi - t_lo
        frac = np.where(span > 0, (tg - t_lo) / np.where(span > 0, span, 1.0), 0.0)[:, None]
        # (1 - f) * lo + f * hi is exact at both ends, so a grid point that coincides
        # with the last sample of a block gets the same value as in one batch.
        acc_g = (1.0 - frac) * acc[idx - 1] + frac * acc[idx]
        gyro_g = (1.0 - frac) * gyro[idx - 1] + frac * gyro[idx]
        return UniformBlock(tg, acc_g, gyro_g, span > self.max_gap_s)

    def flush(self) -> UniformBlock | None:
        """End of stream: resample whatever is still waiting for the period probe."""
        if self.period_s is not None or self._n_pending < 2:
            return None
        time_s = np.concatenate(self._pending_t)
        acc = np.concatenate(self._pending_acc)
        gyro = np.concatenate(self._pending_gyro)
        self._pending_t, self._pending_acc, self._pending_gyro = [], [], []
        self.period_s = measure_period_s(time_s)
        self._t0 = float(time_s[0])
        return self._interpolate(time_s, acc, gyro)
