"""The paper check (issue 4) over seeds: pristine vs polymerized paper configs through
`kmc run --seed S` and the transport estimator with its shipped parameters
(kmc/data/transport_peo_40C.toml).

A 0.6 um lattice patch is one realization of a stochastic geometry, so every number here
is a mean over SEEDS (1 and 2: the first of the seeds the calibration uses), each seed a
pristine/polymerized pair with the same seed. Cost: 8 runs (the SS and LiFePO4 pairs, two
seeds), 2 at a time, longest first: the two LiFePO4 polymerized runs (~323 s each on
one core, benchmarks/RESULTS.md) then the rest, ~9 min on 2 cores, then 8 analyses 2 at
a time (~1 min) and 4 RVE solves (~10 s): about 10 min.

Three parameters were calibrated, each on the mean over seeds of its target, by
docs/calibrate_transport.py: amorphous PEO at 40 degC (pristine 2.84e-5 S/cm; mean over
RVEs), the recrystallization's nucleation constant (SS||Li membrane resistance -70 %) and
the LiFePO4 exchange current (pristine LiFePO4||Li R_i = 13040 ohm). The first test
checks that the shipped values reproduce those targets on the means here; the second the
numbers no parameter was fitted to: the LiFePO4 cell's membrane-resistance drop and
interfacial-resistance ratio.

Bands (the constants below; the model is being changed, so update them from the per-seed
sd that docs/calibrate_transport.py and docs/paper_check.py print):

* calibration: |mean / target - 1| <= N_SE x CV / sqrt(n), i.e. N_SE standard errors of
  an n-seed mean of a quantity whose per-seed relative sd is CV. The calibration fits
  the mean over its own (more) seeds exactly, so what is left between it and the mean of
  these n seeds is their sampling error:
  - pristine conductivity, 4 RVEs: CV 0.03 (measured: 6 RVEs sd/mean 2.8 %): band 4.5 %;
  - SS membrane ratio, 2 seeds: CV 0.05, assumed (the ratio follows the diluent, i.e.
    the monomer not turned into PT; on short runs the seeds differ by < 0.1 %): 10.6 %;
  - pristine LiFePO4 R_i, 2 seeds: CV 0.27 (measured at one i0: sd/mean 0.28 over seeds
    1-48, 0.26 over 1-80; seeds 1-4 alone gave 0.19): band 57 %. A loose band: the
    pristine runs are cheap (17 s), so LFP_PRISTINE_SEEDS = range(1, 9) would make it
    30 % for ~1.5 min more.
* predictions (means over SEEDS): LiFePO4 membrane resistance 60-80 % lower (paper ~70
  %: its "about 70 %" +- 10; the seeds differ little here, the membrane follows the
  diluent); interfacial resistance 4-15x lower (paper 13040 -> 1765 ohm, 7.4x; seed
  2021 gave 8.2x; 4 is the paper's 7.4x less 3 SE of a 2-seed mean at a per-seed CV of
  0.2 for the fold, assumed: a paired ratio, pristine and polymerized share their
  initial geometry, spreads less than R_i; 15 is twice the paper's: an area-driven fold
  beyond that would be a different prediction).
"""

import math
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
sys.path.insert(0, str(REPO / "docs"))
import calibrate_transport as cal  # noqa: E402  (docs/ is on the path)

from kmc import analysis  # noqa: E402
from kmc.config import load_config  # noqa: E402
from kmc.transport._params import load_transport_parameters  # noqa: E402

# --- bands: update after a model change (see the module docstring) ---------------------
SEEDS = (1, 2)  # run seeds of every config
JOBS = 2  # runs and analyses at once
N_SE = 3.0  # a calibration target within this many standard errors of the seed mean
RVE_SEEDS = 4  # RVEs for the pristine conductivity (seeds HOMOGENIZATION_SEED, +1, ...)
CV_PRISTINE_CONDUCTIVITY = 0.03  # per-RVE relative sd of the pristine conductivity
CV_SS_MEMBRANE_RATIO = 0.05  # per-seed relative sd of the SS membrane ratio (assumed)
CV_PRISTINE_LFP_RI = 0.27  # per-seed relative sd of the pristine LiFePO4 R_i
LFP_PRISTINE_SEEDS = SEEDS  # run seeds of the pristine LiFePO4 R_i (cheap runs)
LFP_MEMBRANE_REDUCTION_PERCENT = (60.0, 80.0)  # mean over SEEDS; paper ~70 %
LFP_INTERFACIAL_FOLD_REDUCTION = (4.0, 15.0)  # mean over SEEDS; paper 7.4x
# ------------------------------------------------------------------------------------------

CONFIGS = (*cal.SS_PAIR, cal.LFP_PRISTINE, "lfp_galvanostatic")


