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

from kmc.kernels._faces import face_conductances
from kmc.transport._solver import Faces


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
        as sigma (rz of the last plane is unused: see top_resistance).
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
    s = np.ascontiguousarray(s)
    if face_resistance is None:
        zero = np.zeros((1, 1, 1))
        rx = ry = rz = np.broadcast_to(zero, s.shape)
    else:
        rx, ry, rz = (np.asarray(r, dtype=np.float64).reshape(s.shape) for r in face_resistance)
    plane = s.shape[1:]
    r_top = np.broadcast_to(np.asarray(top_resistance, dtype=np.float64), plane)
    r_bottom = np.broadcast_to(np.asarray(bottom_resistance, dtype=np.float64), plane)
    gx, gy, gz = (np.empty(s.shape) for _ in range(3))
    face_conductances(s, rx, ry, rz, r_top, h, gx, gy, gz)
    with np.errstate(divide="ignore"):
        gzb = np.where(s[0] > 0, 1.0 / (1.0 / (2.0 * s[0] * h) + r_bottom / h**2), 0.0)
    return Faces(gx, gy, gz, gzb)
