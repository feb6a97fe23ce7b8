"""Run configuration: TOML in, validated pydantic model out.

Every quantity is SI or carries its unit in its name. Loading never executes code and
every error names the key path, the offending value and what is allowed.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from kmc._constants import BOLTZMANN_J_PER_K, ELEMENTARY_CHARGE_C
from kmc.config._chemistry import CathodeGeometry, Chemistry, Crystallinity, Membrane, Protocol
from kmc.config._electrodes import LITHIUM_POTENTIAL_BOUND_V, Electrodes
from kmc.config._physical import derive_lattice_quantities
from kmc.config._strict import StrictModel
from kmc.kernels._layout import MAX_PARTICLES

MAX_FIELD_BIAS = 100.0
"""Largest field bias per hop |u| = |z| e a E / kT a config may give a species."""

Boundary = Literal["cathode", "anode", "wall", "reservoir", "periodic"]


class ConfigError(ValueError):
    """A configuration problem a user can fix; the message says what and where."""


class Lattice(StrictModel):
    shape: Annotated[list[Annotated[int, Field(ge=1, le=32767)]], Field(min_length=2, max_length=3)]
    """Sites along x, y, z (3D) or x, z (2D). z is normal to the electrodes."""
    spacing_m: Annotated[float, Field(ge=1e-10, le=1e-3)]
    """Lattice spacing a (m); tens of nanometres for the paper's scenarios. At least
    0.1 nm: a site smaller than an atom is no coarse-grained packet of molecules."""

    @property
    def dims(self) -> tuple[int, int, int]:
        """(nx, ny, nz); ny = 1 in 2D."""
        if len(self.shape) == 2:
            return self.shape[0], 1, self.shape[1]
        return self.shape[0], self.shape[1], self.shape[2]

    @property
    def ndim(self) -> int:
        return len(self.shape)


class Boundaries(StrictModel):
    bottom: Boundary = "cathode"
    """What lies at z = 0."""
    top: Boundary = "reservoir"
    """What lies at z = nz - 1."""
    electrode_thickness_sites: Annotated[int, Field(ge=1)] = 1
    """Layers of electrode phase at each electrode end."""

    @model_validator(mode="after")
    def _check(self) -> Boundaries:
        if (self.bottom == "periodic") != (self.top == "periodic"):
            raise ValueError(
                f"bottom = {self.bottom!r} and top = {self.top!r}: 'periodic' must be set at "
                "both ends or at neither"
            )
        if self.bottom == self.top and self.bottom in ("cathode", "anode"):
            raise ValueError(f"bottom and top are both {self.bottom!r}: each electrode at one end")
        return self


class Conditions(StrictModel):
    temperature_K: Annotated[float, Field(ge=1, le=1000)] = 333.15
    """Temperature (K); 333.15 K = 60 degC, the paper's polymerization temperature."""
    electric_field_V_per_m: Annotated[float, Field(ge=-1e10, le=1e10)] = 0.0
    """Uniform field along +z (V/m): positive pushes cations from bottom to top."""


class Reaction(StrictModel):
    electrode: Literal["cathode", "anode"]
    """Reacts when touching this electrode or deposit connected to it."""
    rate_per_s: Annotated[float, Field(ge=0, le=1e15)] | None = None
    """Rate k per touching particle (1/s), the per-site form; or give
    ``rate_constant_m_per_s``."""
    rate_constant_m_per_s: Annotated[float, Field(ge=0, le=1e6)] | None = None
    """Heterogeneous rate constant k0 (m/s), the physical form: k = k0 / a at the
    lattice spacing a (docs/MODEL.md, "Coarse-graining")."""
    product: str = "deposit"
    """'deposit' (the site becomes conducting deposit), 'consume' (removed), or a species."""
    onset_potential_V: Annotated[float, Field(ge=-10, le=10)] | None = None
    """E_ox (V vs Li/Li+): with it the rate follows Butler-Volmer, k = rate_per_s *
    exp(alpha F (E - E_ox) / RT), E the potential of the reaction's own electrode;
    without, it is fixed."""
    transfer_coefficient: Annotated[float, Field(gt=0, le=1)] = 0.5
    """alpha of the Butler-Volmer law (anodic branch)."""
    surface: Literal["any", "electrode", "film"] = "any"
    """Which surface the reaction runs on: 'any' conductor of its electrode (the bare
    electrode and its doped, connected PT, one rate), the bare 'electrode' only, or the
    doped PT 'film' connected to it only. Giving 'electrode' and 'film' their own
    rates and onsets separates nucleation on bare metal from growth on the polymer
    (docs/MODEL.md, "Nucleation and growth"); a particle touching both reacts as on
    the film."""


