"""The exercise of a set and where its reps rest, decided together from set features.

A back sensor sees neither the arms nor the knees, so deadlift, RDL and good morning
have near-identical trunk kinematics (Schellenberg 2013). What it does see, and what is
used here: posture (lying back on a bench), how far the hips travel up and down in a
cycle beyond what the hinge explains (bent knees), where the whole body pauses still
(a bar resting on the floor), tempo and trunk excursion. The user can always force the
exercise (``--exercise``).

`classify` returns one `SetDecision`: the exercise, and the rest position that follows
from it by DESIGN 4.3 (only deadlifts from the floor and hip thrusts rest at the
bottom), so the two cannot disagree. Every feature that was looked at is kept as an
`Evidence` row saying what it voted for, so the decision can be explained.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Exercises whose reps rest at the bottom (maximum hinge angle); all others rest at the
#: top (DESIGN 4.3).
REST_AT_BOTTOM = frozenset({"deadlift", "hip_thrust"})
#: Exercises that move the hips up and down every rep, by a varying amount: squats and
#: deadlifts from the floor bend the knees, hip thrusts raise the hips. In all others
#: (hinges with soft knees, swings) the hips stay at about one height.
HIPS_MOVE = frozenset({"squat", "deadlift", "hip_thrust"})

#: Median hinge angle of a set below this (deg, negative = tilted back) means lying back
#: on a bench: standing, the pelvis tilts back at most ~15 deg; shoulders on a bench tilt
#: it back 45-90 deg.
LYING_BACK_DEG = -30.0
#: Vertical travel of the hips in one cycle, beyond what turning about the hips explains
#: (m), above which the knees bend: a hip hinge with soft knees moves the hips down by at
#: most ~0.10 m, and doubly integrating one cycle's acceleration is off by a few
#: centimetres; a squat lowers them 0.3-0.5 m, a deadlift from the floor 0.15-0.35 m.
KNEE_BEND_TRAVEL_M = 0.15
#: Drop of the hips on the way down (from standing still to arriving at the bottom),
#: beyond what turning about the hips explains (m), above which the knees bend: a hinge
#: with soft knees lowers them by up to ~0.10 m. This half-cycle estimate integrates
#: over less time than the whole cycle's travel, but needs the lifter still at the top;
#: either estimate past its limit means bent knees.
KNEE_BEND_DESCENT_M = 0.10
#: Knee-bent sets whose hips travel at least this much per degree of trunk excursion
#: (m/deg) are squats: a squat lowers the hips 0.3-0.5 m with the trunk leaning 20-45
#: deg (0.007-0.025 m/deg), a deadlift from the floor 0.15-0.35 m with the trunk at
#: 45-70 deg (0.002-0.0075 m/deg); the limit lies in the narrow overlap.
SQUAT_TRAVEL_PER_DEG_M = 0.007
#: A pause counts as a rest only while the hips are not reversing through it: a mean
#: vertical acceleration over the pause towards the way out of the turn (up at a bottom,
#: down at a top) under this (m/s^2). At rest it is only the sensor's tilt error (2 deg
#: of error give 0.34); at the bottom of a squat the trunk angle can plateau for half a
#: second while the hips turn from going down at ~0.5 m/s to going up (1-4 on average).
HIPS_REVERSAL_MPS2 = 0.5
#: A bar resting on the floor between reps lies still for at least this long (s) to be
#: re-gripped and braced; a squat's turn at the bottom is shorter.
FLOOR_PAUSE_S = 0.4
#: "Clearly longer" for pauses: more than this factor times the other, plus the margin
#: (s); pauses vary rep to rep by about a third and are measured to ~0.1 s.
CLEARLY_LONGER_FACTOR = 2.0
CLEARLY_LONGER_MARGIN_S = 0.2
#: A hinge (knees straight) rests at the bottom only if its still pause there is this
#: much longer: a bar on the floor between stiff-legged pulls; a wall hinge pauses at
#: the wall for less than twice its pause standing.
HINGE_BOTTOM_FACTOR = 1.5
HINGE_BOTTOM_MARGIN_S = 0.3
#: Swung reps (kettlebell swing) move the trunk at this mean angular rate or faster
#: (deg/s) through each half of a rep: a swing covers 45-90 deg in 0.5-0.8 s; grinds
#: (squats, deadlifts, hinges) move at 20-50 deg/s.
SWING_RATE_DEG_S = 55.0
#: ... and a swing never stops (the bell swings through): its pauses at either end are
#: shorter than this (s); a lifter pausing standing between fast hinges is not swinging.
SWING_MAX_PAUSE_S = 0.3
#: A brisk hinge, under this many seconds a rep, is a cable pull-through.
BRISK_HINGE_REP_S = 2.9
#: A shallow hinge, under this excursion (deg), is a wall hip-hinge drill; a lone lumbar
#: sensor adds lumbar flexion to the hinge, so its limit is higher.
SHALLOW_HINGE_DEG = 47.0
SHALLOW_HINGE_TRUNK_DEG = 52.0


@dataclass(frozen=True)
class Evidence:
    """One feature that weighed in a decision: its value and what it voted for."""

    feature: str
    value: float | None
    unit: str
    verdict: str

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.feature}: {self.verdict}"
        return f"{self.feature} {self.value:.3g} {self.unit}: {self.verdict}".replace("  ", " ")


@dataclass(frozen=True)
class SetFeatures:
    """What a set's opening cycles show (angles from docs/frames.md)."""

    #: Median hinge angle over the opening turns (deg).
    median_angle_deg: float
    #: Median excursion of the hinge angle from rest to peak (deg).
    excursion_deg: float
    #: Median vertical travel of the hips per cycle beyond what the hinge explains (m);
    #: None without a usable vertical acceleration.
    hip_travel_m: float | None
    #: Median drop of the hips from a still top to the next bottom beyond what the hinge
    #: explains (m, + down); None without a usable vertical acceleration.
    descent_drop_m: float | None
    #: Median mean angular rate of the trunk through each half of a rep (deg/s).
    mean_rate_deg_s: float | None
    #: Shortest pause at a bottom / at a top while the hips are still too (s), past the
    #: first turn; None when there are no such turns.
    bottom_pause_s: float | None
    top_pause_s: float | None
    #: The longer of the shortest holds of the trunk angle at a bottom and at a top (s),
    #: whether or not the hips are still; None when there are no such turns.
    trunk_pause_s: float | None
    #: A long still hold at a bottom before the reps (gripping and bracing at a bar).
    set_up_hold: bool
    #: Median rep duration (s), rest to rest, if known.
    rep_s: float | None
    #: A lone lumbar sensor (its angle adds lumbar flexion to the hinge).
    trunk_sensor: bool
    #: Median excursion of the trunk's lean from rest to peak (deg): with two sensors
    #: the hinge plus lumbar rounding (docs/frames.md); None: the hinge's.
    lean_excursion_deg: float | None = None


