"""Electrode potentials and kinds: each electrode at its own potential vs Li/Li+, the cell
voltage V = E_c - E_a + I R, oxidation only at an anodic electrode under current
control, the flat cathode's contact patches, and the named errors of bad electrode input."""

import math

import numpy as np
import pytest
from chem import chem_text

from kmc import phases
from kmc.config import ConfigError, parse_config
from kmc.kernels import layout as L
from kmc.simulation import LatticeEngine, initial_phase
from kmc.simulation._model import (
    ELEMENTARY_CHARGE_C,
    FARADAY_C_PER_MOL,
    GAS_CONSTANT_J_PER_MOL_K,
    Model,
)
from kmc.simulation._protocol import (
    DISCHARGING,
    P_ANODE_V,
    P_CATHODE_V,
    P_CELL_CURRENT,
    P_DOPING_HELD,
    P_POTENTIAL,
    P_SOLVED_CURRENT,
    P_STAGE,
    ProtocolDriver,
    butler_volmer_overpotential_V,
)

F_RT = FARADAY_C_PER_MOL / (GAS_CONSTANT_J_PER_MOL_K * 333.15)
I0_ANODE = 0.05  # A/m^2: small, so that the Li overpotential is large enough to see
SIGMA = 1e-3  # S/m: a poor electrolyte, so that the ohmic drop is too

ELECTRODES = f"""
[electrodes]
electrolyte_conductivity_S_per_m = {SIGMA}
[electrodes.cathode]
kind = "blocking"
[electrodes.anode]
kind = "lithium"
exchange_current_A_per_m2 = {I0_ANODE}
"""


def _driver(text):
    cfg = parse_config(text)
    model = Model.from_config(cfg)
    eng = LatticeEngine(model, 3, phase=initial_phase(model, 3))
    return model, eng, ProtocolDriver(model, eng)


def test_butler_volmer_overpotential_is_the_symmetric_closed_form():
    """alpha = 1/2: i = 2 i0 sinh(f eta / 2), so eta = (2/f) asinh(i / (2 i0)) exactly."""
    for i in (-3.0, -1e-3, 0.0, 2e-4, 0.7):
        eta = butler_volmer_overpotential_V(i, 0.05, 0.5, F_RT)
        assert eta == pytest.approx(2 / F_RT * math.asinh(i / 0.1), abs=1e-12)


def test_galvanostatic_cell_voltage_is_the_difference_of_electrode_potentials():
    # hard oxidation: capacitive cycles between 0.5 and 1.2 V of cell voltage
    text = chem_text(protocol="galvanostatic", current=2e-5, k0=1e-6, cycles=3, duration=50.0)
    model, eng, drv = _driver(text + ELECTRODES)
    area = model.config.protocol.electrode_area_m2
    thickness = model.config.membrane.thickness_m
    r_ohm = thickness / (SIGMA * area)
    seen = set()
    while eng.time_s < 40.0 and not drv.done:
        drv.run_to(eng.time_s + 0.5, lambda ts: eng.run(ts, 10**12))
        st = eng.protocol_state
        sign = -1.0 if st[P_STAGE] == DISCHARGING else 1.0
        i_cell = sign * 2e-5
        # the Li anode: cathodic (plating, E_a < 0) while the cathode charges
        eta = 2 / F_RT * math.asinh(-i_cell / area / (2 * I0_ANODE))
        assert st[P_ANODE_V] == pytest.approx(eta, abs=1e-9)
        assert np.sign(st[P_ANODE_V]) == -sign
        assert st[P_POTENTIAL] == pytest.approx(
            st[P_CATHODE_V] - st[P_ANODE_V] + i_cell * r_ohm, abs=1e-12
        )
        assert 0.5 - 1e-9 <= st[P_POTENTIAL] <= 1.2 + 1e-9  # the window is the cell's
        rates = eng._react_rate
        if sign < 0:
            # the cathode carries cathodic current: it oxidizes nothing
            assert not rates[:, 0].any()
        seen.add(sign)
    assert seen == {1.0, -1.0}


