"""Checks shared by the file readers and writers: sample order and evident unit mistakes.

Units and frames: docs/frames.md. Acceleration is specific force in m/s^2 and angular
velocity is in rad/s; a file in g or deg/s gives itself away by its magnitudes.
"""

from __future__ import annotations

import numpy as np

from tracker.errors import UnitError
from tracker.samples import SensorSamples
from tracker.units import DEG_PER_RAD, G_MPS2

ACC_UNITS = ("mps2", "g")
GYRO_UNITS = ("rad_s", "dps")

#: A worn sensor's median |specific force| is gravity, 9.81 m/s^2; a median between
#: these bounds can only be gravity written in g (nothing worn sits in 0.05-0.2 g free fall).
_G_MEDIAN_NORM_RANGE = (0.5, 2.0)
#: After converting from g, a median above this (5 g) means the file was already m/s^2.
_ALREADY_MPS2_MEDIAN_NORM_MPS2 = 49.0
#: A human trunk never turns faster than about 10 rad/s (570 deg/s); a 99th percentile
#: |omega| beyond 20 rad/s is deg/s read as rad/s. A still sensor reads ~0.5 deg/s noise
#: in either unit, so without motion there is no evidence and nothing is decided.
_DPS_P99_NORM_RAD_S = 20.0


def first_non_increasing(time_s: np.ndarray) -> int | None:
    """Index ``i`` of the first sample with ``time_s[i] <= time_s[i - 1]``, or None."""
    bad = np.flatnonzero(np.diff(time_s) <= 0)
    return int(bad[0]) + 1 if len(bad) else None


def all_finite(samples: SensorSamples) -> bool:
    return bool(
        np.isfinite(samples.time_s).all()
        and np.isfinite(samples.acc_mps2).all()
        and np.isfinite(samples.gyro_rad_s).all()
    )


#: The unit checks look at up to this many evenly spaced samples: their median and 99th
#: percentile are the whole recording's within a fraction of a percent, far inside the
#: factor-of-two margins above, and an hour's recording is judged in a millisecond.
_UNIT_CHECK_SAMPLES = 1 << 16


def _norm_quantile(xyz: np.ndarray, q: float) -> float:
    """The ``q`` quantile of the rows' lengths (the sample at that rank, no interpolation).

    Squared lengths have the same order as lengths, so one partition of them does
    without the square roots and the copies of `np.percentile`.
    """
    xyz = xyz[:: max(1, len(xyz) // _UNIT_CHECK_SAMPLES)]
    squared = np.einsum("ij,ij->i", xyz, xyz)
    k = min(len(squared) - 1, int(q * len(squared)))
    return float(np.sqrt(np.partition(squared, k)[k]))


def check_units(samples: SensorSamples, *, acc_unit: str, gyro_unit: str, source: str) -> None:
    """Raise `UnitError` when ``samples`` (already converted) are evidently in other units.

    ``acc_unit`` / ``gyro_unit`` are the units the file was declared in, so the message can
    name the option that fixes it. ``source`` names the file in the message.
    """
    if len(samples) == 0:
        return
    p = samples.placement
    acc_norm = _norm_quantile(samples.acc_mps2, 0.5)
    lo, hi = _G_MEDIAN_NORM_RANGE
    if acc_unit == "mps2" and lo <= acc_norm <= hi:
        raise UnitError(
            f"{source}: {p} acceleration looks like it is in g, not m/s^2 (median magnitude "
            f"{acc_norm:.2f}, expected about 9.81 for a worn sensor); "
            f"use --acc-unit g (acc_unit='g') to convert on import"
        )
    if acc_unit == "g" and acc_norm > _ALREADY_MPS2_MEDIAN_NORM_MPS2:
        raise UnitError(
            f"{source}: {p} acceleration looks like it is already in m/s^2 (median magnitude "
            f"{acc_norm / G_MPS2:.1f} in the file, expected about 1 g); drop --acc-unit g"
        )
    gyro_p99 = _norm_quantile(samples.gyro_rad_s, 0.99)
    if gyro_unit == "rad_s" and gyro_p99 > _DPS_P99_NORM_RAD_S:
        raise UnitError(
            f"{source}: {p} angular velocity looks like it is in deg/s, not rad/s (99th "
            f"percentile |gyro| {gyro_p99:.0f}, a trunk stays below about 10 rad/s = "
            f"{10 * DEG_PER_RAD:.0f} deg/s); use --gyro-unit dps (gyro_unit='dps') "
            f"to convert on import"
        )
