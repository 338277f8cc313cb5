"""Hostile samples CSVs through the CLI: exactly one `Error:` line, exit 1, quickly; and
repeated timestamps shown by `tracker info`."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from cli_helpers import run
from recording_testdata import EXAMPLE_CSV

from tracker.recording.samples_csv import HEADER, read_samples_csv

EXPECTED = f"the first line must be: {HEADER}"


def write(tmp_path: Path, content: str | bytes) -> Path:
    p = tmp_path / "t.csv"
    p.write_bytes(content.encode() if isinstance(content, str) else content)
    return p


CASES = [
    pytest.param(
        HEADER + "\n225",
        "{p} line 2 has 1 field, the header has 8; every row needs one value per column",
        id="cut-inside-first-row",
    ),
    pytest.param(
        HEADER + "\n" + "0.0,lumbar,0,0,9.8,0,0\n" * 50,
        "{p} line 2 has 7 fields, the header has 8; every row needs one value per column",
        id="every-row-short",
    ),
    pytest.param(
        HEADER.replace(",", ";") + "\n0,0;lumbar;0;0;9,8;0;0;0\n",
        "{p} line 1: fields are separated by ';'; the format uses ','; save the file with "
        f"',' between fields ({EXPECTED})",
        id="semicolons",
    ),
    pytest.param(
        (HEADER + "\n0.0,lumbar,0,0,9.8,0,0,0\n").encode("utf-16"),
        "{p} is UTF-16 text; save it as UTF-8 (the format is UTF-8)",
        id="utf-16",
    ),
    pytest.param(
        (HEADER + "\n0.0,lumbar,0,0,9.8,0,0,0\n").encode("utf-16-be"),
        "{p} is UTF-16 text; save it as UTF-8 (the format is UTF-8)",
        id="utf-16-no-bom",
    ),
    pytest.param(
        HEADER + ",x" * 80_000 + "\n0,lumbar,0,0,9.8,0,0,0\n",
        "{p} line 1 has more than 32749 fields; a samples CSV header has at most 1000; " + EXPECTED,
        id="80000-columns",
    ),
    pytest.param(
        EXAMPLE_CSV + "0.01,lumbar,1e308,0.2,9.8,0,0,0\n",
        "{p} line 6, column acc_x: 1e+308 is beyond what a sensor records (at most 10000 "
        "m/s^2 in size); check the file and its units",
        id="1e308",
    ),
    pytest.param(
        HEADER + '\n"',
        "{p} has a header but no samples; add one row per sample",
        id="only-an-open-quote",
    ),
    pytest.param(
        EXAMPLE_CSV + '"0.05","lumbar","',
        "{p} line 6 has 3 fields, the header has 8; every row needs one value per column",
        id="cut-inside-a-quoted-field",
    ),
    pytest.param(
        EXAMPLE_CSV + "0.01,lumbar,0.1,0.2,9.8,inf,0,0\n",
        "{p} line 6, column gyro_x: 'inf' is not a finite number; remove the row or fill "
        "in a value",
        id="inf",
    ),
    pytest.param(
        EXAMPLE_CSV + '0.01,lumbar,"0.1,0.2,9.8,0,0,0\n',
        "{p} line 6 has 3 fields, the header has 8; every row needs one value per column",
        id="open-quote",
    ),
]


@pytest.mark.parametrize(("content", "expected"), CASES)
def test_hostile_csv_is_exactly_one_error_line(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    p = write(tmp_path, content)
    start = time.monotonic()
    result = run("info", p)
    assert time.monotonic() - start < 10
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == f"Error: {expected.format(p=p)}\n"


def test_quoted_numbers_are_read(tmp_path: Path) -> None:
    quoted = "\n".join(
        ",".join(f'"{v}"' for v in line.split(",")) for line in EXAMPLE_CSV.splitlines()
    )
    rec = read_samples_csv(write(tmp_path, quoted + "\n"))
    plain = read_samples_csv(write(tmp_path, EXAMPLE_CSV))
    for p in plain.placements:
        assert rec.sensors[p].equals(plain.sensors[p])


def test_info_shows_what_was_mended(tmp_path: Path) -> None:
    rows = [f"{i * 0.01:.6f},lumbar,0.1,{i % 7 * 0.1:.1f},9.8,0,0,0" for i in range(50)]
    rows.insert(
        20, rows[20].replace("0.200000", "0.190000").replace(",lumbar,0.1,", ",lumbar,0.2,")
    )
    rows.insert(30, rows[30])  # an exact duplicate
    result = run("info", write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n"))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("input: ")]
    assert lines == [
        "input: timestamps: dropped 1 exact duplicate row (same time and values as an earlier "
        "row) (lumbar 1)",
        "input: timestamps: spread 1 sample that shared a timestamp evenly up to the next "
        "distinct time (lumbar 1)",
    ]


def test_a_pipe_is_read_whole(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as f:
            f.write(EXAMPLE_CSV.encode())

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        rec = read_samples_csv(f"/dev/fd/{read_end}")
    finally:
        writer.join()
        os.close(read_end)
    assert rec.placements == ("lumbar", "sacrum")
    assert len(rec.sensors["lumbar"]) == 2


def test_a_line_of_spaces_is_a_blank_line(tmp_path: Path) -> None:
    lines = EXAMPLE_CSV.splitlines()
    spaced = "\n".join([*lines[:3], "   ", *lines[3:]]) + "\n"
    rec = read_samples_csv(write(tmp_path, spaced))
    plain = read_samples_csv(write(tmp_path, EXAMPLE_CSV))
    for p in plain.placements:
        assert rec.sensors[p].equals(plain.sensors[p])


def test_the_first_bad_line_is_named_deep_in_a_long_file(tmp_path: Path) -> None:
    rows = [f"{i * 0.01:.6f},lumbar,0.1,0.2,9.8,0,0,0" for i in range(20_000)]
    rows[15_000] = rows[15_000].replace("0.2", "O.2")
    rows[17_000] = "1,lumbar"
    p = write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    result = run("info", p)
    assert (
        result.stderr
        == f"Error: {p} line 15002, column acc_y: 'O.2' is not a number; fix or remove the row\n"
    )
