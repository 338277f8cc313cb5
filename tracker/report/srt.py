"""Subtitles (SubRip ``.srt``) that put each rep and its flags on a video of the session.

One cue per rep, from the rep's start to its end, numbered from 1: the set and rep
number, the exercise, the hinge depth and any flag with its angle and limit (degrees
beyond standing neutral, docs/frames.md). Times are seconds since the recording's first
sample plus ``offset_s``: a positive offset when the video started before the recording
(the recording's start is ``offset_s`` into the video), negative when it started after.
Cues that would begin before the video are clamped to 0; cues that end before it are
dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tracker.analysis.events import RepMetrics, SetSummary
from tracker.analysis.result import SessionResult
from tracker.recording.fileio import replace_atomically


@dataclass(frozen=True)
class Cue:
    """One subtitle: ``start_s`` < ``end_s`` in video seconds, text lines."""

    start_s: float
    end_s: float
    lines: tuple[str, ...]


def srt_timestamp(t_s: float) -> str:
    """``HH:MM:SS,mmm`` (negative times clamp to 0; milliseconds rounded)."""
    ms = max(0, round(t_s * 1000.0))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _rep_lines(rep: RepMetrics, result: SessionResult, creep: SetSummary | None) -> list[str]:
    settings = result.settings
    lines = [f"Set {rep.set} rep {rep.rep} - {rep.exercise} - depth {rep.hinge_depth_deg:.0f}°"]
    flags = []
    if rep.flexion_under_load and rep.lumbar_flexion_deg is not None:
        flags.append(
            f"FLEXION {rep.lumbar_flexion_deg:.0f}° (limit {settings.flexion_limit_deg:.0f}°)"
        )
    elif rep.flexion_caution and rep.lumbar_flexion_deg is not None:
        flags.append(
            f"caution: flexion {rep.lumbar_flexion_deg:.0f}° "
            f"(caution {settings.flexion_caution_deg:.0f}°)"
        )
    if rep.overextension and rep.lumbar_extension_deg is not None:
        flags.append(
            f"OVER-EXTENSION {rep.lumbar_extension_deg:.0f}° "
            f"(limit {settings.extension_limit_deg:.0f}°)"
        )
    if creep is not None and creep.creep_deg is not None:
        flags.append(f"CREEP +{creep.creep_deg:.0f}° over the set")
    if flags:
        lines.append("; ".join(flags))
    return lines


def srt_cues(
    result: SessionResult, *, start_s: float | None = None, offset_s: float = 0.0
) -> list[Cue]:
    """The cues of ``result``'s reps; ``start_s`` is the recording time at video 0 s
    before the offset (default: the recording's first sample, ``result.start_s``)."""
    if start_s is None:
        start_s = result.start_s or 0.0
    creep_at = {(s.set, s.creep_rep): s for s in result.sets if s.creep_rep is not None}
    cues = []
    for rep in sorted(result.reps, key=lambda r: r.start_s):
        a = rep.start_s - start_s + offset_s
        b = rep.end_s - start_s + offset_s
        if b <= 0:
            continue
        a = max(a, 0.0)
        lines = _rep_lines(rep, result, creep_at.get((rep.set, rep.rep)))
        cues.append(Cue(a, b, tuple(lines)))
    return cues


def format_srt(cues: list[Cue]) -> str:
    """SubRip text: number, ``start --> end``, text lines, blank line; numbered from 1."""
    blocks = []
    for i, c in enumerate(cues, start=1):
        timing = f"{srt_timestamp(c.start_s)} --> {srt_timestamp(c.end_s)}"
        blocks.append("\n".join([str(i), timing, *c.lines]))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def write_srt(
    result: SessionResult,
    path: str | os.PathLike[str],
    *,
    start_s: float | None = None,
    offset_s: float = 0.0,
) -> int:
    """Write the subtitles of ``result`` to ``path`` (UTF-8); returns the number of cues."""
    cues = srt_cues(result, start_s=start_s, offset_s=offset_s)
    text = format_srt(cues)
    replace_atomically(path, text)
    return len(cues)
