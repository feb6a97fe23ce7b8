"""Transport-estimator inputs from TOML (validated like run configs)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from kmc import phases
from kmc.config import ConfigError, parse_toml, read_text, validate_model
from kmc.transport._morphology import TransportParameters

NonNeg = Annotated[float, Field(ge=0, le=1e12)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Conductivity(_Strict):
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


class _ExchangeCurrent(_Strict):
    cathode: NonNeg
    anode: NonNeg


class _Transport(_Strict):
    temperature_K: Annotated[float, Field(gt=0, le=1000)] = 313.15
    membrane_thickness_m: Annotated[float, Field(gt=0, le=1)]
    electrode_area_m2: Annotated[float, Field(gt=0, le=10)]
    probe_fractions: tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]]
    conductivity_S_per_m: _Conductivity
    exchange_current_A_per_m2: _ExchangeCurrent


class _File(_Strict):
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
    return TransportParameters(
        conductivity_S_per_m=sigma,
        exchange_current_A_per_m2=(i0.cathode, i0.anode),
        temperature_K=t.temperature_K,
        membrane_thickness_m=t.membrane_thickness_m,
        electrode_area_m2=t.electrode_area_m2,
        probe_fractions=(lo, hi),
    )
