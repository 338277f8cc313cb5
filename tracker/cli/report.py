"""Commands that draw a session: `plot` (an image) and `report` (one HTML page)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracker.app.offline import analyse_recording
from tracker.cli import cli
from tracker.cli.analyse import limit_options, load_and_settings, recording_options
from tracker.report.words import sets_and_reps

if TYPE_CHECKING:
    from tracker.analysis.result import SessionResult
    from tracker.recording.model import Recording


def _analyse(recording: Path, **opts: Any) -> tuple[Recording, SessionResult, str]:
    rec, settings, source = load_and_settings(recording, **opts)
    result = analyse_recording(rec, settings)
    for n in result.notices:
        click.echo(f"Note: {n}", err=True)
    return rec, result, source


@cli.command()
@recording_options
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Image to write: .png (also .svg or .pdf).",
)
@limit_options
def plot(recording: Path, out: Path, **opts: Any) -> None:
    """Plot RECORDING per set: hinge angle and lumbar flexion over time.

    Reps are shaded and numbered, flagged reps are red with their peak marked, and the
    flexion, caution and extension limits are drawn. With one sensor the plot shows that
    segment's inclination only: lumbar flexion is not measured with one sensor.
    """
    from tracker.report.plot import plot_format, write_plot

    plot_format(out)  # a bad file name fails before the analysis
    _, result, _ = _analyse(recording, **opts)
    write_plot(result, out)
    counts = sets_and_reps(len(result.sets), len(result.reps))
    click.echo(f"Wrote plot of {counts} to {out}", err=True)


@cli.command()
@recording_options
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="HTML file to write.",
)
@limit_options
def report(recording: Path, out: Path, **opts: Any) -> None:
    """Write a session report of RECORDING as one self-contained HTML file.

    The page holds the session summary, a table of reps per set and the plots; it loads
    nothing from the network and reads well on a phone.
    """
    from tracker.report.html_report import write_report

    rec, result, source = _analyse(recording, **opts)
    write_report(result, rec, out, source_name=Path(recording).name, limits_source=source)
    counts = sets_and_reps(len(result.sets), len(result.reps))
    click.echo(f"Wrote report of {counts} to {out}", err=True)
