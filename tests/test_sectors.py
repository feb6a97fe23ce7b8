"""The sector-parallel engine: thread-count independence, resume, exact bookkeeping,
list invariants, physics through it, and the layouts it refuses."""

import signal

import numpy as np
import pytest
from chem import chem_config, chem_text
from conftest import make_config_text
from helpers import assert_same_datasets, interrupt_run, kmc_cli
from physics._systems import displacement, walkers

from kmc import phases
from kmc.config import ConfigError, parse_config
from kmc.kernels import layout as L
from kmc.simulation import LatticeEngine, SectorEngine, initial_phase, resolve_threads
from kmc.simulation import _observables as observables
from kmc.simulation._model import ELEMENTARY_CHARGE_C, Model
from kmc.simulation._protocol import P_CAP_CHARGE, P_DEBT_C, ProtocolDriver

PARALLEL = "\n[parallel]\nsectors = [{sx}, {sy}]\nsubstep_hops = {hops}\n"


def _sector_chem(sx=2, sy=2, hops=1.0, **kw):
    return parse_config(chem_text(**kw) + PARALLEL.format(sx=sx, sy=sy, hops=hops))


def _driven(cfg, t_end, seed=3, threads=1, chunk=None):
    model = Model.from_config(cfg)
    eng = SectorEngine(model, seed, phase=initial_phase(model, seed))
    eng.threads = threads
    drv = ProtocolDriver(model, eng)

    def run_chunk(t_stop):
        if chunk is None:
            return eng.run(t_stop, 10**12)
        return eng.run(t_stop, int(eng.counters[L.C_EVENTS]) + chunk)

    drv.run_to(t_end, run_chunk)
    return model, eng, drv


def _check_lists(eng):
    """Every particle on the lattice sits on exactly one cell list, the one of its
    column; every id is on the lattice, a cell's free stack or the run's, once."""
    occ = (eng.words >> L.PID_SHIFT).astype(np.int64)
    on_lattice = set((occ[occ > 0] - 1).tolist())
    listed = {}
    for c in range(eng.cell_counts.shape[0]):
        for s in range(eng.cell_counts.shape[1]):
            for pid in eng.cell_members[c, s, : eng.cell_counts[c, s]].tolist():
                assert pid not in listed
                listed[pid] = c
                assert eng.pspecies[pid] == s
                cx, cy = eng.px[pid] // eng.cw, eng.py[pid] // eng.ch
                assert cx + 2 * eng.sx * cy == c
    assert set(listed) == on_lattice
    free = eng.free_pids[: eng.ints[0]].tolist()
    for c in range(eng.cell_ints.shape[0]):
        free += eng.cell_free[c, : eng.cell_ints[c, 0]].tolist()
    assert len(free) == len(set(free)) and not set(free) & on_lattice
    assert len(free) + len(on_lattice) == eng.px.size
    # the whole-lattice lists (for the driver) hold the same particles
    assert sum(int(n) for n in eng.counts) == len(on_lattice)


def _units(eng):
    return sum(
        int(eng.plength[eng.members[s, : eng.counts[s]]].sum()) for s in range(eng.counts.size)
    )


