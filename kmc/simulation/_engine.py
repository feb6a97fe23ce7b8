"""The lattice state and a thin Python class over the event kernel.

All array allocation, dtype coercion and validation happen here; the kernel in
``kmc.kernels`` only loops over arrays.
"""

from __future__ import annotations

import numpy as np

from kmc import phases
from kmc.kernels import (
    compute_contact_flags,
    contact_channel,
    rebuild_reactive,
    run_events,
    seed_state,
    set_reactive,
)
from kmc.kernels import layout as L
from kmc.simulation._model import Model

# Arrays that make up the full engine state (what a checkpoint stores).
STATE_ARRAYS = (
    "words", "px", "py", "pz", "pspecies", "list_pos", "members", "counts",
    "react_chan", "react_pos", "react_members", "react_counts", "free_pids", "ints",
    "rng", "clock", "counters", "react_events", "inj_events", "exit_events",
    "plength", "sched", "sched_e", "pt_doped", "res_occ", "reservoir_field", "protocol_state",
)  # fmt: skip

WARM_CACHE_THRESHOLD_BYTES = 24 * 2**20
_NO_DEFERRED = np.zeros((0, 2), dtype=np.int64)  # the serial engine floods at once

_PARTICLE_ARRAYS = {
    "px": np.int16,
    "py": np.int16,
    "pz": np.int16,
    "pspecies": np.int8,
    "list_pos": np.int32,
    "react_chan": np.int8,
    "react_pos": np.int32,
    "plength": np.int32,
}


