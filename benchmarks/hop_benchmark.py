"""Standard hop benchmark through the real engine.

Periodic simple-cubic L^3 lattice, 5 % random occupancy, one species, unit hop rate per
direction (Gamma = 1/s) with exclusion, field bias u = z e a E / kT = 0.1 along z.

    python benchmarks/hop_benchmark.py --size 128 --events 20000000 --json
    python benchmarks/hop_benchmark.py --size 128 --cold-cache --json   # compile from scratch

Prints events_per_second (attempted events, null events included), accepted_events
(hops that moved a particle), accepted_per_second, seconds, size, peak_rss_bytes,
compile_seconds, state_bytes and the memory budget 4 B/site + 32 B/particle.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", type=int, default=128, help="lattice edge L (sites)")
    p.add_argument("--events", type=int, default=20_000_000, help="attempted events to time")
    p.add_argument("--occupancy", type=float, default=0.05)
    p.add_argument("--bias", type=float, default=0.1, help="u = z e a E / kT")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cold-cache", action="store_true", help="compile into an empty cache dir")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.cold_cache:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="kmc-numba-cache-")

    import numpy as np

    from kmc.config import parse_config
    from kmc.kernels import layout as L
    from kmc.simulation import LatticeEngine
    from kmc.simulation._model import BOLTZMANN_J_PER_K, ELEMENTARY_CHARGE_C, Model

    a, temperature = 1e-8, 300.0
    field = args.bias * BOLTZMANN_J_PER_K * temperature / (ELEMENTARY_CHARGE_C * a)
    text = f"""
[lattice]
shape = [{args.size}, {args.size}, {args.size}]
spacing_m = {a}
[boundaries]
bottom = "periodic"
top = "periodic"
[conditions]
temperature_K = {temperature}
electric_field_V_per_m = {field!r}
[[species]]
name = "walker"
charge = 1
diffusivity_m2_per_s = {a * a!r}
initial_occupancy = {args.occupancy}
[run]
duration_s = 1e9
sample_interval_s = 1e9
seed = {args.seed}
"""
    model = Model.from_config(parse_config(text))
    t0 = time.perf_counter()
    warm = LatticeEngine(model, seed=args.seed + 1)
    warm.run(np.inf, 1000)  # first call compiles (or loads from the cache)
    compile_seconds = time.perf_counter() - t0

    eng = LatticeEngine(model, seed=args.seed)
    del warm
    t0 = time.perf_counter()
    eng.run(np.inf, args.events)
    seconds = time.perf_counter() - t0
    events = int(eng.counters[L.C_EVENTS])
    accepted = int(eng.counters[L.C_HOPS])
    n_sites = args.size**3
    n_particles = int(eng.counts.sum())
    result = {
        "size": args.size,
        "sites": n_sites,
        "particles": n_particles,
        "events": events,
        "accepted_events": accepted,
        "seconds": seconds,
        "events_per_second": events / seconds,
        "accepted_per_second": accepted / seconds,
        "ns_per_event": 1e9 * seconds / events,
        "simulated_time_s": eng.time_s,
        "compile_seconds": compile_seconds,
        "cold_cache": args.cold_cache,
        "state_bytes": eng.state_bytes,
        "memory_budget_bytes": 4 * n_sites + 32 * n_particles,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "bias_u": args.bias,
        "occupancy": args.occupancy,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>22}: {v}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
