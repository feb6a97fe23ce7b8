"""Checks of a valid config against what the engine and this machine can do, before a run.

A config can be valid key by key and still describe a run that cannot work: a lattice
larger than the memory, a protocol step longer than its cycle, or billions of years of
events. :func:`check_run` finds these before anything is allocated; ``kmc config
validate`` and ``kmc run`` call it (a sweep point is only validated as a config).

The figures behind the estimates are measured (``benchmarks/RESULTS.md``): the engine
state takes 4 B per site and 36-84 B per particle slot (:func:`particle_slot_bytes`;
the sector engine adds its cell lists, :func:`sector_bytes`), and the kernel runs 15-28 M
attempted events per second on one core.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from kmc.config._config import ConfigError, RunConfig
from kmc.kernels import layout as L
from kmc.kernels._layout import MAX_PARTICLES
from kmc.simulation import _geometry as geometry
from kmc.simulation._engine import _PARTICLE_ARRAYS
from kmc.simulation._model import Model
from kmc.simulation._protocol import protocol_step_s

ENGINE_EVENTS_PER_S = 2.0e7
"""Attempted events per second of one core, the middle of the measured 15-28 M/s."""
STEP_WALL_S = 1e-4
"""Wall time of one protocol step or one sample outside the kernel (s): 55-80 us measured
per step of a CV run on an empty 16 x 16 x 24 lattice (rates, doping, reservoir)."""
SETUP_BYTES_PER_SITE = 28
"""Peak bytes per site while a run starts: the site word (4), the initial phase array (4),
the transport-site index and its random permutation (8 + 8), two buffered snapshot
frames of phase and species (2 x 2)."""


def particle_slot_bytes(model: Model) -> int:
    """Bytes per particle slot of the serial engine (as ``LatticeEngine._allocate`` sizes
    them): the per-particle arrays (20 B), a list entry per species (``members``) and per
    species and reaction channel (``react_members``, 2 channels or 4 with surfaces
    resolved), and a free id: 36 B for one species in two channels, 60 B for the
    chemistry's three species, 84 B for them in four channels (a fixed 32 B, counted
    before 2026-12-07, was short for every config)."""
    ns = len(model.species_names)
    per_particle = sum(np.dtype(t).itemsize for t in _PARTICLE_ARRAYS.values())
    return per_particle + 4 * ns * (1 + model.n_reaction_channels) + 4


PARTICLE_BAND_BYTES_PER_SITE = 64
"""A particle cathode is drawn on index grids of its band (3 x int64 + float temps)."""
SECTOR_BYTES_PER_PARTICLE_SLOT = 9
"""The sector engine's per-particle cell arrays (``kmc.simulation._sectors._CELL_PARTICLE_ARRAYS``):
list position and reaction position (int32 each), reaction channel (int8)."""
MIN_STEPS_PER_CV_CYCLE = 4
"""With fewer protocol steps per cycle the triangle potential never reaches its vertex."""
COARSE_STEPS_PER_CV_CYCLE = 20
YEAR_S = 365.25 * 86400.0
DAY_S = 86400.0


@dataclass(frozen=True)
class RunEstimate:
    """What a run will need, estimated from its config before it starts.

    Attributes
    ----------
    memory_bytes : int
        Peak memory of the run's set-up and state (B).
    available_bytes : int or None
        Memory available on this machine now (B); None where the OS does not say.
    events_per_simulated_s : float
        Attempted events per simulated second at the start (1/s): every particle's total
        hop rate plus the reservoir's injection bound (null events included).
    simulated_s : float
        Simulated time the run will cover at most (s).
    ends_earlier : bool
        Whether the protocol may end the run before ``simulated_s`` (galvanostatic
        cycles, whose duration depends on the chemistry).
    """

    memory_bytes: int
    available_bytes: int | None
    events_per_simulated_s: float
    simulated_s: float
    ends_earlier: bool
    updates: float = 0.0
    """Protocol steps and samples the run takes (each costs ``STEP_WALL_S``)."""

    @property
    def events(self) -> float:
        """Attempted events of the whole run (at the starting rates)."""
        return self.events_per_simulated_s * self.simulated_s

    @property
    def wall_s(self) -> float:
        """Wall-clock seconds on one core: events at ``ENGINE_EVENTS_PER_S`` plus the
        protocol steps and samples at ``STEP_WALL_S`` each."""
        return self.events / ENGINE_EVENTS_PER_S + self.updates * STEP_WALL_S

    def describe(self) -> str:
        """One line for a user: memory, events, simulated time, wall time on one core."""
        bound = " at most" if self.ends_earlier else ""
        return (
            f"{self.memory_bytes / 2**20:.3g} MiB, {self.events:.3g} events over "
            f"{self.simulated_s:.4g} s simulated{bound}, about {format_duration(self.wall_s)} "
            "on one core"
        )


def available_memory_bytes() -> int | None:
    """MemAvailable of /proc/meminfo (B), or the free physical pages where it is absent."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _particle_slots(cfg: RunConfig, n_sites: int) -> int:
    """Particle-array capacity the engine allocates (as ``LatticeEngine`` sizes it)."""
    occ = sum(s.initial_occupancy for s in cfg.species)
    n_init = occ * n_sites
    has_reservoir = "reservoir" in (cfg.boundaries.bottom, cfg.boundaries.top)
    if has_reservoir or cfg.membrane is not None:
        return int(min(max(1024, 2 * n_init), n_sites, MAX_PARTICLES))
    return int(min(max(1, n_init), n_sites, MAX_PARTICLES))


