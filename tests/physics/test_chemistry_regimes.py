"""Slow physics checks of the chemistry: time-compression convergence, the Damkoehler
regimes of PT growth, and the paper configs' qualitative outcomes."""

import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from kmc import phases
from kmc.config import parse_config
from kmc.kernels import layout as L
from kmc.simulation import LatticeEngine, Model, ProtocolDriver, initial_phase
from kmc.simulation import _observables as observables

sys.path.insert(0, str(Path(__file__).parents[1]))
from chem import chem_config  # noqa: E402

CONFIGS = Path(__file__).parents[2] / "configs"


def _override(text: str, **values) -> str:
    """Replace ``key = value`` lines (first occurrence of each key) in TOML text."""
    for key, value in values.items():
        text, n = re.subn(rf"(?m)^{key} = [^\n#]*", f"{key} = {value}", text, count=1)
        assert n == 1, key
    return text


def _run(cfg, seed):
    model = Model.from_config(cfg)
    eng = LatticeEngine(model, seed, phase=initial_phase(model, seed))
    drv = ProtocolDriver(model, eng)
    t = 0.0
    while not drv.done and t < cfg.run.duration_s:
        t = min(t + 1.0, cfg.run.duration_s)
        drv.run_to(t, lambda ts: eng.run(ts, 10**12))
    return model, eng, drv


def _morphology(model, eng):
    fm = observables.film_metrics(eng.phase, model)
    return {
        "pt_units": float(eng.counters[L.C_PT_UNITS]),
        "cathode_pt_sites": float(fm["deposit_sites"][0]),
        "coverage": float(fm["coverage"][0]),
    }


def surface_to_volume(phase: np.ndarray, codes=phases.PT_PHASES) -> float:
    """Faces of the ``codes`` phases meeting electrolyte or gap, per site (periodic in x, y)."""
    pt = np.isin(phase, codes)
    open_ = np.isin(phase, (phases.AMORPHOUS_PEO, phases.VOID))
    faces = 0
    for axis in (1, 2):
        for shift in (1, -1):
            faces += np.count_nonzero(pt & np.roll(open_, shift, axis=axis))
    faces += np.count_nonzero(pt[:-1] & open_[1:]) + np.count_nonzero(pt[1:] & open_[:-1])
    return faces / max(int(pt.sum()), 1)


def _end_morphology(job: tuple[str, dict, int]) -> dict:
    """Morphology at the end of ``config`` with its ``key = value`` lines overridden."""
    config, overrides, seed = job
    cfg = parse_config(_override((CONFIGS / config).read_text(), **overrides))
    model, eng, drv = _run(cfg, seed)
    assert drv.done, "the cycles did not finish within the duration"
    return _morphology(model, eng)


def _converged(config: str, overrides: dict, seeds=(1, 2), workers=1) -> tuple[dict, dict]:
    """Seed-averaged morphology of ``config`` at its compression and at half of it."""
    lam0 = parse_config((CONFIGS / config).read_text()).protocol.time_compression
    jobs = [
        (config, {**overrides, "time_compression": lam}, seed)
        for lam in (lam0, lam0 / 2)
        for seed in seeds
    ]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            runs = list(pool.map(_end_morphology, jobs))
    else:
        runs = [_end_morphology(job) for job in jobs]
    n = len(seeds)
    coarse, fine = (
        {k: float(np.mean([r[k] for r in part])) for k in part[0]} for part in (runs[:n], runs[n:])
    )
    return coarse, fine


@pytest.mark.slow
@pytest.mark.parametrize(
    "config, cycles",
    [("zheng2021_lfp_galvanostatic.toml", 2), ("zheng2021_cv_symmetric.toml", 3)],
)
def test_morphology_converges_when_compression_is_halved(config, cycles):
    """A paper config, cut to a few cycles, at its shipped compression and at half of it.

    Tolerance 15 % on the seed-averaged PT amount, PT sites at the cathode and cathode
    coverage: the morphology does not depend on the compression beyond that. (The
    seed-to-seed spread of these metrics at this size is 5-15 %, measured; LiFePO4 at
    16 vs 8 measured 7 % and 4 %.) The LiFePO4 cut keeps its long faradaic first charge."""
    coarse, fine = _converged(config, {"cycles": cycles})
    assert fine["pt_units"] > 20
    for key in fine:
        assert coarse[key] == pytest.approx(fine[key], rel=0.15), (key, coarse, fine)


