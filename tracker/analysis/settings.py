"""Settings of the analysis, with the defaults of DESIGN section 5.

Every setting states its unit in its name. Flag limits are degrees of lumbar flexion
(or extension) beyond standing neutral (docs/frames.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.signal.calibration import CalibrationSettings

#: Population fallback when the lifter's maximum flexion is not calibrated: 52 deg
#: standing lumbar flexion (Laird 2019) -> caution at ~50%, flag at ~70%.
DEFAULT_FLEXION_LIMIT_DEG = 36.0
DEFAULT_FLEXION_CAUTION_DEG = 26.0
DEFAULT_EXTENSION_LIMIT_DEG = 10.0
#: Rise of peak flexion over a set's first reps that counts as creep.
DEFAULT_CREEP_DEG = 8.0


@dataclass(frozen=True)
class SegmentationSettings:
    """Set and rep segmentation on the hinge angle (deg) and its rate (deg/s)."""

    #: Reversal needed to confirm a turning point of the hinge angle.
    hysteresis_deg: float = 8.0
    #: Smallest excursion that can be a rep.
    min_rep_amplitude_deg: float = 12.0
    #: Longest rest-to-peak (or peak-to-rest) half of a rep, pauses included.
    max_half_rep_s: float = 8.0
    #: Longest rep, pauses included.
    max_rep_s: float = 15.0
    #: A set ends this long after its last turning point.
    set_timeout_s: float = 8.0
    #: Hinge-rate level below which the hinge counts as still (rep boundaries, dwell).
    still_rate_deg_s: float = 12.0
    #: A rest extremum counts as reached after this long still near it.
    settle_s: float = 0.4
    #: Rate of the segmentation state machine (the hinge signal is decimated to it).
    segmentation_rate_hz: float = 25.0


@dataclass(frozen=True)
class AnalysisSettings:
    flexion_limit_deg: float = DEFAULT_FLEXION_LIMIT_DEG
    flexion_caution_deg: float = DEFAULT_FLEXION_CAUTION_DEG
    extension_limit_deg: float = DEFAULT_EXTENSION_LIMIT_DEG
    creep_deg: float = DEFAULT_CREEP_DEG
    #: Exercise id forced by the user for every set (None: recognise per set).
    exercise: str | None = None
    #: Gaps in a sensor's stream longer than this are marked (samples are interpolated
    #: across them, and orientation re-converges faster afterwards).
    max_gap_s: float = 0.1
    #: Window of the clock-offset estimate between the two sensors.
    align_window_s: float = 5.0
    max_clock_lag_s: float = 0.1
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    segmentation: SegmentationSettings = field(default_factory=SegmentationSettings)
