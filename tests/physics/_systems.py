"""Small builders of validation systems with unit hop rate (Gamma = 1/s, a = 10 nm)."""

import numpy as np

from kmc.config import parse_config
from kmc.simulation import LatticeEngine, SectorEngine
from kmc.simulation._model import BOLTZMANN_J_PER_K, ELEMENTARY_CHARGE_C, Model

A = 1e-8  # lattice spacing (m)
T = 300.0  # temperature (K)


def field_for_bias(u: float, charge: int = 1) -> float:
    """Field (V/m) that gives the bias u = z e a E / kT."""
    return u * BOLTZMANN_J_PER_K * T / (charge * ELEMENTARY_CHARGE_C * A)


def walkers(
    shape, n_walkers, *, u=0.0, seed=1, bottom="periodic", top="periodic", extra="",
    sectors=None, substep_hops=1.0,
):  # fmt: skip
    """Engine with ``n_walkers`` unit-rate walkers (charge +1) on a lattice of ``shape``;
    with ``sectors`` the sector engine (``[parallel]``) on that layout."""
    n_sites = int(np.prod(shape))
    text = f"""
[lattice]
shape = {list(shape)}
spacing_m = {A}
[boundaries]
bottom = "{bottom}"
top = "{top}"
[conditions]
temperature_K = {T}
electric_field_V_per_m = {field_for_bias(u)!r}
[[species]]
name = "walker"
charge = 1
diffusivity_m2_per_s = {A * A!r}
initial_occupancy = {n_walkers / n_sites!r}
{extra}
[run]
duration_s = 1.0
sample_interval_s = 1.0
"""
    if sectors is not None:
        text += f"[parallel]\nsectors = {list(sectors)}\nsubstep_hops = {substep_hops!r}\n"
        return SectorEngine(Model.from_config(parse_config(text)), seed=seed)
    return LatticeEngine(Model.from_config(parse_config(text)), seed=seed)


def displacement(before: np.ndarray, after: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Minimum-image displacement (sites) between two position arrays of one species."""
    d = after - before
    return d - box * np.round(d / box)
