"""Continuous-time lattice KMC event loop (Numba).

Algorithm: exact uniformization ("thinning") for hops, chemistry in the electrolyte
and reservoir exchange, plus rejection-free reaction channels. The total rate is the
upper bound

    R = sum_s N_s h_s + sum_(s,e) M_(s,e) k_(s,e) + N_rad (2d k_c + k_dec)
        + (N_olig + N_rad) 2d k_st + sum_(s,b) J_(s,b)

with N_s the particles of species s, h_s their summed hop rate over all directions,
M_(s,e) the particles of species s touching an active conductor of electrode e, k_(s,e)
the reaction (oxidation) rate there, k_c the coupling rate per radical neighbour, k_dec
the radical decay rate, k_st the sticking rate of an oligomer or radical per PT/electrode
neighbour and J_(s,b) the largest injection rate from reservoir side b. The waiting
time is Exp(R); an event is picked in proportion to its bound; a hop into an occupied
or non-transport site, a coupling attempt towards a site without a radical (and so
on) is a null event: time advances, the state does not. This samples the exact
master-equation dynamics. Under galvanostatic control the oxidations at one electrode
are instead scheduled at fixed intervals of e / I (see ``sched``).

All functions are pure functions of the arrays they get; randomness comes only from
the explicit counter-based ``rng`` state.
"""

import numpy as np
from numba import njit

from ._chemistry import (
    DEFER_ARRIVAL,
    DEFER_KILL,
    DEFER_PER_ATTEMPT,
    cell_at,
    contact_channel,
    defer_entry,
    neighbour_site,
    place_conductor,
    set_reactive,
)
from ._layout import (
    C_CONNECTED_UNITS,
    C_COUPLINGS,
    C_DECAYED_UNITS,
    C_DECAYS,
    C_DEPOSITS,
    C_EVENTS,
    C_EXITS,
    C_FARADAIC,
    C_FILM_ELECTRONS,
    C_HOPS,
    C_INJECTIONS,
    C_NULL,
    C_PRECIPITATIONS,
    C_PROTONS,
    C_PT_UNITS,
    C_RADICAL_STICKS,
    C_REACTIONS,
    FLAG_MASK,
    FLAG_SHIFT,
    LOW_MASK,
    PHASE_MASK,
    PID_SHIFT,
    PRODUCT_CONSUME,
    PRODUCT_DEPOSIT,
    RATE_COUPLING,
    RATE_DECAY,
    RATE_STICK_ACCEPT_METAL,
    RATE_STICK_ACCEPT_PT,
    RATE_STICKING,
    ROLE_OLIGOMER,
    ROLE_RADICAL,
    STATUS_CAPACITY,
    STATUS_EVENTS,
    STATUS_EXHAUSTED,
    STATUS_STARVED,
    STATUS_TIME,
)
from ._prefetch import prefetch
from ._rng import uniform

# Prefetch distances (attempts ahead) of the three stages of the cache-warming pipeline:
# list entry, particle record, lattice words.
_AHEAD = (12, 8, 4)


@njit(cache=True)
def _unlist(
    pid, pspecies, list_pos, members, counts, react_chan, react_pos, react_members,
    react_counts,
):  # fmt: skip
    """Take particle ``pid`` out of its species list and reaction channel."""
    set_reactive(pid, -1, pspecies, react_chan, react_pos, react_members, react_counts)
    s = pspecies[pid]
    i = list_pos[pid]
    last = members[s, counts[s] - 1]
    members[s, i] = last
    list_pos[last] = i
    counts[s] -= 1


@njit(cache=True)
def _remove_particle(
    pid, site, words, pspecies, list_pos, members, counts,
    react_chan, react_pos, react_members, react_counts, free_pids, ints,
):  # fmt: skip
    _unlist(
        pid, pspecies, list_pos, members, counts, react_chan, react_pos, react_members,
        react_counts,
    )  # fmt: skip
    words[site] = words[site] & LOW_MASK
    free_pids[ints[0]] = pid
    ints[0] += 1


