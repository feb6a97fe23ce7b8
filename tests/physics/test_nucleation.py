"""Nucleation and growth after a potential step against Scharifker and Hills (1983):
the dimensionless transients (i/i_m)^2 against t/t_m of 3D diffusion-controlled growth
of hemispherical nuclei, instantaneous and progressive (docs/PARAMETERS.md, docs/MODEL.md
"Nucleation and growth").

The cell: a flat cathode under a monomer solution of occupancy c (one deposit site per
monomer, so c is also the deposit's volume per volume of solution: SH's c M / rho),
128 x 128 sites of face, 96 deep to a reservoir at c, unit hop rate (D = 1 site^2/s).
Monomers oxidize on doped PT only (``surface = "film"``) at Da = k a/D = 10 (diffusion
control: a monomer that reaches a nucleus is taken), and the bare metal nucleates
  * instantaneously (c = 0.01): 64 nuclei at random sites at t = 0 (N0 = 1/256 per
    site^2, a mean spacing of 16 sites) and none later; or
  * progressively (c = 0.005): ``surface = "electrode"`` oxidation at 0.0052 /s per
    touching monomer (2.6e-5 nuclei per bare site and second at c), none at t = 0.
Why this is the SH regime: at the peak the diffusion length sqrt(D t_m) (11 to 17
sites) is several times the nuclei's radius (2 to 3 sites) and comparable to their
spacing, so hemispherical zones are what overlap; the slab (96 sites) is 3 to 4
diffusion lengths at 3 t_m deep, so the long-time limit is the planar (Cottrell) one.

The current is SH's growth current: the oxidations on the film (a nucleation event is
one whole lattice unit here, where a real nucleus is a few molecules), averaged over 24
seeds and over windows of about t_m / 6. The peak (t_m, i_m) is the vertex of a parabola
in log t through the points above 90 % of the largest, so no SH form enters it.

Tolerance on |(i/i_m)^2 - SH(t/t_m)| at every window centre with 0.2 <= t/t_m <= 3
(absolute, in units of the peak; a relative 10 % would hold the progressive curve at
t/t_m = 0.2, where (i/i_m)^2 = 0.022, to 0.002):
  * instantaneous: 0.10 (measured 0.072; band means within 0.03 of SH);
  * progressive: 0.15 (measured 0.125, at t/t_m = 0.56). The 10 % the issue asks for is
    not met here: before the peak the current runs up to 0.10 above SH, because a new
    nucleus is born as one whole site, with a flux SH's zero-size hemisphere does not
    have, and progressive nucleation keeps young nuclei in the current. A lower
    occupancy raises it; a higher one trades it for a tail below SH (c = 0.01: -0.08 at
    t/t_m = 2.6-3, the deposit standing out of the plane); smaller lattice units against
    t_m would shrink both (16 times the area to halve them).
Either form misses the other by more than 0.3, so the test tells them apart.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from kmc import phases
from kmc.config import parse_config
from kmc.simulation import LatticeEngine
from kmc.simulation._model import FARADAY_C_PER_MOL, GAS_CONSTANT_J_PER_MOL_K, Model

sys.path.insert(0, str(Path(__file__).parents[1]))
from chem import flat_cell_text, nucleated_phase  # noqa: E402

A = 1e-8  # lattice spacing (m): D = A^2 / s is one site^2 per second

FILM_GROWTH = """[[species.reactions]]
electrode = "cathode"
surface = "film"
rate_per_s = 10.0"""

PROGRESSIVE = """[[species.reactions]]
electrode = "cathode"
surface = "electrode"
rate_per_s = {k_n}"""


def instantaneous_sh(x):
    return 1.9542 / x * (1 - np.exp(-1.2564 * x)) ** 2


def progressive_sh(x):
    return 1.2254 / x * (1 - np.exp(-2.3367 * x**2)) ** 2


def growth_over_time(kind, seed, times):
    """Oxidations on the film (the growth current's events) at ``times`` (s), one seed."""
    c, k_n = CASES[kind][:2]
    nucleation = PROGRESSIVE.format(k_n=k_n) if k_n else ""
    reactions = FILM_GROWTH + "\n" + nucleation
    model = Model.from_config(
        parse_config(flat_cell_text((128, 128, 96), reactions, a=A, d=A * A, c=c))
    )
    nuclei = []
    if kind == "instantaneous":
        nuclei = np.random.default_rng(seed).choice(128 * 128, 64, replace=False)
    phase = nucleated_phase(model, nuclei)
    eng = LatticeEngine(model, seed, phase=phase)
    out = []
    for t in times:
        eng.run(t, 10**13)
        out.append(int(eng.react_events[0, phases.FILM_CHANNEL]))
    return np.array(out, dtype=float)


def reduced_transient(times, deposits, window):
    """(t/t_m, (i/i_m)^2) from cumulative deposits: the current over ``window`` samples,
    the peak the vertex of a parabola in log t through the points above 90 % of the
    largest (on the exact SH curves this finds t_m within 2 % and i_m within 0.2 %; a
    parabola in t would put t_m 14 % late on the instantaneous one)."""
    t = 0.5 * (times[window:] + times[:-window])
    i = (deposits[window:] - deposits[:-window]) / (times[window:] - times[:-window])
    top = i >= 0.9 * i.max()
    c2, c1, c0 = np.polyfit(np.log(t[top]), i[top], 2)
    t_m = np.exp(-c1 / (2 * c2))
    i_m = c0 - c1**2 / (4 * c2)
    return t / t_m, (i / i_m) ** 2, t_m, i_m


CASES = {
    # kind: (occupancy c, bare-metal nucleation rate (1/s per touching monomer), end of
    # the run (s), current window (samples of 2 s, about t_m / 6), its SH form, the other)
    "instantaneous": (0.01, 0.0, 400.0, 10, instantaneous_sh, progressive_sh),
    "progressive": (0.005, 0.0052, 1000.0, 23, progressive_sh, instantaneous_sh),
}
SEEDS = range(1, 25)
TOLERANCE = {"instantaneous": 0.10, "progressive": 0.15}  # see the module docstring


def transient(kind, seeds=SEEDS):
    """Reduced transient of ``kind``, the growth current averaged over ``seeds``."""
    t_end, window = CASES[kind][2:4]
    times = np.arange(0.0, t_end + 1e-9, 2.0)
    growth = np.mean([growth_over_time(kind, s, times) for s in seeds], axis=0)
    return reduced_transient(times, growth, window)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(CASES))
