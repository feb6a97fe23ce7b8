"""Pristine vs polymerized paper configs through the transport estimator: the ratios the
paper reports (membrane resistance ~70 % lower, LiFePO4 interfacial resistance 7.4x),
and how much of each number each mechanism gives.

    python docs/paper_check.py            # runs 6 configs (~20 min), analyzes, prints
    python docs/paper_check.py --reuse    # reuse runs in docs/figures/runs/

Prints one JSON object per cell (ss, lfp, cv). Membrane resistance: ``membrane_ratio`` is the
full model; ``membrane_ratio_pt_only`` the same with the diluent's effect on the PEO
recrystallization switched off (loading 0: both membranes recrystallize like the
pristine one), so what is left is the PT layers shortening the ionic path;
``membrane_ratio_crystallinity`` = full / PT-only. Interfacial resistance: the
electroactive area (electrolyte faces of the cathode and its connected PT, per
geometric area) and the contact fraction behind it. Morphology: ``cathode_pt_clusters``
counts the face-connected clusters of cathode PT at the end of the polymerized run, with
their mean and largest size (sites): many small clusters are a scatter of particles, one
cluster a continuous layer. The SS membrane ratio and the
pristine LiFePO4 R_i are calibrated (docs/calibrate_transport.py); the rest are
predictions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from calibrate_transport import ensure_runs  # docs/ is on the path when run as a script

import kmc
from kmc import analysis, phases
from kmc.morphology import cluster_sizes
from kmc.transport._params import load_transport_parameters


def cell_report(cell: str, pristine: Path, polymerized: Path, params=None) -> dict:
    """Ratios and their breakdown for one pristine/polymerized pair of run files."""
    params = params or load_transport_parameters()
    no_diluent = dataclasses.replace(
        params,
        recrystallization=dataclasses.replace(
            params.recrystallization, loading_volume_fraction=0.0
        ),
    )
    full = [analysis.analyze_run(p, params)[1] for p in (pristine, polymerized)]
    pt_only = [analysis.analyze_run(p, no_diluent)[1] for p in (pristine, polymerized)]
    before, after = full
    row = {"cell": cell}
    for q in ("membrane_resistance_ohm", "interfacial_resistance_ohm"):
        row[q] = [before[q], after[q]]
    row["membrane_ratio"] = after["membrane_resistance_ohm"] / before["membrane_resistance_ohm"]
    row["membrane_ratio_pt_only"] = (
        pt_only[1]["membrane_resistance_ohm"] / pt_only[0]["membrane_resistance_ohm"]
    )
    row["membrane_ratio_crystallinity"] = row["membrane_ratio"] / row["membrane_ratio_pt_only"]
    row["interfacial_fold_reduction"] = (
        before["interfacial_resistance_ohm"] / after["interfacial_resistance_ohm"]
    )
    for q in (
        "crystalline_fraction", "diluent_volume_fraction", "crystallization_half_time_s",
        "pt_layer_thickness_m", "electroactive_area_fraction_cathode",
        "contact_fraction_cathode", "short_circuit",
    ):  # fmt: skip
        row[q] = [before[q], after[q]]
    phase = kmc.open(polymerized).snapshot(-1).phase  # (z, y, x); periodic in x and y
    sizes = cluster_sizes(phase == phases.DEPOSIT_CATHODE, periodic_axes=(1, 2))
    row["cathode_pt_clusters"] = {
        "count": int(sizes.size),
        "mean_sites": float(sizes.mean()) if sizes.size else 0.0,
        "largest_sites": int(sizes[0]) if sizes.size else 0,
    }
    return row


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reuse", action="store_true")
    args = p.parse_args(argv)
    report = []
    for cell, name in (("ss", "ss_galvanostatic"), ("lfp", "lfp_galvanostatic"),
                       ("cv", "cv_symmetric")):  # fmt: skip
        runs = ensure_runs([f"{name}_pristine", name], args.reuse)
        pair = runs[f"{name}_pristine"], runs[name]
        row = cell_report(cell, *pair)
        report.append(row)
        print(json.dumps(row), flush=True)
    return report


if __name__ == "__main__":
    main()