@pytest.mark.parametrize("protocol", ["potentiostatic", "galvanostatic"])
def test_units_and_charge_conserved_exactly_with_sectors(protocol):
    """The integer balance of tests/test_chemistry.py through the sector engine: free,
    radical and oligomer units + PT + decayed = start + injected - exited, exactly; every
    oxidation made one radical. Galvanostatic: the scheduled oxidations run in the merge,
    one per scheduled time, over the whole electrode."""
    # 2 s of potentiostatic growth already forms ~600 PT units; galvanostatic needs 4 s
    duration = {"potentiostatic": 2.0, "galvanostatic": 4.0}[protocol]
    cfg = _sector_chem(
        decay=50.0, duration=duration, protocol=protocol, current=5e-6, k0=50.0, cycles=1,
        doping_charge=0.25, rings=2,
    )  # fmt: skip
    model = Model.from_config(cfg)
    eng = SectorEngine(model, 3, phase=initial_phase(model, 3))
    eng.threads = 2
    drv = ProtocolDriver(model, eng)
    units0 = _units(eng)
    # the lists are checked after every protocol step: a stale entry (a radical of an
    # idle cell coupled with, its id reused before the merge) once hid in the middle
    drv.run_to(duration, lambda ts: eng.run(ts, 10**12), lambda: _check_lists(eng))
    _check_lists(eng)
    c = eng.counters
    mono, rad, _ = model.chem_species
    injected, exited = int(eng.inj_events[mono].sum()), int(eng.exit_events[mono].sum())
    assert c[L.C_PT_UNITS] > 10 and injected > 0 and exited > 0 and c[L.C_DECAYS] > 0
    total = _units(eng) + c[L.C_PT_UNITS] + c[L.C_DECAYED_UNITS]
    assert total == units0 + injected - exited
    oxidations = int(np.where(np.isnan(model.onset_potential_V), 0, eng.react_events).sum())
    assert oxidations == (
        eng.counts[rad] + 2 * c[L.C_COUPLINGS] + c[L.C_DECAYS] + c[L.C_RADICAL_STICKS]
    )
    if protocol == "galvanostatic":
        # Faraday as in test_chemistry.py: the set current's charge up to the next
        # scheduled oxidation is what the cathode passed, less the film charge owed,
        # plus the one packet the schedule runs ahead
        assert c[L.C_FARADAIC] > 20
        st = eng.protocol_state
        passed = st[P_CAP_CHARGE] + drv.faradaic_charge_C()[0] - st[P_DEBT_C]
        assert drv.current_sim_A * eng.sched[0] == pytest.approx(
            passed + 1000 * ELEMENTARY_CHARGE_C, rel=1e-9
        )


