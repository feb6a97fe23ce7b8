"""Sweep throughput with 1 and 2 local workers: parallel efficiency, overhead per point.

    python benchmarks/sweep_benchmark.py --points 8 --json

Each point is the quickstart-like growth run sized to take about --seconds of wall time
on one core; the points differ by their attachment rate. Efficiency = T1 / (2 T2); the
scheduling overhead per point is (T1 - sum of the points' own wall times) / points.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

BASE = """
[lattice]
shape = [64, 64, 64]
spacing_m = 2e-8
[boundaries]
bottom = "cathode"
top = "reservoir"
[[species]]
name = "monomer"
diffusivity_m2_per_s = 1e-12
initial_occupancy = 0.02
reservoir_occupancy = 0.02
reactions = [{{ electrode = "cathode", rate_per_s = 2.5e4, product = "consume" }}]
[run]
duration_s = {duration}
sample_interval_s = {sample}
"""


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--points", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10.0, help="target wall time per point")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from kmc.sweeps import load_sweep, plan, run_sweep

    # about 3.2e7 events per simulated second at 64^3, 2 % occupancy, ~25 M events/s
    duration = args.seconds * 25e6 / 3.2e7
    tmp = Path(tempfile.mkdtemp(prefix="kmc-sweep-bench-"))
    (tmp / "base.toml").write_text(BASE.format(duration=duration, sample=duration / 20))
    rates = [2.5e4 * (1 + 0.01 * i) for i in range(args.points)]
    (tmp / "sweep.toml").write_text(
        f'[sweep]\nbase = "base.toml"\n[[sweep.grid]]\n'
        f'path = "species[0].reactions[0].rate_per_s"\nvalues = {rates}\n'
    )
    spec, base, _ = load_sweep(tmp / "sweep.toml")
    points = plan(spec, base)
    result = {"points": len(points)}
    for workers in (1, 2):
        t0 = time.perf_counter()
        statuses = run_sweep(tmp / f"w{workers}", spec, points, workers=workers, progress="off")
        wall = time.perf_counter() - t0
        assert all(s["status"] == "complete" for s in statuses), statuses
        own = sum(s["wall_seconds"] for s in statuses)
        result[f"wall_seconds_{workers}_workers"] = wall
        result[f"mean_point_seconds_{workers}_workers"] = own / len(points)
        result[f"overhead_per_point_seconds_{workers}_workers"] = (wall * workers - own) / len(
            points
        )
    result["parallel_efficiency"] = result["wall_seconds_1_workers"] / (
        2 * result["wall_seconds_2_workers"]
    )
    print(json.dumps(result) if args.json else result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
