"""Latency of `tracker live` from a phone: Sensor Logger's push and phyphox's remote access
through the emulated phones.

Simulates a kettlebell-swing set (both placements; three reps rounded), has the
emulated phone (`tracker.devices.phone_emulator`) POST the lumbar sensor's samples over
127.0.0.1 at real time, one message per
batch period (the app's setting), into `tracker.app.live.run_live`, and measures on the
event loop's clock, from the moment the phone measured a sample (its recording time
after the phone's start):

* sample -> pipeline: when the block holding it was handed to the analysis; the batch
  period is most of it (a sample waits for its batch to fill);
* rep end -> rep event: from the rep's last sample to the rep's event, which adds the
  pipeline's own wait for the rep to settle.

phyphox is polled instead (`tracker.devices.phyphox_source`): a sample waits for the
next poll, one `POLL_INTERVAL_S` (40 ms) after the last answer, plus the request; the
emulated phyphox answers over loopback, so a phone's Wi-Fi round trip (typically 5-30
ms, more in power save) comes on top.

A single phone measures no lumbar flexion (one sensor), so there are no flexion cues.
The mixed runs (``--mixed-batch``) put the phone over the sacrum next to an emulated BLE
sensor at T12-L1 (`tracker.devices.mixed_session`), both playing a dual recording of
swings with rounded reps on one playback clock, and add:

* crossing -> cue: from the moment the lumbar angle crossed the limit (the cue's
  sample, measured by both sensors at once: the simulated sensors start together) to
  the cue; the lumbar angle needs both streams, so the phone's batch period bounds it.

    python bench/phone_live.py [--batch 1.0 0.2] [--poll 0.04 0.1] [--mixed-batch 0.2]
                               [--seed 11]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import numpy as np

from tracker.analysis.events import Event, RepCompleted
from tracker.analysis.settings import AnalysisSettings
from tracker.app.live import LiveConfig, LiveSink, run_live
from tracker.devices.phyphox_source import POLL_INTERVAL_S
from tracker.live.cues import Cue
from tracker.recording.load import save_recording
from tracker.samples import SensorSamples
from tracker.sim import SessionConfig, SetSpec, simulate_session


class LatencySink(LiveSink):
    """Delays on the event loop's clock. ``t0_s``: each placement's first sample time
    (the sensors' clocks differ; each emulated stream begins at its first sample when
    playback starts); rep and cue times are on the first placement's timeline."""

    def __init__(self, t0_s: dict[str, float]) -> None:
        self.block_delays_s: list[float] = []
        self.rep_delays_s: list[float] = []
        self.cue_delays_s: list[float] = []
        self.phone_start_s: float | None = None
        self.t0_s = t0_s
        self.reference = next(iter(t0_s))

    def _measured_at(self, sample_s: float, placement: str | None = None) -> float:
        assert self.phone_start_s is not None
        return self.phone_start_s + (sample_s - self.t0_s[placement or self.reference])

    def samples(self, block: SensorSamples, arrival_s: float, at_s: float) -> None:
        now = asyncio.get_running_loop().time()
        p = block.placement
        self.block_delays_s += [now - self._measured_at(float(t), p) for t in block.time_s]

    def event(self, event: Event, at_s: float) -> None:
        if isinstance(event, RepCompleted):
            now = asyncio.get_running_loop().time()
            self.rep_delays_s.append(now - self._measured_at(event.metrics.end_s))

    def cue(self, cue: Cue, at_s: float) -> None:
        now = asyncio.get_running_loop().time()
        self.cue_delays_s.append(now - self._measured_at(cue.time_s))


def percentiles_ms(values: list[float]) -> str:
    v = np.asarray(values) * 1000.0
    return (
        f"p50 {np.percentile(v, 50):7.1f} ms  p99 {np.percentile(v, 99):7.1f} ms  "
        f"max {v.max():7.1f} ms  (n={len(v)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=float, nargs="+", default=[1.0, 0.2])
    parser.add_argument("--poll", type=float, nargs="+", default=[POLL_INTERVAL_S])
    parser.add_argument("--mixed-batch", type=float, nargs="*", default=[0.2])
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    config = SessionConfig(
        seed=args.seed,
        sets=(SetSpec("kettlebell_swing", 10, {"flexion": (3, 6, 9)}),),
        rate_hz=100.0,
        rest_s=(4.0, 4.0),
        end_standing_s=3.0,
    )
    recording = simulate_session(config).recording
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.trk"
        save_recording(recording, source)
        t0 = {p: float(s.time_s[0]) for p, s in recording.sensors.items()}
        runs = [
            (
                f"batch period {b:g} s",
                {"lumbar": f"emulator:sensorlogger:{source}"},
                {"batch_s": b},
                {},
            )
            for b in args.batch
        ]
        runs += [
            (
                f"phyphox, poll every {p * 1000:g} ms",
                {"lumbar": f"emulator:phyphox:{source}"},
                {},
                {"poll_interval_s": p},
            )
            for p in args.poll
        ]
        runs += [
            (
                f"phone at the sacrum (batch period {b:g} s) + BLE sensor at T12-L1",
                {"lumbar": f"emulator:{source}", "sacrum": f"emulator:sensorlogger:{source}"},
                {"batch_s": b},
                {},
            )
            for b in args.mixed_batch
        ]
        for i, (label, devices, emulator, options) in enumerate(runs):
            sink = LatencySink({p: t0[p] for p in devices})

            def started(at_s: float, sink: LatencySink = sink) -> None:
                sink.phone_start_s = at_s

            live = LiveConfig(
                devices,
                Path(tmp) / f"phone-{i}.trk",
                AnalysisSettings(),
                phone_options={"emulator_options": {**emulator, "on_start": started}, **options},
            )
            result = asyncio.run(run_live(live, sink))
            reps = len(result.result.reps) if result.result else 0
            print(f"{label}, {reps} reps, {len(sink.cue_delays_s)} cues")
            print(f"  sample -> pipeline:     {percentiles_ms(sink.block_delays_s)}")
            print(f"  rep end -> rep event:   {percentiles_ms(sink.rep_delays_s)}")
            if sink.cue_delays_s:
                print(f"  crossing -> cue:        {percentiles_ms(sink.cue_delays_s)}")


if __name__ == "__main__":
    main()
