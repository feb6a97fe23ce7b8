"""Time-series observables computed from the engine state at each sample.

Each observable has a name, a unit and a fixed shape per sample, so the HDF5 writer can
create its dataset before the first sample exists.
"""

from __future__ import annotations

import numpy as np

from kmc import phases
from kmc.kernels import layout as L
from kmc.simulation._engine import LatticeEngine


def observable_specs(
    n_species: int, resolves_surfaces: bool = False
) -> dict[str, tuple[tuple[int, ...], str, str, str]]:
    """name -> (shape per sample, dtype, unit, description). A surface-resolved run
    (reactions with ``surface``) also counts the reactions on each electrode's film."""
    film = {
        "reaction_events_on_film": (
            (n_species, 2), "int64", "1",
            "reactions per species on the doped PT of each electrode (of reaction_events)",
        ),
    }  # fmt: skip
    return (film if resolves_surfaces else {}) | {
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
        "reaction_events": engine.model.by_electrode(engine.react_events),
        "injections": engine.inj_events.copy(),
        "exits": engine.exit_events.copy(),
    }
    if engine.model.resolves_surfaces:
        out["reaction_events_on_film"] = engine.react_events[:, phases.FILM_CHANNEL :].copy()
    out.update(film_metrics(engine.phase, engine.model))
    return out


def chemistry_specs() -> dict[str, tuple[tuple[int, ...], str, str, str]]:
    """Observables of the chemistry and the protocol (zero where a run has none)."""
    return {
        "potential": ((), "float64", "V", "cell voltage V = E_c - E_a + I R (protocol)"),
        "electrode_potential": ((2,), "float64", "V", "cathode, anode potential vs Li/Li+"),
        "protocol_time": (
            (),
            "float64",
            "s",
            "protocol clock: simulated time x compression + frozen plateaus",
        ),
        "cycles": ((), "int64", "1", "completed protocol cycles"),
        "electron_transfers": (
            (2,),
            "int64",
            "1",
            "electrons passed by the chemistry per electrode (oxidation "
            "+ film coupling + doping held)",
        ),
        "oxidation_electrons": ((2,), "int64", "1", "electrons of oxidation events"),
        "film_coupling_electrons": (
            (2,),
            "int64",
            "1",
            "electrons of chains coupling into a doped film",
        ),
        "doping_electrons": ((2,), "int64", "1", "doping charge held by the PT (electrons)"),
        "faradaic_charge": ((2,), "float64", "C", "e x electron transfers, per electrode"),
        "capacitive_charge": ((), "float64", "C", "cathode double-layer charge"),
        "charge": (
            (),
            "float64",
            "C",
            "cumulative charge through the cathode of the simulated area",
        ),
        "current_density": (
            (),
            "float64",
            "A/m^2",
            "cathode current (anodic > 0), mean over the last sample interval",
        ),
        "faradaic_current": (
            (2,),
            "float64",
            "A/m^2",
            "faradaic current density of cathode, anode (anodic > 0; the "
            "anode's is Li plating/stripping); mean over the interval",
        ),
        "capacitive_current": (
            (2,),
            "float64",
            "A/m^2",
            "double-layer current density of cathode, anode (the Li "
            "anode's double layer is not resolved: 0)",
        ),
        "monomer_count": ((2,), "int64", "1", "monomers in the cathode / anode window"),
        "radical_count": ((2,), "int64", "1", "radical cations per window"),
        "oligomer_count": ((2,), "int64", "1", "soluble oligomers per window"),
        "oligomer_units": ((2,), "int64", "1", "monomer units in soluble oligomers per window"),
        "pt_sites": ((3,), "int64", "1", "PT sites connected to cathode, anode, floating"),
        "pt_units": ((), "int64", "1", "monomer units in PT"),
        "decayed_units": ((), "int64", "1", "monomer units lost to radical decay"),
        "reservoir_units": ((), "float64", "1", "monomer units in the continuum reservoir"),
        "contact_fraction": ((2,), "float64", "1", "electrode faces meeting material"),
        "electroactive_area": ((2,), "float64", "m^2", "faces of active conductor and PEO"),
        "short_circuits": ((), "int64", "1", "PT joins that connected both electrodes"),
    }


