"""Electrochemical protocols and the monomer reservoir, applied between kernel calls.

The driver splits time into protocol steps. At the start of each step it sets the
electrode potentials, the Butler-Volmer oxidation rates, the doping of PT and the
reservoir occupancy seen by the lattice; the kernel runs the step; after it, the charge
of the step is accounted and the continuum reservoir takes up the units that crossed
the gate and diffuses. Rules (see docs/CHEMISTRY.md, "Electrode potentials" and
"Faraday's law"):

* Each electrode has its own potential vs Li/Li+: the cathode's E_c (its double layer),
  the Li anode's E_a = its Butler-Volmer overpotential at the cell current (~0 V). The
  cell voltage is V = E_c - E_a + I R (I the current leaving the cathode into the
  electrolyte, R the membrane's ohmic resistance). A reaction runs at its own
  electrode's potential; under current control only at an electrode whose set current
  is anodic.
* potentiostatic: V constant; potential_step: V = rest_potential_V until
  step_time_s, then potential_V (a chronoamperometric transient); cv: V(t) a triangle
  start -> vertex -> start repeated ``cycles`` times, evaluated at the middle of each
  step. With a cell area, E_c and the
  step's current are solved together (backward Euler, ``_solve_cathode``): the circuit
  V = E_c - E_a(I) + I R and the cathode's charge balance (double layer, expected
  oxidation, doping); the film's doping holds E_c at its onset until its charge has
  passed.
* galvanostatic, per cycle: (0) charging: E_c rises as the double layer of the
  electroactive area A charges, dE_c/dt = lambda I_sim / (C_dl A), with Poisson
  Butler-Volmer oxidation at E_c, until E_c reaches E_I, at which the oxidizable
  particles carry the whole current; (1) faradaic: the current is carried by
  oxidations, one every n_e e / (lambda I_sim) seconds (time advances by faradaic
  charge) and E_c = E_I; (2) when V would pass ``upper_V`` (or nothing is left to
  oxidize) the current reverses: the double layer discharges at the same rate, no
  oxidation at the cathode, until V reaches ``lower_V``; then the next cycle.
* Faraday's law: besides the oxidations (one electron per molecule each), a chain that
  joins a doped film passes its coupling electrons, and the film its doping charge
  (returned when it undopes). Under current control that charge is paid by the set
  current: it delays the next oxidation or the double layer.

All state lives in ``engine.protocol_state`` and ``engine.reservoir_field`` so that a
checkpoint resumes bit-identically.
"""

from __future__ import annotations

import math

import numpy as np

from kmc import phases
from kmc.kernels import layout as L
from kmc.simulation._engine import LatticeEngine
from kmc.simulation._model import (
    ELEMENTARY_CHARGE_C,
    FARADAY_C_PER_MOL,
    GAS_CONSTANT_J_PER_MOL_K,
    Model,
)

# protocol_state layout
P_POTENTIAL = 0  # cell voltage now (V)
P_STAGE = 1  # galvanostatic stage: 0 charging, 1 faradaic, 2 discharging
P_CYCLES = 2  # completed cycles
P_DONE = 3  # 1 when the protocol's cycles are complete
P_CAP_CHARGE = 4  # double-layer charge passed at the cathode, simulated area (C)
P_SEEN_NET = 5  # monomer units taken from the reservoir side 0 and 1 so far (2 entries)
P_LAST_CHARGE = 7  # cathode faradaic charge at the previous sample (C), for the currents
P_LAST_TIME = 8  # time of the previous sample (s)
P_CATHODE_V = 9  # cathode potential vs Li/Li+ (V)
P_ANODE_V = 10  # anode potential vs Li/Li+ (V)
P_DEBT_C = 11  # charge the set current still owes the film (C; < 0: dedoping)
P_FILM_SEEN = 12  # film-coupling counts of the kernel seen so far (2 entries)
P_FILM_CHARGED = 14  # film-coupling electrons passed, per molecule of a unit (2 entries)
P_DOPING_HELD = 16  # doping electrons the PT of each electrode holds now (2 entries)
P_CELL_CURRENT = 18  # current leaving the cathode in the real cell, last step, as
# measured from its charge (A; potential control: diagnostic beside P_SOLVED_CURRENT)
P_STEP_CHARGE = 19  # cathode charge (faradaic + capacitive) at the end of the last step (C)
P_LAST_CAP = 20  # capacitive charge at the previous sample (C)
P_OX_SEEN = 21  # cathode oxidation electrons accounted so far
P_FROZEN_S = 22  # protocol time passed with the lattice frozen (film charge plateaus) (s)
P_SOLVED_CURRENT = 23  # potential control: the cell current the step was solved for (A)
N_PROTOCOL_STATE = 24

