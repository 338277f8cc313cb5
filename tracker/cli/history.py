"""History commands: `history` (weekly trends per exercise) and `history add`."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli import cli
from tracker.cli.analyse import (
    EXERCISE_CHOICE,
    limit_options,
    recording_options,
    resolve_settings,
    selected_placement,
)

_DB_HELP = "History database (default: history.sqlite in your data directory)."


def _db_option(f):
    return click.option(
        "--db", "db_path", type=click.Path(path_type=Path, dir_okay=False), help=_DB_HELP
    )(f)


@cli.group(invoke_without_command=True)
@_db_option
@click.option("--exercise", type=EXERCISE_CHOICE, help="Only this exercise.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the trends as CSV.",
)
@click.pass_context
def history(
    ctx: click.Context, db_path: Path | None, exercise: str | None, csv_path: Path | None
) -> None:
    """Show per-exercise trends by ISO week: reps, % flagged, peak flexion, depth, tempo.

    Sessions are added by `tracker export`, `tracker live` and `tracker history add`.
    """
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path
    if ctx.invoked_subcommand is not None:
        return
    from tracker.history import opened, weekly_trends
    from tracker.history.trends import format_trends, write_trends_csv

    with opened(db_path) as conn:
        trends = weekly_trends(conn, exercise)
    click.echo(format_trends(trends))
    if csv_path is not None:
        write_trends_csv(trends, csv_path)
        click.echo(f"Wrote {len(trends)} rows to {csv_path}", err=True)


@history.command("add")
@recording_options
@_db_option
@limit_options
@click.pass_context
def add(
    ctx: click.Context,
    recording,
    acc_unit,
    gyro_unit,
    db_path,
    flexion_limit,
    extension_limit,
    exercise,
    profile_path,
    no_profile,
) -> None:
    """Analyse RECORDING and add it to the history (the same recording twice is kept once)."""
    from tracker.analysis.session import analyse_recording
    from tracker.history import record_session
    from tracker.recording.load import load_recording

    db_path = db_path or (ctx.obj or {}).get("db_path")
    rec = load_recording(
        recording, acc_unit=acc_unit, gyro_unit=gyro_unit, placement=selected_placement()
    )
    settings, _ = resolve_settings(
        flexion_limit, extension_limit, exercise, profile_path, no_profile, rec.notes.exercise
    )
    result = analyse_recording(rec, settings)
    session_id, new = record_session(db_path, result, recording, recording=rec)
    what = "Added" if new else "Updated"
    click.echo(f"{what} session {session_id}: {len(result.reps)} reps in {len(result.sets)} sets")