@dataclass(frozen=True)
class SetDecision:
    """The exercise of a set and where its reps rest, with the evidence for them."""

    exercise: str
    evidence: tuple[Evidence, ...] = ()

    @property
    def rest_is_max(self) -> bool:
        """Reps rest at the bottom (maximum hinge angle), by DESIGN 4.3."""
        return self.exercise in REST_AT_BOTTOM

    def explain(self) -> str:
        return "; ".join(str(e) for e in self.evidence)


def named(exercise: str) -> SetDecision:
    """The decision when the user names the exercise."""
    return SetDecision(exercise, (Evidence("exercise named by the user", None, "", exercise),))


def _clearly_longer(a_s: float, b_s: float) -> bool:
    return a_s > CLEARLY_LONGER_FACTOR * b_s + CLEARLY_LONGER_MARGIN_S


def classify(f: SetFeatures) -> SetDecision:
    """Exercise and rest position of a set from its features.

    Lying back: hip thrust. Hips travelling clearly more than a hinge moves them (bent
    knees): a deadlift from the floor when the lifter sets up at a bar or pauses still
    clearly longer at the bottom; a squat when the hips drop far for the trunk's lean;
    else a deadlift if the lifter rests still at the bottom and not over twice as long
    standing, a squat if the hips drop like one, and otherwise a hinge with soft knees.
    Fast and never pausing: a kettlebell swing. A hinge: a deadlift (stiff-legged, from
    the floor) after a set-up hold or if its still pause at the bottom is clearly the
    longer; else by tempo and excursion a cable pull-through, a wall hip-hinge drill, or
    a Romanian deadlift (good mornings move the trunk the same way and are reported as
    Romanian deadlifts unless the user names them).
    """
    ev: list[Evidence] = []

    def done(exercise: str) -> SetDecision:
        return SetDecision(exercise, tuple(ev))

    if f.median_angle_deg < LYING_BACK_DEG:
        ev.append(Evidence("median hinge angle", f.median_angle_deg, "deg", "lying back"))
        return done("hip_thrust")
    ev.append(Evidence("median hinge angle", f.median_angle_deg, "deg", "upright or bent"))
    rate = f.mean_rate_deg_s
    if (
        rate is not None
        and rate >= SWING_RATE_DEG_S
        and (f.trunk_pause_s or 0.0) < SWING_MAX_PAUSE_S
    ):
        # Swinging is told by tempo before the knees: no grind moves the trunk this fast
        # through every half-rep without pausing, and a swing's hips do drop a little.
        ev.append(Evidence("mean trunk rate", rate, "deg/s", "swung"))
        ev.append(Evidence("trunk pause", f.trunk_pause_s, "s", "swung through"))
        return done("kettlebell_swing")
    bottom = f.bottom_pause_s or 0.0
    top = f.top_pause_s or 0.0
    travel = f.hip_travel_m if f.hip_travel_m is not None else 0.0
    descent = f.descent_drop_m
    if f.hip_travel_m is not None and travel > KNEE_BEND_TRAVEL_M:
        knees = Evidence("hip travel beyond the hinge", travel, "m", "knees bend")
    elif descent is not None and descent > KNEE_BEND_DESCENT_M:
        knees = Evidence("hip drop on the way down beyond the hinge", descent, "m", "knees bend")
    else:
        knees = None
    if knees is not None:
        ev.append(knees)
        if f.set_up_hold:
            ev.append(Evidence("set-up hold at the first bottom", None, "", "bar on the floor"))
            return done("deadlift")
        if bottom >= FLOOR_PAUSE_S and _clearly_longer(bottom, top):
            ev.append(Evidence("still pause at the bottom", bottom, "s", "bar on the floor"))
            return done("deadlift")
        # Per degree of the trunk's lean, rounding included: a lifter who rounds the
        # back at the bottom of a deadlift leans as far with the pelvis tilting less.
        lean_deg = f.lean_excursion_deg if f.lean_excursion_deg is not None else f.excursion_deg
        per_deg = travel / max(lean_deg, 1.0)
        if per_deg >= SQUAT_TRAVEL_PER_DEG_M:
            ev.append(Evidence("hip travel per degree of lean", per_deg, "m/deg", "squat"))
            return done("squat")
        ev.append(Evidence("hip travel per degree of lean", per_deg, "m/deg", "trunk leans"))
        if bottom >= FLOOR_PAUSE_S and top <= CLEARLY_LONGER_FACTOR * bottom:
            ev.append(Evidence("still pause at the bottom", bottom, "s", "bar on the floor"))
            return done("deadlift")
        ev.append(Evidence("still pause at the bottom", bottom, "s", "rests standing"))
        # Knees that bend over a whole cycle (not only on the way down) and rest
        # standing, never still at the bottom: a squat, however shallow (a partial squat
        # lowers the hips 0.15-0.2 m); a hinge's soft knees move them 0.10 m at most.
        if f.hip_travel_m is not None and travel > KNEE_BEND_TRAVEL_M:
            ev.append(Evidence("hip travel beyond the hinge", travel, "m", "squat depth"))
            return done("squat")
        ev.append(Evidence("hip travel beyond the hinge", travel, "m", "soft knees"))
    else:
        ev.append(Evidence("hip travel beyond the hinge", f.hip_travel_m, "m", "knees straight"))
        ev.append(
            Evidence("hip drop on the way down beyond the hinge", descent, "m", "knees straight")
        )
    ev.append(Evidence("mean trunk rate", rate, "deg/s", "ground, not swung"))
    if f.set_up_hold:
        ev.append(Evidence("set-up hold at the first bottom", None, "", "bar on the floor"))
        return done("deadlift")
    if f.bottom_pause_s is not None and bottom > HINGE_BOTTOM_FACTOR * top + HINGE_BOTTOM_MARGIN_S:
        ev.append(Evidence("still pause at the bottom", bottom, "s", "bar on the floor"))
        return done("deadlift")
    ev.append(Evidence("still pause at the bottom", f.bottom_pause_s, "s", "rests standing"))
    if f.rep_s is not None and f.rep_s < BRISK_HINGE_REP_S:
        ev.append(Evidence("rep duration", f.rep_s, "s", "brisk hinge"))
        return done("cable_pull_through")
    ev.append(Evidence("rep duration", f.rep_s, "s", "controlled hinge"))
    shallow = SHALLOW_HINGE_TRUNK_DEG if f.trunk_sensor else SHALLOW_HINGE_DEG
    if f.excursion_deg < shallow:
        ev.append(Evidence("hinge excursion", f.excursion_deg, "deg", "shallow drill"))
        return done("wall_hip_hinge")
    ev.append(Evidence("hinge excursion", f.excursion_deg, "deg", "full hinge"))
    return done("romanian_deadlift")
