"""Continuous-time lattice KMC event loop (Numba).

Algorithm: exact uniformization ("thinning") for hops and reservoir exchange plus
rejection-free reaction channels. The total rate is the upper bound

    R = sum_s N_s * h_s  +  sum_(s,e) M_(s,e) * k_(s,e)  +  sum_(s,b) J_(s,b)

with N_s the particles of species s, h_s their summed hop rate over all directions,
M_(s,e) the particles of species s touching a conductor of electrode e, k_(s,e) the
reaction rate there, and J_(s,b) the largest injection rate from reservoir end b.
The waiting time is Exp(R); an event is picked in proportion to its bound; a hop into
an occupied or non-transport site (or an injection onto a full site) is a null event:
time advances, the state does not. This samples the exact master-equation dynamics.

All functions are pure functions of the arrays they get; randomness comes only from
the explicit xoshiro256** ``rng`` state.
"""

import numpy as np
from numba import njit

from ._layout import (
    C_DEPOSITS,
    C_EVENTS,
    C_EXITS,
    C_HOPS,
    C_INJECTIONS,
    C_NULL,
    C_REACTIONS,
    FLAG_MASK,
    FLAG_SHIFT,
    LOW_MASK,
    N_ELECTRODES,
    PHASE_MASK,
    PID_SHIFT,
    PRODUCT_CONSUME,
    PRODUCT_DEPOSIT,
    STATUS_CAPACITY,
    STATUS_EVENTS,
    STATUS_EXHAUSTED,
    STATUS_TIME,
)
from ._prefetch import prefetch
from ._rng import uniform

# Prefetch distances (attempts ahead) of the three stages of the cache-warming pipeline:
# list entry, particle record, lattice words.
_AHEAD = (12, 8, 4)


@njit(inline="always", cache=True)
def contact_electrode(word):
    """Electrode whose conductor a site touches (0 first, then 1), or -1."""
    flags = (np.int64(word) >> FLAG_SHIFT) & 3
    if flags & 1:
        return 0
    if flags & 2:
        return 1
    return -1


@njit(cache=True)
def _react_remove(pid, pspecies, react_chan, react_pos, react_members, react_counts):
    e = react_chan[pid]
    s = pspecies[pid]
    c = s * N_ELECTRODES + e
    i = react_pos[pid]
    last = react_members[c, react_counts[s, e] - 1]
    react_members[c, i] = last
    react_pos[last] = i
    react_counts[s, e] -= 1
    react_chan[pid] = -1


@njit(cache=True)
def set_reactive(pid, e, pspecies, react_chan, react_pos, react_members, react_counts):
    """Put particle ``pid`` in reaction channel (species, e); e = -1 takes it out."""
    if react_chan[pid] == e:
        return
    if react_chan[pid] >= 0:
        _react_remove(pid, pspecies, react_chan, react_pos, react_members, react_counts)
    if e >= 0:
        s = pspecies[pid]
        c = s * N_ELECTRODES + e
        react_members[c, react_counts[s, e]] = pid
        react_pos[pid] = react_counts[s, e]
        react_counts[s, e] += 1
        react_chan[pid] = e


