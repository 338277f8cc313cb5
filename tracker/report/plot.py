"""Plots of an analysed session: per set, the hinge angle and lumbar flexion over time.

Two sensors: per set, the hinge (pelvis inclination) trace above and the lumbar flexion
trace below, with the flexion limit, the caution level and the extension limit drawn;
reps shaded and numbered, flagged reps shaded red and their peaks marked with the value.
One sensor: per set, that segment's inclination only, and the figure says that lumbar
flexion is not measured. Angles and signs: docs/frames.md.

Times on every axis are minutes:seconds since ``start_s`` (seconds on the recording's
timeline), by default the recording's first sample (``SessionResult.start_s``), so plots,
report and subtitles share one zero that lines up with a video started together with the
recording.

Figures are built with matplotlib's object API on the Agg canvas: no pyplot, no global
backend switch, no GUI, so importing this module never changes a user's matplotlib state.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from tracker.analysis.events import RepMetrics, SetSummary
from tracker.analysis.result import SessionResult
from tracker.analysis.settings import AnalysisSettings
from tracker.errors import InputError
from tracker.recording.fileio import replace_atomically
from tracker.report.words import plural, sets_and_reps

#: File formats `write_plot` can write, by file suffix.
PLOT_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

#: Seconds of context drawn before a set's first rep and after its last.
SET_MARGIN_S = 2.0
#: Longest span drawn per second of the overview trace; longer sessions are decimated
#: (a 1000-px-wide trace cannot show more, and it keeps big sessions fast).
OVERVIEW_POINTS_PER_S = 10.0

# Colours: dark traces on light shading; red for flexion, purple for extension, so the
# two flags differ by hue and by marker direction (also for colour-blind readers).
HINGE_COLOUR = "#1f4e79"
LUMBAR_COLOUR = "#222222"
REP_SHADES = ("#dfe8f3", "#eef3f9")
FLAGGED_SHADE = "#f9d0d0"
FLEXION_COLOUR = "#c62828"
CAUTION_COLOUR = "#e08a00"
EXTENSION_COLOUR = "#6a3d9a"
SET_SHADE = "#dfe8f3"
NOTE_COLOUR = "#555555"
#: Rep numbers relative to the base type size.
REP_NUMBER_SCALE = 0.9
#: Width taken by the y label and ticks left of an axes (to estimate the plot width).
AXES_MARGIN_IN = 1.3


@dataclass(frozen=True)
class PlotSizes:
    """Figure geometry in inches and type sizes in points."""

    width_in: float
    hinge_in: float
    lumbar_in: float
    single_in: float
    title_in: float
    font_pt: float


#: One tall image of the whole session (`tracker plot`).
SESSION_SIZES = PlotSizes(
    width_in=11.0, hinge_in=1.7, lumbar_in=2.1, single_in=2.2, title_in=0.9, font_pt=10.0
)
#: One image per set for the HTML report: narrow with large type, so that scaled to a
#: phone's width (about 400 CSS px, 80 px per inch) the labels stay 9-12 px high.
REPORT_SIZES = PlotSizes(
    width_in=5.0, hinge_in=1.8, lumbar_in=2.2, single_in=2.2, title_in=1.0, font_pt=10.5
)


def clock_text(t_s: float) -> str:
    """Seconds as ``m:ss`` (rounded to the second), the time format of plots and report."""
    whole_s = round(abs(float(t_s)))
    return f"{'-' if t_s < 0 and whole_s else ''}{whole_s // 60}:{whole_s % 60:02d}"


def _time_axis(ax: Axes, label: bool) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 5, 10], integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda t_s, _pos: clock_text(t_s)))
    if label:
        ax.set_xlabel("time since recording start (min:s)")


def _is_flagged(r: RepMetrics) -> bool:
    return bool(r.flexion_under_load) or bool(r.overextension)


def _exercise_name(exercise: str) -> str:
    return exercise.replace("_", " ")


def _segment_label(result: SessionResult) -> str:
    if result.dual:
        return "hinge: pelvis\ninclination (°)"
    return f"{result.placements[0]} segment\ninclination (°)"


def single_sensor_note(result: SessionResult) -> str:
    """What a one-sensor plot shows and what it cannot (empty with two sensors)."""
    if result.dual:
        return ""
    return (
        f"One sensor ({result.placements[0]}): the trace is that segment's inclination from "
        "standing. Lumbar flexion is not measured with one sensor (it needs a second sensor "
        "on the sacrum), so no flexion or extension flags are shown."
    )


class _Traces:
    """The timeline arrays of a result, with times relative to ``start_s``."""

    def __init__(self, result: SessionResult, start_s: float | None) -> None:
        tl = result.traces
        t = tl.time_s
        if len(t) == 0:
            raise InputError("nothing to plot: the analysis produced no timeline samples")
        if start_s is None:
            start_s = result.start_s if result.start_s is not None else float(t[0])
        self.t0_s = float(start_s)
        self.t_s = t - self.t0_s
        self.hinge_deg = tl.hinge_deg
        self.lumbar_deg = tl.lumbar_deg

    def window(self, start_s: float, end_s: float) -> slice:
        """Samples within ``[start_s, end_s]`` (relative seconds)."""
        a = int(np.searchsorted(self.t_s, start_s, side="left"))
        b = int(np.searchsorted(self.t_s, end_s, side="right"))
        return slice(a, b)


def _padded_limits(lo: float, hi: float, top_room: float) -> tuple[float, float]:
    span = max(hi - lo, 10.0)
    return lo - 0.06 * span, hi + top_room * span


def _shade_reps(ax: Axes, reps: Sequence[RepMetrics], t0_s: float) -> None:
    for r in reps:
        colour = FLAGGED_SHADE if _is_flagged(r) else REP_SHADES[r.rep % 2]
        ax.axvspan(r.start_s - t0_s, r.end_s - t0_s, color=colour, lw=0, zorder=0)


def _crowded(reps: Sequence[RepMetrics], window_s: float, sz: PlotSizes) -> bool:
    """Whether rep numbers side by side would overlap: then they alternate two rows."""
    if window_s <= 0:
        return False
    axes_pt = (sz.width_in - AXES_MARGIN_IN) * 72.0
    for r in reps:
        label_pt = len(str(r.rep)) * 0.62 * REP_NUMBER_SCALE * sz.font_pt + 4.0
        if r.duration_s / window_s * axes_pt < label_pt:
            return True
    return False


def _number_reps(
    ax: Axes, reps: Sequence[RepMetrics], t0_s: float, sz: PlotSizes, rows: int
) -> None:
    # Numbers sit in the head room above the trace (see the y limits), in axes y units.
    row_step = REP_NUMBER_SCALE * sz.font_pt * 1.25 / (sz.hinge_in * 0.8 * 72.0)
    for i, r in enumerate(reps):
        mid = 0.5 * (r.start_s + r.end_s) - t0_s
        flagged = _is_flagged(r)
        ax.text(
            mid,
            0.97 - (i % rows) * row_step,
            str(r.rep),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=sz.font_pt * REP_NUMBER_SCALE,
            fontweight="bold" if flagged else "normal",
            color=FLEXION_COLOUR if flagged else "#333333",
            clip_on=True,
        )


def _draw_hinge(
    ax: Axes,
    tr: _Traces,
    sl: slice,
    reps: Sequence[RepMetrics],
    result: SessionResult,
    sz: PlotSizes,
) -> None:
    t = tr.t_s[sl]
    h = tr.hinge_deg[sl]
    rows = 2 if _crowded(reps, float(t[-1] - t[0]), sz) else 1
    _shade_reps(ax, reps, tr.t0_s)
    ax.axhline(0.0, color="#999999", lw=0.6, zorder=1)
    ax.plot(t, h, color=HINGE_COLOUR, lw=1.3, zorder=2)
    ok = h[np.isfinite(h)]
    if len(ok):
        lo, hi = min(float(ok.min()), 0.0), max(float(ok.max()), 0.0)
        ax.set_ylim(*_padded_limits(lo, hi, 0.3 if rows == 1 else 0.55))
    _number_reps(ax, reps, tr.t0_s, sz, rows)
    ax.set_ylabel(_segment_label(result), fontsize=sz.font_pt)
    ax.set_xlim(float(t[0]), float(t[-1]))


def _mark_flags(ax: Axes, tr: _Traces, reps: Sequence[RepMetrics], font_pt: float) -> None:
    for r in reps:
        sl = tr.window(r.start_s - tr.t0_s, r.end_s - tr.t0_s)
        lam = tr.lumbar_deg[sl]
        if not np.isfinite(lam).any():
            continue
        t = tr.t_s[sl]
        if r.flexion_under_load:
            k = int(np.nanargmax(lam))
            ax.plot(t[k], lam[k], marker="v", ms=7, color=FLEXION_COLOUR, zorder=6, ls="none")
            ax.annotate(
                f"{r.lumbar_flexion_deg:.0f}°",
                (t[k], lam[k]),
                xytext=(0, 6),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=font_pt * 0.85,
                fontweight="bold",
                color=FLEXION_COLOUR,
                zorder=6,
            )
        if r.overextension:
            k = int(np.nanargmin(lam))
            ax.plot(t[k], lam[k], marker="^", ms=7, color=EXTENSION_COLOUR, zorder=6, ls="none")
            ax.annotate(
                f"{r.lumbar_extension_deg:.0f}°",
                (t[k], lam[k]),
                xytext=(0, -6),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=font_pt * 0.85,
                fontweight="bold",
                color=EXTENSION_COLOUR,
                zorder=6,
            )


def _draw_lumbar(
    ax: Axes,
    tr: _Traces,
    sl: slice,
    reps: Sequence[RepMetrics],
    result: SessionResult,
    sz: PlotSizes,
) -> None:
    st = result.settings
    t = tr.t_s[sl]
    lam = tr.lumbar_deg[sl]
    flex, ext = st.flexion_limit_deg, st.extension_limit_deg
    _shade_reps(ax, reps, tr.t0_s)
    ax.axhline(0.0, color="#999999", lw=0.6, zorder=1)
    ax.plot(t, lam, color=LUMBAR_COLOUR, lw=1.2, zorder=2)
    # Fill where the spine is beyond a limit, so a crossing is visible at a glance.
    ax.fill_between(t, lam, flex, where=lam > flex, color=FLEXION_COLOUR, alpha=0.35, lw=0)
    ax.fill_between(t, lam, -ext, where=lam < -ext, color=EXTENSION_COLOUR, alpha=0.35, lw=0)
    # The limits are named (with their values) in the legend, not on the plot, where a
    # label would sooner or later hide a flag's value.
    for y, colour, style in _limit_styles(st):
        ax.axhline(y, color=colour, lw=1.1, ls=style, zorder=3)
    _mark_flags(ax, tr, reps, sz.font_pt)
    ok = lam[np.isfinite(lam)]
    lo = min(-ext, float(ok.min()) if len(ok) else -ext) - 4.0
    hi = max(flex, float(ok.max()) if len(ok) else flex) + 4.0
    ax.set_ylim(*_padded_limits(lo, hi, 0.12))
    ax.set_ylabel("lumbar flexion (°)\n+flex / −ext", fontsize=sz.font_pt)


def _wrap(text: str, width_in: float, font_pt: float) -> str:
    # An average character is about half the type size wide.
    return textwrap.fill(text, width=max(20, int(width_in * 72.0 / (0.55 * font_pt)) - 6))


def _set_title(s: SetSummary, result: SessionResult) -> str:
    parts = [f"Set {s.set}: {_exercise_name(s.exercise)}", plural(len(s.reps), "rep")]
    if result.dual:
        flagged = sum(1 for r in s.reps if _is_flagged(r))
        parts.append(f"{flagged} flagged")
        if s.creep_rep is not None and s.creep_deg is not None:
            parts.append(f"flexion creep +{s.creep_deg:.0f}° by rep {s.creep_rep}")
    else:
        parts.append("lumbar flexion not measured (one sensor)")
    return "  ·  ".join(parts)


def _limit_styles(st: AnalysisSettings) -> list[tuple[float, str, str]]:
    """(y, colour, line style) of the flexion limit, caution level and extension limit."""
    out = [(st.flexion_limit_deg, FLEXION_COLOUR, "--")]
    if st.flexion_caution_deg < st.flexion_limit_deg:
        out.append((st.flexion_caution_deg, CAUTION_COLOUR, ":"))
    out.append((-st.extension_limit_deg, EXTENSION_COLOUR, "--"))
    return out


def _legend_handles(st: AnalysisSettings) -> list[Artist]:
    handles: list[Artist] = [
        Patch(color=REP_SHADES[0], label="rep (numbered)"),
        Patch(color=FLAGGED_SHADE, label="flagged rep"),
        Line2D([], [], color=FLEXION_COLOUR, marker="v", ls="none", label="flexion flag"),
        Line2D([], [], color=EXTENSION_COLOUR, marker="^", ls="none", label="extension flag"),
    ]
    names = {
        FLEXION_COLOUR: f"flexion limit {st.flexion_limit_deg:.0f}°",
        CAUTION_COLOUR: f"caution {st.flexion_caution_deg:.0f}°",
        EXTENSION_COLOUR: f"extension limit {st.extension_limit_deg:.0f}°",
    }
    for _, colour, style in _limit_styles(st):
        handles.append(Line2D([], [], color=colour, ls=style, lw=1.1, label=names[colour]))
    return handles


def _draw_set(
    target: Figure | SubFigure, result: SessionResult, tr: _Traces, s: SetSummary, sz: PlotSizes
) -> None:
    sl = tr.window(s.start_s - tr.t0_s - SET_MARGIN_S, s.end_s - tr.t0_s + SET_MARGIN_S)
    if sl.stop - sl.start < 2:
        raise InputError(f"set {s.set} has no timeline samples to plot")
    reps = s.reps
    title_pt = sz.font_pt * 1.15
    target.suptitle(
        _wrap(_set_title(s, result), sz.width_in, title_pt * 1.1),
        fontsize=title_pt,
        fontweight="bold",
    )
    if result.dual:
        ax_h, ax_l = target.subplots(2, 1, sharex=True, height_ratios=[sz.hinge_in, sz.lumbar_in])
        _draw_hinge(ax_h, tr, sl, reps, result, sz)
        _draw_lumbar(ax_l, tr, sl, reps, result, sz)
        axes: tuple[Axes, ...] = (ax_h, ax_l)
    else:
        ax_h = target.subplots(1, 1)
        _draw_hinge(ax_h, tr, sl, reps, result, sz)
        axes = (ax_h,)
    for ax in axes:
        ax.tick_params(labelsize=sz.font_pt * 0.85)
        ax.grid(axis="y", color="#dddddd", lw=0.5)
        ax.set_axisbelow(True)
    _time_axis(axes[-1], label=True)
    if not result.dual:
        return  # nothing to explain beyond the numbered shading
    target.legend(
        handles=_legend_handles(result.settings),
        loc="outside lower center",
        ncols=4 if sz.width_in >= 8.0 else 3,
        fontsize=sz.font_pt * 0.8,
        frameon=False,
    )


def _draw_overview(
    target: Figure | SubFigure, result: SessionResult, tr: _Traces, sz: PlotSizes
) -> None:
    ax = target.subplots(1, 1)
    step = max(1, int(len(tr.t_s) / max(1.0, OVERVIEW_POINTS_PER_S * float(tr.t_s[-1]))))
    for s in result.sets:
        a, b = s.start_s - tr.t0_s, s.end_s - tr.t0_s
        ax.axvspan(a, b, color=SET_SHADE, lw=0, zorder=0)
        flagged = any(_is_flagged(r) for r in s.reps)
        ax.text(
            0.5 * (a + b),
            0.97,
            f"set {s.set}",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=sz.font_pt * 0.85,
            color=FLEXION_COLOUR if flagged else "#333333",
            fontweight="bold" if flagged else "normal",
        )
    ax.axhline(0.0, color="#999999", lw=0.6, zorder=1)
    ax.plot(tr.t_s[::step], tr.hinge_deg[::step], color=HINGE_COLOUR, lw=0.8, zorder=2)
    ok = tr.hinge_deg[np.isfinite(tr.hinge_deg)]
    if len(ok):
        ax.set_ylim(*_padded_limits(min(float(ok.min()), 0.0), max(float(ok.max()), 0.0), 0.3))
    ax.set_xlim(min(0.0, float(tr.t_s[0])), float(tr.t_s[-1]))
    ax.set_ylabel(_segment_label(result), fontsize=sz.font_pt)
    ax.tick_params(labelsize=sz.font_pt * 0.85)
    _time_axis(ax, label=True)
    n_reps = sum(len(s.reps) for s in result.sets)
    title = f"Session: {sets_and_reps(len(result.sets), n_reps)}"
    if not result.sets:
        title = "Session: no sets detected"
    target.suptitle(title, fontsize=sz.font_pt * 1.15, fontweight="bold")
    note = single_sensor_note(result)
    if note:
        # An axes title (not free figure text) so that the layout makes room for it.
        ax.set_title(
            _wrap(note, sz.width_in, sz.font_pt * 0.85),
            fontsize=sz.font_pt * 0.85,
            color=NOTE_COLOUR,
            loc="left",
        )


def _new_figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _overview_height(result: SessionResult, sz: PlotSizes) -> float:
    return sz.single_in + sz.title_in + (0.0 if result.dual else 0.5)


def _set_height(result: SessionResult, sz: PlotSizes) -> float:
    body = sz.hinge_in + sz.lumbar_in if result.dual else sz.single_in
    return body + sz.title_in + 0.4


def session_figure(
    result: SessionResult, sizes: PlotSizes = SESSION_SIZES, start_s: float | None = None
) -> Figure:
    """One figure of the whole session: an overview of all sets, then one panel per set."""
    tr = _Traces(result, start_s)
    heights = [_overview_height(result, sizes)] + [_set_height(result, sizes)] * len(result.sets)
    fig = _new_figure(sizes.width_in, sum(heights))
    subs = fig.subfigures(len(heights), 1, height_ratios=heights, squeeze=False)[:, 0]
    _draw_overview(subs[0], result, tr, sizes)
    for sub, s in zip(subs[1:], result.sets, strict=True):
        _draw_set(sub, result, tr, s, sizes)
    return fig


def overview_figure(
    result: SessionResult, sizes: PlotSizes = REPORT_SIZES, start_s: float | None = None
) -> Figure:
    """The whole session's hinge (or segment) trace with the sets shaded and numbered."""
    tr = _Traces(result, start_s)
    fig = _new_figure(sizes.width_in, _overview_height(result, sizes))
    _draw_overview(fig, result, tr, sizes)
    return fig


