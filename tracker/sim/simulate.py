"""`simulate_session(config) -> SimResult`: from a configuration to samples and truth.

Steps: draw the lifter (`body`) and lay the session out (`scenario`); then, chunk by chunk
at the internal rate, render every channel, run the body model and feed each sensor's
pipeline (`pipeline`: wobble, ideal specific force R^T (a - g) and angular velocity in the
sensor frame, anti-aliasing, sampling on the sensor's own clock); finally digitise (bias,
drift, noise, int16) and drop lost packets. Frames and units: docs/frames.md. Truth
format: docs/truth-format.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation

from tracker.recording.model import UNKNOWN_CREATED_UTC, DeviceInfo, Gap, Recording, SessionNotes
from tracker.samples import SensorSamples
from tracker.sim import rotations as rot
from tracker.sim.body import BodyParams, kinematics, random_body, walked_position
from tracker.sim.config import SessionConfig
from tracker.sim.daily import Pouch, pouch
from tracker.sim.pipeline import MARGIN, SensorPipe
from tracker.sim.scenario import build_plan
from tracker.sim.sensor import SensorErrors, digitise, random_errors
from tracker.sim.streams import stream
from tracker.sim.tiers import TIER_RANGES, Imperfections, TierRanges
from tracker.sim.timing import ClockParams, packet_loss_mask, sample_instants
from tracker.sim.tissue import TissueFilter, TissueParams, random_tissue
from tracker.sim.tracks import Timeline, sway_spline
from tracker.sim.truth import Truth, event_truth, rep_truth, sets_truth
from tracker.units import DEG_PER_RAD, LUMBAR, RAD_PER_DEG

#: Creation time written into simulated recordings: the placeholder of an unknown date.
SIM_CREATED_UTC = UNKNOWN_CREATED_UTC
#: Length of the chunks rendered at once (bounds memory on long sessions).
CHUNK_S = 20.0
#: Smoothing of the knot trajectories (three moving averages of this width).
SMOOTH_S = 0.03


@dataclass
class SensorTruthSignals:
    """Noise-free signals of one sensor at the samples that reached the recording.

    ``time_s`` are the reported timestamps (as in the recording), ``timeline_s`` the true
    sample instants on the recording timeline. ``rotation`` maps sensor-frame vectors to
    the world frame (segment rotation times mounting, no wobble); ``inclination_deg`` is the
    segment's sagittal inclination (docs/frames.md); ``acc_mps2`` / ``gyro_rad_s`` are the
    ideal sensor-frame signals (with wobble when enabled, without any sensor error).
    """

    placement: str
    time_s: np.ndarray
    timeline_s: np.ndarray
    inclination_deg: np.ndarray
    rotation: np.ndarray  # (n, 3, 3) sensor -> world
    acc_mps2: np.ndarray
    gyro_rad_s: np.ndarray
    mounting: np.ndarray  # R_mount, body -> sensor


@dataclass
class SimResult:
    recording: Recording
    truth: Truth
    signals: dict[str, SensorTruthSignals]
    #: internal-rate times on the timeline, and pelvis tilt ``theta_p`` and lumbar flexion
    #: ``lam`` (radians) there: the true trajectories the truth's rep metrics come from
    grid_timeline_s: np.ndarray
    channels: dict[str, np.ndarray]


def _random_mounting(rng: np.random.Generator, tr: TierRanges) -> np.ndarray:
    """Body -> sensor rotation: any of the 24 axis-aligned ways plus a tilt, or uniform."""
    if tr.mount_tilt_deg is None:
        return Rotation.random(random_state=rng).as_matrix()
    axes = Rotation.create_group("O")
    base = axes[int(rng.integers(len(axes)))]
    v = rng.standard_normal(3)
    tilt = Rotation.from_rotvec(
        v / np.linalg.norm(v) * rng.uniform(0, tr.mount_tilt_deg) * RAD_PER_DEG
    )
    return (tilt * base).as_matrix()


def _sway(config: SessionConfig, end_s: float) -> dict[str, CubicSpline]:
    """Postural sway per channel (small, slow), as functions of time."""
    if not config.imperfections.sway:
        return {}
    rng = stream(config.seed, "sway")
    r = RAD_PER_DEG
    sds = {"theta_p": 0.25 * r, "lam": 0.2 * r, "roll_p": 0.4 * r, "yaw_p": 0.8 * r,
           "roll_l": 0.3 * r, "twist_l": 0.3 * r, "hx": 0.003, "hy": 0.003}  # fmt: skip
    return {name: sway_spline(rng, end_s + 2.0, 0.8, sd) for name, sd in sds.items()}


def _render(
    config: SessionConfig, tl: Timeline, sway: dict[str, CubicSpline], t_s: np.ndarray
) -> dict[str, np.ndarray]:
    """Every channel at the uniform times ``t_s`` (a chunk plus its margins)."""
    ch = tl.render(t_s, SMOOTH_S)
    for name, f in sway.items():
        ch[name] = ch[name] + f(t_s)
    if not config.imperfections.out_of_plane:
        for name in ("hy", "roll_p", "yaw_p", "roll_l", "twist_l", "heading"):
            ch[name] = np.zeros_like(t_s)
    return ch


def _clock(config: SessionConfig, placement: str, tr: TierRanges, start_s: float) -> ClockParams:
    imp = config.imperfections
    rng = stream(config.seed, "clock", placement)
    timeline = placement == (LUMBAR if LUMBAR in config.placements else config.placements[0])
    offset = rng.uniform(-tr.clock_offset_s, tr.clock_offset_s)
    drift = rng.uniform(-tr.clock_drift_ppm, tr.clock_drift_ppm)
    rate_err = rng.uniform(-tr.rate_error, tr.rate_error)
    # A late start never eats more than 30% of the standing phase the recording opens with.
    first = rng.uniform(0.0, min(tr.start_delay_s, 0.3 * config.standing_s))
    spp_time = rng.uniform(0.015, 0.045)
    rate = config.rate_of(placement)
    return ClockParams(
        start_s=start_s,
        offset_s=0.0 if timeline or not imp.clock_offset else offset,
        drift_ppm=0.0 if timeline or not imp.clock_drift else drift,
        rate_hz=rate,
        rate_error=rate_err if imp.rate_error else 0.0,
        first_sample_s=first,
        jitter_s=tr.jitter_s if imp.jitter else 0.0,
        samples_per_packet=max(1, round(spp_time * rate)),
        loss_rate=tr.loss_rate if imp.packet_loss else 0.0,
        burst_packets=tr.burst_packets,
    )


def _dropouts(
    rng: np.random.Generator, tr: TierRanges, imp: Imperfections, end_s: float
) -> list[tuple[float, float]]:
    """At most one disconnect per sensor: (start, end) in simulation time."""
    u, start_u, length = rng.random(), rng.random(), rng.uniform(*tr.dropout_s)
    if not imp.dropouts or u >= tr.dropout_prob or end_s < 30.0:
        return []
    start = 10.0 + start_u * (end_s - 20.0 - length)
    return [(start, start + length)]


def _mounting(config: SessionConfig, p: str, tr: TierRanges) -> np.ndarray:
    if config.mounting is not None and p in config.mounting:
        return np.asarray(config.mounting[p], dtype=float)
    if config.imperfections.mounting:
        return _random_mounting(stream(config.seed, "mount", p), tr)
    return np.eye(3)


def simulate_session(config: SessionConfig) -> SimResult:
    """Simulate a session; deterministic in ``config`` (same config -> same arrays)."""
    config.validate()
    imp: Imperfections = config.imperfections
    tr = TIER_RANGES[config.tier]
    body: BodyParams = random_body(stream(config.seed, "body"))
    tl = Timeline()
    plan = build_plan(config, tl)
    end_s = tl.now_s
    dt = 1.0 / config.internal_rate_hz
    n = int(np.floor(end_s / dt)) + 1
    clock_start = (
        stream(config.seed, "clock").uniform(*tr.clock_start_s) if imp.clock_start else 0.0
    )
    sway = _sway(config, end_s)

    pipes: dict[str, SensorPipe] = {}
    clocks: dict[str, ClockParams] = {}
    errors: dict[str, SensorErrors] = {}
    tissues: dict[str, TissueParams] = {}
    stamps: dict[str, np.ndarray] = {}
    pouches: dict[str, Pouch] = {}
    for p in config.placements:
        tissue_rng = stream(config.seed, "tissue", p)
        tissues[p] = random_tissue(tissue_rng, p, tissue_rng.uniform(*tr.wobble_gain))
        if config.loose_mounting:
            pouches[p] = pouch(tissue_rng)
            tissues[p] = pouches[p].tissue
        clocks[p] = _clock(config, p, tr, clock_start)
        errors[p] = random_errors(stream(config.seed, "errors", p), tr, imp, clocks[p].rate_hz)
        t_sim, stamps[p] = sample_instants(
            clocks[p], stream(config.seed, "samples", p), end_s - 0.05
        )
        pipes[p] = SensorPipe(
            _mounting(config, p, tr),
            TissueFilter(tissues[p], dt) if imp.soft_tissue else None,
            errors[p],
            t_sim,
            config.internal_rate_hz,
        )

    # Render and measure chunk by chunk; the walked position is carried across chunks.
    theta_p = np.empty(n)
    lam = np.empty(n)
    render_margin = 3 * round(SMOOTH_S / dt) + MARGIN
    chunk = max(1000, round(CHUNK_S / dt))
    walked_start = np.zeros(3)
    for lo_g in range(0, n, chunk):
        hi_g = min(n, lo_g + chunk)
        idx = np.arange(lo_g - render_margin, hi_g + render_margin)
        ch = _render(config, tl, sway, idx * dt)
        cut = slice(render_margin - MARGIN, len(idx) - render_margin + MARGIN)
        ch = {k: v[cut] for k, v in ch.items()}
        t_c = idx[cut] * dt
        walked = walked_position(ch, dt, walked_start)
        # The next chunk's arrays start MARGIN samples before its first new sample.
        walked_start = walked[hi_g - lo_g].copy()
        motion = kinematics(body, ch, walked, config.placements)
        for p, pch in pouches.items():
            motion[p] = pch.rock(motion[p], ch["thigh"])
        lo, hi = MARGIN, MARGIN + hi_g - lo_g
        theta_p[lo_g:hi_g] = ch["theta_p"][lo:hi]
        lam[lo_g:hi_g] = ch["lam"][lo:hi]
        for p, pipe in pipes.items():
            pipe.feed(t_c, motion[p], lo, hi, dt)

    sensors: dict[str, SensorSamples] = {}
    devices: dict[str, DeviceInfo] = {}
    signals: dict[str, SensorTruthSignals] = {}
    setup: dict[str, dict] = {}
    gaps: list[Gap] = []
    for p, pipe in pipes.items():
        clock, err = clocks[p], errors[p]
        acc_m, gyro_m = digitise(
            stream(config.seed, "noise", p), err, imp, pipe.front, pipe.t_sample_s
        )
        loss_rng = stream(config.seed, "loss", p)
        keep = packet_loss_mask(clock, loss_rng, len(pipe.t_sample_s))
        dropouts = _dropouts(loss_rng, tr, imp, end_s)
        for d0, d1 in dropouts:
            keep &= (pipe.t_sample_s < d0) | (pipe.t_sample_s >= d1)
            dev = clock.device_time(np.array([d0, d1]))
            gaps.append(Gap(p, float(dev[0]), float(dev[1]), "simulated disconnect"))
        sensors[p] = SensorSamples(p, stamps[p][keep], acc_m[keep], gyro_m[keep])
        devices[p] = DeviceInfo(
            model="simulator",
            protocol="simulated",
            sample_rate_hz=clock.rate_hz,
            acc_range_g=err.acc_range_g,
            gyro_range_dps=err.gyro_range_dps,
        )
        signals[p] = SensorTruthSignals(
            placement=p,
            time_s=stamps[p][keep],
            timeline_s=pipe.t_sample_s[keep] + clock_start,
            inclination_deg=pipe.inclination_rad[keep] * DEG_PER_RAD,
            rotation=rot.matmul(pipe.rotation[keep], np.ascontiguousarray(pipe.mount.T)),
            acc_mps2=pipe.ideal_acc[keep],
            gyro_rad_s=pipe.ideal_gyro[keep],
            mounting=pipe.mount,
        )
        setup[p] = {
            "rate_hz": clock.rate_hz,
            "acc_range_g": err.acc_range_g,
            "gyro_range_dps": err.gyro_range_dps,
            "mounting_body_to_sensor": pipe.mount,
            "mounting_quat_xyzw": Rotation.from_matrix(pipe.mount).as_quat(),
            "clock": clock.as_dict(),
            "errors": err.as_dict(),
            "soft_tissue": tissues[p].as_dict() if imp.soft_tissue else None,
            "samples_taken": len(pipe.t_sample_s),
            "samples_lost": int(len(keep) - keep.sum()),
            "dropouts": [[d0 + clock_start, d1 + clock_start] for d0, d1 in dropouts],
        }
        if p in pouches:
            setup[p]["pouch"] = pouches[p].as_dict()

    t = np.arange(n) * dt
    timeline_p = LUMBAR if LUMBAR in config.placements else config.placements[0]
    reps = [rep_truth(r, t, theta_p, lam, clock_start) for r in plan.reps]
    truth = Truth(
        seed=config.seed,
        config=_config_dict(config),
        timeline_placement=timeline_p,
        duration_s=end_s,
        start_s=clock_start,
        setup=setup,
        body=body.as_dict(),
        sets=sets_truth(plan, reps),
        reps=reps,
        events=[event_truth(e, clock_start) for e in plan.events],
    )
    exercises = sorted({s.exercise for s in config.sets})
    notes = SessionNotes(
        exercise=exercises[0] if len(exercises) == 1 else None,
        load_kg=config.sets[0].load_kg if len(config.sets) == 1 else None,
        text=f"simulated session, seed {config.seed}, tier {config.tier}, setup {config.setup}",
    )
    # A fixed creation time (the epoch) keeps native files of the same seed byte-identical.
    recording = Recording(
        sensors=sensors, devices=devices, notes=notes, gaps=gaps, created_utc=SIM_CREATED_UTC
    )
    return SimResult(recording, truth, signals, t + clock_start, {"theta_p": theta_p, "lam": lam})


def _config_dict(config: SessionConfig) -> dict:
    return {
        "seed": config.seed,
        "setup": config.setup,
        "tier": config.tier,
        "rate_hz": {p: config.rate_of(p) for p in config.placements},
        "standing_s": config.standing_s,
        "rest_s": list(config.rest_s),
        "rest_activities": list(config.rest_activities),
        "end_standing_s": config.end_standing_s,
        "internal_rate_hz": config.internal_rate_hz,
        "imperfections": config.imperfections.as_dict(),
        "mounting_override": sorted(config.mounting) if config.mounting else [],
        "sets": [
            {
                "exercise": s.exercise,
                "reps": s.reps,
                "faults": {k: (list(v) if v is not None else None) for k, v in s.faults.items()},
                "creep_deg": s.creep_deg,
                "load_kg": s.load_kg,
            }
            for s in config.sets
        ],
        # Only in daily-life sessions, so the truth of a lifting session is unchanged.
        **({"daily": [[b.kind, b.amount] for b in config.daily]} if config.daily else {}),
        **({"loose_mounting": True} if config.loose_mounting else {}),
    }
