"""Sector-parallel event loop: the synchronous sublattice algorithm (Numba).

Shim & Amar, Phys. Rev. B 71, 125432 (2005). The lattice columns are split into
``sx * sy`` sectors, each of 2 x 2 cells. A cycle of length ``tau`` runs the four cell
positions (quarters) one after the other, in an order drawn per cycle; in a quarter's
sub-step every sector runs the events of its cell of that quarter for ``tau`` with the
serial kernel (``run_events`` on the cell's own lists, RNG stream and clock), all
sectors at once. Cells of one quarter are a cell apart, and an event reaches only a
site and its neighbours, so concurrent cells never touch one site: the result does not
depend on the number of threads. What couples cells is applied between sub-steps, in a
fixed order: particles that hopped into a neighbouring cell join its lists when its
lists are built (from the lattice, in particle-id order, at the start of its sub-step),
floods over floating PT that a new connected site touches, and (once per cycle) the
scheduled oxidations of galvanostatic control, drawn over the whole electrode from the
run's own stream. The approximation is the sub-step: a cell sees its neighbours as they
were at the start of its sub-step; ``tau`` controls it (docs/ENGINE.md).

Free particle ids: at a sub-step's start the run's free-id stack is split into equal
contiguous shares, one per sector (a cell frees and reuses ids only on its own share);
a share that runs dry is refilled by the caller growing the particle arrays, every
sector getting its part of the new ids beneath its share, so that which ids a cell
uses never depends on the order in which cells ran out.
"""

import numpy as np
from numba import njit, prange, uint64

