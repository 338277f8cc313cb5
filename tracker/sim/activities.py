"""Non-rep activities: standing, weight shifting, walking, sitting down and standing up,
picking a weight up or putting it down (daily-life locomotion: `tracker.sim.gait`).

Each function appends knots and overlays to a `Timeline` from its cursor and returns the
`EventPlan` it produced. Angles in the channels are radians; frames in docs/frames.md.
"""

from __future__ import annotations

import numpy as np

from tracker.sim.plan import EventPlan
from tracker.sim.tracks import Timeline, envelope
from tracker.units import RAD_PER_DEG

TWO_PI = 2.0 * np.pi


def stand(tl: Timeline, rng: np.random.Generator, duration_s: float) -> EventPlan:
    """Standing still; posture may settle by a degree or so (postural sway is an overlay)."""
    t0 = tl.now_s
    settle_s = min(1.5, 0.5 * duration_s)
    tl.wait(0.5 * (duration_s - settle_s))
    tl.to(
        settle_s,
        theta_p=rng.normal(0.0, 0.6) * RAD_PER_DEG,
        lam=rng.normal(0.0, 0.6) * RAD_PER_DEG,
        hx=rng.normal(0.0, 0.005),
        hy=rng.normal(0.0, 0.005),
        hz=rng.normal(0.0, 0.002),
    )
    tl.wait(duration_s - settle_s - 0.5 * (duration_s - settle_s))
    return EventPlan("stand", t0, tl.now_s)


def shift(tl: Timeline, rng: np.random.Generator, duration_s: float) -> EventPlan:
    """Weight shifting / fidgeting: slow side-to-side sway, small tilts, maybe a step."""
    t0, t1 = tl.now_s, tl.now_s + duration_s
    f_hz = rng.uniform(0.2, 0.45)
    amp_y = rng.uniform(0.02, 0.05)
    amp_roll = rng.uniform(2.0, 5.0) * RAD_PER_DEG
    amp_th = rng.uniform(1.0, 4.0) * RAD_PER_DEG
    amp_lam = rng.uniform(1.0, 3.0) * RAD_PER_DEG
    amp_yaw = rng.uniform(2.0, 8.0) * RAD_PER_DEG
    ph = rng.uniform(0.0, TWO_PI, 4)

    def fn(t: np.ndarray) -> dict[str, np.ndarray]:
        env = envelope(t, t0, t1, 0.8)
        w = TWO_PI * f_hz * (t - t0)
        return {
            "hy": env * amp_y * np.sin(w + ph[0]),
            "roll_p": env * amp_roll * np.sin(w + ph[0]),
            "roll_l": -env * 0.6 * amp_roll * np.sin(w + ph[0]),
            "theta_p": env * amp_th * np.sin(0.7 * w + ph[1]),
            "lam": env * amp_lam * np.sin(0.9 * w + ph[2]),
            "yaw_p": env * amp_yaw * np.sin(0.5 * w + ph[3]),
            "twist_l": -env * 0.4 * amp_yaw * np.sin(0.5 * w + ph[3]),
        }

    tl.overlay(t0, t1, fn)
    tl.wait(duration_s)
    return EventPlan("shift", t0, t1)