class LatticeEngine:
    """Lattice KMC engine: host phases, particles, rates and the RNG state.

    Parameters
    ----------
    model : Model
        Rates and geometry.
    seed : int
        Root seed. The initial placement and the kernel's RNG stream are drawn from two
        independent children of ``numpy.random.SeedSequence(seed)``.
    phase : uint8 array [nz, ny, nx], optional
        Host phase per site (codes in ``kmc.phases``), e.g. a rough electrode built by a
        geometry generator; default: amorphous PEO with flat electrode slabs.
    """

    STATE_ARRAYS = STATE_ARRAYS

    def __init__(
        self, model: Model, seed: int, *, phase: np.ndarray | None = None, _empty: bool = False
    ):
        self.model = model
        nx, ny, nz = model.dims
        self.nx, self.ny, self.nz = nx, ny, nz
        d = model.directions
        self._dx = np.ascontiguousarray(d[:, 0])
        self._dy = np.ascontiguousarray(d[:, 1])
        self._dz = np.ascontiguousarray(d[:, 2])
        self._transport = phases.transport_table(model.gap_transport)
        self._conductor = phases.electrode_table()
        self._stack = np.zeros(0, dtype=np.int32)
        self._bounds = np.array([0, nx, 0, ny], dtype=np.int64)  # the whole lattice
        self.set_rates(model)
        if _empty:
            return
        n_species = len(model.species_names)
        if phase is None:
            phase = np.full((nz, ny, nx), phases.AMORPHOUS_PEO, dtype=np.uint32)
            for code, z0, z1 in model.electrode_slabs():
                phase[z0:z1] = code
        else:
            phase = np.asarray(phase)
            if phase.shape != (nz, ny, nx):
                raise ValueError(f"phase has shape {phase.shape}; the lattice needs {(nz, ny, nx)}")
            if phase.min() < 0 or phase.max() > L.PHASE_MASK:
                raise ValueError(f"phase codes must lie in [0, {L.PHASE_MASK}]")
        self.words = np.ascontiguousarray(phase, dtype=np.uint32).reshape(-1)
        place_seq, kernel_seq = np.random.SeedSequence(seed).spawn(2)
        transport_sites = np.flatnonzero(self._transport[self.words & L.PHASE_MASK])
        rng = np.random.Generator(np.random.PCG64(place_seq))
        order = rng.permutation(transport_sites)
        n_init = [
            int(round(s.initial_occupancy * transport_sites.size)) for s in model.config.species
        ]
        n_total = sum(n_init)
        capacity = max(1024, 2 * n_total) if model.is_reservoir.any() else max(1, n_total)
        capacity = min(capacity, self.words.size, L.MAX_PARTICLES)
        self._allocate(n_species, capacity)
        self.rng = seed_state(kernel_seq)
        self.clock = np.zeros(1)
        self.counters = np.zeros(L.N_COUNTERS, dtype=np.int64)
        self.react_events = np.zeros((n_species, model.n_reaction_channels), dtype=np.int64)
        self.inj_events = np.zeros((n_species, 2), dtype=np.int64)
        self.exit_events = np.zeros((n_species, 2), dtype=np.int64)
        self.sched = np.zeros(2)  # next scheduled oxidation time (s), interval (s)
        self.sched_e = np.full(1, -1, dtype=np.int64)  # electrode under current control
        self.pt_doped = np.ones(2, dtype=np.uint8)  # PT of each electrode doped?
        self.res_occ = np.ascontiguousarray(model.reservoir_occupancy, dtype=np.float64)
        self.reservoir_field = np.zeros(0)  # continuum monomer occupancy (driver's)
        self.protocol_state = np.zeros(0)  # the protocol's own state (driver's)
        self.plength[:] = 1
        pid = 0
        for s, n in enumerate(n_init):
            sites = order[pid : pid + n]
            ids = np.arange(pid, pid + n)
            self.pspecies[ids] = s
            self.px[ids] = sites % nx
            self.py[ids] = (sites // nx) % ny
            self.pz[ids] = sites // (nx * ny)
            self.members[s, :n] = ids
            self.list_pos[ids] = np.arange(n)
            self.counts[s] = n
            self.words[sites] |= ((ids + 1) << L.PID_SHIFT).astype(np.uint32)
            pid += n
        # free ids are popped from the end: the lowest unused id comes out first
        self.free_pids[: capacity - n_total] = np.arange(capacity - 1, n_total - 1, -1)
        self.ints[0] = capacity - n_total
        self.refresh_contacts()

    # ------------------------------------------------------------------ set-up
    def _allocate(self, n_species: int, capacity: int) -> None:
        for name, dtype in _PARTICLE_ARRAYS.items():
            setattr(self, name, np.zeros(capacity, dtype=dtype))
        self.react_chan[:] = -1
        self.members = np.zeros((n_species, capacity), dtype=np.int32)
        n_ch = self.model.n_reaction_channels
        self.react_members = np.zeros((n_species * n_ch, capacity), dtype=np.int32)
        self.counts = np.zeros(n_species, dtype=np.int64)
        self.react_counts = np.zeros((n_species, n_ch), dtype=np.int64)
        self.free_pids = np.zeros(capacity, dtype=np.int32)
        self.ints = np.zeros(1, dtype=np.int64)

    def set_rates(self, model: Model) -> None:
        """Install the rate tables of ``model`` (called again when conditions change)."""
        self.model = model
        self._hop_cum = np.cumsum(np.asarray(model.hop_rate_per_s, dtype=np.float64), axis=1)
        self._react_rate = np.ascontiguousarray(model.reaction_rate_per_s, dtype=np.float64)
        self._react_product = np.ascontiguousarray(model.reaction_product, dtype=np.int64)
        self._is_res = np.ascontiguousarray(model.is_reservoir, dtype=np.bool_)
        self._exchanges = np.ascontiguousarray(model.exchanges, dtype=np.uint8)
        self._inj_z = np.array(model.injection_z, dtype=np.int64)
        self._chem_species = np.ascontiguousarray(model.chem_species, dtype=np.int64)
        self._chem_rate = np.ascontiguousarray(model.chem_rate_per_s, dtype=np.float64)

    def set_reaction_rates(self, rates: np.ndarray) -> None:
        """Install reaction rates per touching particle (1/s), [n_species, n_channels]."""
        self._react_rate = np.ascontiguousarray(rates, dtype=np.float64)

    def set_reservoir_occupancy(self, occupancy: np.ndarray) -> None:
        """Set the reservoir occupancy on each side, [n_species, 2] in [0, 1]."""
        self.res_occ = np.ascontiguousarray(np.clip(occupancy, 0.0, 1.0), dtype=np.float64)

    def set_pt_doped(self, doped: tuple[bool, bool]) -> None:
        """Dope or undope the PT of each electrode; refreshes contacts if it changed."""
        new = np.array(doped, dtype=np.uint8)
        if not np.array_equal(new, self.pt_doped):
            self.pt_doped = new
            self.refresh_contacts()

    @property
    def _active(self) -> np.ndarray:
        doped = tuple(bool(v) for v in self.pt_doped)
        return phases.active_table(doped, self.model.resolves_surfaces)

    def refresh_contacts(self) -> None:
        """Recompute contact flags from host phases and rebuild the reaction channels."""
        compute_contact_flags(
            self.words, self.nx, self.ny, self.nz, self.model.periodic_z,
            self._dx, self._dy, self._dz, self._active,
        )  # fmt: skip
        rebuild_reactive(
            self.words, self.nx, self.ny, self.px, self.py, self.pz, self.pspecies,
            self.members, self.counts, self.react_chan, self.react_pos, self.react_members,
            self.react_counts,
        )  # fmt: skip

    def grow_capacity(self) -> None:
        """Double the particle arrays (bounded by the site count)."""
        old = self.px.size
        new = self._grow_particle_arrays()
        n_free = int(self.ints[0])
        free = np.zeros(new, dtype=np.int32)
        # new ids go beneath the existing free ones so the stack order stays deterministic
        free[: new - old] = np.arange(new - 1, old - 1, -1)
        free[new - old : new - old + n_free] = self.free_pids[:n_free]
        self.free_pids = free
        self.ints[0] = n_free + new - old

    def _particle_id_limit(self) -> int:
        """Most particle ids the run can need: one per site (a site holds one particle)."""
        return int(self.words.size)

    def _grow_particle_arrays(self) -> int:
        """Double the per-particle arrays and lists (not the free-id stack); the new size."""
        old = self.px.size
        new = min(max(2 * old, 1024), self._particle_id_limit(), L.MAX_PARTICLES)
        if new <= old:
            raise RuntimeError(f"particle capacity {old} cannot grow further")
        for name in _PARTICLE_ARRAYS:
            arr = getattr(self, name)
            grown = np.zeros(new, dtype=arr.dtype)
            grown[:old] = arr
            setattr(self, name, grown)
        for name in ("members", "react_members"):
            arr = getattr(self, name)
            grown = np.zeros((arr.shape[0], new), dtype=arr.dtype)
            grown[:, :old] = arr
            setattr(self, name, grown)
        return new

    # ------------------------------------------------------------------ editing
    def _site(self, x: int, y: int, z: int) -> int:
        if not (0 <= x < self.nx and 0 <= y < self.ny and 0 <= z < self.nz):
            raise ValueError(f"site ({x}, {y}, {z}) lies outside the lattice")
        return x + self.nx * (y + self.ny * z)

    def _check_free(self, site: int) -> None:
        w = int(self.words[site])
        if not self._transport[w & L.PHASE_MASK] or (w >> L.PID_SHIFT) != 0:
            raise ValueError(f"site {site} is not an empty transport site")

    def set_phase(self, x: int, y: int, z: int, phase: int) -> None:
        """Set the host phase of an empty site and refresh all contacts (O(sites))."""
        site = self._site(x, y, z)
        if int(self.words[site]) >> L.PID_SHIFT:
            raise ValueError(f"site ({x}, {y}, {z}) holds a particle")
        self.words[site] = (int(self.words[site]) & ~L.PHASE_MASK) | int(phase)
        self.refresh_contacts()

    def add_particle(self, species: int, x: int, y: int, z: int) -> int:
        """Put a particle of ``species`` on the empty transport site (x, y, z); returns its id."""
        site = self._site(x, y, z)
        self._check_free(site)
        if self.ints[0] == 0:
            self.grow_capacity()
        self.ints[0] -= 1
        pid = int(self.free_pids[self.ints[0]])
        self.px[pid], self.py[pid], self.pz[pid] = x, y, z
        self.pspecies[pid] = species
        self.plength[pid] = 1
        self.members[species, self.counts[species]] = pid
        self.list_pos[pid] = self.counts[species]
        self.counts[species] += 1
        self.react_chan[pid] = -1
        self.words[site] = int(self.words[site]) | ((pid + 1) << L.PID_SHIFT)
        self._refresh_particle(pid, site)
        return pid

    def move_particle(self, pid: int, x: int, y: int, z: int) -> None:
        """Move particle ``pid`` to the empty transport site (x, y, z)."""
        site = self._site(x, y, z)
        self._check_free(site)
        old = self._site(int(self.px[pid]), int(self.py[pid]), int(self.pz[pid]))
        self.words[old] = int(self.words[old]) & L.LOW_MASK
        self.words[site] = int(self.words[site]) | ((pid + 1) << L.PID_SHIFT)
        self.px[pid], self.py[pid], self.pz[pid] = x, y, z
        self._refresh_particle(pid, site)

    def _refresh_particle(self, pid: int, site: int) -> None:
        set_reactive(
            pid, contact_channel(self.words[site]), self.pspecies, self.react_chan,
            self.react_pos, self.react_members, self.react_counts,
        )  # fmt: skip

    # ------------------------------------------------------------------ running
    @property
    def warm_cache(self) -> bool:
        """Prefetch in the kernel when the state outgrows the last-level cache.

        Measured on a 2-core EPYC with 32 MiB L3 (benchmarks/RESULTS.md): prefetching
        costs ~20 ns/event while the state fits in cache and saves ~90 ns/event at 256^3.
        """
        return self.state_bytes > WARM_CACHE_THRESHOLD_BYTES

    def run(self, t_stop: float, max_events: int, *, warm_cache: bool | None = None) -> int:
        """Advance until simulated time ``t_stop`` (s) or ``max_events`` events in total.

        Returns the kernel status (``kmc.kernels.layout.STATUS_*``); capacity is grown
        transparently. ``warm_cache`` forces prefetching on or off (default: automatic);
        it changes the speed only, never the trajectory.
        """
        warm = self.warm_cache if warm_cache is None else warm_cache
        if self._stack.size != self.words.size:
            self._stack = np.zeros(self.words.size, dtype=np.int32)
        inj_rate = self.model.injection_rate_bound_per_s(self.res_occ)
        while True:
            status = run_events(
                self.words, self.nx, self.ny, self.nz, self.model.periodic_z,
                self._dx, self._dy, self._dz, self._transport, self._conductor,
                self._active, phases.DEPOSIT_PHASE, phases.PT_FLOATING, self._inj_z,
                self.model.gate_z,
                self.px, self.py, self.pz, self.pspecies, self.plength, self.list_pos,
                self.members, self.counts, self.react_chan, self.react_pos,
                self.react_members, self.react_counts, self.free_pids, self.ints,
                self._hop_cum, self._react_rate, self._react_product,
                inj_rate, self.res_occ, self._is_res, self._exchanges,
                self._chem_species, self._chem_rate, self.model.precipitation_length,
                self.sched, int(self.sched_e[0]), self._stack,
                self.rng, self.clock, self.counters, self.react_events, self.inj_events,
                self.exit_events, float(t_stop), int(max_events), warm,
                self._bounds, _NO_DEFERRED,
            )  # fmt: skip
            if status != L.STATUS_CAPACITY:
                return status
            self.grow_capacity()

    # ------------------------------------------------------------------ views
    @property
    def time_s(self) -> float:
        return float(self.clock[0])

    @property
    def phase(self) -> np.ndarray:
        """Host phase per site, uint8[nz, ny, nx]."""
        return (self.words & L.PHASE_MASK).astype(np.uint8).reshape(self.nz, self.ny, self.nx)

    @property
    def occupant_species(self) -> np.ndarray:
        """Species index + 1 of the particle on each site (0 = empty), uint8[nz, ny, nx]."""
        occ = (self.words >> L.PID_SHIFT).astype(np.int64)
        out = np.zeros(occ.shape, dtype=np.uint8)
        held = occ > 0
        out[held] = self.pspecies[occ[held] - 1].astype(np.uint8) + 1
        return out.reshape(self.nz, self.ny, self.nx)

    def positions(self, species: int) -> np.ndarray:
        """(x, y, z) site coordinates of the particles of ``species``, in list order."""
        ids = self.members[species, : self.counts[species]]
        return np.stack([self.px[ids], self.py[ids], self.pz[ids]], axis=1).astype(np.int64)

    def particle_ids(self, species: int) -> np.ndarray:
        return self.members[species, : self.counts[species]].copy()

    @property
    def state_bytes(self) -> int:
        """Bytes held by the state arrays (lattice + particles)."""
        return sum(getattr(self, n).nbytes for n in self.STATE_ARRAYS)

    # ------------------------------------------------------------------ checkpoint
    def state(self) -> dict[str, np.ndarray]:
        """The full engine state (copies), enough to continue bit-identically."""
        return {name: getattr(self, name).copy() for name in self.STATE_ARRAYS}

    @classmethod
    def from_state(cls, model: Model, state: dict[str, np.ndarray]) -> LatticeEngine:
        eng = cls(model, 0, _empty=True)
        for name in cls.STATE_ARRAYS:
            setattr(eng, name, np.ascontiguousarray(state[name]))
        return eng
