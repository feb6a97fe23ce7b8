"""Time-series observables computed from the engine state at each sample.

Each observable has a name, a unit and a fixed shape per sample, so the HDF5 writer can
create its dataset before the first sample exists.
"""

from __future__ import annotations

import numpy as np

from kmc import phases
from kmc.engine import LatticeEngine
from kmc.kernels import layout as L


def observable_specs(n_species: int) -> dict[str, tuple[tuple[int, ...], str, str, str]]:
    """name -> (shape per sample, dtype, unit, description)."""
    return {
        "events": ((), "int64", "1", "attempted events, null events included"),
        "accepted_hops": ((), "int64", "1", "hops that moved a particle"),
        "null_events": ((), "int64", "1", "rejected attempts (blocked hop or injection)"),
        "species_count": ((n_species,), "int64", "1", "mobile particles per species"),
        "reaction_events": ((n_species, 2), "int64", "1", "reactions per species, electrode"),
        "injections": ((n_species, 2), "int64", "1", "particles entered per species, end"),
        "exits": ((n_species, 2), "int64", "1", "particles left per species, end"),
        "deposit_sites": ((2,), "int64", "1", "deposit sites per electrode (cathode, anode)"),
        "film_thickness_mean": ((2,), "float64", "m", "mean deposit height per electrode"),
        "film_thickness_max": ((2,), "float64", "m", "largest deposit height per electrode"),
        "coverage": ((2,), "float64", "1", "fraction of electrode face covered by deposit"),
    }


def deposit_height(phase: np.ndarray, model, electrode: int) -> np.ndarray:
    """Deposit height per column over an electrode (sites), [ny, nx] int.

    The distance from the electrode face to the farthest deposit site of that electrode
    in the column, 0 without deposit. ``electrode``: 0 cathode, 1 anode (must exist).
    """
    nz = phase.shape[0]
    t = model.config.boundaries.electrode_thickness_sites
    mask = phase == phases.DEPOSIT_PHASE[electrode]
    has = mask.any(axis=0)
    if model.electrode_end[electrode] == 0:
        return np.where(has, nz - np.argmax(mask[::-1], axis=0) - t, 0)
    return np.where(has, nz - t - np.argmax(mask, axis=0), 0)


def film_metrics(phase: np.ndarray, model) -> dict[str, np.ndarray]:
    """Deposit height, coverage and site count per electrode from a phase array [z, y, x].

    Heights as in :func:`deposit_height`; coverage is the fraction of sites in the first
    layer off the electrode face that are deposit.
    """
    a = model.config.lattice.spacing_m
    nz = phase.shape[0]
    t = model.config.boundaries.electrode_thickness_sites
    mean = np.zeros(2)
    top = np.zeros(2)
    cover = np.zeros(2)
    sites = np.zeros(2, dtype=np.int64)
    for e, end in enumerate(model.electrode_end):
        mask = phase == phases.DEPOSIT_PHASE[e]
        sites[e] = int(mask.sum())
        if end < 0 or sites[e] == 0:
            continue
        height = deposit_height(phase, model, e)
        mean[e] = height.mean() * a
        top[e] = height.max() * a
        cover[e] = mask[t if end == 0 else nz - t - 1].mean()
    return {
        "deposit_sites": sites,
        "film_thickness_mean": mean,
        "film_thickness_max": top,
        "coverage": cover,
    }


def sample(engine: LatticeEngine) -> dict[str, np.ndarray]:
    """All observables of ``observable_specs`` for the current state."""
    c = engine.counters
    out = {
        "events": np.int64(c[L.C_EVENTS]),
        "accepted_hops": np.int64(c[L.C_HOPS]),
        "null_events": np.int64(c[L.C_NULL]),
        "species_count": engine.counts.copy(),
        "reaction_events": engine.react_events.copy(),
        "injections": engine.inj_events.copy(),
        "exits": engine.exit_events.copy(),
    }
    out.update(film_metrics(engine.phase, engine.model))
    return out
