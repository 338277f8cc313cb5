"""Fuzzing of every decoder: a million structure-aware hostile inputs, 0 tracebacks wanted.

    python bench/fuzz.py [--cases 1000000] [--seconds S] [--target NAME[,NAME]] [--seed 1]
    python bench/fuzz.py --target native --seed 1 --replay 12345   # rerun one case

The inputs and targets live in tests/fuzz_inputs.py (shared with the short version in
the default test run): native recordings with valid checksums and hostile content,
samples CSV, Sensor Logger and phyphox exports, and the BLE protocols (start handshake
against a fake device, then data through the session's decode step). Each case is
reproducible from (seed, target, index).

A case passes when it ends normally or with a `TrackerError` (a project error: the CLI
prints one ``Error:`` line). Anything else is a finding, and so is a case over the time
budget (``--case-seconds``) or one that grows the worker's memory beyond
``--case-mib``; every finding is written to ``--failures`` (one JSON line with the
command that reruns it, and the input files of the first few of each kind). Exit status
1 when there was any finding.

Cases run in a process pool (``--jobs``, default one per core), in batches that
interleave the targets, so a run cut short by ``--seconds`` still covers every target.
"""

from __future__ import annotations

import os

# One thread per worker: the pool already uses every core, and BLAS threads would fight it.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import fuzz_inputs  # noqa: E402

#: Cases per task handed to a worker: large enough that scheduling costs nothing, small
#: enough that a run cut by --seconds stops within a second or so.
BATCH_CASES = 250
#: Distinct findings per kind whose input files are written out (all are listed).
INPUTS_PER_KIND = 5
#: The done-when of the hostile-input work: every case under 10 s and 500 MB.
DEFAULT_CASE_SECONDS = 10.0
DEFAULT_CASE_MIB = 500
#: Address space a worker may use beyond what it holds after start-up: past the memory
#: budget with room to spare, so an over-budget case is measured rather than killed, but
#: a runaway allocation ends as a MemoryError instead of taking the machine.
_ADDRESS_SPACE_SLACK_MIB = 1536


class CaseTimeout(BaseException):
    """Raised in a worker by the alarm when a case runs over its time budget."""


@dataclass
class Finding:
    target: str
    index: int
    kind: str  # exception type, "over time budget" or "over memory budget"
    message: str
    where: str  # innermost frame in the project, file:line
    trace: str
    inputs: dict[str, bytes | list[str]]


@dataclass
class BatchResult:
    target: str
    cases: int = 0
    project_errors: int = 0
    slowest_s: float = 0.0
    slowest_index: int = -1
    findings: list[Finding] = field(default_factory=list)


_WORKDIR: Path | None = None
_CASE_SECONDS = DEFAULT_CASE_SECONDS
_CASE_KIB = DEFAULT_CASE_MIB * 1024


def _vm_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1])
    return 0


def _on_alarm(_signum: int, _frame: object) -> None:
    raise CaseTimeout


def _init_worker(root: str, case_seconds: float, case_mib: int) -> None:
    global _WORKDIR, _CASE_SECONDS, _CASE_KIB
    _WORKDIR = Path(root) / f"w{os.getpid()}"
    _WORKDIR.mkdir(parents=True, exist_ok=True)
    _CASE_SECONDS, _CASE_KIB = case_seconds, case_mib * 1024
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    limit = (_vm_kib() + (case_mib + _ADDRESS_SPACE_SLACK_MIB) * 1024) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if "/tracker/" in f.filename]
    f = (inside or frames or [None])[-1]
    if f is None:
        return "?"
    path = f.filename
    cut = path.rfind("/tracker/")
    return f"{path[cut + 1 :] if cut >= 0 else path}:{f.lineno}"


