"""Scenario builder and renderer: `simulate_session(config) -> SimResult`.

Steps: draw the lifter and the session (standing, sets with their set-up and finish,
rests with standing, shifting and walking) as knots on a `Timeline`; render every channel
at the internal rate; run the body model; add soft-tissue wobble; form the ideal sensor
signals (specific force R^T (a - g) and angular velocity in the sensor frame); pass them
through the sensor error model, the sensor's own clock and the radio (packet loss).
Frames and units: docs/frames.md. Truth format: docs/truth-format.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from tracker.recording.model import DeviceInfo, Recording, SessionNotes
from tracker.samples import SensorSamples
from tracker.sim import activities as act
from tracker.sim import rotations as rot
from tracker.sim.body import BodyParams, kinematics, random_body
from tracker.sim.config import SessionConfig, SetSpec
from tracker.sim.exercises import SetForm, perform_set
from tracker.sim.plan import EventPlan, SessionPlan, SetPlan
from tracker.sim.sensor import SensorErrors, measure, random_errors
from tracker.sim.tiers import TIER_RANGES, Imperfections, TierRanges
from tracker.sim.timing import ClockParams, packet_loss_mask, sample_instants
from tracker.sim.tissue import TissueParams, random_tissue, tissue_response
from tracker.sim.tracks import Timeline, smooth_noise
from tracker.sim.truth import Truth, event_truth, rep_truth, sets_truth
from tracker.units import DEG_PER_RAD, G_MPS2, LUMBAR, PLACEMENTS, RAD_PER_DEG

G_WORLD_MPS2 = np.array([0.0, 0.0, -G_MPS2])
#: Smoothing of the knot trajectories (three moving averages of this width).
SMOOTH_S = 0.03

# Independent random streams, so switching one imperfection off changes nothing else.
_STREAM = {
    "body": 1,
    "plan": 2,
    "sway": 3,
    "clock": 4,
    "mount": 5,
    "errors": 6,
    "tissue": 7,
    "samples": 8,
    "loss": 9,
    "noise": 10,
}


def _rng(seed: int, stream: str, placement: str | None = None) -> np.random.Generator:
    key = [seed, _STREAM[stream]]
    if placement is not None:
        key.append(PLACEMENTS.index(placement) + 1)
    return np.random.default_rng(key)


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
    #: internal-rate trajectories (radians, metres) and their times on the timeline
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


def _fault_reps(spec: SetSpec, rng: np.random.Generator) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for kind, reps in spec.faults.items():
        if kind == "creep":
            continue
        if reps is None:
            k = max(1, round(spec.reps / 3))
            reps = tuple(sorted(int(r) + 1 for r in rng.choice(spec.reps, size=k, replace=False)))
        out[kind] = sorted(set(reps))
    return out


def build_plan(config: SessionConfig, tl: Timeline) -> SessionPlan:
    """Lay the whole session out on the timeline."""
    rng = _rng(config.seed, "plan")
    plan = SessionPlan()
    plan.events.append(act.stand(tl, rng, config.standing_s))
    for idx, spec in enumerate(config.sets, 1):
        fault_reps = _fault_reps(spec, rng)
        creep = 0.0
        if "creep" in spec.faults:
            creep = spec.creep_deg if spec.creep_deg is not None else float(rng.uniform(12.0, 16.0))
        plan.sets.append(SetPlan(idx, spec.exercise, spec.load_kg, fault_reps, creep))
        tl.wait(rng.uniform(0.8, 2.0))
        reps, events = perform_set(
            tl, rng, idx, SetForm(spec.exercise, spec.reps, rng, fault_reps, creep)
        )
        plan.reps.extend(reps)
        plan.events.extend(events)
        if idx < len(config.sets):
            plan.events.extend(_rest(tl, rng, config))
    plan.events.append(act.stand(tl, rng, config.end_standing_s))
    return plan


def _rest(tl: Timeline, rng: np.random.Generator, config: SessionConfig) -> list[EventPlan]:
    """Rest between sets: standing, shifting, walking and bending down, in random order."""
    total = rng.uniform(*config.rest_s)
    end = tl.now_s + total
    events: list[EventPlan] = []
    acts = list(config.rest_activities) or ["stand"]
    # Relative frequency: mostly standing and walking about, now and then a bend.
    weight = np.array([{"stand": 0.35, "shift": 0.25, "walk": 0.3, "bend": 0.1}[a] for a in acts])
    while end - tl.now_s > 2.0:
        left = end - tl.now_s
        kind = acts[int(rng.choice(len(acts), p=weight / weight.sum()))]
        if kind == "walk" and left >= 5.0:
            events.append(act.walk(tl, rng, min(left, rng.uniform(5.0, 16.0))))
        elif kind == "shift" and left >= 3.0:
            events.append(act.shift(tl, rng, min(left, rng.uniform(3.0, 8.0))))
        elif kind == "bend" and left >= 5.0:
            # Picking something up (a plate, a towel, the bell to move it): not a rep.
            events.append(act.bend_down_up(tl, rng, str(rng.choice(["pick_up", "put_down"]))))
        else:
            events.append(act.stand(tl, rng, min(left, rng.uniform(2.0, 10.0))))
        tl.wait(rng.uniform(0.0, 0.5))
    return events


def _render(
    config: SessionConfig, tl: Timeline, end_s: float
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    dt = 1.0 / config.internal_rate_hz
    t = np.arange(0.0, end_s + 0.5 * dt, dt)
    ch = tl.render(t, SMOOTH_S)
    imp = config.imperfections
    if imp.sway:
        rng = _rng(config.seed, "sway")
        n = len(t)
        for name, sd in (
            ("theta_p", 0.25 * RAD_PER_DEG),
            ("lam", 0.2 * RAD_PER_DEG),
            ("roll_p", 0.4 * RAD_PER_DEG),
            ("yaw_p", 0.8 * RAD_PER_DEG),
            ("roll_l", 0.3 * RAD_PER_DEG),
            ("twist_l", 0.3 * RAD_PER_DEG),
            ("hx", 0.003),
            ("hy", 0.003),
        ):
            ch[name] = ch[name] + smooth_noise(rng, n, dt, 0.8, sd)
    if not imp.out_of_plane:
        for name in ("hy", "roll_p", "yaw_p", "roll_l", "twist_l", "heading"):
            ch[name] = np.zeros_like(t)
    return t, ch


def _ideal_signals(
    r_seg: np.ndarray,
    pos: np.ndarray,
    mount: np.ndarray,
    tissue: TissueParams | None,
    dt: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(acc, gyro) in the sensor frame at the internal rate, and segment body rates."""
    acc_w = rot.second_derivative(pos, dt)
    rates_seg = rot.body_rates(r_seg, dt)
    if tissue is not None:
        f_body = rot.apply_t(r_seg, acc_w - G_WORLD_MPS2)
        disp, rotvec = tissue_response(
            tissue, f_body - f_body[0], np.gradient(rates_seg, dt, axis=0), dt
        )
        r_eff = rot.matmul(r_seg, Rotation.from_rotvec(rotvec).as_matrix())
        acc_w = rot.second_derivative(pos + rot.apply(r_seg, disp), dt)
        rates = rot.body_rates(r_eff, dt)
    else:
        r_eff = r_seg
        rates = rates_seg
    acc_s = rot.rows_times(rot.apply_t(r_eff, acc_w - G_WORLD_MPS2), mount)
    gyro_s = rot.rows_times(rates, mount)
    return acc_s, gyro_s, rates_seg


