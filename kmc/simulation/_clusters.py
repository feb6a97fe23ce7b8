"""Single-walker cluster growth in 2D through the real engine (validation limits).

One walker at a time is launched on a circle around the cluster and walks (with the
engine's hop kernel) until it attaches (the engine's reaction kernel) to a site of the
cluster, which then conducts and attaches later walkers. With an attachment rate far
above the hop rate this is Witten-Sander diffusion-limited aggregation; far below it,
reaction-limited, Eden-like compact growth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from kmc import phases
from kmc.config._config import parse_config
from kmc.kernels import layout as L
from kmc.simulation._engine import LatticeEngine
from kmc.simulation._model import Model

_CONFIG = """
[lattice]
shape = [{box}, {box}]
spacing_m = 1e-8
[boundaries]
bottom = "wall"
top = "wall"
[[species]]
name = "walker"
diffusivity_m2_per_s = 1e-16
[run]
duration_s = 1.0
sample_interval_s = 1.0
"""


@dataclass
class ClusterGrowth:
    """Result of :func:`grow_cluster_2d`."""

    sites: np.ndarray  # [n, 2] (x, z) of the cluster sites in attachment order, seed first
    center: tuple[int, int]
    hops: int  # accepted hops of all walkers
    relaunches: int  # walkers moved back to the launch circle after straying too far

    @property
    def n(self) -> int:
        return len(self.sites)


def grow_cluster_2d(
    n_particles: int,
    damkohler: float,
    *,
    box: int = 1024,
    seed: int = 0,
    launch_gap: float = 5.0,
    kill_factor: float = 3.0,
    chunk_events: int = 4000,
) -> ClusterGrowth:
    """Grow a 2D cluster of ``n_particles`` sites (seed included) from the box centre.

    Parameters
    ----------
    damkohler : float
        Attachment rate over hop rate per direction, k / Gamma (= lattice Da).
    box : int
        Edge of the square lattice (sites); keep it > 4x the final cluster radius.
    launch_gap : float
        Walkers start this far (sites) outside the current cluster radius.
    kill_factor : float
        A walker farther than kill_factor x launch radius (at most box/2 - 2) is put back
        on the launch circle (the usual Meakin shortcut: walkers from far away return
        nearly uniformly).
    """
    model = Model.from_config(parse_config(_CONFIG.format(box=box)))
    model = replace(
        model,
        reaction_rate_per_s=np.array([[damkohler * model.hop_base_rate_per_s[0], 0.0]]),
    )
    eng = LatticeEngine(model, seed)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 1])))
    c = box // 2
    eng.set_phase(c, 0, c, phases.DEPOSIT_CATHODE)
    sites = [(c, c)]
    r_max = 0.0
    relaunches = 0

    def launch_point(radius):
        while True:
            theta = rng.uniform(0, 2 * np.pi)
            x = int(round(c + radius * np.cos(theta)))
            z = int(round(c + radius * np.sin(theta)))
            if int(eng.words[x + box * z]) >> L.PID_SHIFT == 0:
                return x, z

    for _ in range(n_particles - 1):
        r_launch = r_max + launch_gap
        r_kill = min(kill_factor * r_launch, box // 2 - 2)
        if r_kill < 1.5 * r_launch:
            raise ValueError(f"box = {box} too small for a cluster of radius {r_max:.0f}")
        x, z = launch_point(r_launch)
        pid = eng.add_particle(0, x, 0, z)
        while True:
            eng.run(np.inf, int(eng.counters[L.C_EVENTS]) + chunk_events)
            if eng.counts[0] == 0:
                break
            dx, dz = int(eng.px[pid]) - c, int(eng.pz[pid]) - c
            if dx * dx + dz * dz > r_kill * r_kill:
                x, z = launch_point(r_launch)
                eng.move_particle(pid, x, 0, z)
                relaunches += 1
        x, z = int(eng.px[pid]), int(eng.pz[pid])  # where it attached
        sites.append((x, z))
        r_max = max(r_max, float(np.hypot(x - c, z - c)))
    return ClusterGrowth(np.array(sites), (c, c), int(eng.counters[L.C_HOPS]), relaunches)
