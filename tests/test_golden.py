"""The bundled recordings' per-rep CSVs, as `tracker export` writes them, against the
golden files in tests/golden/ (rewritten by ``python tests/update_golden.py`` when a
change to the analysis is meant to change them)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from update_golden import GOLDEN, export

RECORDINGS = sorted((Path(__file__).resolve().parents[1] / "recordings").glob("*.trk"))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _same(got: str, want: str) -> bool:
    """Equal as written, or numbers one unit apart in the golden file's last decimal
    (another build of numpy or VQF may round a last digit the other way)."""
    if got == want:
        return True
    try:
        g, w = float(got), float(want)
    except ValueError:
        return False
    decimals = len(want.split(".")[1]) if "." in want else 0
    return abs(g - w) <= 1.01 * 10.0**-decimals


def test_every_bundled_recording_has_a_golden_file():
    assert RECORDINGS
    assert {p.stem for p in RECORDINGS} == {
        p.name.removesuffix(".reps.csv") for p in GOLDEN.glob("*.reps.csv")
    }


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda p: p.stem)
def test_export_writes_the_golden_reps(recording: Path, tmp_path: Path):
    out = tmp_path / "reps.csv"
    export(recording, out)
    got, want = _rows(out), _rows(GOLDEN / f"{recording.stem}.reps.csv")
    assert list(got[0]) == list(want[0]) if want else not got  # the same columns
    assert len(got) == len(want), f"{len(got)} reps, the golden file has {len(want)}"
    for g, w in zip(got, want, strict=True):
        differ = {k: (g[k], w[k]) for k in w if not _same(g[k], w[k])}
        assert not differ, f"set {w['set']} rep {w['rep']}: got, golden {differ}"


def test_the_comparison_sees_a_changed_value():
    assert _same("48.0", "48.0") and _same("48.1", "48.0") and not _same("48.2", "48.0")
    assert _same("0.632", "0.631") and not _same("0.634", "0.632")
    assert not _same("false", "true") and not _same("squat", "deadlift")
