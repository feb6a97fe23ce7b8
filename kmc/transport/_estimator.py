"""Effective conductivity of a voxel image: the user-facing result objects."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kmc.transport._faces import faces_from_conductivity
from kmc.transport._percolation import spanning_mask
from kmc.transport._solver import Faces, Solution, solve


@dataclass
class ConductionResult:
    """Steady conduction through a box along z (1 V applied unless stated).

    Attributes are SI; the box is nz*h thick with a cross-section nx*ny*h^2.
    """

    solution: Solution
    faces: Faces
    spacing_m: float
    voltage_V: float
    percolating_fraction: float = field(default=1.0)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.faces.shape

    @property
    def current_A(self) -> float:
        """Mean of the currents through the two planes (A)."""
        return 0.5 * (self.solution.current_in + self.solution.current_out)

    @property
    def resistance_ohm(self) -> float:
        """Plane-to-plane resistance of the box (ohm); inf when nothing conducts."""
        return self.voltage_V / self.current_A if self.current_A > 0 else np.inf

    @property
    def effective_conductivity_S_per_m(self) -> float:
        nz, ny, nx = self.shape
        h = self.spacing_m
        return (nz * h) / (self.resistance_ohm * nx * ny * h * h)

    @property
    def effective_conductivity_S_per_cm(self) -> float:
        return self.effective_conductivity_S_per_m / 100.0

    @property
    def current_density_z(self) -> np.ndarray:
        """z-component of the current density through each voxel's +z face (A/m^2)."""
        v = self.solution.potential
        f = self.faces
        j = np.empty_like(v)
        j[:-1] = f.gz[:-1] * (v[:-1] - v[1:])
        j[-1] = f.gz[-1] * v[-1]
        return j / self.spacing_m**2

    def potential_drop_between(self, z_low: int, z_high: int) -> float:
        """Current-weighted mean potential difference between two cell planes (V).

        The four-point-probe analogue: the potential of a plane is averaged with the
        weights of the current crossing it, which for a laterally uniform medium is the
        plain average and stays well defined around insulating inclusions.
        """
        v = self.solution.potential
        jz = self.current_density_z

        def plane_potential(z):
            w = np.abs(jz[z])
            return float((v[z] * w).sum() / w.sum()) if w.sum() > 0 else float(v[z].mean())

        return plane_potential(z_low) - plane_potential(z_high)


def effective_conductivity(
    sigma: np.ndarray,
    spacing_m: float,
    *,
    voltage_V: float = 1.0,
    rtol: float = 1e-6,
    balance_tol: float = 1e-4,
    remove_isolated: bool = True,
    **face_kw,
) -> ConductionResult:
    """Solve steady conduction along z through a conductivity image.

    Parameters
    ----------
    sigma : array [nz, ny, nx] or [nz, nx]
        Conductivity per voxel (S/m). Periodic in x and y; Dirichlet planes at both z ends.
    spacing_m : float
        Voxel edge (m).
    remove_isolated : bool
        Insulate clusters that do not connect both planes before solving (they carry no
        current and would make the matrix singular).
    face_kw
        Interface resistances, passed to :func:`faces_from_conductivity`.
    """
    s = np.asarray(sigma, dtype=np.float64)
    if s.ndim == 2:
        s = s[:, None, :]
    frac = 1.0
    if remove_isolated:
        keep = spanning_mask(s > 0)
        n_cond = int((s > 0).sum())
        frac = float(keep.sum() / n_cond) if n_cond else 0.0
        s = np.where(keep, s, 0.0)
    faces = faces_from_conductivity(s, spacing_m, **face_kw)
    if not (faces.gz_bottom > 0).any():
        raise ValueError("nothing conducts from the bottom plane to the top plane")
    sol = solve(faces, voltage_V, rtol=rtol, balance_tol=balance_tol)
    return ConductionResult(sol, faces, spacing_m, voltage_V, frac)