CHARGING, FARADAIC, DISCHARGING = 0, 1, 2

POTENTIAL_CONTROL = ("potentiostatic", "potential_step", "cv")
"""Protocol kinds that set the applied voltage (the cathode's potential follows it)."""


def electroactive_faces(words: np.ndarray, dims, active: np.ndarray, electrode: int) -> int:
    """Faces between amorphous PEO and active conductors of ``electrode`` (count).

    ``active``: the phases' reaction channels (:func:`kmc.phases.active_table`); a
    channel's electrode is its code mod 2 (the film channels of a surface-resolved run)."""
    nx, ny, nz = dims
    phase = (words & L.PHASE_MASK).reshape(nz, ny, nx)
    channel = active[phase].astype(np.int64)
    conductor = (channel >= 0) & (channel % 2 == electrode)
    return phases.count_faces_between(conductor, phase == phases.AMORPHOUS_PEO)


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
        self.n_dope = model.doping_electrons_per_unit
        self.electrodes = cfg.resolved_electrodes()
        self.ohmic_ohm = _ohmic_resistance_ohm(model)
        self._anode_eta: dict[float, float] = {}
        self.mono = int(model.chem_species[0])
        self.step_s = protocol_step_s(model)
        self._anodic = (True, True)
        self._stage = -1  # galvanostatic stage of the step being run (-1: other protocols)
        # potential control of a real cell: the cathode potential and the step's current
        # are solved together (the doping charge is set by the solve, not after the step)
        self._implicit = (
            self.protocol.kind in POTENTIAL_CONTROL and self.protocol.electrode_area_m2 is not None
        )
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
                # at rest before the first charge: no current, so V = E_c
                engine.protocol_state[P_POTENTIAL] = self.protocol.lower_V
                engine.protocol_state[P_CATHODE_V] = self.protocol.lower_V
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

    def anode_potential_V(self, cell_current_A: float) -> float:
        """Li anode potential vs Li/Li+ (V) while ``cell_current_A`` leaves the cathode
        (anodic there, so cathodic at the anode: Li plating, E_a < 0)."""
        an = self.electrodes.anode
        area = self.protocol.electrode_area_m2
        if an.exchange_current_A_per_m2 is None or area is None or cell_current_A == 0.0:
            return 0.0
        # a galvanostatic cell sees two currents, +-I: solve each once, not every step
        eta = self._anode_eta.get(cell_current_A)
        if eta is None:
            eta = butler_volmer_overpotential_V(
                -cell_current_A / area, an.exchange_current_A_per_m2, an.transfer_coefficient,
                self.f,
            )  # fmt: skip
            if len(self._anode_eta) < 16:
                self._anode_eta[cell_current_A] = eta
        return eta

    def cell_offset_V(self, cell_current_A: float) -> float:
        """V - E_c = -E_a + I R at cell current ``cell_current_A`` (V)."""
        return -self.anode_potential_V(cell_current_A) + cell_current_A * self.ohmic_ohm

    def _set_potentials(self, cell_current_A: float) -> None:
        st = self.state
        e_a = self.anode_potential_V(cell_current_A)
        st[P_ANODE_V] = e_a
        st[P_POTENTIAL] = st[P_CATHODE_V] + (-e_a + cell_current_A * self.ohmic_ohm)

    def cv_potential(self, t: float) -> float:
        p = self.protocol
        period = p.cycle_period_s()
        cyc = t / period
        if cyc >= p.cycles:
            return p.start_V
        frac = cyc - math.floor(cyc)
        tri = 2 * frac if frac < 0.5 else 2 - 2 * frac
        return p.start_V + (p.vertex_V - p.start_V) * tri

    def cathode_oxidizers(self):
        """(n, k0, alpha, E_ox) of the species that oxidize at the cathode now: touching
        particles, compressed rate at the onset (1/s), transfer coefficient, onset (V);
        arrays over those species. Their Butler-Volmer oxidation rate at E is
        sum n k0 exp(alpha f (E - E_ox))."""
        m = self.model
        cathode = m.channel_electrode == 0  # its channels: bare, and film when resolved
        onset = m.onset_potential_V[:, cathode].ravel()
        alpha = m.transfer_coefficient[:, cathode].ravel()
        k0 = m.reaction_rate_per_s[:, cathode].ravel() * self.lam
        n = self.engine.react_counts[:, cathode].ravel().astype(float)
        use = ~np.isnan(onset) & (n > 0) & (k0 > 0)
        return n[use], k0[use], alpha[use], onset[use]

    def faradaic_potential(self) -> float:
        """E_I: cathode potential at which its oxidizable particles carry the current."""
        need = self.current_sim_A / (self.n_e * ELEMENTARY_CHARGE_C)
        n, k0, alpha, onset = self.cathode_oxidizers()
        if not n.size:
            return math.inf

        def total(e):
            return float(np.sum(n * k0 * np.exp(alpha * self.f * (e - onset))))

        if total(20.0) < need:
            return math.inf
        return _bisect_increasing(total, need, -20.0, 20.0, 80)[1]

    def electroactive_area_m2(self, electrode: int = 0) -> float:
        eng = self.engine
        a = self.model.config.lattice.spacing_m
        return electroactive_faces(eng.words, self.model.dims, eng._active, electrode) * a * a

    def _double_layer_F(self) -> float:
        c = self.protocol.double_layer_capacitance_F_per_m2
        return c * max(self.electroactive_area_m2(0), self.area_sim_m2 * 1e-3)

    # ------------------------------------------------------------------ stepping
    def _apply(self, t0: float, t1: float) -> None:
        """Set potentials, rates, doping, reservoir occupancy for the step [t0, t1]."""
        eng, p, st = self.engine, self.protocol, self.state
        kind = p.kind
        if kind in POTENTIAL_CONTROL:
            if kind == "potentiostatic":
                v = p.potential_V
            elif kind == "potential_step":
                # on the fixed step grid: the step falls on a protocol-step boundary
                k = math.floor(t0 / self.step_s + 1e-9)
                before = (k + 0.5) * self.step_s < p.step_time_s
                v = p.rest_potential_V if before else p.potential_V
            else:
                # at the middle of the step on the fixed grid: the same wherever a call starts
                k = math.floor(t0 / self.step_s + 1e-9)
                v = self.cv_potential((k + 0.5) * self.step_s)
                st[P_CYCLES] = min(math.floor(t1 / p.cycle_period_s() + 1e-12), p.cycles)
                st[P_DONE] = float(t1 >= p.cycles * p.cycle_period_s() * (1 - 1e-12))
            if p.electrode_area_m2 is None:
                # no cell: no current to speak of, the cathode sits at the applied voltage
                if p.double_layer_capacitance_F_per_m2 is not None and t0 > 0:
                    st[P_CAP_CHARGE] += self._double_layer_F() * (v - st[P_CATHODE_V])
                st[P_CATHODE_V] = v
                st[P_ANODE_V] = 0.0
                st[P_POTENTIAL] = v
            else:
                self._solve_cathode(v, t0, t1)
            self._anodic = (True, True)  # potential control: each reaction at its BV rate
        elif kind == "galvanostatic":
            self._galvanostatic(t0, t1)
        if kind == "constant":
            rates = self.model.reaction_rates_at(None)
        else:
            rates = self.model.reaction_rates_at((st[P_CATHODE_V], st[P_ANODE_V]))
            bv = ~np.isnan(self.model.onset_potential_V)
            for c, e in enumerate(self.model.channel_electrode):
                if not self._anodic[e]:
                    rates[bv[:, c], c] = 0.0  # a cathodic electrode oxidizes nothing
        if kind == "galvanostatic" and st[P_STAGE] == FARADAIC:
            interval = self.n_e * ELEMENTARY_CHARGE_C / self.current_sim_A
            if eng.sched_e[0] != 0:
                eng.sched[0] = t0 + interval  # the first electron of this stage
            eng.sched_e[0] = 0
            eng.sched[1] = interval
            if st[P_DEBT_C] > 0:
                # the film's coupling and doping charge takes current time first
                eng.sched[0] += st[P_DEBT_C] / self.current_sim_A
                st[P_DEBT_C] = 0.0
        else:
            eng.sched_e[0] = -1
            eng.sched[1] = 0.0
        eng.set_reaction_rates(rates)
        ch = self.model.config.chemistry
        if ch is not None and kind != "constant":
            cathode_doped = st[P_CATHODE_V] >= ch.cathode_doping_onset_V
            if self._implicit:
                # pinned at the onset the film is doped while it holds doping charge
                cathode_doped = cathode_doped or st[P_DOPING_HELD] > 0
            eng.set_pt_doped((cathode_doped, st[P_ANODE_V] >= ch.anode_doping_onset_V))
        if self.model.config.membrane is not None:
            occ = np.zeros_like(eng.res_occ)
            field = eng.reservoir_field
            occ[self.mono] = [field[0], field[-1]]
            eng.set_reservoir_occupancy(occ)

    def _solve_cathode(self, v: float, t0: float, t1: float) -> None:
        """Backward-Euler step of a potentiostatted cell at cell voltage ``v`` (V).

        The cathode potential E_c and the real-cell current I of the step [t0, t1] solve
        V = E_c - E_a(I) + I R together with the charge balance of the cathode over the
        step: I dt (A / A_sim) = C_dl (E_c - E_c,prev) + the expected oxidation charge at
        E_c + the doping charge. The film's doping is a step in charge at its onset (a
        pseudocapacitance): where the balance cannot be met on either side of the step,
        the cathode is held at the onset and the film dopes (or undopes) by what the
        current passes, over as many steps as that takes. The film-coupling charge and the
        scatter of the oxidations about their expectation are counted in the step's
        measured current (``P_CELL_CURRENT``), not in the solve.
        """
        p, st, eng, m = self.protocol, self.state, self.engine, self.model
        dt = t1 - t0
        area = p.electrode_area_m2
        r_ohm = self.ohmic_ohm
        an = self.electrodes.anode
        i0, alpha_a, f = an.exchange_current_A_per_m2, an.transfer_coefficient, self.f

        def anode(i: float) -> float:
            if i0 is None or i == 0.0:
                return 0.0
            return _anode_overpotential_V(-i / area, i0, alpha_a, f)

        def cathode_at(i: float) -> float:  # decreasing in i
            return v + anode(i) - i * r_ohm

        st[P_POTENTIAL] = v
        if t0 <= 0 or dt <= 0:
            # the cell at rest before its first step
            st[P_CATHODE_V], st[P_ANODE_V], st[P_SOLVED_CURRENT] = v, 0.0, 0.0
            return
        e_prev = float(st[P_CATHODE_V])
        c_dl = self._double_layer_F() if p.double_layer_capacitance_F_per_m2 is not None else 0.0
        ch = m.config.chemistry
        onset = ch.cathode_doping_onset_V if ch is not None else math.inf
        held = float(st[P_DOPING_HELD])  # electrons
        capacity = float(self.n_dope) * float(eng.counters[L.C_CONNECTED_UNITS])
        q_e = ELEMENTARY_CHARGE_C
        # expected oxidation charge of the step at E (C, simulated area): each touching
        # particle at its Butler-Volmer rate, n_e electrons per oxidation (Python floats:
        # the solve evaluates it ~100 times per step)
        terms = [
            (float(ns * ks) * dt * self.n_e * q_e, float(a_s) * f, float(es))
            for ns, ks, a_s, es in zip(*self.cathode_oxidizers(), strict=True)
        ]

        def oxidation(e: float) -> float:
            return sum(a * math.exp(min(b * (e - e0), 600.0)) for a, b, e0 in terms)

        def doping(e: float) -> float:  # electrons passed into the film at E
            return capacity - held if e >= onset else -held

        scale = area / (self.area_sim_m2 * dt * self.lam)  # C (simulated area) -> A (cell)

        def excess(i: float) -> float:  # current the cathode takes at I, less I; decreasing
            e = cathode_at(i)
            return scale * (c_dl * (e - e_prev) + oxidation(e) + doping(e) * q_e) - i

        lo, hi = _bracket_decreasing(excess)
        e_lo, e_hi = cathode_at(lo), cathode_at(hi)
        if e_hi < onset <= e_lo and doping(e_lo) != doping(e_hi):
            # the balance falls in the doping step: the cathode is held at the onset
            lo, hi = _bisect_decreasing(lambda i: cathode_at(i) - onset, lo, hi)
            i = 0.5 * (lo + hi)
            e_c = onset
            passed = (i / scale - c_dl * (e_c - e_prev) - oxidation(e_c)) / q_e
            dope = float(round(min(max(passed, -held), capacity - held)))
        else:
            i = 0.5 * (lo + hi)
            e_c = cathode_at(i)
            dope = doping(e_c)
        st[P_CAP_CHARGE] += c_dl * (e_c - e_prev)
        st[P_DOPING_HELD] = held + dope
        st[P_CATHODE_V] = e_c
        st[P_ANODE_V] = anode(i)
        st[P_SOLVED_CURRENT] = i

    def _galvanostatic(self, t0: float, t1: float) -> None:
        p, st = self.protocol, self.state
        if st[P_DONE]:
            st[P_STAGE] = DISCHARGING
        else:
            stage = st[P_STAGE]
            upper_c = p.upper_V - self.cell_offset_V(p.current_A)  # cathode at V = upper_V
            if stage == CHARGING:
                e_i = self.faradaic_potential()
                if st[P_CATHODE_V] >= min(e_i, upper_c):
                    stage = FARADAIC if e_i <= upper_c else DISCHARGING
            elif stage == FARADAIC:
                e_i = self.faradaic_potential()
                if e_i > upper_c:
                    stage = DISCHARGING
                    st[P_CATHODE_V] = upper_c
                else:
                    st[P_CATHODE_V] = e_i
            st[P_STAGE] = stage
        self._stage = int(st[P_STAGE])
        charging = st[P_STAGE] != DISCHARGING and not st[P_DONE]
        self._anodic = (charging, not charging)  # the anode strips Li while the cathode discharges
        self._set_potentials(p.current_A if charging else -p.current_A)

    def _account_film(self) -> None:
        """Charge of the step's film processes: coupling of chains into a doped film (only
        at an anodic electrode) and the change of the doping charge held."""
        eng, st = self.engine, self.state
        c = eng.counters
        # Poisson oxidations while the double layer charges take their charge from the
        # set current too (scheduled ones, in the faradaic stage, are paid by the schedule)
        ox = float(self.oxidation_electrons()[0])
        debt = (ox - st[P_OX_SEEN]) * ELEMENTARY_CHARGE_C if self._stage == CHARGING else 0.0
        st[P_OX_SEEN] = ox
        for e in (0, 1):
            new = float(c[L.C_FILM_ELECTRONS + e]) - st[P_FILM_SEEN + e]
            st[P_FILM_SEEN + e] += new
            passed = new if self._anodic[e] else 0.0  # a cathodic electrode couples nothing
            st[P_FILM_CHARGED + e] += passed
            charged = passed * self.n_e
            if e == 0 and self._implicit:
                held = st[P_DOPING_HELD]  # passed by the step's solve (_solve_cathode)
            else:
                held = float(eng.pt_doped[e]) * self.n_dope * float(c[L.C_CONNECTED_UNITS + e])
            delta = held - st[P_DOPING_HELD + e]
            st[P_DOPING_HELD + e] = held
            if e == 0:
                debt += (charged + delta) * ELEMENTARY_CHARGE_C
        if self.protocol.kind == "galvanostatic" and not st[P_DONE]:
            st[P_DEBT_C] += debt

    def _after(self, t0: float, t1: float) -> None:
        """Film charge, capacitive charge and potential of the step; reservoir exchange
        and diffusion."""
        p, st = self.protocol, self.state
        dt = t1 - t0
        if p.kind != "constant":
            self._account_film()
        if p.kind == "galvanostatic" and not st[P_DONE] and st[P_STAGE] != FARADAIC:
            c_dl = self._double_layer_F()
            sign = 1.0 if st[P_STAGE] == CHARGING else -1.0
            dq = self.current_sim_A * dt
            # the set current pays the film first: coupling and doping on the anodic
            # half-cycle, the undoping charge on the cathodic one
            debt = st[P_DEBT_C]
            pay = min(debt, dq) if sign > 0 and debt > 0 else 0.0
            pay = max(debt, -dq) if sign < 0 and debt < 0 else pay
            st[P_DEBT_C] = debt - pay
            dq -= abs(pay)
            if p.freeze_lattice_for_film_charge and st[P_DEBT_C] * sign > 0:
                # the rest of the film's charge is passed at the potential it holds (the
                # doping plateau), with the lattice frozen: only the protocol clock and
                # the continuum reservoir advance (see docs/CHEMISTRY.md)
                frozen = abs(st[P_DEBT_C]) / self.current_sim_A  # simulated-clock seconds
                st[P_FROZEN_S] += frozen * self.lam
                st[P_DEBT_C] = 0.0
                if self.model.config.membrane is not None:
                    self._reservoir_step(frozen, exchange=False)
            st[P_CAP_CHARGE] += sign * dq
            st[P_CATHODE_V] += sign * dq / c_dl
            i_cell = sign * p.current_A
            offset = self.cell_offset_V(i_cell)  # V - E_c at this current
            if st[P_STAGE] == CHARGING and st[P_CATHODE_V] + offset >= p.upper_V:
                st[P_CATHODE_V] = p.upper_V - offset
                st[P_STAGE] = DISCHARGING
            elif st[P_STAGE] == DISCHARGING and st[P_CATHODE_V] + offset <= p.lower_V:
                st[P_CATHODE_V] = p.lower_V - offset
                st[P_CYCLES] += 1
                st[P_STAGE] = CHARGING
                if st[P_CYCLES] >= p.cycles:
                    st[P_DONE] = 1.0
            self._set_potentials(i_cell)
        if p.kind in POTENTIAL_CONTROL and dt > 0:
            q = float(self.faradaic_charge_C()[0] + st[P_CAP_CHARGE])
            area = p.electrode_area_m2
            if area is not None:
                # real-cell current: the simulated area's, scaled up, on the protocol clock
                st[P_CELL_CURRENT] = (
                    (q - st[P_STEP_CHARGE]) / (dt * self.lam) * (area / self.area_sim_m2)
                )
            st[P_STEP_CHARGE] = q
        if self.model.config.membrane is not None:
            self._reservoir_step(dt)

    def protocol_time_s(self) -> float:
        """The protocol's clock (s): lambda x simulated time + the frozen plateaus."""
        return self.engine.time_s * self.lam + float(self.state[P_FROZEN_S])

    def _reservoir_step(self, dt: float, exchange: bool = True) -> None:
        eng, st = self.engine, self.state
        field = eng.reservoir_field
        nx, ny, _ = self.model.dims
        a = self.model.config.lattice.spacing_m
        sites_per_cell = nx * ny * self.cell_m / a
        for b, end in ((0, 0), (1, field.size - 1)) if exchange else ():
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
        """Faradaic charge of the chemistry at each electrode (C): e x electron transfers."""
        return self.electron_transfers() * ELEMENTARY_CHARGE_C

    def electron_transfers(self) -> np.ndarray:
        """Electrons passed by the chemistry at each electrode, int64[2] (exact): the
        oxidations (n_e each), the film couplings (n_e per count) and the doping charge the
        electrode's PT holds now."""
        return self.oxidation_electrons() + self.film_coupling_electrons() + self.doping_electrons()

    def oxidation_electrons(self) -> np.ndarray:
        """Electrons of the oxidation events at each electrode, int64[2]."""
        bv = ~np.isnan(self.model.onset_potential_V)
        ev = self.model.by_electrode(np.where(bv, self.engine.react_events, 0).sum(axis=0))
        return ev.astype(np.int64) * np.int64(self.n_e)

    def film_coupling_electrons(self) -> np.ndarray:
        """Electrons of chains coupling into a doped film at each electrode, int64[2]."""
        return self.state[P_FILM_CHARGED : P_FILM_CHARGED + 2].astype(np.int64) * np.int64(self.n_e)

    def doping_electrons(self) -> np.ndarray:
        """Doping charge (electrons) each electrode's PT holds now, int64[2]."""
        return self.state[P_DOPING_HELD : P_DOPING_HELD + 2].astype(np.int64)

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
                    p = self.protocol
                    self.state[P_STAGE] = DISCHARGING
                    self.state[P_CATHODE_V] = p.upper_V - self.cell_offset_V(p.current_A)
                    self._apply(eng.time_s, t1)
                    continue
                if status != L.STATUS_EVENTS:
                    break
            if eng.time_s < t1:
                eng.clock[0] = t1  # exhausted: nothing can happen before t1
            self._after(t0, t1)
            if between_steps is not None and eng.time_s < t_end:
                between_steps()


