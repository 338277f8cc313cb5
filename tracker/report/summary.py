"""Per-set summary of a session, as data (for ``--json``) and as text.

Angles in degrees (docs/frames.md); times in seconds on the recording's timeline.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from tracker.analysis.events import RepMetrics, SetSummary
from tracker.analysis.result import SessionResult
from tracker.numbers import fixed
from tracker.report.words import plural, sets_and_reps


def _flags(r: RepMetrics) -> list[dict[str, Any]]:
    out = []
    if r.flexion_under_load:
        assert r.lumbar_flexion_deg is not None  # a flag is raised on a measured angle
        out.append({"rep": r.rep, "kind": "flexion", "value_deg": round(r.lumbar_flexion_deg, 1)})
    if r.overextension:
        assert r.lumbar_extension_deg is not None
        out.append(
            {"rep": r.rep, "kind": "overextension", "value_deg": round(r.lumbar_extension_deg, 1)}
        )
    return out


def _mean(xs: list[float]) -> float | None:
    return round(float(np.mean(xs)), 2) if xs else None


def set_dict(s: SetSummary) -> dict[str, Any]:
    reps = list(s.reps)
    flex = [r.lumbar_flexion_deg for r in reps if r.lumbar_flexion_deg is not None]
    flagged = [f for r in reps for f in _flags(r)]
    return {
        "set": s.set,
        "exercise": s.exercise,
        "start_s": round(s.start_s, 3),
        "end_s": round(s.end_s, 3),
        "reps": len(reps),
        "mean_rep_s": _mean([r.duration_s for r in reps]),
        "mean_eccentric_s": _mean([r.eccentric_s for r in reps]),
        "mean_concentric_s": _mean([r.concentric_s for r in reps]),
        "mean_depth_deg": _mean([r.hinge_depth_deg for r in reps]),
        "mean_peak_flexion_deg": _mean(flex),
        "max_peak_flexion_deg": round(max(flex), 1) if flex else None,
        "flagged": flagged,
        "flagged_reps": sorted({f["rep"] for f in flagged}),
        "creep_rep": s.creep_rep,
        "creep_deg": None if s.creep_deg is None else round(s.creep_deg, 1),
        "time_over_flexion_limit_s": s.time_over_flexion_limit_s,
        "rep_details": [asdict(r) | {"duration_s": round(r.duration_s, 3)} for r in reps],
    }


def summary_dict(result: SessionResult) -> dict[str, Any]:
    st = result.settings
    sets = [set_dict(s) for s in result.sets]
    n_reps = sum(s["reps"] for s in sets)
    n_flagged = sum(len(s["flagged_reps"]) for s in sets)
    return {
        "placements": list(result.placements),
        "lumbar_flexion_measured": result.dual,
        "duration_s": round(result.duration_s, 3),
        # Times in this summary are on the recording's timeline; this is its start.
        "recording_start_s": result.start_s,
        "limits": {
            "flexion_limit_deg": st.flexion_limit_deg,
            "flexion_caution_deg": st.flexion_caution_deg,
            "extension_limit_deg": st.extension_limit_deg,
            "creep_deg": st.creep_deg,
        },
        "sets": sets,
        "totals": {
            "sets": len(sets),
            "reps": n_reps,
            "flagged_reps": n_flagged,
            "creep_sets": sum(1 for s in sets if s["creep_rep"] is not None),
        },
        "notices": list(result.notices),
    }


def _clock(t_s: float) -> str:
    sign = "-" if t_s < 0 else ""
    t = abs(t_s)
    return f"{sign}{int(t // 60):d}:{t % 60:04.1f}"


def _fmt(x: float | None, unit: str, digits: int = 0) -> str:
    return "-" if x is None else fixed(x, digits) + unit


def format_summary(d: dict[str, Any], limits_source: str) -> str:
    lines = []
    sensors = " + ".join(d["placements"])
    lim = d["limits"]
    t0 = d.get("recording_start_s") or 0.0
    lines.append(f"Session {_clock(d['duration_s'])} (min:s), sensors: {sensors}")
    if d["lumbar_flexion_measured"]:
        lines.append(
            f"Limits ({limits_source}): flexion {lim['flexion_limit_deg']:.0f} deg "
            f"(caution {lim['flexion_caution_deg']:.0f}), extension "
            f"{lim['extension_limit_deg']:.0f} deg beyond standing"
        )
    else:
        lines.append(
            "One sensor: lumbar flexion cannot be measured; depth is the segment's inclination"
        )
    for s in d["sets"]:
        lines.append("")
        lines.append(
            f"Set {s['set']}  {s['exercise']}  {plural(s['reps'], 'rep')}  "
            f"{_clock(s['start_s'] - t0)}-{_clock(s['end_s'] - t0)}"
        )
        tempo = _fmt(s["mean_rep_s"], " s/rep", 2)
        down = _fmt(s["mean_eccentric_s"], " s", 2)
        up = _fmt(s["mean_concentric_s"], " s", 2)
        depth = _fmt(s["mean_depth_deg"], " deg")
        lines.append(f"  tempo {tempo} (down {down}, up {up})   depth {depth}")
        if d["lumbar_flexion_measured"]:
            lines.append(
                f"  peak lumbar flexion {_fmt(s['mean_peak_flexion_deg'], ' deg')} average, "
                f"{_fmt(s['max_peak_flexion_deg'], ' deg')} max;  time over flexion limit "
                f"{_fmt(s['time_over_flexion_limit_s'], ' s', 1)}"
            )
            if s["flagged"]:
                text = "; ".join(
                    f"rep {f['rep']} {'flexion' if f['kind'] == 'flexion' else 'over-extension'}"
                    f" {f['value_deg']:.0f} deg"
                    for f in s["flagged"]
                )
                lines.append(f"  flagged: {text}")
            else:
                lines.append("  flagged: none")
            if s["creep_rep"] is not None:
                lines.append(f"  flexion creep: +{s['creep_deg']:.0f} deg by rep {s['creep_rep']}")
    t = d["totals"]
    lines.append("")
    lines.append(
        f"Total: {sets_and_reps(t['sets'], t['reps'])}"
        + (f", {t['flagged_reps']} flagged" if d["lumbar_flexion_measured"] else "")
    )
    for n in d["notices"]:
        lines.append(f"Note: {n}")
    lines.append("Flags are technique cues, not injury predictions.")
    return "\n".join(lines)


def explain_dict(result: SessionResult) -> dict[str, Any]:
    """Why each set got its exercise and why each candidate movement was counted or
    not (times on the recording's timeline, like the summary's)."""
    return {
        "set_evidence": [
            {
                "set": s.set,
                "exercise": s.exercise,
                "evidence": [str(e) for e in s.exercise_evidence],
            }
            for s in result.sets
        ],
        "movements": [
            {
                "start_s": round(d.start_s, 3),
                "end_s": round(d.end_s, 3),
                "verdict": d.verdict,
                "reason": d.reason,
            }
            for d in result.decisions
        ],
    }


def format_explain(d: dict[str, Any], start_s: float | None) -> str:
    """`explain_dict` as text: one line per set, then per movement."""
    t0 = start_s or 0.0
    lines = ["Why:"]
    for s in d["set_evidence"]:
        because = "; ".join(s["evidence"]) or "named on the command line"
        lines.append(f"  set {s['set']} {s['exercise']}: {because}")
    if not d["movements"]:
        lines.append("  no movement of a rep's size")
    for m in d["movements"]:
        verdict = "counted" if m["verdict"] == "rep" else m["verdict"]
        lines.append(
            f"  {_clock(m['start_s'] - t0)}-{_clock(m['end_s'] - t0)}  {verdict}: {m['reason']}"
        )
    return "\n".join(lines)