def test_current_transient_follows_scharifker_hills(kind):
    x, y, t_m, _ = transient(kind)
    form, other = CASES[kind][4:]
    sel = (x >= 0.2) & (x <= 3.0)
    assert sel.sum() >= 20 and x.max() >= 3.0  # the range is sampled
    dev = y[sel] - form(x[sel])
    assert np.abs(dev).max() <= TOLERANCE[kind], (kind, t_m, np.round(dev, 3))
    assert np.abs(y[sel] - other(x[sel])).max() > 0.30  # the other form is told apart


if __name__ == "__main__":  # the figures behind docs/MODEL.md: python tests/physics/...
    for kind in sorted(CASES):
        x, y, t_m, i_m = transient(kind)
        form, other = CASES[kind][4:]
        sel = (x >= 0.2) & (x <= 3.0)
        print(f"{kind}: t_m = {t_m:.1f} s, i_m = {i_m:.2f} sites/s; over 0.2 <= t/t_m <= 3 "
              f"max |dev| {np.abs(y[sel] - form(x[sel])).max():.3f} (its form), "
              f"{np.abs(y[sel] - other(x[sel])).max():.3f} (the other)")  # fmt: skip
        for xi, yi in list(zip(x[sel], y[sel], strict=True))[::4]:
            print(f"  t/t_m {xi:5.2f}  (i/i_m)^2 {yi:6.3f}  SH {form(xi):6.3f}")


BARE_NUCLEATION = """[[species.reactions]]
electrode = "cathode"
surface = "electrode"
rate_per_s = 0.002
onset_potential_V = 1.0
product = "consume"
"""


def nucleation_counts(potential_V, seeds, t_end=50.0):
    """Oxidations on the bare cathode in ``t_end`` s, one count per seed, at the cathode
    potential ``potential_V`` (the rule: Butler-Volmer on the bare metal's own onset)."""
    text = flat_cell_text(
        (16, 16, 6), BARE_NUCLEATION, a=A, d=A * A, c=0.2, temperature=300.0,
        protocol='[protocol]\nkind = "potentiostatic"\npotential_V = 1.0',
    )  # fmt: skip
    model = Model.from_config(parse_config(text))
    rates = model.reaction_rates_at((potential_V, 0.0))
    counts = []
    for seed in seeds:
        eng = LatticeEngine(model, seed)
        eng.set_reaction_rates(rates)
        eng.run(t_end, 10**12)
        counts.append(int(eng.react_events[0, 0]))
    return np.array(counts), float(rates[0, 0])


def test_nucleation_counts_are_poisson_and_grow_with_the_overpotential():
    """Nucleation events on bare metal (counted as oxidations there; ``consume`` keeps
    the surface bare and the solution at c) in 50 s on 16 x 16 sites at c = 0.2, 400
    seeds at each of 1.00 and 1.05 V (onset 1.0 V, alpha = 0.5, 300 K).

    * Mean: k(E) c A t exactly in expectation (the first layer holds c A monomers on
      average, the reservoir keeps it there): 0.002 x 0.2 x 256 x 50 = 5.12 at 1.00 V;
      within 4 standard errors.
    * Growth with the overpotential: the ratio of the means is exp(alpha F dE / RT) =
      2.630 at dE = 50 mV, within 4 standard errors of the ratio (measured: means 5.08
      and 13.03, ratio 2.57, dispersion indices 1.15 and 0.90).
    * Poisson statistics: the variance over the mean (index of dispersion) is 1 for a
      Poisson count; with 400 samples its standard error is sqrt(2/399) = 0.07, and the
      first layer's own fluctuations add a little (a Cox process): 1 +- 0.25."""
    seeds = range(1, 401)
    low, k_low = nucleation_counts(1.00, seeds)
    high, k_high = nucleation_counts(1.05, seeds)
    f = FARADAY_C_PER_MOL / (GAS_CONSTANT_J_PER_MOL_K * 300.0)
    assert k_high / k_low == pytest.approx(np.exp(0.5 * f * 0.05), rel=1e-12)
    se_low = low.std(ddof=1) / np.sqrt(low.size)
    assert abs(low.mean() - 0.002 * 0.2 * 256 * 50) <= 4 * se_low
    ratio = high.mean() / low.mean()
    se_ratio = ratio * np.hypot(se_low / low.mean(), high.std(ddof=1) / np.sqrt(400) / high.mean())
    assert abs(ratio - np.exp(0.5 * f * 0.05)) <= 4 * se_ratio
    for counts in (low, high):
        assert counts.var(ddof=1) / counts.mean() == pytest.approx(1.0, abs=0.25)