def sector_bytes(cfg: RunConfig, model: Model, slots: int) -> int:
    """Memory the sector engine allocates on top of the serial state (B), as
    ``SectorEngine.__init__`` sizes it (0 without ``[parallel]``).

    Per cell a particle list per species and a reaction list per species and reaction
    channel (2, or 4 with surfaces resolved), each of ``room = max(16, 2 * (slots //
    cells + 1))`` int32 entries (``cell_members``, ``cell_react_members``: about
    (1 + channels) x 2 x 4 B per particle slot and species, or the floor
    of 16 entries where cells hold few particles), their counts, a free-id stack and two
    RNG words; per particle slot ``SECTOR_BYTES_PER_PARTICLE_SLOT``; per sector its
    deferred-entry room. Lists that widen during the run are not foreseen.
    """
    if cfg.parallel is None:
        return 0
    from kmc.simulation._sectors import CELL_FREE_IDS, cell_layout, initial_list_room

    nx, ny, _ = model.dims
    sx, sy = cfg.parallel.sectors
    _, _, cells = cell_layout(nx, ny, cfg.parallel.sectors)
    ns = len(model.species_names)
    n_ch = model.n_reaction_channels  # 2, or 4 with surfaces resolved
    room = initial_list_room(slots, cells)
    per_cell = (
        4 * ns * (1 + n_ch) * room  # cell_members, cell_react_members
        + 8 * ns * (1 + n_ch)  # cell_counts, cell_react_counts
        + 4 * CELL_FREE_IDS  # cell_free
        + 2 * 8
        + 2 * 8  # cell_rng, cell_ints
    )
    # deferred_c; status, cell, clock; counters; reaction, injection and exit events; ...
    per_sector = 256 * 2 * 8 + 8 * (3 + L.N_COUNTERS + ns * (n_ch + 4) + 4) + 1
    fixed = 8 * (8 + 3 + 4)  # sector_pos, sector_time, the sector order
    return cells * per_cell + SECTOR_BYTES_PER_PARTICLE_SLOT * slots + sx * sy * per_sector + fixed


def _simulated_time(cfg: RunConfig) -> tuple[float, bool]:
    p = cfg.protocol
    if p.kind == "cv":
        return min(cfg.run.duration_s, p.cycles * p.cycle_period_s()), False
    return cfg.run.duration_s, p.kind == "galvanostatic"


def estimate_run(cfg: RunConfig, model: Model | None = None) -> RunEstimate:
    """Memory, event rate and duration of the run ``cfg`` describes (see RunEstimate)."""
    model = Model.from_config(cfg) if model is None else model
    nx, ny, nz = model.dims
    n_sites = nx * ny * nz
    slots = _particle_slots(cfg, n_sites)
    memory = SETUP_BYTES_PER_SITE * n_sites + particle_slot_bytes(model) * slots
    memory += sector_bytes(cfg, model, slots)
    if cfg.cathode.kind == "particles":
        try:
            depth = geometry.particle_layer_depth(model)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        memory += PARTICLE_BAND_BYTES_PER_SITE * depth * nx * ny
    # particles present during the run: the initial load, or what a reservoir keeps up
    occupancy = np.array(
        [max(s.initial_occupancy, s.reservoir_occupancy) for s in cfg.species], dtype=float
    )
    if cfg.membrane is not None and model.chem_species[0] >= 0:
        m = int(model.chem_species[0])
        occupancy[m] = max(occupancy[m], cfg.membrane.monomer_occupancy)
    hop_per_particle = model.hop_rate_per_s.sum(axis=1)
    rate = float(np.sum(occupancy * n_sites * hop_per_particle))
    rate += float(model.injection_rate_bound_per_s().sum())
    simulated, ends_earlier = _simulated_time(cfg)
    updates = simulated / cfg.run.sample_interval_s
    if cfg.protocol.kind != "constant" or cfg.membrane is not None:
        updates += simulated / protocol_step_s(model)
    return RunEstimate(
        int(memory), available_memory_bytes(), rate, simulated, ends_earlier, updates
    )


