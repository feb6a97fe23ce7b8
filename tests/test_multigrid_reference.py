"""The estimator's Numba kernels against slow pure-Python references on tiny grids.

``kmc.kernels._multigrid`` works on flat ghost-plane arrays and ``kmc.transport._faces``
on voxel images; the references below rebuild each result from the documented
definitions with plain loops over cells (explicit neighbour coordinates, a dense
operator matrix, an explicit aggregation matrix P), sharing no code with the kernels.
They differ from the kernels only in the order of floating-point sums, hence the
tolerance of 1e-12 relative (a few hundred ulps on sums of six terms of O(1)).

Shapes cover odd sizes (an aggregate of one cell at the end), a periodic direction of
size 2 (the +x and -x neighbour are the same cell; it coarsens to size 1) and size 1
(no faces in that direction).
"""

import numpy as np
import pytest

from kmc.kernels import _multigrid as mg
from kmc.transport._faces import faces_from_conductivity

SHAPES = [(5, 3, 5), (4, 4, 4), (3, 2, 1), (6, 1, 3)]
RTOL = 1e-12


def _random_level(shape, rng, holes=False):
    """Flat face arrays of a level in the kernels' layout, as ``_Level.from_faces`` builds
    them: random conductances, zero in a periodic direction of size 1; with ``holes``,
    some cells lose all their faces (insulating voxels: identity rows)."""
    nz, ny, nx = shape
    g = [rng.uniform(0.1, 2.0, (nz + 2, ny, nx)) for _ in range(3)]
    g[0][[0, -1]] = 0.0  # no x or y faces in the ghost planes
    g[1][[0, -1]] = 0.0
    g[2][-1] = 0.0  # gz of the top ghost plane joins nothing
    if nx == 1:
        g[0][:] = 0.0
    if ny == 1:
        g[1][:] = 0.0
    if holes:
        for z, y, x in [(1, 0, 0), (nz, ny - 1, nx - 1)]:
            g[0][z, y, x] = g[1][z, y, x] = g[2][z, y, x] = g[2][z - 1, y, x] = 0.0
            g[0][z, y, (x - 1) % nx] = 0.0
            g[1][z, (y - 1) % ny, x] = 0.0
    return [a.reshape(-1) for a in g]


def _cell_faces(gx, gy, gz, shape, z, y, x):
    """(neighbour (z, y, x), conductance) of the six faces of cell (z, y, x), z in 1..nz;
    a neighbour in plane 0 or nz + 1 is a Dirichlet plane."""
    nz, ny, nx = shape

    def idx(zz, yy, xx):
        return (zz * ny + yy) * nx + xx

    return [
        ((z, y, (x + 1) % nx), gx[idx(z, y, x)]),
        ((z, y, (x - 1) % nx), gx[idx(z, y, (x - 1) % nx)]),
        ((z, (y + 1) % ny, x), gy[idx(z, y, x)]),
        ((z, (y - 1) % ny, x), gy[idx(z, (y - 1) % ny, x)]),
        ((z + 1, y, x), gz[idx(z, y, x)]),
        ((z - 1, y, x), gz[idx(z - 1, y, x)]),
    ]


def _cells(shape):
    nz, ny, nx = shape
    return [(z, y, x) for z in range(1, nz + 1) for y in range(ny) for x in range(nx)]


def _reference_operator(gx, gy, gz, shape):
    """Dense operator on the cells (row k = cell k in C order) and the flat diagonal."""
    nz, ny, nx = shape
    n = nz * ny * nx
    a = np.zeros((n, n))
    diag = np.ones((nz + 2) * ny * nx)
    for k, (z, y, x) in enumerate(_cells(shape)):
        faces = _cell_faces(gx, gy, gz, shape, z, y, x)
        d = sum(g for _, g in faces)
        diag[(z * ny + y) * nx + x] = d if d > 0 else 1.0
        a[k, k] += d if d > 0 else 1.0
        for (zz, yy, xx), g in faces:
            if 1 <= zz <= nz:
                a[k, ((zz - 1) * ny + yy) * nx + xx] -= g
    return a, diag


def _flat(shape, cells_values):
    """Flat ghost-plane vector with ``cells_values`` on the cells and zero ghosts."""
    nz, ny, nx = shape
    v = np.zeros((nz + 2, ny, nx))
    v[1:-1] = np.reshape(cells_values, (nz, ny, nx))
    return v.reshape(-1)


