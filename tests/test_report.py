"""`tracker report`: one self-contained HTML page, parsed with the standard library."""

from __future__ import annotations

import base64
import dataclasses
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_testdata import Analysed, small_session

from tracker.analysis.result import recording_start_s
from tracker.cli import cli
from tracker.recording.fileio import OutputError
from tracker.recording.load import save_recording
from tracker.recording.model import SessionNotes
from tracker.report.html_report import render_report_html, write_report
from tracker.report.plot import clock_text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_PNG = "data:image/png;base64,"
HOSTILE = '<script>alert("x")</script> & =cmd'


class Page(HTMLParser):
    """Tags with their attributes, the rep tables as rows of cell texts, all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[dict] = []
        self.text: list[str] = []
        self._table: dict | None = None
        self._section = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._row_class: str | None = None
        self._hidden = 0  # inside <style> or <title>

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("style", "title"):
            self._hidden += 1
        if tag == "table" and "reps" in (a.get("class") or ""):
            self._table = {"set": a.get("data-set"), "head": [], "rows": []}
            self.tables.append(self._table)
        elif tag == "thead":
            self._section = "head"
        elif tag == "tbody":
            self._section = "body"
        elif tag == "tr" and self._table is not None:
            self._row, self._row_class = [], a.get("class")
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self._hidden -= 1
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._section == "head":
                self._table["head"].append(self._row)
            else:
                self._table["rows"].append((self._row, self._row_class))
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if not self._hidden:
            self.text.append(data)


def parse(page: str) -> Page:
    p = Page()
    p.feed(page)
    p.close()
    return p


@pytest.fixture(scope="module")
def dual() -> Analysed:
    a = small_session("dual")
    a.recording.notes = SessionNotes(exercise="kettlebell_swing", load_kg=24.0, text=HOSTILE)
    return a


@pytest.fixture(scope="module")
def single() -> Analysed:
    return small_session("lumbar")


@pytest.fixture(scope="module")
def dual_page(dual: Analysed) -> str:
    return render_report_html(
        dual.result, dual.recording, source_name="a<b>.trk", limits_source="command line"
    )


@pytest.fixture(scope="module")
def single_page(single: Analysed) -> str:
    return render_report_html(
        single.result, single.recording, source_name="s.trk", limits_source="defaults"
    )


def png_of(src: str) -> bytes:
    assert src.startswith(DATA_PNG)
    return base64.b64decode(src[len(DATA_PNG) :], validate=True)


@pytest.mark.parametrize("which", ["dual_page", "single_page"])
def test_page_is_self_contained_and_phone_ready(which: str, request) -> None:
    page: str = request.getfixturevalue(which)
    p = parse(page)
    assert page.startswith("<!DOCTYPE html>")
    names = [t for t, _ in p.tags]
    assert "script" not in names and "link" not in names and "iframe" not in names
    assert names.count("style") == 1
    metas = [a for t, a in p.tags if t == "meta"]
    assert {"charset": "utf-8"} in metas
    assert any(
        a.get("name") == "viewport" and "width=device-width" in (a.get("content") or "")
        for a in metas
    )
    # Nothing is fetched: every src is an embedded image; no url() in the CSS.
    for _, attrs in p.tags:
        for key in ("src", "href", "srcset", "action"):
            value = attrs.get(key)
            assert value is None or value.startswith(DATA_PNG), (key, value[:40])
    assert "url(" not in page and "@import" not in page
    assert "@media (max-width" in page  # the layout adapts to narrow screens


@pytest.mark.parametrize("which", ["dual", "single"])
def test_images_are_valid_pngs_one_per_set_plus_overview(which: str, request) -> None:
    a: Analysed = request.getfixturevalue(which)
    p = parse(request.getfixturevalue(f"{which}_page"))
    imgs = [attrs for tag, attrs in p.tags if tag == "img"]
    assert len(imgs) == 1 + len(a.result.sets)
    for attrs in imgs:
        data = png_of(attrs["src"] or "")
        assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert width == 900 and 300 < height < 1400, (width, height)  # 5 in at 180 dpi
        assert len(data) > 10_000
        assert attrs.get("alt")


def test_dual_tables_have_one_row_per_rep(dual: Analysed, dual_page: str) -> None:
    p = parse(dual_page)
    sets = dual.result.sets
    assert [t["set"] for t in p.tables] == [str(s.set) for s in sets]
    for table, s in zip(p.tables, sets, strict=True):
        head = table["head"][0]
        # Long and short header words are both in the page (CSS shows one of them).
        assert [h.split()[0] for h in head] == [
            "Rep",
            "DurationDur.",
            "Depth",
            "FlexionFlex.",
            "ExtensionExt.",
            "Flags",
        ]
        rows = table["rows"]
        assert len(rows) == len(s.reps)
        for (cells, cls), r in zip(rows, s.reps, strict=True):
            assert cells[0] == str(r.rep)
            assert cells[1] == f"{r.duration_s:.1f}"
            assert cells[2] == f"{r.hinge_depth_deg:.0f}"
            assert cells[3] == f"{r.lumbar_flexion_deg:.0f}"
            assert cells[4] == f"{r.lumbar_extension_deg:.0f}"
            flagged = bool(r.flexion_under_load or r.overextension)
            assert (cls == "flagged") == flagged
            if r.flexion_under_load:
                assert f"flexion {r.lumbar_flexion_deg:.0f}°" in cells[5]
            if r.overextension:
                assert f"extension {r.lumbar_extension_deg:.0f}°" in cells[5]
            if not flagged:
                assert "flexion" not in cells[5] and "extension" not in cells[5]
    n_flagged = sum(1 for _, cls in (r for t in p.tables for r in t["rows"]) if cls)
    assert n_flagged == 2  # the simulated flexion fault and over-extension fault


def test_single_tables_say_flexion_is_not_measured(single: Analysed, single_page: str) -> None:
    p = parse(single_page)
    assert len(p.tables) == len(single.result.sets)
    for table, s in zip(p.tables, single.result.sets, strict=True):
        assert len(table["rows"]) == len(s.reps)
        for cells, cls in table["rows"]:
            assert cells[3] == cells[4] == "–" and cells[5] == "" and cls is None
    text = " ".join(p.text)
    assert "Lumbar flexion is not measured with one sensor" in text
    assert "flagged reps" not in text


def test_summary_figures_and_limits(dual: Analysed, dual_page: str) -> None:
    text = " ".join(" ".join(parse(dual_page).text).split())
    res = dual.result
    assert f"{len(res.reps)} reps" in text
    assert f"{len(res.sets)} sets" in text
    assert "2 flagged reps" in text
    assert "Limits (command line): lumbar flexion 36° (caution 26°), extension 10°" in text
    assert "Load 24 kg" in text
    assert "Flags are technique cues, not injury predictions" in text
    for s in res.sets:
        assert f"Set {s.set}: kettlebell swing" in text


def test_set_times_count_from_the_recording_start(dual: Analysed, dual_page: str) -> None:
    text = " ".join(" ".join(parse(dual_page).text).split())
    t0 = recording_start_s(dual.recording)
    for s in dual.result.sets:
        assert f"Time {clock_text(s.start_s - t0)}–{clock_text(s.end_s - t0)}" in text


def test_user_text_is_escaped(dual_page: str) -> None:
    p = parse(dual_page)
    text = " ".join(p.text)
    assert HOSTILE in text  # shown literally ...
    assert "a<b>.trk" in text
    assert "<script>" not in dual_page  # ... and never as markup
    assert "a<b>" not in dual_page
    assert [t for t, _ in p.tags].count("b") == 0


def test_no_sets_still_makes_a_page(dual: Analysed) -> None:
    empty = dataclasses.replace(dual.result, sets=[], reps=[])
    p = parse(render_report_html(empty, dual.recording, source_name="x", limits_source="d"))
    assert p.tables == []
    assert len([1 for t, _ in p.tags if t == "img"]) == 1
    assert "No sets were detected" in " ".join(p.text)


def test_write_report_and_cli(dual: Analysed, tmp_path: Path) -> None:
    rec = tmp_path / "session.trk"
    save_recording(dual.recording, rec)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", str(rec), "-o", str(out), "--no-profile"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().endswith(f"to {out}")
    p = parse(out.read_text(encoding="utf-8"))
    assert [len(t["rows"]) for t in p.tables] == [len(s.reps) for s in dual.result.sets]
    assert "session.trk" in " ".join(p.text)


def test_unwritable_output_is_one_line_error(dual: Analysed, tmp_path: Path) -> None:
    rec = tmp_path / "session.trk"
    save_recording(dual.recording, rec)
    out = tmp_path / "missing" / "r.html"
    result = CliRunner().invoke(cli, ["report", str(rec), "-o", str(out), "--no-profile"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot write {out}: No such file or directory (the folder does not exist); "
        "nothing was written\n"
    )
    with pytest.raises(OutputError, match="cannot write"):
        write_report(dual.result, dual.recording, out, source_name="s", limits_source="d")


def test_counts_read_as_english():
    from tracker.report.words import plural, sets_and_reps

    assert sets_and_reps(1, 6) == "1 set, 6 reps"
    assert sets_and_reps(2, 1) == "2 sets, 1 rep"
    assert plural(0, "rep") == "0 reps"


def _recorded_fact(page: str) -> str:
    text = [t.strip() for t in parse(page).text if t.strip()]
    return text[text.index("Recorded (UTC)") + 1]


def test_an_unknown_recording_date_reads_unknown_not_the_epoch(dual: Analysed) -> None:
    for created in (None, "1970-01-01T00:00:00Z"):
        recording = dataclasses.replace(dual.recording, created_utc=created)
        page = render_report_html(dual.result, recording, source_name="x", limits_source="d")
        assert _recorded_fact(page) == "unknown"
        assert "1970" not in page
    recording = dataclasses.replace(dual.recording, created_utc="2026-03-01T09:30:00Z")
    page = render_report_html(dual.result, recording, source_name="x", limits_source="d")
    assert _recorded_fact(page) == "2026-03-01T09:30:00Z"
