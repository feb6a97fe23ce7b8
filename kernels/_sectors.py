"""Sector-parallel event loop: the synchronous sublattice algorithm (Numba).

Shim & Amar, Phys. Rev. B 71, 125432 (2005). The lattice columns are split into
``sx * sy`` sectors, each of 2 x 2 cells. A cycle of length ``tau`` runs the four cell
positions (quarters) one after the other, in an order drawn per cycle; in a quarter's
sub-step every sector runs the events of its cell of that quarter for ``tau`` with the
serial kernel (``run_events`` on the cell's own lists, RNG stream and clock), all
sectors at once. Cells of one quarter are a cell apart and an event reaches only a site
and its neighbours, so concurrent cells never touch one site or one list: the result
does not depend on the number of threads. What a cell does to an idle neighbour (a
particle hopping in, a radical there coupled with, a new contact flag, a flood over
floating PT) it leaves as entries that the merge after the sub-step applies, in sector
order; once per cycle the merge also runs the scheduled oxidations of galvanostatic
control, drawn over the whole electrode from the run's own stream. The approximation is
the sub-step: a cell sees its neighbours as they were when its sub-step began, and a
particle that crosses into a cell that already had its turn waits for the next cycle;
``tau`` controls it (docs/ENGINE.md).

Each cell keeps its lists from sub-step to sub-step (state, checkpointed with the
rest); the whole-lattice lists of ``LatticeEngine`` are rebuilt from them whenever the
kernel returns, for the protocol driver and the observables.

Free particle ids: each cell keeps its own stack (state, like its lists); a cell that
would inject with an empty stack, or could overflow it, pauses before drawing; between
rounds its stack is refilled from (or spilled onto) the run's stack, in sector order.
Everything that decides a pause (the room of every array) is state too, so where the
pauses fall, and so which ids a particle gets, is a function of the config and seed.
"""

import numpy as np
from numba import njit, prange, uint64

from ._chemistry import (
    DEFER_ARRIVAL,
    DEFER_FLOOD,
    DEFER_KILL,
    DEFER_PER_ATTEMPT,
    cell_at,
    contact_channel,
    neighbour_site,
    set_reactive,
)
from ._engine import _channel_rate, _pick_channel, _react_in_channel, _unlist, run_events
from ._layout import (
    C_EVENTS,
    C_FARADAIC,
    C_SHORTS,
    FLAG_SHIFT,
    N_ELECTRODES,
    PHASE_MASK,
    PID_SHIFT,
    STATUS_CAPACITY,
    STATUS_EVENTS,
    STATUS_EXHAUSTED,
    STATUS_STARVED,
    STATUS_TIME,
)
from ._rng import splitmix64, uniform

# Returned to the caller (besides STATUS_TIME/EVENTS/EXHAUSTED/STARVED): make room and
# call again; a sub-step in progress continues where it stopped.
NEED_PIDS = 10  # the run's free-id stack cannot refill a cell's (grow the particles)
NEED_LISTS = 11  # the cell lists need room for ``pos[P_NEED]`` entries
NEED_DEFER_ROOM = 12  # a cell's deferred entries need room for ``pos[P_NEED]``
REFILL_IDS = 64  # ids a cell's empty stack takes from the run's

# sector position, int64 pos[8]: cycle k since the anchor, sub-step j in the cycle,
# sub-step state (0 idle, 1 cells running, 2 merge pending), cycles run in total, room
# needed, all-cells-exhausted flag, cell lists out of date (1: build from the
# whole-lattice lists), room of the deferred-entry arrays
P_K, P_J, P_BUSY, P_TOTAL, P_NEED, P_IDLE, P_DIRTY, P_DEFER_ROOM = 0, 1, 2, 3, 4, 5, 6, 7
# sector time, float64 tm[3]: sub-step length tau (s), anchor (s), clock at last return
T_TAU, T_ANCHOR, T_LAST = 0, 1, 2

_ORDER_SALT = uint64(0x5EC7012D3A4B5C6D)
_CELL_SALT = uint64(0x0C311C0FFEE15EED)