def test_cv_step_solves_the_cathode_potential_and_the_current_together():
    """Backward-Euler step under potential control: E_c and the step's current I solve
    V = E_c - E_a(I) + I R (E_a the symmetric Butler-Volmer closed form) and the charge
    balance I dt lambda A_sim / A = the expected oxidation charge at E_c (each touching
    particle at the model's Butler-Volmer rate, n_e electrons); both to rounding. Over
    the steps around the vertex the measured charge (the oxidations that happened)
    matches the solved one within Poisson scatter."""
    text = chem_text(protocol="cv", scan=0.5, cycles=2, k0=50.0, duration=3.0)
    text = text.replace("cycles = 2", "cycles = 2\nelectrode_area_m2 = 1e-4")
    model, eng, drv = _driver(text + ELECTRODES)
    r_ohm = model.config.membrane.thickness_m / (SIGMA * 1e-4)

    st = eng.protocol_state
    scale = 1e-4 / (drv.area_sim_m2 * drv.lam)  # C/s of the simulated patch -> A of the cell
    checked, solved_q, measured_q, events = 0, 0.0, 0.0, 0
    t = 1.6
    while t < 2.4:  # around the 1 V vertex, where BT oxidizes
        drv.run_to(t, lambda ts: eng.run(ts, 10**12))
        t0, t1 = eng.time_s, eng.time_s + drv.step_s
        drv._apply(t0, t1)
        i_s = st[P_SOLVED_CURRENT]
        assert st[P_ANODE_V] == pytest.approx(
            2 / F_RT * math.asinh(-i_s / 1e-4 / (2 * I0_ANODE)), abs=1e-12
        )
        assert st[P_POTENTIAL] == pytest.approx(
            st[P_CATHODE_V] - st[P_ANODE_V] + i_s * r_ohm, abs=1e-9
        )
        rates = model.reaction_rates_at((st[P_CATHODE_V], st[P_ANODE_V]))[:, 0]
        expected = np.nansum(
            np.where(np.isnan(model.onset_potential_V[:, 0]), 0.0, eng.react_counts[:, 0] * rates)
        )
        expected_c = expected * drv.step_s * drv.n_e * ELEMENTARY_CHARGE_C
        assert i_s * drv.step_s / scale == pytest.approx(expected_c, rel=1e-9, abs=1e-30)
        if i_s > 0:
            assert st[P_CATHODE_V] < st[P_POTENTIAL]
            checked += 1
        before = drv.oxidation_electrons()[0]
        drv.run_to(t1, lambda ts: eng.run(ts, 10**12))
        events += int((drv.oxidation_electrons()[0] - before) // drv.n_e)
        solved_q += i_s
        measured_q += st[P_CELL_CURRENT]
        t = t1
    assert checked > 3
    # measured vs solved current summed over the steps: Poisson, 4 sigma of the events
    assert events > 20
    assert abs(measured_q - solved_q) <= 4 * math.sqrt(events) * solved_q / events


def test_cv_doping_holds_the_cathode_at_its_onset_until_the_film_is_charged():
    """The film's doping is a step of charge at its onset: at V above the onset the
    cathode sits at the onset, passing I = the root of V - E_onset = -E_a(I) + I R into
    the film each step, until it holds n_dope x (connected units); then E_c goes up to
    V less the drop. Below the onset the charge returns the same way."""
    text = chem_text(protocol="cv", scan=0.5, cycles=2, k0=1e-9, duration=3.0, doping=0.6,
                     doping_charge=0.25, rings=2)  # fmt: skip
    text = text.replace("cycles = 2", "cycles = 2\nelectrode_area_m2 = 1e-4")
    model, eng, drv = _driver(text + ELECTRODES)
    r_ohm = model.config.membrane.thickness_m / (SIGMA * 1e-4)

    st = eng.protocol_state
    units = 400
    eng.counters[L.C_CONNECTED_UNITS] = units  # a film of 400 connected units
    capacity = units * model.doping_electrons_per_unit
    dt = drv.step_s
    scale = 1e-4 / (drv.area_sim_m2 * dt * drv.lam)

    def pinned_current(v):
        lo, hi = -10.0, 10.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            drop = -2 / F_RT * math.asinh(-mid / 1e-4 / (2 * I0_ANODE)) + mid * r_ohm
            lo, hi = (mid, hi) if drop < v - 0.6 else (lo, mid)
        return 0.5 * (lo + hi)

    for v, sign in ((0.9, 1), (0.3, -1)):
        steps = 0
        while True:
            held = st[P_DOPING_HELD]
            drv._solve_cathode(v, 1.0, 1.0 + dt)
            passed = st[P_DOPING_HELD] - held
            if st[P_CATHODE_V] != 0.6:
                break
            i = pinned_current(v)
            assert st[P_SOLVED_CURRENT] == pytest.approx(i, rel=1e-9)
            assert passed == pytest.approx(i / scale / ELEMENTARY_CHARGE_C, abs=1.0)
            assert np.sign(passed) == sign
            steps += 1
            assert steps < 10_000
        assert steps >= 3  # the doping plateau spans several steps
        # the last of the charge passes in a step whose cathode is between onset and V
        assert st[P_DOPING_HELD] == (capacity if sign > 0 else 0)
        assert sign * (st[P_CATHODE_V] - 0.6) > 0 and sign * (v - st[P_CATHODE_V]) >= 0
        drv._solve_cathode(v, 1.0, 1.0 + dt)
        assert st[P_CATHODE_V] == pytest.approx(v, abs=1e-6)  # no current left: E_c = V


def test_flat_cathode_touches_the_membrane_in_patches():
    text = chem_text(membrane=False)
    text = text.replace('kind = "flat"', 'kind = "flat"\ninitial_contact_fraction = 0.3')
    model = Model.from_config(parse_config(text))
    phase = initial_phase(model, 5)
    nx, ny, _ = model.dims
    expect = round(0.3 * nx * ny) / (nx * ny)
    assert phases.contact_fraction(phase)[0] == pytest.approx(expect, abs=1e-12)
    assert (phase[1] == phases.VOID).sum() == nx * ny - round(0.3 * nx * ny)
    assert not (phase[2:] == phases.VOID).any()  # one gap layer only
    # the default flat cathode touches everywhere
    full = initial_phase(Model.from_config(parse_config(chem_text(membrane=False))), 5)
    assert not (full == phases.VOID).any()


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            ('kind = "blocking"', 'kind = "blocking"\nexchange_current_A_per_m2 = 1.0'),
            "exchange_current_A_per_m2 is set on a blocking electrode",
        ),
        (
            ('[electrodes.cathode]\nkind = "blocking"', '[electrodes.cathode]\nkind = "lithium"'),
            "electrodes.cathode.kind = 'lithium'",
        ),
        (
            (f'kind = "lithium"\nexchange_current_A_per_m2 = {I0_ANODE}', 'kind = "blocking"'),
            "electrodes.anode.kind = 'blocking'",
        ),
        (('kind = "blocking"', 'kind = "intercalation"'), "needs plateau_V"),
        (
            ('kind = "blocking"', 'kind = "intercalation"\nplateau_V = [0.8, 0.9]'),
            "on or above its plateau",
        ),
        (("rings_per_monomer = 1", "rings_per_monomer = 1\n"), None),
    ],
)
def test_bad_electrode_input_is_a_named_error(edit, message):
    text = chem_text() + ELECTRODES
    text = text.replace(*edit)
    if message is None:
        parse_config(text)  # the untouched config is valid
        return
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert message in str(err.value)


