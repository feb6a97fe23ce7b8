"""Config sections of the chemistry: roles, protocol, membrane reservoir, geometry.

All optional: a config without them runs the direct-deposition model of the core
engine. Units are SI or in the field name.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from kmc.config._strict import StrictModel

Rate = Annotated[float, Field(ge=0, le=1e15)]
Volt = Annotated[float, Field(ge=-10, le=10)]


class Chemistry(StrictModel):
    """Which species play which role, and the rates of the electrolyte chemistry."""

    monomer: str
    """Species name of the neutral monomer (one unit each)."""
    radical: str
    """Species name of radical cations (of a monomer or an oligomer; length tracked)."""
    oligomer: str
    """Species name of neutral soluble oligomers (length tracked, re-oxidizable)."""
    coupling_rate_per_s: Rate | None = None
    """Rate at which two radical cations on adjacent sites couple (1/s per pair), the
    per-site form; or give ``coupling_rate_constant_L_per_mol_s``."""
    coupling_rate_constant_L_per_mol_s: Annotated[float, Field(ge=0, le=1e14)] | None = None
    """Bimolecular coupling constant k_bi (L mol^-1 s^-1), the physical form:
    coupling_rate_per_s = k_bi / (1000 N_A a^3)."""
    sticking_rate_per_s: Rate | None = None
    """Rate at which an oligomer precipitates onto a touching PT or electrode site (1/s
    per touching face), the per-site form (default 0); or give
    ``sticking_rate_constant_m_per_s``."""
    sticking_rate_constant_m_per_s: Annotated[float, Field(ge=0, le=1e6)] | None = None
    """Heterogeneous sticking rate constant k_s (m/s), the physical form:
    sticking_rate_per_s = k_s / a."""
    sticking_rate_on_electrode_per_s: Rate | None = None
    """Rate at which an oligomer or radical precipitates onto a touching bare electrode
    site (1/s per touching face), where it differs from the rate onto PT
    (``sticking_rate_per_s`` then applies to PT only): a first deposit on bare metal
    harder (or easier) than on the polymer (docs/MODEL.md, "Nucleation and growth").
    Default: the same rate on every surface."""
    radical_decay_rate_per_s: Rate = 0.0
    """Side reaction: a radical cation is lost (to an inactive product) at this rate (1/s)."""
    precipitation_length: Annotated[int, Field(ge=2, le=1_000_000)] = 3
    """n*: an oligomer of at least this many monomer units is insoluble and becomes PT."""
    electrons_per_oxidation: Annotated[int, Field(ge=1, le=10**12)] | None = None
    """Electrons one oxidation event transfers: one per molecule (chain) of the packet a
    lattice unit stands for, so also the molecules per unit (default 1). Couplings then
    pass two electrons per coupling and the film its doping charge (docs/CHEMISTRY.md,
    "Faraday's law"). With a physical loading it is derived: give the packet as
    ``molecules_per_unit`` or as the monomer's ``initial_occupancy``."""
    molecules_per_unit: Annotated[int, Field(ge=1, le=10**12)] | None = None
    """The packet: monomer molecules one lattice unit stands for (the same number as
    ``electrons_per_oxidation``, which it replaces). With a physical loading the
    monomer's occupancy follows: c N_A a^3 / molecules_per_unit units per site."""
    monomer_concentration_mol_per_m3: Annotated[float, Field(ge=0, le=1e5)] | None = None
    """Monomer loading c (mol/m^3), the physical form of the monomer occupancy (of the
    windows and, with a membrane, of its continuum); 0 for a pristine cell, whose packet
    is then ``molecules_per_unit``."""
    monomer_weight_fraction: Annotated[float, Field(gt=0, lt=1)] | None = None
    """Monomer loading by weight w (kg monomer per kg electrolyte): c = w rho / M, with
    ``host_density_kg_per_m3`` rho and ``monomer_molar_mass_kg_per_mol`` M."""
    host_density_kg_per_m3: Annotated[float, Field(gt=0, le=3e4)] | None = None
    """Density of the electrolyte the monomer is dissolved in (kg/m^3)."""
    monomer_molar_mass_kg_per_mol: Annotated[float, Field(gt=0, le=1e3)] | None = None
    """Molar mass of the monomer (kg/mol; 2,2'-bithiophene: 0.16626)."""
    cathode_doping_onset_V: Volt = 0.0
    """PT connected to the cathode is doped (conducting, oxidizes neighbours) while the
    cathode's potential (V vs Li/Li+) is at or above this value."""
    anode_doping_onset_V: Volt = 0.0
    """The same for PT connected to the anode, at the anode's potential (V vs Li/Li+)."""
    doping_charge_per_ring: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Charge per ring (e) doped PT holds (p-doping level; ~0.25, textbook). It passes
    when PT joins a doped film or the film dopes, and returns when it undopes."""
    rings_per_monomer: Annotated[int, Field(ge=1, le=100)] = 1
    """Rings of one monomer molecule (2 for 2,2'-bithiophene), for the doping charge."""
    species_enter_gaps: bool = False
    """Monomer, radicals and oligomers may move into gaps (void) between the cathode and
    the membrane, e.g. because the monomer is liquid at the polymerization temperature
    (2,2'-bithiophene melts at 32-33 degC); lithium ions never conduct through gaps."""


class Protocol(StrictModel):
    """The electrochemical protocol. The cell voltage E(t) drives every reaction that
    has an ``onset_potential_V`` (Butler-Volmer, anodic branch)."""

    kind: Literal["constant", "potentiostatic", "potential_step", "cv", "galvanostatic"] = (
        "constant"
    )
    """'constant': fixed rates, no potential; 'potentiostatic': E = potential_V;
    'potential_step': E = rest_potential_V until step_time_s, then potential_V (a
    chronoamperometric transient: its current is the time series' current_density);
    'cv': triangle start_V -> vertex_V -> start_V at scan_rate; 'galvanostatic': set
    current, voltage window (see docs/CHEMISTRY.md for the window rules)."""
    potential_V: Volt | None = None
    rest_potential_V: Volt | None = None
    """potential_step: the potential held before the step (V)."""
    step_time_s: Annotated[float, Field(ge=0, le=1e12)] = 0.0
    """potential_step: simulated time of the step (s), a multiple of step_s."""
    start_V: Volt | None = None
    vertex_V: Volt | None = None
    scan_rate_V_per_s: Annotated[float, Field(gt=0, le=1e6)] | None = None
    cycles: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    current_A: Annotated[float, Field(gt=0, le=10)] | None = None
    """Galvanostatic current through the whole electrode (A)."""
    lower_V: Volt | None = None
    upper_V: Volt | None = None
    electrode_area_m2: Annotated[float, Field(gt=0, le=1)] | None = None
    """Geometric area of the real electrode (m^2); the simulated area gets the current
    I * (simulated area / electrode area)."""
    double_layer_capacitance_F_per_m2: Annotated[float, Field(gt=0, le=100)] | None = None
    """Areal double-layer capacitance of every electroactive face (F/m^2)."""
    time_compression: Annotated[float, Field(ge=1, le=1e9)] = 1.0
    """lambda >= 1: the protocol (scan, current, Butler-Volmer prefactors) runs lambda
    times faster than transport; reported, and tested for convergence."""
    step_s: Annotated[float, Field(gt=0, le=1e9)] = 1.0
    """Simulated time between protocol updates (potential, rates, doping, reservoir) (s)."""
    freeze_lattice_for_film_charge: bool = False
    """Galvanostatic: when the film's charge (doping, undoping, coupling) takes longer
    than a protocol step, pass the rest at the potential it holds with the lattice
    frozen (only the protocol clock and the continuum reservoir advance), instead of
    simulating the lattice through the plateau. A compression of the doping plateau:
    its effect is measured in docs/CHEMISTRY.md."""

    @model_validator(mode="after")
    def _check(self) -> Protocol:
        need = {
            "constant": (),
            "potentiostatic": ("potential_V",),
            "potential_step": ("potential_V", "rest_potential_V"),
            "cv": ("start_V", "vertex_V", "scan_rate_V_per_s", "cycles"),
            "galvanostatic": (
                "current_A", "lower_V", "upper_V", "cycles", "electrode_area_m2",
                "double_layer_capacitance_F_per_m2",
            ),
        }[self.kind]  # fmt: skip
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"kind = {self.kind!r} needs {', '.join(missing)} (missing)")
        if self.kind == "galvanostatic" and not self.lower_V < self.upper_V:
            raise ValueError(f"lower_V = {self.lower_V} must be below upper_V = {self.upper_V}")
        if self.kind == "cv" and self.vertex_V == self.start_V:
            raise ValueError(f"vertex_V = {self.vertex_V} equals start_V: no scan")
        if self.kind == "potential_step":
            steps = self.step_time_s / self.step_s
            if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
                raise ValueError(
                    f"step_time_s = {self.step_time_s} is not a multiple of step_s = "
                    f"{self.step_s}: the potential changes only between protocol steps"
                )
        elif self.step_time_s != 0.0 or self.rest_potential_V is not None:
            raise ValueError(
                f"step_time_s and rest_potential_V belong to kind = 'potential_step', "
                f"not {self.kind!r}"
            )
        return self

    def cycle_period_s(self) -> float | None:
        """Simulated duration of one CV cycle (s); None for other kinds."""
        if self.kind != "cv":
            return None
        return (
            2 * abs(self.vertex_V - self.start_V) / (self.scan_rate_V_per_s * self.time_compression)
        )


