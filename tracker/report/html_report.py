"""A session report as one self-contained HTML file.

The page carries everything inline (CSS in a style element, plots as base64 PNG data
URIs), loads nothing from the network and runs no script, so it can be mailed, opened
offline or read on a phone. Every piece of text that came from a user or a file (file
name, notes, device names, exercise ids) is HTML-escaped.

Angles in degrees (docs/frames.md). Times are minutes:seconds since the recording starts,
as on the plots and subtitles (`tracker.analysis.result.recording_start_s`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tracker import __version__
from tracker.analysis.result import SessionResult, recording_start_s
from tracker.numbers import fixed
from tracker.recording.fileio import replace_atomically
from tracker.recording.model import Recording
from tracker.report.plot import (
    clock_text,
    figure_bytes,
    overview_figure,
    set_figure,
    single_sensor_note,
)
from tracker.report.summary import summary_dict

#: Resolution of the embedded plots: 5 in x 180 dpi = 900 px, sharp on a phone
#: (device pixel ratio 2-3 at ~400 CSS px) and in a desktop column of ~650 px.
REPORT_DPI = 180.0

_CSS = """
:root { color-scheme: light; --ink: #1c1c1c; --muted: #5a5a5a; --line: #d9dee5;
  --flag: #fde3e3; --flag-ink: #a31515; --ext-ink: #5b2d8e; --card: #f3f6fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #fff; -webkit-text-size-adjust: 100%; }
main { max-width: 1120px; margin: 0 auto; padding: 16px 14px 40px; }
h1 { font-size: 1.5rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 28px 0 6px; padding-top: 10px; border-top: 1px solid var(--line); }
p { margin: 6px 0; }
.muted { color: var(--muted); font-size: 0.9rem; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 8px 10px; margin: 10px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr));
  gap: 8px; margin: 12px 0; }
.card { background: var(--card); border-radius: 8px; padding: 8px 10px; }
.card .v { font-size: 1.35rem; font-weight: 600; }
.card .k { font-size: 0.8rem; color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 10px 0; max-width: 680px; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line);
  border-radius: 6px; }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums;
  font-size: 0.95rem; }
caption { text-align: left; color: var(--muted); font-size: 0.85rem; padding: 4px 0; }
th, td { padding: 5px 6px; border-bottom: 1px solid var(--line); text-align: right;
  white-space: nowrap; }
