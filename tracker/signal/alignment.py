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
) -> tuple[float, float] | None:
    """Lag ``L`` maximising corr(w_ref(t), w_other(t + L)); returns (lag_s, correlation).

    ``t_ref_s`` is a uniform grid. ``w_other`` is interpolated onto that grid extended by
    ``max_lag_s`` on both sides, the normalised correlation is computed for every whole
    sample of lag, and the peak is refined with a parabola through its neighbours
    (sub-millisecond for smooth signals at 100-200 Hz). None when the window has too
    little motion or the correlation is weak.
    """
    n = len(t_ref_s)
    if n < 16 or np.std(w_ref) < 1e-6:
        return None
    dt = float(t_ref_s[1] - t_ref_s[0])
    k = max(1, int(np.ceil(max_lag_s / dt)))
    grid = t_ref_s[0] + dt * np.arange(-k, n + k)
    other = np.interp(grid, t_other_s, w_other)
    a = w_ref - w_ref.mean()
    na = float(np.sqrt(a @ a))
    # Sliding windows of ``other`` for lags -k..k samples.
    win = np.lib.stride_tricks.sliding_window_view(other, n)[: 2 * k + 1]
    b = win - win.mean(axis=1, keepdims=True)
    nb = np.sqrt(np.einsum("ij,ij->i", b, b))
    corr = (b @ a) / np.where(nb > 0, na * nb, np.inf)
    m = int(np.argmax(corr))
    if corr[m] < MIN_CORRELATION:
        return None
    lag = (m - k) * dt
    if 0 < m < len(corr) - 1:
        y0, y1, y2 = corr[m - 1], corr[m], corr[m + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            lag += dt * 0.5 * (y0 - y2) / den
    return float(lag), float(corr[m])


class LagModel:
    """Offset estimates over time, and the line through them used to map clocks."""

    def __init__(self, min_span_for_drift_s: float = 60.0, keep: int = 30) -> None:
        self.min_span_for_drift_s = min_span_for_drift_s
        self.keep = keep
        self.times_s: list[float] = []
        self.lags_s: list[float] = []
        #: The fit of the current estimates (see `_fit`), None until needed again.
        self._fit_cache: tuple | None = None

    def add(self, t_s: float, lag_s: float) -> None:
        self.times_s.append(t_s)
        self.lags_s.append(lag_s)
        if len(self.times_s) > self.keep:
            self.times_s.pop(0)
            self.lags_s.pop(0)
        self._fit_cache = None

    @property
    def empty(self) -> bool:
        return not self.lags_s

    def lag_at(self, t_s: np.ndarray) -> np.ndarray:
        """Lag to apply at lumbar times ``t_s`` (0 before any estimate)."""
        if not self.lags_s:
            return np.zeros_like(t_s)
        if self._fit_cache is None:
            self._fit_cache = self._fit()
        t_ref, intercept, slope = self._fit_cache
        if slope is None:
            return np.full_like(t_s, intercept)
        return intercept + slope * (t_s - t_ref)

    def _fit(self) -> tuple:
        """(t_ref_s, intercept_s, slope) of the line through the estimates, or
        (None, median lag, None) while they span too little time to show drift. Kept
        until the next estimate: most windows map with an unchanged fit."""
        t = np.asarray(self.times_s)
        lag = np.asarray(self.lags_s)
        if len(t) >= 3 and t[-1] - t[0] >= self.min_span_for_drift_s:
            # Least squares in closed form (np.polyfit's general solver costs 20x more).
            tc = t - t[-1]
            dtc = tc - tc.mean()
            slope = float(dtc @ (lag - lag.mean()) / (dtc @ dtc))
            return t[-1], float(lag.mean() - slope * tc.mean()), slope
        return None, float(np.median(lag)), None
