"""Kinematic body model: pelvis about a translating hip joint centre, five lumbar joints, thorax.

Frames and signs: docs/frames.md (world x anterior, y left, z up; + tilt = forward).
Geometry is given in the world frame at standing neutral (all segment rotations are
identity there, so each segment's body frame is the world frame at standing); the
standing lumbar lordosis lives in the joint positions. In motion:

* hip joint centre (HJC) = walked position P(t) + Rz(heading) (hx, hy, h0 + hz);
* pelvis R_p = Rz(heading + yaw_p) Rx(roll_p) Ry(theta_p);
* lumbar segment k (L5 .. L1) R_k = R_p Ry(c_k lam) Rx(f_k roll_l) Rz(f_k twist_l), where c_k
  is the cumulative share of lumbar flexion up to joint k (c = 1 at L1/L2), so the L1
  segment's sagittal inclination is exactly theta_p + lam;
* the thorax moves rigidly with L1 (it carries no sensor, so only its rotation matters:
  thoracic motion is not modelled separately).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.sim import rotations as rot
from tracker.units import LUMBAR, RAD_PER_DEG, SACRUM

#: Lumbar joints from caudal to cranial; each share is that joint's part of λ.
LUMBAR_JOINTS: tuple[str, ...] = ("L5/S1", "L4/L5", "L3/L4", "L2/L3", "L1/L2")


@dataclass(frozen=True)
class BodyParams:
    """One lifter's geometry (world frame at standing neutral, metres, origin at the HJC)."""

    hjc_height_m: float
    s1_from_hjc_m: np.ndarray  # L5/S1 disc centre relative to the HJC
    lumbar_vectors_m: np.ndarray  # (5, 3): L5, L4, L3, L2, L1 vertebra+disc, caudal -> cranial
    flexion_shares: np.ndarray  # (5,) shares of λ at L5/S1 .. L1/L2, sum 1
    sacrum_sensor_from_hjc_m: np.ndarray  # skin over S1-S2
    lumbar_sensor_from_l1_top_m: np.ndarray  # skin over T12-L1, from the T12/L1 joint

    def as_dict(self) -> dict[str, object]:
        return {
            "hjc_height_m": self.hjc_height_m,
            "s1_from_hjc_m": self.s1_from_hjc_m.tolist(),
            "lumbar_vectors_m": self.lumbar_vectors_m.tolist(),
            "lumbar_joints": list(LUMBAR_JOINTS),
            "flexion_shares": self.flexion_shares.tolist(),
            "sacrum_sensor_from_hjc_m": self.sacrum_sensor_from_hjc_m.tolist(),
            "lumbar_sensor_from_l1_top_m": self.lumbar_sensor_from_l1_top_m.tolist(),
        }


def random_body(rng: np.random.Generator) -> BodyParams:
    """A plausible adult: anthropometrics and lordosis drawn around typical values."""
    # Standing lordosis: segment directions from vertical (+ = top anterior): L5 leans
    # forward off the sacral slope, the curve's apex at L3, L1 leans back into the kyphosis.
    dir_deg = np.array([22.0, 10.0, -1.0, -10.0, -17.0]) + rng.normal(0.0, 3.0, 5)
    length_m = rng.uniform(0.034, 0.042) * rng.uniform(0.95, 1.05, 5)
    a = dir_deg * RAD_PER_DEG
    vec = np.stack([length_m * np.sin(a), np.zeros(5), length_m * np.cos(a)], axis=1)
    # Lumbar flexion range is unequal across levels: largest at L4/L5 and L3/L4.
    shares = np.array([0.19, 0.24, 0.22, 0.19, 0.16]) * rng.uniform(0.85, 1.15, 5)
    shares /= shares.sum()
    return BodyParams(
        hjc_height_m=rng.uniform(0.84, 0.98),
        s1_from_hjc_m=np.array(
            [rng.uniform(-0.06, -0.03), rng.uniform(-0.004, 0.004), rng.uniform(0.09, 0.12)]
        ),
        lumbar_vectors_m=vec,
        flexion_shares=shares,
        sacrum_sensor_from_hjc_m=np.array(
            [rng.uniform(-0.135, -0.105), rng.uniform(-0.008, 0.008), rng.uniform(0.06, 0.10)]
        ),
        # Skin over the spinous processes sits 6-9 cm behind the vertebral bodies.
        lumbar_sensor_from_l1_top_m=np.array(
            [rng.uniform(-0.09, -0.06), rng.uniform(-0.008, 0.008), rng.uniform(-0.01, 0.01)]
        ),
    )


