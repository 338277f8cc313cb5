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
    rep_s: float | None = None,
    depth_deg: float | None = None,
    trunk_sensor: bool = False,
) -> str:
    """Best guess of the exercise from a set's turning points.

    Lying back: hip thrust. Swung (fast, big excursions): kettlebell swing. Hips dropping
    on the way down: squat or deadlift. Otherwise a hip hinge: a brisk one (under
    2.9 s a rep) is a cable pull-through, a shallow one (pelvis under 47 deg, or 52 deg
    for a lone lumbar sensor, which adds lumbar flexion) a wall hip-hinge drill, and the
    rest Romanian deadlifts: good mornings move the trunk the same way (Schellenberg
    2013) and are reported as Romanian deadlifts unless the user names them.
    """
    if np.median(values_deg) < -30.0:
        return "hip_thrust"
    if len(motion_s) and float(np.median(motion_s)) < 0.85:
        return "kettlebell_swing"
    if knees:
        return "squat" if squat_like else "deadlift"
    if rest_is_max:
        return "deadlift"
    if rep_s is not None and rep_s < 2.9:
        return "cable_pull_through"
    if depth_deg is not None and depth_deg < (52.0 if trunk_sensor else 47.0):
        return "wall_hip_hinge"
    return "romanian_deadlift"
