"""Streaming resampling of one sensor onto a uniform grid of its own clock.

The orientation filter needs a constant sample period, while real streams jitter and lose
packets. The period is *measured* from the device timestamps (median interval of the
first samples), never assumed; samples are then linearly interpolated onto
``t0 + k * period``. Interpolation uses only the two bracketing input samples, so the
output does not depend on how the input was split into blocks. A stream faster than
`ANALYSIS_RATE_HZ` is then averaged in whole groups of grid points (``period_s`` is the
output grid's period, ``input_period_s`` the measured one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.errors import AnalysisError
from tracker.limits import MAX_CLOCK_JUMP_S, MAX_SAMPLE_RATE_HZ

#: The analysis needs no more than about this rate (the motion of a lift lies below
#: 10 Hz); a faster stream is averaged in groups of a whole number of its samples
#: (208 Hz -> 52 Hz, 200 Hz -> 50 Hz), which cuts the work after this stage to a quarter.
ANALYSIS_RATE_HZ = 52.0
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
    #: Length of the input interval each grid point was interpolated across (s).
    span_s: np.ndarray


def measure_period_s(time_s: np.ndarray) -> float:
    """Median sample interval of increasing timestamps (robust to jitter and packet loss)."""
    dt = np.diff(time_s)
    dt = dt[dt > 0]
    if len(dt) == 0:
        raise AnalysisError("cannot measure the sample rate: timestamps do not increase")
    return float(np.median(dt))


#: Gaps longer than this many sample periods are bridged with a cubic (Hermite) curve
#: whose end slopes come from the samples on either side: the angular rate of a hinge
#: or swing is smooth, and a straight line across a 0.3 s hole in a swing loses tens of
#: degrees of rotation where the cubic loses a few.
HERMITE_MIN_GAP_PERIODS = 2.5
#: Longer holes (a disconnect) are bridged with a straight line: a cubic driven by end
#: slopes would swing wildly over seconds.
HERMITE_MAX_GAP_S = 0.6
#: Input samples carried from one block to the next (the bracket and its neighbours).
CARRY = 3
#: Input-grid points interpolated in one pass at most: a long gap is bridged in passes,
#: so the working arrays stay a few MB however long the gap (the output, at the analysis
#: rate, is what grows with it).
PASS_POINTS = 1 << 16


class UniformResampler:
    """Interpolation onto a uniform grid; fed block by block.

    A grid point is produced once the input sample *after* its bracket has arrived (the
    cubic across a gap needs it), so every output depends only on the four input samples
    around it, however the stream was split.
    """

    def __init__(self, max_gap_s: float) -> None:
        self.max_gap_s = max_gap_s
        #: Measured input period and the output grid's period (a whole multiple of it).
        self.input_period_s: float | None = None
        self.period_s: float | None = None
        self._pending_t: list[np.ndarray] = []
        self._pending_acc: list[np.ndarray] = []
        self._pending_gyro: list[np.ndarray] = []
        self._n_pending = 0
        self._carry_t = np.empty(0)
        self._carry_acc = np.empty((0, 3))
        self._carry_gyro = np.empty((0, 3))
        self._next_k = 0
        self._t0: float | None = None
        #: Input-grid points averaged into one output point.
        self._step = 1

    def push(self, time_s: np.ndarray, acc: np.ndarray, gyro: np.ndarray) -> UniformBlock | None:
        """Add samples; return the grid points that are now fully determined (or None)."""
        if self.period_s is None:
            self._pending_t.append(time_s)
            self._pending_acc.append(acc)
            self._pending_gyro.append(gyro)
            self._n_pending += len(time_s)
            if self._n_pending <= PERIOD_PROBE_SAMPLES:
                return None
            time_s, acc, gyro = self._take_pending()
            self._set_period(measure_period_s(time_s[: PERIOD_PROBE_SAMPLES + 1]))
            self._t0 = float(time_s[0])
        return self._interpolate(time_s, acc, gyro, final=False)

    def _set_period(self, input_period_s: float) -> None:
        if 1.0 / input_period_s > MAX_SAMPLE_RATE_HZ:
            raise AnalysisError(
                f"the sample rate measured from the timestamps is {1.0 / input_period_s:.4g} "
                f"Hz, above {MAX_SAMPLE_RATE_HZ:.0f} Hz (MAX_SAMPLE_RATE_HZ): are the times "
                f"in seconds?"
            )
        self.input_period_s = input_period_s
        self._step = max(1, round(1.0 / (input_period_s * ANALYSIS_RATE_HZ)))
        self.period_s = self._step * input_period_s

    def flush(self) -> UniformBlock | None:
        """End of stream: everything still held back (or waiting for the period probe)."""
        if self.period_s is None:
            if self._n_pending < 2:
                return None
            time_s, acc, gyro = self._take_pending()
            self._set_period(measure_period_s(time_s))
            self._t0 = float(time_s[0])
            return self._interpolate(time_s, acc, gyro, final=True)
        return self._interpolate(np.empty(0), np.empty((0, 3)), np.empty((0, 3)), final=True)

    def _take_pending(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(self._pending_t) == 1:  # a whole recording in one block: no copy
            t, acc, gyro = self._pending_t[0], self._pending_acc[0], self._pending_gyro[0]
        else:
            t = np.concatenate(self._pending_t)
            acc = np.concatenate(self._pending_acc)
            gyro = np.concatenate(self._pending_gyro)
        self._pending_t, self._pending_acc, self._pending_gyro = [], [], []
        return t, acc, gyro

    def _interpolate(
        self, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray, final: bool
    ) -> UniformBlock | None:
        if len(self._carry_t):
            t = np.concatenate([self._carry_t, t])
            acc = np.concatenate([self._carry_acc, acc])
            gyro = np.concatenate([self._carry_gyro, gyro])
        # Grid points held back to complete a group lie within the last ``step`` input
        # intervals; their brackets and the cubic's outer samples must stay available.
        keep = CARRY + 2 * self._step + 2 if self._step > 1 else CARRY
        self._carry_t, self._carry_acc, self._carry_gyro = t[-keep:], acc[-keep:], gyro[-keep:]
        if len(t) < 2:
            return None
        _check_jumps(t)
        assert self.input_period_s is not None and self._t0 is not None
        period, step = self.input_period_s, self._step
        # Input-grid points bracketed by samples that have a successor (or all, at the
        # end), in whole groups of ``step``.
        limit = t[-1] if final else t[-2]
        k_last = int(np.floor((limit - self._t0) / period)) + 1
        while self._t0 + k_last * period > limit:
            k_last -= 1
        k_last = (k_last + 1) // step * step - 1
        if k_last < self._next_k:
            return None
        # Whole groups per pass, so each pass averages exactly the groups one pass would.
        per_pass = max(1, PASS_POINTS // step) * step
        parts = [
            self._grid(t, acc, gyro, k0, min(k0 + per_pass, k_last + 1))
            for k0 in range(self._next_k, k_last + 1, per_pass)
        ]
        self._next_k = k_last + 1
        if len(parts) == 1:
            return parts[0]
        return UniformBlock(
            *(np.concatenate(a) for a in zip(*(_fields(b) for b in parts), strict=True))
        )

    def _grid(
        self, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray, k0: int, k1: int
    ) -> UniformBlock:
        """The output for input-grid points ``k0 .. k1 - 1`` (whole groups)."""
        assert self.input_period_s is not None and self._t0 is not None
        period, step = self.input_period_s, self._step
        k = np.arange(k0, k1)
        tg = self._t0 + k * period
        idx = np.searchsorted(t, tg, side="right")
        np.clip(idx, 1, len(t) - 1, out=idx)
        # Each bracket's ends, looked up once for the span, the fraction and both
        # interpolations.
        lo = idx - 1
        t_lo = t.take(lo)
        span = t.take(idx)
        span -= t_lo
        frac = tg - t_lo
        frac /= span
        acc_g = _linear(acc, lo, idx, frac)
        gyro_g = _linear(gyro, lo, idx, frac)
        # Gaps are rare: the other conditions are checked at the long spans only.
        c = np.flatnonzero(span > HERMITE_MIN_GAP_PERIODS * self.input_period_s)
        if len(c):
            c = c[(span[c] <= HERMITE_MAX_GAP_S) & (idx[c] >= 2) & (idx[c] + 1 < len(t))]
        if len(c):
            acc_g[c] = _hermite(t, acc, idx[c], frac[c])
            gyro_g[c] = _hermite(t, gyro, idx[c], frac[c])
        if step == 1:
            return UniformBlock(tg, acc_g, gyro_g, span > self.max_gap_s, span)
        # A faster stream than the analysis needs: each output point is the mean of a
        # group of input-grid points, at the group's middle time. The mean angular rate
        # keeps the rotation over the group exactly, so nothing is lost to integrate.
        group_span = _group_max(span, step)
        return UniformBlock(
            _group_mean(tg, step),
            _group_mean(acc_g, step),
            _group_mean(gyro_g, step),
            group_span > self.max_gap_s,
            group_span,
        )


def _fields(b: UniformBlock) -> tuple[np.ndarray, ...]:
    return (b.time_s, b.acc_mps2, b.gyro_rad_s, b.in_gap, b.span_s)


def _check_jumps(t: np.ndarray) -> None:
    """Refuse a forward step longer than `MAX_CLOCK_JUMP_S` (tracker.limits): bridging
    it would fill the grid in proportion to a span one bad timestamp can claim."""
    steps = np.diff(t)
    k = int(np.argmax(steps))
    if steps[k] > MAX_CLOCK_JUMP_S:
        raise AnalysisError(
            f"the sensor's time jumps from {t[k]:.3f} s to {t[k + 1]:.3f} s, more than "
            f"{MAX_CLOCK_JUMP_S:.0f} s (MAX_CLOCK_JUMP_S): a clock fault; the samples "
            f"after the jump cannot be analysed with those before it"
        )


def _group_mean(x: np.ndarray, step: int) -> np.ndarray:
    """Mean of consecutive groups of ``step`` rows (strided sums: numpy reduces a short
    inner axis slowly)."""
    out = x[0::step].copy()
    for j in range(1, step):
        out += x[j::step]
    out *= 1.0 / step
    return out


def _group_max(x: np.ndarray, step: int) -> np.ndarray:
    out = x[0::step].copy()
    for j in range(1, step):
        np.maximum(out, x[j::step], out=out)
    return out


def _linear(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Linear interpolation at ``frac`` of the way across the brackets [lo, hi] (row
    indices; grid times are never past the second-to-last sample, see `_interpolate`,
    so the bracket and the result are the same however the stream was split)."""
    x0 = x.take(lo, axis=0)
    out = x.take(hi, axis=0)
    out -= x0
    out *= frac[:, None]
    out += x0
    return out


def _hermite(t: np.ndarray, x: np.ndarray, idx: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Cubic Hermite across the bracket [idx-1, idx] with one-sided end slopes."""
    t0, t1, t2, t3 = t[idx - 2], t[idx - 1], t[idx], t[idx + 1]
    m1 = (x[idx - 1] - x[idx - 2]) / (t1 - t0)[:, None]
    m2 = (x[idx + 1] - x[idx]) / (t3 - t2)[:, None]
    h = (t2 - t1)[:, None]
    s = s[:, None]
    s2, s3 = s * s, s * s * s
    return (
        (2 * s3 - 3 * s2 + 1) * x[idx - 1]
        + (s3 - 2 * s2 + s) * h * m1
        + (-2 * s3 + 3 * s2) * x[idx]
        + (s3 - s2) * h * m2
    )
