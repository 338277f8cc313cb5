"""Speed of the recording formats on a one-hour dual-sensor 200 Hz session.

Simulates a session (`tracker.sim`, as bench/speed.py), streams it through
`RecordingWriter` as a live session would (blocks of 10 samples, each with its raw BLE
payload), converts it to samples CSV, and times writing and reading both formats. Then,
in the same run and on the same file:

- the samples CSV read (`read_samples_csv`, with all its checks) against pandas parsing
  the file (`pandas.read_csv`, defaults), interleaved, best of ``--repeats``; the ratio;
- `tracker export` of the samples CSV end to end (a fresh process) against pandas
  parsing it plus one VQF pass per sensor; the ratio.

pandas is only the yardstick here (``pip install '.[bench]'``); without it the ratios are
skipped. Takes a few minutes, most of it simulating the session.

    python bench/formats.py [--minutes 60] [--rate-hz 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
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

from speed import long_session  # noqa: E402
from vqf import VQF  # noqa: E402

from tracker.recording.load import load_recording  # noqa: E402
from tracker.recording.model import DeviceInfo, SessionNotes  # noqa: E402
from tracker.recording.native import RecordingWriter, iter_packets, read_native  # noqa: E402
from tracker.recording.samples_csv import read_samples_csv, write_samples_csv  # noqa: E402
from tracker.sim import simulate_session  # noqa: E402

SAMPLES_PER_PACKET = 10
PAYLOAD_BYTES = 6 + SAMPLES_PER_PACKET * 12  # counter + timestamp, then int16 acc+gyro


def show(label: str, value: float, unit: str = "s") -> None:
    print(f"{label:<50} {value:7.2f} {unit}".rstrip())


def timed(label: str, fn: Callable[..., object], *args: object) -> object:
    start = time.perf_counter()
    result = fn(*args)
    show(label, time.perf_counter() - start)
    return result


def best_of(repeats: int, fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best wall time of each function over ``repeats`` interleaved rounds: the machine's
    load then weighs on all of them alike, and the best round is the least disturbed."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


EXPORT_FLAGS = ("--no-profile", "--no-history")


def export_s(path: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tracker", "export", str(path), "-o", str(out), *EXPORT_FLAGS],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return time.perf_counter() - start


def pandas_and_vqf(pd: object, path: Path) -> None:
    """The yardstick for export: parse the file, one VQF pass per sensor."""
    table = pd.read_csv(path)  # type: ignore[attr-defined]
    for _, rows in table.groupby("sensor", sort=False):
        t = rows["time_s"].to_numpy()
        acc = np.ascontiguousarray(rows[["acc_x", "acc_y", "acc_z"]].to_numpy())
        gyro = np.ascontiguousarray(rows[["gyro_x", "gyro_y", "gyro_z"]].to_numpy())
        VQF(float(np.median(np.diff(t)))).updateBatch(gyro, acc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate-hz", type=float, default=200.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
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
        try:
            import pandas as pd
        except ImportError:
            pd = None
        fns: dict[str, Callable[[], object]] = {"read": lambda: read_samples_csv(csv)}
        if pd is not None:
            fns["pandas"] = lambda: pd.read_csv(csv)
        best = best_of(args.repeats, fns)
        rounds = f"(best of {args.repeats})"
        show(f"samples CSV: read_samples_csv {rounds}", best["read"])
        if pd is None:
            print("pandas is not installed: no ratios (pip install pandas)")
            return
        show(f"samples CSV: pandas.read_csv {rounds}", best["pandas"])
        show("samples CSV: read / pandas (target <= 1.2)", best["read"] / best["pandas"], "")
        out = Path(tmp) / "reps.csv"
        exports = best_of(
            max(1, args.repeats // 2),
            {"export": lambda: export_s(csv, out), "yardstick": lambda: pandas_and_vqf(pd, csv)},
        )
        show("tracker export of the samples CSV", exports["export"])
        show("pandas read + one VQF pass per sensor", exports["yardstick"])
        show(
            "export / (pandas + VQF) (target <= 1.5)",
            exports["export"] / exports["yardstick"],
            "",
        )


if __name__ == "__main__":
    main()
