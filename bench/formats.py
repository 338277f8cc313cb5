"""Speed of the recording formats on a one-hour dual-sensor 200 Hz session.

Streams a synthetic session through `RecordingWriter` as a live session would (blocks of
10 samples, each with its raw BLE payload), then converts it to samples CSV, and times
writing and reading both formats. Prints the figures; takes about half a minute.

    python bench/formats.py [--minutes 60] [--rate-hz 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from tracker.recording.load import load_recording
from tracker.recording.model import DeviceInfo, SessionNotes
from tracker.recording.native import RecordingWriter, iter_packets, read_native
from tracker.recording.samples_csv import read_samples_csv, write_samples_csv
from tracker.samples import SensorSamples

SAMPLES_PER_PACKET = 10
PAYLOAD_BYTES = 6 + SAMPLES_PER_PACKET * 12  # counter + timestamp, then int16 acc+gyro


def session(minutes: float, rate_hz: float) -> dict[str, SensorSamples]:
    rng = np.random.default_rng(0)
    n = int(minutes * 60 * rate_hz)
    out = {}
    for k, p in enumerate(("lumbar", "sacrum")):
        t = np.arange(n) / rate_hz + 0.013 * k
        phase = 2 * np.pi * t / 1.4
        acc = np.column_stack([3 * np.sin(phase), 0.3 * np.cos(phase), 9.81 + np.cos(phase)])
        gyro = np.column_stack([0.1 * np.cos(phase), 4 * np.sin(phase), 0.1 * np.sin(phase)])
        acc += rng.normal(0, 0.05, acc.shape)
        gyro += rng.normal(0, 0.01, gyro.shape)
        out[p] = SensorSamples(p, t, acc, gyro)
    return out


def timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    print(f"{label:<46} {time.perf_counter() - start:7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate-hz", type=float, required=False, default=200.0)
    args = parser.parse_args()
    sensors = session(args.minutes, args.rate_hz)
    n = len(sensors["lumbar"])
    print(f"{args.minutes:g} min, 2 sensors at {args.rate_hz:g} Hz: {2 * n} samples")
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
        print(f"{'native: file size':<46} {trk.stat().st_size / 1e6:7.1f} MB")
        rec = timed("native: read_native", read_native, trk)
        assert all(rec.sensors[p].equals(sensors[p]) for p in sensors)
        timed("native: load_recording", load_recording, trk)
        count = timed(
            "native: iter_packets (all raw payloads)", lambda: sum(1 for _ in iter_packets(trk))
        )
        print(f"{'native: raw packets':<46} {count:7d}")
        timed("samples CSV: write_samples_csv", write_samples_csv, rec, csv)
        print(f"{'samples CSV: file size':<46} {csv.stat().st_size / 1e6:7.1f} MB")
        timed("samples CSV: read_samples_csv", read_samples_csv, csv)


if __name__ == "__main__":
    main()
