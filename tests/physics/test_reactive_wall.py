"""Diffusion to a reactive wall (Robin sink) through the real engine.

A 2D slab: cathode layer at z = 0, M = 10 mobile layers, a reservoir held at occupancy
c0 beyond the top layer. A particle next to the cathode is consumed at rate k. For the
exclusion lattice gas the mean layer currents are exactly Gamma (c_j - c_(j+1)) (the
exclusion terms cancel), injection/exit at the top give Gamma (c0 - c_M), the sink
k c_1, so the steady flux per column is

    J = k c0 / (1 + Da),  Da = k M a^2 / D = k_s L / D  (L = M a, k_s = k a),

and J / J_lim = Da / (1 + Da) with J_lim = Gamma c0 / M. The tolerance is +-2 %; each
case counts >= 3e4 reactions (Poisson error <= 0.6 %, so 2 % is > 3 sigma).
"""

import numpy as np
import pytest

from ._systems import walkers

M = 10
C0 = 0.5
NX = 256


@pytest.mark.parametrize("da", [0.2, 1.0, 5.0])
def test_steady_flux_to_robin_sink(da):
    k = da / M  # Gamma = 1/s
    extra = f"""reservoir_occupancy = {C0}
reactions = [{{ electrode = "cathode", rate_per_s = {k!r}, product = "consume" }}]"""
    eng = walkers((NX, M + 1), int(C0 * NX * M), bottom="cathode", top="reservoir", extra=extra)
    n0 = int(eng.counts[0])
    t_eq, t_run = 200.0, 15_000.0
    eng.run(t_eq, np.iinfo(np.int64).max)
    r0 = int(eng.react_events[0, 0])
    eng.run(t_eq + t_run, np.iinfo(np.int64).max)
    n_react = int(eng.react_events[0, 0]) - r0
    assert n_react > 30_000
    flux = n_react / (NX * t_run)
    j_lim = C0 / M
    assert flux / j_lim == pytest.approx(da / (1 + da), rel=0.02)
    # particle balance: what entered minus what left equals the change in content
    entered = int(eng.inj_events[0, 1]) - int(eng.exit_events[0, 1])
    assert entered - int(eng.react_events[0, 0]) == int(eng.counts[0]) - n0
