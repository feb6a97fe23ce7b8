"""Chemistry and protocols: exact bookkeeping of charge and monomer units, doping,
galvanostatic time stepping, connectivity of PT, gaps, reservoir, resume."""

import numpy as np
import pytest
from chem import chem_config, chem_text
from helpers import assert_same_datasets, interrupt_run, kmc_cli

from kmc import phases
from kmc.config import ConfigError, parse_config
from kmc.kernels import layout as L
from kmc.simulation import LatticeEngine, initial_phase
from kmc.simulation import _observables as observables
from kmc.simulation._model import ELEMENTARY_CHARGE_C, Model
from kmc.simulation._protocol import FARADAIC, P_CAP_CHARGE, P_DEBT_C, P_STAGE, ProtocolDriver


def _run(cfg, t_end, seed=3, phase=None):
    model = Model.from_config(cfg)
    eng = LatticeEngine(model, seed, phase=initial_phase(model, seed) if phase is None else phase)
    drv = ProtocolDriver(model, eng)
    drv.run_to(t_end, lambda ts: eng.run(ts, 10**12))
    return model, eng, drv


def _lattice_units(eng):
    return sum(
        int(eng.plength[eng.members[s, : eng.counts[s]]].sum()) for s in range(eng.counts.size)
    )


@pytest.mark.parametrize("decay", [0.0, 5.0])
def test_monomer_units_and_charge_are_conserved_exactly(decay):
    cfg = chem_config(decay=decay, duration=3.0)
    model = Model.from_config(cfg)
    eng = LatticeEngine(model, 3, phase=initial_phase(model, 3))
    drv = ProtocolDriver(model, eng)
    units0 = _lattice_units(eng)
    reservoir0 = drv.reservoir_units()
    drv.run_to(3.0, lambda ts: eng.run(ts, 10**12))
    c = eng.counters
    mono, rad, _ = model.chem_species
    injected = int(eng.inj_events[mono].sum())
    exited = int(eng.exit_events[mono].sum())
    assert c[L.C_PT_UNITS] > 10 and injected > 0 and exited > 0  # all paths exercised
    if decay:
        assert c[L.C_DECAYED_UNITS] > 0
    # integers: free + radical + oligomer units + PT + decayed = start + in - out, exactly
    total = _lattice_units(eng) + c[L.C_PT_UNITS] + c[L.C_DECAYED_UNITS]
    assert total == units0 + injected - exited
    # the continuum gave exactly what entered the lattice (rounding of the sums only)
    assert drv.reservoir_units() == pytest.approx(reservoir0 - injected + exited, rel=1e-12)
    # every oxidation made one radical; couplings use two, decay one: an independent count
    oxidations = int(np.where(np.isnan(model.onset_potential_V), 0, eng.react_events).sum())
    assert c[L.C_RADICAL_STICKS] > 0
    assert oxidations == (
        eng.counts[rad] + 2 * c[L.C_COUPLINGS] + c[L.C_DECAYS] + c[L.C_RADICAL_STICKS]
    )
    assert c[L.C_PROTONS] == 2 * c[L.C_COUPLINGS]
    assert drv.oxidation_electrons().sum() == 1000 * oxidations  # electrons_per_oxidation
    transfers = drv.electron_transfers()
    assert np.array_equal(
        transfers,
        drv.oxidation_electrons() + drv.film_coupling_electrons() + drv.doping_electrons(),
    )
    assert np.array_equal(drv.faradaic_charge_C(), transfers * ELEMENTARY_CHARGE_C)


