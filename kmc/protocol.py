"""Electrochemical protocols and the monomer reservoir, applied between kernel calls.

The driver splits time into protocol steps. At the start of each step it sets the
cell voltage E, the Butler-Volmer oxidation rates, the doping of PT and the reservoir
occupancy seen by the lattice; the kernel runs the step; after it, the continuum
reservoir takes up the units that crossed the gate and diffuses. Rules (see
docs/CHEMISTRY.md):

* potentiostatic: E constant; cv: E(t) a triangle start -> vertex -> start repeated
  ``cycles`` times, evaluated at the middle of each step.
* galvanostatic, per cycle: (0) charging: E rises as the double layer of the
  electroactive area A charges, dE/dt = lambda I_sim / (C_dl A), with Poisson
  Butler-Volmer oxidation at E, until E reaches the potential E_I at which the
  oxidizable particles carry the whole current; (1) faradaic: the current is carried by
  oxidations, one every n_e e / (lambda I_sim) seconds (time advances by faradaic
  charge) and E = E_I; (2) when E_I exceeds ``upper_V`` (or nothing is left to
  oxidize) the current reverses: the double layer discharges at the same rate, no
  oxidation at the cathode, until ``lower_V``; then the next cycle.

All state lives in ``engine.protocol_state`` and ``engine.reservoir_field`` so that a
checkpoint resumes bit-identically.
"""

from __future__ import annotations

import math

import numpy as np

from kmc import phases
from kmc.engine import LatticeEngine
from kmc.kernels import layout as L
from kmc.model import ELEMENTARY_CHARGE_C, FARADAY_C_PER_MOL, GAS_CONSTANT_J_PER_MOL_K, Model

# protocol_state layout
P_POTENTIAL = 0  # cell voltage now (V)
P_STAGE = 1  # galvanostatic stage: 0 charging, 1 faradaic, 2 discharging
P_CYCLES = 2  # completed cycles
P_DONE = 3  # 1 when the protocol's cycles are complete
P_CAP_CHARGE = 4  # capacitive charge passed through the simulated area (C)
P_SEEN_NET = 5  # monomer units taken from the reservoir side 0 and 1 so far (2 entries)
P_LAST_CHARGE = 7  # charge at the previous sample (C), for the mean current
P_LAST_TIME = 8  # time of the previous sample (s)
N_PROTOCOL_STATE = 9

CHARGING, FARADAIC, DISCHARGING = 0, 1, 2


def electroactive_faces(words: np.ndarray, dims, active: np.ndarray, electrode: int) -> int:
    """Faces between amorphous PEO and active conductors of ``electrode`` (count)."""
    nx, ny, nz = dims
    phase = (words & L.PHASE_MASK).reshape(nz, ny, nx)
    return phases.count_faces_between(active[phase] == electrode, phase == phases.AMORPHOUS_PEO)


def continuum_cell_m(model: Model) -> float:
    """Width of one cell of the membrane's continuum reservoir (m)."""
    cfg = model.config
    m, a = cfg.membrane, cfg.lattice.spacing_m
    windows = (model.dims[2] - 2 * cfg.boundaries.electrode_thickness_sites - 1) * a
    return (m.thickness_m - windows) / m.continuum_cells


def protocol_step_s(model: Model) -> float:
    """Simulated time between protocol updates (s): ``protocol.step_s``, shortened with a
    membrane so that the continuum reservoir stays resolved."""
    cfg = model.config
    step = cfg.protocol.step_s
    if cfg.membrane is not None:
        a = cfg.lattice.spacing_m
        mono = int(model.chem_species[0])
        cell = continuum_cell_m(model)
        gamma = model.hop_base_rate_per_s[mono]
        # an injection step may take at most a quarter of the end cell's content, and
        # the compressed continuum must stay resolved (r = D lambda dt / h^2 <= 50)
        step = min(step, 0.25 * (cell / a) / gamma)
        d_res = cfg.species[mono].diffusivity_m2_per_s * cfg.protocol.time_compression
        step = min(step, 50.0 * cell**2 / d_res)
    return float(step)


