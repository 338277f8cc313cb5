"""Locomotion of daily life: slow and brisk walking, stairs up and down, jogging.

Each bout is one periodic movement at step frequency on top of the timeline's knots:

* the hips' vertical motion comes from the vertical force of the legs over a step, so
  accelerations are those a waist-worn sensor sees: in walking a bounce of a few cm with
  a heel-strike transient at each initial contact; in jogging a spring-mass stance (a
  half-sine of the vertical force, 2-3 g at its peak) and a flight phase in free fall;
* stairs add the rise (or drop) of one step per step, spread smoothly over it, and that
  height stays after the bout (a persistent overlay of the floor's height, so later
  activities move relative to the floor they stand on);
* the pelvis tilts a few degrees per step, leans forward (more going up stairs and
  jogging), and rocks, rotates and sways once per stride, as in `activities.walk`;
* forward speed oscillates per step (braking at contact, propulsion at push-off);
* one thigh swings forward and back once per stride (the ``thigh`` channel: only a
  loosely worn sensor next to it feels it, `tracker.sim.daily.Pouch`).

Cadence varies slowly within a bout (a few per cent), left and right steps differ a
little. Angles on the channels are radians; frames in docs/frames.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tracker.sim.plan import EventPlan
from tracker.sim.tracks import Overlay, Timeline, envelope
from tracker.units import G_MPS2, RAD_PER_DEG

TWO_PI = 2.0 * np.pi
#: Harmonics of the step frequency kept in the vertical waveform: up to this frequency
#: (Hz). Impacts at the lower back carry little above ~30 Hz (soft tissue filters them).
MAX_HARMONIC_HZ = 30.0
#: Points per step of the tabulated vertical waveform.
WAVEFORM_POINTS = 512


@dataclass(frozen=True)
class GaitStyle:
    """Ranges one bout's values are drawn from (uniform)."""

    step_hz: tuple[float, float]
    speed_mps: tuple[float, float]
    #: walking: amplitude of the hips' vertical bounce (m); None for running
    bounce_m: tuple[float, float] | None
    #: running: peak vertical specific force of the stance (g); None for walking
    peak_force_g: tuple[float, float] | None
    #: heel-strike transient at initial contact: peak (m/s^2) and width (s, SD)
    impact_mps2: tuple[float, float]
    impact_width_s: tuple[float, float]
    #: rise of the floor per step (m, + up), 0 on level ground
    rise_m: tuple[float, float]
    tilt_deg: tuple[float, float]  # pelvis tilt oscillation per step, amplitude
    lean_deg: tuple[float, float]  # forward lean of the pelvis during the bout
    lumbar_lean_deg: tuple[float, float]  # forward lean of the lumbar spine on top
    #: fore-aft acceleration per step (braking / propulsion), amplitude (m/s^2)
    fore_aft_mps2: tuple[float, float]
    turns: bool  # level walking and jogging turn now and then
    #: hip flexion-extension of one leg over a stride, amplitude, and its mean (deg)
    hip_deg: tuple[float, float]
    hip_mean_deg: tuple[float, float]


GAIT_STYLES: dict[str, GaitStyle] = {
    # Slow strolling: ~1.4-1.7 steps/s, 0.6-0.9 m/s, small bounce.
    "walk_slow": GaitStyle((1.4, 1.7), (0.6, 0.9), (0.010, 0.018), None, (1.0, 3.0),
                           (0.02, 0.04), (0.0, 0.0), (1.0, 2.0), (-1.0, 2.0), (-1.0, 1.0),
                           (0.8, 1.5), True, (12.0, 18.0), (5.0, 10.0)),
    # Brisk walking: ~1.9-2.2 steps/s, 1.4-1.8 m/s, larger bounce and heel strikes.
    "walk_brisk": GaitStyle((1.9, 2.2), (1.4, 1.8), (0.020, 0.030), None, (3.0, 7.0),
                            (0.015, 0.03), (0.0, 0.0), (2.0, 3.5), (1.0, 5.0), (0.0, 3.0),
                            (2.0, 3.5), True, (18.0, 25.0), (5.0, 12.0)),
    # Stairs up: ~1.5-2 steps/s, 0.15-0.19 m rise per step, trunk leaning forward.
    "stairs_up": GaitStyle((1.5, 2.0), (0.35, 0.55), (0.008, 0.015), None, (1.0, 3.0),
                           (0.02, 0.04), (0.15, 0.19), (3.0, 6.0), (5.0, 12.0), (3.0, 8.0),
                           (1.0, 2.5), False, (22.0, 32.0), (25.0, 35.0)),
    # Stairs down: a drop per step with a landing on each, little lean.
    "stairs_down": GaitStyle((1.6, 2.1), (0.4, 0.6), (0.008, 0.015), None, (4.0, 9.0),
                             (0.015, 0.03), (-0.19, -0.15), (2.0, 4.0), (0.0, 5.0),
                             (-1.0, 3.0), (1.5, 3.0), False, (12.0, 20.0), (10.0, 20.0)),
    # Jogging forward: 2.5-3 steps/s, 2-3.2 m/s, stance force 2-3 g, flight in between.
    "jog": GaitStyle((2.5, 3.0), (2.0, 3.2), None, (2.0, 3.0), (3.0, 10.0), (0.012, 0.025),
                     (0.0, 0.0), (2.0, 5.0), (4.0, 10.0), (0.0, 4.0), (3.0, 6.0), True,
                     (25.0, 35.0), (10.0, 20.0)),
    # Jogging on the spot: same cadence and forces, no progression.
    "jog_in_place": GaitStyle((2.5, 3.0), (0.0, 0.0), None, (2.0, 2.8), (2.0, 8.0),
                              (0.012, 0.025), (0.0, 0.0), (2.0, 4.0), (0.0, 6.0),
                              (0.0, 3.0), (1.0, 2.5), False, (15.0, 35.0), (15.0, 30.0)),
}  # fmt: skip


