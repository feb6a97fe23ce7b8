"""Config section ``[electrodes]``: what each electrode is, electrochemically.

Each electrode has a potential against a Li/Li+ reference; the cell voltage is
E_cathode - E_anode plus the ohmic drop (docs/CHEMISTRY.md, "Electrode potentials").
Kinds:

* ``blocking``: Li+-blocking (stainless steel). No Li+ faradaic current crosses it; its
  potential moves as its double layer charges and as the reactions of the chemistry
  (monomer oxidation, PT doping) pass charge. No exchange current.
* ``intercalation``: an intercalation cathode (LiFePO4). Li+-reversible only where it has
  capacity at its potential, its plateau ``plateau_V`` (vs Li/Li+); below the plateau it
  is fully lithiated and behaves as a blocking electrode. The model does not carry the
  (de)intercalation current itself, so a protocol must keep the cathode below its plateau
  (checked).
* ``lithium``: Li metal, Li+-reversible: plating and stripping at ~0 V vs Li/Li+, its
  overpotential from Butler-Volmer on its own exchange current.

Only a cathode of kind ``blocking`` or ``intercalation`` and an anode of kind ``lithium``
are modelled (the cells of the paper); other pairs are refused with a named error.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from kmc.config._strict import StrictModel

ElectrodeKind = Literal["blocking", "intercalation", "lithium"]

LITHIUM_POTENTIAL_BOUND_V = 0.5
"""|E| a Li metal electrode can reach here (V vs Li/Li+): the exchange-current check below
keeps its overpotential far smaller; an oxidation whose onset lies above this bound can
never run at a Li electrode."""


class Electrode(StrictModel):
    """One electrode's electrochemical kind and its parameters."""

    kind: ElectrodeKind
    """'blocking' (Li+-blocking, e.g. stainless steel), 'intercalation' (e.g. LiFePO4:
    reversible on its plateau only) or 'lithium' (Li metal, reversible at ~0 V)."""
    exchange_current_A_per_m2: Annotated[float, Field(gt=0, le=1e6)] | None = None
    """Li+ exchange current density (A/m^2) of a 'lithium' electrode; None: ideally
    non-polarizable (no overpotential). Not allowed on a blocking electrode."""
    transfer_coefficient: Annotated[float, Field(gt=0, lt=1)] = 0.5
    """Anodic transfer coefficient of the Li+ reaction (Butler-Volmer)."""
    plateau_V: Annotated[list[Annotated[float, Field(ge=0, le=6)]], Field(min_length=2,
                         max_length=2)] | None = None  # fmt: skip
    """[low, high] (V vs Li/Li+) where an 'intercalation' electrode is Li+-reversible."""

    @model_validator(mode="after")
    def _check(self) -> Electrode:
        if self.kind == "blocking" and self.exchange_current_A_per_m2 is not None:
            raise ValueError(
                "exchange_current_A_per_m2 is set on a blocking electrode: a Li+-blocking "
                "electrode passes no Li+ faradaic current, so it has no exchange current "
                "(remove it, or use kind = 'lithium')"
            )
        if self.kind == "intercalation":
            if self.plateau_V is None:
                raise ValueError("kind = 'intercalation' needs plateau_V = [low, high] (V)")
            if not self.plateau_V[0] < self.plateau_V[1]:
                raise ValueError(f"plateau_V = {self.plateau_V}: low must be below high")
            if self.exchange_current_A_per_m2 is not None:
                raise ValueError(
                    "exchange_current_A_per_m2 on an intercalation electrode: the model "
                    "keeps it below its plateau, where it is fully lithiated and blocking; "
                    "its exchange current belongs to the transport (measurement) file"
                )
        elif self.plateau_V is not None:
            raise ValueError(f"plateau_V is for kind = 'intercalation', not {self.kind!r}")
        return self


class Electrodes(StrictModel):
    """The two electrodes. Without the section: a blocking cathode and an ideal
    (non-polarizable) Li metal anode."""

    cathode: Electrode = Electrode(kind="blocking")
    anode: Electrode = Electrode(kind="lithium")
    electrolyte_conductivity_S_per_m: Annotated[float, Field(gt=0, le=1e3)] | None = None
    """Ionic conductivity of the membrane during the polymerization stage (S/m), for the
    ohmic drop I R between the electrodes (R = thickness / (sigma A)); None: no drop."""

    @model_validator(mode="after")
    def _check(self) -> Electrodes:
        if self.cathode.kind == "lithium":
            raise ValueError(
                "electrodes.cathode.kind = 'lithium': a Li metal working electrode is not "
                "modelled (its potential would sit at ~0 V, below every oxidation onset); "
                "use 'blocking' or 'intercalation'"
            )
        if self.anode.kind != "lithium":
            raise ValueError(
                f"electrodes.anode.kind = {self.anode.kind!r}: only a Li metal anode "
                "('lithium') is modelled (it is the cell's reference, ~0 V vs Li/Li+)"
            )
        return self