@njit(cache=True)
def cell_key(key, cell):
    """RNG key of cell ``cell``'s own stream, derived from the run's key."""
    return splitmix64(uint64(key) ^ _CELL_SALT, uint64(cell))


@njit(cache=True)
def quarter_order(key, cycle, order):
    """The four quarters in the order of cycle ``cycle`` (Fisher-Yates on its hash)."""
    for q in range(4):
        order[q] = q
    for q in range(3, 0, -1):
        r = splitmix64(uint64(key) ^ _ORDER_SALT, uint64(cycle) * uint64(4) + uint64(q))
        j = np.int64(r % uint64(q + 1))
        tmp = order[q]
        order[q] = order[j]
        order[j] = tmp


@njit(inline="always", cache=True)
def _site_of(pid, px, py, pz, nx, ny):
    return np.int64(px[pid]) + nx * (np.int64(py[pid]) + ny * np.int64(pz[pid]))


@njit(inline="always", cache=True)
def _is_member(pid, c, pspecies, cell_members, cell_counts, cell_list_pos):
    s = pspecies[pid]
    i = cell_list_pos[pid]
    return i < cell_counts[c, s] and cell_members[c, s, i] == pid


@njit(cache=True)
def _append(
    pid, c, words, nx, ny, px, py, pz, pspecies, cell_members, cell_counts,
    cell_list_pos, cell_react_chan, cell_react_pos, cell_react_members, cell_react_counts,
):  # fmt: skip
    s = pspecies[pid]
    cell_members[c, s, cell_counts[c, s]] = pid
    cell_list_pos[pid] = cell_counts[c, s]
    cell_counts[c, s] += 1
    cell_react_chan[pid] = -1
    set_reactive(
        pid, contact_channel(words[_site_of(pid, px, py, pz, nx, ny)]), pspecies,
        cell_react_chan, cell_react_pos, cell_react_members[c], cell_react_counts[c],
    )  # fmt: skip


@njit(cache=True)
def build_cell_lists(
    words, nx, ny, px, py, pz, pspecies, members, counts, bounds0,
    cell_members, cell_counts, cell_list_pos, cell_react_chan, cell_react_pos,
    cell_react_members, cell_react_counts,
):  # fmt: skip
    """Cell lists from the whole-lattice lists (their order). Returns 0, or the list
    length needed when the cell lists are too short (nothing set)."""
    n_cells = cell_counts.shape[0]
    cell_counts[:, :] = 0
    for s in range(counts.shape[0]):
        for i in range(counts[s]):
            pid = members[s, i]
            cell_counts[cell_at(np.int64(px[pid]), np.int64(py[pid]), bounds0, nx), s] += 1
    need = 0
    for c in range(n_cells):
        for s in range(counts.shape[0]):
            need = max(need, cell_counts[c, s])
    if need >= cell_members.shape[2]:
        cell_counts[:, :] = 0
        return need
    cell_counts[:, :] = 0
    cell_react_counts[:, :, :] = 0
    for s in range(counts.shape[0]):
        for i in range(counts[s]):
            pid = members[s, i]
            c = cell_at(np.int64(px[pid]), np.int64(py[pid]), bounds0, nx)
            _append(
                pid, c, words, nx, ny, px, py, pz, pspecies, cell_members, cell_counts,
                cell_list_pos, cell_react_chan, cell_react_pos, cell_react_members,
                cell_react_counts,
            )  # fmt: skip
    return 0


@njit(cache=True)
def refresh_cell_reactive(
    words, nx, ny, px, py, pz, pspecies, cell_members, cell_counts, cell_react_chan,
    cell_react_pos, cell_react_members, cell_react_counts,
):  # fmt: skip
    """Reaction channels of every cell from the contact flags, in list order."""
    cell_react_counts[:, :, :] = 0
    for c in range(cell_counts.shape[0]):
        for s in range(cell_counts.shape[1]):
            for i in range(cell_counts[c, s]):
                cell_react_chan[cell_members[c, s, i]] = -1
    for c in range(cell_counts.shape[0]):
        for s in range(cell_counts.shape[1]):
            for i in range(cell_counts[c, s]):
                pid = cell_members[c, s, i]
                set_reactive(
                    pid, contact_channel(words[_site_of(pid, px, py, pz, nx, ny)]),
                    pspecies, cell_react_chan, cell_react_pos, cell_react_members[c],
                    cell_react_counts[c],
                )  # fmt: skip


