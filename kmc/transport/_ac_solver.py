"""Plane-to-plane impedance of a voxel box of complex admittivity: the linear solve.

Each frequency is one complex symmetric system (the DC grid's, with complex face
admittances). Small grids are factorized (sparse LU); larger ones are solved by COCG
(van der Vorst and Melissen 1990: CG's short recurrences for complex symmetric systems)
with a two-level preconditioner: the DC solver's multigrid of the face admittances'
moduli, and a deflation of the regions that the interfaces and insulators separate.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla

from kmc.kernels._krylov import cocg_direction, cocg_update
from kmc.transport._solver import STATIONARY_ITERATIONS, Faces, MultigridPreconditioner

DIRECT_MAX_CELLS = 4096
"""Grids up to this many voxels are solved by sparse LU; larger ones by COCG."""

FALLBACK_MAX_CELLS = 100_000
"""Where COCG does not converge, grids up to this many voxels are solved by sparse LU
instead. Its 3D fill grows fast (measured, one frequency: 36 s at 27 648 voxels; at
262 144 voxels more than 10 min and 5.7 GB): larger grids get a named error rather than
hours."""

ADMITTANCE_TOL = 1e-9
"""COCG stops only when, besides the residual, the cell's stationary admittance (see
``_grid_solve``) has settled over the last ``SETTLE_ITERATIONS`` iterations to this
relative amount: on a rough electrode a relative residual of 1e-10 alone had left Z 2 %
off at 10 Hz, and without the deflation the admittance sat on plateaus 1.3e-3 off for
~80 iterations at a time. Its error is second order in the potential's: it reaches
round-off (~1e-12) within tens of iterations of the residual passing 1e-10."""

SETTLE_ITERATIONS = 3 * STATIONARY_ITERATIONS

WEAK_FACE = 1e-3
"""A face whose admittance is below this fraction of h |y| of the better-conducting of its
two voxels separates two regions of the deflation (an interface's charge transfer or
double layer, an insulator's capacitance next to a conductor); see ``_Grid.regions``."""


def _face_admittance(ya, yb, z_s, h):
    """Admittance (S) of faces between voxels of admittivity ya, yb with z_s in series;
    exactly 0 where z_s is infinite (a closed face) or a voxel does not conduct."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = 1.0 / (2.0 * ya * h) + 1.0 / (2.0 * yb * h) + z_s / h**2
        return np.where((ya != 0) & (yb != 0) & ~np.isinf(z_s), 1.0 / inv, 0.0)


def grid_impedance(
    admittivity: np.ndarray,
    spacing_m: float,
    interface_ohm_m2: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    *,
    rtol: float = 1e-10,
) -> complex:
    """Plane-to-plane impedance (ohm) of a box of complex admittivity [nz, ny, nx] (S/m).

    ``interface_ohm_m2`` holds complex area-specific impedances in series on each +x, +y,
    +z face (ohm m^2; rz of the last plane unused). Dirichlet planes below z = 0 and above
    z = nz - 1 (1 V), periodic in x and y. Small grids are solved directly; larger ones by
    deflated, multigrid-preconditioned COCG to ``rtol`` relative residual with the
    admittance settled, and directly where COCG does not converge (up to
    ``FALLBACK_MAX_CELLS`` voxels).
    """
    return _grid_solve(admittivity, spacing_m, interface_ohm_m2, rtol, direct=False)[0]


class _Grid:
    """The complex symmetric system of one frequency: face admittances (S) in the DC
    solver's layout (+x, +y periodic; gz[-1] to the top plane at 1 V, g_bottom to the
    bottom one at 0 V), the matrix and right-hand side."""

    def __init__(self, y, h, interface_ohm_m2):
        self.y = y
        nz, ny, nx = self.shape = y.shape
        zero = np.zeros(y.shape)
        rx, ry, rz = interface_ohm_m2 if interface_ohm_m2 is not None else (zero,) * 3
        self.gx = _face_admittance(y, np.roll(y, -1, 2), rx, h) if nx > 1 else zero + 0j
        self.gy = _face_admittance(y, np.roll(y, -1, 1), ry, h) if ny > 1 else zero + 0j
        self.gz = np.empty(y.shape, dtype=np.complex128)
        self.gz[:-1] = _face_admittance(y[:-1], y[1:], rz[:-1], h)
        self.gz[-1] = 2.0 * y[-1] * h
        self.g_bottom = 2.0 * y[0] * h
        index = np.arange(y.size).reshape(y.shape)
        self.pairs = [
            (index, np.roll(index, -1, 2), self.gx), (index, np.roll(index, -1, 1), self.gy),
            (index[:-1], index[1:], self.gz[:-1]),
        ]  # fmt: skip
        self.floating = self._pin_floating()
        gx, gy, gz = self.gx, self.gy, self.gz
        diag = gx + np.roll(gx, 1, 2) + gy + np.roll(gy, 1, 1) + gz
        diag[1:] += gz[:-1]
        diag[0] += self.g_bottom
        diag[self.floating] = 1.0  # V = 0 there: nothing flows in or out
        first = [p.ravel() for p, _, _ in self.pairs]
        second = [q.ravel() for _, q, _ in self.pairs]
        n = y.size
        rows = np.concatenate([np.arange(n)] + first + second)
        cols = np.concatenate([np.arange(n)] + second + first)
        vals = np.concatenate([diag.ravel()] + [-g.ravel() for _, _, g in self.pairs] * 2)
        self.a = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
        self.b = np.zeros(n, dtype=np.complex128)
        self.b[index[-1].ravel()] = self.gz[-1].ravel()
        self.h = h

    def _pin_floating(self) -> np.ndarray:
        """Voxels joined by no face to either Dirichlet plane (undoped PT enclosed by
        closed faces): as in the DC solve they carry no current, so their faces are
        zeroed and their potential is pinned (identity rows); left in, their rows sum to
        zero and the system is singular (LU returned potentials of ~1e35 and Z ~1e-32
        ohm). Returns the bool mask [nz, ny, nx]."""
        _, label = self._components([g != 0 for _, _, g in self.pairs])
        label = label.reshape(self.shape)
        held = np.union1d(label[0][self.g_bottom != 0], label[-1][self.gz[-1] != 0])
        floating = ~np.isin(label, held)
        # a face with a floating voxel on either side has one on both (they are joined),
        # so zeroing the faces each floating voxel owns (+x, +y, +z) zeroes them all
        for g in (self.gx, self.gy, self.gz):
            g[floating] = 0.0
        return floating

    def _components(self, keep: list[np.ndarray]) -> tuple[int, np.ndarray]:
        """Connected components of the voxels joined by the faces ``keep`` selects (one
        bool array per entry of ``pairs``): (count, label per voxel, flat)."""
        rows = np.concatenate([p[k] for (p, _, _), k in zip(self.pairs, keep, strict=True)])
        cols = np.concatenate([q[k] for (_, q, _), k in zip(self.pairs, keep, strict=True)])
        n = self.y.size
        graph = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
        return csgraph.connected_components(graph, directed=False)

    def admittance(self, x: np.ndarray) -> complex:
        """The cell's admittance (S) at 1 V from the face sums of g (Delta V)^2, no
        conjugation: stationary at the solution of the complex symmetric system (an
        error e in x moves it by e^T A e, second order), and free of the cancellation
        that spoils a plane current next to a highly conducting electrode (there 1 - V
        differs from 0 by ~1e-13 at low frequency, and the top-plane current read from
        it was off by 2.5e-6 on the 32^3 benchmark cell at 1e-2 Hz with the residual at
        round-off). Equals the current through either plane when x solves the system."""
        v = x.reshape(self.shape)
        total = np.sum(self.g_bottom * v[0] ** 2) + np.sum(self.gz[-1] * (1.0 - v[-1]) ** 2)
        total += np.sum(self.gz[:-1] * (v[1:] - v[:-1]) ** 2)
        total += np.sum(self.gx * (v - np.roll(v, -1, 2)) ** 2)
        total += np.sum(self.gy * (v - np.roll(v, -1, 1)) ** 2)
        return complex(total)

    def regions(self) -> tuple[int, np.ndarray]:
        """The regions joined by strong faces (``WEAK_FACE``): (count, region per voxel).

        These are the slow modes of the moduli's multigrid: an electrode's particle
        behind its charge-transfer faces, an electrolyte pocket behind a double layer or
        an insulator float with respect to each other, held only by weak (often nearly
        imaginary) admittances, and COCG then crawls along plateaus (measured on a rough
        electrode at 0.1 Hz: ~520 iterations to 1e-12, against 30 with these regions
        deflated).
        """
        strength = (np.abs(self.y) * self.h).ravel()
        return self._components([
            np.abs(g) >= WEAK_FACE * np.maximum(strength[p], strength[q])
            for p, q, g in self.pairs
        ])  # fmt: skip

    def coarse_matrix(self, k: int, region: np.ndarray) -> sp.csc_matrix:
        """W^T A W for the ``k`` regions (``region`` per voxel), summed from the faces
        between regions and the
        Dirichlet faces (a pinned voxel adds its identity row). Taking it from the
        assembled A instead sums each region's rows, differences of large diagonals and
        off-diagonals: on a conductor behind a double layer that left 1.4e-17 S where
        the faces give 3e-22 S."""
        rows, cols, vals = [], [], []
        for p, q, g in self.pairs:
            rp, rq, gv = region[p.ravel()], region[q.ravel()], g.ravel()
            cut = (rp != rq) & (gv != 0)
            rp, rq, gv = rp[cut], rq[cut], gv[cut]
            rows += [rp, rq, rp, rq]
            cols += [rp, rq, rq, rp]
            vals += [gv, gv, -gv, -gv]
        nz = self.shape[0]
        plane = self.y[0].size
        bottom = region[:plane]
        top = region[(nz - 1) * plane :]
        pinned = region[self.floating.ravel()]
        rows += [bottom, top, pinned]
        cols += [bottom, top, pinned]
        vals += [self.g_bottom.ravel(), self.gz[-1].ravel(), np.ones(pinned.size, complex)]
        return sp.csc_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(k, k)
        )


def _grid_solve(admittivity, spacing_m, interface_ohm_m2, rtol, direct):
    """:func:`grid_impedance` and whether it was solved directly; ``direct`` skips COCG
    (a spectrum's lower frequencies once COCG has failed at a higher one)."""
    grid = _Grid(np.asarray(admittivity, dtype=np.complex128), float(spacing_m),
                 interface_ohm_m2)  # fmt: skip
    n = grid.y.size
    if n <= DIRECT_MAX_CELLS or (direct and n <= FALLBACK_MAX_CELLS):
        v = _lu_solve(grid.a, grid.b)
        direct = True
    else:
        try:
            v = _cocg(grid.a, grid.b, _Preconditioner(grid), rtol, grid.admittance)
        except RuntimeError as exc:
            if n > FALLBACK_MAX_CELLS:
                raise RuntimeError(
                    f"{exc}; the grid of {n} voxels is too large for the sparse LU fallback "
                    f"(at most {FALLBACK_MAX_CELLS}): raise --f-min above this frequency, "
                    "or analyze a narrower lattice"
                ) from None
            v = _lu_solve(grid.a, grid.b)
            direct = True
    return 1.0 / grid.admittance(v), direct


def _lu_solve(a, b):
    """Sparse LU with the minimum-degree ordering of A^T + A (the matrix is structurally
    symmetric): 36 s against SuperLU's default column ordering's 61 s on a 48 x 24 x 24
    rough cell (measured, both cores busy)."""
    return spla.splu(a.tocsc(), permc_spec="MMD_AT_PLUS_A").solve(b)


class _Preconditioner:
    """Deflated multigrid, A-DEF2 of Tang, Nabben, Vuik and Erlangga (J. Sci. Comput. 39,
    340, 2009): with Q = W (W^T A W)^-1 W^T on the regions W,

        P r = (I - Q A) M r + Q r,

    M the V-cycle of the face admittances' moduli (real symmetric, applied to the real
    and imaginary parts). COCG then starts from x0 = Q b, as A-DEF2 requires."""

    def __init__(self, grid: _Grid):
        self.a = grid.a
        self.shape = grid.shape
        moduli = Faces(np.abs(grid.gx), np.abs(grid.gy), np.abs(grid.gz), np.abs(grid.g_bottom))
        self.multigrid = MultigridPreconditioner(moduli)
        nz, ny, nx = self.shape
        self._work = np.zeros((nz + 2) * ny * nx)
        self._out = np.empty_like(self._work)
        k, region = grid.regions()
        n = region.size
        self.w = sp.csr_matrix((np.ones(n), (np.arange(n), region)), shape=(n, k))
        self.coarse = spla.splu(grid.coarse_matrix(k, region))

    def deflate(self, r: np.ndarray) -> np.ndarray:
        """Q r: the exact solution within the span of the regions."""
        return self.w @ self.coarse.solve(np.asarray(self.w.T @ r))

    def _half(self, part: np.ndarray) -> np.ndarray:
        nz, ny, nx = self.shape
        self._work.reshape(nz + 2, ny, nx)[1:-1] = part.reshape(self.shape)
        self.multigrid.apply(self._work, self._out)
        return self._out.reshape(nz + 2, ny, nx)[1:-1].reshape(-1).copy()  # out is reused

    def __call__(self, r: np.ndarray) -> np.ndarray:
        m = self._half(r.real) + 1j * self._half(r.imag)
        return m + self.deflate(r - self.a @ m)  # Q linear: one coarse solve


def _cocg(a, b, precondition: _Preconditioner, rtol: float, admittance,
          max_iter: int = 5000):  # fmt: skip
    """Solve the complex symmetric system a x = b by preconditioned COCG from x0 = Q b.

    ``admittance(x)`` gives the cell's stationary admittance; the iteration stops at
    relative residual ``rtol`` with the admittance settled to ``ADMITTANCE_TOL``. Raises
    RuntimeError when it does not converge.
    """
    x = precondition.deflate(b)
    r = b - a @ x
    b_norm = _norm(b) or 1.0
    r_norm = _norm(r)
    z = precondition(r)
    p = z.copy()
    rho = np.dot(r, z)  # no conjugation: the bilinear form of complex symmetric matrices
    history = []  # the admittance over the consecutive iterations with residual <= rtol
    for _ in range(max_iter):
        q = a @ p
        pq = np.dot(p, q)
        if pq == 0 or not np.isfinite(pq):  # breakdown: say so now, not 5000 steps later
            break
        alpha = rho / pq
        r_norm = np.sqrt(cocg_update(x, r, p, q, alpha))  # x += alpha p, r -= alpha q
        # the admittance costs about a matrix-vector product: read only once it matters
        if r_norm <= rtol * b_norm:
            history.append(admittance(x))
            if len(history) > SETTLE_ITERATIONS and abs(
                history[-1] - history[-1 - SETTLE_ITERATIONS]
            ) <= ADMITTANCE_TOL * abs(history[-1]):
                return x
        else:
            history.clear()
        z = precondition(r)
        rho_new = np.dot(r, z)
        if rho_new == 0 and not r.any():  # solved exactly
            return x
        if rho_new == 0 or not np.isfinite(rho_new):
            break
        cocg_direction(p, z, rho_new / rho)  # p = z + beta p
        rho = rho_new
    raise RuntimeError(
        f"COCG did not reach relative residual {rtol:g} with a settled admittance in "
        f"{max_iter} iterations or broke down (now {r_norm / b_norm:.2e})"
    )


def _norm(v: np.ndarray) -> float:
    """2-norm of a contiguous complex vector as one real BLAS dot (np.linalg.norm takes
    ~70 times as long on complex input)."""
    flat = np.ascontiguousarray(v).view(np.float64)
    return float(np.sqrt(np.dot(flat, flat)))
