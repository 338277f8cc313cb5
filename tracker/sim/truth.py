"""Ground truth of a simulated session, and its JSON form (docs/truth-format.md).

All times are seconds on the recording timeline: the lumbar sensor's clock, or the single
sensor's clock. "True λ" is the model's lumbar flexion: the sagittal inclination of the
L1 segment relative to the S1 (pelvis) segment, 0 at the model's standing neutral shape,
+ flexion, excluding soft-tissue wobble of the sensors (docs/frames.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tracker.sim.plan import EventPlan, RepPlan, SessionPlan
from tracker.units import DEG_PER_RAD

TRUTH_FORMAT = "tracker-sim-truth"
TRUTH_VERSION = 1
FLEXION_LIMIT_DEG = 36.0
EXTENSION_LIMIT_DEG = 10.0
CREEP_LIMIT_DEG = 8.0


@dataclass
class RepTruth:
    set: int
    rep: int
    exercise: str
    start_s: float
    end_s: float
    duration_s: float
    peak_hinge_s: float  # time of the rep's largest pelvis tilt
    hinge_depth_deg: float  # max pelvis tilt θp in the rep
    pelvis_tilt_min_deg: float
    lumbar_inclination_max_deg: float  # max L1 segment inclination θp + λ
    lumbar_flexion_deg: float  # max λ
    lumbar_extension_deg: float  # max -λ
    lumbar_share: float  # range(λ) / (range(λ) + range(θp))
    peak_hip_extension_velocity_deg_s: float  # max of -dθp/dt
    flexion_under_load: bool  # lumbar_flexion_deg > 36
    overextension: bool  # lumbar_extension_deg > 10
    faults: list[str] = field(default_factory=list)
    borderline: bool = False


@dataclass
class SetTruth:
    set: int
    exercise: str
    load_kg: float | None
    start_s: float  # start of the first rep
    end_s: float  # end of the last rep
    reps: int
    intended_faults: dict[str, list[int]]
    creep_deg: float  # configured rise of peak flexion over the set (0: none)
    flexion_rise_deg: float  # max peak λ over the set minus the mean of reps 1-2
    flexion_creep: bool  # flexion_rise_deg >= 8


@dataclass
class EventTruth:
    kind: str
    start_s: float
    end_s: float
    set: int | None
    detail: str = ""


@dataclass
class Truth:
    seed: int
    config: dict[str, Any]
    timeline_placement: str
    duration_s: float
    start_s: float
    setup: dict[str, dict[str, Any]]
    body: dict[str, Any]
    sets: list[SetTruth]
    reps: list[RepTruth]
    events: list[EventTruth]
    limits: dict[str, float] = field(
        default_factory=lambda: {
            "flexion_limit_deg": FLEXION_LIMIT_DEG,
            "extension_limit_deg": EXTENSION_LIMIT_DEG,
            "creep_limit_deg": CREEP_LIMIT_DEG,
        }
    )

    def as_dict(self) -> dict[str, Any]:
        d = {"format": TRUTH_FORMAT, "version": TRUTH_VERSION}
        d.update(asdict(self))
        return _clean(d)

    def to_json(self) -> str:
        """Deterministic JSON text (same truth -> same bytes)."""
        return json.dumps(self.as_dict(), indent=1, allow_nan=False) + "\n"


def _clean(x: Any) -> Any:
    """JSON-able copy: numpy -> Python, floats rounded to 1 µs / 1e-6 units."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return round(float(x), 6)
    return x


def rep_truth(
    plan: RepPlan, t_s: np.ndarray, theta_p: np.ndarray, lam: np.ndarray, to_timeline: float
) -> RepTruth:
    """Measure one rep on the rendered (noise-free, wobble-free) trajectories."""
    i0 = int(np.searchsorted(t_s, plan.start_s, side="left"))
    i1 = max(int(np.searchsorted(t_s, plan.end_s, side="right")), i0 + 2)
    th = theta_p[i0:i1] * DEG_PER_RAD
    la = lam[i0:i1] * DEG_PER_RAD
    dt = float(t_s[1] - t_s[0])
    k = int(np.argmax(th))
    th_range = float(th.max() - th.min())
    la_range = float(la.max() - la.min())
    flex = float(la.max())
    ext = float(-la.min())
    return RepTruth(
        set=plan.set_index,
        rep=plan.rep,
        exercise=plan.exercise,
        start_s=plan.start_s + to_timeline,
        end_s=plan.end_s + to_timeline,
        duration_s=plan.end_s - plan.start_s,
        peak_hinge_s=float(t_s[i0 + k]) + to_timeline,
        hinge_depth_deg=float(th.max()),
        pelvis_tilt_min_deg=float(th.min()),
        lumbar_inclination_max_deg=float((th + la).max()),
        lumbar_flexion_deg=flex,
        lumbar_extension_deg=ext,
        lumbar_share=la_range / (la_range + th_range) if la_range + th_range > 0 else 0.0,
        peak_hip_extension_velocity_deg_s=float(np.max(-np.gradient(th, dt))),
        flexion_under_load=flex > FLEXION_LIMIT_DEG,
        overextension=ext > EXTENSION_LIMIT_DEG,
        faults=list(plan.faults),
        borderline=plan.borderline,
    )


def event_truth(e: EventPlan, to_timeline: float) -> EventTruth:
    return EventTruth(e.kind, e.start_s + to_timeline, e.end_s + to_timeline, e.set_index, e.detail)


def sets_truth(plan: SessionPlan, reps: list[RepTruth]) -> list[SetTruth]:
    out = []
    for sp in plan.sets:
        rs = [r for r in reps if r.set == sp.set_index]
        peaks = [r.lumbar_flexion_deg for r in rs]
        rise = max(peaks) - float(np.mean(peaks[:2])) if peaks else 0.0
        out.append(
            SetTruth(
                set=sp.set_index,
                exercise=sp.exercise,
                load_kg=sp.load_kg,
                start_s=rs[0].start_s if rs else float("nan"),
                end_s=rs[-1].end_s if rs else float("nan"),
                reps=len(rs),
                intended_faults={k: list(v) for k, v in sp.intended_faults.items()},
                creep_deg=sp.creep_deg,
                flexion_rise_deg=rise,
                flexion_creep=rise >= CREEP_LIMIT_DEG,
            )
        )
    return out