class Species(StrictModel):
    name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=32)]
    charge: Annotated[int, Field(ge=-10, le=10)] = 0
    """Charge number z; neutral species do not feel the field."""
    diffusivity_m2_per_s: Annotated[float, Field(gt=0, le=1e-5)]
    """Diffusion coefficient D (m^2/s); hop rate per direction Gamma = D / a^2."""
    initial_occupancy: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Fraction of transport sites holding this species at t = 0."""
    reservoir_occupancy: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Occupancy held in the reservoir beyond a 'reservoir' boundary."""
    reactions: list[Reaction] = []


class Run(StrictModel):
    duration_s: Annotated[float, Field(gt=0, le=1e12)]
    """Simulated time to run (s)."""
    sample_interval_s: Annotated[float, Field(gt=0)]
    """Simulated time between time-series samples (s)."""
    snapshot_every_samples: Annotated[int, Field(ge=1)] = 10
    """Write a lattice snapshot every this many samples (and at the end)."""
    checkpoint_interval_wall_s: Annotated[float, Field(gt=0, le=1e6)] = 60.0
    """Wall-clock seconds between checkpoints; a crash loses at most this much work."""
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    """Root random seed; `kmc run --seed` overrides it."""

    @model_validator(mode="after")
    def _check(self) -> Run:
        if self.sample_interval_s > self.duration_s:
            raise ValueError(
                f"sample_interval_s = {self.sample_interval_s} exceeds duration_s = "
                f"{self.duration_s}: it must be at most the duration"
            )
        n = math.ceil(self.duration_s / self.sample_interval_s)
        if n > 10_000_000:
            raise ValueError(
                f"duration_s / sample_interval_s = {n} samples; at most 10000000 allowed"
            )
        return self


class Parallel(StrictModel):
    """How the sector-parallel engine splits the lattice (docs/ENGINE.md, "Sectors").

    Without this section a run uses the serial engine. With it, the result depends on
    the config and the seed only, never on the number of threads.
    """

    sectors: Annotated[
        list[Annotated[int, Field(ge=1, le=4096)]], Field(min_length=2, max_length=2)
    ]
    """Sectors along x and y; each is 2 x 2 cells, so nx / (2 sx) and ny / (2 sy) must be
    whole numbers of at least 2 columns."""
    substep_hops: Annotated[float, Field(gt=0.0, le=100.0)] = 1.0
    """Length of a sector sub-step as the expected hops of the fastest species in it:
    tau = substep_hops / (its total hop rate). The engine's one approximation; halving it
    is the convergence test (docs/ENGINE.md)."""


MIN_CELL_COLUMNS = 2
"""Narrowest cell (columns) of the sector engine: two concurrent cells must never reach
one site, and an event reaches a site's neighbours."""


MIN_TRANSIENT_SAMPLES = 20
"""A potential step's run samples its transient at least this often after the step."""