def test_faradays_law_charge_per_unit_built_into_pt_is_exact():
    """Electropolymerization passes 2 electrons per monomer built into a chain (two radical
    cations per coupling, the film's chains in their long-chain limit) plus the doping
    charge, 0.25 per ring x 2 rings of BT = 0.5 per monomer: 2.5 e per unit of PT.

    Exact integer identity on the final state, per molecule of a unit (n_e = 1000): a
    chain of L units in the doped film cost 2 L; a soluble oligomer 2 (L - 1) (its
    couplings); a radical 2 (L - 1) + 1. No decay; precipitation only by sticking onto
    the cathode's doped film (n* out of reach, and the membrane gate keeps every chain in
    the cathode window), so no PT floats or sits on the anode."""
    cfg = chem_config(
        n_star=10**6, doping=0.0, potential=1.0, doping_charge=0.25, rings=2, duration=3.0
    )
    model, eng, drv = _run(cfg, 3.0)
    c = eng.counters
    _, rad, olig = model.chem_species
    u_pt = int(c[L.C_PT_UNITS])
    assert u_pt > 20 and c[L.C_CONNECTED_UNITS] == u_pt  # every PT unit is cathode film
    assert c[L.C_CONNECTED_UNITS + 1] == 0 and c[L.C_DECAYS] == 0

    def units_and_count(s):
        ids = eng.members[s, : eng.counts[s]]
        return int(eng.plength[ids].sum()), int(ids.size)

    u_o, n_o = units_and_count(olig)
    u_r, n_r = units_and_count(rad)
    per_molecule = 2 * u_pt + 2 * (u_o - n_o) + 2 * (u_r - n_r) + n_r
    expect = 1000 * per_molecule + 500 * u_pt  # doping: 0.25 x 2 x 1000 per PT unit
    assert drv.electron_transfers()[0] == expect
    assert drv.doping_electrons()[0] == 500 * u_pt


def test_undoped_pt_stops_growth_and_doped_pt_grows():
    # the cathode is covered by a PT layer at the start: only PT touches the electrolyte
    for doping, expect_growth in ((2.0, False), (0.0, True)):
        cfg = chem_config(membrane=False, doping=doping, potential=1.0, duration=2.0)
        model = Model.from_config(cfg)
        phase = initial_phase(model, 3)
        phase[1] = phases.DEPOSIT_CATHODE
        _, eng, _ = _run(cfg, 2.0, phase=phase)
        cathode_oxidations = int(eng.react_events[:, 0].sum())
        top = observables.deposit_height(eng.phase, model, 0).max()
        if expect_growth:
            assert cathode_oxidations > 20 and top >= 3
        else:
            # exact: undoped PT oxidizes nothing, so nothing forms at the cathode side
            assert cathode_oxidations == 0 and top == 1


def test_galvanostatic_time_advances_by_faradaic_charge():
    # easy oxidation (E_ox = 1.0 V inside the 0.5-1.2 V window): the faradaic stage holds
    cfg = chem_config(
        protocol="galvanostatic", current=5e-6, k0=50.0, duration=4.0, cycles=1,
        doping_charge=0.25, rings=2,
    )  # fmt: skip
    model, eng, drv = _run(cfg, 4.0)
    assert eng.protocol_state[P_STAGE] == FARADAIC
    n = int(eng.counters[L.C_FARADAIC])
    interval = 1000 * ELEMENTARY_CHARGE_C / drv.current_sim_A
    assert eng.sched[1] == pytest.approx(interval, rel=1e-12)
    assert n > 30  # the film's coupling and doping take their share of the current
    assert eng.sched[0] >= 4.0  # the next oxidation lies ahead
    # Faraday: the set current's charge up to the next scheduled oxidation is what the
    # cathode passed (double layer, oxidations, film coupling and doping), less the film
    # charge still owed, plus the one packet the schedule runs ahead (exact to rounding)
    st = eng.protocol_state
    passed = st[P_CAP_CHARGE] + drv.faradaic_charge_C()[0] - st[P_DEBT_C]
    assert drv.current_sim_A * eng.sched[0] == pytest.approx(
        passed + 1000 * ELEMENTARY_CHARGE_C, rel=1e-9
    )
    assert drv.film_coupling_electrons()[0] > 0 and drv.doping_electrons()[0] > 0
    # the potential is the one at which the oxidizable particles carry the current
    assert 0.5 < eng.protocol_state[0] < 1.2


def test_galvanostatic_cycles_between_the_window_limits():
    # hard oxidation (E_ox far above the window): capacitive cycles, counted to the end
    # three cycles of 1.4 s (below) in a 5 s run
    text = chem_text(protocol="galvanostatic", current=2e-5, k0=1e-6, cycles=3, duration=5.0)
    cfg = parse_config(text)
    model, eng, drv = _run(cfg, 5.0)
    assert drv.done and eng.protocol_state[2] == 3
    c_area = 0.2 * drv.electroactive_area_m2(0)
    cycle = 2 * c_area * 0.7 / drv.current_sim_A  # charge and discharge over 0.7 V
    assert cycle * 3 < 5.0


