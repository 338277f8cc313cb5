"""The eight exercises: rep trajectories of pelvis tilt, lumbar flexion and the hip joint centre.

Each exercise has a `Style` (rest position, depth, tempo and form ranges, in degrees,
metres and seconds); `SetForm` draws a set's form and each rep's variation and faults;
`rep_from_top` / `rep_from_bottom` write one rep on the timeline (set-ups and finishes:
`sets.py`). Angles follow docs/frames.md: pelvis tilt θp and lumbar flexion λ are
+ forward / + flexion, 0 at standing neutral.

Form ranges are chosen so that good reps stay clearly inside the default limits
(flexion 36°, extension 10° past neutral) and faulty reps clearly beyond them:
good peak λ ≤ 28°, good extension ≤ 4°, flexion faults 40-50°, over-extension 13-20°,
borderline reps 34-38° / 8.5-11.5° (marked in the truth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.sim.tracks import Timeline
from tracker.units import RAD_PER_DEG

Range = tuple[float, float]

#: Fault kinds a set may ask for (docs/truth-format.md).
FAULT_KINDS: tuple[str, ...] = ("flexion", "overextension", "butt_wink", "creep", "borderline")

#: Relative SD of a rep's depth within a set, drawn per set (a practised lifter repeats
#: a rep within a few percent; someone learning the hinge varies it by a sixth).
DEPTH_SD: Range = (0.03, 0.15)
#: ... and by 4% with a bar on the floor or a bench, which sets the depth.
FLOOR_DEPTH_SD = 0.04
#: A rep's pelvis tilt at the bottom stays within the style's range, less or plus these
#: (deg): a rep can stop short of the style's range, not go past it.
DEPTH_MARGIN_DEG: Range = (5.0, 0.0)
#: The style's tempo SD is scaled per set by a factor drawn from this range.
TEMPO_SD_SCALE: Range = (1.0, 2.5)
#: Share of sets whose first rep differs from the rest, and how: relative depth change
#: (deeper from a dead stop, sometimes shallower while finding the groove) and slower
#: lowering.
FIRST_REP_ODD_SHARE = 0.5
FIRST_REP_DEPTH: Range = (-0.1, 0.25)
FIRST_REP_DOWN: Range = (0.0, 0.4)

GOOD_FLEXION_MAX_DEG = 28.0
FAULT_FLEXION_DEG: Range = (40.0, 50.0)
FAULT_EXTENSION_DEG: Range = (13.0, 20.0)
BORDER_FLEXION_DEG: Range = (34.0, 38.0)
BORDER_EXTENSION_DEG: Range = (8.5, 11.5)


@dataclass(frozen=True)
class Style:
    rest: str  # "top" (top -> bottom -> top) or "bottom" (bottom -> top -> bottom)
    theta_bottom_deg: Range  # pelvis tilt at the bottom of a rep
    theta_top_deg: Range  # pelvis tilt at the top (lockout)
    hjc_bottom_m: tuple[Range, Range]  # (x, z) offsets of the HJC at the bottom
    hjc_top_m: tuple[Range, Range]  # (x, z) at the top (0 = standing)
    lam_bottom_deg: Range  # good-form peak flexion near the bottom
    lam_top_deg: Range  # good-form λ at lockout (negative = slight extension)
    down_s: Range  # top -> bottom
    up_s: Range  # bottom -> top
    hold_bottom_s: Range
    hold_top_s: Range
    tempo_sd: float  # per-rep relative variation of phase durations


# fmt: off
# Columns: rest, θp bottom, θp top, HJC bottom (x, z), HJC top (x, z), λ bottom (good),
# λ top (good), down, up, hold bottom, hold top (s), tempo SD.
STYLES: dict[str, Style] = {
    "kettlebell_swing": Style(
        "top", (50, 70), (-6, -2), ((-0.16, -0.10), (-0.15, -0.09)), ((0.01, 0.03), (0.0, 0.0)),
        (12, 24), (-3, 0), (0.55, 0.70), (0.45, 0.60), (0.0, 0.0), (0.08, 0.25), 0.04,
    ),
    "deadlift": Style(
        "bottom", (45, 65), (-3, 1), ((-0.15, -0.08), (-0.36, -0.26)), ((0.0, 0.01), (0.0, 0.0)),
        (12, 24), (-3, 0), (1.0, 1.4), (1.1, 1.7), (0.5, 2.0), (0.3, 0.8), 0.10,
    ),
    "romanian_deadlift": Style(
        "top", (55, 80), (-2, 1), ((-0.20, -0.12), (-0.10, -0.05)), ((0.0, 0.0), (0.0, 0.0)),
        (10, 22), (-3, 0), (1.8, 3.0), (1.0, 1.6), (0.0, 0.4), (0.3, 1.2), 0.10,
    ),
    "good_morning": Style(
        "top", (45, 75), (-2, 1), ((-0.18, -0.10), (-0.08, -0.04)), ((0.0, 0.0), (0.0, 0.0)),
        (8, 20), (-3, 0), (1.8, 2.8), (1.2, 1.8), (0.0, 0.3), (0.5, 1.2), 0.10,
    ),
    "cable_pull_through": Style(
        "top", (40, 65), (-4, 0), ((-0.16, -0.10), (-0.10, -0.05)), ((0.0, 0.02), (0.0, 0.0)),
        (8, 18), (-3, 0), (1.0, 1.5), (0.8, 1.2), (0.0, 0.2), (0.3, 0.8), 0.08,
    ),
    "hip_thrust": Style(
        "bottom", (-58, -45), (-92, -84), ((-0.05, 0.0), (-0.65, -0.58)),
        ((0.03, 0.08), (-0.45, -0.38)),
        (4, 12), (-3, 1), (1.0, 1.6), (0.8, 1.2), (0.3, 1.0), (0.5, 1.5), 0.10,
    ),
    "squat": Style(
        "top", (30, 45), (-2, 1), ((-0.22, -0.12), (-0.50, -0.35)), ((0.0, 0.0), (0.0, 0.0)),
        (8, 20), (-3, 0), (1.2, 2.2), (1.0, 1.6), (0.0, 0.5), (0.5, 1.5), 0.10,
    ),
    "wall_hip_hinge": Style(
        "top", (30, 50), (-2, 1), ((-0.25, -0.15), (-0.06, -0.03)), ((0.0, 0.0), (0.0, 0.0)),
        (5, 15), (-3, 0), (1.2, 2.0), (1.0, 1.6), (0.2, 0.8), (0.5, 1.5), 0.10,
    ),
}
# fmt: on


@dataclass
class RepForm:
    """One rep's targets (degrees, metres, seconds) after faults and variation."""

    theta_bottom: float
    theta_top: float
    lam_peak: float
    lam_top: float
    hjc_bottom: tuple[float, float]
    hjc_top: tuple[float, float]
    down_s: float
    up_s: float
    hold_bottom_s: float
    hold_top_s: float
    wink_theta: float = 0.0
    faults: tuple[str, ...] = ()
    borderline: bool = False


