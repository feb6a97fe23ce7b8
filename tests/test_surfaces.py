"""Surface-specific oxidation: reactions on the bare electrode and on the doped PT film
connected to it, with their own rates and onsets (docs/MODEL.md, "Nucleation and
growth"). Outputs of configs without ``surface`` are pinned separately
(tests/test_serial_regression.py)."""

import math
import signal

import numpy as np
import pytest
from chem import chem_text, flat_cell_text, nucleated_phase
from helpers import assert_same_datasets, interrupt_run, kmc_cli

from kmc import phases
from kmc.analysis import cluster_sizes
from kmc.config import ConfigError, parse_config
from kmc.kernels import layout as L
from kmc.kernels._chemistry import contact_channel
from kmc.simulation import LatticeEngine, ProtocolDriver, SectorEngine
from kmc.simulation._model import FARADAY_C_PER_MOL, GAS_CONSTANT_J_PER_MOL_K, Model


def growth_text(n, reactions):
    """n x n x 12 sites of 25 nm, BT at 5 % (D = 1e-12 m^2/s) from a reservoir."""
    return flat_cell_text((n, n, 12), reactions, a=25e-9, d=1.0e-12, c=0.05, name="BT")


FILM_ONLY = """[[species.reactions]]
electrode = "cathode"
surface = "film"
rate_per_s = 2000.0"""

ANY = """[[species.reactions]]
electrode = "cathode"
rate_per_s = 2000.0"""


PARALLEL = "\n[parallel]\nsectors = [2, 2]\n"


