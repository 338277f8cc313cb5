"""History commands: `history` (weekly trends per exercise) and `history add`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tracker.cli import cli
from tracker.cli.analyse import (
    EXERCISE_CHOICE,
    db_option,
    limit_options,
    load_and_settings,
    recording_options,
)
from tracker.report.words import sets_and_reps


@cli.group(invoke_without_command=True)
@db_option
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

    with opened(db_path, write=False) as conn:
        trends = weekly_trends(conn, exercise)
    click.echo(format_trends(trends))
    if csv_path is not None:
        write_trends_csv(trends, csv_path)
        click.echo(f"Wrote {len(trends)} rows to {csv_path}", err=True)


@history.command("add")
@recording_options
@db_option
@limit_options
@click.pass_context
def add(ctx: click.Context, recording: Path, db_path: Path | None, **opts: Any) -> None:
    """Analyse RECORDING and add it to the history (the same recording twice is kept once)."""
    from tracker.app.offline import analyse_recording
    from tracker.history import record_session

    db_path = db_path or (ctx.obj or {}).get("db_path")
    rec, settings, _ = load_and_settings(recording, **opts)
    result = analyse_recording(rec, settings)
    session_id, new = record_session(db_path, result, recording, recording=rec)
    what = "Added" if new else "Updated"
    click.echo(f"{what} session {session_id}: {sets_and_reps(len(result.sets), len(result.reps))}")


@history.command("restore")
@db_option
@click.pass_context
def restore(ctx: click.Context, db_path: Path | None) -> None:
    """Replace a damaged history database by the copy made before its last write.

    The damaged file is kept beside it (.damaged); sessions added after the copy was
    made are added again with `tracker history add`.
    """
    from tracker.history.db import backup_path, default_db_path, restore_backup

    db_path = db_path or (ctx.obj or {}).get("db_path") or default_db_path()
    kept = restore_backup(db_path)
    click.echo(f"Restored {db_path} from {backup_path(Path(db_path))}; the damaged file is {kept}")