class Membrane(StrictModel):
    """Two lattice windows (cathode side, anode side) joined through the rest of the
    membrane, a 1D continuum diffusion field of the monomer (the reservoir)."""

    thickness_m: Annotated[float, Field(gt=0, le=1e-2)]
    """Real membrane thickness between the electrodes (m)."""
    gate_z: Annotated[int, Field(ge=1)]
    """z index of the plane that stands for the continuum: sites below it are the
    cathode window, above it the anode window."""
    monomer_occupancy: Annotated[float, Field(ge=0, le=1)] | None = None
    """Initial monomer occupancy of the continuum (units per site), uniform. Required,
    unless the chemistry gives the loading in physical form (then it is that loading)."""
    continuum_cells: Annotated[int, Field(ge=4, le=100_000)] = 100
    """Finite-volume cells of the 1D field."""


class CathodeGeometry(StrictModel):
    """Shape of the cathode surface."""

    kind: Literal["flat", "particles"] = "flat"
    """'flat' (stainless steel) or 'particles' (a LiFePO4 composite: spheres)."""
    particle_diameter_min_m: Annotated[float, Field(gt=0, le=1e-3)] = 50e-9
    particle_diameter_max_m: Annotated[float, Field(gt=0, le=1e-3)] = 200e-9
    """Diameters are drawn log-uniformly between min and max (m)."""
    particle_layer_thickness_m: Annotated[float, Field(gt=0, le=1e-3)] = 300e-9
    """Depth of the particle layer above the current collector (m)."""
    particle_volume_fraction: Annotated[float, Field(gt=0, le=0.7)] = 0.45
    """Solid fraction of the particle layer (LiFePO4 + carbon)."""
    initial_contact_fraction: Annotated[float, Field(gt=0, le=1)] | None = None
    """Fraction of the membrane face touching the cathode at assembly; the rest faces
    gaps (void) between the cathode and the membrane. Particles: the columns whose
    highest particle reaches the membrane face (default 0.3); flat: contact patches in a
    one-site gap layer (default 1.0, full contact)."""
    contact_patch_diameter_m: Annotated[float, Field(gt=0, le=1e-3)] = 100e-9
    """Flat cathode: size of the contact patches (m): the correlation length (2 sigma)
    of the smoothed random field whose highest points touch the membrane."""

    @property
    def contact_fraction(self) -> float:
        """``initial_contact_fraction`` or its default for the kind."""
        if self.initial_contact_fraction is not None:
            return self.initial_contact_fraction
        return 0.3 if self.kind == "particles" else 1.0

    @model_validator(mode="after")
    def _check(self) -> CathodeGeometry:
        if self.particle_diameter_min_m > self.particle_diameter_max_m:
            raise ValueError(
                f"particle_diameter_min_m = {self.particle_diameter_min_m} exceeds "
                f"particle_diameter_max_m = {self.particle_diameter_max_m}"
            )
        return self


