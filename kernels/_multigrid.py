"""Matrix-free finite-volume operators and an aggregation multigrid (Numba).

A level is a 7-point stencil on a grid of nz x ny x nx cells. Every array of a level is
flat, C order over ``[nz + 2, ny, nx]``: planes 1..nz hold the cells, planes 0 and
nz + 1 are ghost planes (potential 0 = the Dirichlet planes). For cell index i:

* ``gx[i]`` joins i to its +x neighbour (periodic in x), ``gy[i]`` to +y (periodic),
* ``gz[i]`` joins i to i + plane (+z); ``gz`` of ghost plane 0 joins the bottom
  Dirichlet plane to the first cell plane, ``gz`` of plane nz the last one to the top,
* ``diag[i]`` is the sum of the cell's six face conductances, or 1 for a cell without
  faces (insulating or cut off), which makes its row the identity.

The operator is (A v)_i = diag_i v_i - sum_faces g v_j; the applied potential enters
through the right-hand side. In a periodic direction of size 1 a face would join a cell
to itself: such faces must be zero (the builders ensure it).

Coarse levels aggregate 2 x 2 x 2 cells; with piecewise-constant prolongation P the
Galerkin operator P^T A P is again such a stencil, whose faces are the sums of the fine
faces between two aggregates, so every level stays matrix-free.
"""

import numpy as np
from numba import njit, prange


@njit(inline="always", cache=True)
def _neighbours(gx, gy, gz, v, base, ybm, ybp, x, nx, plane):
    """sum over the six faces of cell (row ``base``, column x) of g * v(neighbour);
    ``ybm``/``ybp`` are the bases of the rows below and above (see _row_bases)."""
    i = base + x
    im = base + (x - 1 if x > 0 else nx - 1)
    ip = base + (x + 1 if x < nx - 1 else 0)
    jm = ybm + x
    jp = ybp + x
    return (
        gx[i] * v[ip] + gx[im] * v[im] + gy[i] * v[jp] + gy[jm] * v[jm]
        + gz[i] * v[i + plane] + gz[i - plane] * v[i - plane]
    )  # fmt: skip


@njit(inline="always", cache=True)
def _row_bases(z, y, ny, nx):
    plane = ny * nx
    base = z * plane + y * nx
    ybm = z * plane + (y - 1 if y > 0 else ny - 1) * nx
    ybp = z * plane + (y + 1 if y < ny - 1 else 0) * nx
    return base, ybm, ybp


@njit(parallel=True, cache=True)
def diagonal(gx, gy, gz, nz, ny, nx, diag):
    """diag = sum of face conductances (1 where a cell has none); ghost planes 1."""
    plane = ny * nx
    diag[:plane] = 1.0
    diag[(nz + 1) * plane :] = 1.0
    for z in prange(1, nz + 1):
        for y in range(ny):
            base, ybm, ybp = _row_bases(z, y, ny, nx)
            for x in range(nx):
                i = base + x
                im = base + (x - 1 if x > 0 else nx - 1)
                # accumulate in double precision: the diagonal must equal the sum of the
                # (possibly single-precision) faces exactly enough to conserve current
                d = np.float64(gx[i]) + np.float64(gx[im]) + np.float64(gy[i])
                d += np.float64(gy[ybm + x]) + np.float64(gz[i]) + np.float64(gz[i - plane])
                diag[i] = d if d > 0.0 else 1.0


@njit(parallel=True, cache=True)
def residual(gx, gy, gz, diag, b, v, nz, ny, nx, out):
    """out = b - A v on the cells; returns the 2-norm of out.

    Planes run in parallel; the norm is summed plane by plane in a fixed order, so the
    result does not depend on the number of threads.
    """
    plane = ny * nx
    partial = np.zeros(nz + 2)
    for z in prange(1, nz + 1):
        acc = 0.0
        for y in range(ny):
            base, ybm, ybp = _row_bases(z, y, ny, nx)
            for x in range(nx):
                i = base + x
                s = _neighbours(gx, gy, gz, v, base, ybm, ybp, x, nx, plane)
                r = b[i] - diag[i] * v[i] + s
                out[i] = r
                acc += r * r
        partial[z] = acc
    return np.sqrt(partial.sum())


@njit(parallel=True, cache=True)
def matvec(gx, gy, gz, diag, v, nz, ny, nx, out):
    """out = A v on the cells (planes in parallel)."""
    plane = ny * nx
    for z in prange(1, nz + 1):
        for y in range(ny):
            base, ybm, ybp = _row_bases(z, y, ny, nx)
            for x in range(nx):
                i = base + x
                s = _neighbours(gx, gy, gz, v, base, ybm, ybp, x, nx, plane)
                out[i] = diag[i] * v[i] - s


@njit(inline="always", cache=True)
def _relax_plane(gx, gy, gz, inv_diag, b, v, z, ny, nx, forward):
    """Red-black Gauss-Seidel over one cell plane: cells with x + y even, then odd
    (reversed for a backward sweep). Cells of one colour do not depend on each other,
    so the loop has no carried dependency and runs at full instruction throughput."""
    plane = ny * nx
    for step in range(2):
        colour = step if forward else 1 - step
        for yy in range(ny):
            y = yy if forward else ny - 1 - yy
            base, ybm, ybp = _row_bases(z, y, ny, nx)
            first = (colour + y) % 2
            n_x = (nx - first + 1) // 2
            for k in range(n_x):
                x = first + 2 * (k if forward else n_x - 1 - k)
                i = base + x
                s = _neighbours(gx, gy, gz, v, base, ybm, ybp, x, nx, plane)
                v[i] = (b[i] + s) * inv_diag[i]