def format_duration(seconds: float) -> str:
    for unit, size in (("years", YEAR_S), ("days", DAY_S), ("hours", 3600.0)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


def check_run(cfg: RunConfig, model: Model | None = None) -> list[str]:
    """Refuse runs that cannot work; return warnings about runs that may not be meant.

    Raises
    ------
    ConfigError
        Naming the key and the estimate: a run that needs more memory than is available,
        a protocol whose step does not fit its cycle or the run, a run that would take
        over a year on one core.

    Returns
    -------
    list of str
        Warnings (a run over a day long, a coarse CV step, a lattice with nothing on it).
    """
    model = Model.from_config(cfg) if model is None else model
    warnings: list[str] = []
    _check_protocol(cfg, warnings)
    est = estimate_run(cfg, model)
    nx, ny, nz = model.dims
    if est.available_bytes is not None and est.memory_bytes > est.available_bytes:
        sectors = sector_bytes(cfg, model, _particle_slots(cfg, nx * ny * nz))
        lists = f", {sectors / 2**30:.3g} GiB of it the sector cell lists" if sectors else ""
        raise ConfigError(
            f"lattice.shape = {list(cfg.lattice.shape)} ({nx * ny * nz} sites) needs about "
            f"{est.memory_bytes / 2**30:.3g} GiB ({SETUP_BYTES_PER_SITE} B per site and "
            f"{particle_slot_bytes(model)} B per particle slot{lists}); this machine has "
            f"{est.available_bytes / 2**30:.3g} GiB available"
        )
    if est.wall_s > YEAR_S:
        raise ConfigError(
            f"run.duration_s = {cfg.run.duration_s:g}: about {est.events:.3g} events "
            f"({est.events_per_simulated_s:.3g} per simulated second over "
            f"{est.simulated_s:.3g} s) and {est.updates:.3g} protocol steps and samples, "
            f"{format_duration(est.wall_s)} on one core at {ENGINE_EVENTS_PER_S:.2g} "
            "events/s; shorten the run, coarsen the lattice, lower the loading or lengthen "
            "protocol.step_s"
        )
    if est.wall_s > DAY_S:
        bound = " at most (the protocol may end it earlier)" if est.ends_earlier else ""
        warnings.append(
            f"this run takes about {est.events:.3g} events, {format_duration(est.wall_s)}{bound} "
            f"on one core at {ENGINE_EVENTS_PER_S:.2g} events/s"
        )
    if est.events_per_simulated_s == 0 and not any(
        sp.reactions for sp in cfg.species
    ):  # nothing to hop, inject or react: the run only advances its clock
        warnings.append(
            "no particles, no reservoir and no reactions: the run will advance time with "
            "nothing happening"
        )
    return warnings


def _check_protocol(cfg: RunConfig, warnings: list[str]) -> None:
    p = cfg.protocol
    duration = cfg.run.duration_s
    if p.kind == "cv":
        period = p.cycle_period_s()
        steps = period / p.step_s
        if steps < MIN_STEPS_PER_CV_CYCLE:
            raise ConfigError(
                f"protocol.step_s = {p.step_s:g} s gives {steps:.3g} steps per CV cycle of "
                f"{period:.4g} s (simulated, time_compression {p.time_compression:g}); at "
                f"least {MIN_STEPS_PER_CV_CYCLE} are needed to reach the vertex: use "
                f"step_s <= {period / MIN_STEPS_PER_CV_CYCLE:.4g}"
            )
        if steps < COARSE_STEPS_PER_CV_CYCLE:
            dv = 2 * abs(p.vertex_V - p.start_V) / steps
            warnings.append(
                f"protocol.step_s = {p.step_s:g} s: {steps:.3g} steps per CV cycle, the "
                f"potential jumps {dv:.3g} V per step"
            )
        if period > duration:
            raise ConfigError(
                f"run.duration_s = {duration:g} is shorter than one CV cycle ({period:.4g} s "
                f"simulated): no cycle would complete; protocol.cycles = {p.cycles} needs "
                f"{p.cycles * period:.4g} s"
            )
    if p.kind == "galvanostatic":
        nx, ny, _ = cfg.lattice.dims
        area = nx * ny * cfg.lattice.spacing_m**2
        if p.electrode_area_m2 < area:
            raise ConfigError(
                f"protocol.electrode_area_m2 = {p.electrode_area_m2:g} is smaller than the "
                f"simulated electrode ({area:.4g} m^2): the simulated area is a patch of the "
                "real electrode"
            )