def _u(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1]))


class SetForm:
    """Per-set choices (depth, tempo, form) from which each rep's form is drawn."""

    def __init__(
        self,
        exercise: str,
        n_reps: int,
        rng: np.random.Generator,
        fault_reps: dict[str, list[int]],
        creep_deg: float,
        form_rng: np.random.Generator,
    ) -> None:
        self.style = STYLES[exercise]
        self.exercise = exercise
        self.n_reps = n_reps
        self.rng = rng
        st = self.style
        self.theta_bottom = _u(rng, st.theta_bottom_deg)
        self.theta_top = _u(rng, st.theta_top_deg)
        self.lam_peak = _u(rng, st.lam_bottom_deg)
        self.lam_top = _u(rng, st.lam_top_deg)
        self.hjc_bottom = (_u(rng, st.hjc_bottom_m[0]), _u(rng, st.hjc_bottom_m[1]))
        self.hjc_top = (_u(rng, st.hjc_top_m[0]), _u(rng, st.hjc_top_m[1]))
        self.tempo = {
            "down": _u(rng, st.down_s),
            "up": _u(rng, st.up_s),
            "hold_bottom": _u(rng, st.hold_bottom_s),
            "hold_top": _u(rng, st.hold_top_s),
        }
        # Swings keep their rhythm; grinding lifts lose 5-20% concentric speed over a set.
        self.fatigue = 0.02 if exercise == "kettlebell_swing" else float(rng.uniform(0.05, 0.2))
        # How evenly this lifter repeats a rep (drawn from ``form_rng``, so that the
        # rest of the plan draws as it would without): depth varies rep to rep by a
        # relative SD of 3-15% (a practised lifter at the low end, someone learning the
        # hinge at the high end), tempo by the style's SD times 1-2.5 (swings keep their
        # rhythm). A bar on the floor (deadlifts) or a bench (hip thrusts) sets the
        # depth of every rep: there it varies only by how the lifter meets it.
        self.floor = st.rest == "bottom"
        spread = float(form_rng.uniform(*DEPTH_SD))
        self.depth_sd = FLOOR_DEPTH_SD if self.floor else spread
        scale = float(form_rng.uniform(*TEMPO_SD_SCALE))
        self.tempo_sd = st.tempo_sd * (1.0 if exercise == "kettlebell_swing" else scale)
        # Half of all sets begin with a rep unlike the rest: from a dead stop, the first
        # rep goes deeper (or shallower) and lowers slower.
        odd_first = form_rng.random() < FIRST_REP_ODD_SHARE
        first_depth = float(form_rng.uniform(*FIRST_REP_DEPTH))
        first_down = float(form_rng.uniform(*FIRST_REP_DOWN))
        self.first_depth = first_depth if odd_first and not self.floor else 0.0
        self.first_down = first_down if odd_first else 0.0
        self.fault_reps = fault_reps
        self.creep_deg = creep_deg
        # Creep: peak flexion rises linearly from a low start; stays under the good maximum.
        self.creep_start = float(rng.uniform(9.0, 12.0))

    def rep(self, i: int) -> RepForm:
        """Form of rep ``i`` (1-based)."""
        rng = self.rng
        sd = self.tempo_sd

        def jit(x: float) -> float:
            # Bounded at two SDs, so no rep's tempo strays far from the set's.
            return x * float(np.exp(np.clip(rng.normal(0.0, sd), -2.0 * sd, 2.0 * sd)))

        # Fatigue: the concentric slows over the set (velocity loss), the eccentric a bit.
        frac = (i - 1) / max(1, self.n_reps - 1)
        slow_up = 1.0 + self.fatigue * frac
        slow_down = 1.0 + 0.3 * self.fatigue * frac
        sign = 1.0 if self.theta_bottom >= 0 else -1.0
        first = i == 1
        depth = 1.0 + float(rng.normal(0.0, self.depth_sd))
        theta_bottom = self.theta_bottom * depth
        if not self.floor:
            # Bounded: a rep can stop short of the style's range, not go past it.
            depth = float(np.clip(depth, 1.0 - 2.0 * self.depth_sd, 1.0 + 2.0 * self.depth_sd))
            depth *= 1.0 + (self.first_depth if first else 0.0)
            lo, hi = self.style.theta_bottom_deg
            theta_bottom = float(
                np.clip(
                    self.theta_bottom * depth, lo - DEPTH_MARGIN_DEG[0], hi + DEPTH_MARGIN_DEG[1]
                )
            )
        form = RepForm(
            theta_bottom=theta_bottom,
            theta_top=self.theta_top + rng.normal(0.0, 0.7),
            lam_peak=float(
                np.clip(self.lam_peak + rng.normal(0.0, 1.5), 3.0, GOOD_FLEXION_MAX_DEG)
            ),
            lam_top=float(np.clip(self.lam_top + rng.normal(0.0, 0.7), -4.0, 1.5)),
            hjc_bottom=(
                self.hjc_bottom[0] * (1.0 + rng.normal(0.0, 0.05)),
                # A deeper rep lowers the hips further too (about as much, relatively).
                self.hjc_bottom[1] * (1.0 if self.floor else depth) * (1.0 + rng.normal(0.0, 0.04)),
            ),
            hjc_top=self.hjc_top,
            down_s=jit(self.tempo["down"])
            * slow_down
            * (1.0 + (self.first_down if first else 0.0)),
            up_s=jit(self.tempo["up"]) * slow_up,
            hold_bottom_s=jit(self.tempo["hold_bottom"]),
            hold_top_s=jit(self.tempo["hold_top"]),
        )
        faults: list[str] = []
        if self.creep_deg > 0:
            frac = (i - 1) / max(1, self.n_reps - 1)
            form.lam_peak = min(
                GOOD_FLEXION_MAX_DEG, self.creep_start + self.creep_deg * frac + rng.normal(0, 0.5)
            )
            faults.append("creep")
        if i in self.fault_reps.get("borderline", []):
            form.borderline = True
            if rng.random() < 0.5 or self.exercise == "hip_thrust":
                form.lam_top = -_u(rng, BORDER_EXTENSION_DEG)
                faults.append("borderline_extension")
            else:
                form.lam_peak = _u(rng, BORDER_FLEXION_DEG)
                faults.append("borderline_flexion")
        if i in self.fault_reps.get("flexion", []):
            form.lam_peak = _u(rng, FAULT_FLEXION_DEG)
            # Rounding replaces part of the hinge.
            form.theta_bottom -= sign * rng.uniform(3.0, 8.0)
            faults.append("flexion")
        if i in self.fault_reps.get("butt_wink", []):
            form.wink_theta = rng.uniform(6.0, 12.0)
            form.lam_peak = _u(rng, FAULT_FLEXION_DEG)
            faults.append("butt_wink")
        if i in self.fault_reps.get("overextension", []):
            form.lam_top = -_u(rng, FAULT_EXTENSION_DEG)
            form.theta_top -= rng.uniform(1.0, 4.0)
            faults.append("overextension")
        form.faults = tuple(faults)
        return form


