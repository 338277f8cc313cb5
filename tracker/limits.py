"""Limits on the time axis and values of a recording, shared by the readers and the analysis.

Nothing in the tool may allocate in proportion to a time span that the data claim (one
bad timestamp can claim 10^15 s), so the span, the rate and the longest jump of every
sensor's clock are bounded here, with their reasons. docs/limits.md lists every limit.

Rule for clock jumps: a forward step in one sensor's timestamps of up to
`MAX_CLOCK_JUMP_S` is a gap (a lost link, bridged and flagged by the analysis); a longer
one is an error, never a reason to fill the hole.
"""

from __future__ import annotations

import numpy as np

#: Longest forward step between two samples of one sensor (s): a lost BLE link that
#: reconnects within an hour is a gap; longer is a clock fault (a reset, a corrupt
#: timestamp) or two sessions in one file, and bridging it would fill an hour of grid.
MAX_CLOCK_JUMP_S = 3600.0
#: Longest time one sensor's samples may span (s): 12 h is longer than any training
#: session; the analysis keeps a few arrays over the whole span at its 52 Hz rate.
MAX_RECORDING_SPAN_S = 12 * 3600.0
#: Highest median sample rate accepted (Hz): above the fastest output rate of common
#: IMUs (1.66 kHz) and phones; a higher one is a timestamp in the wrong unit.
MAX_SAMPLE_RATE_HZ = 2000.0


#: Largest |time| of a sample on its sensor's clock (s): Unix time is 1.8e9 s; float64
#: still resolves 2 microseconds at 1e10 s, beyond it times lose a sample period's
#: precision, and differences of larger numbers can overflow.
MAX_ABS_TIME_S = 1e10

#: Largest |value| a reader takes from a file before its units are settled: no
#: measurement in any unit a file may hold (m/s^2 or g; rad/s or deg/s, where the widest
#: gyro range is 4000 deg/s) comes near it. Wider than the sensor ranges below, which
#: apply after the unit check, so that data in deg/s declared as rad/s is named as such
#: instead of refused as out of range; and small enough that no arithmetic on it overflows.
MAX_READABLE_ABS_VALUE = 1e4

#: Largest |specific force| component accepted (m/s^2): about 200 g, the widest range of
#: any MEMS accelerometer; more is a damaged value, and squaring it overflows.
MAX_ABS_ACC_MPS2 = 2000.0
#: Largest |angular velocity| component accepted (rad/s): about 11,500 deg/s, beyond the
#: widest MEMS gyroscope range (4,000 deg/s = 70 rad/s).
MAX_ABS_GYRO_RAD_S = 200.0


def value_problem(acc_mps2: np.ndarray, gyro_rad_s: np.ndarray, time_s: np.ndarray) -> str | None:
    """What value of a sensor lies beyond any sensor's range (None when nothing)."""
    for what, values, limit, unit, name in (
        ("acceleration", acc_mps2, MAX_ABS_ACC_MPS2, "m/s^2", "MAX_ABS_ACC_MPS2"),
        ("angular velocity", gyro_rad_s, MAX_ABS_GYRO_RAD_S, "rad/s", "MAX_ABS_GYRO_RAD_S"),
    ):
        if not len(values) or (values.min() >= -limit and values.max() <= limit):
            continue  # the common case, in two passes without temporaries (NaN fails both)
        beyond = np.flatnonzero((np.abs(values) > limit).any(axis=1))
        if len(beyond):
            i = int(beyond[0])
            worst = float(np.abs(values[i]).max())
            return (
                f"{what} of {worst:.4g} {unit} at {time_s[i]:.6f} s (sample {i + 1}) is "
                f"beyond any sensor's range ({limit:g} {unit}, {name}): a damaged value"
            )
    return None


def time_axis_problem(time_s: np.ndarray) -> str | None:
    """What breaks the limits in increasing timestamps ``time_s`` (None when nothing)."""
    if len(time_s) < 2:
        return None
    span_s = float(time_s[-1] - time_s[0])
    steps = np.diff(time_s)
    k = int(np.argmax(steps))
    if steps[k] > MAX_CLOCK_JUMP_S:
        return (
            f"time jumps from {time_s[k]:.3f} s to {time_s[k + 1]:.3f} s (sample {k + 2}), "
            f"more than {MAX_CLOCK_JUMP_S:.0f} s (MAX_CLOCK_JUMP_S): a clock fault or two "
            f"sessions in one; remove the samples on one side of the jump"
        )
    if span_s > MAX_RECORDING_SPAN_S:
        return (
            f"samples span {span_s:.0f} s, more than {MAX_RECORDING_SPAN_S:.0f} s "
            f"(MAX_RECORDING_SPAN_S); split the recording"
        )
    rate_hz = 1.0 / float(np.median(steps))
    if rate_hz > MAX_SAMPLE_RATE_HZ:
        return (
            f"the sample rate is {rate_hz:.4g} Hz, above {MAX_SAMPLE_RATE_HZ:.0f} Hz "
            f"(MAX_SAMPLE_RATE_HZ): are the times in seconds?"
        )
    return None
