"""Random walks through the real engine: diffusion, drift, waiting times.

Convention (kmc.simulation._model): each of the 2d neighbours is reached at rate Gamma = D / a^2;
with a bias u the +z/-z rates are Gamma exp(+-u/2).
"""

import numpy as np
import pytest
from scipy import stats

from kmc.kernels import layout as L

from ._systems import displacement, walkers


def _track(eng, window, n_windows):
    """z-increments and squared displacements of every walker over consecutive windows."""
    box = np.array([eng.nx, eng.ny, eng.nz])
    pos = eng.positions(0)
    ids = eng.particle_ids(0)
    steps = []
    for k in range(1, n_windows + 1):
        eng.run(k * window, np.iinfo(np.int64).max)
        new = eng.positions(0)
        assert np.array_equal(eng.particle_ids(0), ids)  # closed system: same walkers
        steps.append(displacement(pos, new, box))
        pos = new
    return np.stack(steps)  # [window, walker, xyz]


def test_free_walk_msd_3d():
    """MSD = 2 d Gamma a^2 t = 6 t (sites^2, Gamma = 1/s) within +-2 %.

    4e4 walkers on 256^3 (occupancy 0.24 %: the exclusion bias on the tracer diffusion
    coefficient, about 1.5 c, is 0.4 %); 4 independent windows of t = 10 s give 1.6e5
    samples, a relative standard error of 0.2 %, so +-2 % is a 10-sigma bound that still
    catches any wrong rate or direction count (they change the MSD by >= 15 %).
    """
    eng = walkers((256, 256, 256), 40_000, seed=3)
    d = _track(eng, 10.0, 4)
    msd = (d**2).sum(axis=2).mean()
    assert msd == pytest.approx(6 * 10.0, rel=0.02)
    # each axis separately: 2 Gamma t = 20
    per_axis = (d**2).mean(axis=(0, 1))
    assert per_axis == pytest.approx([20.0, 20.0, 20.0], rel=0.03)


@pytest.mark.parametrize("u, window, n_windows", [(0.1, 10.0, 100), (1.0, 10.0, 10)])
def test_biased_walk_drift_and_dispersion(u, window, n_windows):
    """v = 2 Gamma a sinh(u/2) and D_par = Gamma a^2 cosh(u/2) within +-1 %.

    2D, 2e4 walkers on 4096^2 (occupancy 0.12 %: exclusion lowers the drift by the factor
    1 - c, 0.12 %). The mean z-displacement over N T is unbiased with standard error
    sqrt(2 D_par T / N); N Gamma T = 2e7 at u = 0.1 puts 1 % of v at 3.5 sigma. D_par is
    the variance of window increments (exact for a continuous-time walk at any window:
    Var = (Gamma_+ + Gamma_-) tau a^2), from N * n_windows samples.
    """
    eng = walkers((4096, 4096), 20_000, u=u, seed=5)
    d = _track(eng, window, n_windows)
    dz = d[:, :, 2]
    total_t = window * n_windows
    v = dz.sum(axis=0).mean() / total_t
    assert v == pytest.approx(2 * np.sinh(u / 2), rel=0.01)
    d_par = dz.var() / (2 * window)
    assert d_par == pytest.approx(np.cosh(u / 2), rel=0.01)
    d_perp = d[:, :, 0].var() / (2 * window)
    assert d_perp == pytest.approx(1.0, rel=0.01)


def test_waiting_times_are_exponential_with_the_total_rate():
    """Times between attempts are Exp(R), R = Gamma (2 + 2 cosh(u/2)) for one 2D walker.

    Kolmogorov-Smirnov on 10000 waiting times with a fixed seed: p must exceed 0.01, and a
    wrong total rate (R scaled by 0.9 or 1.1) must be rejected (p < 1e-4), which shows the
    test has the power to fail.
    """
    u = 1.0
    eng = walkers((16, 16), 1, u=u, seed=9)
    rate = 2 + 2 * np.cosh(u / 2)
    times = [eng.time_s]
    for n in range(1, 10_001):
        eng.run(np.inf, n)
        times.append(eng.time_s)
    waits = np.diff(times)
    assert eng.counters[L.C_EVENTS] == 10_000
    assert stats.kstest(waits, stats.expon(scale=1 / rate).cdf).pvalue > 0.01
    for wrong in (0.9, 1.1):
        assert stats.kstest(waits, stats.expon(scale=1 / (wrong * rate)).cdf).pvalue < 1e-4