def chemistry_sample(engine: LatticeEngine, driver) -> dict[str, np.ndarray]:
    """Values of :func:`chemistry_specs` (``driver``: the ProtocolDriver, or None)."""
    from kmc.simulation import _protocol as P

    model = engine.model
    c = engine.counters
    nz = model.dims[2]
    split = model.gate_z if model.gate_z >= 0 else nz // 2
    roles = model.chem_species
    out: dict[str, np.ndarray] = {}
    for name, role in (("monomer_count", 0), ("radical_count", 1), ("oligomer_count", 2)):
        n = np.zeros(2, dtype=np.int64)
        if roles[role] >= 0:
            z = engine.pz[engine.members[roles[role], : engine.counts[roles[role]]]]
            n[:] = [np.count_nonzero(z < split), np.count_nonzero(z >= split)]
        out[name] = n
    units = np.zeros(2, dtype=np.int64)
    if roles[2] >= 0:
        ids = engine.members[roles[2], : engine.counts[roles[2]]]
        low = engine.pz[ids] < split
        units[:] = [engine.plength[ids[low]].sum(), engine.plength[ids[~low]].sum()]
    out["oligomer_units"] = units
    phase = engine.phase
    out["pt_sites"] = np.array(
        [np.count_nonzero(phase == code) for code in phases.PT_PHASES], dtype=np.int64
    )
    out["pt_units"] = np.int64(c[L.C_PT_UNITS])
    out["decayed_units"] = np.int64(c[L.C_DECAYED_UNITS])
    out["short_circuits"] = np.int64(c[L.C_SHORTS])
    out["contact_fraction"] = phases.contact_fraction(phase)
    if driver is None:
        zero = np.float64(0.0)
        z2i = np.zeros(2, dtype=np.int64)
        out.update(
            potential=zero, electrode_potential=np.zeros(2),
            protocol_time=np.float64(engine.time_s), cycles=np.int64(0),
            electron_transfers=z2i, oxidation_electrons=z2i, film_coupling_electrons=z2i,
            doping_electrons=z2i, faradaic_charge=np.zeros(2),
            capacitive_charge=zero, charge=zero, current_density=zero,
            faradaic_current=np.zeros(2), capacitive_current=np.zeros(2),
            reservoir_units=zero, electroactive_area=np.zeros(2),
        )  # fmt: skip
        return out
    st = engine.protocol_state
    transfers = driver.electron_transfers()
    q_far = driver.faradaic_charge_C()
    q_cap = float(st[P.P_CAP_CHARGE])
    t = driver.protocol_time_s()
    dt = t - st[P.P_LAST_TIME]
    per = 1.0 / (dt * driver.area_sim_m2) if dt > 0 else 0.0
    i_far = (q_far[0] - st[P.P_LAST_CHARGE]) * per
    i_cap = (q_cap - st[P.P_LAST_CAP]) * per
    st[P.P_LAST_CHARGE] = q_far[0]
    st[P.P_LAST_CAP] = q_cap
    st[P.P_LAST_TIME] = t
    out.update(
        potential=np.float64(st[P.P_POTENTIAL]),
        electrode_potential=np.array([st[P.P_CATHODE_V], st[P.P_ANODE_V]]),
        protocol_time=np.float64(t),
        cycles=np.int64(st[P.P_CYCLES]),
        electron_transfers=transfers,
        oxidation_electrons=driver.oxidation_electrons(),
        film_coupling_electrons=driver.film_coupling_electrons(),
        doping_electrons=driver.doping_electrons(),
        faradaic_charge=q_far,
        capacitive_charge=np.float64(q_cap),
        charge=np.float64(q_far[0] + q_cap),
        current_density=np.float64(i_far + i_cap),
        faradaic_current=np.array([i_far, -(i_far + i_cap)]),
        capacitive_current=np.array([i_cap, 0.0]),
        reservoir_units=np.float64(driver.reservoir_units()),
        electroactive_area=np.array([driver.electroactive_area_m2(e) for e in (0, 1)]),
    )
    return out