@njit(cache=True)
def _remove_particle(
    pid, site, words, pspecies, list_pos, members, counts,
    react_chan, react_pos, react_members, react_counts, free_pids, ints,
):  # fmt: skip
    set_reactive(pid, -1, pspecies, react_chan, react_pos, react_members, react_counts)
    s = pspecies[pid]
    i = list_pos[pid]
    last = members[s, counts[s] - 1]
    members[s, i] = last
    list_pos[last] = i
    counts[s] -= 1
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
def run_events(
    words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_transport, deposit_phase,
    px, py, pz, pspecies, list_pos, members, counts,
    react_chan, react_pos, react_members, react_counts, free_pids, ints,
    hop_cum, react_rate, react_product, inj_rate, res_occ, is_reservoir,
    rng, clock, counters, react_events, inj_events, exit_events,
    t_stop, max_events, warm_cache,
):  # fmt: skip
    """Run events until time ``t_stop`` or ``max_events`` attempted events in total.

    Parameters (arrays are modified in place)
    ----------
    words : uint32[nx*ny*nz], site words (see ``_layout``), flat index x + nx*(y + ny*z).
    dir_dx, dir_dy, dir_dz : int64[ndir], hop directions; the last two are +z then -z.
    phase_transport : uint8[16], 1 where a mobile particle may sit on that phase.
    deposit_phase : int64[2], phase a particle becomes when it deposits at electrode e.
    px, py, pz, pspecies, list_pos : per particle id (int16, int16, int16, int8, int32).
    members : int32[n_species, capacity], particle ids of each species, first counts[s].
    react_chan, react_pos, react_members, react_counts : reaction-channel membership,
        channel (s, e) is row s*2 + e of react_members.
    free_pids : int32[capacity], stack of unused ids, ``ints[0]`` entries deep.
    hop_cum : float64[n_species, ndir], running sum of the per-direction hop rates (1/s);
        hop_cum[s, -1] is the total hop rate h_s.
    react_rate : float64[n_species, 2], reaction rate per touching particle (1/s).
    react_product : int64[n_species, 2], species index, PRODUCT_DEPOSIT or PRODUCT_CONSUME.
    inj_rate : float64[n_species, 2], bound on the injection rate from reservoir end b
        (rate_in * occupancy * layer sites, 1/s); res_occ the reservoir occupancy.
    rng : uint64[2], counter-based generator state [key, attempts drawn] (see _rng).
    clock : float64[1], simulated time (s).
    counters : int64[N_COUNTERS]; react_events, inj_events, exit_events : int64[n_species, 2].
    t_stop : float, stop time (s): an event that would fall after it is discarded and the
        clock set to t_stop (exact by memorylessness). max_events : int, cap on counters[0].
    warm_cache : bool, prefetch for future attempts; pays off only when the state does not
        fit in the last-level cache, and never changes the trajectory.

    Returns
    -------
    status : int, one of the STATUS_* codes.
    """
    n_species = counts.shape[0]
    ndir = dir_dx.shape[0]
    layer = nx * ny
    t = clock[0]
    if t >= t_stop:
        # already there (e.g. resumed at a sample boundary): draw nothing
        return STATUS_TIME
    cap = px.shape[0]
    members_flat = members.reshape(-1)
    key = rng[0]
    while True:
        if counters[C_EVENTS] >= max_events:
            clock[0] = t
            return STATUS_EVENTS
        r_hop = 0.0
        for s in range(n_species):
            r_hop += counts[s] * hop_cum[s, ndir - 1]
        r_react = 0.0
        for s in range(n_species):
            for e in range(N_ELECTRODES):
                r_react += react_counts[s, e] * react_rate[s, e]
        r_inj = 0.0
        for s in range(n_species):
            for b in range(2):
                r_inj += inj_rate[s, b]
        if r_inj > 0.0 and ints[0] == 0:
            clock[0] = t
            return STATUS_CAPACITY
        r_total = r_hop + r_react + r_inj
        if r_total <= 0.0:
            if t_stop < np.inf:
                t = t_stop
            clock[0] = t
            return STATUS_EXHAUSTED
        attempt = rng[1]
        rng[1] = attempt + np.uint64(1)
        dt = -np.log1p(-uniform(key, attempt, 0)) / r_total
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
                    if is_reservoir[b] and uniform(key, attempt, 4) >= res_occ[s, b]:
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
            e_new = contact_electrode(w)
            if react_chan[pid] != e_new:
                set_reactive(
                    pid, e_new, pspecies, react_chan, react_pos, react_members, react_counts
                )
            counters[C_HOPS] += 1

        elif u < r_hop + r_react:
            # ---- reaction of a particle touching a conductor: channel, then particle
            u -= r_hop
            s = -1
            e = -1
            acc = 0.0
            for s2 in range(n_species):
                for e2 in range(N_ELECTRODES):
                    w_c = react_counts[s2, e2] * react_rate[s2, e2]
                    if w_c > 0.0:
                        acc += w_c
                        s = s2
                        e = e2
                        if u < acc:
                            break
                if u < acc:
                    break
            n_c = react_counts[s, e]
            idx = np.int64(uniform(key, attempt, 2) * n_c)
            if idx >= n_c:
                idx = n_c - 1
            pid = react_members[s * N_ELECTRODES + e, idx]
            x = np.int64(px[pid])
            y = np.int64(py[pid])
            z = np.int64(pz[pid])
            site = x + nx * (y + ny * z)
            product = react_product[s, e]
            if product == PRODUCT_DEPOSIT:
                _remove_particle(
                    pid, site, words, pspecies, list_pos, members, counts,
                    react_chan, react_pos, react_members, react_counts, free_pids, ints,
                )  # fmt: skip
                words[site] = (words[site] & ~np.int64(PHASE_MASK)) | deposit_phase[e]
                flag = np.int64(1) << (FLAG_SHIFT + e)
                for dd in range(ndir):
                    zn = z + dir_dz[dd]
                    if zn < 0 or zn >= nz:
                        if not periodic_z:
                            continue
                        zn = zn + nz if zn < 0 else zn - nz
                    xn = x + dir_dx[dd]
                    if xn < 0:
                        xn += nx
                    elif xn >= nx:
                        xn -= nx
                    yn = y + dir_dy[dd]
                    if yn < 0:
                        yn += ny
                    elif yn >= ny:
                        yn -= ny
                    nb = xn + nx * (yn + ny * zn)
                    wn = np.int64(words[nb]) | flag
                    words[nb] = wn
                    occ = wn >> PID_SHIFT
                    if occ != 0:
                        set_reactive(
                            occ - 1, contact_electrode(wn), pspecies, react_chan, react_pos,
                            react_members, react_counts,
                        )  # fmt: skip
                counters[C_DEPOSITS] += 1
            elif product == PRODUCT_CONSUME:
                _remove_particle(
                    pid, site, words, pspecies, list_pos, members, counts,
                    react_chan, react_pos, react_members, react_counts, free_pids, ints,
                )  # fmt: skip
            else:
                set_reactive(pid, -1, pspecies, react_chan, react_pos, react_members, react_counts)
                _set_species(pid, product, pspecies, list_pos, members, counts)
                set_reactive(
                    pid, contact_electrode(words[site]), pspecies, react_chan, react_pos,
                    react_members, react_counts,
                )  # fmt: skip
            counters[C_REACTIONS] += 1
            react_events[s, e] += 1

        else:
            # ---- injection from a reservoir end onto a random site of the boundary layer
            u -= r_hop + r_react
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
            k = np.int64(uniform(key, attempt, 3) * layer)
            if k >= layer:
                k = layer - 1
            z = 0 if b == 0 else nz - 1
            site = k + layer * z
            w = np.int64(words[site])
            if phase_transport[w & PHASE_MASK] == 0 or (w >> PID_SHIFT) != 0:
                counters[C_NULL] += 1
                continue
            ints[0] -= 1
            pid = free_pids[ints[0]]
            px[pid] = k % nx
            py[pid] = k // nx
            pz[pid] = z
            pspecies[pid] = s
            members[s, counts[s]] = pid
            list_pos[pid] = counts[s]
            counts[s] += 1
            react_chan[pid] = -1
            words[site] = w | ((np.int64(pid) + 1) << PID_SHIFT)
            set_reactive(
                pid, contact_electrode(w), pspecies, react_chan, react_pos, react_members,
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
                pid, contact_electrode(words[site]), pspecies, react_chan, react_pos,
                react_members, react_counts,
            )  # fmt: skip
