"""Rewrite the golden per-rep CSVs (tests/golden/) from the bundled recordings.

    python tests/update_golden.py

Run it only when a change to the analysis is meant to change the bundled recordings'
reps, and say in the commit what changed and why (`git diff tests/golden` shows it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.cli import cli  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"
#: What the golden files are exported with: defaults, nothing from the user's own files.
EXPORT_FLAGS = ("--no-profile", "--no-history")


def export(recording: Path, out: Path) -> None:
    """``tracker export RECORDING -o OUT`` with the golden flags; raises on failure."""
    result = CliRunner().invoke(cli, ["export", str(recording), "-o", str(out), *EXPORT_FLAGS])
    if result.exit_code != 0:
        raise RuntimeError(f"tracker export {recording.name} failed: {result.output}")


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for rec in sorted((ROOT / "recordings").glob("*.trk")):
        out = GOLDEN / f"{rec.stem}.reps.csv"
        export(rec, out)
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
