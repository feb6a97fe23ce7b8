"""Physical-unit chemistry: the per-site rates and the packet derived for the spacing.

A config may write each lattice quantity either per site (the lattice-model form) or as
the physical quantity it stands for; this module derives the per-site numbers from the
physical ones at the config's spacing a (docs/MODEL.md, "Coarse-graining"):

* an electrode reaction's heterogeneous rate constant k0 (m/s): k = k0 / a (1/s per
  touching particle: flux k0 c through a face a^2, c = 1/a^3 for one particle);
* the bimolecular coupling constant k_bi (L mol^-1 s^-1): k_c = k_bi / (1000 N_A a^3)
  (1/s per adjacent radical pair);
* the sticking rate constant k_s (m/s) of an oligomer on PT or electrode: k_s / a (1/s
  per touching face);
* the monomer loading, as a concentration c (mol/m^3) or as a weight fraction w of a host
  of density rho with the monomer's molar mass M (c = w rho / M), and the packet, as
  molecules per unit m or as units per site (the monomer's ``initial_occupancy``):
  occupancy = c N_A a^3 / m. One oxidation passes one electron per molecule of the
  packet, so ``electrons_per_oxidation`` = m.

A quantity given in both forms is a named error; so is a packet that puts more than one
unit on a site or less than one unit in the simulated volume.

The derivations run in decimal arithmetic on the numbers as written (each float's
shortest decimal, which is what the TOML said) and round once to binary at the end:
k0 = 4e-5 m/s at a = 25e-9 m is 1600.0 1/s exactly, where binary floating point gives
1600.0000000000002, and one ulp in a rate is enough to move a KMC trajectory. So a
physical value that is the exact decimal image of a per-site one (as in the shipped
paper configs) gives that per-site number bit for bit.
"""

from __future__ import annotations

import copy
import decimal
from typing import TYPE_CHECKING

from kmc._constants import AVOGADRO_PER_MOL

if TYPE_CHECKING:
    from kmc.config._config import RunConfig


def _set(section, name: str, value) -> None:
    """Fill a derived field of a (frozen) config section: once, during validation,
    before anything reads the config."""
    object.__setattr__(section, name, value)


def _both(a: str, b: str, where: str) -> ValueError:
    return ValueError(
        f"{where}.{a} and {where}.{b} are the same quantity in two forms (physical and per "
        "site); give one of them"
    )


_DECIMAL = decimal.Context(prec=40)  # far beyond a double's 17 digits: one rounding


def _dec(x: float) -> decimal.Decimal:
    """The decimal a float was written as (its shortest round-tripping repr)."""
    return decimal.Decimal(repr(float(x)))


def _quotient(num: float, *den: float, scale: int = 1) -> float:
    """num / (scale * prod(den)) in decimal arithmetic, rounded once to a double."""
    d = decimal.Decimal(scale)
    for x in den:
        d = _DECIMAL.multiply(d, _dec(x))
    return float(_DECIMAL.divide(_dec(num), d))


def derive_lattice_quantities(cfg: RunConfig) -> None:
    """Fill the per-site fields of ``cfg`` from its physical-unit fields, in place."""
    a = cfg.lattice.spacing_m
    _derive_rates(cfg, a)
    if cfg.chemistry is not None:
        _derive_packet(cfg, a)
    m = cfg.membrane
    if m is not None and m.monomer_occupancy is None:
        raise ValueError(
            "membrane.monomer_occupancy: required (units per site), unless the chemistry "
            "gives the loading in physical form (chemistry.monomer_concentration_mol_per_m3 "
            "or chemistry.monomer_weight_fraction)"
        )


def _derive_rates(cfg: RunConfig, a: float) -> None:
    for i, sp in enumerate(cfg.species):
        for j, r in enumerate(sp.reactions):
            where = f"species[{i}].reactions[{j}]"
            if r.rate_constant_m_per_s is not None:
                if r.rate_per_s is not None:
                    raise _both("rate_constant_m_per_s", "rate_per_s", where)
                _set(r, "rate_per_s", _quotient(r.rate_constant_m_per_s, a))
            elif r.rate_per_s is None:
                raise ValueError(
                    f"{where}: needs its rate, as rate_constant_m_per_s (k0, m/s) or "
                    "rate_per_s (per touching particle, 1/s)"
                )
    ch = cfg.chemistry
    if ch is None:
        return
    if ch.coupling_rate_constant_L_per_mol_s is not None:
        if ch.coupling_rate_per_s is not None:
            raise _both("coupling_rate_constant_L_per_mol_s", "coupling_rate_per_s", "chemistry")
        k_bi = ch.coupling_rate_constant_L_per_mol_s  # / (1000 N_A a^3)
        _set(ch, "coupling_rate_per_s", _quotient(k_bi, AVOGADRO_PER_MOL, a, a, a, scale=1000))
    elif ch.coupling_rate_per_s is None:
        raise ValueError(
            "chemistry: needs the coupling rate, as coupling_rate_constant_L_per_mol_s "
            "(L/(mol s)) or coupling_rate_per_s (per adjacent radical pair, 1/s)"
        )
    if ch.sticking_rate_constant_m_per_s is not None:
        if ch.sticking_rate_per_s is not None:
            raise _both("sticking_rate_constant_m_per_s", "sticking_rate_per_s", "chemistry")
        _set(ch, "sticking_rate_per_s", _quotient(ch.sticking_rate_constant_m_per_s, a))
    elif ch.sticking_rate_per_s is None:
        _set(ch, "sticking_rate_per_s", 0.0)


