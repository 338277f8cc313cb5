"""Speed benchmark: end-to-end export against a bare orientation pass, and live latency.

    python bench/speed.py [--minutes 60] [--rate-hz 200]

1. Simulates a dual-sensor session (default one hour at 200 Hz) and saves it as a
   native recording.
2. Times a bare VQF pass over the same samples (both sensors, batch), in this process.
3. Times `tracker export` end to end in a fresh process (start-up, loading, analysis,
   CSV), and reports the ratio to (2), the real-time factor and the child's peak memory.
4. Feeds the recording through the pipeline in 50 ms blocks, as a live session would,
   and reports the per-block processing time p50 / p99 / max.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vqf import VQF  # noqa: E402

from tracker.analysis.pipeline import Pipeline  # noqa: E402
from tracker.analysis.settings import AnalysisSettings  # noqa: E402
from tracker.app.offline import iter_blocks  # noqa: E402
from tracker.recording.load import load_recording, save_recording  # noqa: E402
from tracker.sim import SessionConfig, SetSpec, simulate_session  # noqa: E402
from tracker.units import EXERCISES  # noqa: E402


def long_session(minutes: float, rate_hz: float, seed: int) -> SessionConfig:
    # About 1.5 minutes per set with its rest.
    n_sets = max(1, round(minutes / 1.5))
    sets = tuple(SetSpec(EXERCISES[i % len(EXERCISES)], 8 + i % 5) for i in range(n_sets))
    return SessionConfig(
        seed=seed, sets=sets, rate_hz=rate_hz, setup="dual", tier="medium", rest_s=(50.0, 70.0)
    )


def bare_vqf_s(path: Path) -> float:
    rec = load_recording(path)
    t0 = time.perf_counter()
    for s in rec.sensors.values():
        period = float(np.median(np.diff(s.time_s)))
        VQF(period).updateBatch(
            np.ascontiguousarray(s.gyro_rad_s), np.ascontiguousarray(s.acc_mps2)
        )
    return time.perf_counter() - t0


#: `python -m tracker ...` that also prints its own peak memory (VmHWM, kB) on stderr at
#: exit. A child's ru_maxrss cannot be used for that: Linux carries the high-water mark
#: of the memory the child starts from (here this benchmark's, with the simulated
#: session) across fork and exec, so it reported ~1 GB whatever the export used.
PEAK_REPORTING_MAIN = """
import atexit, runpy, sys

def report_peak():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    print("peak_kb", line.split()[1], file=sys.stderr)
    except OSError:
        pass

atexit.register(report_peak)
runpy.run_module("tracker", run_name="__main__", alter_sys=True)
"""


def export_s(path: Path, out: Path) -> tuple[float, float | None]:
    """Wall time of `tracker export` in a fresh process, and its peak memory (MB; None
    where /proc is not available)."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_REPORTING_MAIN,
            "export",
            str(path),
            "-o",
            str(out),
            "--no-profile",
            "--no-history",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    peaks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("peak_kb ")]
    return wall, int(peaks[-1]) / 1024 if peaks else None


def streaming_ms(path: Path, block_ms: float) -> np.ndarray:
    rec = load_recording(path)
    pipe = Pipeline(rec.placements, AnalysisSettings())
    times = []
    for block in iter_blocks(rec, block_ms / 1000):
        t0 = time.perf_counter()
        pipe.feed(block)
        times.append(time.perf_counter() - t0)
    pipe.finish()
    return 1000 * np.asarray(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--rate-hz", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.trk"
        t0 = time.perf_counter()
        sim = simulate_session(long_session(args.minutes, args.rate_hz, args.seed))
        save_recording(sim.recording, path)
        n = sum(len(s) for s in sim.recording.sensors.values())
        dur = sim.recording.duration_s()
        print(
            f"recording: {dur / 60:.1f} min, {n} samples (2 sensors at {args.rate_hz:.0f} Hz), "
            f"{path.stat().st_size / 1e6:.0f} MB, simulated in {time.perf_counter() - t0:.1f} s"
        )
        vqf_s = bare_vqf_s(path)
        wall, peak_mb = export_s(path, Path(tmp) / "reps.csv")
        reps = sum(1 for _ in open(Path(tmp) / "reps.csv")) - 1
        print(f"bare VQF pass (both sensors): {vqf_s:.2f} s")
        memory = "unknown" if peak_mb is None else f"{peak_mb:.0f} MB"
        print(
            f"tracker export end to end: {wall:.2f} s ({reps} reps), ratio to bare VQF "
            f"{wall / vqf_s:.2f}, real-time factor {dur / wall:.0f}x, peak memory {memory}"
        )
        ms = streaming_ms(path, 50.0)
        print(
            f"streaming, 50 ms blocks: {len(ms)} feeds, per block p50 {np.percentile(ms, 50):.3f} "
            f"ms, p99 {np.percentile(ms, 99):.3f} ms, max {ms.max():.1f} ms"
        )


if __name__ == "__main__":
    main()
