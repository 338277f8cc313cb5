"""The export use case: per-rep CSV of one recording, or of many at once in parallel.

`export_one` is the one export of one file (load, analyse, write the per-rep CSV, add it
to the history) that the single ``tracker export`` and the batch share. `export_many`
runs it over many recordings in worker processes: the analysis is CPU-bound Python and
numpy, so threads would take turns on the GIL while processes use every core. A file
that fails is reported in its `ExportOutcome` and the others are still written. Nothing
here prints: the caller renders progress from the ``on_done`` callback (`progress_line`)
and the machine-readable summary from `outcomes_json`. Times and angles as in
docs/frames.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.analysis.result import SessionResult
from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording, with_noted_exercise
from tracker.errors import InputError, TrackerError
from tracker.recording.fileio import OutputError
from tracker.recording.load import load_recording
from tracker.recording.model import Recording
from tracker.report.rep_csv import write_rep_csv
from tracker.report.words import sets_and_reps

if TYPE_CHECKING:
    from concurrent.futures import Future

#: More workers than this gain nothing on a desktop and each costs ~50 MB of memory.
MAX_JOBS = 8
#: Below this much input the default is no pool. Measured (2 shared cores): a worker
#: starts in ~0.4 s (a fresh interpreter importing numpy, scipy, vqf), plus ~0.2 s when the
#: parent is the `tracker` script; analysis runs at ~40-50 MB of native recording per
#: second per core. 12 bundled recordings (12 MB): 0.46 s alone, 1.34 s with 2 workers;
#: 12 15-min dual recordings (123 MB): 3.2 s alone, 2.1 s with 2 workers.
POOL_MIN_INPUT_BYTES = 48 * 2**20
#: What a folder given as input is expanded to (native, samples CSV, phone zip).
RECORDING_SUFFIXES = (".trk", ".csv", ".zip")
OUTPUT_SUFFIX = ".csv"


@dataclass(frozen=True)
class ExportOptions:
    """How every recording of an export is read, analysed and kept.

    ``settings`` holds the resolved limits (defaults, profile, command line); its
    ``exercise`` None lets each recording's own noted exercise apply. ``history`` adds
    each analysed session to the history database ``history_db`` (None: the default
    one), as the single export does.
    """

    settings: AnalysisSettings
    acc_unit: str = "mps2"
    gyro_unit: str = "rad_s"
    placement: str | None = None
    #: Read the intact parts of a damaged native recording (``--recover``).
    recover: bool = False
    history: bool = False
    history_db: Path | None = None


@dataclass(frozen=True)
class ExportOutcome:
    """What became of one input: its CSV with the counts, or the error."""

    source: Path
    output: Path
    reps: int | None = None
    sets: int | None = None
    notices: tuple[str, ...] = ()
    error: str | None = None
    #: Set when the CSV was written but the history could not be updated.
    history_warning: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, source: Path, output: Path, error: TrackerError) -> ExportOutcome:
        """The outcome of an input whose export raised ``error``."""
        return cls(source, output, error=str(error))


ProgressCallback = Callable[[int, int, ExportOutcome], None]


def export_recording(
    source: Path, output: Path, options: ExportOptions
) -> tuple[Recording, SessionResult]:
    """Load ``source``, analyse it and write its per-rep CSV to ``output``.

    Raises TrackerError subclasses on bad input or an unwritable output. The history is
    not touched (see `export_many`, or `tracker.history.record_session`).
    """
    rec = load_recording(
        source,
        recover=options.recover,
        acc_unit=options.acc_unit,
        gyro_unit=options.gyro_unit,
        placement=options.placement,
    )
    result = analyse_recording(rec, with_noted_exercise(rec, options.settings))
    write_rep_csv(result.reps, output)
    return rec, result


def history_warning(
    options: ExportOptions, result: SessionResult, source: Path, recording: Recording
) -> str | None:
    """Add the session to the history if asked; the error message if that failed. The
    database takes concurrent writers (WAL, busy wait), so workers can all call this."""
    if not options.history:
        return None
    from tracker.history import try_record_session

    return try_record_session(options.history_db, result, source, recording=recording)


def export_one(
    source: Path, output: Path, options: ExportOptions
) -> tuple[ExportOutcome, SessionResult]:
    """`export_recording`, then the history when ``options`` ask for it: the outcome
    (counts, notices, a history that could not be updated) and the analysis.

    Raises what `export_recording` raises; a history error is only a warning in the
    outcome (the CSV is written).
    """
    rec, result = export_recording(source, output, options)
    outcome = ExportOutcome(
        source,
        output,
        reps=len(result.reps),
        sets=len(result.sets),
        notices=tuple(result.notices),
        history_warning=history_warning(options, result, source, rec),
    )
    return outcome, result


def _export_one(source: Path, output: Path, options: ExportOptions) -> ExportOutcome:
    """`export_one` with its errors kept in the outcome (runs in a worker)."""
    try:
        return export_one(source, output, options)[0]
    except TrackerError as exc:
        return ExportOutcome.failed(source, output, exc)


def _is_phone_export_folder(path: Path) -> bool:
    from tracker.recording import phyphox, sensor_logger

    return sensor_logger.sniff(b"", path) or phyphox.sniff(b"", path)


def expand_inputs(paths: Sequence[Path]) -> list[Path]:
    """The recordings named by ``paths``: files as given, a folder as the recordings it
    holds (``*.trk``, ``*.csv``, ``*.zip``, not its subfolders, sorted by name), except a
    phone-app export folder, which is one recording itself."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir() and not _is_phone_export_folder(p):
            inside = sorted(
                f
                for f in p.iterdir()
                if f.is_file()
                and f.suffix.lower() in RECORDING_SUFFIXES
                and not f.name.startswith(".")
            )
            if not inside:
                raise InputError(
                    f"folder {p} holds no recordings ({', '.join(RECORDING_SUFFIXES)} files)"
                )
            found.extend(inside)
        else:
            found.append(p)
    return found