class RunConfig(StrictModel):
    lattice: Lattice
    boundaries: Boundaries = Boundaries()
    conditions: Conditions = Conditions()
    species: Annotated[list[Species], Field(min_length=1, max_length=100)]
    run: Run
    chemistry: Chemistry | None = None
    protocol: Protocol = Protocol()
    membrane: Membrane | None = None
    cathode: CathodeGeometry = CathodeGeometry()
    crystallinity: Crystallinity | None = None
    electrodes: Electrodes | None = None
    """What each electrode is (kind, exchange current); None: a blocking cathode and an
    ideal Li metal anode (see kmc/config/_electrodes.py)."""
    parallel: Parallel | None = None
    """Sector layout of the parallel engine; None: the serial engine."""

    @model_validator(mode="after")
    def _cross_checks(self) -> RunConfig:
        derive_lattice_quantities(self)  # per-site rates from physical ones, at this spacing
        names = [s.name for s in self.species]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"species[{i}].name = {name!r} is used twice; names are unique")
        nx, ny, nz = self.lattice.dims
        ends = {"bottom": self.boundaries.bottom, "top": self.boundaries.top}
        t = self.boundaries.electrode_thickness_sites
        n_electrode_layers = t * sum(v in ("cathode", "anode") for v in ends.values())
        if nz - n_electrode_layers < 1:
            raise ValueError(
                f"lattice.shape z = {nz} leaves no room between the electrodes "
                f"({n_electrode_layers} electrode layers); z must exceed {n_electrode_layers}"
            )
        has_reservoir = "reservoir" in ends.values()
        present = {v for v in ends.values() if v in ("cathode", "anode")}
        for key in ("initial_occupancy", "reservoir_occupancy"):
            total = sum(getattr(s, key) for s in self.species)
            if total > 1.0 + 1e-12:
                raise ValueError(
                    f"species[*].{key} sums to {total:g}; a site holds one particle, so the "
                    "sum must be at most 1"
                )
        # a reaction on the film needs PT: from a 'deposit' product or the chemistry's
        # precipitation (a run may also start with PT placed in its phase)
        makes_pt = self.chemistry is not None or any(
            r.product == "deposit" for sp in self.species for r in sp.reactions
        )
        for i, sp in enumerate(self.species):
            if sp.reservoir_occupancy > 0 and not has_reservoir:
                raise ValueError(
                    f"species[{i}].reservoir_occupancy = {sp.reservoir_occupancy} but neither "
                    "boundaries.bottom nor boundaries.top is 'reservoir'"
                )
            seen = set()
            for j, r in enumerate(sp.reactions):
                where = f"species[{i}].reactions[{j}]"
                if r.electrode not in present:
                    raise ValueError(
                        f"{where}.electrode = {r.electrode!r} but the lattice has no "
                        f"{r.electrode} (boundaries: bottom = {ends['bottom']!r}, "
                        f"top = {ends['top']!r})"
                    )
                surfaces = ("electrode", "film") if r.surface == "any" else (r.surface,)
                for surf in surfaces:
                    if (r.electrode, surf) in seen:
                        raise ValueError(
                            f"{where}: a second reaction of this species on the "
                            f"{r.electrode}'s {surf} (surface = {r.surface!r}); give one "
                            "reaction per electrode, or one per surface ('electrode', 'film')"
                        )
                    seen.add((r.electrode, surf))
                if r.surface == "film" and not makes_pt:
                    raise ValueError(
                        f"{where}.surface = 'film', but nothing in this config makes PT (no "
                        "reaction with product = 'deposit', no [chemistry]): the film it "
                        "reacts on never exists"
                    )
                if r.product not in ("deposit", "consume") and r.product not in names:
                    raise ValueError(
                        f"{where}.product = {r.product!r}; allowed: 'deposit', 'consume' or a "
                        f"species name {names}"
                    )
                if r.product == sp.name:
                    raise ValueError(f"{where}.product = {r.product!r} is the species itself")
        self._check_chemistry(names, ends, t, nz)
        self._check_parallel()
        self._check_electrodes()
        self._check_field_bias()
        p = self.protocol
        if p.step_s > self.run.duration_s and (p.kind != "constant" or self.membrane):
            raise ValueError(
                f"protocol.step_s = {p.step_s:g} exceeds run.duration_s = "
                f"{self.run.duration_s:g}: the run would end inside its first protocol step"
            )
        if p.kind == "potential_step":
            self._check_potential_step()
        if self.crystallinity is not None:
            extent = max(nx, ny, nz) * self.lattice.spacing_m
            if self.crystallinity.domain_diameter_m > 2 * extent:
                raise ValueError(
                    f"crystallinity.domain_diameter_m = {self.crystallinity.domain_diameter_m:g}"
                    f" exceeds twice the lattice's largest extent ({extent:g} m)"
                )
        n_sites = nx * ny * nz
        occ = sum(s.initial_occupancy for s in self.species) + sum(
            s.reservoir_occupancy for s in self.species
        )
        if occ * n_sites > MAX_PARTICLES:
            raise ValueError(
                f"lattice of {n_sites} sites at occupancy {occ:g} may hold more than "
                f"{MAX_PARTICLES} particles, the engine's limit"
            )
        return self

    def _check_potential_step(self) -> None:
        """A step inside the run, and a transient sampled finely enough to see."""
        p, run = self.protocol, self.run
        if p.step_time_s >= run.duration_s:
            raise ValueError(
                f"protocol.step_time_s = {p.step_time_s:g} is not inside the run "
                f"(run.duration_s = {run.duration_s:g}): the step would never happen"
            )
        after = run.duration_s - p.step_time_s
        if run.sample_interval_s > after / MIN_TRANSIENT_SAMPLES:
            raise ValueError(
                f"run.sample_interval_s = {run.sample_interval_s:g} gives fewer than "
                f"{MIN_TRANSIENT_SAMPLES} samples of the {after:g} s after the step: the "
                f"transient's peak would not be resolved; at most {after / MIN_TRANSIENT_SAMPLES:g}"
            )

    def _check_parallel(self) -> None:
        """Sector layouts the engine cannot run."""
        if self.parallel is None:
            return
        nx, ny, _ = self.lattice.dims
        axes = [("x", nx, self.parallel.sectors[0])]
        if self.lattice.ndim == 2:
            if self.parallel.sectors[1] != 1:
                raise ValueError(
                    f"parallel.sectors[1] = {self.parallel.sectors[1]}: a 2D lattice (x, z) "
                    "has no y to split; use sectors = [sx, 1]"
                )
        else:
            axes.append(("y", ny, self.parallel.sectors[1]))
        for axis, n, k in axes:
            i = "xy".index(axis)
            if n % (2 * k):
                raise ValueError(
                    f"parallel.sectors[{i}] = {k}: {2 * k} cells (2 per sector) do not divide "
                    f"the {n} columns along {axis}; the column count must be a multiple of "
                    f"2 x sectors"
                )
            if n // (2 * k) < MIN_CELL_COLUMNS:
                raise ValueError(
                    f"parallel.sectors[{i}] = {k}: cells of {n // (2 * k)} column along {axis} "
                    f"are too narrow; the sector engine needs at least {MIN_CELL_COLUMNS} "
                    f"(at most {n // (2 * MIN_CELL_COLUMNS)} sectors along {axis})"
                )

    def resolved_electrodes(self) -> Electrodes:
        """``electrodes``, or the defaults when the section is absent."""
        return self.electrodes if self.electrodes is not None else Electrodes()

    def _check_electrodes(self) -> None:
        """Reactions an electrode cannot carry, and protocols a cathode kind cannot run."""
        el = self.resolved_electrodes()
        for i, sp in enumerate(self.species):
            for j, r in enumerate(sp.reactions):
                kind = getattr(el, r.electrode).kind
                onset = r.onset_potential_V
                if kind == "lithium" and onset is not None and onset > LITHIUM_POTENTIAL_BOUND_V:
                    f_rt = ELEMENTARY_CHARGE_C / (BOLTZMANN_J_PER_K * self.conditions.temperature_K)
                    factor = math.exp(
                        -r.transfer_coefficient * f_rt * (onset - LITHIUM_POTENTIAL_BOUND_V)
                    )
                    raise ValueError(
                        f"species[{i}].reactions[{j}]: an oxidation at the {r.electrode} "
                        f"(Li metal, within {LITHIUM_POTENTIAL_BOUND_V} V of 0 V vs Li/Li+) "
                        f"with onset_potential_V = {onset:g}: its Butler-Volmer rate stays "
                        f"below {factor:.1e} x rate_per_s, so it never runs; remove it (each "
                        "electrode oxidizes at its own potential, not at the cell voltage)"
                    )
        cath = el.cathode
        p = self.protocol
        if cath.kind == "intercalation" and p.kind != "constant":
            if p.kind == "potentiostatic":
                top = p.potential_V
            elif p.kind == "potential_step":
                top = max(p.potential_V, p.rest_potential_V)
            elif p.kind == "cv":
                top = max(p.start_V, p.vertex_V)
            else:
                top = p.upper_V
            if top >= cath.plateau_V[0]:
                raise ValueError(
                    f"the protocol takes the intercalation cathode to {top:g} V, on or above "
                    f"its plateau (electrodes.cathode.plateau_V = {cath.plateau_V}): there it "
                    "would carry Li+ (de)intercalation current, which the model does not "
                    "have; keep the protocol below the plateau"
                )

    def _check_field_bias(self) -> None:
        """|u| = |z| e a E / kT at most MAX_FIELD_BIAS: beyond, exp(u/2) of the hop rates
        spans more than 20 orders of magnitude and a lattice walk is no drift model."""
        e_field = self.conditions.electric_field_V_per_m
        kT = BOLTZMANN_J_PER_K * self.conditions.temperature_K
        for i, sp in enumerate(self.species):
            u = abs(sp.charge) * ELEMENTARY_CHARGE_C * self.lattice.spacing_m * abs(e_field) / kT
            if u > MAX_FIELD_BIAS:
                raise ValueError(
                    f"conditions.electric_field_V_per_m = {e_field:g} gives species[{i}] "
                    f"({sp.name!r}) a field bias u = z e a E / kT = {u:.3g} per hop; at most "
                    f"{MAX_FIELD_BIAS:g} (lower the field or the lattice spacing)"
                )

    def _check_chemistry(self, names, ends, t, nz) -> None:
        ch = self.chemistry
        if ch is not None:
            roles = {"monomer": ch.monomer, "radical": ch.radical, "oligomer": ch.oligomer}
            for role, name in roles.items():
                if name not in names:
                    raise ValueError(
                        f"chemistry.{role} = {name!r} is not a species; species: {names}"
                    )
            if len(set(roles.values())) < 3:
                raise ValueError(f"chemistry roles {roles} must name three different species")
        bv = [
            (i, j)
            for i, sp in enumerate(self.species)
            for j, r in enumerate(sp.reactions)
            if r.onset_potential_V is not None
        ]
        if bv and self.protocol.kind == "constant":
            i, j = bv[0]
            raise ValueError(
                f"species[{i}].reactions[{j}].onset_potential_V is set but protocol.kind = "
                "'constant' has no potential; choose potentiostatic, cv or galvanostatic"
            )
        if self.protocol.kind == "galvanostatic":
            if not any(self.species[i].reactions[j].electrode == "cathode" for i, j in bv):
                raise ValueError(
                    "protocol.kind = 'galvanostatic' needs a reaction at the cathode with "
                    "onset_potential_V (the current oxidizes it)"
                )
        m = self.membrane
        if m is not None:
            if ends["bottom"] != "cathode" or ends["top"] != "anode":
                raise ValueError(
                    "membrane needs boundaries.bottom = 'cathode' and boundaries.top = "
                    f"'anode' (got {ends['bottom']!r}, {ends['top']!r})"
                )
            if not t + 1 <= m.gate_z <= nz - t - 2:
                raise ValueError(
                    f"membrane.gate_z = {m.gate_z} must leave a window on each side: "
                    f"allowed {t + 1}..{nz - t - 2}"
                )
            a = self.lattice.spacing_m
            window = (nz - 2 * t - 1) * a
            if m.thickness_m <= window:
                raise ValueError(
                    f"membrane.thickness_m = {m.thickness_m} must exceed the lattice windows "
                    f"({window:g} m); otherwise simulate the whole membrane without [membrane]"
                )
            if self.chemistry is None:
                raise ValueError("membrane needs a [chemistry] section (its monomer species)")
        if self.cathode.kind == "particles" and ends["bottom"] != "cathode":
            raise ValueError("cathode.kind = 'particles' needs boundaries.bottom = 'cathode'")
        d_min, a = self.cathode.particle_diameter_min_m, self.lattice.spacing_m
        if self.cathode.kind == "particles" and d_min < 2 * a * (1 - 1e-9):
            raise ValueError(
                f"cathode.particle_diameter_min_m = {d_min:g} is below two lattice spacings "
                f"(2 x lattice.spacing_m = {2 * a:g} m): the lattice does not resolve the "
                f"smallest particles; use a spacing of at most {d_min / 2:g} m or a larger "
                "minimum diameter"
            )


