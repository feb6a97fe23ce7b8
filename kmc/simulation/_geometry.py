"""Initial host-phase arrays: flat electrodes, rough particle cathodes, membrane gate.

A particle cathode (LiFePO4 composite) is a current-collector slab with spheres of
log-uniformly distributed diameters packed above it to a solid fraction. The membrane
is a flat sheet laid on the particles: its face sits at the height where the wanted
fraction of the columns' highest particle sites touch it; below the face, what is not
particle is void (gaps), above it the PEO wraps the protruding particles. On a flat
cathode with ``initial_contact_fraction`` < 1 the membrane touches the electrode in
patches: the layer on the electrode is void except where a smoothed random field (the
membrane surface's undulation, ``contact_patch_diameter_m``) has its highest points.
"""

from __future__ import annotations

import numpy as np

from kmc import phases
from kmc.simulation._model import Model


def geometry_rng(seed: int) -> np.random.Generator:
    """The geometry's own stream (SeedSequence child 2; 0 and 1 are the engine's)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(2,))))


def initial_phase(model: Model, seed: int) -> np.ndarray:
    """Host phase per site, uint32[nz, ny, nx], for ``model``'s config and ``seed``."""
    nx, ny, nz = model.dims
    cfg = model.config
    phase = np.full((nz, ny, nx), phases.AMORPHOUS_PEO, dtype=np.uint32)
    for code, z0, z1 in model.electrode_slabs():
        phase[z0:z1] = code
    rng = geometry_rng(seed)
    if cfg.cathode.kind == "particles":
        _add_particles(phase, model, rng)
    elif cfg.cathode.contact_fraction < 1.0 and model.electrode_end[0] == 0:
        _add_contact_patches(phase, model, rng)
    if model.gate_z >= 0:
        phase[model.gate_z] = phases.MEMBRANE_GATE
    if cfg.crystallinity is not None:
        _add_crystalline_domains(phase, model, rng)
    return phase


def _add_crystalline_domains(phase: np.ndarray, model: Model, rng: np.random.Generator) -> None:
    """Spheres of crystalline PEO in the amorphous PEO until the equilibrium fraction of
    the stage temperature is reached (see ``Crystallinity``)."""
    cry = model.config.crystallinity
    target = cry.fraction_at(model.config.conditions.temperature_K)
    r = 0.5 * cry.domain_diameter_m / model.config.lattice.spacing_m
    grow_crystalline_domains(phase, target, r, rng)


def grow_crystalline_domains(
    phase: np.ndarray, target_fraction: float, radius_sites: float, rng: np.random.Generator
) -> None:
    """Turn amorphous PEO into crystalline PEO, sphere by sphere, in place.

    Sphere centres are drawn uniformly in the box (periodic in x and y); each sphere
    converts the amorphous sites whose centres lie within ``radius_sites`` (at least
    0.5). Spheres are added until the crystalline PEO (sites already crystalline
    included) is at least ``target_fraction`` of all PEO (amorphous + crystalline).
    The same ``rng`` state gives the same domains,
    and a smaller target gives a subset of a larger one's domains.
    """
    amorphous = phase == phases.AMORPHOUS_PEO
    n_crystalline = int((phase == phases.CRYSTALLINE_PEO).sum())
    n_peo = int(amorphous.sum()) + n_crystalline
    if target_fraction <= 0.0 or n_peo == 0:
        return
    nz, ny, nx = phase.shape
    r = max(radius_sites, 0.5)
    k = int(np.ceil(r))
    offsets = np.arange(-k - 1, k + 2)
    drawn = 0
    while n_crystalline < target_fraction * n_peo and drawn < 1_000_000:
        cx, cy, cz = rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(0, nz)
        drawn += 1
        # the sites of the sphere's bounding box, x and y wrapped
        z = np.floor(cz).astype(int) + offsets
        z = z[(z >= 0) & (z < nz)]
        y = np.floor(cy).astype(int) + offsets
        x = np.floor(cx).astype(int) + offsets
        dz = (z + 0.5 - cz)[:, None, None]
        dy = np.abs(np.mod(y, ny) + 0.5 - cy)
        dy = np.minimum(dy, ny - dy)[None, :, None]
        dx = np.abs(np.mod(x, nx) + 0.5 - cx)
        dx = np.minimum(dx, nx - dx)[None, None, :]
        inside = dz**2 + dy**2 + dx**2 <= r**2
        zi, yi, xi = np.nonzero(inside)
        zs, ys, xs = z[zi], np.mod(y[yi], ny), np.mod(x[xi], nx)
        hit = amorphous[zs, ys, xs]
        # a wrapped box narrower than the sphere lists a site twice: count it once
        sites = np.unique(np.ravel_multi_index((zs[hit], ys[hit], xs[hit]), phase.shape))
        amorphous.flat[sites] = False
        phase.flat[sites] = phases.CRYSTALLINE_PEO
        n_crystalline += sites.size


