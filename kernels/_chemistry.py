"""Kernel helpers for conductors that grow: PT sites, their connectivity and contacts.

A new PT site is *connected* to electrode e when one of its six neighbours is a
conductor of e (the electrode or PT already connected to it); otherwise it is
*floating*. A new connected site also connects every floating PT site it touches,
and those theirs: a flood fill over the floating cluster only. Since PT never
dissolves, connectivity only grows, so this incremental update is exact and each site
is relabelled at most once (amortised O(1) per site); the lattice is never searched.

Contact flags (bit 4 + e of a site word) mark sites that touch an *active* conductor
of electrode e: the electrode itself, or connected PT while it is doped. Undoped PT
is a conductor for connectivity but oxidizes nothing.
"""

import numpy as np
from numba import njit

from ._layout import C_SHORTS, FLAG_SHIFT, PHASE_MASK, PID_SHIFT


@njit(inline="always", cache=True)
def neighbour_site(x, y, z, d, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz):
    """Flat index of the neighbour of (x, y, z) along direction d, or -1 off the lattice."""
    zn = z + dir_dz[d]
    if zn < 0 or zn >= nz:
        if not periodic_z:
            return -1
        zn = zn + nz if zn < 0 else zn - nz
    xn = x + dir_dx[d]
    if xn < 0:
        xn += nx
    elif xn >= nx:
        xn -= nx
    yn = y + dir_dy[d]
    if yn < 0:
        yn += ny
    elif yn >= ny:
        yn -= ny
    return xn + nx * (yn + ny * zn)


@njit(inline="always", cache=True)
def contact_channel(word):
    """Reaction channel of a particle on a site: of the active conductors the site
    touches, the cathode's film (2), the cathode (0), the anode's film (3), the anode
    (1), first found; -1 when it touches none. Film first: a site next to doped PT lies
    in the growth zone of that deposit, where the polymer, not the bare metal, passes
    the electron (the nucleation-and-growth picture: nuclei form only on bare surface
    outside the growth zones). Channels 2 and 3 exist only in surface-resolved runs."""
    flags = (np.int64(word) >> FLAG_SHIFT) & 15
    if flags & 4:
        return 2
    if flags & 1:
        return 0
    if flags & 8:
        return 3
    if flags & 2:
        return 1
    return -1


@njit(cache=True)
def _react_remove(pid, pspecies, react_chan, react_pos, react_members, react_counts):
    e = react_chan[pid]
    s = pspecies[pid]
    c = s * react_counts.shape[1] + e
    i = react_pos[pid]
    last = react_members[c, react_counts[s, e] - 1]
    react_members[c, i] = last
    react_pos[last] = i
    react_counts[s, e] -= 1
    react_chan[pid] = -1


@njit(cache=True)
def set_reactive(pid, e, pspecies, react_chan, react_pos, react_members, react_counts):
    """Put particle ``pid`` in reaction channel (species, e); e = -1 takes it out.
    ``react_counts`` is [n_species, n_channels] (2, or 4 when surfaces are resolved)."""
    if react_chan[pid] == e:
        return
    if react_chan[pid] >= 0:
        _react_remove(pid, pspecies, react_chan, react_pos, react_members, react_counts)
    if e >= 0:
        s = pspecies[pid]
        c = s * react_counts.shape[1] + e
        react_members[c, react_counts[s, e]] = pid
        react_pos[pid] = react_counts[s, e]
        react_counts[s, e] += 1
        react_chan[pid] = e


# Kinds of the entries a sector's cell leaves for the merge after its sub-step
# (``deferred[k] = [index << 2 | kind, cell]``): what it did to particles and sites that
# belong to idle neighbouring cells (see ``_sectors``).
DEFER_ARRIVAL = 0  # a particle hopped into that cell
DEFER_KILL = 1  # a radical of that cell was coupled with (it left the lattice)
DEFER_REEVAL = 2  # a particle there got a new contact flag
DEFER_FLOOD = 3  # a connected site touching floating PT (index = site)
DEFER_PER_ATTEMPT = 8  # at most this many entries per event attempt


@njit(inline="always", cache=True)
def cell_at(x, y, bounds, nx):
    """Cell index of column (x, y) in the layout whose cells are as wide as ``bounds``."""
    cw = bounds[1] - bounds[0]
    ch = bounds[3] - bounds[2]
    return x // cw + (nx // cw) * (y // ch)


@njit(inline="always", cache=True)
def defer_entry(deferred, ints, kind, index, cell):
    """Leave an entry for the merge (``ints[1]`` entries so far)."""
    k = ints[1]
    deferred[k, 0] = (np.int64(index) << 2) | kind
    deferred[k, 1] = cell
    ints[1] = k + 1