def test_pt_connectivity_is_exact_against_a_flood_fill():
    """The incremental labels equal a full connected-component labelling afterwards."""
    from scipy import ndimage

    cfg = chem_config(nx=16, nz=24, k0=200.0, duration=2.0, sticking=200.0)
    _, eng, _ = _run(cfg, 2.0)
    phase = eng.phase
    pt = np.isin(phase, phases.PT_PHASES)
    assert (phase == phases.PT_FLOATING).sum() > 0 and (phase == phases.DEPOSIT_CATHODE).sum() > 0
    assert eng.counters[L.C_SHORTS] == 0
    conductor = pt | np.isin(phase, (phases.CATHODE, phases.ANODE))
    # periodic in x and y: label a 3 x 3 tiling and keep the middle tile
    tiled = np.tile(conductor, (1, 3, 3))
    labels, _ = ndimage.label(tiled)
    ny, nx = phase.shape[1:]
    lab = labels[:, ny : 2 * ny, nx : 2 * nx]
    on_cathode = np.isin(lab, np.unique(lab[phase == phases.CATHODE]))
    on_anode = np.isin(lab, np.unique(lab[phase == phases.ANODE]))
    assert np.array_equal(phase == phases.DEPOSIT_CATHODE, pt & on_cathode)
    assert np.array_equal(phase == phases.DEPOSIT_ANODE, pt & on_anode)
    assert np.array_equal(phase == phases.PT_FLOATING, pt & ~on_cathode & ~on_anode)


def test_gaps_admit_monomer_and_fill_with_pt():
    cfg = chem_config(cathode="particles", nx=24, nz=32, k0=50.0, duration=3.0)
    model = Model.from_config(cfg)
    phase0 = initial_phase(model, 3)
    assert (phase0 == phases.VOID).sum() > 0
    before = phases.contact_fraction(phase0)[0]
    _, eng, _ = _run(cfg, 3.0)
    after = phases.contact_fraction(eng.phase)[0]
    assert np.isin(eng.phase[phase0 == phases.VOID], phases.PT_PHASES).sum() > 0
    assert after > before


def test_chemistry_config_errors_name_the_key():
    bad = chem_text().replace('oligomer = "oligomer"', 'oligomer = "nope"')
    with pytest.raises(ConfigError, match=r"chemistry.oligomer = 'nope' is not a species"):
        parse_config(bad)
    bad = chem_text().replace("\npotential_V = 1.0", "")
    with pytest.raises(ConfigError, match="potential_V"):
        parse_config(bad)
    bad = chem_text(protocol="galvanostatic").replace("lower_V = 0.5", "lower_V = 1.5")
    with pytest.raises(ConfigError, match="lower_V = 1.5 must be below upper_V"):
        parse_config(bad)
    bad = chem_text().replace("gate_z = 12", "gate_z = 30")
    with pytest.raises(ConfigError, match=r"membrane.gate_z = 30 must leave a window"):
        parse_config(bad)


def test_chemistry_run_resumes_bit_identically(tmp_path):
    """A protocol run killed part-way and resumed equals the uninterrupted run."""
    import signal

    cfg = tmp_path / "chem.toml"
    cfg.write_text(
        chem_text(
            protocol="galvanostatic",
            current=2e-5,
            k0=20.0,
            nx=24,
            nz=32,
            duration=6.0,
            sample=0.25,
            ckpt=0.1,
            cycles=50,
            doping=1.0,
            doping_charge=0.25,
            rings=2,
        ).replace("step_s = ", "freeze_lattice_for_film_charge = true\nstep_s = ")
    )  # fmt: skip
    ref = tmp_path / "ref.h5"
    res = kmc_cli("run", cfg, "-o", ref, "--progress", "off")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "killed.h5"
    interrupt_run(cfg, out, signal.SIGKILL, 0.8)
    assert not out.exists(), "the run finished before it was killed; lengthen it"
    # a checkpoint of another engine-state layout (an earlier version) is refused by name
    import shutil

    import h5py

    old = tmp_path / "old.h5"
    shutil.copytree(str(out) + ".partial", str(old) + ".partial")
    with h5py.File(str(old) + ".partial/checkpoint.h5", "r+") as f:
        counters = f["counters"][()]
        del f["counters"]
        f["counters"] = counters[:16]
    res = kmc_cli("run", cfg, "-o", old, "--resume", "--progress", "off")
    assert res.returncode != 0 and "earlier kmc version" in res.stderr, res.stderr
    res = kmc_cli("run", cfg, "-o", out, "--resume", "--progress", "off")
    assert res.returncode == 0, res.stderr
    assert_same_datasets(ref, out)