def walk(
    tl: Timeline,
    rng: np.random.Generator,
    duration_s: float,
    *,
    turn: bool = True,
    backwards: bool = False,
) -> EventPlan:
    """Walking: forward progression with gait oscillations at step frequency.

    Step frequency ~1.6-2.0 Hz: pelvic tilt and vertical bounce oscillate once per step,
    pelvic obliquity, axial rotation and lateral sway once per stride. With ``turn`` the
    walker turns round halfway and comes back; ``backwards`` is a few short steps back
    (walking out of a rack).
    """
    t0, t1 = tl.now_s, tl.now_s + duration_s
    step_hz = rng.uniform(1.6, 2.0) if not backwards else rng.uniform(1.3, 1.7)
    speed = rng.uniform(1.0, 1.4) if not backwards else -rng.uniform(0.25, 0.4)
    ramp = min(0.8, 0.3 * duration_s)
    heading0 = tl.value("heading")
    if turn and duration_s > 4.0:
        turn_s = rng.uniform(0.8, 1.3)
        mid = 0.5 * (duration_s - turn_s)
        tl.move(
            duration_s,
            {
                "speed": [
                    (ramp / duration_s, speed),
                    (mid / duration_s, speed),
                    ((mid + 0.5 * turn_s) / duration_s, 0.25 * speed),
                    ((mid + turn_s) / duration_s, speed),
                    (1.0 - ramp / duration_s, speed),
                    (1.0, 0.0),
                ],
                "heading": [
                    (mid / duration_s, heading0),
                    ((mid + turn_s) / duration_s, heading0 + rng.choice([-1.0, 1.0]) * np.pi),
                ],
            },
        )
    else:
        tl.move(
            duration_s,
            {"speed": [(ramp / duration_s, speed), (1.0 - ramp / duration_s, speed), (1.0, 0.0)]},
        )
    scale = 1.0 if not backwards else 0.5
    bounce = rng.uniform(0.015, 0.025) * scale
    tilt = rng.uniform(1.5, 3.0) * RAD_PER_DEG * scale
    obliq = rng.uniform(3.0, 5.0) * RAD_PER_DEG * scale
    yaw = rng.uniform(3.0, 6.0) * RAD_PER_DEG * scale
    sway = rng.uniform(0.015, 0.03) * scale
    lam = rng.uniform(1.0, 2.5) * RAD_PER_DEG * scale
    ph = rng.uniform(0.0, TWO_PI, 2)

    def fn(t: np.ndarray) -> dict[str, np.ndarray]:
        env = envelope(t, t0, t1, ramp)
        step = TWO_PI * step_hz * (t - t0) + ph[0]
        stride = 0.5 * step
        return {
            "hz": env * bounce * np.cos(step),
            "theta_p": env * tilt * np.sin(step + ph[1]),
            "lam": -env * lam * np.sin(step + ph[1]),
            "roll_p": env * obliq * np.sin(stride),
            "roll_l": -env * 0.7 * obliq * np.sin(stride),
            "yaw_p": env * yaw * np.cos(stride),
            "twist_l": -env * 0.5 * yaw * np.cos(stride),
            "hy": env * sway * np.sin(stride),
        }

    tl.overlay(t0, t1, fn)
    return EventPlan("walk", t0, t1)


def sit(tl: Timeline, rng: np.random.Generator, duration_s: float) -> EventPlan:
    """Sitting down on a bench or box, resting, standing up: squat-like, not a rep.

    Seated the pelvis tilts back (slumped) and the lumbar spine flexes; standing up
    starts with a forward lean of the trunk.
    """
    t0 = tl.now_s
    down_s, up_s = rng.uniform(1.0, 1.6), rng.uniform(1.0, 1.5)
    stand_to_sit(tl, rng, down_s)
    tl.wait(max(1.0, duration_s - down_s - up_s))
    sit_to_stand(tl, rng, up_s)
    return EventPlan("sit", t0, tl.now_s)


def stand_to_sit(
    tl: Timeline, rng: np.random.Generator, duration_s: float | None = None
) -> EventPlan:
    """Sitting down (on a chair, bench or box): the trunk leans forward while the hips
    go back and down, then the pelvis tilts back (slumped) and the lumbar spine flexes.
    Ends seated; ``duration_s`` 1.0-1.6 s when not given."""
    t0 = tl.now_s
    down_s = rng.uniform(1.0, 1.6) if duration_s is None else duration_s
    r = RAD_PER_DEG
    tl.move(
        down_s,
        {
            "theta_p": [(0.5, rng.uniform(20.0, 35.0) * r), (1.0, -rng.uniform(5.0, 15.0) * r)],
            "lam": [(0.5, rng.uniform(10.0, 20.0) * r), (1.0, rng.uniform(18.0, 30.0) * r)],
            "hx": [(1.0, -rng.uniform(0.15, 0.25))],
            "hz": [(1.0, -rng.uniform(0.42, 0.5))],
        },
    )
    return EventPlan("stand_to_sit", t0, tl.now_s)