def _vertical_waveform(style: GaitStyle, rng: np.random.Generator, step_hz: float) -> np.ndarray:
    """One step of the hips' height (m, zero mean) at `WAVEFORM_POINTS` phases from
    initial contact, from the step's vertical acceleration band-limited to
    `MAX_HARMONIC_HZ`.

    Any zero-mean acceleration over a step is the second derivative of exactly one
    periodic, zero-mean height, found by dividing its harmonics by -(2 pi k f)^2.
    """
    u = np.arange(WAVEFORM_POINTS) / WAVEFORM_POINTS
    if style.bounce_m is not None:
        # Walking: lowest just after contact (loading), highest at midstance.
        bounce = rng.uniform(*style.bounce_m)
        acc = bounce * (TWO_PI * step_hz) ** 2 * np.cos(TWO_PI * (u - 0.1))
    else:
        assert style.peak_force_g is not None
        # Running: the stance's force averages gravity over the step, so a half-sine of
        # peak F lasts pi g / (2 F) of the step; the rest is flight (free fall).
        peak = rng.uniform(*style.peak_force_g) * G_MPS2
        duty = min(0.95, np.pi * G_MPS2 / (2.0 * peak))
        force = np.where(u < duty, peak * np.sin(np.pi * np.minimum(u / duty, 1.0)), 0.0)
        acc = force - G_MPS2
    # Heel strike: a short pulse at contact (a periodic Gaussian), its mean taken back
    # over the step so the height stays periodic.
    width_u = rng.uniform(*style.impact_width_s) * step_hz
    d = (u + 0.5) % 1.0 - 0.5
    pulse = np.exp(-0.5 * (d / width_u) ** 2)
    acc = acc + rng.uniform(*style.impact_mps2) * pulse
    acc = acc - acc.mean()
    spec = np.fft.rfft(acc)
    k = np.arange(len(spec))
    keep = (k >= 1) & (k * step_hz <= MAX_HARMONIC_HZ)
    pos_spec = np.zeros_like(spec)
    pos_spec[keep] = -spec[keep] / (TWO_PI * k[keep] * step_hz) ** 2
    return np.fft.irfft(pos_spec, WAVEFORM_POINTS)