from ._chemistry import contact_electrode, flood_connect, set_reactive
from ._engine import _pick_channel, _react_in_channel, run_events
from ._layout import (
    C_EVENTS,
    C_FARADAIC,
    C_SHORTS,
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

# Returned to the caller (besides STATUS_TIME/EVENTS/EXHAUSTED/STARVED): grow something
# and call again; the sub-step in progress continues where it stopped.
NEED_PIDS = 10  # the free-id stack is too shallow to hand out shares
NEED_LISTS = 11  # a cell's lists need more room than allocated (``pos[4]``: the count)
NEED_CELL_ROOM = 12  # some cell paused for room (free share, lists or flood list)
NEED_SHARE_ROOM = 13  # the per-sector free-id arrays are shorter than a share (pos[4])

# sector position, int64 pos[6]: cycle k since the anchor, sub-step j in the cycle,
# sub-step in progress (0/1), cycles run in total, list room needed, all-exhausted flag
P_K, P_J, P_BUSY, P_TOTAL, P_NEED, P_IDLE = 0, 1, 2, 3, 4, 5
# sector time, float64 tm[3]: cycle length tau (s), anchor (s), clock at the last return
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


@njit(cache=True)
def particle_alive(pid, words, px, py, pz, nx, ny):
    site = np.int64(px[pid]) + nx * (np.int64(py[pid]) + ny * np.int64(pz[pid]))
    return (np.int64(words[site]) >> PID_SHIFT) == pid + 1


@njit(cache=True)
def canonical_free(words, nx, ny, px, py, pz, free_pids, ints):
    """The free-id stack as the ids not on the lattice, the lowest on top: a function
    of the lattice alone, so that how a run was cut into calls cannot change which ids
    later particles get."""
    n_free = 0
    for pid in range(px.shape[0] - 1, -1, -1):
        if not particle_alive(pid, words, px, py, pz, nx, ny):
            free_pids[n_free] = pid
            n_free += 1
    ints[0] = n_free


@njit(cache=True)
def rebuild_lists(
    words, nx, ny, px, py, pz, pspecies, list_pos, members, counts,
    react_chan, react_pos, react_members, react_counts, free_pids, ints,
):  # fmt: skip
    """Whole-lattice lists from the lattice, particle ids in ascending order, and the
    free-id stack of the ids not on it (the lowest id on top)."""
    cap = px.shape[0]
    counts[:] = 0
    react_counts[:, :] = 0
    canonical_free(words, nx, ny, px, py, pz, free_pids, ints)
    # what the lists do not use is zeroed: a checkpoint's every byte is then a function
    # of the lattice and the particles, whatever calls the run was cut into
    free_pids[ints[0] :] = 0
    members[:, :] = 0
    react_members[:, :] = 0
    for pid in range(cap):
        react_chan[pid] = -1
        list_pos[pid] = 0
        react_pos[pid] = 0
        if not particle_alive(pid, words, px, py, pz, nx, ny):
            continue
        s = pspecies[pid]
        members[s, counts[s]] = pid
        list_pos[pid] = counts[s]
        counts[s] += 1
        site = np.int64(px[pid]) + nx * (np.int64(py[pid]) + ny * np.int64(pz[pid]))
        set_reactive(
            pid, contact_electrode(words[site]), pspecies, react_chan, react_pos,
            react_members, react_counts,
        )  # fmt: skip


@njit(cache=True)
def _bin_quarter(
    q, words, nx, ny, px, py, pz, pspecies, cw, ch, sx, list_pos, react_chan, react_pos,
    members_c, counts_c, react_members_c, react_counts_c,
):  # fmt: skip
    """Lists of the cells of quarter q (one per sector), particle ids ascending.

    Returns 0, or the list length needed when ``members_c`` is too short (nothing set).
    """
    qx = q & 1
    qy = q >> 1
    cap = px.shape[0]
    n_slots = counts_c.shape[0]
    room = members_c.shape[2]
    counts_c[:, :] = 0
    for pid in range(cap):
        if not particle_alive(pid, words, px, py, pz, nx, ny):
            continue
        cx = np.int64(px[pid]) // cw
        cy = np.int64(py[pid]) // ch
        if (cx & 1) != qx or (cy & 1) != qy:
            continue
        counts_c[(cx >> 1) + sx * (cy >> 1), pspecies[pid]] += 1
    need = 0
    for i in range(n_slots):
        for s in range(counts_c.shape[1]):
            need = max(need, counts_c[i, s])
    if need >= room:
        return need
    counts_c[:, :] = 0
    react_counts_c[:, :, :] = 0
    for pid in range(cap):
        if not particle_alive(pid, words, px, py, pz, nx, ny):
            continue
        cx = np.int64(px[pid]) // cw
        cy = np.int64(py[pid]) // ch
        if (cx & 1) != qx or (cy & 1) != qy:
            continue
        i = (cx >> 1) + sx * (cy >> 1)
        s = pspecies[pid]
        members_c[i, s, counts_c[i, s]] = pid
        list_pos[pid] = counts_c[i, s]
        counts_c[i, s] += 1
        react_chan[pid] = -1
        site = np.int64(px[pid]) + nx * (np.int64(py[pid]) + ny * np.int64(pz[pid]))
        set_reactive(
            pid, contact_electrode(words[site]), pspecies, react_chan, react_pos,
            react_members_c[i], react_counts_c[i],
        )  # fmt: skip
    return 0


@njit(parallel=True, cache=True)
def _run_cells(
    todo, status, cell_of, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_transport, phase_conductor, phase_active, deposit_phase, floating_phase,
    inj_z, gate_z, px, py, pz, pspecies, plength, list_pos,
    members_c, counts_c, react_chan, react_pos, react_members_c, react_counts_c,
    free_c, ints_c, hop_cum, react_rate, react_product, inj_rate_cell, res_occ,
    is_reservoir, exchanges, chem_species, chem_rate, n_star, sched_cell, sched_e_cell,
    stack, cell_rng, clock_c, counters_c, react_events_c, inj_events_c, exit_events_c,
    t_end, bounds_c, flood_c,
):  # fmt: skip
    """One round of a sub-step: every cell still to run advances to ``t_end``."""
    for i in prange(todo.shape[0]):
        if todo[i] == 0:
            continue
        status[i] = run_events(
            words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
            phase_transport, phase_conductor, phase_active, deposit_phase, floating_phase,
            inj_z, gate_z, px, py, pz, pspecies, plength, list_pos,
            members_c[i], counts_c[i], react_chan, react_pos, react_members_c[i],
            react_counts_c[i], free_c[i], ints_c[i], hop_cum, react_rate, react_product,
            inj_rate_cell, res_occ, is_reservoir, exchanges, chem_species, chem_rate,
            n_star, sched_cell, sched_e_cell, stack, cell_rng[cell_of[i]], clock_c[i],
            counters_c[i], react_events_c[i], inj_events_c[i], exit_events_c[i],
            t_end, np.int64(2**62), False, bounds_c[i], flood_c[i],
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
    cell_rng, pos, tm, members_c, counts_c, react_members_c, react_counts_c, free_c,
    ints_c, flood_c, todo, status_c, cell_of, clock_c, counters_c, react_events_c,
    inj_events_c, exit_events_c, bounds_c, order,
):  # fmt: skip
    """Run cycles until ``t_stop`` (s), or stop at a cycle boundary once ``max_events``
    events are counted; arguments as ``run_events`` plus the sector state (``pos``,
    ``tm``, ``cell_rng``) and per-sector scratch (``*_c``, leading index = sector).

    Returns a STATUS_* code, or a NEED_* code asking the caller to make room and call
    again. On a STATUS_* return the whole-lattice lists are rebuilt (``rebuild_lists``).
    """
    n_slots = sx * sy
    tau = tm[T_TAU]
    if pos[P_BUSY] == 0 and clock[0] != tm[T_LAST]:
        # the clock moved outside (a frozen stretch, an exhausted step): new anchor
        tm[T_ANCHOR] = clock[0]
        pos[P_K] = 0
        pos[P_J] = 0
    scheduled = sched_e >= 0 and sched[1] > 0.0
    sched_cell = np.array([np.inf, 1.0])
    sched_e_cell = sched_e if scheduled else -1
    no_bounds = np.zeros(4, dtype=np.int64)
    full_bounds = np.array([0, nx, 0, ny], dtype=np.int64)
    no_deferred = np.zeros(0, dtype=np.int32)
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
                canonical_free(words, nx, ny, px, py, pz, free_pids, ints)
            # ---- start the sub-step: free-id shares, then the quarter's lists
            share = ints[0] // n_slots
            if share < 4:
                return NEED_PIDS
            if share + 2 > free_c.shape[1]:
                pos[P_NEED] = share + 2
                return NEED_SHARE_ROOM
            need = _bin_quarter(
                order[pos[P_J]], words, nx, ny, px, py, pz, pspecies, cw, ch, sx,
                list_pos, react_chan, react_pos, members_c, counts_c, react_members_c,
                react_counts_c,
            )  # fmt: skip
            if need > 0:
                pos[P_NEED] = need
                return NEED_LISTS
            q = order[pos[P_J]]
            for i in range(n_slots):
                # the share of sector i: stack entries [base, base + share)
                base = ints[0] - (i + 1) * share
                for k in range(share):
                    free_c[i, k] = free_pids[base + k]
                ints_c[i, 0] = share
                ints_c[i, 1] = 0
                cx = 2 * (i % sx) + (q & 1)
                cy = 2 * (i // sx) + (q >> 1)
                cell_of[i] = cx + 2 * sx * cy
                bounds_c[i, 0] = cx * cw
                bounds_c[i, 1] = cx * cw + cw
                bounds_c[i, 2] = cy * ch
                bounds_c[i, 3] = cy * ch + ch
                clock_c[i, 0] = t0
                todo[i] = 1
            ints[0] -= n_slots * share
            counters_c[:, :] = 0
            react_events_c[:, :, :] = 0
            inj_events_c[:, :, :] = 0
            exit_events_c[:, :, :] = 0
            pos[P_BUSY] = 1
        # ---- rounds until every cell of the quarter reached t1
        while True:
            _run_cells(
                todo, status_c, cell_of, words, nx, ny, nz, periodic_z, dir_dx, dir_dy,
                dir_dz, phase_transport, phase_conductor, phase_active, deposit_phase,
                floating_phase, inj_z, gate_z, px, py, pz, pspecies, plength, list_pos,
                members_c, counts_c, react_chan, react_pos, react_members_c,
                react_counts_c, free_c, ints_c, hop_cum, react_rate, react_product,
                inj_rate_cell, res_occ, is_reservoir, exchanges, chem_species, chem_rate,
                n_star, sched_cell, sched_e_cell, stack, cell_rng, clock_c, counters_c,
                react_events_c, inj_events_c, exit_events_c, t1, bounds_c, flood_c,
            )  # fmt: skip
            paused = False
            for i in range(n_slots):
                if todo[i] == 0:
                    continue
                if status_c[i] == STATUS_CAPACITY:
                    paused = True
                else:
                    if status_c[i] != STATUS_EXHAUSTED:
                        pos[P_IDLE] = 0
                    todo[i] = 0
            if paused:
                return NEED_CELL_ROOM
            break
        # ---- merge the sub-step: counters, floods, free ids (sector order)
        for i in range(n_slots):
            for c in range(counters.shape[0]):
                counters[c] += counters_c[i, c]
            for s in range(react_events.shape[0]):
                for e in range(N_ELECTRODES):
                    react_events[s, e] += react_events_c[i, s, e]
                    inj_events[s, e] += inj_events_c[i, s, e]
                    exit_events[s, e] += exit_events_c[i, s, e]
        for i in range(n_slots):
            for k in range(ints_c[i, 1]):
                site = np.int64(flood_c[i, k])
                e = phase_conductor[np.int64(words[site]) & PHASE_MASK]
                if e < 0:
                    continue
                if flood_connect(
                    site, e, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
                    phase_conductor, phase_active, deposit_phase, floating_phase, stack,
                    pspecies, react_chan, react_pos, react_members, react_counts, no_bounds,
                ):  # fmt: skip
                    counters[C_SHORTS] += 1
        for i in range(n_slots):
            for k in range(ints_c[i, 0]):
                free_pids[ints[0]] = free_c[i, k]
                ints[0] += 1
        pos[P_BUSY] = 0
        pos[P_J] += 1
        if pos[P_J] < 4:
            continue
        # ---- the cycle is complete: scheduled oxidations due by its end
        pos[P_J] = 0
        pos[P_K] += 1
        pos[P_TOTAL] += 1
        clock[0] = t1
        starved = False
        if scheduled and sched[0] <= t1:
            rebuild_lists(
                words, nx, ny, px, py, pz, pspecies, list_pos, members, counts,
                react_chan, react_pos, react_members, react_counts, free_pids, ints,
            )  # fmt: skip
            key = rng[0]
            while sched[0] <= t1:
                attempt = rng[1]
                rng[1] = attempt + np.uint64(1)
                counters[C_EVENTS] += 1
                w_sum = 0.0
                for s in range(react_counts.shape[0]):
                    w_sum += react_counts[s, sched_e] * react_rate[s, sched_e]
                if w_sum <= 0.0:
                    starved = True
                    break
                s, _ = _pick_channel(
                    uniform(key, attempt, 1) * w_sum, react_counts, react_rate, sched_e, -1
                )
                _react_in_channel(
                    s, sched_e, uniform(key, attempt, 2), react_product, words, nx, ny, nz,
                    periodic_z, dir_dx, dir_dy, dir_dz, phase_conductor, phase_active,
                    deposit_phase, floating_phase, stack, px, py, pz, pspecies, plength,
                    list_pos, members, counts, react_chan, react_pos, react_members,
                    react_counts, free_pids, ints, counters, react_events, full_bounds,
                    no_deferred,
                )  # fmt: skip
                counters[C_FARADAIC] += 1
                sched[0] += sched[1]
            pos[P_IDLE] = 0
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
        react_chan, react_pos, react_members, react_counts, free_pids, ints,
    )  # fmt: skip
    return status