def sit_to_stand(
    tl: Timeline, rng: np.random.Generator, duration_s: float | None = None
) -> EventPlan:
    """Standing up from sitting: a forward lean of the trunk (hips off the seat), then
    hips and trunk extend to upright. ``duration_s`` 1.0-1.5 s when not given."""
    t0 = tl.now_s
    up_s = rng.uniform(1.0, 1.5) if duration_s is None else duration_s
    r = RAD_PER_DEG
    tl.move(
        up_s,
        {
            "theta_p": [(0.4, rng.uniform(30.0, 45.0) * r), (1.0, 0.0)],
            "lam": [(0.4, rng.uniform(15.0, 25.0) * r), (1.0, 0.0)],
            "hx": [(0.5, -0.1), (1.0, 0.0)],
            "hz": [(1.0, 0.0)],
        },
    )
    return EventPlan("sit_to_stand", t0, tl.now_s)


def bend_down_up(
    tl: Timeline,
    rng: np.random.Generator,
    kind: str,
    *,
    squat_style: bool | None = None,
    set_index: int | None = None,
) -> EventPlan:
    """Bend down to the floor and stand back up (picking up or putting down): not a rep."""
    t0 = tl.now_s
    squat_style = bool(rng.random() < 0.35) if squat_style is None else squat_style
    if squat_style:
        th, lam = rng.uniform(25.0, 40.0), rng.uniform(8.0, 22.0)
        hx, hz = -rng.uniform(0.08, 0.16), -rng.uniform(0.3, 0.45)
    else:
        th, lam = rng.uniform(50.0, 75.0), rng.uniform(10.0, 30.0)
        hx, hz = -rng.uniform(0.08, 0.15), -rng.uniform(0.1, 0.22)
    tl.to(
        rng.uniform(0.9, 1.6),
        theta_p=th * RAD_PER_DEG,
        lam=lam * RAD_PER_DEG,
        hx=hx,
        hz=hz,
        roll_l=rng.normal(0.0, 2.0) * RAD_PER_DEG,
        twist_l=rng.normal(0.0, 3.0) * RAD_PER_DEG,
    )
    tl.wait(rng.uniform(0.4, 1.5))
    tl.to(
        rng.uniform(1.0, 1.8),
        theta_p=rng.normal(0.0, 0.5) * RAD_PER_DEG,
        lam=rng.normal(0.0, 0.5) * RAD_PER_DEG,
        hx=0.0,
        hz=0.0,
        roll_l=0.0,
        twist_l=0.0,
    )
    return EventPlan(kind, t0, tl.now_s, set_index)


def dip(tl: Timeline, rng: np.random.Generator, kind: str, set_index: int | None) -> EventPlan:
    """Un- or re-racking a bar: a short knee dip with a little hip flexion, not a rep."""
    t0 = tl.now_s
    tl.to(
        rng.uniform(0.5, 0.8),
        theta_p=rng.uniform(4.0, 10.0) * RAD_PER_DEG,
        lam=rng.uniform(0.0, 4.0) * RAD_PER_DEG,
        hz=-rng.uniform(0.05, 0.09),
        hx=-rng.uniform(0.0, 0.03),
    )
    tl.wait(rng.uniform(0.1, 0.4))
    tl.to(rng.uniform(0.5, 0.8), theta_p=0.0, lam=0.0, hz=0.0, hx=0.0)
    return EventPlan(kind, t0, tl.now_s, set_index)
