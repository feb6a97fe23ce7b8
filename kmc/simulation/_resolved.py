"""The resolved model of a config, in lattice and physical units (`kmc config show`).

A lattice unit is a packet of molecules on a site of edge a; the rates the engine uses
are per site. This lists each of them with the physical quantity it stands for at this
spacing, so that a user can see what changing ``lattice.spacing_m`` does (docs/MODEL.md,
"Coarse-graining"). A config may give each of these in either form; ``given_as``
says which (a physical one is derived for the spacing, kmc/config/_physical.py):

* hop rate Gamma = D / a^2 (1/s), field bias u = q e a E / kT;
* an electrode reaction's k (1/s) is a heterogeneous rate constant k0 = k a (m/s), its
  lattice Damkoehler number Da = k a^2 / D;
* the coupling rate k_c (1/s, a pair of adjacent radicals) is a bimolecular constant
  k_bi = k_c N_A a^3 (m^3/(mol s); x 1000 in L/(mol s));
* the sticking rate (1/s per touching face) is a heterogeneous k_s = k a (m/s);
* ``electrons_per_oxidation`` is the packet: molecules per lattice unit (one electron
  each for the oxidation), and an occupancy c_site is a concentration
  c = c_site x molecules / (N_A a^3) (mol/m^3).
"""

from __future__ import annotations

from kmc import phases
from kmc._constants import AVOGADRO_PER_MOL
from kmc.config._physical import monomer_concentration_mol_per_m3
from kmc.simulation._model import Model, reaction_channels


def resolved_model(model: Model) -> dict:
    """Every per-site rate with its physical equivalent at this spacing (SI units in the
    key names), the packet size, and the expected monomer units per window."""
    cfg = model.config
    a = cfg.lattice.spacing_m
    site_volume_mol = AVOGADRO_PER_MOL * a**3  # N_A a^3: m^3/mol of one site's volume
    ch = cfg.chemistry
    molecules = ch.electrons_per_oxidation if ch is not None else 1
    out: dict = {
        "lattice": {"dims_xyz": list(model.dims), "spacing_m": a, "ndim": model.ndim},
        "species": {},
    }
    for i, sp in enumerate(cfg.species):
        entry = {
            "hop_rate_per_s": float(model.hop_base_rate_per_s[i]),
            "field_bias_u": float(model.field_bias[i]),
            "initial_occupancy": sp.initial_occupancy,
            "initial_concentration_mol_per_m3": sp.initial_occupancy * molecules / site_volume_mol,
            "reactions": {},
        }
        for r in sp.reactions:
            c = reaction_channels(r, model.resolves_surfaces)[0]
            where = r.electrode if r.surface == "any" else phases.channel_label(c, True)
            entry["reactions"][where] = {
                "given_as": _form(r.rate_constant_m_per_s),
                "rate_per_s": r.rate_per_s,
                "rate_constant_m_per_s": _given(r.rate_constant_m_per_s, r.rate_per_s * a),
                "damkohler": float(model.damkohler[i, c]),
                "onset_potential_V": r.onset_potential_V,
            }
        out["species"][sp.name] = entry
    if ch is not None:
        c = monomer_concentration_mol_per_m3(cfg)
        out["chemistry"] = {
            "molecules_per_unit": molecules,
            "loading_given_as": _form(c),
            "monomer_concentration_mol_per_m3": c,
            "coupling_given_as": _form(ch.coupling_rate_constant_L_per_mol_s),
            "sticking_given_as": _form(ch.sticking_rate_constant_m_per_s),
            "coupling_rate_per_s": ch.coupling_rate_per_s,
            "coupling_rate_constant_L_per_mol_s": _given(
                ch.coupling_rate_constant_L_per_mol_s,
                ch.coupling_rate_per_s * site_volume_mol * 1e3,
            ),
            "sticking_rate_per_s": ch.sticking_rate_per_s,
            "sticking_rate_constant_m_per_s": _given(
                ch.sticking_rate_constant_m_per_s, ch.sticking_rate_per_s * a
            ),
            "radical_decay_rate_per_s": ch.radical_decay_rate_per_s,
            "precipitation_length": ch.precipitation_length,
        }
    if cfg.membrane is not None:
        nx, ny, _ = model.dims
        # at most: every site between the electrode layer and the gate (less any that the
        # cathode's particles or voids take)
        window_sites = nx * ny * (cfg.membrane.gate_z - cfg.boundaries.electrode_thickness_sites)
        occ = cfg.membrane.monomer_occupancy
        out["membrane"] = {
            "thickness_m": cfg.membrane.thickness_m,
            "gate_z": cfg.membrane.gate_z,
            "monomer_occupancy": occ,
            "monomer_concentration_mol_per_m3": occ * molecules / site_volume_mol,
            "monomer_units_per_window_at_most": float(occ * window_sites),
        }
    return out


def _given(physical_value, from_per_site: float) -> float:
    """The physical value as the config wrote it, else the one the per-site value means."""
    return from_per_site if physical_value is None else physical_value


def _form(physical_value) -> str:
    """How a config gave a quantity: 'physical' (derived for the spacing) or 'per site'."""
    return "per site" if physical_value is None else "physical"


def describe(info: dict) -> str:
    """The resolved model as aligned text, with units."""
    lat = info["lattice"]
    nx, ny, nz = lat["dims_xyz"]
    lines = [f"lattice       {nx} x {ny} x {nz} sites of a = {lat['spacing_m']:.4g} m"]
    for name, sp in info["species"].items():
        lines.append(
            f"species {name}: hop rate D/a^2 = {sp['hop_rate_per_s']:.4g} 1/s, field bias "
            f"u = {sp['field_bias_u']:.4g}, initial occupancy {sp['initial_occupancy']:.4g} "
            f"per site = {sp['initial_concentration_mol_per_m3']:.4g} mol/m^3"
        )
        for electrode, r in sp["reactions"].items():
            onset = r["onset_potential_V"]
            lines.append(
                f"  at the {electrode}: k = {r['rate_per_s']:.4g} 1/s = k0 "
                f"{r['rate_constant_m_per_s']:.4g} m/s, Da = k a^2/D = {r['damkohler']:.4g}"
                + (f", onset {onset:.4g} V vs Li/Li+" if onset is not None else "")
                + f" (given {r['given_as']})"
            )
    ch = info.get("chemistry")
    if ch is not None:
        lines.append(
            f"chemistry     packet {ch['molecules_per_unit']} molecules per unit; coupling "
            f"{ch['coupling_rate_per_s']:.4g} 1/s per radical pair = "
            f"{ch['coupling_rate_constant_L_per_mol_s']:.4g} L/(mol s); sticking "
            f"{ch['sticking_rate_per_s']:.4g} 1/s = k_s "
            f"{ch['sticking_rate_constant_m_per_s']:.4g} m/s; radical decay "
            f"{ch['radical_decay_rate_per_s']:.4g} 1/s; precipitation at "
            f"{ch['precipitation_length']} units (given: loading {ch['loading_given_as']}, "
            f"coupling {ch['coupling_given_as']}, sticking {ch['sticking_given_as']})"
        )
    mem = info.get("membrane")
    if mem is not None:
        lines.append(
            f"membrane      {mem['thickness_m']:.4g} m, gate at z = {mem['gate_z']}; monomer "
            f"occupancy {mem['monomer_occupancy']:.4g} = "
            f"{mem['monomer_concentration_mol_per_m3']:.4g} mol/m^3; "
            f"at most {mem['monomer_units_per_window_at_most']:.4g} monomer units in the "
            "cathode window"
        )
    return "\n".join(lines)