def butler_volmer_overpotential_V(
    current_density_A_per_m2: float, i0_A_per_m2: float, alpha: float, f: float
) -> float:
    """Overpotential eta (V) at which i0 [exp(alpha f eta) - exp(-(1 - alpha) f eta)]
    equals the anodic current density (A/m^2; negative: cathodic); f = F/RT (1/V)."""

    def current(eta):
        return i0_A_per_m2 * (math.exp(alpha * f * eta) - math.exp(-(1 - alpha) * f * eta))

    lo, hi = _bisect_increasing(current, current_density_A_per_m2, -2.0, 2.0, 100)
    return 0.5 * (lo + hi)


def _anode_overpotential_V(j_A_per_m2: float, i0: float, alpha: float, f: float) -> float:
    """Butler-Volmer overpotential (V) at current density ``j_A_per_m2`` (closed form for
    a symmetric barrier, alpha = 0.5; bisection otherwise)."""
    if alpha == 0.5:
        return 2.0 / f * math.asinh(j_A_per_m2 / (2.0 * i0))
    return butler_volmer_overpotential_V(j_A_per_m2, i0, alpha, f)


def _bracket_decreasing(fn, start: float = 1e-6, limit: float = 1e9):
    """[lo, hi] with fn(lo) >= 0 >= fn(hi) for a decreasing ``fn`` (of a current, A),
    narrowed by bisection to a relative width of 1e-13."""
    lo, hi = -start, start
    while fn(lo) < 0 and lo > -limit:
        hi, lo = lo, lo * 10.0
    while fn(hi) > 0 and hi < limit:
        lo, hi = hi, hi * 10.0
    return _bisect_decreasing(fn, lo, hi)


