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
        self.elec = phases.electrode_table().tolist()
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
        self.free = [int(p) for p in engine.free_pids[: engine.ints[0]]]
        self.react = {(s, e): [] for s in range(n_s) for e in range(2)}
        self.chan = {}
        for ids in self.members:
            for pid in ids:
                self._set_chan(pid, self._contact(self.pos[pid]))
        self.hop = m.hop_rate_per_s.tolist()
        self.k = m.reaction_rate_per_s.tolist()
        self.product = m.reaction_product.tolist()
        self.inj = m.injection_rate_bound_per_s().tolist()
        self.res_occ = m.reservoir_occupancy.tolist()
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
        return self.phase[site] == phases.AMORPHOUS_PEO and site not in self.occ

    def step(self):
        r = self._rates()
        if r is None:
            return  # nothing can happen any more: the kernel stops too
        self._event(r)
        self.attempt += 1

    def _rates(self):
        n_s = len(self.members)
        r_hop = sum(len(self.members[s]) * sum(self.hop[s]) for s in range(n_s))
        r_react = sum(len(self.react[(s, e)]) * self.k[s][e] for s in range(n_s) for e in range(2))
        r_inj = sum(self.inj[s][b] for s in range(n_s) for b in range(2))
        r = r_hop + r_react + r_inj
        return None if r <= 0.0 else (r_hop, r_react, r)

    def _event(self, rates):
        r_hop, r_react, r = rates
        ndir = len(self.dirs)
        n_s = len(self.members)
        self.t += -math.log1p(-self._u(0)) / r
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
                if self.is_res[b] and self._u(4) >= self.res_occ[s][b]:
                    self._remove(pid)
                return
            if not self._free_site(nb):
                return
            del self.occ[site]
            self.occ[nb] = pid
            self.pos[pid] = nb
            self._set_chan(pid, self._contact(nb))
        elif u < r_hop + r_react:
            u -= r_hop
            acc, chosen = 0.0, None
            for s in range(n_s):
                for e in range(2):
                    w = len(self.react[(s, e)]) * self.k[s][e]
                    if w > 0:
                        acc += w
                        chosen = (s, e)
                        if u < acc:
                            break
                if u < acc:
                    break
            s, e = chosen
            lst = self.react[chosen]
            pid = lst[min(int(self._u(2) * len(lst)), len(lst) - 1)]
            site = self.pos[pid]
            prod = self.product[s][e]
            if prod == L.PRODUCT_DEPOSIT:
                self._remove(pid)
                self.phase[site] = int(phases.DEPOSIT_PHASE[e])
                for d in range(ndir):
                    nb = self._neighbour(site, d)
                    if nb is not None and nb in self.occ:
                        self._set_chan(self.occ[nb], self._contact(nb))
            elif prod == L.PRODUCT_CONSUME:
                self._remove(pid)
            else:
                self._set_chan(pid, -1)
                lst = self.members[s]
                i = lst.index(pid)
                lst[i] = lst[-1]
                lst.pop()
                self.members[prod].append(pid)
                self.species[pid] = prod
                self._set_chan(pid, self._contact(site))
        else:
            u -= r_hop + r_react
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
            site = k + layer * (0 if b == 0 else self.nz - 1)
            if not self._free_site(site):
                return
            pid = self.free.pop()
            self.occ[site] = pid
            self.pos[pid] = site
            self.species[pid] = s
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