th { background: var(--card); font-weight: 600; white-space: normal; vertical-align: bottom; }
th:last-child, td:last-child { text-align: left; white-space: normal; }
tr.flagged td { background: var(--flag); }
.f-flex { color: var(--flag-ink); font-weight: 600; }
.f-ext { color: var(--ext-ink); font-weight: 600; }
.f-caution { color: #8a5a00; }
footer { margin-top: 32px; color: var(--muted); font-size: 0.85rem; }
.overview figure { max-width: 720px; }
th .short { display: none; }
th .unit { font-weight: 400; }
@media (min-width: 900px) {
  .set-body { display: grid; grid-template-columns: minmax(0, 1fr) minmax(420px, 1fr);
    grid-template-areas: "fig facts" "fig table"; gap: 0 20px; align-items: start; }
  .set-body > figure { grid-area: fig; margin-top: 0; }
  .set-body > dl { grid-area: facts; margin-top: 0; }
  .set-body > .table-wrap { grid-area: table; }
  .f-flex, .f-ext, .f-caution { white-space: nowrap; }
}
@media (max-width: 480px) {
  body { font-size: 15px; }
  main { padding: 10px 8px 32px; }
  th, td { padding: 4px 4px; }
  th .long { display: none; }
  th .short { display: inline; }
  table { font-size: 0.85rem; }
}
@media print { h2 { break-before: auto; } figure, tr { break-inside: avoid; } }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(x: float | None, digits: int = 0) -> str:
    return fixed(x, digits, missing="–")


def _png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(png: bytes, alt: str) -> str:
    return f'<figure><img src="{_png_data_uri(png)}" alt="{_e(alt)}"></figure>'


def _card(value: str, key: str) -> str:
    return f'<div class="card"><div class="v">{_e(value)}</div><div class="k">{_e(key)}</div></div>'


def _facts(rows: Iterable[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
    return f'<dl class="facts">{items}</dl>'


def _flag_cells(rep: dict[str, Any]) -> str:
    parts = []
    if rep.get("flexion_under_load"):
        parts.append(f'<span class="f-flex">flexion {_num(rep["lumbar_flexion_deg"])}°</span>')
    if rep.get("overextension"):
        parts.append(f'<span class="f-ext">extension {_num(rep["lumbar_extension_deg"])}°</span>')
    if not parts and rep.get("flexion_caution"):
        parts.append(f'<span class="f-caution">caution {_num(rep["lumbar_flexion_deg"])}°</span>')
    return ", ".join(parts)


def _th(long: str, short: str, unit: str) -> str:
    unit_html = f" <span class='unit'>({_e(unit)})</span>" if unit else ""
    if long == short:
        return _e(long) + unit_html
    return f"<span class='long'>{_e(long)}</span><span class='short'>{_e(short)}</span>{unit_html}"


def _rep_table(s: dict[str, Any], dual: bool) -> str:
    # Long header words on wide screens, short ones on phones (CSS picks), so the six
    # columns fit a 360-420 px screen without scrolling.
    head = (
        "<tr>"
        + "".join(
            f"<th scope='col'>{_th(long, short, unit)}</th>"
            for long, short, unit in (
                ("Rep", "Rep", ""),
                ("Duration", "Dur.", "s"),
                ("Depth", "Depth", "°"),
                ("Flexion", "Flex.", "°"),
                ("Extension", "Ext.", "°"),
                ("Flags", "Flags", ""),
            )
        )
        + "</tr>"
    )
    rows = []
    for r in s["rep_details"]:
        flagged = bool(r.get("flexion_under_load")) or bool(r.get("overextension"))
        cls = ' class="flagged"' if flagged else ""
        rows.append(
            f"<tr{cls}><td>{_e(r['rep'])}</td><td>{_num(r['duration_s'], 1)}</td>"
            f"<td>{_num(r['hinge_depth_deg'])}</td><td>{_num(r['lumbar_flexion_deg'])}</td>"
            f"<td>{_num(r['lumbar_extension_deg'])}</td><td>{_flag_cells(r)}</td></tr>"
        )
    caption = (
        "Flexion and extension: peak lumbar angle beyond standing neutral in each rep."
        if dual
        else "Depth is the segment's inclination; lumbar flexion and extension are not "
        "measured with one sensor."
    )
    return (
        f'<div class="table-wrap"><table class="reps" data-set="{_e(s["set"])}">'
        f"<caption>{_e(caption)}</caption><thead>{head}</thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _set_section(result: SessionResult, s: dict[str, Any], set_png: bytes, t0_s: float) -> str:
    dual = result.dual
    exercise = str(s["exercise"]).replace("_", " ")
    facts = [
        ("Time", f"{clock_text(s['start_s'] - t0_s)}–{clock_text(s['end_s'] - t0_s)}"),
        ("Reps", str(s["reps"])),
        (
            "Tempo",
            f"{_num(s['mean_rep_s'], 2)} s per rep (down {_num(s['mean_eccentric_s'], 2)} s, "
            f"up {_num(s['mean_concentric_s'], 2)} s)",
        ),
        ("Mean depth", f"{_num(s['mean_depth_deg'])}°"),
    ]
    if dual:
        facts += [
            (
                "Peak lumbar flexion",
                f"{_num(s['mean_peak_flexion_deg'])}° average, "
                f"{_num(s['max_peak_flexion_deg'])}° max",
            ),
            ("Flagged reps", ", ".join(str(n) for n in s["flagged_reps"]) or "none"),
            ("Time over flexion limit", f"{_num(s['time_over_flexion_limit_s'], 1)} s"),
        ]
        if s["creep_rep"] is not None:
            facts.append(("Flexion creep", f"+{_num(s['creep_deg'])}° by rep {s['creep_rep']}"))
    alt = f"Set {s['set']} ({exercise}): hinge angle" + (
        " and lumbar flexion over time, reps shaded and numbered, flagged reps in red"
        if dual
        else " (segment inclination) over time, reps shaded and numbered"
    )
    return (
        f'<section class="set" id="set-{_e(s["set"])}">'
        f"<h2>Set {_e(s['set'])}: {_e(exercise)}</h2>"
        f'<div class="set-body">{_facts(facts)}{_img(set_png, alt)}{_rep_table(s, dual)}</div>'
        "</section>"
    )


def _notes_facts(recording: Recording, source_name: str) -> list[tuple[str, str]]:
    rows = [("Recording", source_name)]
    rows.append(("Recorded (UTC)", recording.recorded_utc or "unknown"))
    for p in recording.placements:
        d = recording.devices.get(p)
        if d is not None:
            text = d.model + (f", firmware {d.firmware}" if d.firmware else "")
            if d.sample_rate_hz:
                text += f", {d.sample_rate_hz:g} Hz"
            rows.append((f"{p.capitalize()} sensor", text))
        else:
            rows.append((f"{p.capitalize()} sensor", "present"))
    n = recording.notes
    if n.exercise:
        rows.append(("Exercise (noted)", n.exercise))
    if n.load_kg is not None:
        rows.append(("Load", f"{n.load_kg:g} kg"))
    if n.text:
        rows.append(("Notes", n.text))
    return rows


def render_report_html(
    result: SessionResult,
    recording: Recording,
    *,
    source_name: str,
    limits_source: str,
) -> str:
    """The report page of ``result`` (the analysis of ``recording``) as one HTML string.

    ``source_name`` names the recording (e.g. its file name) and ``limits_source`` says
    where the flag limits came from (as the `summary` command prints it).
    """
    d = summary_dict(result)
    t0_s = recording_start_s(recording)
    totals = d["totals"]
    lim = d["limits"]
    cards = [
        _card(clock_text(d["duration_s"]), "duration (min:s)"),
        _card(str(totals["sets"]), "sets"),
        _card(str(totals["reps"]), "reps"),
    ]
    if result.dual:
        cards.append(_card(str(totals["flagged_reps"]), "flagged reps"))
        limits = (
            f"Limits ({limits_source}): lumbar flexion {lim['flexion_limit_deg']:.0f}° "
            f"(caution {lim['flexion_caution_deg']:.0f}°), extension "
            f"{lim['extension_limit_deg']:.0f}° beyond standing neutral; flexion creep "
            f"{lim['creep_deg']:.0f}°."
        )
        limit_html = f"<p>{_e(limits)}</p>"
    else:
        limit_html = f'<p class="note">{_e(single_sensor_note(result))}</p>'
    notices = "".join(f'<p class="note">Note: {_e(n)}</p>' for n in d["notices"])
    sensors = " + ".join(d["placements"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Session report: {_e(source_name)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<header><h1>Session report</h1>",
        f'<p class="muted">{_e(source_name)} · sensors: {_e(sensors)}</p></header>',
        f'<section class="summary"><div class="cards">{"".join(cards)}</div>',
        limit_html,
        notices,
        _facts(_notes_facts(recording, source_name)),
        "</section>",
        '<section class="overview"><h2>Whole session</h2>',
        _img(
            figure_bytes(overview_figure(result, start_s=t0_s), "png", REPORT_DPI),
            "Hinge angle over the whole session with the sets shaded and numbered",
        ),
        "</section>",
    ]
    if not result.sets:
        parts.append("<p>No sets were detected in this recording.</p>")
    for s_obj, s in zip(result.sets, d["sets"], strict=True):
        png = figure_bytes(set_figure(result, s_obj, start_s=t0_s), "png", REPORT_DPI)
        parts.append(_set_section(result, s, png, t0_s))
    parts.append(
        "<footer><p>Flags are technique cues, not injury predictions: the evidence does not "
        "show that lumbar flexion during lifting predicts back pain.</p>"
        f"<p>Times are minutes:seconds since the recording started. Made by tracker "
        f"{_e(__version__)}.</p></footer></main></body></html>"
    )
    return "\n".join(parts) + "\n"


def write_report(
    result: SessionResult,
    recording: Recording,
    path: str | Path,
    *,
    source_name: str,
    limits_source: str,
) -> None:
    """Write `render_report_html` to ``path`` (UTF-8), replacing it atomically."""
    p = Path(path)
    page = render_report_html(
        result, recording, source_name=source_name, limits_source=limits_source
    )
    replace_atomically(p, page)