def _max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_batch(task: tuple[str, int, int, int, float]) -> BatchResult:
    target, seed, start, count, deadline = task
    assert _WORKDIR is not None
    out = BatchResult(target)
    for index in range(start, start + count):
        if time.time() > deadline:
            break
        rss_before = _max_rss_kib()
        t0 = time.perf_counter()
        case = fuzz_inputs.new_case(target, seed, index, _WORKDIR)
        exc: BaseException | None
        signal.setitimer(signal.ITIMER_REAL, _CASE_SECONDS)
        try:
            exc = fuzz_inputs.run_guarded(target, case)
        except CaseTimeout as timeout:
            exc = timeout
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed_s = time.perf_counter() - t0
        out.cases += 1
        if elapsed_s > out.slowest_s:
            out.slowest_s, out.slowest_index = elapsed_s, index
        grown_kib = _max_rss_kib() - rss_before
        inputs = case.inputs
        if isinstance(exc, CaseTimeout):
            # Raised where the case was busy: its traceback says what was too slow.
            msg = f"still running after {_CASE_SECONDS:g} s"
            trace = "".join(traceback.format_exception(exc))
            out.findings.append(
                Finding(target, index, "over time budget", msg, _where(exc), trace, inputs)
            )
        elif exc is not None and not isinstance(exc, fuzz_inputs.TrackerError):
            trace = "".join(traceback.format_exception(exc))
            out.findings.append(
                Finding(
                    target, index, type(exc).__name__, str(exc)[:300], _where(exc), trace, inputs
                )
            )
        elif isinstance(exc, fuzz_inputs.TrackerError):
            out.project_errors += 1
        if grown_kib > _CASE_KIB:
            msg = f"peak memory grew by {grown_kib // 1024} MiB"
            out.findings.append(Finding(target, index, "over memory budget", msg, "?", "", inputs))
    return out


def _plan(targets: list[str], cases: int) -> dict[str, int]:
    weights = {t: fuzz_inputs.TARGETS[t][1] for t in targets}
    total = sum(weights.values())
    plan = {t: max(1, int(cases * w / total)) for t, w in weights.items()}
    short = cases - sum(plan.values())  # what rounding down left out goes to the first
    plan[targets[0]] += max(0, short)
    return plan


def _tasks(plan: dict[str, int], seed: int, deadline: float) -> list[tuple]:
    per_target = {
        t: [(t, seed, s, min(BATCH_CASES, n - s), deadline) for s in range(0, n, BATCH_CASES)]
        for t, n in plan.items()
    }
    tasks = []
    while any(per_target.values()):  # interleave, each target in proportion to its cases
        for t in sorted(per_target, key=lambda t: -len(per_target[t])):
            if per_target[t]:
                tasks.append(per_target[t].pop(0))
    return tasks