def monomer_concentration_mol_per_m3(cfg: RunConfig) -> float | None:
    """The loading a config gives in physical form (mol/m^3), or None."""
    ch = cfg.chemistry
    if ch is None:
        return None
    if ch.monomer_concentration_mol_per_m3 is not None:
        return ch.monomer_concentration_mol_per_m3
    if ch.monomer_weight_fraction is not None:
        rho, molar = ch.host_density_kg_per_m3, ch.monomer_molar_mass_kg_per_mol
        return ch.monomer_weight_fraction * rho / molar
    return None


def _molecules_per_site(cfg: RunConfig, a: float) -> decimal.Decimal | None:
    """c N_A a^3: monomer molecules per site at the physical loading (decimal), or None."""
    ch = cfg.chemistry
    if ch.monomer_concentration_mol_per_m3 is not None:
        c = _dec(ch.monomer_concentration_mol_per_m3 + 0.0)  # -0.0 + 0.0 is 0.0
    elif ch.monomer_weight_fraction is not None:
        mass = _DECIMAL.multiply(_dec(ch.monomer_weight_fraction), _dec(ch.host_density_kg_per_m3))
        c = _DECIMAL.divide(mass, _dec(ch.monomer_molar_mass_kg_per_mol))
    else:
        return None
    for x in (AVOGADRO_PER_MOL, a, a, a):
        c = _DECIMAL.multiply(c, _dec(x))
    return c


def _derive_packet(cfg: RunConfig, a: float) -> None:
    ch = cfg.chemistry
    weight_keys = ("monomer_weight_fraction", "host_density_kg_per_m3",
                   "monomer_molar_mass_kg_per_mol")  # fmt: skip
    given = [k for k in weight_keys if getattr(ch, k) is not None]
    if given and len(given) < 3:
        missing = [k for k in weight_keys if k not in given]
        raise ValueError(
            f"chemistry.{given[0]}: a loading by weight needs all of {', '.join(weight_keys)} "
            f"(missing: {', '.join(missing)})"
        )
    if given and ch.monomer_concentration_mol_per_m3 is not None:
        raise ValueError(
            "chemistry.monomer_concentration_mol_per_m3 and chemistry.monomer_weight_fraction "
            "both give the loading; give one of them"
        )
    if ch.molecules_per_unit is not None and ch.electrons_per_oxidation is not None:
        raise _both("molecules_per_unit", "electrons_per_oxidation", "chemistry")
    c = monomer_concentration_mol_per_m3(cfg)
    if c is None:
        if ch.electrons_per_oxidation is None:
            _set(ch, "electrons_per_oxidation", ch.molecules_per_unit or 1)
        return
    names = [s.name for s in cfg.species]
    i = names.index(ch.monomer) if ch.monomer in names else None
    if i is None:
        return  # named by the role check
    sp = cfg.species[i]
    exact = _molecules_per_site(cfg, a)  # molecules of monomer per site at this loading
    per_site = float(exact)
    if "initial_occupancy" in sp.model_fields_set:
        if ch.molecules_per_unit is not None or ch.electrons_per_oxidation is not None:
            key = "molecules_per_unit" if ch.molecules_per_unit else "electrons_per_oxidation"
            raise ValueError(
                f"chemistry.{key} and species[{i}].initial_occupancy both set the packet of "
                "a loading given in physical form; give one of them"
            )
        occupancy = sp.initial_occupancy
        if exact == 0:
            raise ValueError(
                f"species[{i}].initial_occupancy = {occupancy:g} cannot set the packet of a "
                "zero loading (a pristine cell): give chemistry.molecules_per_unit instead "
                "(the polymerized twin's packet) and no initial_occupancy"
            )
        if occupancy <= 0:
            raise ValueError(
                f"species[{i}].initial_occupancy = {occupancy:g} sets no packet for the "
                "physical loading; give a positive occupancy or chemistry.molecules_per_unit"
            )
        quotient = _DECIMAL.divide(exact, _dec(occupancy))
        molecules = int(quotient.to_integral_value(rounding=decimal.ROUND_HALF_EVEN))
        if molecules < 1:
            raise ValueError(
                f"species[{i}].initial_occupancy = {occupancy:g} at "
                f"{c:.4g} mol/m^3 and a = {cfg.lattice.spacing_m:g} m makes a packet of "
                f"{per_site / occupancy:.3g} molecules per unit, less than one; lower the "
                f"occupancy to at most {per_site:.3g}"
            )
    elif ch.molecules_per_unit is not None:
        molecules = ch.molecules_per_unit
        occupancy = float(_DECIMAL.divide(exact, decimal.Decimal(molecules)))
        if occupancy > 1:
            raise ValueError(
                f"chemistry.molecules_per_unit = {molecules} at {c:.4g} mol/m^3 and a = "
                f"{cfg.lattice.spacing_m:g} m puts {occupancy:.3g} units on a site; a site "
                f"holds one: at least {int(-(-per_site // 1))} molecules per unit"
            )
        _set(sp, "initial_occupancy", occupancy)
    else:
        raise ValueError(
            "chemistry: a loading in physical form needs its packet: chemistry."
            f"molecules_per_unit or species[{i}].initial_occupancy (units per site)"
        )
    _set(ch, "electrons_per_oxidation", molecules)  # one electron per molecule
    m = cfg.membrane
    if m is not None:
        if m.monomer_occupancy is not None:
            raise ValueError(
                "membrane.monomer_occupancy is set by the physical loading (chemistry."
                "monomer_concentration_mol_per_m3 or _weight_fraction); remove it"
            )
        _set(m, "monomer_occupancy", occupancy)
    nx, ny, nz = cfg.lattice.dims
    units = occupancy * nx * ny * (nz - 2 * cfg.boundaries.electrode_thickness_sites)
    if 0 < units < 1:  # none at all is a pristine cell's loading
        raise ValueError(
            f"the physical loading ({c:.4g} mol/m^3) with {molecules} molecules per unit "
            f"puts {units:.3g} monomer units in the simulated volume, less than one; use a "
            "smaller packet (chemistry.molecules_per_unit) or a larger lattice"
        )


