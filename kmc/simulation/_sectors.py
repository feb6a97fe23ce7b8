"""The sector-parallel engine: one run on many cores (synchronous sublattice algorithm).

A thin class over the sector kernel (``kernels/_sectors.py``): the state of
:class:`~kmc.simulation.LatticeEngine` plus, per cell, its particle and reaction lists and
its RNG stream, and the cycle position. A checkpoint holds all of it, so the result
depends on the config and the seed only, never on the number of threads nor on where
a run was interrupted.
"""

from __future__ import annotations

import numba
import numpy as np

from kmc import phases
from kmc.kernels import layout as L
from kmc.kernels import sectors as K
from kmc.simulation._engine import STATE_ARRAYS, LatticeEngine
from kmc.simulation._model import Model

SECTOR_STATE_ARRAYS = (
    "cell_rng", "sector_pos", "sector_time", "cell_members", "cell_counts",
    "cell_list_pos", "cell_react_chan", "cell_react_pos", "cell_react_members",
    "cell_react_counts", "cell_free", "cell_ints",
)  # fmt: skip
_CELL_PARTICLE_ARRAYS = {
    "cell_list_pos": np.int32,
    "cell_react_chan": np.int8,
    "cell_react_pos": np.int32,
}


CELL_FREE_IDS = 4 * K.REFILL_IDS
"""Room of a cell's own free-id stack (it spills half onto the run's when full)."""