def test_an_oxidation_at_the_li_anode_is_refused_with_the_reason():
    text = chem_text() + (
        '[[species.reactions]]\nelectrode = "anode"\nrate_per_s = 1.0\n'
        'onset_potential_V = 1.0\nproduct = "BT_radical"\n'
    )
    # appended after the last [[species]] (the oligomer): an anode oxidation of it
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert "oxidation at the anode (Li metal" in str(err.value)
    assert "never runs" in str(err.value)


def test_doping_charge_outside_zero_to_one_per_ring_is_refused():
    text = chem_text(doping_charge=1.5)
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert "chemistry.doping_charge_per_ring" in str(err.value)
    assert "at most 1" in str(err.value)


def test_film_doping_plateau_passes_on_the_protocol_clock_when_the_lattice_is_frozen():
    """Galvanostatic cycles across the PT doping onset (0.8 V, inside the 0.5-1.2 V
    window): the film dopes and undopes every cycle. Frozen: that charge passes with the
    lattice still, so the protocol clock runs ahead of lambda x simulated time by exactly
    the frozen time; simulated through, it does not."""
    from kmc.simulation._protocol import P_FROZEN_S

    base = chem_text(
        nx=8, protocol="galvanostatic", current=5e-6, k0=0.1, duration=15.0, cycles=1,
        doping=0.8, doping_charge=0.25, rings=2,
    )  # fmt: skip
    for freeze in (False, True):
        text = base.replace("step_s = ", f"freeze_lattice_for_film_charge = {str(freeze).lower()}"
                            "\nstep_s = ")  # fmt: skip
        model, eng, drv = _driver(text)
        drv.run_to(15.0, lambda ts, eng=eng: eng.run(ts, 10**12))
        st = eng.protocol_state
        assert drv.done and eng.counters[L.C_PT_UNITS] > 0
        frozen = st[P_FROZEN_S]
        assert drv.protocol_time_s() == eng.time_s * drv.lam + frozen
        assert (frozen > 0) == freeze


