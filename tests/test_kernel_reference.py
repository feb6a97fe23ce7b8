"""The Numba event loop reproduces the slow pure-Python reference event for event."""

import numpy as np
import pytest
from reference import ReferenceEngine

from kmc.config import parse_config
from kmc.kernels import layout as L
from kmc.kernels import seed_state
from kmc.simulation import LatticeEngine, Model

TWO_SPECIES = """
[[species]]
name = "monomer"
diffusivity_m2_per_s = 1e-16
initial_occupancy = 0.25
reservoir_occupancy = 0.3
reactions = [{ electrode = "cathode", rate_per_s = 3.0, product = "radical" },
             { electrode = "anode", rate_per_s = 0.5, product = "consume" }]

[[species]]
name = "radical"
charge = 1
diffusivity_m2_per_s = 2e-16
initial_occupancy = 0.1
reactions = [{ electrode = "cathode", rate_per_s = 10.0 }]
"""

SCENARIOS = {
    "3d_cathode_reservoir": dict(shape="[5, 4, 9]", top="reservoir", field=3e6),
    "2d_cathode_anode": dict(shape="[12, 16]", top="anode", field=-5e6),
    "3d_anode_bottom": dict(shape="[5, 6, 10]", bottom="anode", top="cathode", field=1e6),
    "3d_periodic": dict(shape="[6, 5, 4]", bottom="periodic", top="periodic", field=2e6),
}


def _species_for(name):
    text = TWO_SPECIES
    if name == "3d_periodic":
        text = text.replace("reservoir_occupancy = 0.3", "")
        text = text.replace(
            """[{ electrode = "cathode", rate_per_s = 3.0, product = "radical" },
             { electrode = "anode", rate_per_s = 0.5, product = "consume" }]""",
            "[]",
        ).replace('reactions = [{ electrode = "cathode", rate_per_s = 10.0 }]', "")
    elif name != "3d_cathode_reservoir":
        text = text.replace("reservoir_occupancy = 0.3", "")
    else:
        text = text.replace('{ electrode = "anode", rate_per_s = 0.5, product = "consume" }', "")
        text = text.replace('product = "radical" },\n             ]', 'product = "radical" }]')
    return text


def _assert_same_run(eng, chunks):
    """Run the kernel and the reference side by side in ``chunks`` of events (several
    calls: stopping on an event count is seamless) and assert they agree exactly."""
    ref = ReferenceEngine(eng)
    for chunk in chunks:
        eng.run(np.inf, int(eng.counters[L.C_EVENTS]) + chunk)
        for _ in range(chunk):
            ref.step()
    # closed scenarios may run out of particles before n_events; both must stop together
    assert eng.counters[L.C_EVENTS] == ref.events > 1000
    assert eng.time_s == ref.t
    assert [int(v) for v in eng.rng] == [ref.key, ref.attempt]
    np.testing.assert_array_equal(eng.phase, ref.phase_array())
    np.testing.assert_array_equal(eng.occupant_species, ref.species_array())
    for s in range(eng.counts.size):
        ids = eng.particle_ids(s).tolist()
        assert ids == ref.members[s]
        assert [int(eng.plength[i]) for i in ids] == [ref.plength[i] for i in ids]
    # the incremental contact flags equal a fresh recomputation from the phases
    words_before = eng.words.copy()
    eng.refresh_contacts()
    np.testing.assert_array_equal(eng.words, words_before)
    return ref


@pytest.mark.parametrize("name", SCENARIOS)
def test_kernel_matches_reference(name, config_text):
    cfg = parse_config(config_text(species=_species_for(name), **SCENARIOS[name]))
    model = Model.from_config(cfg)
    eng = LatticeEngine(model, seed=11)
    _assert_same_run(eng, (1, 999, 3000))
    assert eng.counters[L.C_HOPS] > 100 and eng.counters[L.C_NULL] > 10


def test_reference_scenarios_exercise_every_event_kind(config_text):
    cfg = parse_config(config_text(species=_species_for("3d_cathode_reservoir"), shape="[5, 4, 9]"))
    eng = LatticeEngine(Model.from_config(cfg), seed=3)
    eng.run(np.inf, 4000)
    c = eng.counters
    assert c[L.C_REACTIONS] > 0 and c[L.C_INJECTIONS] > 0 and c[L.C_EXITS] > 0
    assert c[L.C_DEPOSITS] > 0 and eng.react_events[0, 0] > 0