def _aggregation(shape):
    """P: cells of the level -> cells of the 2x2x2-aggregated level (0/1 entries)."""
    nz, ny, nx = shape
    cz, cy, cx = (nz + 1) // 2, (ny + 1) // 2, (nx + 1) // 2
    p = np.zeros((nz * ny * nx, cz * cy * cx))
    for k, (z, y, x) in enumerate(_cells(shape)):
        p[k, (((z - 1) // 2) * cy + y // 2) * cx + x // 2] = 1.0
    return p, (cz, cy, cx)


@pytest.mark.parametrize("holes", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_operator_kernels_match_the_dense_reference(shape, holes):
    rng = np.random.default_rng(7)
    nz, ny, nx = shape
    gx, gy, gz = _random_level(shape, rng, holes)
    a_ref, diag_ref = _reference_operator(gx, gy, gz, shape)

    diag = np.empty_like(gx)
    mg.diagonal(gx, gy, gz, nz, ny, nx, diag)
    np.testing.assert_allclose(diag, diag_ref, rtol=RTOL)

    a = np.empty_like(a_ref)
    mg.assemble_dense(gx, gy, gz, diag, nz, ny, nx, a)
    np.testing.assert_allclose(a, a_ref, rtol=RTOL, atol=RTOL)
    if not holes:  # the Galerkin hierarchy relies on a symmetric operator
        np.testing.assert_array_equal(a, a.T)

    v_cells, b_cells = rng.normal(size=(2, nz * ny * nx))
    v, b = _flat(shape, v_cells), _flat(shape, b_cells)
    out = np.full_like(v, np.nan)
    mg.matvec(gx, gy, gz, diag, v, nz, ny, nx, out)
    np.testing.assert_allclose(out[ny * nx : -ny * nx], a_ref @ v_cells, rtol=RTOL, atol=RTOL)

    norm = mg.residual(gx, gy, gz, diag, b, v, nz, ny, nx, out)
    r_ref = b_cells - a_ref @ v_cells
    np.testing.assert_allclose(out[ny * nx : -ny * nx], r_ref, rtol=RTOL, atol=RTOL)
    assert norm == pytest.approx(np.linalg.norm(r_ref), rel=RTOL)


def _reference_gauss_seidel(a, b, v, shape, forward):
    """Sequential Gauss-Seidel over the cells in the order the kernel documents: odd
    planes, then even ones; in each plane cells with x + y even, then odd; rows and
    columns ascending. The backward sweep visits the same list reversed."""
    nz, ny, nx = shape
    order = [
        ((z - 1) * ny + y) * nx + x
        for parity in (0, 1)
        for z in range(1 + parity, nz + 1, 2)
        for colour in (0, 1)
        for y in range(ny)
        for x in range(nx)
        if (x + y) % 2 == colour
    ]
    v = v.copy()
    for k in order if forward else order[::-1]:
        v[k] = (b[k] - a[k] @ v + a[k, k] * v[k]) / a[k, k]
    return v


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_gauss_seidel_matches_a_sequential_sweep(shape, forward):
    """With odd nx (or ny) the first and last column of a row are neighbours of the same
    colour, so the result depends on the visiting order: this pins it down."""
    rng = np.random.default_rng(11)
    nz, ny, nx = shape
    gx, gy, gz = _random_level(shape, rng, holes=True)
    a_ref, diag = _reference_operator(gx, gy, gz, shape)
    v_cells, b_cells = rng.normal(size=(2, nz * ny * nx))
    v, b = _flat(shape, v_cells), _flat(shape, b_cells)
    mg.gauss_seidel(gx, gy, gz, 1.0 / diag, b, v, nz, ny, nx, forward)
    expected = _reference_gauss_seidel(a_ref, b_cells, v_cells, shape, forward)
    np.testing.assert_allclose(v[ny * nx : -ny * nx], expected, rtol=RTOL, atol=RTOL)


@pytest.mark.parametrize("shape", SHAPES)
def test_aggregation_kernels_are_p_transpose_and_p(shape):
    rng = np.random.default_rng(3)
    nz, ny, nx = shape
    p, cshape = _aggregation(shape)
    czn, cny, cnx = cshape
    fine_cells = rng.normal(size=nz * ny * nx)
    coarse = np.full((czn + 2) * cny * cnx, np.nan)
    mg.restrict(_flat(shape, fine_cells), nz, ny, nx, coarse, cny, cnx)
    np.testing.assert_allclose(coarse[cny * cnx : -cny * cnx], p.T @ fine_cells, rtol=RTOL)

    coarse_cells = rng.normal(size=p.shape[1])
    fine = _flat(shape, fine_cells)
    mg.prolong_add(_flat(cshape, coarse_cells), cny, cnx, fine, nz, ny, nx, 1.6)
    np.testing.assert_allclose(
        fine[ny * nx : -ny * nx], fine_cells + 1.6 * (p @ coarse_cells), rtol=RTOL
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_coarse_faces_give_the_galerkin_operator(shape):
    """The coarse level built from ``coarsen_faces`` is P^T A P, exactly as a stencil
    (every fine cell has faces, so no identity rows enter)."""
    rng = np.random.default_rng(5)
    nz, ny, nx = shape
    gx, gy, gz = _random_level(shape, rng)
    a_fine, _ = _reference_operator(gx, gy, gz, shape)
    p, cshape = _aggregation(shape)
    czn, cny, cnx = cshape
    size = (czn + 2) * cny * cnx
    cgx, cgy, cgz = (np.full(size, np.nan) for _ in range(3))
    mg.coarsen_faces(gx, gy, gz, nz, ny, nx, cgx, cgy, cgz, cny, cnx)
    a_coarse, _ = _reference_operator(cgx, cgy, cgz, cshape)
    np.testing.assert_allclose(a_coarse, p.T @ a_fine @ p, rtol=RTOL, atol=RTOL)


@pytest.mark.parametrize("shape", SHAPES)
def test_vector_kernels_match_numpy(shape):
    rng = np.random.default_rng(9)
    nz, ny, nx = shape
    plane, cells = ny * nx, slice(ny * nx, -ny * nx)
    x, r, p, ap, zvec = (rng.normal(size=(nz + 2) * plane) for _ in range(5))
    x0, r0, p0 = x.copy(), r.copy(), p.copy()

    assert mg.dot(x, r, nz, plane) == pytest.approx(x[cells] @ r[cells], rel=RTOL)
    rr = mg.cg_update(x, r, p, ap, 0.3, nz, plane)
    np.testing.assert_allclose(x[cells], x0[cells] + 0.3 * p[cells], rtol=RTOL)
    np.testing.assert_allclose(r[cells], r0[cells] - 0.3 * ap[cells], rtol=RTOL)
    assert rr == pytest.approx(r[cells] @ r[cells], rel=RTOL)
    np.testing.assert_array_equal(x[:plane], x0[:plane])  # ghosts untouched

    mg.cg_direction(p, zvec, 0.7, nz, plane)
    np.testing.assert_allclose(p[cells], zvec[cells] + 0.7 * p0[cells], rtol=RTOL)

    dst = np.full(x.shape, np.nan, dtype=np.float32)
    mg.copy_cells(x, dst, nz, plane)
    np.testing.assert_array_equal(dst[cells], x[cells].astype(np.float32))
    assert not dst[:plane].any() and not dst[-plane:].any()


def _series_face(sig_a, sig_b, r, h):
    """Two half-voxels and an area-specific resistance in series (module docstring)."""
    if sig_a <= 0 or sig_b <= 0:
        return 0.0
    return 1.0 / (1 / (2 * sig_a * h) + 1 / (2 * sig_b * h) + r / (h * h))


def test_faces_from_conductivity_match_the_series_formula():
    rng = np.random.default_rng(13)
    nz, ny, nx, h = 4, 3, 5, 25e-9
    sigma = rng.uniform(1e-4, 1.0, (nz, ny, nx))
    sigma[rng.random(sigma.shape) < 0.25] = 0.0  # insulating voxels
    rx, ry, rz = rng.uniform(0.0, 1e-3, (3, nz, ny, nx))
    r_bottom, r_top = rng.uniform(0.0, 1e-3, (2, ny, nx))
    f = faces_from_conductivity(sigma, h, face_resistance=(rx, ry, rz),
                                bottom_resistance=r_bottom, top_resistance=r_top)  # fmt: skip
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                s = sigma[z, y, x]
                exp_x = _series_face(s, sigma[z, y, (x + 1) % nx], rx[z, y, x], h)
                exp_y = _series_face(s, sigma[z, (y + 1) % ny, x], ry[z, y, x], h)
                if z < nz - 1:
                    exp_z = _series_face(s, sigma[z + 1, y, x], rz[z, y, x], h)
                else:  # to the top plane: one half-voxel and the plane's resistance
                    exp_z = 0.0 if s <= 0 else 1.0 / (1 / (2 * s * h) + r_top[y, x] / h**2)
                assert f.gx[z, y, x] == pytest.approx(exp_x, rel=RTOL)
                assert f.gy[z, y, x] == pytest.approx(exp_y, rel=RTOL)
                assert f.gz[z, y, x] == pytest.approx(exp_z, rel=RTOL)
    s0 = sigma[0]
    exp_b = np.where(s0 > 0, 1.0 / (1 / (2 * np.where(s0 > 0, s0, 1) * h) + r_bottom / h**2), 0)
    np.testing.assert_allclose(f.gz_bottom, exp_b, rtol=RTOL)