def test_result_independent_of_threads_and_of_how_the_run_is_cut():
    """Same config and seed: 1 thread in one call per protocol step, 2 threads stopped
    every ~5000 events: every state array equal, byte for byte."""
    cfg = _sector_chem(protocol="galvanostatic", current=2e-6, cycles=50, duration=1.0)
    _, a, _ = _driven(cfg, 1.0, threads=1)
    _, b, _ = _driven(cfg, 1.0, threads=2, chunk=5000)
    assert a.counters[L.C_EVENTS] > 10**5
    for name in SectorEngine.STATE_ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_cli_threads_and_sigkill_resume_with_other_thread_count_are_bit_identical(tmp_path):
    """kmc run --threads 1 and --threads 2 write the same file; a run killed (SIGKILL)
    on 2 threads and resumed on 1 finishes with the same file too."""
    text = chem_text(duration=3.0, sample=0.1, ckpt=0.5) + PARALLEL.format(sx=2, sy=2, hops=1.0)
    cfg = tmp_path / "sec.toml"
    cfg.write_text(text)
    one, two, killed = tmp_path / "one.h5", tmp_path / "two.h5", tmp_path / "killed.h5"
    for out, n in ((one, 1), (two, 2)):
        r = kmc_cli("run", str(cfg), "-o", str(out), "--threads", str(n), "--progress", "off")
        assert r.returncode == 0, r.stderr
        assert f"on {n} thread(s)" in r.stderr
    assert_same_datasets(one, two)
    status, _ = interrupt_run(cfg, killed, signal.SIGKILL, 1.0)
    assert status == -signal.SIGKILL
    r = kmc_cli("run", str(cfg), "-o", str(killed), "--resume", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert_same_datasets(one, killed)


def _track_by_id(eng, window, n_windows):
    """Displacements [window, walker, xyz] of every walker (matched by id: the sector
    engine's lists keep them in another order) over consecutive windows."""
    box = np.array([eng.nx, eng.ny, eng.nz])
    pos, steps = eng.positions(0)[np.argsort(eng.particle_ids(0))], []
    for k in range(1, n_windows + 1):
        eng.run(window * k, 2**62)
        new = eng.positions(0)[np.argsort(eng.particle_ids(0))]
        steps.append(displacement(pos, new, box))
        pos = new
    return np.stack(steps)


def test_free_walk_msd_with_sectors():
    """MSD = 6 t (sites^2, Gamma = 1/s) within +-2 %, as the serial test, on 2 x 2
    sectors of 32-column cells at substep_hops = 1. The sub-step's bias (a walker that
    crosses into a cell that already had its turn idles for the rest of the cycle) was
    measured at -0.6 % here (-1.3 % with 16-column cells, -3.5 % at substep_hops = 4;
    docs/ENGINE.md); 8e4 samples give a standard error of 0.3 %."""
    d = _track_by_id(walkers((128, 128, 128), 20_000, seed=3, sectors=(2, 2)), 10.0, 4)
    assert (d**2).sum(axis=2).mean() == pytest.approx(60.0, rel=0.02)
    assert (d**2).mean(axis=(0, 1)) == pytest.approx([20.0] * 3, rel=0.03)


def test_biased_walk_drift_and_dispersion_with_sectors():
    """v = 2 Gamma a sinh(u/2), D_par = Gamma a^2 cosh(u/2) and D_perp = Gamma a^2 within
    +-1 % at u = 0.1, as the serial test (tests/physics/test_random_walks.py: 2D, 2e4
    walkers on 4096^2, 100 windows of 10 s), on 32 x 1 sectors of 64-column cells: the
    field drives along z, inside the cells; the hops across cell edges are along x, where
    the sub-step's bias (-0.6 % of the MSD at 32-column cells, docs/ENGINE.md) is about
    half as large here."""
    d = _track_by_id(walkers((4096, 4096), 20_000, u=0.1, seed=5, sectors=(32, 1)), 10.0, 100)
    dz = d[:, :, 2]
    assert dz.sum(axis=0).mean() / 1000.0 == pytest.approx(2 * np.sinh(0.05), rel=0.01)
    assert dz.var() / 20.0 == pytest.approx(np.cosh(0.05), rel=0.01)
    assert d[:, :, 0].var() / 20.0 == pytest.approx(1.0, rel=0.01)


# the sweep test's cell (conftest's monomer at a reservoir) on 2 x 2 sectors
SMALL_RESERVOIR_CELL = make_config_text(shape="[8, 8, 16]", duration=20.0, sample=1.0) + (
    "[parallel]\nsectors = [2, 2]\n"
)


def test_a_small_lattice_has_ids_for_the_cells_stacks():
    """1024 sites in 16 cells, a reservoir injecting: a cell that creates a particle
    takes 64 free ids at a time into its own stack, so the run needs ids beyond one per
    site (capacity was capped at the site count: 'particle capacity 1024 cannot grow
    further', found by a sweep of this config)."""
    eng = SectorEngine(Model.from_config(parse_config(SMALL_RESERVOIR_CELL)), seed=5)
    eng.run(20.0, 2**62)
    assert eng.px.size > eng.words.size
    ids = eng.particle_ids(0)
    assert len(ids) == len(set(ids.tolist())) > 0


def test_robin_sink_flux_with_sectors_on_a_2d_lattice():
    """J / J_lim = Da / (1 + Da) at Da = 1 within +-2 % (tests/physics/test_reactive_wall
    .py) on a 2D lattice split into 8 sectors along x (16-column cells): the sector
    boundaries are normal to the flux. >= 3e4 reactions (Poisson error 0.6 %)."""
    m, c0, nx, da = 10, 0.5, 256, 1.0
    extra = f"""reservoir_occupancy = {c0}
reactions = [{{ electrode = "cathode", rate_per_s = {da / m!r}, product = "consume" }}]"""
    eng = walkers(
        (nx, m + 1), int(c0 * nx * m), bottom="cathode", top="reservoir", extra=extra,
        sectors=(8, 1),
    )  # fmt: skip
    eng.run(200.0, 2**62)
    r0 = int(eng.react_events[0, 0])
    eng.run(5200.0, 2**62)
    n_react = int(eng.react_events[0, 0]) - r0
    assert n_react > 30_000
    assert n_react / (nx * 5000.0) / (c0 / m) == pytest.approx(da / (1 + da), rel=0.02)


@pytest.mark.parametrize(
    "shape, sectors, message",
    [
        ([24, 24, 20], [5, 2], "do not divide the 24 columns along x"),
        ([24, 24, 20], [2, 12], "too narrow"),
        ([24, 20], [2, 2], "has no y to split"),
        ([24, 24, 20], [0, 2], "parallel.sectors"),
    ],
)
def test_layouts_the_engine_cannot_run_are_named_errors(shape, sectors, message):
    text = chem_text().replace("shape = [16, 16, 24]", f"shape = {shape}")
    if len(shape) == 2:
        text = text.replace('kind = "flat"', 'kind = "flat"')
    with pytest.raises(ConfigError, match=message):
        parse_config(text + f"\n[parallel]\nsectors = {sectors}\n")


def test_thread_counts_the_engine_cannot_use_are_named_errors():
    import numba

    model = Model.from_config(_sector_chem(sx=2, sy=2))
    assert resolve_threads(model, 1) == 1
    if numba.config.NUMBA_NUM_THREADS < 4:
        with pytest.raises(ValueError, match="exceeds NUMBA_NUM_THREADS"):
            resolve_threads(model, 4)
    with pytest.raises(ValueError, match="exceeds the 4 sectors"):
        resolve_threads(model, 5)
    with pytest.raises(ValueError, match="at least 1"):
        resolve_threads(model, 0)
    assert resolve_threads(Model.from_config(chem_config()), None) == 1  # serial


def _deposit_metrics(sectors, hops, seed):
    """PT amount and film of the small chemistry cell after 1.5 s at 1.0 V, one seed."""
    text = chem_text(nx=16, duration=1.5, k0=50.0)
    if sectors is not None:
        text += PARALLEL.format(sx=sectors[0], sy=sectors[1], hops=hops)
    cfg = parse_config(text)
    model = Model.from_config(cfg)
    cls = SectorEngine if sectors is not None else LatticeEngine
    eng = cls(model, seed, phase=initial_phase(model, seed))
    drv = ProtocolDriver(model, eng)
    drv.run_to(1.5, lambda ts: eng.run(ts, 10**12))
    fm = observables.film_metrics(eng.phase, model)
    return {
        "pt_units": float(eng.counters[L.C_PT_UNITS]),
        "cathode_pt_sites": float(fm["deposit_sites"][0]),
        "coverage": float(fm["coverage"][0]),
        "thickness": float(fm["film_thickness_mean"][0]),
    }


SUBSTEP_SEEDS = (1, 2, 3, 4)


def test_morphology_converges_when_the_substep_is_halved():
    """The sector engine's one approximation is the sub-step. The small chemistry cell
    (16 x 16 columns, 2 x 2 sectors of 4-column cells, 1.5 s at 1.0 V, k0 = 50/s) at
    substep_hops = 1 and 0.5, and the serial engine, four seeds each:
    the seed means of PT units, cathode PT sites, coverage and film thickness agree
    within 3 standard errors of their difference (statistical equality; the replicas
    spread by 1-3 % here). The larger study behind the shipped default (docs/ENGINE.md)
    found every difference below one replica standard deviation."""
    layouts = (((2, 2), 1.0), ((2, 2), 0.5), (None, 0.0))
    # in this process, one after the other: a spawned worker would compile the sector
    # kernels again (minutes on a CI core) for runs of about a second each
    runs = [_deposit_metrics(s, h, seed) for s, h in layouts for seed in SUBSTEP_SEEDS]
    n = len(SUBSTEP_SEEDS)
    coarse, fine, serial = (
        {k: np.array([r[k] for r in runs[i * n : (i + 1) * n]]) for k in runs[0]} for i in range(3)
    )
    assert fine["pt_units"].mean() > 200
    for key in fine:
        for a, b in ((coarse, fine), (fine, serial)):
            se = np.sqrt((a[key].var(ddof=1) + b[key].var(ddof=1)) / n)
            assert abs(a[key].mean() - b[key].mean()) <= 3 * se + 1e-12, (key, a[key], b[key])


def _bar_and_pillar(model, seed):
    """The initial cell with floating PT placed by hand: a bar at z = 2 from x = 2 to 13
    (across the 2 x 2 layout's sector edge at x = 8), one gap above the cathode, and a
    pillar from it at x = 12 up to one gap below the anode."""
    ph = initial_phase(model, seed)
    ph[2, 4, 2:14] = phases.PT_FLOATING
    ph[2:-2, 4, 12] = phases.PT_FLOATING
    return ph


def _conductor_components(phase):
    """Labels (periodic in x and y) of PT and electrodes, and the label sets that hold
    the cathode and the anode."""
    from kmc.transport import label_periodic

    conductor = np.isin(phase, (*phases.PT_PHASES, phases.CATHODE, phases.ANODE))
    lab, _ = label_periodic(conductor)
    return (
        lab,
        set(np.unique(lab[phase == phases.CATHODE])),
        set(np.unique(lab[phase == phases.ANODE])),
    )


@pytest.mark.parametrize("engine", [LatticeEngine, SectorEngine])
def test_floating_pt_across_sectors_connects_and_shorts_are_counted(engine):
    """Connectivity across sector edges and short circuits, against a flood fill of the
    end state, seeds 1-6 (2 s of growth in a 10-site-high cell with a hand-placed
    floating bar across a sector edge and a pillar one gap below the anode): floating PT
    is exactly the PT joined to no electrode; PT joined to one electrode carries that
    electrode's deposit phase; the short-circuit counter is nonzero exactly when one
    conductor holds both electrodes. The bar ends joined to the cathode in every seed, and
    some seeds short (2 of 6 serial, 3 of 6 with sectors, measured) while others do not. The
    serial engine floods at once; the sector engine defers the flood to the merge, where
    the bar's two halves lie in different sectors."""
    extra = "" if engine is LatticeEngine else PARALLEL.format(sx=2, sy=2, hops=1.0)
    text = chem_text(nx=16, nz=10, k0=200.0, duration=2.0, sticking=200.0, membrane=False,
                     occupancy=0.1)  # fmt: skip
    model = Model.from_config(parse_config(text + extra))
    shorted = []
    for seed in range(1, 7):
        eng = engine(model, seed, phase=_bar_and_pillar(model, seed))
        ProtocolDriver(model, eng).run_to(2.0, lambda ts, e=eng: e.run(ts, 10**12))
        phase = eng.phase
        lab, on_cathode, on_anode = _conductor_components(phase)
        c = np.isin(lab, list(on_cathode))
        a = np.isin(lab, list(on_anode))
        pt = np.isin(phase, phases.PT_PHASES)
        assert np.array_equal(phase == phases.PT_FLOATING, pt & ~c & ~a), seed
        assert np.all(phase[pt & c & ~a] == phases.DEPOSIT_CATHODE), seed
        assert np.all(phase[pt & a & ~c] == phases.DEPOSIT_ANODE), seed
        joined = bool(on_cathode & on_anode)
        assert (eng.counters[L.C_SHORTS] > 0) == joined, seed
        assert np.all(phase[2, 4, 2:14] == phases.DEPOSIT_CATHODE), seed
        shorted.append(joined)
    assert any(shorted) and not all(shorted), shorted


@pytest.mark.parametrize("seed", [1, 2])
def test_a_film_joined_across_sectors_flags_its_contacts_as_film(seed):
    """Surfaces resolved (bare and film rates of BT split): the bar of floating PT across
    the sector edge joins the cathode in the merge's flood, and every site next to it is
    flagged as touching the cathode's film (channel 2), not its bare metal: the contact
    flags the run kept equal those recomputed from the phases, site for site."""
    text = chem_text(nx=16, nz=10, k0=200.0, duration=1.0, sticking=200.0, membrane=False,
                     occupancy=0.1)  # fmt: skip
    tail = 'rate_per_s = 200.0\nonset_potential_V = 1.0\nproduct = "BT_radical"\n'
    one = '[[species.reactions]]\nelectrode = "cathode"\n' + tail
    assert one in text
    two = one.replace('electrode = "cathode"\n', 'electrode = "cathode"\nsurface = "film"\n')
    two += one.replace("200.0", "20.0").replace(
        'electrode = "cathode"\n', 'electrode = "cathode"\nsurface = "electrode"\n'
    )
    text = text.replace(one, two, 1)
    model = Model.from_config(parse_config(text + PARALLEL.format(sx=2, sy=2, hops=1.0)))
    assert model.resolves_surfaces
    eng = SectorEngine(model, seed, phase=_bar_and_pillar(model, seed))
    ProtocolDriver(model, eng).run_to(1.0, lambda ts: eng.run(ts, 10**12))
    assert np.all(eng.phase[2, 4, 2:14] == phases.DEPOSIT_CATHODE)
    kept = eng.words & L.FLAG_MASK
    eng.refresh_contacts()
    assert np.array_equal(kept, eng.words & L.FLAG_MASK)
