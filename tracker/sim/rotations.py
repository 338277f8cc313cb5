"""Vectorised elementary rotations (world frame of docs/frames.md: x anterior, y left, z up).

Matrices are stacked as (n, 3, 3) and map body-frame vectors to world-frame vectors.
A positive angle turns counter-clockwise looking down the axis (right-hand rule), so a
positive rotation about +y tilts +z towards +x: forward, the flexion direction.
"""

from __future__ import annotations

import numpy as np


def rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    m = np.zeros((len(a), 3, 3))
    m[:, 0, 0] = 1.0
    m[:, 1, 1], m[:, 1, 2] = c, -s
    m[:, 2, 1], m[:, 2, 2] = s, c
    return m


def rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    m = np.zeros((len(a), 3, 3))
    m[:, 1, 1] = 1.0
    m[:, 0, 0], m[:, 0, 2] = c, s
    m[:, 2, 0], m[:, 2, 2] = -s, c
    return m


def rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    m = np.zeros((len(a), 3, 3))
    m[:, 2, 2] = 1.0
    m[:, 0, 0], m[:, 0, 1] = c, -s
    m[:, 1, 0], m[:, 1, 1] = s, c
    return m


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Stacked (n,3,3) @ (n,3,3), or (n,3,3) @ (3,3)."""
    return np.matmul(a, b)


def apply(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Stacked matrices (n,3,3) applied to vectors (n,3) or to one vector (3,)."""
    if v.ndim == 1:
        return (m.reshape(-1, 3) @ np.ascontiguousarray(v).reshape(3)).reshape(-1, 3)
    return np.einsum("nij,nj->ni", m, v)


def rows_times(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Each row vector of ``v`` (n,3) mapped by one matrix: ``(m @ v_i)`` for every i."""
    # Column combination instead of ``v @ m.T``: a (n,3) x (3,3) BLAS call is slow and
    # thread-hungry for tall thin arrays; this is exact and fast.
    return v[:, 0:1] * m[:, 0] + v[:, 1:2] * m[:, 1] + v[:, 2:3] * m[:, 2]


def rotate(axis: int, angle: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` ((n,3) or one (3,)) about world axis 0/1/2 by ``angle`` (n,)."""
    v = np.broadcast_to(v, (len(angle), 3))
    c, s = np.cos(angle), np.sin(angle)
    i, j = ((1, 2), (2, 0), (0, 1))[axis]
    out = np.array(v, dtype=np.float64)
    out[:, i] = c * v[:, i] - s * v[:, j]
    out[:, j] = s * v[:, i] + c * v[:, j]
    return out


def apply_t(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Transposed stacked matrices applied to vectors: world -> body."""
    return np.einsum("nji,nj->ni", m, v)


def body_rates(m: np.ndarray, dt_s: float) -> np.ndarray:
    """Angular velocity in the rotating (body) frame from a sampled rotation, rad/s.

    omega^ = R^T dR/dt with dR/dt by second-order central differences; the skew part is
    taken so that rounding in R does not leak into the rates.
    """
    rdot = np.gradient(m, dt_s, axis=0)
    w = np.einsum("nki,nkj->nij", m, rdot)
    return 0.5 * np.stack(
        [w[:, 2, 1] - w[:, 1, 2], w[:, 0, 2] - w[:, 2, 0], w[:, 1, 0] - w[:, 0, 1]], axis=1
    )


def second_derivative(x: np.ndarray, dt_s: float) -> np.ndarray:
    """d2x/dt2 along axis 0 by central second differences (edges copied)."""
    a = np.empty_like(x)
    a[1:-1] = (x[2:] - 2.0 * x[1:-1] + x[:-2]) / (dt_s * dt_s)
    a[0] = a[1]
    a[-1] = a[-2]
    return a