def band(cv: float, n: int) -> float:
    """N_SE standard errors of an n-seed mean, relative to the mean."""
    return N_SE * cv / math.sqrt(n)


@pytest.fixture(scope="module")
def summaries(tmp_path_factory):
    """{(config name, seed): `kmc analyze` summary with the shipped parameters}."""
    d = tmp_path_factory.mktemp("paper")
    pairs = [(n, s) for n in CONFIGS for s in SEEDS]
    pairs += [(cal.LFP_PRISTINE, s) for s in LFP_PRISTINE_SEEDS]
    runs = cal.ensure_seed_runs(pairs, jobs=JOBS, runs_dir=d)
    keys = list(runs)
    params = load_transport_parameters()
    with cal.worker_pool(JOBS) as pool:
        out = cal.pmap(pool, cal._summary, [runs[k] for k in keys], [params] * len(keys))
    return dict(zip(keys, out, strict=True))


@pytest.mark.slow
def test_shipped_calibration_reproduces_its_targets_on_seed_means(summaries):
    """Each calibrated value gives its target on the mean over the seeds here, within
    N_SE standard errors (bands in the module docstring)."""
    params = load_transport_parameters()
    spacing = load_config(cal.config_path(cal.SS_PAIR[0]))[0].lattice.spacing_m
    rves = range(analysis.HOMOGENIZATION_SEED, analysis.HOMOGENIZATION_SEED + RVE_SEEDS)
    sigma = list(cal.pristine_conductivities(params, spacing, list(rves)).values())
    pristine, polymerized = cal.SS_PAIR
    key = "membrane_resistance_ohm"
    ratios = [summaries[polymerized, s][key] / summaries[pristine, s][key] for s in SEEDS]
    r_i = [summaries[cal.LFP_PRISTINE, s]["interfacial_resistance_ohm"] for s in LFP_PRISTINE_SEEDS]
    assert None not in r_i, "the pristine LiFePO4 cell has no DC interfacial resistance"
    checks = [
        ("pristine conductivity (S/m)", sigma, cal.PRISTINE_CONDUCTIVITY_S_PER_M,
         band(CV_PRISTINE_CONDUCTIVITY, RVE_SEEDS)),
        ("SS membrane ratio", ratios, cal.MEMBRANE_RESISTANCE_RATIO,
         band(CV_SS_MEMBRANE_RATIO, len(SEEDS))),
        ("pristine LiFePO4 R_i (ohm)", r_i, cal.PRISTINE_LFP_INTERFACIAL_OHM,
         band(CV_PRISTINE_LFP_RI, len(LFP_PRISTINE_SEEDS))),
    ]  # fmt: skip
    lines, bad = [], []
    for name, values, target, tol in checks:
        stats = cal.seed_stats(values)
        off = stats["mean"] / target - 1
        lines.append(
            f"{name}: per seed {[f'{v:.4g}' for v in values]}, mean {stats['mean']:.4g} "
            f"+- {stats['se']:.2g} (n={stats['n']}), target {target:.4g}: {100 * off:+.1f} % "
            f"(band +-{100 * tol:.1f} %)"
        )
        if abs(off) > tol:
            bad.append(name)
    assert not bad, "\n".join(lines)


@pytest.mark.slow
def test_lifepo4_cell_membrane_and_interfacial_resistance_fall_as_in_the_paper(summaries):
    """Predictions (no parameter fitted to them), means over SEEDS: membrane resistance
    LFP_MEMBRANE_REDUCTION_PERCENT lower (paper ~70 %), interfacial resistance
    LFP_INTERFACIAL_FOLD_REDUCTION times lower (paper 7.4x); no short circuit."""
    reduction, fold = [], []
    for s in SEEDS:
        before, after = summaries[cal.LFP_PRISTINE, s], summaries["lfp_galvanostatic", s]
        assert not (before["short_circuit"] or after["short_circuit"]), s
        key = "membrane_resistance_ohm"
        reduction.append(100 * (1 - after[key] / before[key]))
        key = "interfacial_resistance_ohm"
        assert before[key] is not None and after[key] is not None, (s, before[key], after[key])
        fold.append(before[key] / after[key])
    red, fld = cal.seed_stats(reduction), cal.seed_stats(fold)
    msg = (
        f"membrane reduction per seed {reduction}: {red['mean']:.1f} +- {red['se']:.2g} % "
        f"(band {LFP_MEMBRANE_REDUCTION_PERCENT}); interfacial fold per seed {fold}: "
        f"{fld['mean']:.2f} +- {fld['se']:.2g} (band {LFP_INTERFACIAL_FOLD_REDUCTION})"
    )
    lo, hi = LFP_MEMBRANE_REDUCTION_PERCENT
    assert lo <= red["mean"] <= hi, msg
    lo, hi = LFP_INTERFACIAL_FOLD_REDUCTION
    assert lo <= fld["mean"] <= hi, msg