def _periodic(table: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """``table`` (one period) at fractional ``phase`` (any real), linearly interpolated
    on a grid fine enough for twice differentiating at the internal rate."""
    n = len(table)
    x = (phase % 1.0) * n
    i = np.floor(x).astype(np.int64)
    f = x - i
    return table[i % n] * (1.0 - f) + table[(i + 1) % n] * f


def locomotion(
    tl: Timeline,
    rng: np.random.Generator,
    kind: str,
    duration_s: float | None = None,
    steps: int | None = None,
) -> EventPlan:
    """A bout of ``kind`` (`GAIT_STYLES`) for ``duration_s`` or, on stairs, ``steps``.

    The event spans the bout; stairs leave the floor ``steps`` rises higher (or lower).
    """
    style = GAIT_STYLES[kind]
    step_hz = rng.uniform(*style.step_hz)
    if duration_s is None:
        if steps is None:
            raise ValueError("give duration_s or steps")
        duration_s = steps / step_hz + 1.0  # half a second to get going and to stop
    t0, t1 = tl.now_s, tl.now_s + duration_s
    ramp = min(0.6, 0.25 * duration_s)
    speed = rng.uniform(*style.speed_mps)
    lean = rng.uniform(*style.lean_deg) * RAD_PER_DEG
    lumbar_lean = rng.uniform(*style.lumbar_lean_deg) * RAD_PER_DEG
    th0, lam0 = tl.value("theta_p"), tl.value("lam")
    knots: dict[str, list[tuple[float, float]]] = {
        "speed": [(ramp / duration_s, speed), (1.0 - ramp / duration_s, speed), (1.0, 0.0)],
        "theta_p": [(ramp / duration_s, th0 + lean), (1.0 - ramp / duration_s, th0 + lean),
                    (1.0, th0)],
        "lam": [(ramp / duration_s, lam0 + lumbar_lean),
                (1.0 - ramp / duration_s, lam0 + lumbar_lean), (1.0, lam0)],
    }  # fmt: skip
    if style.turns and duration_s > 6.0 and rng.random() < 0.6:
        # Turning round (end of a corridor, a lap) somewhere in the middle.
        turn_s = rng.uniform(0.8, 1.5)
        at = rng.uniform(0.3, 0.7) * (duration_s - turn_s)
        heading0 = tl.value("heading")
        knots["heading"] = [
            (at / duration_s, heading0),
            ((at + turn_s) / duration_s, heading0 + rng.choice([-1.0, 1.0]) * np.pi),
        ]
    tl.move(duration_s, knots)

    z_table = _vertical_waveform(style, rng, step_hz)
    tilt = rng.uniform(*style.tilt_deg) * RAD_PER_DEG
    fore_aft = rng.uniform(*style.fore_aft_mps2)
    obliq = rng.uniform(3.0, 6.0) * RAD_PER_DEG
    yaw = rng.uniform(3.0, 7.0) * RAD_PER_DEG
    sway = rng.uniform(0.015, 0.035)
    asym = rng.uniform(0.0, 0.15)  # left and right steps differ by up to 15%
    # Cadence drifts slowly: +-2-4% at 0.05-0.3 Hz.
    mod_hz = rng.uniform(0.05, 0.3)
    mod = rng.uniform(0.02, 0.04) * step_hz / (TWO_PI * mod_hz)
    ph = rng.uniform(0.0, TWO_PI, 3)
    rise = rng.uniform(*style.rise_m)
    hip = rng.uniform(*style.hip_deg) * RAD_PER_DEG
    hip_mean = rng.uniform(*style.hip_mean_deg) * RAD_PER_DEG
    # Stairs: the steps run between the ramps; elsewhere the gait spans the bout.
    n_steps = float(steps) if steps is not None and rise != 0.0 else np.inf
    start_steps = t0 + 0.5 * ramp if np.isfinite(n_steps) else t0

    def phase(t: np.ndarray) -> np.ndarray:
        x = t - start_steps
        return step_hz * x + mod * (np.sin(TWO_PI * mod_hz * x + ph[2]) - np.sin(ph[2]))

    def fn(t: np.ndarray) -> dict[str, np.ndarray]:
        env = envelope(t, t0, t1, ramp)
        u = phase(t)
        stride = np.pi * u  # half the step frequency
        side = 1.0 + asym * np.cos(stride)
        step = TWO_PI * u
        return {
            "hz": env * side * _periodic(z_table, u),
            "speed": env * fore_aft / (TWO_PI * step_hz) * np.sin(step + ph[0]),
            "theta_p": env * tilt * np.sin(step + ph[1]),
            "lam": -env * 0.5 * tilt * np.sin(step + ph[1]),
            "roll_p": env * obliq * np.sin(stride),
            "roll_l": -env * 0.7 * obliq * np.sin(stride),
            "yaw_p": env * yaw * np.cos(stride),
            "twist_l": -env * 0.5 * yaw * np.cos(stride),
            "hy": env * sway * np.sin(stride),
            # The leg on the pouch's side swings once per stride, in phase with the
            # pelvis' rotation towards it.
            "thigh": env * (hip_mean + hip * np.cos(stride + ph[0])),
        }

    tl.overlay(t0, t1, fn)
    if np.isfinite(n_steps):
        tl.overlay(t0, np.inf, _floor(rise, n_steps, phase))
    return EventPlan(kind, t0, t1, detail=f"{step_hz:.2f} steps/s")


def _floor(rise_m: float, n_steps: float, phase: Callable[[np.ndarray], np.ndarray]) -> Overlay:
    """The floor's height under the hips over a flight of stairs, and after it: each
    step's rise spread over the step as u - sin(2 pi u) / 2 pi (no jerk at either end)."""

    def fn(t: np.ndarray) -> dict[str, np.ndarray]:
        u = np.clip(phase(t), 0.0, n_steps)
        return {"hz": rise_m * (u - np.sin(TWO_PI * u) / TWO_PI)}

    return fn
