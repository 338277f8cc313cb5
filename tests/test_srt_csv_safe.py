"""Video-sync subtitles (SRT) and spreadsheet-safe CSV cells."""

from __future__ import annotations

import csv
import io
import re

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from recording_testdata import swings_csv

from tracker.analysis.events import RepMetrics, SetSummary
from tracker.analysis.result import SessionResult
from tracker.analysis.settings import AnalysisSettings
from tracker.cli import cli
from tracker.recording.csv_safe import FORMULA_TRIGGERS, safe_cell
from tracker.report.rep_csv import format_rep_csv
from tracker.report.srt import format_srt, srt_cues, srt_timestamp


def rep(
    set_no=1,
    rep_no=1,
    start=10.0,
    end=11.5,
    flex=20.0,
    ext=-3.0,
    exercise="deadlift",
    caution=False,
):
    settings = AnalysisSettings()
    return RepMetrics(
        set=set_no,
        rep=rep_no,
        exercise=exercise,
        start_s=start,
        end_s=end,
        hinge_depth_deg=61.4,
        lumbar_flexion_deg=flex,
        lumbar_extension_deg=ext,
        flexion_under_load=flex > settings.flexion_limit_deg,
        overextension=ext > settings.extension_limit_deg,
        lumbar_share=0.3,
        eccentric_s=0.7,
        concentric_s=0.8,
        peak_hip_extension_deg_s=200.0,
        flexion_caution=caution,
    )


def result_of(reps, sets=()):
    return SessionResult(
        ("lumbar", "sacrum"), AnalysisSettings(), [], list(reps), list(sets), [], 100.0
    )


# ----------------------------------------------------------------------------- SRT


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (0.0, "00:00:00,000"),
        (1.2344, "00:00:01,234"),
        (1.2346, "00:00:01,235"),
        (61.5, "00:01:01,500"),
        (3723.004, "01:02:03,004"),
        (-5.0, "00:00:00,000"),
        (59.9996, "00:01:00,000"),
    ],
)
def test_srt_timestamp(t, text):
    assert srt_timestamp(t) == text


def test_srt_numbering_alignment_and_flags():
    reps = [
        rep(start=105.0, end=106.5, flex=41.0),
        rep(rep_no=2, start=107.0, end=108.25, flex=30.0, ext=12.0, caution=True),
        rep(set_no=2, rep_no=1, start=200.0, end=201.0),
    ]
    sets = [SetSummary(2, "deadlift", 199.0, 202.0, (reps[2],), creep_rep=1, creep_deg=9.2)]
    text = format_srt(srt_cues(result_of(reps, sets), start_s=100.0, offset_s=2.5))
    blocks = text.strip("\n").split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["1", "2", "3"]
    assert blocks[0].splitlines()[1] == "00:00:07,500 --> 00:00:09,000"
    assert blocks[0].splitlines()[2] == "Set 1 rep 1 - deadlift - depth 61°"
    assert blocks[0].splitlines()[3] == "FLEXION 41° (limit 36°)"
    assert blocks[1].splitlines()[3] == (
        "caution: flexion 30° (caution 26°); OVER-EXTENSION 12° (limit 10°)"
    )
    assert blocks[2].splitlines()[1] == "00:01:42,500 --> 00:01:43,500"
    assert "CREEP +9° over the set" in blocks[2]
    assert text.endswith("\n") and not text.endswith("\n\n\n")
    for b in blocks:
        assert re.fullmatch(r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}", b.splitlines()[1])


def test_srt_negative_offset_clamps_and_drops():
    reps = [
        rep(start=100.0, end=101.0),
        rep(rep_no=2, start=102.0, end=104.0),
        rep(rep_no=3, start=105.0, end=106.0),
    ]
    cues = srt_cues(result_of(reps), start_s=100.0, offset_s=-3.0)
    # rep 1 ends before the video starts: dropped; rep 2 straddles 0: clamped; renumbered.
    text = format_srt(cues)
    assert text.splitlines()[:3] == [
        "1",
        "00:00:00,000 --> 00:00:01,000",
        "Set 1 rep 2 - deadlift - depth 61°",
    ]
    assert "\n2\n00:00:02,000 --> 00:00:03,000\n" in text
    assert len(cues) == 2


def test_srt_single_sensor_has_no_flexion_line():
    r = RepMetrics(1, 1, "squat", 1.0, 2.0, 70.0, None, None, None, None, None, 0.5, 0.5, 100.0)
    text = format_srt(srt_cues(result_of([r]), start_s=0.0))
    assert text == "1\n00:00:01,000 --> 00:00:02,000\nSet 1 rep 1 - squat - depth 70°\n"


@pytest.fixture(scope="module")
def swing_csv(tmp_path_factory):
    return swings_csv(tmp_path_factory.mktemp("srt"))


def test_cli_export_writes_srt(swing_csv, tmp_path):
    out, srt = tmp_path / "reps.csv", tmp_path / "video.srt"
    r = CliRunner().invoke(
        cli,
        [
            "export",
            str(swing_csv),
            "-o",
            str(out),
            "--srt",
            str(srt),
            "--srt-offset",
            "1.5",
            "--no-history",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    blocks = srt.read_text(encoding="utf-8").strip().split("\n\n")
    assert len(blocks) == len(rows) >= 4
    flagged = [
        b for b, row in zip(blocks, rows, strict=True) if row["flexion_under_load"] == "true"
    ]
    assert flagged and all("FLEXION" in b for b in flagged)
    first = float(rows[0]["start_s"])
    t0 = float(swing_csv.read_text().splitlines()[1].split(",")[0])
    expect = srt_timestamp(first - t0 + 1.5)
    assert blocks[0].splitlines()[1].startswith(expect)


# ----------------------------------------------------------------------------- CSV safety


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("deadlift", "deadlift"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
    ],
)
def test_safe_cell(text, cell):
    assert safe_cell(text) == cell


@given(st.text())
def test_safe_cell_never_starts_with_a_trigger_and_keeps_the_text(text):
    cell = safe_cell(text)
    assert not cell.startswith(FORMULA_TRIGGERS)
    assert cell in (text, "'" + text)


def test_rep_csv_neutralises_exercise_but_not_numbers():
    r = rep(exercise="=cmd|' /C calc'!A0", flex=-5.0, ext=-4.0)
    rows = list(csv.reader(io.StringIO(format_rep_csv([r]))))
    assert rows[1][2] == "'=cmd|' /C calc'!A0"
    assert rows[1][7] == "-5.0"  # a number stays a number
