"""File commands: convert between native recordings and samples CSV, show a file's contents."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from tracker.cli import cli, terminal_safe
from tracker.cli.options import unit_options
from tracker.errors import InputError
from tracker.recording.describe import describe
from tracker.recording.load import load_recording, save_recording
from tracker.recording.native import NativeRecording
from tracker.units import EXERCISES, PLACEMENTS, UNKNOWN_EXERCISE

#: Where the single sensor of a phone-app export was worn (other formats name it).
placement_option = click.option(
    "--placement",
    type=click.Choice(PLACEMENTS),
    help="Where the phone of a phone-app export (Sensor Logger, phyphox) was worn.",
)


def _warnings(recording: object) -> list[str]:
    if not isinstance(recording, NativeRecording):
        return []
    r = recording.report
    out = []
    if r.truncated_tail_bytes:
        out.append(
            f"warning: the recording was not closed cleanly; the last "
            f"{r.truncated_tail_bytes} bytes (an incomplete record) were skipped"
        )
    for region in r.damaged:
        out.append(f"warning: recovered around damaged {region.describe()}")
    return out


@cli.command()
@click.argument("in_path", metavar="IN", type=click.Path(path_type=Path))
@click.argument("out_path", metavar="OUT", type=click.Path(path_type=Path))
@unit_options
@click.option("--recover", is_flag=True, help="Read the intact parts of a damaged recording.")
@click.option(
    "--exercise",
    type=click.Choice((*EXERCISES, UNKNOWN_EXERCISE)),
    help="Set the session's exercise.",
)
@click.option(
    "--load-kg",
    type=click.FloatRange(min=0.0),
    help="Set the load lifted, in kg.",
)
@click.option("--note", help="Set the session's free-text note.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@placement_option
def convert(
    in_path: Path,
    out_path: Path,
    acc_unit: str,
    gyro_unit: str,
    recover: bool,
    exercise: str | None,
    load_kg: float | None,
    note: str | None,
    force: bool,
    placement: str | None,
) -> None:
    """Convert a recording: IN (native .trk or samples CSV) to OUT (.csv or .trk by extension).

    Samples CSV holds samples only: device info, notes, gaps and raw BLE packets are not
    written to it, and raw packets are not carried into a new .trk either.
    """
    if out_path.exists() and in_path.exists() and out_path.resolve() == in_path.resolve():
        raise InputError(f"{out_path} is the input file; write the conversion to a new file")
    if out_path.exists() and not force:
        raise InputError(f"{out_path} already exists; use --force to replace it")
    recording = load_recording(
        in_path, recover=recover, acc_unit=acc_unit, gyro_unit=gyro_unit, placement=placement
    )
    for line in _warnings(recording):
        click.echo(line, err=True)
    changes: dict[str, Any] = {
        k: v
        for k, v in (("exercise", exercise), ("load_kg", load_kg), ("text", note))
        if v is not None
    }
    recording.notes = dataclasses.replace(recording.notes, **changes)
    save_recording(recording, out_path)
    counts = ", ".join(f"{p} {len(recording.sensors[p])} samples" for p in recording.placements)
    click.echo(f"Wrote {out_path}: {counts}, {recording.duration_s():.3f} s")


@cli.command()
@click.argument("recording_path", metavar="RECORDING", type=click.Path(path_type=Path))
@click.option("--recover", is_flag=True, help="Read the intact parts of a damaged recording.")
@unit_options
@placement_option
def info(
    recording_path: Path, recover: bool, acc_unit: str, gyro_unit: str, placement: str | None
) -> None:
    """Show what RECORDING holds: sensors, samples, duration, rates, devices, notes, gaps."""
    recording = load_recording(
        recording_path,
        recover=recover,
        acc_unit=acc_unit,
        gyro_unit=gyro_unit,
        placement=placement,
    )
    # Names, notes and device fields come from the file: shown escaped (terminal_safe).
    click.echo(terminal_safe(f"file: {recording_path}"))
    for line in describe(recording):
        click.echo(terminal_safe(line))
