"""Analysis commands: export, summary, replay, calibrate."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracker.analysis.profile import profile_from_session
from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording, with_noted_exercise
from tracker.app.profile import default_profile_path, resolve_settings, save_profile
from tracker.cli import cli
from tracker.cli.options import Command, unit_options
from tracker.recording.load import load_recording
from tracker.report.words import sets_and_reps
from tracker.units import EXERCISES, PLACEMENTS

if TYPE_CHECKING:
    from tracker.app.export import ExportOptions, ExportOutcome
    from tracker.recording.model import Recording

EXERCISE_CHOICE = click.Choice(EXERCISES)
_PLACEMENT_META = "tracker.placement"
_RECOVER_META = "tracker.recover"


def _store_placement(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    ctx.meta[_PLACEMENT_META] = value


def _store_recover(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    ctx.meta[_RECOVER_META] = value


def selected_recover() -> bool:
    """The ``--recover`` of the running command (see `selected_placement`)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_RECOVER_META))


def selected_placement() -> str | None:
    """The ``--placement`` of the running command (None when not given): pass it to
    ``load_recording(..., placement=selected_placement())``. The option is not a
    parameter of the command functions, so every command using `recording_options`
    accepts it without a change of signature."""
    ctx = click.get_current_context(silent=True)
    return None if ctx is None else ctx.meta.get(_PLACEMENT_META)


def recording_options(f: Command) -> Command:
    """RECORDING and the options that say how to read it."""
    return click.argument("recording", type=click.Path(path_type=Path))(input_options(f))


def input_options(f: Command) -> Command:
    """How to read recordings: --placement, --recover, --gyro-unit, --acc-unit."""
    f = click.option(
        "--recover",
        is_flag=True,
        expose_value=False,
        callback=_store_recover,
        help="Analyse the intact parts of a damaged native recording (the damage becomes a gap).",
    )(f)
    f = click.option(
        "--placement",
        type=click.Choice(PLACEMENTS),
        expose_value=False,
        callback=_store_placement,
        help="Where the phone of a phone-app export (Sensor Logger zip/folder, phyphox "
        "CSV) was worn.",
    )(f)
    return unit_options(f)


def db_option(f: Command) -> Command:
    return click.option(
        "--db",
        "db_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="History database (default: history.sqlite in your data directory).",
    )(f)


def history_options(f: Command) -> Command:
    f = db_option(f)
    return click.option(
        "--history/--no-history",
        default=True,
        show_default=True,
        help="Add the session to your history database.",
    )(f)


def limit_options(f: Command) -> Command:
    f = click.option(
        "--no-profile", is_flag=True, help="Ignore the saved profile; use population defaults."
    )(f)
    f = click.option(
        "--profile",
        "profile_path",
        type=click.Path(path_type=Path),
        help="Profile from `tracker calibrate` (default: the saved one, if any).",
    )(f)
    f = click.option(
        "--exercise", type=EXERCISE_CHOICE, help="Exercise of every set (skip recognition)."
    )(f)
    f = click.option(
        "--extension-limit",
        type=click.FloatRange(min=0),
        metavar="DEG",
        help="Flag lumbar extension beyond DEG past standing neutral [default: 10, or 50% of "
        "your calibrated maximum].",
    )(f)
    f = click.option(
        "--flexion-limit",
        type=click.FloatRange(min=0),
        metavar="DEG",
        help="Flag lumbar flexion beyond DEG past standing neutral [default: 36, or 70% of "
        "your calibrated maximum].",
    )(f)
    return f


def load_and_settings(recording: Path, **opts: Any) -> tuple[Recording, AnalysisSettings, str]:
    """Load RECORDING with the input options and resolve its analysis settings from the
    limit options (as added by `recording_options` and `limit_options`)."""
    rec = load_recording(
        recording,
        recover=selected_recover(),
        acc_unit=opts["acc_unit"],
        gyro_unit=opts["gyro_unit"],
        placement=selected_placement(),
    )
    settings, source = resolve_settings(
        opts["flexion_limit"],
        opts["extension_limit"],
        opts["exercise"],
        opts["profile_path"],
        opts["no_profile"],
    )
    return rec, with_noted_exercise(rec, settings), source