def test_uniform_matches_pure_python_and_splitmix64():
    from numba import njit

    from kmc.kernels import reference_uniform, splitmix64, uniform

    @njit
    def draw(key, n):
        out = np.empty(n)
        for a in range(n):
            out[a] = uniform(key, np.uint64(a // 5), a % 5)
        return out

    key = seed_state(2024)[0]
    got = draw(key, 1000)
    assert got.tolist() == [reference_uniform(int(key), a // 5, a % 5) for a in range(1000)]
    # first output of SplitMix64 seeded with 0 (Vigna's reference implementation)
    assert int(splitmix64(np.uint64(0), np.uint64(0))) == 0xE220A8397B1DCDAF
    assert 0.49 < got.mean() < 0.51


def test_prefetch_does_not_change_the_trajectory(config_text):
    cfg = parse_config(config_text(species=_species_for("3d_cathode_reservoir"), shape="[6, 5, 9]"))
    runs = []
    for warm in (False, True):
        eng = LatticeEngine(Model.from_config(cfg), seed=5)
        eng.run(np.inf, 3000, warm_cache=warm)
        runs.append((eng.words.copy(), eng.time_s, eng.rng.copy()))
    assert np.array_equal(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]


@pytest.mark.parametrize("periodic_z", [False, True])
def test_contact_flags_match_a_neighbour_scan(periodic_z):
    """compute_contact_flags equals a pure-Python scan of the six neighbours' phases."""
    from kmc import phases
    from kmc.kernels import compute_contact_flags

    rng = np.random.default_rng(4)
    nx, ny, nz = 5, 4, 6
    codes = [phases.AMORPHOUS_PEO, phases.CATHODE, phases.ANODE, phases.DEPOSIT_CATHODE,
             phases.DEPOSIT_ANODE, phases.VOID]  # fmt: skip
    words = rng.choice(codes, nx * ny * nz, p=[0.6, 0.08, 0.08, 0.1, 0.1, 0.04]).astype(np.uint32)
    dirs = np.array([(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)])
    elec = phases.electrode_table()
    compute_contact_flags(
        words, nx, ny, nz, periodic_z, dirs[:, 0].copy(), dirs[:, 1].copy(), dirs[:, 2].copy(),
        elec,
    )  # fmt: skip
    for i in range(words.size):
        x, y, z = i % nx, (i // nx) % ny, i // (nx * ny)
        expected = 0
        for dx, dy, dz in dirs:
            zn = z + dz
            if not 0 <= zn < nz:
                if not periodic_z:
                    continue
                zn %= nz
            e = elec[int(words[(x + dx) % nx + nx * ((y + dy) % ny + ny * zn)]) & L.PHASE_MASK]
            if e >= 0:
                expected |= 1 << e
        assert (int(words[i]) >> L.FLAG_SHIFT) & 3 == expected, (x, y, z)


CHEM_SCENARIOS = {
    # potentiostatic chemistry with the membrane gate, gaps and the radical decay
    "chem_gate_particles": dict(
        cathode="particles", decay=150.0, sticking=20.0, nx=8, nz=20, layer=100e-9
    ),
    # doped PT everywhere, no membrane, strong sticking: connectivity floods
    "chem_closed_sticky": dict(membrane=False, sticking=5e3, nx=6, nz=12, k0=200.0),
    # galvanostatic: scheduled oxidations at the cathode
    "chem_scheduled": dict(nx=8, nz=16, k0=50.0),
    # sticking onto bare metal at a fifth of the rate onto PT (thinning of the bound)
    "chem_sticky_metal": dict(membrane=False, sticking=5e3, nx=6, nz=12, k0=200.0, on_metal=1e3),
}


@pytest.mark.parametrize("name", CHEM_SCENARIOS)
def test_chemistry_kernel_matches_reference(name):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from chem import chem_text

    from kmc.config import parse_config
    from kmc.simulation import initial_phase

    kw = dict(occupancy=0.2) | CHEM_SCENARIOS[name]
    on_metal = kw.pop("on_metal", None)
    text = chem_text(**kw)
    if on_metal is not None:
        line = f"sticking_rate_per_s = {kw['sticking']}"
        assert line in text
        text = text.replace(line, f"{line}\nsticking_rate_on_electrode_per_s = {on_metal}")
    cfg = parse_config(text)
    if on_metal is not None:
        assert Model.from_config(cfg).chem_rate_per_s[3] == on_metal / kw["sticking"]
    model = Model.from_config(cfg)
    eng = LatticeEngine(model, 11, phase=initial_phase(model, 11))
    eng.set_reaction_rates(model.reaction_rates_at(1.3))
    if model.gate_z >= 0:
        occ = np.zeros_like(eng.res_occ)
        occ[0] = [0.2, 0.1]
        eng.set_reservoir_occupancy(occ)
    if name == "chem_scheduled":
        eng.sched_e[0] = 0
        eng.sched[:] = [1e-4, 5e-4]
    ref = _assert_same_run(eng, (1, 999, 15000))
    assert eng.counters[L.C_PT_UNITS] == ref.pt_units > 0
    c = eng.counters
    assert c[L.C_COUPLINGS] > 0 and c[L.C_PRECIPITATIONS] > 0
    if name == "chem_gate_particles":
        assert c[L.C_EXITS] > 0 and c[L.C_INJECTIONS] > 0 and c[L.C_DECAYS] > 0
    if name == "chem_scheduled":
        assert c[L.C_FARADAIC] > 0
        assert eng.sched[0] == ref.sched[0]