class Crystallinity(StrictModel):
    """Crystalline PEO domains of the polymerization stage (they block monomer transport).

    Equilibrium rule: the crystalline fraction of the PEO is
    X(T) = max_fraction * clip((melting_temperature_K - T) / melting_range_K, 0, 1) at the
    stage temperature T (``conditions.temperature_K``), as spheres of
    ``domain_diameter_m``. Near and above the melting point (the paper's 60 degC) X = 0.
    """

    melting_temperature_K: Annotated[float, Field(gt=0, le=1000)] = 333.15
    """PEO melting point (K); ~60 degC for PEO-LiTFSI (docs/PARAMETERS.md, "Transport")."""
    melting_range_K: Annotated[float, Field(gt=0, le=200)] = 10.0
    """Width of the melting transition below the melting point (K)."""
    max_fraction: Annotated[float, Field(ge=0, le=0.9)] = 0.4
    """Crystalline fraction well below the melting point."""
    domain_diameter_m: Annotated[float, Field(gt=0, le=1e-3)] = 100e-9
    """Diameter of one crystalline domain (m)."""

    def fraction_at(self, temperature_K: float) -> float:
        """Equilibrium crystalline fraction of the PEO at ``temperature_K``."""
        x = (self.melting_temperature_K - temperature_K) / self.melting_range_K
        return self.max_fraction * min(max(x, 0.0), 1.0)
