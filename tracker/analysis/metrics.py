"""Per-rep metrics, flags and per-set summaries from the timeline arrays.

Angles and signs: docs/frames.md. ``hinge`` is the pelvis (or single segment)
inclination, ``lumbar`` is lumbar flexion lambda (NaN when not measurable).
"""

from __future__ import annotations

import numpy as np

from tracker.analysis.events import RepMetrics, SetSummary
from tracker.analysis.exercises import Evidence
from tracker.analysis.settings import AnalysisSettings

#: Data lost only where the hinge is under this share of the rep's depth leaves the rep's
#: peak flexion measurable (see `rep_metrics`).
LOST_NEAR_REST_DEPTH = 0.5


def rep_metrics(
    *,
    set_no: int,
    rep_no: int,
    exercise: str,
    start: int,
    peak: int,
    end: int,
    time_s: np.ndarray,
    hinge_deg: np.ndarray,
    hinge_rate_deg_s: np.ndarray,
    lumbar_deg: np.ndarray,
    unreliable: np.ndarray,
    settings: AnalysisSettings,
) -> RepMetrics:
    """Metrics of the rep over timeline samples ``[start, end]`` with its peak at ``peak``."""
    sl = slice(start, end + 1)
    h = hinge_deg[sl]
    lam = lumbar_deg[sl]
    depth = float(h[np.argmax(np.abs(h))])
    # A rep during a sensor's data loss has no trustworthy lumbar angle: it is reported
    # as not measured rather than flagged on a wrong value. When the loss lies only where
    # the hinge is shallow (near standing), peak flexion under load, in the deep part of
    # the rep, is still measured; extension, which peaks near standing (lockout,
    # set-up), and the share of the whole excursion are not.
    lost = unreliable[sl]
    seen = np.isfinite(lam) & ~lost
    flex = ext = share = None
    flex_flag = ext_flag = caution = None
    if seen.any() and not lost.any():
        flex = float(lam[seen].max())
        ext = float((-lam[seen]).max())
        share = _lumbar_share(h, lam)
    elif seen.any() and bool(np.all(np.abs(h[lost]) < LOST_NEAR_REST_DEPTH * abs(depth))):
        flex = float(lam[seen].max())
    if flex is not None:
        flex_flag = flex > settings.flexion_limit_deg
        caution = flex > settings.flexion_caution_deg
    if ext is not None:
        ext_flag = ext > settings.extension_limit_deg
    # Eccentric = moving into the peak for top-rest lifts; for bottom-rest lifts
    # (deadlift from the floor, hip thrust) the rep starts with the concentric lift.
    first_half = float(time_s[peak] - time_s[start])
    second_half = float(time_s[end] - time_s[peak])
    starts_concentric = hinge_deg[peak] < hinge_deg[start]
    ecc, con = (second_half, first_half) if starts_concentric else (first_half, second_half)
    return RepMetrics(
        set=set_no,
        rep=rep_no,
        exercise=exercise,
        start_s=float(time_s[start]),
        end_s=float(time_s[end]),
        hinge_depth_deg=depth,
        lumbar_flexion_deg=flex,
        lumbar_extension_deg=ext,
        flexion_under_load=flex_flag,
        overextension=ext_flag,
        lumbar_share=share,
        eccentric_s=ecc,
        concentric_s=con,
        peak_hip_extension_deg_s=float(max(0.0, (-hinge_rate_deg_s[sl]).max())),
        flexion_caution=caution,
    )


def _lumbar_share(hinge: np.ndarray, lam: np.ndarray) -> float | None:
    """Lumbar part of the trunk's sagittal excursion in the rep:
    range(lambda) / (range(lambda) + range(pelvis))."""
    ok = np.isfinite(lam)
    if not ok.any():
        return None
    r_lam = float(np.ptp(lam[ok]))
    r_hinge = float(np.ptp(hinge[ok]))
    if r_lam + r_hinge < 1.0:
        return None
    return r_lam / (r_lam + r_hinge)


def creep(reps: list[RepMetrics], creep_deg: float) -> tuple[int | None, float | None]:
    """Flexion creep: the first rep at which it and the rep before both exceed the
    baseline (mean peak flexion of the set's first two reps) by ``creep_deg``."""
    peaks = [r.lumbar_flexion_deg for r in reps if r.lumbar_flexion_deg is not None]
    if len(reps) < 4 or len(peaks) < len(reps):
        return None, None
    base = (peaks[0] + peaks[1]) / 2.0
    for i in range(3, len(peaks)):
        if peaks[i] - base >= creep_deg and peaks[i - 1] - base >= creep_deg:
            return reps[i].rep, float(peaks[i] - base)
    return None, None


def set_summary(
    set_no: int,
    exercise: str,
    reps: list[RepMetrics],
    start_s: float,
    end_s: float,
    time_over_limit_s: float | None,
    creep_deg: float,
    exercise_evidence: tuple[Evidence, ...] = (),
) -> SetSummary:
    creep_rep, creep_amount = creep(reps, creep_deg)
    return SetSummary(
        set=set_no,
        exercise=exercise,
        start_s=start_s,
        end_s=end_s,
        reps=tuple(reps),
        creep_rep=creep_rep,
        creep_deg=creep_amount,
        time_over_flexion_limit_s=time_over_limit_s,
        exercise_evidence=exercise_evidence,
    )