def _asym(rng: np.random.Generator) -> dict[str, float]:
    """Small out-of-plane asymmetry at the bottom of a rep (rad)."""
    return {
        "roll_l": float(rng.normal(0.0, 1.5)) * RAD_PER_DEG,
        "twist_l": float(rng.normal(0.0, 1.5)) * RAD_PER_DEG,
        "roll_p": float(rng.normal(0.0, 1.0)) * RAD_PER_DEG,
        "yaw_p": float(rng.normal(0.0, 1.5)) * RAD_PER_DEG,
    }


def rep_from_top(
    tl: Timeline, rng: np.random.Generator, f: RepForm, ballistic: bool
) -> tuple[float, float]:
    """top -> bottom -> top; returns (start_s, end_s). The caller owns the pause at the top."""
    r = RAD_PER_DEG
    start = tl.now_s
    asym = _asym(rng)
    d = f.down_s
    lam_knots: list[tuple[float, float]]
    th_knots: list[tuple[float, float]]
    if f.wink_theta > 0:
        # Butt wink: in the last 20% of the descent the pelvis tucks under (posterior tilt)
        # while the lumbar spine flexes.
        lam_pre = min(f.lam_peak - 20.0, 18.0)
        th_knots = [(0.8, f.theta_bottom), (1.0, f.theta_bottom - f.wink_theta)]
        lam_knots = [(0.4, 0.35 * lam_pre), (0.8, lam_pre), (1.0, f.lam_peak)]
    else:
        th_knots = [(1.0, f.theta_bottom)]
        # λ lags the hinge a little; faulty rounding arrives late in the descent.
        lag = 0.45 if "flexion" not in f.faults else 0.3
        lam_knots = [(0.5, lag * f.lam_peak), (1.0, f.lam_peak)]
    tl.move(
        d,
        {
            "theta_p": [(a, b * r) for a, b in th_knots],
            "lam": [(a, b * r) for a, b in lam_knots],
            "hx": [(1.0, f.hjc_bottom[0])],
            "hz": [(1.0, f.hjc_bottom[1])],
            **{k: [(1.0, v)] for k, v in asym.items()},
        },
    )
    tl.wait(f.hold_bottom_s)
    u = f.up_s
    lam_up: list[tuple[float, float]] = [(0.5, 0.5 * f.lam_peak * r), (1.0, f.lam_top * r)]
    if ballistic:
        # Hip snap: the drive is front-loaded (hips and HJC accelerate hard off the
        # bottom, ~1 g upwards), then the body floats to lockout.
        hz_up = [(0.4, 0.15 * f.hjc_bottom[1]), (1.0, f.hjc_top[1])]
        th_up = [(0.55, 0.2 * f.theta_bottom * r), (1.0, f.theta_top * r)]
    else:
        hz_up = [(0.55, 0.25 * f.hjc_bottom[1]), (1.0, f.hjc_top[1])]
        th_up = [(1.0, f.theta_top * r)]
    tl.move(
        u,
        {
            "theta_p": th_up,
            "lam": lam_up,
            "hx": [(0.7, f.hjc_top[0]), (1.0, f.hjc_top[0])],
            "hz": hz_up,
            **{k: [(1.0, 0.0)] for k in asym},
        },
    )
    return start, tl.now_s


