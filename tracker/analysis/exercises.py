"""Exercise recognition per set from what a lower-back sensor can see.

A back sensor sees neither the arms nor the knees, so deadlift, RDL and good morning
have near-identical trunk kinematics (Schellenberg 2013). The features used: posture
(lying back = hip thrust), tempo (ballistic = kettlebell swing), where the lifter rests
between reps (at the bottom = deadlift from the floor), and hinge excursion. The user can
always force the exercise (``--exercise``). Confusions measured on the simulated suite
are in docs/analysis.md.
"""

from __future__ import annotations

from tracker.analysis.segmentation import SetShape

#: Exercises whose reps rest at the bottom (maximum hinge angle).
REST_AT_BOTTOM = frozenset({"deadlift", "hip_thrust"})


def recognise(
    shape: SetShape,
    rest_is_max: bool,
    *,
    rep_s: float | None,
    depth_deg: float,
    trunk_sensor: bool,
) -> str:
    """Best guess of the exercise from the shape of a set's opening turns, where its reps
    rest, their duration and their depth (``trunk_sensor``: a lone lumbar sensor).

    Lying back: hip thrust. Swung: kettlebell swing. Hips dropping on the way down:
    squat or deadlift. Otherwise a hip hinge: a brisk one (under 2.9 s a rep) is a cable
    pull-through, a shallow one (pelvis under 47 deg, or 52 deg for a lone lumbar sensor,
    which adds lumbar flexion) a wall hip-hinge drill, and the rest Romanian deadlifts:
    good mornings move the trunk the same way (Schellenberg 2013) and are reported as
    Romanian deadlifts unless the user names them.
    """
    if shape.lying_back:
        return "hip_thrust"
    if shape.ballistic:
        return "kettlebell_swing"
    if shape.knees:
        return "squat" if shape.squat else "deadlift"
    if rest_is_max:
        return "deadlift"
    if rep_s is not None and rep_s < 2.9:
        return "cable_pull_through"
    if depth_deg < (52.0 if trunk_sensor else 47.0):
        return "wall_hip_hinge"
    return "romanian_deadlift"
