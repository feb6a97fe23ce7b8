"""Pristine vs polymerized paper configs through the transport estimator: the ratios the
paper reports (membrane resistance ~70 % lower, LiFePO4 interfacial resistance 7.4x).

    python docs/paper_check.py            # runs 4 configs (~10 min), analyzes, prints
    python docs/paper_check.py --reuse    # reuse runs in docs/figures/runs/

Prints one JSON object per cell (ss, lfp) with the `kmc analyze --compare` ratios and
the electroactive area and contact fraction behind them. Read docs/CHEMISTRY.md before
quoting the membrane-resistance number: in a windowed run it is not yet meaningful.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
RUNS = HERE / "figures" / "runs"
REPO = HERE.parent


def _kmc(*args, capture=False):
    return subprocess.run(
        [sys.executable, "-m", "kmc", *map(str, args)], check=True, text=True,
        capture_output=capture,
    )  # fmt: skip


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reuse", action="store_true")
    args = p.parse_args(argv)
    RUNS.mkdir(parents=True, exist_ok=True)
    report = []
    for cell in ("ss", "lfp"):
        files = {}
        for variant in ("", "_pristine"):
            name = f"{cell}_galvanostatic{variant}"
            out = RUNS / f"{name}.h5"
            if not (args.reuse and out.exists()):
                _kmc("run", REPO / f"configs/zheng2021_{name}.toml", "-o", out, "--overwrite",
                     "--progress", "off")  # fmt: skip
            files[variant or "polymerized"] = out
        results = {}
        for key, path in files.items():
            res = _kmc("analyze", path, "--json", capture=True)
            results[key] = json.loads(res.stdout)
        before, after = results["_pristine"], results["polymerized"]
        row = {"cell": cell}
        for q in ("membrane_resistance_ohm", "interfacial_resistance_ohm"):
            row[q] = [before[q], after[q]]
            row[q.replace("_ohm", "_ratio")] = after[q] / before[q]
        for q in ("electroactive_area_fraction_cathode", "contact_fraction_cathode"):
            row[q] = [before[q], after[q]]
        report.append(row)
        print(json.dumps(row), flush=True)
    return report


if __name__ == "__main__":
    main()
