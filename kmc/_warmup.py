"""Compile every kernel once (and fill Numba's on-disk cache)."""

from __future__ import annotations

import numpy as np

_WARMUP_CONFIG = """
[lattice]
shape = [{nx}, 4, 6]
spacing_m = 1e-8
[boundaries]
bottom = "cathode"
top = "{top}"
[[species]]
name = "a"
diffusivity_m2_per_s = 1e-16
initial_occupancy = 0.2
reservoir_occupancy = {res}
reactions = [{{ electrode = "cathode", rate_per_s = 1.0 }}]
[run]
duration_s = 1.0
sample_interval_s = 0.5
"""


def compile_kernels() -> None:
    """Run tiny systems through every kernel: the event loop (with a reservoir and with
    two electrodes), the estimator's face builder and multigrid solver (an image
    large enough for one coarse level, so every level kernel runs) and the impedance
    solver's vector updates."""
    from kmc.config._config import parse_config
    from kmc.simulation._engine import LatticeEngine
    from kmc.simulation._model import Model

    for top, res in (("reservoir", 0.1), ("anode", 0.0)):
        cfg = parse_config(_WARMUP_CONFIG.format(nx=4, top=top, res=res))
        eng = LatticeEngine(Model.from_config(cfg), seed=0)
        eng.run(np.inf, 100)
    from kmc.transport import effective_conductivity

    sigma = np.random.default_rng(0).choice([0.01, 1.0], size=(16, 16, 16))
    effective_conductivity(sigma, 1e-8)
    # with interface resistances (contiguous arrays: another specialization), as
    # `kmc analyze` solves the morphology
    r = np.full(sigma.shape, 1e-9)
    effective_conductivity(sigma, 1e-8, face_resistance=(r, r, r))
    # COCG's fused vector updates (impedance spectra of grids above the direct solve's)
    from kmc.kernels._krylov import cocg_direction, cocg_update

    v = np.ones(4, dtype=np.complex128)
    cocg_update(v, v.copy(), v, v, 0.5 + 0.5j)
    cocg_direction(v, v.copy(), 0.5 + 0.5j)