@njit(cache=True)
def rebuild_lists(
    words, nx, ny, px, py, pz, pspecies, list_pos, members, counts,
    react_chan, react_pos, react_members, react_counts, cell_members, cell_counts,
):  # fmt: skip
    """Whole-lattice lists from the cell lists (cells in order). What they do not use is
    zeroed, so that a checkpoint does not depend on how the run was cut into calls."""
    counts[:] = 0
    react_counts[:, :] = 0
    members[:, :] = 0
    react_members[:, :] = 0
    list_pos[:] = 0
    react_pos[:] = 0
    react_chan[:] = -1
    for c in range(cell_counts.shape[0]):
        for s in range(cell_counts.shape[1]):
            for i in range(cell_counts[c, s]):
                pid = cell_members[c, s, i]
                members[s, counts[s]] = pid
                list_pos[pid] = counts[s]
                counts[s] += 1
                set_reactive(
                    pid, contact_channel(words[_site_of(pid, px, py, pz, nx, ny)]),
                    pspecies, react_chan, react_pos, react_members, react_counts,
                )  # fmt: skip


@njit(cache=True)
def _flood_and_resort(
    site, e, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz, phase_conductor,
    phase_active, deposit_phase, floating_phase, stack, px, py, pz, pspecies, bounds0,
    cell_members, cell_counts, cell_list_pos, cell_react_chan, cell_react_pos,
    cell_react_members, cell_react_counts,
):  # fmt: skip
    """The merge's flood from connected PT ``site`` over touching floating PT (breadth
    first: ``stack[:n]`` ends holding every site it made active), then the particles
    next to those sites re-sorted into their cells' reaction channels. Returns True
    when it met a conductor of the other electrode (a short)."""
    ndir = dir_dx.shape[0]
    p = deposit_phase[e]
    channel = phase_active[p]  # e, or FILM_CHANNEL + e when surfaces are resolved
    active = channel >= 0
    flag = np.int64(1) << (FLAG_SHIFT + max(channel, 0))
    short = False
    stack[0] = site
    head = 0
    tail = 1
    while head < tail:
        cur = np.int64(stack[head])
        head += 1
        cx = cur % nx
        cy = (cur // nx) % ny
        cz = cur // (nx * ny)
        for d in range(ndir):
            nb = neighbour_site(cx, cy, cz, d, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz)
            if nb < 0:
                continue
            ph = np.int64(words[nb]) & PHASE_MASK
            if ph == floating_phase:
                words[nb] = (np.int64(words[nb]) & ~np.int64(PHASE_MASK)) | p
                stack[tail] = nb
                tail += 1
            elif phase_conductor[ph] >= 0 and phase_conductor[ph] != e:
                short = True
            if active:
                words[nb] = np.int64(words[nb]) | flag
    if not active:
        return short
    for k in range(tail):
        cur = np.int64(stack[k])
        cx = cur % nx
        cy = (cur // nx) % ny
        cz = cur // (nx * ny)
        for d in range(ndir):
            nb = neighbour_site(cx, cy, cz, d, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz)
            if nb < 0:
                continue
            occ = np.int64(words[nb]) >> PID_SHIFT
            if occ == 0:
                continue
            pid = occ - 1
            c = cell_at(np.int64(px[pid]), np.int64(py[pid]), bounds0, nx)
            if _is_member(pid, c, pspecies, cell_members, cell_counts, cell_list_pos):
                set_reactive(
                    pid, contact_channel(words[nb]), pspecies, cell_react_chan,
                    cell_react_pos, cell_react_members[c], cell_react_counts[c],
                )  # fmt: skip
    return short


@njit(cache=True)
def _apply_deferred(
    entries, n, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_conductor, phase_active, deposit_phase, floating_phase, stack,
    px, py, pz, pspecies, cell_members, cell_counts, cell_list_pos, cell_react_chan,
    cell_react_pos, cell_react_members, cell_react_counts, react_chan, react_pos,
    react_members, react_counts, counters, bounds0, no_bounds, no_deferred, ints_tmp,
    free_pids, ints,
):  # fmt: skip
    """Apply a cell's entries in order (sector order is the caller's); the ids of
    killed particles go on the run's free-id stack (``free_pids``, ``ints[0]`` deep)."""
    for k in range(n):
        kind = entries[k, 0] & 3
        idx = entries[k, 0] >> 2
        c = entries[k, 1]
        if kind == DEFER_FLOOD:
            e = phase_conductor[np.int64(words[idx]) & PHASE_MASK]
            if e >= 0 and _flood_and_resort(
                idx, e, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
                phase_conductor, phase_active, deposit_phase, floating_phase, stack, px, py,
                pz, pspecies, bounds0, cell_members, cell_counts, cell_list_pos,
                cell_react_chan, cell_react_pos, cell_react_members, cell_react_counts,
            ):  # fmt: skip
                counters[C_SHORTS] += 1
            continue
        pid = idx
        member = _is_member(pid, c, pspecies, cell_members, cell_counts, cell_list_pos)
        if kind == DEFER_KILL:
            if member:
                _unlist(
                    pid, pspecies, cell_list_pos, cell_members[c], cell_counts[c],
                    cell_react_chan, cell_react_pos, cell_react_members[c],
                    cell_react_counts[c],
                )  # fmt: skip
            free_pids[ints[0]] = pid
            ints[0] += 1
            continue
        site = _site_of(pid, px, py, pz, nx, ny)
        alive = (np.int64(words[site]) >> PID_SHIFT) == pid + 1
        here = cell_at(np.int64(px[pid]), np.int64(py[pid]), bounds0, nx) == c
        if not alive or not here:
            continue
        if kind == DEFER_ARRIVAL:
            if not member:
                _append(
                    pid, c, words, nx, ny, px, py, pz, pspecies, cell_members, cell_counts,
                    cell_list_pos, cell_react_chan, cell_react_pos, cell_react_members,
                    cell_react_counts,
                )  # fmt: skip
        elif member:
            set_reactive(
                pid, contact_channel(words[site]), pspecies, cell_react_chan,
                cell_react_pos, cell_react_members[c], cell_react_counts[c],
            )  # fmt: skip


@njit(parallel=True, cache=True)
def _run_cells(
    todo, status, cell_of, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_transport, phase_conductor, phase_active, deposit_phase, floating_phase,
    inj_z, gate_z, px, py, pz, pspecies, plength, cell_list_pos,
    cell_members, cell_counts, cell_react_chan, cell_react_pos, cell_react_members,
    cell_react_counts, cell_free, cell_ints, hop_cum, react_rate, react_product, inj_rate_cell,
    res_occ, is_reservoir, exchanges, chem_species, chem_rate, n_star, sched_cell,
    sched_e_cell, stack, cell_rng, clock_c, counters_c, react_events_c, inj_events_c,
    exit_events_c, t_end, bounds_c, deferred_c, warm_cache,
):  # fmt: skip
    """One round of a sub-step: every cell still to run advances to ``t_end``."""
    for i in prange(todo.shape[0]):
        if todo[i] == 0:
            continue
        c = cell_of[i]
        status[i] = run_events(
            words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
            phase_transport, phase_conductor, phase_active, deposit_phase, floating_phase,
            inj_z, gate_z, px, py, pz, pspecies, plength, cell_list_pos,
            cell_members[c], cell_counts[c], cell_react_chan, cell_react_pos,
            cell_react_members[c], cell_react_counts[c], cell_free[c], cell_ints[c], hop_cum,
            react_rate, react_product, inj_rate_cell, res_occ, is_reservoir, exchanges,
            chem_species, chem_rate, n_star, sched_cell, sched_e_cell, stack, cell_rng[c],
            clock_c[i], counters_c[i], react_events_c[i], inj_events_c[i],
            exit_events_c[i], t_end, np.int64(2**62), warm_cache, bounds_c[i], deferred_c[i],
        )  # fmt: skip


@njit(cache=True)
def run_sectors(
    sx, sy, cw, ch, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_transport, phase_conductor, phase_active, deposit_phase, floating_phase,
    inj_z, gate_z, px, py, pz, pspecies, plength, list_pos, members, counts,
    react_chan, react_pos, react_members, react_counts, free_pids, ints,
    hop_cum, react_rate, react_product, inj_rate_cell, res_occ, is_reservoir, exchanges,
    chem_species, chem_rate, n_star, sched, sched_e, stack, rng, clock, counters,
    react_events, inj_events, exit_events, t_stop, max_events,
    cell_rng, pos, tm, cell_members, cell_counts, cell_list_pos, cell_react_chan,
    cell_react_pos, cell_react_members, cell_react_counts,
    cell_free, cell_ints, deferred_c, todo, status_c, cell_of, clock_c, counters_c,
    react_events_c, inj_events_c, exit_events_c, bounds_c, order, warm_cache,
):  # fmt: skip
    """Run cycles until ``t_stop`` (s), or stop at a cycle boundary once ``max_events``
    events are counted; arguments as ``run_events`` plus the sector state (``pos``,
    ``tm``, ``cell_rng``, the ``cell_*`` lists) and per-sector scratch (``*_c``, leading
    index = sector).

    Returns a STATUS_* code, or a NEED_* code asking the caller to make room and call
    again. On a STATUS_* return the whole-lattice lists are rebuilt from the cells'.
    """
    n_slots = sx * sy
    tau = tm[T_TAU]
    bounds0 = np.array([0, cw, 0, ch], dtype=np.int64)
    no_bounds = np.zeros(4, dtype=np.int64)
    no_deferred = np.zeros((0, 2), dtype=np.int64)
    ints_tmp = np.zeros(2, dtype=np.int64)
    if pos[P_DIRTY]:
        need = build_cell_lists(
            words, nx, ny, px, py, pz, pspecies, members, counts, bounds0,
            cell_members, cell_counts, cell_list_pos, cell_react_chan, cell_react_pos,
            cell_react_members, cell_react_counts,
        )  # fmt: skip
        if need > 0:
            pos[P_NEED] = need
            return NEED_LISTS
        pos[P_DIRTY] = 0
    if pos[P_BUSY] == 0 and pos[P_J] == 0 and clock[0] != tm[T_LAST]:
        # the clock moved outside (a frozen stretch, an exhausted step): new anchor
        tm[T_ANCHOR] = clock[0]
        pos[P_K] = 0
    scheduled = sched_e >= 0 and sched[1] > 0.0
    sched_cell = np.array([np.inf, 1.0])
    sched_e_cell = sched_e if scheduled else -1
    while True:
        t0 = tm[T_ANCHOR] + pos[P_K] * tau
        t1 = min(tm[T_ANCHOR] + (pos[P_K] + 1) * tau, t_stop)
        if pos[P_BUSY] == 0:
            if pos[P_J] == 0:
                if clock[0] >= t_stop:
                    status = STATUS_TIME
                    break
                if counters[C_EVENTS] >= max_events:
                    status = STATUS_EVENTS
                    break
                quarter_order(rng[0], pos[P_TOTAL], order)
                pos[P_IDLE] = 1
            # ---- start the sub-step
            q = order[pos[P_J]]
            # a 2D lattice (ny = 1) has one row of cells: its quarters 2 and 3 are empty
            empty = ny == 1 and (q >> 1) == 1
            for i in range(n_slots):
                cx = 2 * (i % sx) + (q & 1)
                cy = 0 if ny == 1 else 2 * (i // sx) + (q >> 1)
                cell_of[i] = cx + 2 * sx * cy
                bounds_c[i, 0] = cx * cw
                bounds_c[i, 1] = cx * cw + cw
                bounds_c[i, 2] = cy * ch
                bounds_c[i, 3] = cy * ch + ch
                clock_c[i, 0] = t0
                cell_ints[cell_of[i], 1] = 0
                todo[i] = 0 if empty else 1
            counters_c[:, :] = 0
            react_events_c[:, :, :] = 0
            inj_events_c[:, :, :] = 0
            exit_events_c[:, :, :] = 0
            pos[P_BUSY] = 1
        if pos[P_BUSY] == 1:
            # ---- a round: every cell of the quarter still short of t1 runs
            _run_cells(
                todo, status_c, cell_of, words, nx, ny, nz, periodic_z, dir_dx, dir_dy,
                dir_dz, phase_transport, phase_conductor, phase_active, deposit_phase,
                floating_phase, inj_z, gate_z, px, py, pz, pspecies, plength,
                cell_list_pos, cell_members, cell_counts, cell_react_chan, cell_react_pos,
                cell_react_members, cell_react_counts, cell_free, cell_ints, hop_cum,
                react_rate, react_product, inj_rate_cell, res_occ, is_reservoir,
                exchanges, chem_species, chem_rate, n_star, sched_cell, sched_e_cell,
                stack, cell_rng, clock_c, counters_c, react_events_c, inj_events_c,
                exit_events_c, t1, bounds_c, deferred_c, warm_cache,
            )  # fmt: skip
            for i in range(n_slots):
                if todo[i] != 0 and status_c[i] != STATUS_CAPACITY:
                    if status_c[i] != STATUS_EXHAUSTED:
                        pos[P_IDLE] = 0
                    todo[i] = 0
            pos[P_BUSY] = 3
        if pos[P_BUSY] == 3:
            # ---- room for the cells that paused (sector order), then the next round
            paused = False
            for i in range(n_slots):
                if todo[i] == 0:
                    continue
                paused = True
                c = cell_of[i]
                depth = cell_ints[c, 0]
                if depth == 0:
                    if ints[0] < REFILL_IDS:
                        return NEED_PIDS
                    for k in range(REFILL_IDS):
                        ints[0] -= 1
                        cell_free[c, k] = free_pids[ints[0]]
                    cell_ints[c, 0] = REFILL_IDS
                elif depth + 2 > cell_free.shape[1]:
                    # spill the bottom half onto the run's stack
                    half = depth // 2
                    for k in range(half):
                        free_pids[ints[0]] = cell_free[c, k]
                        ints[0] += 1
                    for k in range(half, depth):
                        cell_free[c, k - half] = cell_free[c, k]
                    cell_ints[c, 0] = depth - half
                if cell_ints[c, 1] + DEFER_PER_ATTEMPT > deferred_c.shape[1]:
                    pos[P_NEED] = 2 * deferred_c.shape[1]
                    return NEED_DEFER_ROOM
                for s in range(cell_counts.shape[1]):
                    if cell_counts[c, s] >= cell_members.shape[2]:
                        pos[P_NEED] = cell_counts[c, s] + 1
                        return NEED_LISTS
            pos[P_BUSY] = 1 if paused else 2
            if paused:
                continue
        # ---- merge (sector order): room for the arrivals, entries, counters, free ids
        arrivals = 0
        for i in range(n_slots):
            arrivals += cell_ints[cell_of[i], 1]
        longest = 0
        for c in range(cell_counts.shape[0]):
            for s in range(cell_counts.shape[1]):
                longest = max(longest, cell_counts[c, s])
        if longest + arrivals >= cell_members.shape[2]:
            pos[P_NEED] = longest + arrivals + 1
            return NEED_LISTS
        for i in range(n_slots):
            _apply_deferred(
                deferred_c[i], cell_ints[cell_of[i], 1], words, nx, ny, nz, periodic_z, dir_dx,
                dir_dy, dir_dz, phase_conductor, phase_active, deposit_phase,
                floating_phase, stack, px, py, pz, pspecies, cell_members, cell_counts,
                cell_list_pos, cell_react_chan, cell_react_pos, cell_react_members,
                cell_react_counts, react_chan, react_pos, react_members, react_counts,
                counters, bounds0, no_bounds, no_deferred, ints_tmp, free_pids, ints,
            )  # fmt: skip
            for c in range(counters.shape[0]):
                counters[c] += counters_c[i, c]
            for s in range(react_events.shape[0]):
                for chan in range(react_events.shape[1]):  # reaction channels: 2 or 4
                    react_events[s, chan] += react_events_c[i, s, chan]
                for e in range(N_ELECTRODES):  # the two reservoir sides
                    inj_events[s, e] += inj_events_c[i, s, e]
                    exit_events[s, e] += exit_events_c[i, s, e]
        pos[P_BUSY] = 0
        pos[P_J] += 1
        if pos[P_J] < 4:
            continue
        # ---- the cycle is complete: the scheduled oxidations due by its end
        pos[P_J] = 0
        pos[P_K] += 1
        pos[P_TOTAL] += 1
        clock[0] = t1
        starved = False
        if scheduled and sched[0] <= t1:
            pos[P_IDLE] = 0
            key = rng[0]
            while sched[0] <= t1:
                attempt = rng[1]
                rng[1] = attempt + np.uint64(1)
                counters[C_EVENTS] += 1
                # the scheduled electrode's channels: itself, and its film when surfaces
                # are resolved (channel c belongs to electrode c & 1)
                w_sum = 0.0
                for c in range(cell_counts.shape[0]):
                    for s in range(cell_counts.shape[1]):
                        for chan in range(sched_e, cell_react_counts.shape[2], 2):
                            w_sum += cell_react_counts[c, s, chan] * react_rate[s, chan]
                if w_sum <= 0.0:
                    starved = True
                    break
                # the cell, then the channel and the particle in it
                u = uniform(key, attempt, 1) * w_sum
                c_pick = -1
                for c in range(cell_counts.shape[0]):
                    w_c = _channel_rate(cell_react_counts[c], react_rate, sched_e, -1)
                    if w_c > 0.0:
                        c_pick = c
                        if u < w_c:
                            break
                        u -= w_c
                c = c_pick
                s, chan = _pick_channel(u, cell_react_counts[c], react_rate, sched_e, -1)
                bx = c % (2 * sx)
                by = c // (2 * sx)
                bounds_c[0, 0] = bx * cw
                bounds_c[0, 1] = bx * cw + cw
                bounds_c[0, 2] = by * ch
                bounds_c[0, 3] = by * ch + ch
                ints_tmp[0] = ints[0]
                ints_tmp[1] = 0
                _react_in_channel(
                    s, chan, uniform(key, attempt, 2), react_product, words, nx, ny, nz,
                    periodic_z, dir_dx, dir_dy, dir_dz, phase_conductor, phase_active,
                    deposit_phase, floating_phase, stack, px, py, pz, pspecies, plength,
                    cell_list_pos, cell_members[c], cell_counts[c], cell_react_chan,
                    cell_react_pos, cell_react_members[c], cell_react_counts[c],
                    free_pids, ints_tmp, counters, react_events, bounds_c[0], deferred_c[0],
                )  # fmt: skip
                ints[0] = ints_tmp[0]
                _apply_deferred(
                    deferred_c[0], ints_tmp[1], words, nx, ny, nz, periodic_z, dir_dx,
                    dir_dy, dir_dz, phase_conductor, phase_active, deposit_phase,
                    floating_phase, stack, px, py, pz, pspecies, cell_members, cell_counts,
                    cell_list_pos, cell_react_chan, cell_react_pos, cell_react_members,
                    cell_react_counts, react_chan, react_pos, react_members, react_counts,
                    counters, bounds0, no_bounds, no_deferred, ints_tmp, free_pids, ints,
                )  # fmt: skip
                counters[C_FARADAIC] += 1
                sched[0] += sched[1]
        if starved:
            tm[T_ANCHOR] = t1
            pos[P_K] = 0
            status = STATUS_STARVED
            break
        if t1 >= t_stop:
            tm[T_ANCHOR] = t1
            pos[P_K] = 0
            status = STATUS_TIME
            break
        if pos[P_IDLE] == 1 and not scheduled:
            # nothing could happen anywhere: the lattice waits for the caller
            if t_stop < np.inf:
                clock[0] = t_stop
            tm[T_ANCHOR] = clock[0]
            pos[P_K] = 0
            status = STATUS_EXHAUSTED
            break
    tm[T_LAST] = clock[0]
    rebuild_lists(
        words, nx, ny, px, py, pz, pspecies, list_pos, members, counts,
        react_chan, react_pos, react_members, react_counts, cell_members, cell_counts,
    )  # fmt: skip
    return status