def cell_layout(nx: int, ny: int, sectors) -> tuple[int, int, int]:
    """Cell width and height (columns) and number of cells of ``sectors = (sx, sy)``:
    2 x 2 cells per sector (a 2D lattice: one row of cells, 2 per sector along x)."""
    sx, sy = sectors
    cw = nx // (2 * sx)
    ch = ny // (2 * sy) if ny > 1 else 1
    return cw, ch, (2 * sx) * (ny // ch)


def initial_list_room(slots: int, n_cells: int) -> int:
    """Entries of each cell list at the start (twice a cell's share of the particle
    slots, at least 16); the lists widen when a cell needs more."""
    return max(16, 2 * (slots // n_cells + 1))


def substep_s(model: Model) -> float:
    """Sub-step length tau (s): ``parallel.substep_hops`` hops of the fastest species."""
    fastest = float(np.max(np.asarray(model.hop_rate_per_s).sum(axis=1)))
    hops = model.config.parallel.substep_hops
    return hops / fastest if fastest > 0 else np.inf


class SectorEngine(LatticeEngine):
    """Lattice KMC on ``sx * sy`` sectors of 2 x 2 cells, run by ``threads`` threads.

    Parameters as :class:`~kmc.simulation.LatticeEngine`; the layout comes from
    ``model.config.parallel``. ``threads`` (attribute, default: Numba's thread count)
    changes the speed only.
    """

    STATE_ARRAYS = STATE_ARRAYS + SECTOR_STATE_ARRAYS

    def __init__(
        self, model: Model, seed: int, *, phase: np.ndarray | None = None, _empty: bool = False
    ):
        super().__init__(model, seed, phase=phase, _empty=_empty)
        par = model.config.parallel
        if par is None:
            raise ValueError("SectorEngine needs a config with a [parallel] section")
        self.sx, self.sy = par.sectors
        self.cw, self.ch, n_cells = cell_layout(self.nx, self.ny, par.sectors)
        self.threads: int | None = None
        self._scratch: dict[str, np.ndarray] | None = None
        if _empty:
            return
        self.cell_rng = np.zeros((n_cells, 2), dtype=np.uint64)
        for c in range(n_cells):
            self.cell_rng[c, 0] = K.cell_key(self.rng[0], c)
        self.sector_pos = np.zeros(8, dtype=np.int64)
        self.sector_pos[K.P_DEFER_ROOM] = 256
        self.sector_pos[K.P_DIRTY] = 1  # cell lists are built at the first run
        self.sector_time = np.array([substep_s(model), 0.0, 0.0])
        ns = len(model.species_names)
        room = initial_list_room(self.px.size, n_cells)
        self.cell_members = np.zeros((n_cells, ns, room), dtype=np.int32)
        n_ch = model.n_reaction_channels  # 2, or 4 with surfaces resolved
        self.cell_react_members = np.zeros((n_cells, ns * n_ch, room), dtype=np.int32)
        self.cell_counts = np.zeros((n_cells, ns), dtype=np.int64)
        self.cell_react_counts = np.zeros((n_cells, ns, n_ch), dtype=np.int64)
        for name, dtype in _CELL_PARTICLE_ARRAYS.items():
            setattr(self, name, np.zeros(self.px.size, dtype=dtype))
        self.cell_react_chan[:] = -1
        self.cell_free = np.zeros((n_cells, CELL_FREE_IDS), dtype=np.int32)
        self.cell_ints = np.zeros((n_cells, 2), dtype=np.int64)

    # ------------------------------------------------------------------ edits
    def refresh_contacts(self) -> None:
        super().refresh_contacts()
        if hasattr(self, "sector_pos") and not self.sector_pos[K.P_DIRTY]:
            K.refresh_cell_reactive(
                self.words, self.nx, self.ny, self.px, self.py, self.pz, self.pspecies,
                self.cell_members, self.cell_counts, self.cell_react_chan,
                self.cell_react_pos, self.cell_react_members, self.cell_react_counts,
            )  # fmt: skip

    def add_particle(self, species: int, x: int, y: int, z: int) -> int:
        pid = super().add_particle(species, x, y, z)
        self.sector_pos[K.P_DIRTY] = 1
        return pid

    def move_particle(self, pid: int, x: int, y: int, z: int) -> None:
        super().move_particle(pid, x, y, z)
        self.sector_pos[K.P_DIRTY] = 1

    def _particle_id_limit(self) -> int:
        # besides one id per site: the free ids parked in the cells' own stacks, and a
        # refill's worth left on the run's stack for a cell whose stack ran empty
        return int(self.words.size + self.cell_free.size + K.REFILL_IDS)

    def _grow_particle_arrays(self) -> int:
        old = self.px.size
        new = super()._grow_particle_arrays()
        for name in _CELL_PARTICLE_ARRAYS:
            arr = getattr(self, name)
            grown = np.zeros(new, dtype=arr.dtype)
            grown[:old] = arr
            setattr(self, name, grown)
        return new

    def _widen_lists(self, size: int) -> None:
        """Room for ``size`` entries in every cell list (kept)."""
        for name in ("cell_members", "cell_react_members"):
            arr = getattr(self, name)
            if arr.shape[-1] < size:
                grown = np.zeros(arr.shape[:-1] + (max(size, 2 * arr.shape[-1]),), arr.dtype)
                grown[..., : arr.shape[-1]] = arr
                setattr(self, name, grown)

    @property
    def n_sectors(self) -> int:
        return self.sx * self.sy

    # ------------------------------------------------------------------ scratch
    def _allocate_scratch(self) -> None:
        """Per-sector scratch (its sizes are state: ``sector_pos[P_DEFER_ROOM]``)."""
        n, ns = self.n_sectors, len(self.model.species_names)
        room = int(self.sector_pos[K.P_DEFER_ROOM])
        self._scratch = {
            "deferred_c": np.zeros((n, room, 2), dtype=np.int64),
            "todo": np.zeros(n, dtype=np.uint8),
            "status_c": np.zeros(n, dtype=np.int64),
            "cell_of": np.zeros(n, dtype=np.int64),
            "clock_c": np.zeros((n, 1)),
            "counters_c": np.zeros((n, L.N_COUNTERS), dtype=np.int64),
            "react_events_c": np.zeros((n, ns, self.model.n_reaction_channels), dtype=np.int64),
            "inj_events_c": np.zeros((n, ns, 2), dtype=np.int64),
            "exit_events_c": np.zeros((n, ns, 2), dtype=np.int64),
            "bounds_c": np.zeros((n, 4), dtype=np.int64),
            "order": np.zeros(4, dtype=np.int64),
        }

    def _widen_defer_room(self, size: int) -> None:
        """Room for ``size`` deferred entries per cell (kept; the room is state)."""
        old = self._scratch["deferred_c"]
        grown = np.zeros((old.shape[0], size, 2), dtype=np.int64)
        grown[:, : old.shape[1]] = old
        self._scratch["deferred_c"] = grown
        self.sector_pos[K.P_DEFER_ROOM] = size

    # ------------------------------------------------------------------ running
    def run(self, t_stop: float, max_events: int, *, warm_cache: bool | None = None) -> int:
        """Advance to ``t_stop`` (s), or to the first cycle boundary past ``max_events``
        events in total. Returns the kernel status; room is made transparently."""
        if self._stack.size != self.words.size:
            self._stack = np.zeros(self.words.size, dtype=np.int32)
        if self._scratch is None:
            self._allocate_scratch()
        warm = self.warm_cache if warm_cache is None else warm_cache
        if self.threads is not None:
            numba.set_num_threads(self.threads)
        cell_share = (self.cw * self.ch) / (self.nx * self.ny)
        inj_rate = self.model.injection_rate_bound_per_s(self.res_occ) * cell_share
        while True:
            sc = self._scratch
            code = K.run_sectors(
                self.sx, self.sy, self.cw, self.ch, self.words, self.nx, self.ny, self.nz,
                self.model.periodic_z, self._dx, self._dy, self._dz, self._transport,
                self._conductor, self._active, phases.DEPOSIT_PHASE, phases.PT_FLOATING,
                self._inj_z, self.model.gate_z,
                self.px, self.py, self.pz, self.pspecies, self.plength, self.list_pos,
                self.members, self.counts, self.react_chan, self.react_pos,
                self.react_members, self.react_counts, self.free_pids, self.ints,
                self._hop_cum, self._react_rate, self._react_product,
                np.ascontiguousarray(inj_rate), self.res_occ, self._is_res, self._exchanges,
                self._chem_species, self._chem_rate, self.model.precipitation_length,
                self.sched, int(self.sched_e[0]), self._stack,
                self.rng, self.clock, self.counters, self.react_events, self.inj_events,
                self.exit_events, float(t_stop), int(max_events),
                self.cell_rng, self.sector_pos, self.sector_time, self.cell_members,
                self.cell_counts, self.cell_list_pos, self.cell_react_chan,
                self.cell_react_pos, self.cell_react_members, self.cell_react_counts,
                self.cell_free, self.cell_ints, sc["deferred_c"], sc["todo"], sc["status_c"],
                sc["cell_of"], sc["clock_c"], sc["counters_c"], sc["react_events_c"],
                sc["inj_events_c"], sc["exit_events_c"], sc["bounds_c"], sc["order"], warm,
            )  # fmt: skip
            need = int(self.sector_pos[K.P_NEED])
            if code == K.NEED_PIDS:
                self.grow_capacity()
            elif code == K.NEED_LISTS:
                self._widen_lists(need + 16)
            elif code == K.NEED_DEFER_ROOM:
                self._widen_defer_room(need)
            else:
                return code


def resolve_threads(model: Model, requested: int | None, cores: int | None = None) -> int:
    """Threads a run uses: ``requested`` (checked), or by default ``cores`` (the cores
    this process may use), at most one per sector and at most Numba's
    ``NUMBA_NUM_THREADS``; a config without ``[parallel]`` uses one."""
    from kmc.sweeps._runner import usable_cores

    most = int(numba.config.NUMBA_NUM_THREADS)
    par = model.config.parallel
    if par is None:
        return 1
    n_sectors = par.sectors[0] * par.sectors[1]
    if requested is None:
        return max(1, min(usable_cores() if cores is None else cores, n_sectors, most))
    if requested < 1:
        raise ValueError(f"--threads {requested}: at least 1 thread")
    if requested > n_sectors:
        raise ValueError(
            f"--threads {requested} exceeds the {n_sectors} sectors of parallel.sectors = "
            f"{list(par.sectors)}: a sector runs on one thread at a time; use at most "
            f"{n_sectors} threads or more sectors"
        )
    if requested > most:
        raise ValueError(
            f"--threads {requested} exceeds NUMBA_NUM_THREADS = {most} (Numba's thread "
            "pool, fixed when kmc starts); raise it in the environment or ask for fewer"
        )
    return requested


def engine_class(model: Model) -> type[LatticeEngine]:
    """The engine a config asks for: the sector engine with ``[parallel]``."""
    return SectorEngine if model.config.parallel is not None else LatticeEngine