def _interp_rows(t_grid: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    flat = x.reshape(len(x), -1)
    out = np.stack([np.interp(t, t_grid, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return out.reshape((len(t), *x.shape[1:]))


def _clock(config: SessionConfig, placement: str, tr: TierRanges, start_s: float) -> ClockParams:
    imp = config.imperfections
    rng = _rng(config.seed, "clock", placement)
    timeline = placement == (LUMBAR if LUMBAR in config.placements else config.placements[0])
    offset = rng.uniform(-tr.clock_offset_s, tr.clock_offset_s)
    drift = rng.uniform(-tr.clock_drift_ppm, tr.clock_drift_ppm)
    rate_err = rng.uniform(-tr.rate_error, tr.rate_error)
    first = rng.uniform(0.0, 0.1)
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


def simulate_session(config: SessionConfig) -> SimResult:
    """Simulate a session; deterministic in ``config`` (same config -> same arrays)."""
    config.validate()
    imp: Imperfections = config.imperfections
    tr = TIER_RANGES[config.tier]
    body: BodyParams = random_body(_rng(config.seed, "body"))
    tl = Timeline()
    plan = build_plan(config, tl)
    end_s = tl.now_s
    t, ch = _render(config, tl, end_s)
    dt = float(t[1] - t[0])
    start_rng = _rng(config.seed, "clock")
    clock_start = start_rng.uniform(*tr.clock_start_s) if imp.clock_start else 0.0
    motion = kinematics(body, ch, dt, config.placements)

    sensors: dict[str, SensorSamples] = {}
    devices: dict[str, DeviceInfo] = {}
    signals: dict[str, SensorTruthSignals] = {}
    setup: dict[str, dict] = {}
    for p in config.placements:
        m = motion[p]
        if config.mounting is not None and p in config.mounting:
            mount = np.asarray(config.mounting[p], dtype=float)
        elif imp.mounting:
            mount = _random_mounting(_rng(config.seed, "mount", p), tr)
        else:
            mount = np.eye(3)
        tissue_rng = _rng(config.seed, "tissue", p)
        tissue = random_tissue(tissue_rng, p, tissue_rng.uniform(*tr.wobble_gain))
        acc_s, gyro_s, _ = _ideal_signals(
            m.rotation, m.position_m, mount, tissue if imp.soft_tissue else None, dt
        )
        clock = _clock(config, p, tr, clock_start)
        err: SensorErrors = random_errors(_rng(config.seed, "errors", p), tr, imp, clock.rate_hz)
        t_sim, stamps = sample_instants(clock, _rng(config.seed, "samples", p), end_s - 0.05)
        acc_m, gyro_m = measure(_rng(config.seed, "noise", p), err, imp, acc_s, gyro_s, t, t_sim)
        keep = packet_loss_mask(clock, _rng(config.seed, "loss", p), len(t_sim))
        sensors[p] = SensorSamples(p, stamps[keep], acc_m[keep], gyro_m[keep])
        devices[p] = DeviceInfo(
            model="simulator",
            firmware=None,
            protocol="simulated",
            sample_rate_hz=clock.rate_hz,
            acc_range_g=err.acc_range_g,
            gyro_range_dps=err.gyro_range_dps,
        )
        tk = t_sim[keep]
        r_sensor = rot.matmul(_interp_rows(t, m.rotation, tk), mount.T)
        signals[p] = SensorTruthSignals(
            placement=p,
            time_s=stamps[keep],
            timeline_s=tk + clock_start,
            inclination_deg=np.interp(tk, t, m.inclination_rad) * DEG_PER_RAD,
            rotation=r_sensor,
            acc_mps2=_interp_rows(t, acc_s, tk),
            gyro_rad_s=_interp_rows(t, gyro_s, tk),
            mounting=mount,
        )
        setup[p] = {
            "rate_hz": clock.rate_hz,
            "acc_range_g": err.acc_range_g,
            "gyro_range_dps": err.gyro_range_dps,
            "mounting_body_to_sensor": mount,
            "mounting_quat_xyzw": Rotation.from_matrix(mount).as_quat(),
            "clock": clock.as_dict(),
            "errors": err.as_dict(),
            "soft_tissue": tissue.as_dict() if imp.soft_tissue else None,
            "samples_taken": len(t_sim),
            "samples_lost": int(len(t_sim) - keep.sum()),
        }

    timeline_p = LUMBAR if LUMBAR in config.placements else config.placements[0]
    reps = [rep_truth(r, t, ch["theta_p"], ch["lam"], clock_start) for r in plan.reps]
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
    recording = Recording(sensors=sensors, devices=devices, notes=notes)
    return SimResult(recording, truth, signals, t + clock_start, ch)


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
    }
