"""Latency and CPU of `tracker live` at real-time pacing, with two emulated sensors.

Simulates a dual-sensor kettlebell-swing session (about a minute), streams it through
two emulated sensors (bumble virtual link, our firmware profile, real GATT
notifications) into `tracker.app.live.run_live` at real time (``--speed 1``), and
measures on the session clock:

* notification arrival -> rep event: from the arrival of the notification carrying the
  sample at which the pipeline decided the rep (the later of the two sensors) to the
  event; this is processing delay, on top of the algorithm's own wait for the rep to
  settle (also printed: rep end -> decision, in data seconds);
* notification arrival -> flag cue: from the arrival of the notification carrying the
  crossing sample to the cue (cue mode ``now``);
* CPU per sensor: process CPU time over the session / wall time / sensors. The emulated
  peripherals and the virtual controller run in the same process, so this overstates
  the host's share; the analysis and recording alone are timed separately by feeding
  the recorded session through a pipeline and a writer in 100 ms blocks.

    python bench/live.py [--speed 1] [--seed 11]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import tempfile
import time
from pathlib import Path

import numpy as np

from tracker.analysis.events import Event, RepCompleted
from tracker.analysis.pipeline import Pipeline
from tracker.analysis.settings import AnalysisSettings
from tracker.app.live import LiveConfig, LiveSink, run_live
from tracker.app.offline import iter_blocks
from tracker.live.cues import Cue, CuePolicy
from tracker.recording.load import load_recording, save_recording
from tracker.recording.model import SessionNotes
from tracker.recording.native import RecordingWriter
from tracker.samples import SensorSamples
from tracker.sim import SessionConfig, SetSpec, simulate_session


def session_config(seed: int) -> SessionConfig:
    return SessionConfig(
        seed=seed,
        sets=(
            SetSpec("kettlebell_swing", 12, {"flexion": (3, 6, 9)}),
            SetSpec("kettlebell_swing", 12, {"flexion": (4, 8), "overextension": (11,)}),
        ),
        rate_hz=104.0,
        rest_s=(12.0, 12.0),
        rest_activities=("stand",),
        end_standing_s=3.0,
    )


class LatencySink(LiveSink):
    """Keeps, per sensor, when the notification carrying each block's newest sample
    arrived, and when each rep event and cue came out."""

    def __init__(self) -> None:
        self.block_end_s: dict[str, list[float]] = {}
        self.block_arrival_s: dict[str, list[float]] = {}
        self.block_delay_s: list[float] = []
        self.reps: list[tuple[RepCompleted, float]] = []
        self.cues: list[tuple[Cue, float]] = []

    def samples(self, block: SensorSamples, arrival_s: float, at_s: float) -> None:
        self.block_end_s.setdefault(block.placement, []).append(float(block.time_s[-1]))
        self.block_arrival_s.setdefault(block.placement, []).append(arrival_s)
        self.block_delay_s.append(at_s - arrival_s)

    def event(self, event: Event, at_s: float) -> None:
        if isinstance(event, RepCompleted):
            self.reps.append((event, at_s))

    def cue(self, cue: Cue, at_s: float) -> None:
        self.cues.append((cue, at_s))

    def arrival_of(self, time_s: float) -> float:
        """When the data up to ``time_s`` had arrived from every sensor."""
        latest = 0.0
        for p, ends in self.block_end_s.items():
            k = min(bisect.bisect_left(ends, time_s), len(ends) - 1)
            latest = max(latest, self.block_arrival_s[p][k])
        return latest


def percentiles_ms(values: list[float]) -> str:
    if not values:
        return "n/a (none)"
    v = np.asarray(values) * 1000.0
    return (
        f"p50 {np.percentile(v, 50):6.1f} ms  p99 {np.percentile(v, 99):6.1f} ms  "
        f"min {v.min():6.1f} ms  max {v.max():6.1f} ms  (n={len(v)})"
    )


def offline_cpu_per_sensor(path: Path, out_dir: Path) -> float:
    """CPU seconds per second of data per sensor for the pipeline + recording writer."""
    recording = load_recording(path)
    blocks = list(iter_blocks(recording, 0.1))
    pipe = Pipeline(recording.placements, AnalysisSettings())
    cpu0 = time.process_time()
    with RecordingWriter(
        out_dir / "offline.trk", devices=recording.devices, notes=SessionNotes()
    ) as writer:
        for block in blocks:
            writer.write_samples(block)
            pipe.feed(block)
        pipe.finish()
    cpu_s = time.process_time() - cpu0
    return cpu_s / recording.duration_s() / len(recording.placements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=1.0, help="pacing (1 = real time)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        source = tmp_dir / "source.trk"
        sim = simulate_session(session_config(args.seed))
        save_recording(sim.recording, source)
        duration_s = sim.recording.duration_s()
        print(f"session: {duration_s:.1f} s of data, 2 sensors at 104 Hz, speed x{args.speed:g}")
        sink = LatencySink()
        config = LiveConfig(
            devices={"lumbar": f"emulator:{source}", "sacrum": f"emulator:{source}"},
            output_path=tmp_dir / "live.trk",
            settings=AnalysisSettings(),
            speed=args.speed,
            cue_policy=CuePolicy("now", max_per_set=None, min_interval_s=0.0),
        )
        wall0, cpu0 = time.monotonic(), time.process_time()
        result = asyncio.run(run_live(config, sink))
        wall_s, cpu_s = time.monotonic() - wall0, time.process_time() - cpu0
        assert result.result is not None, result.analysis_error
        rep_latency = [at_s - sink.arrival_of(e.time_s) for e, at_s in sink.reps]
        rep_wait = [e.time_s - e.metrics.end_s for e, _ in sink.reps]
        cue_latency = [at_s - sink.arrival_of(c.time_s) for c, at_s in sink.cues]
        n_sensors = len(result.stats)
        print(f"reps: {len(result.result.reps)}, cues: {len(sink.cues)}, wall {wall_s:.1f} s")
        print(f"arrival -> block analysed:  {percentiles_ms(sink.block_delay_s)}")
        print(f"arrival -> rep event:       {percentiles_ms(rep_latency)}")
        print(f"arrival -> flag cue:        {percentiles_ms(cue_latency)}")
        print(f"rep end -> rep decided (algorithm, data time): {percentiles_ms(rep_wait)}")
        print(
            f"CPU per sensor, whole process (BLE stack + emulated peripherals + analysis): "
            f"{100 * cpu_s / wall_s / n_sensors:.1f}% of one core"
        )
        offline = offline_cpu_per_sensor(tmp_dir / "live.trk", tmp_dir)
        print(
            f"CPU per sensor, analysis + recording only: {100 * offline * args.speed:.2f}% "
            "of one core"
        )


if __name__ == "__main__":
    main()