@njit(cache=True)
def _set_species(pid, s_new, pspecies, list_pos, members, counts):
    s = pspecies[pid]
    i = list_pos[pid]
    last = members[s, counts[s] - 1]
    members[s, i] = last
    list_pos[last] = i
    counts[s] -= 1
    members[s_new, counts[s_new]] = pid
    list_pos[pid] = counts[s_new]
    counts[s_new] += 1
    pspecies[pid] = s_new


@njit(cache=True)
def _react(
    pid, s, e, product, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_conductor, phase_active, deposit_phase, floating_phase, stack,
    px, py, pz, pspecies, plength, list_pos, members, counts,
    react_chan, react_pos, react_members, react_counts, free_pids, ints, counters,
    bounds, deferred,
):  # fmt: skip
    """Particle ``pid`` of species s reacts at electrode e: deposit, consume or convert."""
    site = np.int64(px[pid]) + nx * (np.int64(py[pid]) + ny * np.int64(pz[pid]))
    if product == PRODUCT_DEPOSIT:
        units = plength[pid]
        _remove_particle(
            pid, site, words, pspecies, list_pos, members, counts,
            react_chan, react_pos, react_members, react_counts, free_pids, ints,
        )  # fmt: skip
        place_conductor(
            site, e, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
            phase_conductor, phase_active, deposit_phase, floating_phase, stack,
            pspecies, react_chan, react_pos, react_members, react_counts, counters,
            bounds, deferred, ints,
        )  # fmt: skip
        counters[C_DEPOSITS] += 1
        counters[C_PT_UNITS] += units
    elif product == PRODUCT_CONSUME:
        _remove_particle(
            pid, site, words, pspecies, list_pos, members, counts,
            react_chan, react_pos, react_members, react_counts, free_pids, ints,
        )  # fmt: skip
    else:
        set_reactive(pid, -1, pspecies, react_chan, react_pos, react_members, react_counts)
        _set_species(pid, product, pspecies, list_pos, members, counts)
        set_reactive(
            pid, contact_channel(words[site]), pspecies, react_chan, react_pos,
            react_members, react_counts,
        )  # fmt: skip


@njit(inline="always", cache=True)
def _channel_rate(react_counts, react_rate, only_e, skip_e):
    """Summed rate of the reaction channels (s, c) whose electrode ``c & 1`` is only_e
    (-1: any) and is not skip_e."""
    total = 0.0
    for s in range(react_counts.shape[0]):
        for c in range(react_counts.shape[1]):
            e = c & 1
            if (only_e >= 0 and e != only_e) or e == skip_e:
                continue
            total += react_counts[s, c] * react_rate[s, c]
    return total


@njit(inline="always", cache=True)
def _pick_channel(u, react_counts, react_rate, only_e, skip_e):
    """Channel (s, c) in which ``u`` falls, channels taken in (s, c) order as summed by
    :func:`_channel_rate`; rounding past the end falls to the last non-empty one."""
    s = -1
    c = -1
    acc = 0.0
    for s2 in range(react_counts.shape[0]):
        for c2 in range(react_counts.shape[1]):
            e2 = c2 & 1
            if (only_e >= 0 and e2 != only_e) or e2 == skip_e:
                continue
            w_c = react_counts[s2, c2] * react_rate[s2, c2]
            if w_c > 0.0:
                acc += w_c
                s = s2
                c = c2
                if u < acc:
                    return s, c
    return s, c


@njit(cache=True)
def _react_in_channel(
    s, c, u, react_product, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_conductor, phase_active, deposit_phase, floating_phase, stack,
    px, py, pz, pspecies, plength, list_pos, members, counts,
    react_chan, react_pos, react_members, react_counts, free_pids, ints, counters,
    react_events, bounds, deferred,
):  # fmt: skip
    """A uniformly chosen particle (by ``u`` in [0, 1)) of channel (s, c) reacts at
    the channel's electrode ``c & 1``."""
    n_c = react_counts[s, c]
    idx = np.int64(u * n_c)
    if idx >= n_c:
        idx = n_c - 1
    pid = react_members[s * react_counts.shape[1] + c, idx]
    _react(
        pid, s, c & 1, react_product[s, c], words, nx, ny, nz, periodic_z,
        dir_dx, dir_dy, dir_dz, phase_conductor, phase_active, deposit_phase,
        floating_phase, stack, px, py, pz, pspecies, plength, list_pos, members,
        counts, react_chan, react_pos, react_members, react_counts, free_pids, ints,
        counters, bounds, deferred,
    )  # fmt: skip
    counters[C_REACTIONS] += 1
    react_events[s, c] += 1