def set_figure(
    result: SessionResult,
    set_summary: SetSummary,
    sizes: PlotSizes = REPORT_SIZES,
    start_s: float | None = None,
) -> Figure:
    """One set: hinge trace (and, with two sensors, lumbar flexion with the limits)."""
    tr = _Traces(result, start_s)
    fig = _new_figure(sizes.width_in, _set_height(result, sizes))
    _draw_set(fig, result, tr, set_summary, sizes)
    return fig


def figure_bytes(fig: Figure, fmt: str = "png", dpi: float = 120.0) -> bytes:
    """The figure encoded as ``fmt`` (one of `PLOT_FORMATS`)."""
    if fmt not in PLOT_FORMATS:
        raise InputError(f"cannot write a plot as {fmt!r}; use one of {', '.join(PLOT_FORMATS)}")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, facecolor="white")
    return buf.getvalue()


def plot_format(path: str | Path) -> str:
    """The image format named by ``path``'s suffix (one of `PLOT_FORMATS`)."""
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in PLOT_FORMATS:
        raise InputError(
            f"cannot tell the image format of {p} from its extension; name it "
            + ", ".join(f".{f}" for f in PLOT_FORMATS[:-1])
            + f" or .{PLOT_FORMATS[-1]}"
        )
    return fmt


def write_plot(
    result: SessionResult, path: str | Path, dpi: float = 100.0, start_s: float | None = None
) -> None:
    """Write `session_figure` to ``path``, replacing it atomically; the format follows the
    suffix (.png, .svg, .pdf)."""
    p = Path(path)
    data = figure_bytes(session_figure(result, start_s=start_s), plot_format(p), dpi)
    replace_atomically(p, data)