def particle_layer_depth(model: Model) -> int:
    """Sites of the particle layer above the current collector; ValueError naming the key
    when the layer does not fit below the membrane gate (or the top electrode)."""
    geo = model.config.cathode
    nz = model.dims[2]
    t = model.config.boundaries.electrode_thickness_sites
    depth = max(1, round(geo.particle_layer_thickness_m / model.config.lattice.spacing_m))
    limit = model.gate_z - 2 if model.gate_z >= 0 else nz - t - 2
    if t + depth > limit:
        raise ValueError(
            f"cathode.particle_layer_thickness_m = {geo.particle_layer_thickness_m} m "
            f"({depth} sites) does not fit below z = {limit}"
        )
    return depth


def _add_particles(phase: np.ndarray, model: Model, rng: np.random.Generator) -> None:
    geo = model.config.cathode
    nz, ny, nx = phase.shape
    a = model.config.lattice.spacing_m
    t = model.config.boundaries.electrode_thickness_sites
    depth = particle_layer_depth(model)
    solid = np.zeros((depth, ny, nx), dtype=bool)
    zz, yy, xx = np.mgrid[0:depth, 0:ny, 0:nx]
    target = geo.particle_volume_fraction * solid.size
    lo, hi = np.log(geo.particle_diameter_min_m), np.log(geo.particle_diameter_max_m)
    for _ in range(100_000):
        if solid.sum() >= target:
            break
        r = 0.5 * np.exp(rng.uniform(lo, hi)) / a  # radius in sites
        cx, cy = rng.uniform(0, nx), rng.uniform(0, ny)
        cz = rng.uniform(0, depth)
        dx = np.abs(xx + 0.5 - cx)
        dx = np.minimum(dx, nx - dx)  # periodic in x and y
        dy = np.abs(yy + 0.5 - cy)
        dy = np.minimum(dy, ny - dy)
        solid |= dx**2 + dy**2 + (zz + 0.5 - cz) ** 2 <= max(r, 0.5) ** 2
    has = solid.any(axis=0)
    top = np.where(has, depth - 1 - np.argmax(solid[::-1], axis=0), -1)
    # membrane face at z_f (layer index within the band): a column touches it when its
    # top reaches z_f - 1; choose z_f so that the wanted fraction of columns does
    z_f = int(np.quantile(top, 1.0 - geo.contact_fraction, method="higher")) + 1
    band = phase[t : t + depth]
    band[solid] = phases.CATHODE
    gap = ~solid
    gap[z_f:] = False
    band[gap] = phases.VOID


def _add_contact_patches(phase: np.ndarray, model: Model, rng: np.random.Generator) -> None:
    """A one-site gap layer on a flat cathode, void but for contact patches covering
    ``initial_contact_fraction`` of the face (periodic in x and y)."""
    from scipy.ndimage import gaussian_filter

    geo = model.config.cathode
    _, ny, nx = phase.shape
    t = model.config.boundaries.electrode_thickness_sites
    sigma = 0.5 * geo.contact_patch_diameter_m / model.config.lattice.spacing_m
    field = gaussian_filter(rng.standard_normal((ny, nx)), sigma=sigma, mode="wrap")
    n_contact = int(round(geo.contact_fraction * nx * ny))
    order = np.argsort(field, axis=None, kind="stable")[::-1]
    contact = np.zeros(nx * ny, dtype=bool)
    contact[order[:n_contact]] = True
    layer = phase[t]
    layer[~contact.reshape(ny, nx)] = phases.VOID


def membrane_face_z(phase: np.ndarray, model: Model) -> int:
    """z of the lowest layer holding no void and some electrolyte: the membrane face."""
    t = model.config.boundaries.electrode_thickness_sites
    nz = phase.shape[0]
    void = (phase == phases.VOID).any(axis=(1, 2))
    z = t
    while z < nz and void[z]:
        z += 1
    return z
