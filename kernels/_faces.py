"""Face conductances of a voxel conductivity image (finite volumes, harmonic means).

A face of area h^2 between voxel centres h apart has conductance
g = 1 / (1/(2 sigma_i h) + 1/(2 sigma_j h) + r_ij / h^2) (S); an insulating voxel
(sigma = 0) has no conducting faces. See ``kmc.transport._faces`` for the public builder.
"""

from numba import njit, prange


@njit(inline="always", cache=True)
def _face(a, b, r, h):
    """Two half-voxels (S/m, edge h in m) and an area-specific resistance r (ohm m^2)."""
    if a <= 0.0 or b <= 0.0:
        return 0.0
    return 1.0 / (1.0 / (2.0 * a * h) + 1.0 / (2.0 * b * h) + r / (h * h))


@njit(parallel=True, cache=True)
def face_conductances(s, rx, ry, rz, r_top, h, gx, gy, gz):
    """Conductances (S) of the +x, +y (periodic) and +z faces of every voxel of the
    conductivity image ``s`` [nz, ny, nx] (S/m), written into gx, gy, gz; the +z face of
    the last plane joins it to the top Dirichlet plane through ``r_top``."""
    nz, ny, nx = s.shape
    for z in prange(nz):
        for y in range(ny):
            yp = y + 1 if y < ny - 1 else 0
            for x in range(nx):
                xp = x + 1 if x < nx - 1 else 0
                a = s[z, y, x]
                gx[z, y, x] = _face(a, s[z, y, xp], rx[z, y, x], h)
                gy[z, y, x] = _face(a, s[z, yp, x], ry[z, y, x], h)
                if z < nz - 1:
                    gz[z, y, x] = _face(a, s[z + 1, y, x], rz[z, y, x], h)
                elif a > 0.0:
                    gz[z, y, x] = 1.0 / (1.0 / (2.0 * a * h) + r_top[y, x] / (h * h))
                else:
                    gz[z, y, x] = 0.0