def batch_outputs(sources: Sequence[Path], out_dir: Path) -> list[Path]:
    """``out_dir/<stem>.csv`` per source; two sources with one stem, or an output that
    would overwrite an input, are an InputError (nothing is written)."""
    outputs = [out_dir / f"{s.stem}{OUTPUT_SUFFIX}" for s in sources]
    seen: dict[Path, Path] = {}
    inputs = {s.resolve() for s in sources}
    for s, o in zip(sources, outputs, strict=True):
        if o in seen:
            raise InputError(
                f"{seen[o]} and {s} would both be exported to {o}; rename one or export "
                f"them into different folders"
            )
        if o.resolve() in inputs:
            raise InputError(f"exporting {s} to {o} would overwrite an input; choose another -o")
        seen[o] = s
    return outputs


def _input_bytes(path: Path) -> int:
    try:
        if path.is_dir():  # a phone-app export folder: its tables
            return sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        return path.stat().st_size
    except OSError:
        return 0  # unreadable: it fails fast in its worker anyway


def default_jobs(sources: Sequence[Path]) -> int:
    """Worker processes when the user did not say: one per CPU, at most `MAX_JOBS` and
    one per file, but 1 (no pool) while the inputs are smaller than
    `POOL_MIN_INPUT_BYTES`, for which starting workers costs more than it saves."""
    if sum(_input_bytes(p) for p in sources) < POOL_MIN_INPUT_BYTES:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_JOBS, len(sources)))


def export_many(
    sources: Sequence[Path],
    out_dir: Path,
    options: ExportOptions,
    *,
    jobs: int,
    on_done: ProgressCallback | None = None,
) -> list[ExportOutcome]:
    """Export every source to ``out_dir/<stem>.csv`` with ``jobs`` worker processes.

    ``on_done(done, total, outcome)`` is called in this process as each file finishes
    (in completion order). Returns the outcomes in the order of ``sources``. Raises
    InputError before any work when outputs collide, OutputError when ``out_dir``
    cannot be created; a failing file only fails its own outcome.
    """
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {jobs}")
    outputs = batch_outputs(sources, out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {out_dir}: {exc.strerror or exc}") from exc
    total = len(sources)
    outcomes: list[ExportOutcome | None] = [None] * total

    def finished(i: int, outcome: ExportOutcome) -> None:
        outcomes[i] = outcome
        if on_done is not None:
            on_done(sum(o is not None for o in outcomes), total, outcome)

    workers = min(jobs, total)
    if workers <= 1:
        # One worker would only add a process start (~0.5 s of imports) to the same work.
        for i, (s, o) in enumerate(zip(sources, outputs, strict=True)):
            finished(i, _export_one(s, o, options))
    else:
        _run_pool(sources, outputs, options, workers, finished)
    return [o for o in outcomes if o is not None]


def _run_pool(
    sources: Sequence[Path],
    outputs: Sequence[Path],
    options: ExportOptions,
    workers: int,
    finished: Callable[[int, ExportOutcome], None],
) -> None:
    # Imported here: a single export (the common case) never starts a pool.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # "spawn": a fresh interpreter per worker. Forking a process that runs threads (a
    # live display, an asyncio executor, a test runner) can deadlock the child, and
    # spawn behaves the same on Linux, macOS and Windows.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        futures: dict[Future[ExportOutcome], int] = {
            pool.submit(_export_one, s, o, options): i
            for i, (s, o) in enumerate(zip(sources, outputs, strict=True))
        }
        for future in as_completed(futures):
            i = futures[future]
            try:
                outcome = future.result()
            except BrokenProcessPool as exc:
                # A worker died (killed, out of memory): the files it had are lost, the
                # rest are reported as usual.
                outcome = ExportOutcome(
                    sources[i], outputs[i], error=f"the worker process stopped ({exc})"
                )
            finished(i, outcome)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def progress_line(done: int, total: int, outcome: ExportOutcome) -> str:
    """``[12/40] name.trk: 9 reps in 2 sets`` (or ``: failed``) for a progress display."""
    if outcome.sets is None or outcome.reps is None:  # (no counts: the export failed)
        what = "failed"
    else:
        what = sets_and_reps(outcome.sets, outcome.reps)
    return f"[{done}/{total}] {outcome.source.name}: {what}"


def outcome_dict(outcome: ExportOutcome) -> dict[str, Any]:
    """One file of the ``--json`` summary; ``error`` is None on success."""
    return {
        "input": str(outcome.source),
        "output": None if not outcome.ok else str(outcome.output),
        "reps": outcome.reps,
        "sets": outcome.sets,
        "notices": list(outcome.notices),
        "error": outcome.error,
        "history_warning": outcome.history_warning,
    }


def outcomes_json(outcomes: Sequence[ExportOutcome]) -> dict[str, Any]:
    """The ``export --json`` summary: every file, then the counts."""
    failed = sum(not o.ok for o in outcomes)
    return {
        "files": [outcome_dict(o) for o in outcomes],
        "written": len(outcomes) - failed,
        "failed": failed,
    }
