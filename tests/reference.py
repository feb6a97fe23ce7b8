"""Slow pure-Python reference of the event loop, for kernel-vs-reference tests.

It draws from the same xoshiro256** stream in the same order as the kernel, but keeps
its own plain data structures: a dict site -> particle, per-species Python lists, and
contacts found by scanning neighbour phases (no flag bits). On the same start state it
must reproduce the kernel's trajectory exactly.
"""

import math

import numpy as np

from kmc import phases
from kmc.kernels import layout as L
from kmc.kernels import reference_uniform


class ReferenceEngine:
    def __init__(self, engine):
        m = engine.model
        self.nx, self.ny, self.nz = engine.nx, engine.ny, engine.nz
        self.periodic_z = m.periodic_z
        self.dirs = [tuple(int(v) for v in d) for d in m.directions]
        self.phase = [int(w) & L.PHASE_MASK for w in engine.words]
        self.conductor = phases.electrode_table().tolist()
        self.elec = phases.active_table(tuple(bool(v) for v in engine.pt_doped)).tolist()
        self.transport = phases.transport_table(m.gap_transport).tolist()
        self.gate_z = m.gate_z
        self.inj_z = list(m.injection_z)
        self.exchanges = [bool(v) for v in m.exchanges]
        self.mono, self.rad, self.olig = (int(v) for v in m.chem_species)
        rates = [float(v) for v in m.chem_rate_per_s]
        self.k_couple, self.k_stick, self.k_decay = rates[:3]
        # sticking accepted onto bare metal, onto PT (both 1 unless the rates differ)
        self.accept_metal, self.accept_pt = rates[3:5]
        self.n_star = m.precipitation_length
        self.sched = [float(engine.sched[0]), float(engine.sched[1])]
        self.sched_e = int(engine.sched_e[0])
        self.plength = {}
        self.pt_units = 0
        self.occ = {}
        self.pos = {}
        self.species = {}
        n_s = len(m.species_names)
        self.members = [[int(p) for p in engine.members[s, : engine.counts[s]]] for s in range(n_s)]
        for s, ids in enumerate(self.members):
            for pid in ids:
                site = int(engine.px[pid]) + self.nx * (
                    int(engine.py[pid]) + self.ny * int(engine.pz[pid])
                )
                self.occ[site] = pid
                self.pos[pid] = site
                self.species[pid] = s
                self.plength[pid] = int(engine.plength[pid])
        self.free = [int(p) for p in engine.free_pids[: engine.ints[0]]]
        self.react = {(s, e): [] for s in range(n_s) for e in range(2)}
        self.chan = {}
        for ids in self.members:
            for pid in ids:
                self._set_chan(pid, self._contact(self.pos[pid]))
        self.hop = m.hop_rate_per_s.tolist()
        self.k = engine._react_rate.tolist()
        self.product = m.reaction_product.tolist()
        self.inj = m.injection_rate_bound_per_s(engine.res_occ).tolist()
        self.res_occ = engine.res_occ.tolist()
        self.is_res = [bool(v) for v in m.is_reservoir]
        self.key, self.attempt = int(engine.rng[0]), int(engine.rng[1])
        self.t = float(engine.clock[0])
        self.events = 0

    def _u(self, j):
        return reference_uniform(self.key, self.attempt, j)

    def _coords(self, site):
        return site % self.nx, (site // self.nx) % self.ny, site // (self.nx * self.ny)

    def _neighbour(self, site, d):
        x, y, z = self._coords(site)
        dx, dy, dz = self.dirs[d]
        z2 = z + dz
        if not 0 <= z2 < self.nz:
            if not self.periodic_z:
                return None
            z2 %= self.nz
        return (x + dx) % self.nx + self.nx * ((y + dy) % self.ny + self.ny * z2)

    def _contact(self, site):
        touching = set()
        for d in range(len(self.dirs)):
            nb = self._neighbour(site, d)
            if nb is not None and self.elec[self.phase[nb]] >= 0:
                touching.add(self.elec[self.phase[nb]])
        return 0 if 0 in touching else (1 if 1 in touching else -1)

    def _set_chan(self, pid, e):
        old = self.chan.get(pid, -1)
        if old == e:
            return
        if old >= 0:
            lst = self.react[(self.species[pid], old)]
            i = lst.index(pid)
            lst[i] = lst[-1]
            lst.pop()
        if e >= 0:
            self.react[(self.species[pid], e)].append(pid)
        self.chan[pid] = e

    def _remove(self, pid):
        self._set_chan(pid, -1)
        lst = self.members[self.species[pid]]
        i = lst.index(pid)
        lst[i] = lst[-1]
        lst.pop()
        del self.occ[self.pos[pid]]
        self.free.append(pid)

    def _free_site(self, site):
        return self.transport[self.phase[site]] == 1 and site not in self.occ

    def step(self):
        r = self._rates()
        if r is None:
            return  # nothing can happen any more: the kernel stops too
        self._event(r)
        self.attempt += 1

    def _scheduled(self):
        return self.sched_e >= 0 and self.sched[1] > 0.0

    def _rates(self):
        n_s = len(self.members)
        r_hop = sum(len(self.members[s]) * sum(self.hop[s]) for s in range(n_s))
        r_react = sum(
            len(self.react[(s, e)]) * self.k[s][e]
            for s in range(n_s)
            for e in range(2)
            if not (self._scheduled() and e == self.sched_e)
        )
        n_rad = len(self.members[self.rad]) if self.rad >= 0 else 0
        n_olig = len(self.members[self.olig]) if self.olig >= 0 else 0
        ndir = len(self.dirs)
        r_couple = n_rad * self.k_couple * ndir
        r_decay = n_rad * self.k_decay
        r_stick = (n_olig + n_rad) * self.k_stick * ndir
        r_inj = sum(self.inj[s][b] for s in range(n_s) for b in range(2))
        r_chem = r_couple + r_stick + r_decay  # summed in the kernel's order
        r = r_hop + r_react + r_chem + r_inj
        if r <= 0.0 and not self._scheduled():
            return None
        return r_hop, r_react, (r_couple, r_decay, r_stick, r_chem), r

    # ---- chemistry helpers (plain re-implementations of the kernel's rules)
    def _remove_at(self, pid):
        site = self.pos[pid]
        self._remove(pid)
        return site

    def _mark_active(self, site, e):
        for d in range(len(self.dirs)):
            nb = self._neighbour(site, d)
            if nb is not None and nb in self.occ:
                self._set_chan(self.occ[nb], self._contact(nb))

    def _place_conductor(self, site, e_known):
        conn = set() if e_known < 0 else {e_known}
        for d in range(len(self.dirs)):
            nb = self._neighbour(site, d)
            if nb is not None and self.conductor[self.phase[nb]] >= 0:
                conn.add(self.conductor[self.phase[nb]])
        if not conn:
            self.phase[site] = phases.PT_FLOATING
            return
        e = 0 if 0 in conn else 1
        p = int(phases.DEPOSIT_PHASE[e])
        self.phase[site] = p
        active = self.elec[p] >= 0
        stack = [site]
        while stack:
            cur = stack.pop()
            if active:
                self._mark_active(cur, e)
            for d in range(len(self.dirs)):
                nb = self._neighbour(cur, d)
                if nb is not None and self.phase[nb] == phases.PT_FLOATING:
                    self.phase[nb] = p
                    stack.append(nb)

    def _precipitate(self, pid):
        units = self.plength[pid]
        site = self._remove_at(pid)
        self._place_conductor(site, -1)
        self.pt_units += units

    def _convert(self, pid, s_new):
        self._set_chan(pid, -1)
        lst = self.members[self.species[pid]]
        i = lst.index(pid)
        lst[i] = lst[-1]
        lst.pop()
        self.members[s_new].append(pid)
        self.species[pid] = s_new
        self._set_chan(pid, self._contact(self.pos[pid]))

    def _react(self, pid, s, e):
        prod = self.product[s][e]
        if prod == L.PRODUCT_DEPOSIT:
            units = self.plength[pid]
            site = self._remove_at(pid)
            self._place_conductor(site, e)
            self.pt_units += units
        elif prod == L.PRODUCT_CONSUME:
            self._remove(pid)
        else:
            self._convert(pid, prod)

    def _pick_channel(self, u, electrodes):
        acc, chosen = 0.0, None
        for s in range(len(self.members)):
            for e in electrodes:
                w = len(self.react[(s, e)]) * self.k[s][e]
                if w > 0:
                    acc += w
                    chosen = (s, e)
                    if u < acc:
                        return chosen
        return chosen

    def _event(self, rates):
        r_hop, r_react, (r_couple, r_decay, r_stick, r_chem), r = rates
        ndir = len(self.dirs)
        n_s = len(self.members)
        dt = -math.log1p(-self._u(0)) / r if r > 0.0 else math.inf
        if self._scheduled() and self.t + dt > self.sched[0]:
            self.t = max(self.t, self.sched[0])
            self.events += 1
            e = self.sched_e
            w_sum = sum(len(self.react[(s, e)]) * self.k[s][e] for s in range(n_s))
            if w_sum <= 0.0:
                raise RuntimeError("starved")  # scenarios keep something to oxidize
            s, _ = self._pick_channel(self._u(1) * w_sum, [e])
            lst = self.react[(s, e)]
            pid = lst[min(int(self._u(2) * len(lst)), len(lst) - 1)]
            self._react(pid, s, e)
            self.sched[0] += self.sched[1]
            return
        self.t += dt
        self.events += 1
        u = self._u(1) * r
        if u < r_hop:
            acc, s = 0.0, 0
            for s in range(n_s):
                acc += len(self.members[s]) * sum(self.hop[s])
                if u < acc:
                    break
            lst = self.members[s]
            pid = lst[min(int(self._u(2) * len(lst)), len(lst) - 1)]
            v = self._u(3) * sum(self.hop[s])
            cum, d = 0.0, 0
            for d in range(ndir):
                cum += self.hop[s][d]
                if v < cum:
                    break
            site = self.pos[pid]
            nb = self._neighbour(site, d)
            if nb is None:
                b = 0 if self.dirs[d][2] < 0 else 1
                if self.is_res[b] and self.exchanges[s] and self._u(4) >= self.res_occ[s][b]:
                    self._remove(pid)
                return
            if self._coords(nb)[2] == self.gate_z:
                b = 0 if self._coords(site)[2] < self.gate_z else 1
                if self.exchanges[s] and self._u(4) >= self.res_occ[s][b]:
                    self._remove(pid)
                return
            if not self._free_site(nb):
                return
            del self.occ[site]
            self.occ[nb] = pid
            self.pos[pid] = nb
            self._set_chan(pid, self._contact(nb))
        elif u < r_hop + r_react:
            electrodes = [e for e in range(2) if not (self._scheduled() and e == self.sched_e)]
            s, e = self._pick_channel(u - r_hop, electrodes)
            lst = self.react[(s, e)]
            pid = lst[min(int(self._u(2) * len(lst)), len(lst) - 1)]
            self._react(pid, s, e)
        elif u < r_hop + r_react + r_chem:
            u -= r_hop + r_react
            kind = 2 if r_stick > 0 else (1 if r_decay > 0 else 0)
            if u < r_couple:
                kind = 0
            elif u < r_couple + r_decay:
                kind = 1
            if kind == 2:
                cands = self.members[self.olig] + self.members[self.rad]
            else:
                cands = self.members[self.rad]
            pid = cands[min(int(self._u(2) * len(cands)), len(cands) - 1)]
            if kind == 1:
                self._remove(pid)
                return
            d = min(int(self._u(3) * ndir), ndir - 1)
            nb = self._neighbour(self.pos[pid], d)
            if nb is None:
                return
            if kind == 0:
                other = self.occ.get(nb)
                if other is None or self.species[other] != self.rad:
                    return
                units = self.plength[pid] + self.plength[other]
                self._remove(other)
                self.plength[pid] = units
                if units >= self.n_star or self.olig < 0:
                    self._precipitate(pid)
                else:
                    self._convert(pid, self.olig)
            else:
                ph = self.phase[nb]
                if self.conductor[ph] < 0 and ph != phases.PT_FLOATING:
                    return
                metal = ph not in phases.PT_PHASES
                accept = self.accept_metal if metal else self.accept_pt
                if accept < 1.0 and self._u(4) >= accept:
                    return
                self._precipitate(pid)
        else:
            u -= r_hop + r_react + r_chem
            acc, chosen = 0.0, None
            for s in range(n_s):
                for b in range(2):
                    if self.inj[s][b] > 0:
                        acc += self.inj[s][b]
                        chosen = (s, b)
                        if u < acc:
                            break
                if u < acc:
                    break
            s, b = chosen
            layer = self.nx * self.ny
            k = min(int(self._u(3) * layer), layer - 1)
            site = k + layer * self.inj_z[b]
            if not self._free_site(site):
                return
            pid = self.free.pop()
            self.occ[site] = pid
            self.pos[pid] = site
            self.species[pid] = s
            self.plength[pid] = 1
            self.members[s].append(pid)
            self.chan[pid] = -1
            self._set_chan(pid, self._contact(site))

    def phase_array(self):
        return np.array(self.phase, dtype=np.uint8).reshape(self.nz, self.ny, self.nx)

    def species_array(self):
        out = np.zeros(self.nx * self.ny * self.nz, dtype=np.uint8)
        for site, pid in self.occ.items():
            out[site] = self.species[pid] + 1
        return out.reshape(self.nz, self.ny, self.nx)
