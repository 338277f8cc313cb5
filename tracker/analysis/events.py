"""Events the pipeline emits, and the per-rep and per-set results they carry.

Times are seconds on the recording's timeline (docs/frames.md). Angles in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.analysis.exercises import Evidence


@dataclass(frozen=True)
class RepMetrics:
    """One rep. Lumbar fields are None when the sensors present cannot measure them."""

    set: int
    rep: int
    exercise: str
    start_s: float
    end_s: float
    hinge_depth_deg: float
    lumbar_flexion_deg: float | None
    lumbar_extension_deg: float | None
    flexion_under_load: bool | None
    overextension: bool | None
    lumbar_share: float | None
    eccentric_s: float
    concentric_s: float
    peak_hip_extension_deg_s: float
    #: Above the caution level (but not necessarily the limit).
    flexion_caution: bool | None = None
    #: The angles are measured from an estimated standing posture (no still standing
    #: moment in the recording): counts and timing hold, angles may be 5-15 degrees off.
    angles_approximate: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class SetSummary:
    set: int
    exercise: str
    start_s: float
    end_s: float
    reps: tuple[RepMetrics, ...]
    #: Rep number at which flexion creep was confirmed, None if none.
    creep_rep: int | None = None
    creep_deg: float | None = None
    #: Seconds with lumbar flexion above the flexion limit (None with one sensor).
    time_over_flexion_limit_s: float | None = None
    #: Why the set got its exercise (and so its rest position), feature by feature.
    exercise_evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class CalibrationDone:
    time_s: float
    placement: str
    standing_s: float
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CycleDecision:
    """Why a candidate movement (out of a rest and back) was counted as a rep or not.

    ``verdict`` is ``rep``, ``dropped`` (judged against a set and left out) or
    ``no set`` (no set was open and it did not open one); ``reason`` says which
    evidence decided, in words."""

    start_s: float
    end_s: float
    verdict: str
    reason: str


@dataclass(frozen=True)
class SetStarted:
    time_s: float
    set: int
    exercise: str


@dataclass(frozen=True)
class RepCompleted:
    time_s: float
    metrics: RepMetrics


@dataclass(frozen=True)
class FlagRaised:
    """A cue: ``kind`` is ``flexion``, ``overextension`` or ``creep``."""

    time_s: float
    kind: str
    value_deg: float
    limit_deg: float
    set: int | None = None
    rep: int | None = None


@dataclass(frozen=True)
class SetEnded:
    time_s: float
    summary: SetSummary


@dataclass(frozen=True)
class Notice:
    """Something the user should know (calibration quality, gaps, ...)."""

    time_s: float
    message: str


Event = CalibrationDone | SetStarted | RepCompleted | FlagRaised | SetEnded | Notice
