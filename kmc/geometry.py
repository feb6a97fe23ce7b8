"""Initial host-phase arrays: flat electrodes, rough particle cathodes, membrane gate.

A particle cathode (LiFePO4 composite) is a current-collector slab with spheres of
log-uniformly distributed diameters packed above it to a solid fraction. The membrane
is a flat sheet laid on the particles: its face sits at the height where the wanted
fraction of the columns' highest particle sites touch it; below the face, what is not
particle is void (gaps), above it the PEO wraps the protruding particles.
"""

from __future__ import annotations

import numpy as np

from kmc import phases
from kmc.model import Model


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
    peo = phase == phases.AMORPHOUS_PEO
    n_peo = int(peo.sum())
    if target <= 0.0 or n_peo == 0:
        return
    nz, ny, nx = phase.shape
    r = 0.5 * cry.domain_diameter_m / model.config.lattice.spacing_m
    zz, yy, xx = np.mgrid[0:nz, 0:ny, 0:nx]
    crystalline = np.zeros(phase.shape, dtype=bool)
    for _ in range(100_000):
        if crystalline.sum() >= target * n_peo:
            break
        cx, cy, cz = rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(0, nz)
        dx = np.abs(xx + 0.5 - cx)
        dx = np.minimum(dx, nx - dx)
        dy = np.abs(yy + 0.5 - cy)
        dy = np.minimum(dy, ny - dy)
        crystalline |= peo & (dx**2 + dy**2 + (zz + 0.5 - cz) ** 2 <= max(r, 0.5) ** 2)
    phase[crystalline] = phases.CRYSTALLINE_PEO


def _add_particles(phase: np.ndarray, model: Model, rng: np.random.Generator) -> None:
    geo = model.config.cathode
    nz, ny, nx = phase.shape
    a = model.config.lattice.spacing_m
    t = model.config.boundaries.electrode_thickness_sites
    depth = max(1, round(geo.particle_layer_thickness_m / a))
    limit = model.gate_z - 2 if model.gate_z >= 0 else nz - t - 2
    if t + depth > limit:
        raise ValueError(
            f"cathode.particle_layer_thickness_m = {geo.particle_layer_thickness_m} m "
            f"({depth} sites) does not fit below z = {limit}"
        )
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
    z_f = int(np.quantile(top, 1.0 - geo.initial_contact_fraction, method="higher")) + 1
    band = phase[t : t + depth]
    band[solid] = phases.CATHODE
    gap = ~solid
    gap[z_f:] = False
    band[gap] = phases.VOID


def membrane_face_z(phase: np.ndarray, model: Model) -> int:
    """z of the lowest layer holding no void and some electrolyte: the membrane face."""
    t = model.config.boundaries.electrode_thickness_sites
    nz = phase.shape[0]
    void = (phase == phases.VOID).any(axis=(1, 2))
    z = t
    while z < nz and void[z]:
        z += 1
    return z