def _write_findings(findings: list[Finding], seed: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    listing = folder / f"findings-seed{seed}.jsonl"
    per_kind: dict[tuple[str, str, str], int] = {}
    with open(listing, "w") as f:
        for x in findings:
            rerun = f"python bench/fuzz.py --target {x.target} --seed {seed} --replay {x.index}"
            key = (x.target, x.kind, x.where)
            per_kind[key] = per_kind.get(key, 0) + 1
            saved = []
            if per_kind[key] <= INPUTS_PER_KIND:
                for name, data in x.inputs.items():
                    p = folder / f"{x.target}-{seed}-{x.index}-{name.replace('/', '_')}"
                    if isinstance(data, list):
                        p.write_text("\n".join(data) + "\n")
                    else:
                        p.write_bytes(data)
                    saved.append(str(p))
            record = {
                "target": x.target,
                "seed": seed,
                "index": x.index,
                "kind": x.kind,
                "where": x.where,
                "message": x.message,
                "rerun": rerun,
                "inputs": saved,
                "traceback": x.trace,
            }
            f.write(json.dumps(record) + "\n")
    return listing


def _replay(target: str, seed: int, index: int, save: Path | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        case = fuzz_inputs.new_case(target, seed, index, Path(tmp))
        t0 = time.perf_counter()
        status = 0
        try:
            fuzz_inputs.run_case(target, case)
            print(f"{target} #{index}: no error ({time.perf_counter() - t0:.3f} s)")
        except fuzz_inputs.TrackerError as exc:
            print(f"{target} #{index}: project error {type(exc).__name__}: {exc}")
        except Exception:
            traceback.print_exc()
            status = 1
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            for name, data in case.inputs.items():
                p = save / name.replace("/", "_")
                if isinstance(data, list):
                    p.write_text("\n".join(data) + "\n")
                else:
                    p.write_bytes(data)
                print(f"input written: {p}")
    return status


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=1_000_000, help="cases in total")
    ap.add_argument("--seconds", type=float, help="stop after this many seconds")
    ap.add_argument("--target", help="comma-separated targets (default: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--case-seconds", type=float, default=DEFAULT_CASE_SECONDS)
    ap.add_argument("--case-mib", type=int, default=DEFAULT_CASE_MIB)
    ap.add_argument("--failures", type=Path, default=Path("fuzz-findings"))
    ap.add_argument("--replay", type=int, metavar="INDEX", help="rerun one case in process")
    ap.add_argument("--save-inputs", type=Path, help="with --replay: write its input files")
    args = ap.parse_args(argv)

    names = list(fuzz_inputs.TARGETS) if not args.target else args.target.split(",")
    unknown = [n for n in names if n not in fuzz_inputs.TARGETS]
    if unknown:
        ap.error(f"unknown target {unknown[0]!r}; targets: {', '.join(fuzz_inputs.TARGETS)}")
    if args.replay is not None:
        if len(names) != 1:
            ap.error("--replay needs exactly one --target")
        return _replay(names[0], args.seed, args.replay, args.save_inputs)

    plan = _plan(names, args.cases)
    t_start = time.time()
    deadline = t_start + args.seconds if args.seconds else float("inf")
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    root = Path(tempfile.mkdtemp(prefix="tracker-fuzz-", dir=base))
    totals = {t: BatchResult(t) for t in plan}
    ctx = multiprocessing.get_context("fork")
    try:
        with ctx.Pool(
            args.jobs, _init_worker, (str(root), args.case_seconds, args.case_mib)
        ) as pool:
            for r in pool.imap_unordered(run_batch, _tasks(plan, args.seed, deadline)):
                tot = totals[r.target]
                tot.cases += r.cases
                tot.project_errors += r.project_errors
                tot.findings += r.findings
                if r.slowest_s > tot.slowest_s:
                    tot.slowest_s, tot.slowest_index = r.slowest_s, r.slowest_index
    finally:
        shutil.rmtree(root, ignore_errors=True)
    wall_s = time.time() - t_start

    print(
        f"{'target':<16}{'cases':>10}{'project errors':>16}{'non-project':>13}{'slowest case':>22}"
    )
    for t, r in totals.items():
        slow = f"{r.slowest_s:.3f} s (#{r.slowest_index})"
        print(f"{t:<16}{r.cases:>10}{r.project_errors:>16}{len(r.findings):>13}{slow:>22}")
    n_cases = sum(r.cases for r in totals.values())
    findings = [f for r in totals.values() for f in r.findings]
    print(
        f"{'total':<16}{n_cases:>10}{sum(r.project_errors for r in totals.values()):>16}"
        f"{len(findings):>13}   in {wall_s:.0f} s with {args.jobs} workers, seed {args.seed}"
    )
    if findings:
        kinds: dict[tuple[str, str, str], list[Finding]] = {}
        for f in findings:
            kinds.setdefault((f.target, f.kind, f.where), []).append(f)
        print("\nfindings by kind (target, exception, where: count, first case):")
        for (t, kind, where), fs in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
            print(f"  {t} {kind} at {where}: {len(fs)}, #{fs[0].index}: {fs[0].message[:100]}")
        listing = _write_findings(findings, args.seed, args.failures)
        print(f"\nreproducers: {listing}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
