"""Time the snapshot figures on a large lattice (default 256^3).

    python benchmarks/plot_benchmark.py --size 256 --json

Makes a run file with `kmc run` (a cathode, monomer at 5 % and a short, high-Da run so
that deposit exists), analyzes it, then times each figure kind through the Python API,
rendering to PNG with Agg. Prints seconds per kind.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """
[lattice]
shape = [{n}, {n}, {n}]
spacing_m = 2e-8
[boundaries]
bottom = "cathode"
top = "anode"
[[species]]
name = "monomer"
diffusivity_m2_per_s = 4e-14
initial_occupancy = 0.05
reactions = [{{ electrode = "cathode", rate_per_s = 1e4 }}]
[run]
duration_s = 0.05
sample_interval_s = 0.05
"""


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import kmc
    from kmc import plot as kplot

    tmp = Path(tempfile.mkdtemp(prefix="kmc-plot-bench-"))
    cfg = tmp / "big.toml"
    cfg.write_text(CONFIG.format(n=args.size))
    out = tmp / "big.h5"
    cmd = [sys.executable, "-m", "kmc"]
    subprocess.run([*cmd, "run", str(cfg), "-o", str(out), "--progress", "off"], check=True)
    t0 = time.perf_counter()
    subprocess.run([*cmd, "analyze", str(out)], check=True, capture_output=True)
    result = {"size": args.size, "analyze_seconds": time.perf_counter() - t0}
    run = kmc.open(out)
    for kind, fn in kplot.KINDS.items():
        t0 = time.perf_counter()
        r = fn(run)
        ax = r[0] if hasattr(r, "__len__") else r
        ax.figure.savefig(tmp / f"{kind}.png", dpi=100)
        plt.close(ax.figure)
        result[f"{kind}_seconds"] = time.perf_counter() - t0
    print(json.dumps(result) if args.json else result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