class ProtocolDriver:
    """Applies ``model.config.protocol`` and the membrane reservoir to an engine."""

    def __init__(self, model: Model, engine: LatticeEngine):
        self.model = model
        self.engine = engine
        cfg = model.config
        self.protocol = cfg.protocol
        self.lam = self.protocol.time_compression
        nx, ny, _ = model.dims
        a = cfg.lattice.spacing_m
        self.area_sim_m2 = nx * ny * a * a
        self.f = FARADAY_C_PER_MOL / (GAS_CONSTANT_J_PER_MOL_K * cfg.conditions.temperature_K)
        ch = cfg.chemistry
        self.n_e = ch.electrons_per_oxidation if ch is not None else 1
        self.mono = int(model.chem_species[0])
        self.step_s = protocol_step_s(model)
        m = cfg.membrane
        if m is not None:
            self.cell_m = continuum_cell_m(model)
            # the membrane beyond the windows is slow transport on the protocol's clock:
            # it is compressed with the protocol, so it delivers per cycle what it does
            # in the experiment (the windows relax in ~L_w^2/D, fast against a cycle)
            self.res_d = cfg.species[self.mono].diffusivity_m2_per_s * self.lam
        if engine.protocol_state.size == 0:
            engine.protocol_state = np.zeros(N_PROTOCOL_STATE)
            if self.protocol.kind == "galvanostatic":
                engine.protocol_state[P_POTENTIAL] = self.protocol.lower_V
            if m is not None:
                engine.reservoir_field = np.full(m.continuum_cells, m.monomer_occupancy)
            self._apply(0.0, self.step_s)

    # ------------------------------------------------------------------ helpers
    @property
    def state(self) -> np.ndarray:
        return self.engine.protocol_state

    @property
    def done(self) -> bool:
        return bool(self.state[P_DONE])

    @property
    def current_sim_A(self) -> float:
        """Galvanostatic current through the simulated area, compressed time (A)."""
        p = self.protocol
        return p.current_A * self.area_sim_m2 / p.electrode_area_m2 * self.lam

    def cv_potential(self, t: float) -> float:
        p = self.protocol
        period = p.cycle_period_s()
        cyc = t / period
        if cyc >= p.cycles:
            return p.start_V
        frac = cyc - math.floor(cyc)
        tri = 2 * frac if frac < 0.5 else 2 - 2 * frac
        return p.start_V + (p.vertex_V - p.start_V) * tri

    def faradaic_potential(self) -> float:
        """E_I: cell voltage at which the cathode's oxidizable particles carry the current."""
        m, eng = self.model, self.engine
        need = self.current_sim_A / (self.n_e * ELEMENTARY_CHARGE_C)
        onset, alpha = m.onset_potential_V[:, 0], m.transfer_coefficient[:, 0]
        k0 = m.reaction_rate_per_s[:, 0] * self.lam
        n = eng.react_counts[:, 0].astype(float)
        use = ~np.isnan(onset) & (n > 0) & (k0 > 0)
        if not use.any():
            return math.inf

        def total(e):
            return float(np.sum(n[use] * k0[use] * np.exp(alpha[use] * self.f * (e - onset[use]))))

        lo, hi = -20.0, 20.0
        if total(hi) < need:
            return math.inf
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if total(mid) < need:
                lo = mid
            else:
                hi = mid
        return hi

    def electroactive_area_m2(self, electrode: int = 0) -> float:
        eng = self.engine
        a = self.model.config.lattice.spacing_m
        return electroactive_faces(eng.words, self.model.dims, eng._active, electrode) * a * a

    # ------------------------------------------------------------------ stepping
    def _apply(self, t0: float, t1: float) -> None:
        """Set potential, rates, doping, reservoir occupancy for the step [t0, t1]."""
        eng, p, st = self.engine, self.protocol, self.state
        kind = p.kind
        if kind == "potentiostatic":
            st[P_POTENTIAL] = p.potential_V
        elif kind == "cv":
            # at the middle of the step on the fixed grid: the same wherever a call starts
            k = math.floor(t0 / self.step_s + 1e-9)
            st[P_POTENTIAL] = self.cv_potential((k + 0.5) * self.step_s)
            st[P_CYCLES] = min(math.floor(t1 / p.cycle_period_s() + 1e-12), p.cycles)
            st[P_DONE] = float(t1 >= p.cycles * p.cycle_period_s() * (1 - 1e-12))
        elif kind == "galvanostatic":
            self._galvanostatic(t0, t1)
        e_now = None if kind == "constant" else float(st[P_POTENTIAL])
        rates = self.model.reaction_rates_at(e_now)
        if kind == "galvanostatic" and st[P_STAGE] == DISCHARGING:
            bv = ~np.isnan(self.model.onset_potential_V[:, 0])
            rates[bv, 0] = 0.0  # net cathodic current: no oxidation at the cathode
        if kind == "galvanostatic" and st[P_STAGE] == FARADAIC:
            interval = self.n_e * ELEMENTARY_CHARGE_C / self.current_sim_A
            if eng.sched_e[0] != 0:
                eng.sched[0] = t0 + interval  # the first electron of this stage
            eng.sched_e[0] = 0
            eng.sched[1] = interval
        else:
            eng.sched_e[0] = -1
            eng.sched[1] = 0.0
        eng.set_reaction_rates(rates)
        ch = self.model.config.chemistry
        if ch is not None and e_now is not None:
            eng.set_pt_doped((e_now >= ch.cathode_doping_onset_V, e_now >= ch.anode_doping_onset_V))
        if self.model.config.membrane is not None:
            occ = np.zeros_like(eng.res_occ)
            field = eng.reservoir_field
            occ[self.mono] = [field[0], field[-1]]
            eng.set_reservoir_occupancy(occ)

    def _galvanostatic(self, t0: float, t1: float) -> None:
        p, st = self.protocol, self.state
        if st[P_DONE]:
            st[P_STAGE] = DISCHARGING
            return
        stage = st[P_STAGE]
        if stage == CHARGING:
            e_i = self.faradaic_potential()
            if st[P_POTENTIAL] >= min(e_i, p.upper_V):
                stage = FARADAIC if e_i <= p.upper_V else DISCHARGING
        elif stage == FARADAIC:
            e_i = self.faradaic_potential()
            if e_i > p.upper_V:
                stage = DISCHARGING
                st[P_POTENTIAL] = p.upper_V
            else:
                st[P_POTENTIAL] = e_i
        st[P_STAGE] = stage

    def _after(self, t0: float, t1: float) -> None:
        """Capacitive charge and potential of the step; reservoir exchange and diffusion."""
        p, st = self.protocol, self.state
        dt = t1 - t0
        if p.kind == "galvanostatic" and not st[P_DONE] and st[P_STAGE] != FARADAIC:
            c_dl = p.double_layer_capacitance_F_per_m2 * max(
                self.electroactive_area_m2(0), self.area_sim_m2 * 1e-3
            )
            sign = 1.0 if st[P_STAGE] == CHARGING else -1.0
            dq = self.current_sim_A * dt
            st[P_CAP_CHARGE] += sign * dq
            st[P_POTENTIAL] += sign * dq / c_dl
            if st[P_STAGE] == CHARGING and st[P_POTENTIAL] >= p.upper_V:
                st[P_POTENTIAL] = p.upper_V
                st[P_STAGE] = DISCHARGING
            elif st[P_STAGE] == DISCHARGING and st[P_POTENTIAL] <= p.lower_V:
                st[P_POTENTIAL] = p.lower_V
                st[P_CYCLES] += 1
                st[P_STAGE] = CHARGING
                if st[P_CYCLES] >= p.cycles:
                    st[P_DONE] = 1.0
        if self.model.config.membrane is not None:
            self._reservoir_step(dt)

    def _reservoir_step(self, dt: float) -> None:
        eng, st = self.engine, self.state
        field = eng.reservoir_field
        nx, ny, _ = self.model.dims
        a = self.model.config.lattice.spacing_m
        sites_per_cell = nx * ny * self.cell_m / a
        for b, end in ((0, 0), (1, field.size - 1)):
            net = int(eng.inj_events[self.mono, b] - eng.exit_events[self.mono, b])
            taken = net - int(st[P_SEEN_NET + b])
            st[P_SEEN_NET + b] = net
            field[end] -= taken / sites_per_cell
        # implicit (backward Euler) diffusion, no flux through the outer faces: the
        # scheme conserves the content exactly up to rounding
        r = self.res_d * dt / self.cell_m**2
        n = field.size
        lower = np.full(n, -r)
        upper = np.full(n, -r)
        diag = np.full(n, 1 + 2 * r)
        diag[0] = diag[-1] = 1 + r
        eng.reservoir_field = _thomas(lower, diag, upper, field)

    def faradaic_charge_C(self) -> np.ndarray:
        """Charge of the oxidations at each electrode (C): e * n_e * electron transfers."""
        return self.electron_transfers() * ELEMENTARY_CHARGE_C

    def electron_transfers(self) -> np.ndarray:
        """Electrons transferred by oxidations at each electrode, int64[2] (exact)."""
        bv = ~np.isnan(self.model.onset_potential_V)
        ev = np.where(bv, self.engine.react_events, 0).sum(axis=0)
        return ev.astype(np.int64) * np.int64(self.n_e)

    def reservoir_units(self) -> float:
        """Monomer units held by the continuum reservoir."""
        if self.model.config.membrane is None:
            return 0.0
        nx, ny, _ = self.model.dims
        a = self.model.config.lattice.spacing_m
        return float(self.engine.reservoir_field.sum() * nx * ny * self.cell_m / a)

    def run_to(self, t_end: float, run_chunk, between_steps=None) -> None:
        """Advance the engine to ``t_end`` through protocol steps.

        ``run_chunk(t_stop)`` runs the engine towards t_stop and returns its status
        (it may return early with STATUS_EVENTS; it is then called again).
        ``between_steps()`` is called after each step but the last (checkpoints go there).
        """
        eng = self.engine
        while eng.time_s < t_end:
            t0 = eng.time_s
            k = math.floor(t0 / self.step_s + 1e-9)
            t1 = min((k + 1) * self.step_s, t_end)
            if t1 <= t0:
                t1 = min(t0 + self.step_s, t_end)
            self._apply(t0, t1)
            while True:
                status = run_chunk(t1)
                if status == L.STATUS_STARVED:
                    # nothing left to oxidize at the scheduled time: the potential runs
                    # past the window, the current reverses
                    self.state[P_STAGE] = DISCHARGING
                    self.state[P_POTENTIAL] = self.protocol.upper_V
                    self._apply(eng.time_s, t1)
                    continue
                if status != L.STATUS_EVENTS:
                    break
            if eng.time_s < t1:
                eng.clock[0] = t1  # exhausted: nothing can happen before t1
            self._after(t0, t1)
            if between_steps is not None and eng.time_s < t_end:
                between_steps()


def _thomas(lower, diag, upper, rhs):
    """Solve a tridiagonal system (lower[0] and upper[-1] unused)."""
    n = rhs.size
    c = np.zeros(n)
    d = np.zeros(n)
    c[0] = upper[0] / diag[0]
    d[0] = rhs[0] / diag[0]
    for i in range(1, n):
        m = diag[i] - lower[i] * c[i - 1]
        c[i] = upper[i] / m if i < n - 1 else 0.0
        d[i] = (rhs[i] - lower[i] * d[i - 1]) / m
    x = np.zeros(n)
    x[-1] = d[-1]
    for i in range(n - 2, -1, -1):
        x[i] = d[i] - c[i] * x[i + 1]
    return x