def test_run_file_holds_each_electrodes_potential_and_currents(tmp_path):
    """The stored per-electrode series of a galvanostatic run: units; at every sample the
    cathode's faradaic + capacitive current is the cell current, the Li anode's faradaic
    current its opposite (charge balance, exact to rounding); the mean cell current over
    an interval never exceeds the set I / A and reaches it (1e-9) where the interval has
    one sign; the Li anode's potential is its Butler-Volmer overpotential at a current
    density in [-I/A, I/A] (ordering only: the sample is instantaneous, the current a mean)."""
    import h5py
    from helpers import kmc_cli

    # half-cycles of ~0.7 s (C_dl 0.2 F/m^2 x 0.7 V x 1e-4 m^2 at 2e-5 A): samples of 0.02 s
    text = chem_text(protocol="galvanostatic", current=2e-5, k0=1e-6, cycles=3, duration=30.0,
                     sample=0.02) + ELECTRODES  # fmt: skip
    cfg = tmp_path / "galv.toml"
    cfg.write_text(text)
    out = tmp_path / "galv.h5"
    res = kmc_cli("run", cfg, "-o", out, "--progress", "off")
    assert res.returncode == 0, res.stderr
    with h5py.File(out) as f:
        obs = f["observables"]
        far, cap = obs["faradaic_current/value"][1:], obs["capacitive_current/value"][1:]
        total = obs["current_density/value"][1:]
        pot = obs["electrode_potential/value"][1:]
        assert obs["electrode_potential/value"].attrs["unit"] == "V"
        assert obs["faradaic_current/value"].attrs["unit"] == "A/m^2"
        assert obs["capacitive_current/value"].attrs["unit"] == "A/m^2"
    i_set = 2e-5 / 1e-4
    np.testing.assert_allclose(far[:, 0] + cap[:, 0], total, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(far[:, 1], -total, rtol=1e-12, atol=1e-15)
    assert np.all(np.abs(total) <= i_set * (1 + 1e-9))
    assert np.abs(total).max() == pytest.approx(i_set, rel=1e-9)
    eta_max = butler_volmer_overpotential_V(i_set, I0_ANODE, 0.5, F_RT)
    assert np.all(np.abs(pot[:, 1]) <= eta_max + 1e-12)