def _nucleated(reactions, n=32, spacing=8, seed=4, t_end=0.02, sectors=False):
    """Engine with one doped PT nucleus on the cathode every ``spacing`` sites, run to
    ``t_end``; returns (engine, number of nuclei). ``sectors``: the sector engine, 2 x 2
    sectors."""
    text = growth_text(n, reactions) + (PARALLEL if sectors else "")
    model = Model.from_config(parse_config(text))
    grid = np.arange(spacing // 2, n, spacing)
    phase = nucleated_phase(model, [x + n * y for y in grid for x in grid])
    eng = (SectorEngine if sectors else LatticeEngine)(model, seed, phase=phase)
    eng.run(t_end, 10**12)
    return eng, grid.size**2


def _clusters(eng):
    pt = np.isin(eng.phase, phases.PT_PHASES)
    return cluster_sizes(pt, periodic_axes=(1, 2))


@pytest.mark.parametrize("sectors", [False, True], ids=["serial", "sectors"])
def test_growth_on_the_film_only_keeps_one_cluster_per_nucleus(sectors):
    """With oxidation on the film only, no PT ever forms on bare metal: every new site
    joins a nucleus (product 'deposit' next to the film), none floats, none starts a
    cluster of its own. The nuclei (8 sites apart) grow without meeting in 0.02 s, so
    the count of PT clusters stays exactly the 16 nuclei; on the sector engine too, whose
    cells keep the four reaction channels (nuclei on cell edges included)."""
    eng, n_nuclei = _nucleated(FILM_ONLY, sectors=sectors)
    assert eng.react_events.shape == (1, 4)
    bare, film = int(eng.react_events[0, 0]), int(eng.react_events[0, phases.FILM_CHANNEL])
    assert bare == 0 and film > 3 * n_nuclei  # growth, and all of it on the film
    sizes = _clusters(eng)
    assert sizes.size == n_nuclei and sizes.sum() == n_nuclei + film
    assert not (eng.phase == phases.PT_FLOATING).any()


def test_film_growth_on_sectors_matches_the_serial_engine_over_seeds():
    """Film-only growth from the 16 nuclei, seeds 1-8 on each engine: the mean number of
    film oxidations in 0.02 s agrees within 3 combined standard errors (measured: serial
    218.5 +- 7.7, sectors 211.8 +- 9.4, 0.6 SE apart). Seed-for-seed equality is not
    expected: the engines draw their events differently."""
    means, ses = [], []
    for sectors in (False, True):
        film = [_nucleated(FILM_ONLY, seed=s, sectors=sectors)[0].react_events[0, 2]
                for s in range(1, 9)]  # fmt: skip
        means.append(np.mean(film))
        ses.append(np.std(film, ddof=1) / np.sqrt(len(film)))
    assert min(means) > 100  # the film grew
    assert abs(means[0] - means[1]) <= 3 * math.hypot(*ses)


def test_oxidation_on_any_surface_nucleates_on_bare_metal():
    """The same cell with one rate on every surface (the model before surfaces were
    resolved): most oxidations happen on bare electrode and start clusters of their own."""
    eng, n_nuclei = _nucleated(ANY)
    assert eng.react_events.shape == (1, 2)
    assert _clusters(eng).size > 2 * n_nuclei


def test_a_particle_touching_bare_metal_and_film_reacts_as_on_the_film():
    """The rule for a site touching several active surfaces: cathode film, cathode,
    anode film, anode, first found (kernels._chemistry.contact_channel)."""
    bit = [1 << (L.FLAG_SHIFT + c) for c in range(4)]
    assert contact_channel(0) == -1
    assert contact_channel(bit[0]) == 0 and contact_channel(bit[1]) == 1
    assert contact_channel(bit[0] | bit[2]) == 2
    assert contact_channel(bit[0] | bit[1]) == 0
    assert contact_channel(bit[1] | bit[3]) == 3
    assert contact_channel(bit[3] | bit[0]) == 0
    # in an engine: a monomer on the layer above the cathode, next to a PT site
    text = flat_cell_text((8, 8, 12), FILM_ONLY, a=25e-9, d=1.0e-12, c=0.0, name="BT")
    model = Model.from_config(parse_config(text))
    eng = LatticeEngine(model, 1, phase=nucleated_phase(model, [4 + 8 * 4]))
    pid = eng.add_particle(0, 5, 4, 1)  # touches the cathode below and the PT at x = 4
    assert eng.react_chan[pid] == phases.FILM_CHANNEL
    eng.move_particle(pid, 1, 1, 1)  # bare cathode only
    assert eng.react_chan[pid] == 0
    eng.move_particle(pid, 4, 4, 2)  # on top of the PT site only
    assert eng.react_chan[pid] == phases.FILM_CHANNEL


def _split_chemistry(bare_k, bare_onset, film_k, film_onset, **kw):
    """The chemistry test cell with BT's cathode oxidation split into bare and film."""
    text = chem_text(**kw)
    one = (
        '[[species.reactions]]\nelectrode = "cathode"\nrate_per_s = 5.0\n'
        'onset_potential_V = 1.0\nproduct = "BT_radical"'
    )
    two = (
        f'[[species.reactions]]\nelectrode = "cathode"\nsurface = "electrode"\n'
        f"rate_per_s = {bare_k}\nonset_potential_V = {bare_onset}\n"
        f'product = "BT_radical"\n'
        f'[[species.reactions]]\nelectrode = "cathode"\nsurface = "film"\n'
        f"rate_per_s = {film_k}\nonset_potential_V = {film_onset}\n"
        f'product = "BT_radical"'
    )
    assert one in text
    return text.replace(one, two, 1)


def test_each_surface_follows_butler_volmer_at_its_own_onset():
    """k_surface(E) = k0 exp(alpha f (E - E_onset)) per surface, exactly (rel 1e-12):
    bare 0.5 /s from 1.2 V, film 50 /s from 0.8 V; the oligomer's 'any' reaction has
    one rate on both."""
    cfg = parse_config(_split_chemistry(0.5, 1.2, 50.0, 0.8))
    model = Model.from_config(cfg)
    assert model.n_reaction_channels == 4
    f = FARADAY_C_PER_MOL / (GAS_CONSTANT_J_PER_MOL_K * cfg.conditions.temperature_K)
    rates = model.reaction_rates_at((1.0, 0.0))
    bt, _, olig = model.chem_species
    assert rates[bt, 0] == pytest.approx(0.5 * math.exp(0.5 * f * -0.2), rel=1e-12)
    assert rates[bt, 2] == pytest.approx(50.0 * math.exp(0.5 * f * 0.2), rel=1e-12)
    assert rates[olig, 0] == rates[olig, 2] == pytest.approx(5.0 * math.exp(0.5 * f * 0.1))


@pytest.mark.parametrize("sectors", [False, True], ids=["serial", "sectors"])
@pytest.mark.parametrize(
    "protocol, current, duration", [("potentiostatic", 0.0, 2.0), ("galvanostatic", 2e-5, 4.0)]
)
def test_surface_resolved_run_keeps_units_and_charge_exact(protocol, current, duration, sectors):
    """The chemistry cell with split rates, under potential control and under a set
    current (whose scheduled oxidations pick among the bare and film channels by their
    rates, on the sector engine across its cells): every oxidation makes one radical,
    exactly (as in test_chemistry), and both surfaces react."""
    text = _split_chemistry(
        0.5, 1.0, 50.0, 1.0, duration=duration, protocol=protocol, current=current
    )
    cfg = parse_config(text + (PARALLEL if sectors else ""))
    model = Model.from_config(cfg)
    from kmc.simulation import initial_phase

    engine = SectorEngine if sectors else LatticeEngine
    eng = engine(model, 3, phase=initial_phase(model, 3))
    drv = ProtocolDriver(model, eng)
    drv.run_to(duration, lambda ts: eng.run(ts, 10**12))
    mono, rad, _ = model.chem_species
    c = eng.counters
    bv = ~np.isnan(model.onset_potential_V)
    oxidations = int(np.where(bv, eng.react_events, 0).sum())
    assert eng.react_events[mono, 0] > 0 and eng.react_events[mono, 2] > 0
    assert oxidations == (
        eng.counts[rad] + 2 * c[L.C_COUPLINGS] + c[L.C_DECAYS] + c[L.C_RADICAL_STICKS]
    )
    assert drv.oxidation_electrons()[0] == 1000 * oxidations
    # the contact flags kept up during the run (floods of connecting PT included) are
    # those recomputed from the phases: every film contact is flagged as film
    assert c[L.C_CONNECTED_UNITS] > 0  # floating PT did connect
    kept = eng.words & L.FLAG_MASK
    eng.refresh_contacts()
    assert np.array_equal(kept, eng.words & L.FLAG_MASK)


@pytest.mark.parametrize(
    "change, message",
    [
        ('surface = "film"\n[[species.reactions]]\nelectrode = "cathode"\nrate_per_s = 1.0',
         "a second reaction of this species on the cathode's film"),
        ('surface = "electrode"\n[[species.reactions]]\nelectrode = "cathode"\n'
         'surface = "electrode"\nrate_per_s = 1.0',
         "a second reaction of this species on the cathode's electrode"),
        ('surface = "metal"', "surface"),
    ],
)  # fmt: skip
def test_bad_surfaces_are_named_errors(change, message):
    text = growth_text(8, ANY).replace("rate_per_s = 2000.0", f"rate_per_s = 2000.0\n{change}")
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def test_a_film_that_can_never_form_is_a_named_error():
    text = growth_text(8, FILM_ONLY + '\nproduct = "consume"')
    with pytest.raises(ConfigError, match=r"surface = 'film', but nothing in this config makes PT"):
        parse_config(text)


def test_surface_resolved_sector_run_is_independent_of_threads():
    """The sector engine with four reaction channels: 1 and 2 threads give every state
    array equal, byte for byte (the galvanostatic schedule's draws included)."""
    text = _split_chemistry(0.5, 1.0, 50.0, 1.0, duration=2.0, protocol="galvanostatic",
                            current=2e-5)  # fmt: skip
    model = Model.from_config(parse_config(text + PARALLEL))
    from kmc.simulation import initial_phase

    runs = []
    for threads in (1, 2):
        eng = SectorEngine(model, 5, phase=initial_phase(model, 5))
        eng.threads = threads
        drv = ProtocolDriver(model, eng)
        drv.run_to(2.0, lambda ts, eng=eng: eng.run(ts, 10**12))
        runs.append(eng)
    a, b = runs
    assert a.react_events[:, 2].sum() > 0  # the film channel was used
    for name in SectorEngine.STATE_ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_surface_resolved_run_resumes_bit_identically(tmp_path):
    """SIGKILL after the first checkpoint, then --resume: the same file as a run that was
    never stopped (the four-channel state is all in the checkpoint)."""
    text = _split_chemistry(0.5, 1.0, 50.0, 1.0, duration=6.0, ckpt=0.5)
    cfg = tmp_path / "split.toml"
    cfg.write_text(text)
    whole, cut = tmp_path / "whole.h5", tmp_path / "cut.h5"
    assert kmc_cli("run", cfg, "-o", whole, "--progress", "off").returncode == 0
    code, _ = interrupt_run(cfg, cut, signal.SIGKILL, 1.0)
    assert code != 0
    res = kmc_cli("run", cfg, "-o", cut, "--resume", "--progress", "off")
    assert res.returncode == 0, res.stderr
    assert_same_datasets(whole, cut)


def _sticking_cell(on_metal, n_star=10**6, k0=5.0):
    """The chemistry test cell, no membrane, with sticking onto bare metal at ``on_metal``
    (1/s; None: the rate onto PT, 1600 /s); n* out of reach, so PT forms only by sticking."""
    text = chem_text(membrane=False, n_star=n_star, k0=k0, duration=2.0)
    if on_metal is not None:
        text = text.replace(
            "sticking_rate_per_s = 1600.0",
            f"sticking_rate_per_s = 1600.0\nsticking_rate_on_electrode_per_s = {on_metal}",
        )
    return parse_config(text)


def test_sticking_has_its_own_rate_on_bare_metal():
    """Chains stick onto PT at 1600 /s and onto bare metal at their own rate: the kernel
    attempts at the larger (the bound) and accepts each surface's share (thinning).
    With 0 on bare metal, no first deposit ever forms on a cell without PT, exactly; at
    the same rate as on PT the run is the one without the key (the acceptance is never
    drawn); at 1600 on metal and on PT it deposits."""
    from kmc.simulation import initial_phase

    def run(cfg, seed=3):
        model = Model.from_config(cfg)
        eng = LatticeEngine(model, seed, phase=initial_phase(model, seed))
        drv = ProtocolDriver(model, eng)
        drv.run_to(2.0, lambda ts: eng.run(ts, 10**12))
        return model, eng

    model, eng = run(_sticking_cell(0.0))
    assert list(model.chem_rate_per_s[1:]) == [1600.0, 0.0, 0.0, 1.0]
    assert eng.counters[L.C_PRECIPITATIONS] == 0 and eng.counters[L.C_PT_UNITS] == 0
    assert eng.counters[L.C_COUPLINGS] > 0  # chains formed, and stayed in solution
    _, same = run(_sticking_cell(1600.0))
    _, default = run(_sticking_cell(None))
    assert same.counters[L.C_PT_UNITS] > 0
    assert np.array_equal(same.counters, default.counters)
    assert np.array_equal(same.words, default.words)
    model, _ = run(_sticking_cell(6400.0))
    assert list(model.chem_rate_per_s[1:]) == [6400.0, 0.0, 1.0, 0.25]