@njit(cache=True)
def _precipitate(
    pid, site, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_conductor, phase_active, deposit_phase, floating_phase, stack,
    pspecies, plength, list_pos, members, counts,
    react_chan, react_pos, react_members, react_counts, free_pids, ints, counters,
    film_electrons, bounds, deferred,
):  # fmt: skip
    """Oligomer ``pid`` on ``site`` becomes immobile PT holding its monomer units.

    ``film_electrons``: electrons per molecule its coupling into an active film passes
    (2 for a neutral chain, 1 for a radical cation).
    """
    units = plength[pid]
    _remove_particle(
        pid, site, words, pspecies, list_pos, members, counts,
        react_chan, react_pos, react_members, react_counts, free_pids, ints,
    )  # fmt: skip
    e = place_conductor(
        site, -1, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
        phase_conductor, phase_active, deposit_phase, floating_phase, stack,
        pspecies, react_chan, react_pos, react_members, react_counts, counters,
        bounds, deferred, ints,
    )  # fmt: skip
    if e >= 0:
        counters[C_CONNECTED_UNITS + e] += units
        if phase_active[deposit_phase[e]] >= 0:
            counters[C_FILM_ELECTRONS + e] += film_electrons
    counters[C_PRECIPITATIONS] += 1
    counters[C_DEPOSITS] += 1
    counters[C_PT_UNITS] += units