@njit(parallel=True, cache=True)
def gauss_seidel(gx, gy, gz, inv_diag, b, v, nz, ny, nx, forward):
    """One zebra Gauss-Seidel sweep in place: odd cell planes, then even ones.

    Planes of one parity do not touch each other (z is not periodic), so they relax in
    parallel without races and the result does not depend on the thread count. The
    backward sweep is the exact reverse (even planes first, each plane reversed), so a
    forward sweep before and a backward sweep after the coarse correction make the
    V-cycle a symmetric preconditioner, as conjugate gradients needs.
    """
    for step in range(2):
        parity = step if forward else 1 - step
        n_planes = (nz - parity + 1) // 2
        for k in prange(n_planes):
            z = 1 + parity + 2 * k
            _relax_plane(gx, gy, gz, inv_diag, b, v, z, ny, nx, forward)


@njit(parallel=True, cache=True)
def cg_update(x, r, p, ap, alpha, nz, plane):
    """x += alpha p; r -= alpha ap; returns ||r||^2 (fixed-order partial sums)."""
    partial = np.zeros(nz + 2)
    for z in prange(1, nz + 1):
        acc = 0.0
        for i in range(z * plane, (z + 1) * plane):
            x[i] += alpha * p[i]
            ri = r[i] - alpha * ap[i]
            r[i] = ri
            acc += ri * ri
        partial[z] = acc
    return partial.sum()


@njit(parallel=True, cache=True)
def dot(a, b, nz, plane):
    """Cell-plane dot product with fixed-order partial sums."""
    partial = np.zeros(nz + 2)
    for z in prange(1, nz + 1):
        acc = 0.0
        for i in range(z * plane, (z + 1) * plane):
            acc += a[i] * b[i]
        partial[z] = acc
    return partial.sum()


@njit(parallel=True, cache=True)
def cg_direction(p, zvec, beta, nz, plane):
    """p = zvec + beta p on the cells."""
    for z in prange(1, nz + 1):
        for i in range(z * plane, (z + 1) * plane):
            p[i] = zvec[i] + beta * p[i]


@njit(cache=True)
def restrict(fine, nz, ny, nx, coarse, cny, cnx):
    """coarse = P^T fine: the sum of fine cells over each aggregate."""
    coarse[:] = 0.0
    cplane = cny * cnx
    for z in range(1, nz + 1):
        cz = (z - 1) // 2 + 1
        for y in range(ny):
            fb = (z * ny + y) * nx
            cb = cz * cplane + (y // 2) * cnx
            for x in range(nx):
                coarse[cb + x // 2] += fine[fb + x]


@njit(cache=True)
def prolong_add(coarse, cny, cnx, fine, nz, ny, nx, scale):
    """fine += scale * P coarse (piecewise constant over each aggregate)."""
    cplane = cny * cnx
    for z in range(1, nz + 1):
        cz = (z - 1) // 2 + 1
        for y in range(ny):
            fb = (z * ny + y) * nx
            cb = cz * cplane + (y // 2) * cnx
            for x in range(nx):
                fine[fb + x] += scale * coarse[cb + x // 2]


@njit(cache=True)
def assemble_dense(gx, gy, gz, diag, nz, ny, nx, a):
    """Dense matrix of the level operator on its cells (cell k = flat index - plane)."""
    plane = ny * nx
    a[:, :] = 0.0
    for z in range(1, nz + 1):
        for y in range(ny):
            base, ybm, ybp = _row_bases(z, y, ny, nx)
            for x in range(nx):
                i = base + x
                k = i - plane
                a[k, k] += diag[i]
                im = base + (x - 1 if x > 0 else nx - 1)
                ip = base + (x + 1 if x < nx - 1 else 0)
                for j, g in (
                    (ip, gx[i]), (im, gx[im]), (ybp + x, gy[i]), (ybm + x, gy[ybm + x]),
                    (i + plane, gz[i]), (i - plane, gz[i - plane]),
                ):  # fmt: skip
                    if plane <= j < (nz + 1) * plane:
                        a[k, j - plane] -= g


@njit(parallel=True, cache=True)
def copy_cells(src, dst, nz, plane):
    """dst = src on the cells (with a dtype cast); the ghost planes of dst are zeroed."""
    dst[:plane] = 0.0
    dst[(nz + 1) * plane :] = 0.0
    for z in prange(1, nz + 1):
        for i in range(z * plane, (z + 1) * plane):
            dst[i] = src[i]


@njit(cache=True)
def coarsen_faces(gx, gy, gz, nz, ny, nx, cgx, cgy, cgz, cny, cnx):
    """Galerkin faces of the 2x2x2-aggregated level: sums of fine faces between aggregates."""
    cgx[:] = 0.0
    cgy[:] = 0.0
    cgz[:] = 0.0
    cplane = cny * cnx
    for z in range(0, nz + 1):
        cz = 0 if z == 0 else (z - 1) // 2 + 1
        # a z-face leaves its aggregate when it is the bottom face or the cell is the
        # last of the aggregate (odd cell index or the top plane)
        z_leaves = z == 0 or (z - 1) % 2 == 1 or z == nz
        for y in range(ny):
            fb = (z * ny + y) * nx
            cb = cz * cplane + (y // 2) * cnx
            y_leaves = cny > 1 and (y % 2 == 1 or y == ny - 1)
            for x in range(nx):
                i = fb + x
                c = cb + x // 2
                if z_leaves:
                    cgz[c] += gz[i]
                if z == 0:
                    continue
                if cnx > 1 and (x % 2 == 1 or x == nx - 1):
                    cgx[c] += gx[i]
                if y_leaves:
                    cgy[c] += gy[i]
