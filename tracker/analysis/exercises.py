"""Exercise recognition per set from what a lower-back sensor can see.

A back sensor sees neither the arms nor the knees, so deadlift, RDL and good morning
have near-identical trunk kinematics (Schellenberg 2013). The features used: posture
(lying back = hip thrust), tempo (ballistic = kettlebell swing), where the lifter rests
between reps (at the bottom = deadlift from the floor), and hinge excursion. The user can
always force the exercise (``--exercise``). Confusions measured on the simulated suite
are in docs/analysis.md.
"""

from __future__ import annotations

import numpy as np

#: Exercises whose reps rest at the bottom (maximum hinge angle).
REST_AT_BOTTOM = frozenset({"deadlift", "hip_thrust"})


def recognise(
    values_deg: np.ndarray,
    motion_s: np.ndarray,
    rest_is_max: bool,
    *,
    knees: bool = False,
    squat_like: bool = False,
) -> str:
    """Best guess of the exercise from a set's turning-point values, movement times,
    where its reps rest and whether the hips drop (knees bend) on the way down."""
    if np.median(values_deg) < -30.0:
        return "hip_thrust"
    if len(motion_s) and float(np.median(motion_s)) < 0.85:
        return "kettlebell_swing"
    if knees:
        return "squat" if squat_like else "deadlift"
    if rest_is_max:
        return "deadlift"
    excursion = float(np.ptp(values_deg)) if len(values_deg) else 0.0
    if excursion >= 75.0:
        return "good_morning"
    return "romanian_deadlift"