SS_SEEDS = (1, 2, 3, 4)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="measured 2026-12-02 after the electrochemistry revision: the SS config is NOT "
    "converged in lambda: PT units 41.25 at lambda = 4 vs 32.75 at 2 (+26 %, seeds 1-4; "
    "cathode sites the same): docs/CHEMISTRY.md says so; strict, so that a fix shows",
)
def test_ss_config_full_protocol_converges_when_compression_is_halved():
    """The SS config over its whole protocol (300 cycles) at lambda = 4 and 2, four seeds
    each (run on two processes). Tolerance 15 % on the seed means of PT units, PT sites
    at the cathode and cathode coverage, as for the other configs. The SS cell forms
    only ~50 PT units over the 24 x 24 face (seeds 1, 2 at lambda = 4: 45 and 50 sites),
    so one realization spreads by ~10 %: one seed resolves nothing. (Before the
    electrochemistry revision, ~130 units: +8.5 % at lambda = 4 against 2.)"""
    coarse, fine = _converged(
        "zheng2021_ss_galvanostatic.toml", {"duration_s": 4000.0}, seeds=SS_SEEDS, workers=2
    )
    assert fine["pt_units"] > 25
    for key in fine:
        assert coarse[key] == pytest.approx(fine[key], rel=0.15), (key, coarse, fine)


@pytest.mark.slow
def test_high_damkohler_gives_more_branched_pt_than_low():
    """Same PT amount (1500 units, ~1.5 layers over the 32 x 32 face), oxidation rate
    1000x apart (Da = k0/Gamma = 0.003 and 3): the surface-to-volume ratio of the PT
    connected to the cathode is higher at high Da by at least 20 % (measured: 2.35 and
    3.11, +32 %). Compact (reaction-limited) growth at low Da, branched at high Da."""
    ratios = []
    for k0 in (5.0, 5000.0):
        cfg = chem_config(nx=32, nz=40, k0=k0, occupancy=0.05, duration=1.0)
        model = Model.from_config(cfg)
        eng = LatticeEngine(model, 5, phase=initial_phase(model, 5))
        drv = ProtocolDriver(model, eng)
        t = 0.0
        step = eng.run
        while eng.counters[L.C_PT_UNITS] < 1500 and t < 100:
            t += 0.01  # fine steps: both runs stop within a few units of the target
            drv.run_to(t, lambda ts, step=step: step(ts, 10**12))
        assert 1300 <= eng.counters[L.C_PT_UNITS] <= 1600
        ratios.append(surface_to_volume(eng.phase, (phases.DEPOSIT_CATHODE,)))
    low, high = ratios
    assert high > 1.20 * low, ratios


@pytest.mark.slow
def test_lfp_paper_config_pt_only_at_cathode_and_contact_rises():
    """The LiFePO4 paper config, 10 of its 300 cycles: PT forms at the cathode, none at
    the Li anode (no oxidation runs at its ~0 V, and the membrane carries no oligomer to
    it: docs/MODEL.md, "The anode layer"), and the cathode's contact fraction (faces
    meeting material, not gaps) rises as PT fills the gaps."""
    text = _override((CONFIGS / "zheng2021_lfp_galvanostatic.toml").read_text(), cycles=10)
    cfg = parse_config(text)
    model = Model.from_config(cfg)
    before = phases.contact_fraction(initial_phase(model, cfg.run.seed))[0]
    _, eng, drv = _run(cfg, cfg.run.seed)
    pt = observables.chemistry_sample(eng, drv)["pt_sites"]
    assert pt[0] > 100 and pt[1] == 0, pt
    after = phases.contact_fraction(eng.phase)[0]
    assert after > before + 0.01, (before, after)


@pytest.mark.slow
def test_cv_cathode_potential_stays_near_the_applied_voltage():
    """The CV paper config over its first 4000 s of protocol (100 s simulated at lambda =
    40), seed 1. Each step solves E_c and the current together (backward Euler), so the
    cathode sits below the applied cell voltage by the ohmic drop and the Li overpotential
    of its own current, or at the doping onset while the film's doping charge passes.
    Bound: |V - E_c| < 0.1 V at every step. Outside the doping plateau the paper cell's CV
    currents are below ~1 mA: 35.5 mV across the 35.5 ohm membrane and, at 4.5 A/m^2
    exchange current on 2.01 cm^2, (2/f) asinh(j / 2 i0) = 30 mV at the Li anode; on the
    plateau E_c = 0.6 V while V is within ~0.05 V of it (the plateau current is what that
    gap drives through R). Measured 2026-12-03: 0.0296 V. Before the implicit step the
    lagged doping current made E_c swing 3.7-3.9 V about V on alternate steps. The film's
    doping plateau must show: some steps are held at the onset."""
    from kmc.simulation._protocol import P_CATHODE_V, P_POTENTIAL

    text = _override((CONFIGS / "zheng2021_cv_symmetric.toml").read_text(), duration_s=100.0)
    cfg = parse_config(text)
    model = Model.from_config(cfg)
    eng = LatticeEngine(model, 1, phase=initial_phase(model, 1))
    drv = ProtocolDriver(model, eng)
    onset = cfg.chemistry.cathode_doping_onset_V
    worst, held = [0.0], [0]

    def check():
        st = eng.protocol_state
        worst[0] = max(worst[0], abs(st[P_POTENTIAL] - st[P_CATHODE_V]))
        held[0] += st[P_CATHODE_V] == onset

    drv.run_to(100.0, lambda ts: eng.run(ts, 10**12), check)
    assert worst[0] < 0.1, worst[0]
    assert held[0] > 0