def test_four_point_probes_straddle_the_membrane_gate():
    """With two windows joined by a continuum, the probes measure the bulk (the gate
    plane and its neighbours: amorphous PEO), not the PT-rich window at the cathode: the
    membrane conductivity is the amorphous one to the solver's tolerance (1e-4)."""
    from kmc.transport import analyze_morphology
    from kmc.transport._params import load_transport_parameters

    params = load_transport_parameters()
    phase = np.full((24, 8, 8), phases.AMORPHOUS_PEO, dtype=np.uint8)
    phase[0], phase[-1] = phases.CATHODE, phases.ANODE
    phase[12] = phases.MEMBRANE_GATE
    phase[1:8, :, ::2] = phases.DEPOSIT_CATHODE  # PT fingers in the cathode window
    res = analyze_morphology(phase, 25e-9, params)
    assert res.probe_planes == (11, 13)
    sigma = params.conductivity_S_per_m[phases.AMORPHOUS_PEO]
    assert res.effective_conductivity_S_per_m == pytest.approx(sigma, rel=1e-4)


CRYSTALLINITY = """
[crystallinity]
melting_temperature_K = 333.15
melting_range_K = 10.0
max_fraction = 0.4
domain_diameter_m = 100e-9
"""


def test_crystalline_domains_follow_the_stage_temperature_and_block_monomer():
    """X(T) = 0.4 clip((Tm - T)/10 K, 0, 1): 0.4 at 40 degC (to within one domain's
    volume, +0.05), none at 60 degC; no particle ever sits on crystalline PEO."""
    for temperature, expected in ((313.15, 0.4), (333.15, 0.0)):
        cfg = chem_config(nx=24, nz=32, temperature=temperature, extra=CRYSTALLINITY)
        model = Model.from_config(cfg)
        no_crystals = initial_phase(Model.from_config(chem_config(nx=24, nz=32)), 3)
        phase = initial_phase(model, 3)
        peo = no_crystals == phases.AMORPHOUS_PEO
        fraction = float((phase[peo] == phases.CRYSTALLINE_PEO).mean())
        assert expected <= fraction <= expected + 0.05, (temperature, fraction)
        if expected:
            _, eng, _ = _run(cfg, 1.0)
            assert not (eng.occupant_species[eng.phase == phases.CRYSTALLINE_PEO]).any()


def test_undoped_anode_pt_is_no_electrode_in_the_estimator():
    """Comb of PT fingers on the anode (every other x column, 7 sites high, 8x8 face).
    Doped, its faces to PEO count as electroactive: 32 open anode faces + 448 finger
    sides + 32 tops = 512 -> 8.0 x the geometric area. Undoped (the packaged file's
    pt_doped = [true, false]: the Li anode sits at 0 V, p-doping needs ~3 V), the PT
    conducts as pt_floating and only the 32 open anode faces are left: 0.5."""
    import dataclasses

    from kmc.transport import analyze_morphology
    from kmc.transport._params import load_transport_parameters

    params = load_transport_parameters()
    assert params.pt_doped == (True, False)
    phase = np.full((24, 8, 8), phases.AMORPHOUS_PEO, dtype=np.uint8)
    phase[0], phase[-1] = phases.CATHODE, phases.ANODE
    phase[-8:-1, :, ::2] = phases.DEPOSIT_ANODE
    undoped = analyze_morphology(phase, 25e-9, params)
    doped = analyze_morphology(phase, 25e-9, dataclasses.replace(params, pt_doped=(True, True)))
    assert doped.electroactive_area_ratio[1] == 8.0
    assert undoped.electroactive_area_ratio[1] == 0.5
    # doped fingers also carry current electronically, shortening the ionic path
    assert undoped.total_resistance_ohm > doped.total_resistance_ohm
