"""Transport-estimator inputs from TOML (validated like run configs)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import Field

from kmc import phases
from kmc.config._config import ConfigError, parse_toml, read_text, validate_model
from kmc.config._strict import StrictModel
from kmc.transport._morphology import TransportParameters
from kmc.transport._recrystallization import Recrystallization

NonNeg = Annotated[float, Field(ge=0, le=1e12)]


class _Conductivity(StrictModel):
    amorphous_peo: NonNeg
    crystalline_peo: NonNeg
    void: NonNeg = 0.0
    cathode: NonNeg
    anode: NonNeg
    deposit_cathode: NonNeg
    deposit_anode: NonNeg
    pt_floating: NonNeg | None = None
    """PT connected to no electrode (never doped); needed for runs with chemistry."""
    membrane_gate: NonNeg | None = None
    """The plane standing for the continuum membrane between two lattice windows."""


class _ExchangeCurrent(StrictModel):
    cathode: NonNeg
    anode: NonNeg


Positive = Annotated[float, Field(gt=0, le=1e12)]


class _Recrystallization(StrictModel):
    nucleation_constant_K2: Positive
    melting_temperature_K: Annotated[float, Field(gt=0, le=1000)]
    melting_range_K: Annotated[float, Field(gt=0, le=200)]
    max_fraction: Annotated[float, Field(ge=0, le=0.9)]
    domain_diameter_m: Annotated[float, Field(gt=0, le=1e-3)]
    heat_of_fusion_J_per_mol: Positive
    repeat_unit_volume_m3_per_mol: Positive
    diluent_molar_volume_m3_per_mol: Positive
    flory_huggins_chi: Annotated[float, Field(ge=-10, le=10)] = 0.0
    avrami_exponent: Annotated[float, Field(ge=1, le=4)]
    half_time_s: Positive
    hold_time_s: Annotated[float, Field(ge=0, le=1e12)]
    loading_volume_fraction: Annotated[float, Field(ge=0, lt=1)]


Relative = Annotated[float, Field(ge=1, le=1e6)]


class _Permittivity(StrictModel):
    """Relative permittivity per phase (impedance only); phases left out: 1."""

    amorphous_peo: Relative = 5.0
    crystalline_peo: Relative = 5.0
    void: Relative = 1.0
    membrane_gate: Relative = 5.0


class _PerElectrode(StrictModel):
    cathode: Annotated[float, Field(ge=0, le=100)]
    anode: Annotated[float, Field(ge=0, le=100)]


class _CpeExponent(StrictModel):
    cathode: Annotated[float, Field(ge=0.5, le=1)] = 1.0
    anode: Annotated[float, Field(ge=0.5, le=1)] = 1.0


class _Transport(StrictModel):
    temperature_K: Annotated[float, Field(gt=0, le=1000)] = 313.15
    membrane_thickness_m: Annotated[float, Field(gt=0, le=1)]
    electrode_area_m2: Annotated[float, Field(gt=0, le=10)]
    # lists, not tuples: strict validation takes a TOML array as a list only
    probe_fractions: Annotated[
        list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=2, max_length=2)
    ]
    conductivity_S_per_m: _Conductivity
    exchange_current_A_per_m2: _ExchangeCurrent
    pt_doped: Annotated[list[bool], Field(min_length=2, max_length=2)] = [True, True]
    recrystallization: _Recrystallization | None = None
    permittivity_relative: _Permittivity = _Permittivity()
    double_layer_capacitance_F_per_m2: _PerElectrode = _PerElectrode(cathode=0.2, anode=0.2)
    double_layer_cpe_exponent: _CpeExponent = _CpeExponent()
    """A constant-phase double layer (exponent alpha < 1) where a user asks for one; the
    default 1 is an ideal capacitor, so that the dispersion comes from the geometry."""
    blocking: Annotated[list[bool], Field(min_length=2, max_length=2)] = [False, False]
    """Whether the (cathode, anode) blocks Li+ at the measurement, in addition to the run
    config's electrode kinds (a blocking electrode has no DC interfacial resistance and
    a double layer only in the impedance)."""


class _File(StrictModel):
    transport: _Transport


DEFAULT_FILE = "transport_peo_40C.toml"


def load_transport_parameters(path: str | Path | None = None) -> TransportParameters:
    """Read a transport TOML file (default: the packaged PEO 40 degC set)."""
    if path is None:
        text = resources.files("kmc.data").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")
        source = f"kmc/data/{DEFAULT_FILE}"
    else:
        text, source = read_text(path, "transport file"), str(path)
    t = validate_model(_File, parse_toml(text, source), source).transport
    lo, hi = t.probe_fractions
    if not lo < hi:
        raise ConfigError(f"{source}: transport.probe_fractions = {[lo, hi]}: need lower < upper")
    code = {name: c for c, name in phases.PHASE_NAMES.items()}
    sigma = {
        code[name]: value
        for name, value in t.conductivity_S_per_m.model_dump().items()
        if value is not None  # phases a file leaves out are reported if they occur
    }
    i0 = t.exchange_current_A_per_m2
    recryst = None
    if t.recrystallization is not None:
        recryst = Recrystallization(**t.recrystallization.model_dump())
        if recryst.melting_temperature_K <= t.temperature_K:
            raise ConfigError(
                f"{source}: transport.recrystallization.melting_temperature_K = "
                f"{recryst.melting_temperature_K}: must lie above transport.temperature_K = "
                f"{t.temperature_K} (the PEO recrystallizes at the measurement temperature)"
            )
    return TransportParameters(
        conductivity_S_per_m=sigma,
        exchange_current_A_per_m2=(i0.cathode, i0.anode),
        temperature_K=t.temperature_K,
        membrane_thickness_m=t.membrane_thickness_m,
        electrode_area_m2=t.electrode_area_m2,
        probe_fractions=(lo, hi),
        pt_doped=tuple(t.pt_doped),
        recrystallization=recryst,
        permittivity_relative={
            code[name]: value for name, value in t.permittivity_relative.model_dump().items()
        },
        double_layer_F_per_m2=(
            t.double_layer_capacitance_F_per_m2.cathode,
            t.double_layer_capacitance_F_per_m2.anode,
        ),
        double_layer_cpe_exponent=(
            t.double_layer_cpe_exponent.cathode,
            t.double_layer_cpe_exponent.anode,
        ),
        blocking=tuple(t.blocking),
    )