@njit(cache=True)
def _mark_active(
    site, e, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    pspecies, react_chan, react_pos, react_members, react_counts, bounds, deferred, ints,
):  # fmt: skip
    """Flag the neighbours of a new active conductor site of reaction channel e (its
    electrode e, or FILM_CHANNEL + e for doped PT in a surface-resolved run).

    Only particles inside ``bounds`` (x0, x1, y0, y1: the region whose lists these are)
    join a reaction channel now; for the others an entry is left on ``deferred`` when it
    is non-empty (sector engine), and nothing is done otherwise (the caller refreshes).
    """
    x = site % nx
    y = (site // nx) % ny
    z = site // (nx * ny)
    flag = np.int64(1) << (FLAG_SHIFT + e)
    for d in range(dir_dx.shape[0]):
        nb = neighbour_site(x, y, z, d, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz)
        if nb < 0:
            continue
        wn = np.int64(words[nb]) | flag
        words[nb] = wn
        occ = wn >> PID_SHIFT
        if occ != 0:
            xn = nb % nx
            yn = (nb // nx) % ny
            if bounds[0] <= xn < bounds[1] and bounds[2] <= yn < bounds[3]:
                set_reactive(
                    occ - 1, contact_channel(wn), pspecies, react_chan, react_pos,
                    react_members, react_counts,
                )  # fmt: skip
            elif deferred.shape[0] > 0:
                defer_entry(deferred, ints, DEFER_REEVAL, occ - 1, cell_at(xn, yn, bounds, nx))


@njit(cache=True)
def flood_connect(
    site, e, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_conductor, phase_active, deposit_phase, floating_phase, stack,
    pspecies, react_chan, react_pos, react_members, react_counts, bounds, deferred, ints,
):  # fmt: skip
    """Connect the floating PT that touches the connected PT ``site`` (of electrode e),
    flagging the neighbours of every newly active site. Returns True when the flood met
    a conductor of the other electrode (a short)."""
    ndir = dir_dx.shape[0]
    p = deposit_phase[e]
    channel = phase_active[p]
    active = channel >= 0
    short = False
    stack[0] = site
    top = 1
    while top > 0:
        top -= 1
        cur = np.int64(stack[top])
        if active:
            _mark_active(
                cur, channel, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
                pspecies, react_chan, react_pos, react_members, react_counts, bounds,
                deferred, ints,
            )  # fmt: skip
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
                stack[top] = nb
                top += 1
            elif phase_conductor[ph] >= 0 and phase_conductor[ph] != e:
                short = True
    return short


@njit(cache=True)
def place_conductor(
    site, e_known, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
    phase_conductor, phase_active, deposit_phase, floating_phase, stack,
    pspecies, react_chan, react_pos, react_members, react_counts, counters,
    bounds, deferred, ints,
):  # fmt: skip
    """Turn the (empty) ``site`` into PT and update connectivity and contact flags.

    ``e_known`` is an electrode the site is known to connect to (a particle that reacted
    there), or -1 to decide from the neighbours. Returns the electrode the site joined,
    or -1 when it is floating. ``stack`` is int32 scratch of at least one entry per site.

    ``deferred`` empty: the flood over touching floating PT runs now. Otherwise (a
    cell of the sector engine, which may touch only its own sites and their
    neighbours) the site and its neighbours are updated now and a DEFER_FLOOD entry is
    left when floating PT touches it; the merge floods from it (:func:`flood_connect`).
    """
    x = site % nx
    y = (site // nx) % ny
    z = site // (nx * ny)
    ndir = dir_dx.shape[0]
    conn = 0
    if e_known >= 0:
        conn |= 1 << e_known
    floating_nb = False
    for d in range(ndir):
        nb = neighbour_site(x, y, z, d, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz)
        if nb >= 0:
            ph = np.int64(words[nb]) & PHASE_MASK
            e2 = phase_conductor[ph]
            if e2 >= 0:
                conn |= 1 << e2
            elif ph == floating_phase:
                floating_nb = True
    if conn == 0:
        words[site] = (np.int64(words[site]) & ~np.int64(PHASE_MASK)) | floating_phase
        return -1
    e = 0 if conn & 1 else 1
    short = conn == 3
    p = deposit_phase[e]
    words[site] = (np.int64(words[site]) & ~np.int64(PHASE_MASK)) | p
    if deferred.shape[0] == 0:
        if flood_connect(
            site, e, words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
            phase_conductor, phase_active, deposit_phase, floating_phase, stack,
            pspecies, react_chan, react_pos, react_members, react_counts, bounds,
            deferred, ints,
        ):  # fmt: skip
            short = True
    else:
        if phase_active[p] >= 0:
            _mark_active(
                site, phase_active[p], words, nx, ny, nz, periodic_z, dir_dx, dir_dy, dir_dz,
                pspecies, react_chan, react_pos, react_members, react_counts, bounds,
                deferred, ints,
            )  # fmt: skip
        if floating_nb:
            defer_entry(deferred, ints, DEFER_FLOOD, site, cell_at(x, y, bounds, nx))
    if short:
        counters[C_SHORTS] += 1
    return e