_BOUND_WORDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}
_TYPE_MESSAGES = {
    "extra_forbidden": "unknown key (not allowed here; check the spelling)",
    "finite_number": "not a finite number (nan and inf are not allowed here)",
}


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration ({err.error_count()} problem(s))"]
    for e in err.errors(include_url=False):
        loc = ""
        for part in e["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        msg = e["msg"].removeprefix("Value error, ")
        value = e.get("input")
        msg = _TYPE_MESSAGES.get(e["type"], msg)
        if e["type"] in _BOUND_WORDS:
            bound = e["ctx"][_BOUND_WORDS[e["type"]][0]]
            msg = f"must be {_BOUND_WORDS[e['type']][1]} {bound:g}"
        if isinstance(value, bool) and e["type"] in ("int_type", "float_type"):
            msg = "a boolean is not a number; give a number without true/false"
        elif isinstance(value, str) and e["type"] in ("int_type", "float_type"):
            msg = "a string is not a number; write the number without quotes"
        shown = repr(value) if not isinstance(value, dict) else "{...}"
        if isinstance(value, bool):
            shown = str(value).lower()  # as TOML writes it
        if len(shown) > 80:
            shown = shown[:77] + "..."
        if e["type"] == "missing":
            lines.append(f"  {loc}: required key missing")
        elif isinstance(value, dict):
            # a rule across fields: the message starts with the key it concerns
            lines.append(f"  {loc}.{msg}" if loc else f"  {msg}")
        else:
            lines.append(f"  {loc} = {shown}: {msg}")
    return "\n".join(lines)


def read_text(path: str | Path, what: str) -> str:
    """Text of ``path``; ConfigError naming the file and ``what`` it should be."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc})") from None


def parse_toml(text: str, source: str) -> dict:
    """TOML text to a dict; syntax errors name ``source``, line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: TOML syntax error: {exc}") from None


def validate_model(model: type[BaseModel], data: dict, source: str):
    """``model.model_validate(data)``; errors become a ConfigError naming key paths."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from None


def parse_config(text: str, source: str = "<string>") -> RunConfig:
    """Parse and validate TOML text; raise ConfigError naming ``source`` on any problem."""
    return validate_model(RunConfig, parse_toml(text, source), source)


BASE_KEY = "base"
"""Top-level key of a config that extends another (see :func:`resolve_base`)."""


def _merged(base: dict, over: dict) -> dict:
    """``over`` laid onto ``base``: tables merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def resolve_base(data: dict, path: Path, _seen: tuple[Path, ...] = ()) -> dict:
    """A config's tables with its ``base`` resolved: ``base = "NAME"`` names a shipped
    config (``kmc config list``) or a file relative to this one; this config's tables
    are laid onto the base's, key by key (an array such as ``[[species]]`` replaces the
    base's whole)."""
    if BASE_KEY not in data:
        return data
    from kmc.config._shipped import ShippedError, find_shipped

    name = data[BASE_KEY]
    if not isinstance(name, str):
        raise ConfigError(f"{path}: {BASE_KEY} = {name!r} must be a config name or file path")
    candidate = (path.parent / name).resolve()
    if not candidate.is_file():
        try:
            shipped = find_shipped(name)
        except ShippedError as exc:
            raise ConfigError(f"{path}: {BASE_KEY} = {name!r}: {exc}") from None
        if shipped is None:
            raise ConfigError(
                f"{path}: {BASE_KEY} = {name!r} is neither a file beside it nor a shipped "
                "config (kmc config list)"
            )
        candidate = shipped.path.resolve()
    if candidate in _seen or candidate == path.resolve():
        raise ConfigError(f"{path}: {BASE_KEY} = {name!r} leads back to itself")
    base = parse_toml(read_text(candidate, "base config"), str(candidate))
    base = resolve_base(base, candidate, (*_seen, path.resolve()))
    over = {k: v for k, v in data.items() if k != BASE_KEY}
    return _merged(base, over)


def load_config(path: str | Path) -> tuple[RunConfig, str]:
    """Read, parse and validate a TOML config file; returns (config, its text).

    A config with ``base = ...`` is resolved first; the text returned (what a run
    stores) is then the resolved config, so that it stands alone."""
    path = Path(path)
    text = read_text(path, "config file")
    data = parse_toml(text, str(path))
    if BASE_KEY in data:
        from kmc.sweeps._toml import dumps

        data = resolve_base(data, path)
        text = f"# {path.name} resolved onto its base ({BASE_KEY} = ...)\n" + dumps(data)
    return validate_model(RunConfig, data, str(path)), text