def _bisect_decreasing(fn, lo: float, hi: float):
    """Halve [lo, hi] (fn(lo) >= 0 >= fn(hi), fn decreasing) to a relative width 1e-13."""
    for _ in range(200):
        if hi - lo <= 1e-13 * max(abs(lo), abs(hi)) + 1e-30:
            break
        mid = 0.5 * (lo + hi)
        if fn(mid) >= 0:
            lo = mid
        else:
            hi = mid
    return lo, hi


def _bisect_increasing(fn, target: float, lo: float, hi: float, steps: int):
    """Bracket [lo, hi] of where the increasing ``fn`` reaches ``target``, halved
    ``steps`` times."""
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if fn(mid) < target:
            lo = mid
        else:
            hi = mid
    return lo, hi


def _ohmic_resistance_ohm(model: Model) -> float:
    """Ohmic resistance of the membrane at the polymerization stage (ohm): thickness /
    (sigma A) of the real cell; 0 when the conductivity or the area is not given."""
    cfg = model.config
    sigma = cfg.resolved_electrodes().electrolyte_conductivity_S_per_m
    area = cfg.protocol.electrode_area_m2
    if sigma is None or area is None:
        return 0.0
    if cfg.membrane is not None:
        thickness = cfg.membrane.thickness_m
    else:
        thickness = (model.dims[2] - 2 * cfg.boundaries.electrode_thickness_sites) * (
            cfg.lattice.spacing_m
        )
    return thickness / (sigma * area)


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