@dataclass
class SegmentMotion:
    """Rigid motion of a sensor's attachment point, sampled at the internal rate."""

    rotation: np.ndarray  # (n, 3, 3) segment body -> world
    position_m: np.ndarray  # (n, 3) attachment point (skin) in the world frame
    inclination_rad: np.ndarray  # (n,) sagittal inclination (docs/frames.md)


def walked_position(ch: dict[str, np.ndarray], dt_s: float, start_m: np.ndarray) -> np.ndarray:
    """Horizontal position P(t) from forward speed along the heading (trapezoid rule),
    starting at ``start_m`` (3,) at the first sample."""
    vx = ch["speed"] * np.cos(ch["heading"])
    vy = ch["speed"] * np.sin(ch["heading"])
    p = np.zeros((len(vx), 3))
    p[1:, 0] = np.cumsum(0.5 * (vx[1:] + vx[:-1])) * dt_s
    p[1:, 1] = np.cumsum(0.5 * (vy[1:] + vy[:-1])) * dt_s
    return p + start_m


def kinematics(
    body: BodyParams, ch: dict[str, np.ndarray], walked_m: np.ndarray, placements: tuple[str, ...]
) -> dict[str, SegmentMotion]:
    """Segment rotation and sensor attachment point for each requested placement.

    ``walked_m`` is the walked position P(t) (`walked_position`) at the same samples.
    """
    heading = ch["heading"]
    cz = np.cos(heading)
    sz = np.sin(heading)
    local = np.stack([ch["hx"], ch["hy"], body.hjc_height_m + ch["hz"]], axis=1)
    hjc = walked_m.copy()
    hjc[:, 0] += cz * local[:, 0] - sz * local[:, 1]
    hjc[:, 1] += sz * local[:, 0] + cz * local[:, 1]
    hjc[:, 2] += local[:, 2]

    r_p = rot.matmul(
        rot.matmul(rot.rot_z(heading + ch["yaw_p"]), rot.rot_x(ch["roll_p"])),
        rot.rot_y(ch["theta_p"]),
    )
    out: dict[str, SegmentMotion] = {}
    if SACRUM in placements:
        out[SACRUM] = SegmentMotion(
            r_p, hjc + rot.apply(r_p, body.sacrum_sensor_from_hjc_m), ch["theta_p"].copy()
        )
    if LUMBAR in placements:
        joint = hjc + rot.apply(r_p, body.s1_from_hjc_m)
        cum = np.cumsum(body.flexion_shares)
        # Segment k (L5 .. L1) rotates by the flexion accumulated at the joints below it:
        # R_k = R_p Ry(c_k lam) Rx(c_k roll_l) Rz(c_k twist_l). Only L1 needs the matrix;
        # the vertebrae below only move the chain, so their vectors are rotated directly.
        for k in range(5):
            v = rot.rotate(2, cum[k] * ch["twist_l"], body.lumbar_vectors_m[k])
            v = rot.rotate(0, cum[k] * ch["roll_l"], v)
            v = rot.rotate(1, cum[k] * ch["lam"], v)
            joint = joint + rot.apply(r_p, v)
        r_k = rot.matmul(
            rot.matmul(r_p, rot.rot_y(ch["lam"])),
            rot.matmul(rot.rot_x(ch["roll_l"]), rot.rot_z(ch["twist_l"])),
        )
        out[LUMBAR] = SegmentMotion(
            r_k,
            joint + rot.apply(r_k, body.lumbar_sensor_from_l1_top_m),
            ch["theta_p"] + ch["lam"],
        )
    return out
