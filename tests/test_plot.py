"""`tracker plot` and `tracker.report.plot` on small simulated sessions, dual and single."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.image import imread
from matplotlib.lines import Line2D
from matplotlib.text import Text
from report_testdata import Analysed, small_session

from tracker.cli import cli
from tracker.errors import InputError
from tracker.recording.load import save_recording
from tracker.report.plot import (
    FLEXION_COLOUR,
    clock_text,
    session_figure,
    set_figure,
    write_plot,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def dual() -> Analysed:
    return small_session("dual")


@pytest.fixture(scope="module")
def single() -> Analysed:
    return small_session("lumbar")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def texts(fig) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_text()]


def horizontal_lines_at(fig) -> set[float]:
    out = set()
    for line in fig.findobj(Line2D):
        y = np.asarray(line.get_ydata(), dtype=float)
        x = np.asarray(line.get_xdata(), dtype=float)
        # axhline: two points spanning the axes (x in axes units 0..1), constant y.
        if len(y) == 2 and y[0] == y[1] and tuple(x) == (0.0, 1.0):
            out.add(float(y[0]))
    return out


@pytest.mark.parametrize("which", ["dual", "single"])
def test_plot_writes_a_sensible_png(which: str, request, tmp_path: Path) -> None:
    a: Analysed = request.getfixturevalue(which)
    out = tmp_path / "plot.png"
    write_plot(a.result, out)
    data = out.read_bytes()
    width, height = png_size(data)
    assert width == 1100  # 11 in at 100 dpi
    # An overview plus one panel per set: two axes per set with two sensors, one without.
    per_panel = height / (1 + len(a.result.sets))
    assert (400 < per_panel < 600) if which == "dual" else (250 < per_panel < 420), height
    pixels = imread(io.BytesIO(data))[:, :, :3]
    drawn = np.mean(np.any(pixels < 0.9, axis=2))
    assert 0.03 < drawn < 0.6, drawn  # something drawn, not a black page


def test_dual_plot_marks_reps_flags_and_limits(dual: Analysed) -> None:
    res = dual.result
    fig = session_figure(res)
    words = [t.get_text() for t in texts(fig)]
    st = res.settings
    assert {st.flexion_limit_deg, st.flexion_caution_deg, -st.extension_limit_deg} <= (
        horizontal_lines_at(fig)
    )
    for s in res.sets:
        assert any(w.startswith(f"Set {s.set}: kettlebell swing") for w in words)
    # Every rep is numbered once on its set's hinge axes; flagged reps in red.
    numbers = [t for t in texts(fig) if t.get_text().isdigit()]
    assert len(numbers) == len(res.reps)
    red = sorted(int(t.get_text()) for t in numbers if t.get_color() == FLEXION_COLOUR)
    flagged = sorted(r.rep for r in res.reps if r.flexion_under_load or r.overextension)
    assert red == flagged and flagged
    # Flag values are written next to their markers.
    for r in res.reps:
        if r.flexion_under_load:
            assert f"{r.lumbar_flexion_deg:.0f}°" in words
        if r.overextension:
            assert f"{r.lumbar_extension_deg:.0f}°" in words


def test_single_plot_says_flexion_is_not_measured(single: Analysed) -> None:
    res = single.result
    fig = session_figure(res)
    words = " ".join(t.get_text() for t in texts(fig))
    assert "Lumbar flexion is not measured with one sensor" in words.replace("\n", " ")
    assert "lumbar segment\ninclination (°)" in words
    assert "pelvis" not in words  # a lumbar sensor is never reported as pelvis tilt
    assert not horizontal_lines_at(fig) - {0.0}  # no limits: nothing they would apply to
    assert len([t for t in texts(fig) if t.get_text().isdigit()]) == len(res.reps)


def test_set_figure_is_one_set(dual: Analysed) -> None:
    s = dual.result.sets[1]
    fig = set_figure(dual.result, s)
    words = [t.get_text() for t in texts(fig)]
    assert any(w.startswith("Set 2:") for w in words)
    assert not any(w.startswith("Set 1:") for w in words)
    assert len(fig.axes) == 2


@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_other_formats_by_suffix(dual: Analysed, tmp_path: Path, suffix, magic) -> None:
    out = tmp_path / f"plot{suffix}"
    write_plot(dual.result, out)
    assert out.read_bytes().startswith(magic)


def test_unknown_suffix_is_an_input_error(dual: Analysed, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.png, \.svg or \.pdf"):
        write_plot(dual.result, tmp_path / "plot.jpg")
    assert not (tmp_path / "plot.jpg").exists()


def test_clock_text() -> None:
    assert [clock_text(t) for t in (0.0, 9.6, 59.6, 61.0, 3600.0, -5.2, -0.2)] == [
        "0:00",
        "0:10",
        "1:00",
        "1:01",
        "60:00",
        "-0:05",
        "0:00",
    ]


def test_cli_plot(dual: Analysed, tmp_path: Path) -> None:
    rec = tmp_path / "s.trk"
    save_recording(dual.recording, rec)
    out = tmp_path / "p.png"
    result = CliRunner().invoke(cli, ["plot", str(rec), "-o", str(out), "--no-profile"])
    assert result.exit_code == 0, result.output
    n_reps = len(dual.result.reps)
    assert result.stderr.strip().endswith(f"2 sets, {n_reps} reps to {out}")
    png_size(out.read_bytes())


def test_cli_plot_bad_suffix_fails_before_analysis(tmp_path: Path) -> None:
    # The recording does not exist: the file name is checked first.
    result = CliRunner().invoke(cli, ["plot", str(tmp_path / "x.trk"), "-o", "p.gif"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: cannot tell the image format of p.gif from its extension; "
        "name it .png, .svg or .pdf\n"
    )


def test_times_are_relative_to_the_given_start(dual: Analysed) -> None:
    res = dual.result
    s = res.sets[0]
    t0 = float(res.traces.time_s[0])
    ax_default = set_figure(res, s).axes[-1]
    ax_shifted = set_figure(res, s, start_s=t0 - 10.0).axes[-1]
    lo, hi = ax_default.get_xlim()
    lo2, hi2 = ax_shifted.get_xlim()
    assert lo2 == pytest.approx(lo + 10.0) and hi2 == pytest.approx(hi + 10.0)
    # The set (with its 2 s margins) sits where its start on the timeline says.
    assert lo == pytest.approx(s.start_s - t0 - 2.0, abs=0.05)
