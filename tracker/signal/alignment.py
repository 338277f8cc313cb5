"""Two-sensor clock alignment by cross-correlating sagittal angular velocity.

At 150 deg/s, 10 ms of misalignment between the two sensors is 1.5 deg of fake lumbar
flexion, so the sacrum clock is mapped onto the lumbar clock (the recording timeline)
as ``t_sacrum = t_lumbar + lag_s(t_lumbar)``. Both sensors see the pelvis rotation in
every hinge, so their sagittal angular velocities are strongly correlated; the lag that
maximises the correlation over a window of motion is that window's clock offset.
Offsets drift (crystal tolerance, up to ~100 ppm), so estimates from successive windows
are fitted with a line. The sample clocks give the coarse alignment (they are assumed to
agree within ``max_lag_s``).
"""

from __future__ import annotations

import numpy as np

#: Correlation below this means the window says nothing about the offset.
MIN_CORRELATION = 0.8


def estimate_lag_s(
    t_ref_s: np.ndarray,
    w_ref: np.ndarray,
    t_other_s: np.ndarray,
    w_other: np.ndarray,
    max_lag_s: float,
    step_s: float,
) -> tuple[float, float] | None:
    """Lag ``L`` maximising corr(w_ref(t), w_other(t + L)); returns (lag_s, correlation).

    ``w_other`` is interpolated at ``t_ref_s + L`` for every candidate lag, then the peak
    is refined with a parabola through its neighbours. None when the window has too
    little motion or the correlation is weak.
    """
    if len(t_ref_s) < 16 or np.std(w_ref) < 1e-6:
        return None
    lags = np.arange(-max_lag_s, max_lag_s + step_s / 2, step_s)
    a = w_ref - w_ref.mean()
    na = np.sqrt(np.sum(a * a))
    corr = np.empty(len(lags))
    for i, lag in enumerate(lags):
        b = np.interp(t_ref_s + lag, t_other_s, w_other)
        b = b - b.mean()
        nb = np.sqrt(np.sum(b * b))
        corr[i] = np.sum(a * b) / (na * nb) if nb > 0 else 0.0
    k = int(np.argmax(corr))
    if corr[k] < MIN_CORRELATION:
        return None
    lag = float(lags[k])
    if 0 < k < len(lags) - 1:
        y0, y1, y2 = corr[k - 1], corr[k], corr[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            lag += step_s * 0.5 * (y0 - y2) / den
    return lag, float(corr[k])


class LagModel:
    """Offset estimates over time, and the line through them used to map clocks."""

    def __init__(self, min_span_for_drift_s: float = 60.0, keep: int = 30) -> None:
        self.min_span_for_drift_s = min_span_for_drift_s
        self.keep = keep
        self.times_s: list[float] = []
        self.lags_s: list[float] = []

    def add(self, t_s: float, lag_s: float) -> None:
        self.times_s.append(t_s)
        self.lags_s.append(lag_s)
        if len(self.times_s) > self.keep:
            self.times_s.pop(0)
            self.lags_s.pop(0)

    @property
    def empty(self) -> bool:
        return not self.lags_s

    def lag_at(self, t_s: np.ndarray) -> np.ndarray:
        """Lag to apply at lumbar times ``t_s`` (0 before any estimate)."""
        if not self.lags_s:
            return np.zeros_like(t_s)
        t = np.asarray(self.times_s)
        lag = np.asarray(self.lags_s)
        if len(t) >= 3 and t[-1] - t[0] >= self.min_span_for_drift_s:
            slope, intercept = np.polyfit(t - t[-1], lag, 1)
            return intercept + slope * (t_s - t[-1])
        return np.full_like(t_s, float(np.median(lag)))
