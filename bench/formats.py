"""Speed of the recording formats on a one-hour dual-sensor 200 Hz session.

Simulates a session (`tracker.sim`, as bench/speed.py), streams it through
`RecordingWriter` as a live session would (blocks of 10 samples, each with its raw BLE
payload), converts it to samples CSV, and times writing and reading both formats. Then,
in the same run and on the same file:

- the samples CSV read (`read_samples_csv`, with all its checks) against pandas parsing
  the file (`pandas.read_csv`, defaults); the ratio;
- `tracker export` of the samples CSV end to end (a fresh process: start-up, imports,
  reading, analysis, the per-rep CSV; from compiled bytecode, as installed: `export_env`)
  against pandas parsing it plus one VQF pass per sensor (`pandas_and_vqf`); the ratio;
  and against the same yardstick run as a fresh program (start-up and imports counted on
  both sides, as a user meets them).

Each contender runs in a process of its own (the read, pandas and the yardstick in
worker processes that have imported what they need; the export fresh each time), in
interleaved rounds, best of ``--repeats``. Both wall time and CPU time (user + system,
all threads) are reported, and both ratios: of the best times, and the median of each
round's own ratio. The targets (read <= 1.2x pandas, export
<= 1.5x pandas + VQF) are about the time a user waits, so they are judged on wall time
on a quiet machine. On a machine shared with other jobs wall time measures the load as
much as the code; CPU time is then the honest proxy (both parsers run threads, and CPU
time counts what every thread spent). Separate processes keep one library's idle
worker threads from being charged to the other; each measurement ends after a short
sleep (`SETTLE_S`), so the CPU a library's threads spend winding down counts to it.

pandas is only the yardstick here (``pip install '.[bench]'``); without it the ratios are
skipped. Takes a few minutes, most of it simulating the session.

    python bench/formats.py [--minutes 60] [--rate-hz 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SAMPLES_PER_PACKET = 10
PAYLOAD_BYTES = 6 + SAMPLES_PER_PACKET * 12  # counter + timestamp, then int16 acc+gyro
#: Idle time at the end of each measurement in a worker (s): the CPU that a library's
#: worker threads spend after the call has returned (spinning before they sleep, freeing
#: memory) is counted to that library, not to the next contender.
SETTLE_S = 0.05

Measured = tuple[float, float]  # (wall s, CPU s)


def show(label: str, value: float, unit: str = "s") -> None:
    print(f"{label:<50} {value:7.2f} {unit}".rstrip())


def show_both(label: str, times: Measured, unit: str = "s") -> None:
    wall, cpu = times
    print(f"{label:<50} {wall:7.2f} {unit:<2} wall {cpu:7.2f} {unit:<2} CPU".rstrip())


def timed(label: str, fn: Callable[..., object], *args: object) -> object:
    start = time.perf_counter()
    result = fn(*args)
    show(label, time.perf_counter() - start)
    return result


def rounds(repeats: int, fns: dict[str, Callable[[], Measured]]) -> dict[str, np.ndarray]:
    """(wall, CPU) of each function in each of ``repeats`` interleaved rounds (one row
    per round): the machine's load then weighs on all of them alike."""
    times: dict[str, list[Measured]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(fn())
    return {name: np.array(t) for name, t in times.items()}


def best(times: np.ndarray) -> Measured:
    """The best wall and the best CPU time: the least disturbed rounds."""
    return float(times[:, 0].min()), float(times[:, 1].min())


def show_ratio(label: str, times: np.ndarray, yardstick: np.ndarray) -> None:
    """The ratio of the best times, and the median of each round's own ratio (a round's
    two runs follow each other, so a load that comes and goes weighs on both)."""
    (wall, cpu), (wall_y, cpu_y) = best(times), best(yardstick)
    show_both(label, (wall / wall_y, cpu / cpu_y), "")
    per_round = np.median(times / yardstick, axis=0)
    show_both("  (median of the rounds' own ratios)", (per_round[0], per_round[1]), "")


def pandas_and_vqf(pd: object, path: Path) -> None:
    """The yardstick for export: parse the file, one VQF pass per sensor."""
    from vqf import VQF

    table = pd.read_csv(path)  # type: ignore[attr-defined]
    for _, rows in table.groupby("sensor", sort=False):
        t = rows["time_s"].to_numpy()
        acc = np.ascontiguousarray(rows[["acc_x", "acc_y", "acc_z"]].to_numpy())
        gyro = np.ascontiguousarray(rows[["gyro_x", "gyro_y", "gyro_z"]].to_numpy())
        VQF(float(np.median(np.diff(t)))).updateBatch(gyro, acc)


def contender(kind: str, path: Path) -> Callable[[], object]:
    """What a worker runs, importing only its own library (pandas never shares a
    process with the samples CSV parser's threads)."""
    if kind == "read":
        from tracker.recording.samples_csv import read_samples_csv

        return lambda: read_samples_csv(path)
    import pandas as pd

    if kind == "pandas":
        return lambda: pd.read_csv(path)
    return lambda: pandas_and_vqf(pd, path)


def worker(kind: str, path: Path) -> None:
    """Run the contender once per line on stdin; answer each with its wall and CPU time."""
    run = contender(kind, path)
    for _ in sys.stdin:
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall = time.perf_counter() - start_wall
        time.sleep(SETTLE_S)
        print(wall, time.process_time() - start_cpu, flush=True)


class Worker:
    """A process of this script in ``--worker`` mode, measuring one contender on request."""

    def __init__(self, kind: str, path: Path) -> None:
        self.kind = kind
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def __call__(self) -> Measured:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().split()
        if len(answer) != 2:
            raise RuntimeError(f"the {self.kind} worker failed (exit {self.proc.wait()})")
        return float(answer[0]), float(answer[1])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


EXPORT_FLAGS = ("--no-profile", "--no-history")


def export_env(cache: Path) -> dict[str, str]:
    """The environment of the exports: Python's bytecode cache on, kept in ``cache``. An
    installed tool runs from compiled bytecode (pip compiles it on install); where the
    environment turns the cache off (PYTHONDONTWRITEBYTECODE), every export would first
    compile the whole package from source, which no user's export does."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def export_times(path: Path, out: Path, env: dict[str, str]) -> Measured:
    """`tracker export` in a fresh process: wall time, and the child's CPU time."""
    argv = ["-m", "tracker", "export", str(path), "-o", str(out), *EXPORT_FLAGS]
    return fresh_times(argv, env)


def yardstick_program_times(path: Path, env: dict[str, str]) -> Measured:
    """The yardstick as a program of its own (this script in ``--yardstick-program``
    mode): start-up and the imports of pandas and VQF count, as they do for the export."""
    return fresh_times([__file__, "--yardstick-program", str(path)], env)


def fresh_times(argv: list[str], env: dict[str, str]) -> Measured:
    """Python running ``argv`` in a fresh process: wall time, and the child's CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *argv],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate-hz", type=float, default=200.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "CSV"), help=argparse.SUPPRESS)
    parser.add_argument("--yardstick-program", metavar="CSV", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.yardstick_program is not None:
        import pandas as pd

        pandas_and_vqf(pd, Path(args.yardstick_program))
        return
    if args.worker is not None:
        worker(args.worker[0], Path(args.worker[1]))
        return

    from speed import long_session

    from tracker.recording.load import load_recording
    from tracker.recording.model import DeviceInfo, SessionNotes
    from tracker.recording.native import RecordingWriter, iter_packets, read_native
    from tracker.recording.samples_csv import write_samples_csv
    from tracker.sim import simulate_session

    sim = timed(
        "simulate the session",
        simulate_session,
        long_session(args.minutes, args.rate_hz, args.seed),
    )
    sensors = sim.recording.sensors  # type: ignore[attr-defined]
    n = min(len(s) for s in sensors.values())
    total = sum(len(s) for s in sensors.values())
    print(f"{args.minutes:g} min, 2 sensors at {args.rate_hz:g} Hz: {total} samples")
    with tempfile.TemporaryDirectory() as tmp:
        trk, csv = Path(tmp) / "s.trk", Path(tmp) / "s.csv"
        payload = bytes(PAYLOAD_BYTES)

        def stream() -> None:
            with RecordingWriter(
                trk, devices={p: DeviceInfo(model="bench") for p in sensors}, notes=SessionNotes()
            ) as w:
                for i in range(0, n, SAMPLES_PER_PACKET):
                    for p, s in sensors.items():
                        block = s.slice(i, i + SAMPLES_PER_PACKET)
                        w.write_packet(p, "tracker_imu", float(block.time_s[0]), None, payload)
                        w.write_samples(block)

        timed("native: stream-write (samples + raw packets)", stream)
        print(f"{'native: file size':<50} {trk.stat().st_size / 1e6:7.1f} MB")
        rec = timed("native: read_native", read_native, trk)
        timed("native: load_recording", load_recording, trk)
        count = timed(
            "native: iter_packets (all raw payloads)", lambda: sum(1 for _ in iter_packets(trk))
        )
        print(f"{'native: raw packets':<50} {count:7d}")
        timed("samples CSV: write_samples_csv", write_samples_csv, sim.recording, csv)  # type: ignore[attr-defined]
        print(f"{'samples CSV: file size':<50} {csv.stat().st_size / 1e6:7.1f} MB")
        del rec
        has_pandas = importlib.util.find_spec("pandas") is not None
        kinds = ["read", "pandas", "yardstick"] if has_pandas else ["read"]
        workers = {kind: Worker(kind, csv) for kind in kinds}
        try:
            of = f"(best of {args.repeats})"
            reads = rounds(args.repeats, {k: workers[k] for k in kinds if k != "yardstick"})
            show_both(f"samples CSV: read_samples_csv {of}", best(reads["read"]))
            if not has_pandas:
                print("pandas is not installed: no ratios (pip install pandas)")
                return
            show_both(f"samples CSV: pandas.read_csv {of}", best(reads["pandas"]))
            show_ratio("samples CSV: read / pandas (target <= 1.2)", reads["read"], reads["pandas"])
            out = Path(tmp) / "reps.csv"
            env = export_env(Path(tmp) / "pycache")
            export_times(csv, out, env)  # (not timed: fills the bytecode cache)
            exports = rounds(
                max(1, args.repeats // 2),
                {
                    "export": lambda: export_times(csv, out, env),
                    "yardstick": workers["yardstick"],
                    "program": lambda: yardstick_program_times(csv, env),
                },
            )
        finally:
            for w in workers.values():
                w.close()
        of = f"(best of {max(1, args.repeats // 2)})"
        show_both(f"tracker export of the samples CSV {of}", best(exports["export"]))
        show_both(f"pandas read + one VQF pass per sensor {of}", best(exports["yardstick"]))
        show_ratio(
            "export / (pandas + VQF) (target <= 1.5)", exports["export"], exports["yardstick"]
        )
        # The same work as a program a user would run: both sides then pay start-up and
        # their imports (pandas and VQF; polars, numpy, scipy and VQF for the export).
        show_both(f"pandas read + VQF as a fresh program {of}", best(exports["program"]))
        show_ratio("export / (pandas + VQF as a program)", exports["export"], exports["program"])


if __name__ == "__main__":
    main()