PHYSICAL_INPUTS = {
    "chemistry": ("coupling_rate_constant_L_per_mol_s", "sticking_rate_constant_m_per_s",
                  "monomer_concentration_mol_per_m3", "monomer_weight_fraction",
                  "host_density_kg_per_m3", "monomer_molar_mass_kg_per_mol",
                  "molecules_per_unit"),
    "reactions": ("rate_constant_m_per_s",),
}  # fmt: skip
"""The physical-form inputs, each of which the validation turns into a per-site field."""


def simulated_fields(cfg: RunConfig) -> dict:
    """A validated config's fields less its physical-form inputs: what the engine runs."""
    d = cfg.model_dump()
    if d.get("chemistry") is not None:
        for key in PHYSICAL_INPUTS["chemistry"]:
            d["chemistry"].pop(key, None)
    for sp in d["species"]:
        for r in sp["reactions"]:
            for key in PHYSICAL_INPUTS["reactions"]:
                r.pop(key, None)
    return d


def same_simulation(a: RunConfig, b: RunConfig) -> bool:
    """Whether two validated configs run the same simulation, whichever form (per site,
    or physical values deriving the same per-site numbers) each gives its chemistry in:
    a run started from one resumes under the other."""
    return simulated_fields(a) == simulated_fields(b)


def has_physical_inputs(data: dict) -> bool:
    """Whether config data (as parsed from TOML) gives any quantity in physical form."""
    chem = data.get("chemistry") or {}
    return any(k in chem for k in PHYSICAL_INPUTS["chemistry"]) or any(
        k in r
        for sp in data.get("species", [])
        for r in sp.get("reactions", [])
        for k in PHYSICAL_INPUTS["reactions"]
    )


def per_site_data(data: dict, cfg: RunConfig) -> dict:
    """Config data (as parsed from TOML) with its physical-form inputs written as the
    per-site numbers ``cfg`` (its validated config) derived from them: the same
    simulation in the per-site form. Data without physical inputs comes back as it is.

    A sweep point's identity (and so its seed) is the hash of this, so a base config
    that moves from one form to the other, deriving the same numbers, keeps its points.
    """
    if not has_physical_inputs(data):
        return data
    out = copy.deepcopy(data)
    for i, sp in enumerate(out.get("species", [])):
        for j, r in enumerate(sp.get("reactions", [])):
            if r.pop("rate_constant_m_per_s", None) is not None:
                r["rate_per_s"] = cfg.species[i].reactions[j].rate_per_s
    ch, chem = cfg.chemistry, out.get("chemistry", {})
    given = {k for k in PHYSICAL_INPUTS["chemistry"] if chem.pop(k, None) is not None}
    if "coupling_rate_constant_L_per_mol_s" in given:
        chem["coupling_rate_per_s"] = ch.coupling_rate_per_s
    if "sticking_rate_constant_m_per_s" in given:
        chem["sticking_rate_per_s"] = ch.sticking_rate_per_s
    if given - {"coupling_rate_constant_L_per_mol_s", "sticking_rate_constant_m_per_s"}:
        chem["electrons_per_oxidation"] = ch.electrons_per_oxidation  # the packet
    if monomer_concentration_mol_per_m3(cfg) is not None:  # the loading's occupancies
        if cfg.membrane is not None:
            out.setdefault("membrane", {})["monomer_occupancy"] = cfg.membrane.monomer_occupancy
        i = [sp.name for sp in cfg.species].index(ch.monomer)
        out["species"][i]["initial_occupancy"] = cfg.species[i].initial_occupancy
    return out
