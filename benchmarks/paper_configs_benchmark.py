"""Wall time of each shipped paper config, run to its end (target: <= 10 min on 2 cores).

    python benchmarks/paper_configs_benchmark.py --json [--only ss_galvanostatic ...]

Runs ``kmc run`` on configs/zheng2021_*.toml one after the other (one core each) and
reports, per config: lattice size, wall seconds, simulated and protocol time, cycles
completed, PT sites (cathode, anode, floating), film thickness at each electrode and
the cathode contact fraction at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parents[1]
NAMES = [
    "ss_galvanostatic", "lfp_galvanostatic", "cv_symmetric",
    "ss_galvanostatic_pristine", "lfp_galvanostatic_pristine", "cv_symmetric_pristine",
]  # fmt: skip


def run_one(name: str, out_dir: Path) -> dict:
    cfg = ROOT / "configs" / f"zheng2021_{name}.toml"
    out = out_dir / f"{name}.h5"
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "kmc", "run", str(cfg), "-o", str(out), "--overwrite",
         "--progress", "off"],
        capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        return {"config": name, "error": res.stderr[-500:]}
    with h5py.File(out, "r") as f:
        o = f["observables"]

        def last(k):
            return o[k]["value"][-1].tolist()

        return {
            "config": name,
            "lattice_xyz": json.loads(f["parameters"].attrs["resolved_json"])["dims_xyz"]
            if "resolved_json" in f["parameters"].attrs
            else None,
            "wall_seconds": round(wall, 1),
            "simulated_time_s": float(o["time"][-1]),
            "protocol_time_s": last("protocol_time"),
            "cycles": last("cycles"),
            "pt_sites_cathode_anode_floating": last("pt_sites"),
            "film_thickness_mean_m": last("film_thickness_mean"),
            "contact_fraction_cathode_start_end": [
                float(o["contact_fraction"]["value"][0][0]),
                float(o["contact_fraction"]["value"][-1][0]),
            ],
            "events": last("events"),
        }


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--only", nargs="*", default=NAMES, choices=NAMES)
    p.add_argument("--json", action="store_true")
    p.add_argument("--keep", type=Path, default=None, help="keep the run files here")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in args.only:
            row = run_one(name, out_dir)
            rows.append(row)
            if not args.json:
                print(row, flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
