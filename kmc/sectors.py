"""The sector-parallel engine: one run on many cores (synchronous sublattice algorithm).

A thin class over ``kmc.kernels`` sector kernel (``kernels/_sectors.py``): the same
state as :class:`~kmc.engine.LatticeEngine` plus one RNG stream per cell and the cycle
position; the per-sector lists are scratch, rebuilt from the lattice at each sub-step,
so a checkpoint (always taken at a cycle boundary) holds no sector lists and the result
depends on the config and the seed only, never on the number of threads.
"""

from __future__ import annotations

import numba
import numpy as np

from kmc import phases
from kmc.engine import STATE_ARRAYS, LatticeEngine
from kmc.kernels import layout as L
from kmc.kernels import sectors as K
from kmc.model import Model

SECTOR_STATE_ARRAYS = ("cell_rng", "sector_pos", "sector_time")


def substep_s(model: Model) -> float:
    """Sub-step length tau (s): ``parallel.substep_hops`` hops of the fastest species."""
    fastest = float(np.max(np.asarray(model.hop_rate_per_s).sum(axis=1)))
    hops = model.config.parallel.substep_hops
    return hops / fastest if fastest > 0 else np.inf


class SectorEngine(LatticeEngine):
    """Lattice KMC on ``sx * sy`` sectors of 2 x 2 cells, run by ``threads`` threads.

    Parameters as :class:`~kmc.engine.LatticeEngine`; the layout comes from
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
        self.cw = self.nx // (2 * self.sx)
        self.ch = self.ny // (2 * self.sy)
        self.threads: int | None = None
        self._scratch: dict[str, np.ndarray] | None = None
        if _empty:
            return
        n_cells = 4 * self.sx * self.sy
        self.cell_rng = np.zeros((n_cells, 2), dtype=np.uint64)
        for c in range(n_cells):
            self.cell_rng[c, 0] = K.cell_key(self.rng[0], c)
        self.sector_pos = np.zeros(6, dtype=np.int64)
        self.sector_time = np.array([substep_s(model), 0.0, 0.0])

    @property
    def n_sectors(self) -> int:
        return self.sx * self.sy

    # ------------------------------------------------------------------ scratch
    def _allocate_scratch(self) -> None:
        n, ns = self.n_sectors, len(self.model.species_names)
        room = max(64, 4 * (self.px.size // (4 * n) + 1))
        share = max(64, 2 * (int(self.ints[0]) // n + 2))
        self._scratch = {
            "members_c": np.zeros((n, ns, room), dtype=np.int32),
            "counts_c": np.zeros((n, ns), dtype=np.int64),
            "react_members_c": np.zeros((n, ns * L.N_ELECTRODES, room), dtype=np.int32),
            "react_counts_c": np.zeros((n, ns, L.N_ELECTRODES), dtype=np.int64),
            "free_c": np.zeros((n, share), dtype=np.int32),
            "ints_c": np.zeros((n, 2), dtype=np.int64),
            "flood_c": np.zeros((n, 64), dtype=np.int32),
            "todo": np.zeros(n, dtype=np.uint8),
            "status_c": np.zeros(n, dtype=np.int64),
            "cell_of": np.zeros(n, dtype=np.int64),
            "clock_c": np.zeros((n, 1)),
            "counters_c": np.zeros((n, L.N_COUNTERS), dtype=np.int64),
            "react_events_c": np.zeros((n, ns, 2), dtype=np.int64),
            "inj_events_c": np.zeros((n, ns, 2), dtype=np.int64),
            "exit_events_c": np.zeros((n, ns, 2), dtype=np.int64),
            "bounds_c": np.zeros((n, 4), dtype=np.int64),
            "order": np.zeros(4, dtype=np.int64),
        }

    def _widen(self, name: str, size: int) -> None:
        """Grow the last axis of scratch array ``name`` to at least ``size``, keeping it."""
        arr = self._scratch[name]
        if arr.shape[-1] >= size:
            return
        grown = np.zeros(arr.shape[:-1] + (max(size, 2 * arr.shape[-1]),), dtype=arr.dtype)
        grown[..., : arr.shape[-1]] = arr
        self._scratch[name] = grown

    def _make_cell_room(self, injects: bool) -> None:
        """Room for every cell that paused: free ids, list length, flood list."""
        sc = self._scratch
        need_ids = False
        for i in np.flatnonzero(sc["todo"]):
            if sc["status_c"][i] != L.STATUS_CAPACITY:
                continue
            depth, floods = int(sc["ints_c"][i, 0]), int(sc["ints_c"][i, 1])
            # a cell pauses on an empty share only while it can inject
            need_ids |= depth == 0 and injects
            self._widen("free_c", depth + 3)
            self._widen("flood_c", floods + 2)
            longest = int(sc["counts_c"][i].max())
            self._widen("members_c", longest + 2)
            self._widen("react_members_c", longest + 2)
        if need_ids:
            self._share_new_ids()

    def _share_new_ids(self) -> None:
        """Grow the particle arrays and put the new ids beneath every sector's share."""
        sc = self._scratch
        old = self.px.size
        new = self._grow_particle_arrays()
        free = np.zeros(new, dtype=np.int32)
        free[: self.free_pids.size] = self.free_pids
        self.free_pids = free
        n = self.n_sectors
        part = (new - old) // n
        ids = np.arange(new - 1, old - 1, -1, dtype=np.int32)  # lowest id last: on top
        self._widen("free_c", int(sc["ints_c"][:, 0].max()) + part + 3)
        for i in range(n):
            depth = int(sc["ints_c"][i, 0])
            mine = ids[i * part : (i + 1) * part]
            sc["free_c"][i, part : part + depth] = sc["free_c"][i, :depth].copy()
            sc["free_c"][i, :part] = mine
            sc["ints_c"][i, 0] = depth + part
        rest = ids[n * part :]
        depth = int(self.ints[0])
        self.free_pids[rest.size : rest.size + depth] = self.free_pids[:depth].copy()
        self.free_pids[: rest.size] = rest
        self.ints[0] = depth + rest.size

    # ------------------------------------------------------------------ running
    def run(self, t_stop: float, max_events: int, *, warm_cache: bool | None = None) -> int:
        """Advance to ``t_stop`` (s), or to the first cycle boundary past ``max_events``
        events in total. Returns the kernel status; room is made transparently."""
        if self._stack.size != self.words.size:
            self._stack = np.zeros(self.words.size, dtype=np.int32)
        if self._scratch is None:
            self._allocate_scratch()
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
                self.cell_rng, self.sector_pos, self.sector_time,
                sc["members_c"], sc["counts_c"], sc["react_members_c"], sc["react_counts_c"],
                sc["free_c"], sc["ints_c"], sc["flood_c"], sc["todo"], sc["status_c"],
                sc["cell_of"], sc["clock_c"], sc["counters_c"], sc["react_events_c"],
                sc["inj_events_c"], sc["exit_events_c"], sc["bounds_c"], sc["order"],
            )  # fmt: skip
            need = int(self.sector_pos[K.P_NEED])
            if code == K.NEED_PIDS:
                self.grow_capacity()
            elif code == K.NEED_LISTS:
                self._widen("members_c", need + 64)
                self._widen("react_members_c", need + 64)
            elif code == K.NEED_SHARE_ROOM:
                self._widen("free_c", need)
            elif code == K.NEED_CELL_ROOM:
                self._make_cell_room(bool(inj_rate.sum() > 0))
            else:
                return code


def engine_class(model: Model) -> type[LatticeEngine]:
    """The engine a config asks for: the sector engine with ``[parallel]``."""
    return SectorEngine if model.config.parallel is not None else LatticeEngine
