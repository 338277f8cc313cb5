"""Constants, placements and exercise ids shared by every module.

Frames and sign conventions are defined once, in docs/frames.md:

* sensor frame: the device's own right-handed x, y, z axes, arbitrary on the body;
* body frame of a segment: x anterior, y left (medio-lateral), z up, at standing neutral;
* a segment's sagittal inclination is its rotation about body +y from standing neutral,
  positive when tilting forward (the flexion direction);
* lumbar flexion = lumbar (T12-L1) inclination - sacrum (S1-S2) inclination,
  + flexion, - extension, 0 at standing neutral.
"""

import math

#: Standard gravity in m/s^2 (specific force of a sensor at rest).
G_MPS2 = 9.80665

DEG_PER_RAD = 180.0 / math.pi
RAD_PER_DEG = math.pi / 180.0

LUMBAR = "lumbar"
SACRUM = "sacrum"
#: Placements in their canonical order (upper first).
PLACEMENTS: tuple[str, ...] = (LUMBAR, SACRUM)

#: Exercise ids used by the CLI, the CSV files and the docs.
EXERCISES: tuple[str, ...] = (
    "kettlebell_swing",
    "deadlift",
    "romanian_deadlift",
    "good_morning",
    "cable_pull_through",
    "hip_thrust",
    "squat",
    "wall_hip_hinge",
)
UNKNOWN_EXERCISE = "unknown"