def rep_from_bottom(
    tl: Timeline, rng: np.random.Generator, f: RepForm, lam_setup: float
) -> tuple[float, float]:
    """bottom -> top -> bottom (deadlift from the floor, hip thrust)."""
    r = RAD_PER_DEG
    start = tl.now_s
    asym = _asym(rng)
    u = f.up_s
    # Under load the spine rounds most as the weight breaks from the floor (early pull),
    # then straightens to lockout.
    tl.move(
        u,
        {
            "theta_p": [
                (0.25, (0.85 * f.theta_bottom + 0.15 * f.theta_top) * r),
                (1.0, f.theta_top * r),
            ],
            "lam": [(0.2, f.lam_peak * r), (0.9, f.lam_top * r), (1.0, f.lam_top * r)],
            "hx": [(1.0, f.hjc_top[0])],
            "hz": [(0.6, 0.3 * f.hjc_bottom[1] + 0.7 * f.hjc_top[1]), (1.0, f.hjc_top[1])],
            **{k: [(0.3, v), (1.0, 0.0)] for k, v in asym.items()},
        },
    )
    tl.wait(f.hold_top_s)
    tl.move(
        f.down_s,
        {
            "theta_p": [(1.0, f.theta_bottom * r)],
            "lam": [(0.6, 0.5 * lam_setup * r), (1.0, lam_setup * r)],
            "hx": [(1.0, f.hjc_bottom[0])],
            "hz": [(1.0, f.hjc_bottom[1])],
        },
    )
    return start, tl.now_s
