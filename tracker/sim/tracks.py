"""Smooth trajectories of the body model's channels, built from knots.

A motion is written as knots ``(time_s, value)`` per channel (pelvis tilt, lumbar flexion,
hip joint centre offsets, ...). Between knots a channel follows a monotone cubic (PCHIP:
no overshoot, zero slope at turning points and pauses, non-zero slope through
intermediate knots) and is then smoothed with three passes of a moving average, which
makes it C2 and more, so that twice differentiating positions at the internal rate is
clean. Additive overlays (gait, weight shifting, postural sway) are summed on top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline, PchipInterpolator
from scipy.ndimage import uniform_filter1d

#: Channels of the body model (docs/truth-format.md, "The body model").
CHANNELS: tuple[str, ...] = (
    "theta_p",  # pelvis sagittal tilt, rad, + forward
    "lam",  # lumbar flexion λ (L1 vs S1), rad, + flexion
    "hx",  # hip joint centre offset, heading frame, m (+ anterior)
    "hy",  # m (+ left)
    "hz",  # m (+ up), relative to standing height
    "roll_p",  # pelvis obliquity about the anterior axis, rad
    "yaw_p",  # pelvis axial rotation relative to the heading, rad
    "roll_l",  # lumbar lateral bending (L1 vs S1), rad
    "twist_l",  # lumbar axial rotation (L1 vs S1), rad
    "heading",  # whole-body heading about world z, rad
    "speed",  # forward walking speed along the heading, m/s
    "thigh",  # flexion of the thigh next to a waist-worn pouch, rad (it rocks a loose one)
)


@dataclass
class Track:
    """Knots of one channel; the channel holds its last value after the last knot."""

    t_s: list[float] = field(default_factory=lambda: [0.0])
    value: list[float] = field(default_factory=lambda: [0.0])

    def knot(self, t_s: float, value: float) -> None:
        if t_s <= self.t_s[-1] + 1e-9:
            # Same instant: the later knot wins (keeps the knot list strictly increasing).
            self.value[-1] = float(value)
            return
        self.t_s.append(float(t_s))
        self.value.append(float(value))

    def hold(self, t_s: float) -> None:
        """Stay at the last value until ``t_s`` (so the next move starts from rest)."""
        if t_s > self.t_s[-1] + 1e-9:
            self.knot(t_s, self.value[-1])

    @property
    def last(self) -> float:
        return self.value[-1]

    def evaluate(self, t_s: np.ndarray) -> np.ndarray:
        if len(self.t_s) == 1:
            return np.full(len(t_s), self.value[0])
        # Rebuilt per call: knots may have been added since; a call covers a whole chunk.
        f = PchipInterpolator(np.asarray(self.t_s), np.asarray(self.value), extrapolate=False)
        out = f(np.clip(t_s, self.t_s[0], self.t_s[-1]))
        return np.asarray(out, dtype=np.float64)


Overlay = Callable[[np.ndarray], dict[str, np.ndarray]]


@dataclass
class Timeline:
    """Knot tracks of every channel, a cursor ``now_s`` and additive overlays."""

    tracks: dict[str, Track] = field(default_factory=lambda: {c: Track() for c in CHANNELS})
    now_s: float = 0.0
    #: (start_s, end_s, overlay): overlay(t) gives additive values for t in [start, end].
    overlays: list[tuple[float, float, Overlay]] = field(default_factory=list)

    def value(self, channel: str) -> float:
        return self.tracks[channel].last

    def move(self, duration_s: float, knots: dict[str, list[tuple[float, float]]]) -> None:
        """Move channels over ``[now, now + duration]`` and advance the cursor.

        ``knots[channel]`` lists ``(fraction of duration, value)``; each moved channel
        first holds its value up to ``now`` so the move starts from rest.
        """
        for ch, pts in knots.items():
            tr = self.tracks[ch]
            tr.hold(self.now_s)
            for frac, v in pts:
                tr.knot(self.now_s + frac * duration_s, v)
        self.now_s += duration_s

    def to(self, duration_s: float, **targets: float) -> None:
        """Move each named channel to its target value over ``duration_s``."""
        self.move(duration_s, {ch: [(1.0, v)] for ch, v in targets.items()})

    def wait(self, duration_s: float) -> None:
        self.now_s += duration_s

    def overlay(self, start_s: float, end_s: float, fn: Overlay) -> None:
        self.overlays.append((start_s, end_s, fn))

    def render(self, t_s: np.ndarray, smooth_s: float) -> dict[str, np.ndarray]:
        """Every channel at times ``t_s`` (uniform grid), smoothed over ~``smooth_s``."""
        dt = float(t_s[1] - t_s[0])
        width = max(1, round(smooth_s / dt) | 1)
        out: dict[str, np.ndarray] = {}
        for ch, tr in self.tracks.items():
            x = tr.evaluate(t_s)
            for _ in range(3):
                x = uniform_filter1d(x, width, mode="nearest")
            out[ch] = x
        for start_s, end_s, fn in self.overlays:
            i0, i1 = np.searchsorted(t_s, [start_s, end_s])
            if i1 <= i0:
                continue
            for ch, add in fn(t_s[i0:i1]).items():
                out[ch][i0:i1] += add
        return out


def envelope(t_s: np.ndarray, start_s: float, end_s: float, ramp_s: float) -> np.ndarray:
    """0 -> 1 -> 0 with C2 (quintic smoothstep) ramps, for fading overlays in and out."""
    ramp_s = max(1e-3, min(ramp_s, 0.5 * (end_s - start_s)))
    u = np.clip(np.minimum(t_s - start_s, end_s - t_s) / ramp_s, 0.0, 1.0)
    return u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)


def sway_spline(
    rng: np.random.Generator, duration_s: float, corr_s: float, sd: float
) -> CubicSpline:
    """Postural sway as a C2 function of time: smoothed noise on a 0.1 s grid, splined.

    A function of time (not an array) so the renderer can evaluate any chunk of the
    session and get the same values.
    """
    knot_dt = 0.1
    n = int(duration_s / knot_dt) + 8
    t = (np.arange(n) - 4) * knot_dt
    return CubicSpline(t, smooth_noise(rng, n, knot_dt, corr_s, sd))


def smooth_noise(
    rng: np.random.Generator, n: int, dt_s: float, corr_s: float, sd: float
) -> np.ndarray:
    """Band-limited random process (sway): white noise smoothed over ``corr_s``, given SD."""
    width = max(1, round(corr_s / dt_s))
    x = rng.standard_normal(n + 3 * width)
    for _ in range(3):
        x = uniform_filter1d(x, width, mode="wrap")
    x = x[width : width + n]
    s = float(np.std(x))
    return x * (sd / s) if s > 0 else x