@cli.command()
@input_options
@click.argument(
    "recordings",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path),
    metavar="RECORDING...",
)
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(),
    required=True,
    help="Per-rep CSV to write; a folder (existing, or written with a trailing /) gets "
    "FOLDER/<name>.csv per recording.",
)
@limit_options
@click.option(
    "--srt",
    "srt_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write subtitles (.srt): each rep with its flags, to lay over a video "
    "(one recording only).",
)
@click.option(
    "--srt-offset",
    type=float,
    default=0.0,
    show_default=True,
    metavar="S",
    help="Seconds into the video at which the recording starts (negative: the video "
    "started later).",
)
@history_options
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Recordings exported at once, in parallel processes [default: one per CPU, at "
    "most 8; one below 48 MB of recordings, where starting processes costs more than it "
    "saves].",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON summary of every file on stdout."
)
def export(
    recordings: tuple[Path, ...],
    acc_unit: str,
    gyro_unit: str,
    out: str,
    flexion_limit: float | None,
    extension_limit: float | None,
    exercise: str | None,
    profile_path: Path | None,
    no_profile: bool,
    srt_path: Path | None,
    srt_offset: float,
    history: bool,
    db_path: Path | None,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Write per-rep metrics of RECORDING (native recording, samples CSV or phone-app
    export) as CSV.

    Several recordings (or a folder of them) with -o naming a folder export each to
    FOLDER/<name>.csv in parallel; a file that fails is reported and the others are
    still written (exit code 1 if any failed).
    """
    from tracker.app.export import ExportOptions, expand_inputs

    settings, _ = resolve_settings(
        flexion_limit, extension_limit, exercise, profile_path, no_profile
    )
    options = ExportOptions(
        settings,
        acc_unit=acc_unit,
        gyro_unit=gyro_unit,
        placement=selected_placement(),
        recover=selected_recover(),
        history=history,
        history_db=db_path,
    )
    # A trailing "/" names a folder even before it exists (Path() would drop it).
    named_folder = out.endswith(("/", os.sep))
    out_path = Path(out)
    sources = expand_inputs(recordings)
    if not (named_folder or out_path.is_dir() or sources != list(recordings) or len(sources) > 1):
        _export_single(recordings[0], out_path, options, srt_path, srt_offset, as_json)
        return
    if out_path.exists() and not out_path.is_dir():
        raise click.UsageError(
            f"-o {out_path} is a file; to export several recordings give a folder"
        )
    if out_path.suffix.lower() == ".csv" and not out_path.exists() and not named_folder:
        raise click.UsageError(
            f"-o {out_path} looks like a CSV file; to export several recordings give a folder"
        )
    if srt_path is not None:
        raise click.UsageError("--srt takes a single recording")
    _export_batch(sources, out_path, options, jobs, as_json)


def _export_single(
    recording: Path,
    out: Path,
    options: ExportOptions,
    srt_path: Path | None,
    srt_offset: float,
    as_json: bool,
) -> None:
    """The single export of the DESIGN contract (4.4): RECORDING -o OUT.csv."""
    from tracker.app.export import ExportOutcome, export_one, outcomes_json
    from tracker.errors import TrackerError

    try:
        outcome, result = export_one(recording, out, options)
    except TrackerError as exc:
        if as_json:
            failed = ExportOutcome.failed(recording, out, exc)
            click.echo(json.dumps(outcomes_json([failed]), indent=2))
        raise
    for n in result.notices:
        click.echo(f"Note: {n}", err=True)
    click.echo(f"Wrote {sets_and_reps(len(result.sets), len(result.reps))} to {out}", err=True)
    if srt_path is not None:
        from tracker.report.srt import write_srt

        n_subtitles = write_srt(result, srt_path, offset_s=srt_offset)
        click.echo(f"Wrote {n_subtitles} subtitles to {srt_path}", err=True)
    if outcome.history_warning is not None:
        click.echo(f"Warning: history not updated: {outcome.history_warning}", err=True)
    if as_json:
        click.echo(json.dumps(outcomes_json([outcome]), indent=2))


def _export_batch(
    sources: Sequence[Path],
    out_dir: Path,
    options: ExportOptions,
    jobs: int | None,
    as_json: bool,
) -> None:
    from tracker.app.export import default_jobs, export_many, outcomes_json, progress_line
    from tracker.cli.progress import Progress

    progress = Progress()

    def on_done(done: int, total: int, outcome: ExportOutcome) -> None:
        name = outcome.source.name
        if outcome.error is not None:
            # Error messages name their file already, mostly.
            where = "" if str(outcome.source) in outcome.error else f"{outcome.source}: "
            progress.message(f"Failed: {where}{outcome.error}")
        for n in outcome.notices:
            progress.message(f"Note: {name}: {n}")
        if outcome.history_warning is not None:
            progress.message(f"Warning: {name}: history not updated: {outcome.history_warning}")
        progress.update(progress_line(done, total, outcome))

    workers = jobs if jobs is not None else default_jobs(sources)
    try:
        outcomes = export_many(sources, out_dir, options, jobs=workers, on_done=on_done)
    finally:
        progress.close()
    failed = sum(not o.ok for o in outcomes)
    reps = sum(o.reps or 0 for o in outcomes)
    click.echo(
        f"Wrote {len(outcomes) - failed} of {len(outcomes)} recordings ({reps} reps) to {out_dir}",
        err=True,
    )
    if as_json:
        click.echo(json.dumps(outcomes_json(outcomes), indent=2))
    if failed:
        raise click.ClickException(f"{failed} of {len(outcomes)} recordings failed (see above)")


def explain_option(f: Command) -> Command:
    return click.option(
        "--explain",
        is_flag=True,
        help="Also say why each set got its exercise and why each movement was counted "
        "as a rep or not.",
    )(f)


@cli.command()
@recording_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@explain_option
@limit_options
def summary(recording: Path, as_json: bool, explain: bool, **opts: Any) -> None:
    """Print a per-set summary of RECORDING: reps, tempo, depth, flagged reps, creep."""
    from tracker.report.summary import explain_dict, format_explain, format_summary, summary_dict

    rec, settings, source = load_and_settings(recording, **opts)
    result = analyse_recording(rec, settings)
    d = summary_dict(result)
    if explain:
        d["explain"] = explain_dict(result)
    if as_json:
        click.echo(json.dumps(d, indent=2))
    else:
        click.echo(format_summary(d, source))
        if explain:
            click.echo("")
            click.echo(format_explain(d["explain"], result.start_s))


@cli.command()
@recording_options
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Replay X times faster than real time.",
)
@click.option("--fast", is_flag=True, help="As fast as possible (no pacing).")
@click.option(
    "--block-ms",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Size of the blocks fed to the pipeline, as a sensor would stream them.",
)
@explain_option
@limit_options
def replay(
    recording: Path, speed: float, fast: bool, block_ms: int, explain: bool, **opts: Any
) -> None:
    """Stream RECORDING through the live pipeline, printing events as they happen."""
    from tracker.analysis.result import recording_start_s
    from tracker.devices.playback import paced
    from tracker.report.event_lines import EventLines
    from tracker.report.summary import explain_dict, format_explain, format_summary, summary_dict

    rec, settings, source = load_and_settings(recording, **opts)
    start_s = recording_start_s(rec)
    lines = EventLines(start_s)
    result = analyse_recording(
        rec,
        settings,
        block_ms / 1000.0,
        pace=None if fast else lambda blocks: paced(blocks, speed, start_s),
        on_event=lambda e: click.echo(lines.line(e)),
    )
    click.echo("")
    click.echo(format_summary(summary_dict(result), source))
    if explain:
        click.echo("")
        click.echo(format_explain(explain_dict(result), result.start_s))


@cli.command()
@recording_options
@click.option(
    "--save/--no-save", default=True, show_default=True, help="Save the profile for later sessions."
)
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(path_type=Path),
    help="Where to save the profile (default: your data directory).",
)
def calibrate(
    recording: Path, acc_unit: str, gyro_unit: str, save: bool, profile_path: Path | None
) -> None:
    """Measure your maximum lumbar flexion and extension from a calibration RECORDING.

    Protocol (two sensors): stand still 3 s, a few slow hinges, then about six slow
    maximal forward bends (let the back round fully), then stand and lean back as far as
    is comfortable. Limits become 70% (flag) and 50% (caution) of your maximum flexion,
    and 50% of your maximum extension.
    """
    rec = load_recording(
        recording,
        recover=selected_recover(),
        acc_unit=acc_unit,
        gyro_unit=gyro_unit,
        placement=selected_placement(),
    )
    result = analyse_recording(rec, AnalysisSettings())
    profile = profile_from_session(result, source=str(recording))
    limits = profile.apply(AnalysisSettings())
    click.echo(f"Maximum lumbar flexion: {profile.max_flexion_deg:.0f} deg")
    if profile.max_extension_deg is None:
        click.echo("Maximum extension: not captured (default extension limit kept)")
    else:
        click.echo(f"Maximum lumbar extension: {profile.max_extension_deg:.0f} deg")
    click.echo(
        f"Limits: flexion flag {limits.flexion_limit_deg:.0f} deg, caution "
        f"{limits.flexion_caution_deg:.0f} deg, extension {limits.extension_limit_deg:.0f} deg"
    )
    if save:
        path = profile_path or default_profile_path()
        save_profile(profile, path)
        click.echo(f"Saved profile to {path}")