@njit(cache=True)
def run_events(
    words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_transport, phase_conductor, phase_active, deposit_phase, floating_phase,
    inj_z, gate_z,
    px, py, pz, pspecies, plength, list_pos, members, counts,
    react_chan, react_pos, react_members, react_counts, free_pids, ints,
    hop_cum, react_rate, react_product, inj_rate, res_occ, is_reservoir, exchanges,
    chem_species, chem_rate, n_star, sched, sched_e, stack,
    rng, clock, counters, react_events, inj_events, exit_events,
    t_stop, max_events, warm_cache, bounds, deferred,
):  # fmt: skip
    """Run events until time ``t_stop`` or ``max_events`` attempted events in total.

    Parameters (arrays are modified in place)
    ----------
    words : uint32[nx*ny*nz], site words (see ``_layout``), flat index x + nx*(y + ny*z).
    dir_dx, dir_dy, dir_dz : int64[ndir], hop directions; the last two are +z then -z.
    phase_transport : uint8[16], 1 where a mobile particle may sit on that phase.
    phase_conductor : int8[16], electrode a phase is electrically connected to, or -1.
    phase_active : int8[16], as phase_conductor but -1 for conductors that oxidize
        nothing now (undoped PT); contact flags follow this table.
    deposit_phase : int64[2], phase of PT connected to electrode e;
    floating_phase : int, phase of PT connected to no electrode.
    inj_z : int64[2], layer that reservoir side b injects onto; gate_z : int, the
        non-transport plane standing for the continuum membrane between two lattice
        windows (-1: none); a hop onto it leaves into reservoir side 0 (from below) or 1.
    px, py, pz, pspecies, plength, list_pos : per particle id (int16 x3, int8, int32,
        int32); plength is the number of monomer units a particle carries.
    members : int32[n_species, capacity], particle ids of each species, first counts[s].
    react_chan, react_pos, react_members, react_counts : reaction-channel membership,
        channel (s, c) is row s * n_channels + c of react_members.
    free_pids : int32[capacity], stack of unused ids, ``ints[0]`` entries deep.
    hop_cum : float64[n_species, ndir], running sum of the per-direction hop rates (1/s);
        hop_cum[s, -1] is the total hop rate h_s.
    react_rate : float64[n_species, n_channels], reaction rate per touching particle
        (1/s) in each reaction channel (2, or 4 when surfaces are resolved: _layout); for
        the scheduled electrode only the relative weight of each species.
    react_product : int64[n_species, n_channels], species index, PRODUCT_DEPOSIT or
        PRODUCT_CONSUME.
    inj_rate : float64[n_species, 2], bound on the injection rate from reservoir side b
        (rate_in * occupancy * layer sites, 1/s); res_occ the reservoir occupancy;
        exchanges : uint8[n_species], 1 where a species may leave into a reservoir.
    chem_species : int64[3], species index of monomer, radical, oligomer (-1: absent).
    chem_rate : float64[5], coupling per radical neighbour, sticking per PT/electrode
        neighbour of an oligomer or radical (the larger of the two surfaces' rates), radical
        decay (1/s), and the acceptance of a sticking attempt onto bare metal and onto PT
        (see _layout); n_star : int, an oligomer of at least this many units precipitates
        as PT.
    sched : float64[2], [time of the next scheduled oxidation (s), interval (s)];
        sched_e : int, electrode whose oxidations are scheduled (galvanostatic) instead
        of Poisson, -1 for none. stack : int32[n_sites], scratch for the flood fill.
    rng : uint64[2], counter-based generator state [key, attempts drawn] (see _rng).
    clock : float64[1], simulated time (s).
    counters : int64[N_COUNTERS]; react_events : int64[n_species, n_channels];
        inj_events, exit_events : int64[n_species, 2].
    t_stop : float, stop time (s): an event that would fall after it is discarded and the
        clock set to t_stop (exact by memorylessness). max_events : int, cap on counters[0].
    warm_cache : bool, prefetch for future attempts; pays off only when the state does not
        fit in the last-level cache, and never changes the trajectory.
    bounds : int64[4], (x0, x1, y0, y1): the columns whose particles the lists hold and
        the only ones injected into; [0, nx, 0, ny] for the whole lattice.
    deferred : int64[:, 2], empty for the whole lattice. Otherwise the call runs one cell
        of the sector engine (``_sectors``) and leaves on it (``ints[1]`` entries, kinds
        ``DEFER_*`` in ``_chemistry``) what it did to idle neighbouring cells: a particle
        that hopped into one (it leaves these lists), a radical there coupled with (it
        leaves the lattice only), new contact flags of particles there, floods over
        floating PT. STATUS_CAPACITY is returned, before an attempt draws anything, when
        the free-id stack, a list or ``deferred`` could overflow.

    Returns
    -------
    status : int, one of the STATUS_* codes.
    """
    n_species = counts.shape[0]
    ndir = dir_dx.shape[0]
    defer = deferred.shape[0] > 0
    x0 = bounds[0]
    x1 = bounds[1]
    y0 = bounds[2]
    y1 = bounds[3]
    cw = x1 - x0
    layer = cw * (y1 - y0)  # sites of a layer inside bounds (injection targets)
    t = clock[0]
    if t >= t_stop:
        # already there (e.g. resumed at a sample boundary): draw nothing
        return STATUS_TIME
    cap = px.shape[0]
    members_flat = members.reshape(-1)
    key = rng[0]
    rad = chem_species[ROLE_RADICAL]
    olig = chem_species[ROLE_OLIGOMER]
    scheduled = sched_e >= 0 and sched[1] > 0.0
    # that electrode's oxidations are scheduled, not Poisson
    poisson_skip = sched_e if scheduled else -1
    while True:
        if counters[C_EVENTS] >= max_events:
            clock[0] = t
            return STATUS_EVENTS
        r_hop = 0.0
        for s in range(n_species):
            r_hop += counts[s] * hop_cum[s, ndir - 1]
        r_react = _channel_rate(react_counts, react_rate, -1, poisson_skip)
        r_couple = 0.0
        r_decay = 0.0
        if rad >= 0:
            r_couple = counts[rad] * chem_rate[RATE_COUPLING] * ndir
            r_decay = counts[rad] * chem_rate[RATE_DECAY]
        # sticking candidates: oligomers, then radical cations (a radical formed on a
        # conductor couples onto the chain ends there: the surface growth route)
        n_olig = counts[olig] if olig >= 0 else 0
        n_stick = n_olig + (counts[rad] if rad >= 0 else 0)
        r_stick = n_stick * chem_rate[RATE_STICKING] * ndir
        r_inj = 0.0
        for s in range(n_species):
            for b in range(2):
                r_inj += inj_rate[s, b]
        if r_inj > 0.0 and ints[0] == 0:
            clock[0] = t
            return STATUS_CAPACITY
        if defer:
            # one attempt frees at most two ids, adds at most one particle to a list
            # and one site to ``deferred``
            full = (
                ints[0] + 2 > free_pids.shape[0] or ints[1] + DEFER_PER_ATTEMPT > deferred.shape[0]
            )
            for s in range(n_species):
                if r_inj > 0.0 and counts[s] >= members.shape[1]:
                    full = True
            if full:
                clock[0] = t
                return STATUS_CAPACITY
        r_chem = r_couple + r_stick + r_decay
        r_total = r_hop + r_react + r_chem + r_inj
        if r_total <= 0.0 and not scheduled:
            if t_stop < np.inf:
                t = t_stop
            clock[0] = t
            return STATUS_EXHAUSTED
        attempt = rng[1]
        rng[1] = attempt + np.uint64(1)
        dt = -np.log1p(-uniform(key, attempt, 0)) / r_total if r_total > 0.0 else np.inf
        if scheduled and t + dt > sched[0] and sched[0] <= t_stop:
            # ---- scheduled oxidation (galvanostatic): the current fixes its time, the
            # rates only weigh which particle; the attempt's own event is discarded
            # (exact by memorylessness)
            t = max(t, sched[0])
            counters[C_EVENTS] += 1
            w_sum = _channel_rate(react_counts, react_rate, sched_e, -1)
            if w_sum <= 0.0:
                clock[0] = t
                return STATUS_STARVED
            s, c = _pick_channel(
                uniform(key, attempt, 1) * w_sum, react_counts, react_rate, sched_e, -1
            )
            _react_in_channel(
                s, c, uniform(key, attempt, 2), react_product, words, nx, ny, nz,
                periodic_z, dir_dx, dir_dy, dir_dz, phase_conductor, phase_active,
                deposit_phase, floating_phase, stack, px, py, pz, pspecies, plength,
                list_pos, members, counts, react_chan, react_pos, react_members,
                react_counts, free_pids, ints, counters, react_events, bounds, deferred,
            )  # fmt: skip
            counters[C_FARADAIC] += 1
            sched[0] += sched[1]
            continue
        if t + dt > t_stop:
            # the attempt is used up (a fresh one is drawn next time: memorylessness)
            clock[0] = t_stop
            return STATUS_TIME
        t += dt
        counters[C_EVENTS] += 1
        # ---- warm the cache for future hop attempts (a hint only: see _prefetch). Their
        # random numbers are known now, so the particle each will pick can be guessed
        # from the current counts: stage 1 fetches the list entry 12 attempts ahead,
        # stage 2 the particle record 8 ahead, stage 3 the two lattice words 4 ahead.
        # Inline on purpose: helper calls taking arrays cost refcounting in the loop.
        for stage in range(3 if warm_cache else 0):
            ahead = attempt + np.uint64(_AHEAD[stage])
            ug = uniform(key, ahead, 1) * r_total
            if ug >= r_hop:
                continue
            sg = 0
            accg = counts[0] * hop_cum[0, ndir - 1]
            while ug >= accg and sg < n_species - 1:
                sg += 1
                accg += counts[sg] * hop_cum[sg, ndir - 1]
            ig = np.int64(uniform(key, ahead, 2) * counts[sg])
            if ig >= counts[sg]:
                ig = counts[sg] - 1
            if stage == 0:
                prefetch(members_flat, sg * cap + ig)
                continue
            pg = members[sg, ig]
            if stage == 1:
                prefetch(px, pg)
                prefetch(py, pg)
                prefetch(pz, pg)
                prefetch(react_chan, pg)
                continue
            xg = np.int64(px[pg])
            yg = np.int64(py[pg])
            zg = np.int64(pz[pg])
            prefetch(words, xg + nx * (yg + ny * zg))
            vg = uniform(key, ahead, 3) * hop_cum[sg, ndir - 1]
            dg = 0
            while vg >= hop_cum[sg, dg] and dg < ndir - 1:
                dg += 1
            xg += dir_dx[dg]
            xg = xg + nx if xg < 0 else (xg - nx if xg >= nx else xg)
            yg += dir_dy[dg]
            yg = yg + ny if yg < 0 else (yg - ny if yg >= ny else yg)
            zg += dir_dz[dg]
            if 0 <= zg < nz:
                prefetch(words, xg + nx * (yg + ny * zg))
        u = uniform(key, attempt, 1) * r_total

        if u < r_hop:
            # ---- hop: species by its share of the hop bound, particle uniform, direction
            s = 0
            acc = counts[0] * hop_cum[0, ndir - 1]
            while u >= acc and s < n_species - 1:
                s += 1
                acc += counts[s] * hop_cum[s, ndir - 1]
            n_s = counts[s]
            idx = np.int64(uniform(key, attempt, 2) * n_s)
            if idx >= n_s:
                idx = n_s - 1
            pid = members[s, idx]
            v = uniform(key, attempt, 3) * hop_cum[s, ndir - 1]
            d = 0
            while v >= hop_cum[s, d] and d < ndir - 1:
                d += 1
            x = np.int64(px[pid])
            y = np.int64(py[pid])
            z = np.int64(pz[pid])
            x2 = x + dir_dx[d]
            if x2 < 0:
                x2 += nx
            elif x2 >= nx:
                x2 -= nx
            y2 = y + dir_dy[d]
            if y2 < 0:
                y2 += ny
            elif y2 >= ny:
                y2 -= ny
            z2 = z + dir_dz[d]
            site = x + nx * (y + ny * z)
            if z2 < 0 or z2 >= nz:
                if periodic_z:
                    z2 = z2 + nz if z2 < 0 else z2 - nz
                else:
                    b = 0 if z2 < 0 else 1
                    # leaving into the reservoir is blocked when the reservoir site is full
                    if (
                        is_reservoir[b]
                        and exchanges[s]
                        and uniform(key, attempt, 4) >= res_occ[s, b]
                    ):
                        _remove_particle(
                            pid, site, words, pspecies, list_pos, members, counts,
                            react_chan, react_pos, react_members, react_counts, free_pids, ints,
                        )  # fmt: skip
                        counters[C_EXITS] += 1
                        exit_events[s, b] += 1
                    else:
                        counters[C_NULL] += 1
                    continue
            elif z2 == gate_z:
                # onto the plane that stands for the continuum membrane: leave into it
                b = 0 if z < gate_z else 1
                if exchanges[s] and uniform(key, attempt, 4) >= res_occ[s, b]:
                    _remove_particle(
                        pid, site, words, pspecies, list_pos, members, counts,
                        react_chan, react_pos, react_members, react_counts, free_pids, ints,
                    )  # fmt: skip
                    counters[C_EXITS] += 1
                    exit_events[s, b] += 1
                else:
                    counters[C_NULL] += 1
                continue
            target = x2 + nx * (y2 + ny * z2)
            w = np.int64(words[target])
            if phase_transport[w & PHASE_MASK] == 0 or (w >> PID_SHIFT) != 0:
                counters[C_NULL] += 1
                continue
            words[site] = words[site] & LOW_MASK
            words[target] = w | ((np.int64(pid) + 1) << PID_SHIFT)
            px[pid] = x2
            py[pid] = y2
            pz[pid] = z2
            counters[C_HOPS] += 1
            if defer and (x2 < x0 or x2 >= x1 or y2 < y0 or y2 >= y1):
                # into a neighbouring (idle) cell: the merge puts it on that cell's lists
                _unlist(
                    pid, pspecies, list_pos, members, counts, react_chan, react_pos,
                    react_members, react_counts,
                )  # fmt: skip
                defer_entry(deferred, ints, DEFER_ARRIVAL, pid, cell_at(x2, y2, bounds, nx))
                continue
            e_new = contact_channel(w)
            if react_chan[pid] != e_new:
                set_reactive(
                    pid, e_new, pspecies, react_chan, react_pos, react_members, react_counts
                )

        elif u < r_hop + r_react:
            # ---- reaction of a particle touching a conductor: channel, then particle
            s, e = _pick_channel(u - r_hop, react_counts, react_rate, -1, poisson_skip)
            _react_in_channel(
                s, e, uniform(key, attempt, 2), react_product, words, nx, ny, nz,
                periodic_z, dir_dx, dir_dy, dir_dz, phase_conductor, phase_active,
                deposit_phase, floating_phase, stack, px, py, pz, pspecies, plength,
                list_pos, members, counts, react_chan, react_pos, react_members,
                react_counts, free_pids, ints, counters, react_events, bounds, deferred,
            )  # fmt: skip

        elif u < r_hop + r_react + r_chem:
            # ---- chemistry in the electrolyte: coupling, sticking, radical decay
            u -= r_hop + r_react
            # kind 0 coupling, 1 decay, 2 sticking (rounding falls to the last present)
            kind = 2 if r_stick > 0.0 else (1 if r_decay > 0.0 else 0)
            if u < r_couple:
                kind = 0
            elif u < r_couple + r_decay:
                kind = 1
            s = rad
            n_s = counts[rad] if kind != 2 else n_stick
            idx = np.int64(uniform(key, attempt, 2) * n_s)
            if idx >= n_s:
                idx = n_s - 1
            if kind == 2 and idx < n_olig:
                s = olig
            elif kind == 2:
                idx -= n_olig
            pid = members[s, idx]
            x = np.int64(px[pid])
            y = np.int64(py[pid])
            z = np.int64(pz[pid])
            site = x + nx * (y + ny * z)
            if kind == 1:
                # radical decay side reaction: the units leave the system
                counters[C_DECAYS] += 1
                counters[C_DECAYED_UNITS] += plength[pid]
                _remove_particle(
                    pid, site, words, pspecies, list_pos, members, counts,
                    react_chan, react_pos, react_members, react_counts, free_pids, ints,
                )  # fmt: skip
                continue
            d = np.int64(uniform(key, attempt, 3) * ndir)
            if d >= ndir:
                d = ndir - 1
            nb = neighbour_site(x, y, z, d, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz)
            if nb < 0:
                counters[C_NULL] += 1
                continue
            wn = np.int64(words[nb])
            if kind == 0:
                # coupling: the picked radical takes the neighbour radical's units
                occ = wn >> PID_SHIFT
                if occ == 0 or pspecies[occ - 1] != rad:
                    counters[C_NULL] += 1
                    continue
                other = occ - 1
                units = plength[pid] + plength[other]
                xo = nb % nx
                yo = (nb // nx) % ny
                if defer and (xo < x0 or xo >= x1 or yo < y0 or yo >= y1):
                    # a radical of an idle neighbouring cell: off the lattice now, off
                    # that cell's lists at the merge, which frees its id (freed now, the
                    # id could be reused before the merge finds the stale list entry)
                    words[nb] = words[nb] & LOW_MASK
                    defer_entry(deferred, ints, DEFER_KILL, other, cell_at(xo, yo, bounds, nx))
                else:
                    _remove_particle(
                        other, nb, words, pspecies, list_pos, members, counts,
                        react_chan, react_pos, react_members, react_counts, free_pids, ints,
                    )  # fmt: skip
                counters[C_COUPLINGS] += 1
                counters[C_PROTONS] += 2
                plength[pid] = units
                if units >= n_star or olig < 0:
                    _precipitate(
                        pid, site, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
                        phase_conductor, phase_active, deposit_phase, floating_phase, stack,
                        pspecies, plength, list_pos, members, counts, react_chan, react_pos,
                        react_members, react_counts, free_pids, ints, counters, 2,
                        bounds, deferred,
                    )  # fmt: skip
                else:
                    set_reactive(
                        pid, -1, pspecies, react_chan, react_pos, react_members, react_counts
                    )
                    _set_species(pid, olig, pspecies, list_pos, members, counts)
                    set_reactive(
                        pid, contact_channel(words[site]), pspecies, react_chan, react_pos,
                        react_members, react_counts,
                    )  # fmt: skip
            else:
                # sticking: an oligomer or radical next to PT or an electrode precipitates
                ph = wn & PHASE_MASK
                if phase_conductor[ph] < 0 and ph != floating_phase:
                    counters[C_NULL] += 1
                    continue
                # at its own surface's rate: bare metal or PT (thinning of the bound)
                metal = ph != floating_phase and ph != deposit_phase[0] and ph != deposit_phase[1]
                accept = chem_rate[RATE_STICK_ACCEPT_METAL if metal else RATE_STICK_ACCEPT_PT]
                if accept < 1.0 and uniform(key, attempt, 4) >= accept:
                    counters[C_NULL] += 1
                    continue
                if s == rad:
                    counters[C_RADICAL_STICKS] += 1
                _precipitate(
                    pid, site, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
                    phase_conductor, phase_active, deposit_phase, floating_phase, stack,
                    pspecies, plength, list_pos, members, counts, react_chan, react_pos,
                    react_members, react_counts, free_pids, ints, counters,
                    1 if s == rad else 2, bounds, deferred,
                )  # fmt: skip

        else:
            # ---- injection from a reservoir side onto a random site of its layer
            u -= r_hop + r_react + r_chem
            s = -1
            b = -1
            acc = 0.0
            for s2 in range(n_species):
                for b2 in range(2):
                    if inj_rate[s2, b2] > 0.0:
                        acc += inj_rate[s2, b2]
                        s = s2
                        b = b2
                        if u < acc:
                            break
                if u < acc:
                    break
            if s < 0:
                counters[C_NULL] += 1
                continue
            k = np.int64(uniform(key, attempt, 3) * layer)
            if k >= layer:
                k = layer - 1
            z = inj_z[b]
            xi = x0 + k % cw
            yi = y0 + k // cw
            site = xi + nx * (yi + ny * z)
            w = np.int64(words[site])
            if phase_transport[w & PHASE_MASK] == 0 or (w >> PID_SHIFT) != 0:
                counters[C_NULL] += 1
                continue
            ints[0] -= 1
            pid = free_pids[ints[0]]
            px[pid] = xi
            py[pid] = yi
            pz[pid] = z
            pspecies[pid] = s
            plength[pid] = 1
            members[s, counts[s]] = pid
            list_pos[pid] = counts[s]
            counts[s] += 1
            react_chan[pid] = -1
            words[site] = w | ((np.int64(pid) + 1) << PID_SHIFT)
            set_reactive(
                pid, contact_channel(w), pspecies, react_chan, react_pos, react_members,
                react_counts,
            )  # fmt: skip
            counters[C_INJECTIONS] += 1
            inj_events[s, b] += 1


@njit(cache=True)
def compute_contact_flags(words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz, phase_electrode):
    """Recompute the contact-flag bits of every site from the host phases (O(sites))."""
    n = words.shape[0]
    for i in range(n):
        words[i] = words[i] & ~np.int64(FLAG_MASK)
    ndir = dir_dx.shape[0]
    for i in range(n):
        e = phase_electrode[np.int64(words[i]) & PHASE_MASK]
        if e < 0:
            continue
        flag = np.int64(1) << (FLAG_SHIFT + e)
        x = i % nx
        y = (i // nx) % ny
        z = i // (nx * ny)
        for d in range(ndir):
            zn = z + dir_dz[d]
            if zn < 0 or zn >= nz:
                if not periodic_z:
                    continue
                zn = zn + nz if zn < 0 else zn - nz
            xn = (x + dir_dx[d] + nx) % nx
            yn = (y + dir_dy[d] + ny) % ny
            nb = xn + nx * (yn + ny * zn)
            words[nb] = np.int64(words[nb]) | flag


@njit(cache=True)
def rebuild_reactive(
    words, nx, ny, px, py, pz, pspecies, members, counts,
    react_chan, react_pos, react_members, react_counts,
):  # fmt: skip
    """Empty the reaction channels and refill them from the contact flags, in list order."""
    react_counts[:, :] = 0
    react_chan[:] = -1
    for s in range(counts.shape[0]):
        for i in range(counts[s]):
            pid = members[s, i]
            site = np.int64(px[pid]) + nx * (np.int64(py[pid]) + ny * np.int64(pz[pid]))
            set_reactive(
                pid, contact_channel(words[site]), pspecies, react_chan, react_pos,
                react_members, react_counts,
            )  # fmt: skip
