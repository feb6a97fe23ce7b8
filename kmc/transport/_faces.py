"""Face conductances of a voxel image (finite volumes, harmonic means, interface terms).

A face of area h^2 between voxel centres h apart has conductance

    g = 1 / ( 1/(2 sigma_i h) + 1/(2 sigma_j h) + r_ij / h^2 )     (S)

i.e. the two half-voxels and an optional area-specific interface resistance r_ij
(ohm m^2, e.g. charge transfer R_ct A = RT/(F i0)) in series. A boundary face to a
Dirichlet plane is the half-voxel (plus an optional plane resistance). An insulating
voxel (sigma = 0) has no conducting faces.
"""

from __future__ import annotations

import numpy as np

from kmc.transport._solver import Faces


def _series(a: np.ndarray, b: np.ndarray, r_area: np.ndarray | float, h: float) -> np.ndarray:
    """Conductance of two half-voxels (conductivities a, b) and r_area in series (S)."""
    with np.errstate(divide="ignore"):
        inv = 1.0 / (2.0 * a * h) + 1.0 / (2.0 * b * h) + np.asarray(r_area) / h**2
        g = np.where((a > 0) & (b > 0), 1.0 / inv, 0.0)
    return g


def faces_from_conductivity(
    sigma: np.ndarray,
    spacing_m: float,
    *,
    face_resistance: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    bottom_resistance: np.ndarray | float = 0.0,
    top_resistance: np.ndarray | float = 0.0,
) -> Faces:
    """Faces of a conductivity image.

    Parameters
    ----------
    sigma : array [nz, ny, nx] or [nz, nx]
        Conductivity per voxel (S/m); 0 is insulating. A 2D image is one voxel thick in y.
    spacing_m : float
        Voxel edge h (m).
    face_resistance : (rx, ry, rz), optional
        Area-specific resistance (ohm m^2) in series on each +x, +y, +z face, same shape
        as sigma (rz[-1] is unused: see top_resistance).
    bottom_resistance, top_resistance : float or array [ny, nx]
        Area-specific resistance (ohm m^2) between the first/last voxel plane and the
        bottom/top Dirichlet plane.
    """
    s = np.asarray(sigma, dtype=np.float64)
    if s.ndim == 2:
        s = s[:, None, :]
    if s.ndim != 3:
        raise ValueError(f"sigma must be 2D [nz, nx] or 3D [nz, ny, nx], got shape {s.shape}")
    if not np.all(np.isfinite(s)) or s.min() < 0:
        raise ValueError("sigma must be finite and non-negative (S/m)")
    if spacing_m <= 0:
        raise ValueError(f"spacing_m = {spacing_m} must be positive")
    h = float(spacing_m)
    if face_resistance is None:
        rx = ry = rz = np.zeros(s.shape)
    else:
        rx, ry, rz = (np.asarray(r, dtype=np.float64).reshape(s.shape) for r in face_resistance)
    gx = _series(s, np.roll(s, -1, axis=2), rx, h)
    gy = _series(s, np.roll(s, -1, axis=1), ry, h)
    gz = np.empty_like(s)
    gz[:-1] = _series(s[:-1], s[1:], rz[:-1], h)
    gz[-1] = _half(s[-1], top_resistance, h)
    return Faces(gx, gy, gz, _half(s[0], bottom_resistance, h))


def _half(sigma_plane: np.ndarray, r_area, h: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        inv = 1.0 / (2.0 * sigma_plane * h) + np.asarray(r_area) / h**2
        return np.where(sigma_plane > 0, 1.0 / inv, 0.0)
