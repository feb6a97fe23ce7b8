"""Run configuration: the TOML schema, its validation with named errors, the
physical-unit chemistry and the shipped configs (first stage of the data flow:
config -> simulation -> run file -> analysis -> plots)."""

from kmc.config._chemistry import (
    CathodeGeometry,
    Chemistry,
    Crystallinity,
    Membrane,
    Protocol,
    Rate,
    Volt,
)
from kmc.config._config import (
    Boundaries,
    Boundary,
    Conditions,
    ConfigError,
    Lattice,
    Parallel,
    Reaction,
    Run,
    RunConfig,
    Species,
    load_config,
    parse_config,
    parse_toml,
    read_text,
    resolve_base,
    validate_model,
)
from kmc.config._electrodes import Electrode, ElectrodeKind, Electrodes
from kmc.config._physical import derive_lattice_quantities, monomer_concentration_mol_per_m3
from kmc.config._shipped import (
    ShippedConfig,
    ShippedError,
    configs_root,
    copy_shipped,
    find_shipped,
    shipped_configs,
)

__all__ = [
    "Boundaries",
    "Boundary",
    "CathodeGeometry",
    "Chemistry",
    "Conditions",
    "ConfigError",
    "Crystallinity",
    "Electrode",
    "ElectrodeKind",
    "Electrodes",
    "Lattice",
    "Membrane",
    "Parallel",
    "Protocol",
    "Rate",
    "Reaction",
    "Run",
    "RunConfig",
    "ShippedConfig",
    "ShippedError",
    "Species",
    "Volt",
    "configs_root",
    "copy_shipped",
    "derive_lattice_quantities",
    "find_shipped",
    "load_config",
    "monomer_concentration_mol_per_m3",
    "parse_config",
    "parse_toml",
    "read_text",
    "resolve_base",
    "shipped_configs",
    "validate_model",
]
