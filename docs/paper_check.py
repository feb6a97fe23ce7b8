"""Pristine vs polymerized paper configs through the transport estimator, over seeds: the
ratios the paper reports (membrane resistance ~70 % lower, LiFePO4 interfacial resistance
7.4x), and how much of each number each mechanism gives, each as mean +- standard error
over seeds with their number.

A 0.6 um lattice patch is one realization of a stochastic geometry (the pristine LiFePO4
R_i spreads with sd/mean 0.26 over 80 seeds), so each cell (ss, lfp, cv) is run for every seed
S (`kmc run CONFIG --seed S`, the pristine twin with the same seed: the same initial
geometry) and each pair gives one row; the aggregate row has, for every number, the mean,
the SE (sd / sqrt(n)) and n. A number with no value is None and stays None: the SS
cathode blocks Li+, so its interfacial resistance (and the fold reduction) has no DC
value (``kmc impedance`` shows the interface); an aggregate counts such seeds in n_none.

    python docs/paper_check.py                       # seeds 1-4, all cells: ~1.5 h
    python docs/paper_check.py --n-seeds 2 --cells ss,lfp   # ~10 min
    python docs/paper_check.py --seeds 1,2,3,4,5,6 --reuse  # reuse runs in docs/figures/runs/
    python docs/paper_check.py --cells ss --sectors 2,2 --runs-dir docs/figures/runs/sectors_2x2
        # the same configs on the sector engine ([parallel] sectors = [2, 2], one thread)
    python docs/paper_check.py --cells ss --n-seeds 2 --bare-metal-overpotential 0.1 \
        --runs-dir docs/figures/runs/bare_0.1V
        # cathode oxidations split by surface, nucleation on bare metal 0.1 V harder

Cost on 2 cores at --jobs 2 (the default; one core per run, benchmarks/RESULTS.md): per
seed the ss pair 170 + 26 s, the lfp pair 323 + 17 s, the cv pair ~2000 + ~320 s of runs
(measured 2026-12-03 with both cores busy; ~45 min of CPU, ~25 min of wall) and about
2.5 min of CPU of analysis (four analyses per pair); the default 4 seeds about 1.5 h,
ss and lfp alone about 20 min. Runs are
docs/figures/runs/NAME_seedS.h5 (shared with docs/calibrate_transport.py, whose fits
start on seeds 1-4); ``--reuse`` keeps complete run files of the right seed.

Per row: membrane resistance: ``membrane_ratio`` (polymerized / pristine) and
``membrane_reduction_percent`` are the full model; ``membrane_ratio_pt_only`` the same
with the diluent's effect on the PEO recrystallization switched off (loading 0: both
membranes recrystallize like the pristine one), so what is left is the PT layers
shortening the ionic path; ``membrane_ratio_crystallinity`` = full / PT-only.
Interfacial resistance: ``interfacial_fold_reduction`` (pristine / polymerized), the
electroactive area (electrolyte faces of the cathode and its connected PT, per geometric
area) and the contact fraction behind it. PT: ``pt_sites_cathode``, ``pt_sites_anode``,
``pt_sites_floating`` at the end of the polymerized run; ``cathode_pt_clusters`` counts
the face-connected clusters of cathode PT, with their mean and largest size (sites):
many small clusters are a scatter of particles, one cluster a continuous layer. Pairs
[pristine, polymerized] are aggregated element by element.

Prints the per-seed rows and the aggregate of each cell (stdout) and writes them all as
JSON to ``--output`` (default docs/figures/runs/paper_check.json). The SS membrane ratio
and the pristine LiFePO4 R_i are calibrated on seed means (docs/calibrate_transport.py);
the rest are predictions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from calibrate_transport import (  # noqa: E402  (docs/ is on the path)
    RUNS,
    ensure_seed_runs,
    log,
    pmap,
    seed_stats,
    worker_pool,
)

import kmc  # noqa: E402
from kmc import phases
from kmc.analysis import _analysis as analysis
from kmc.analysis import cluster_sizes  # noqa: E402
from kmc.transport._params import load_transport_parameters  # noqa: E402

CELLS = {"ss": "ss_galvanostatic", "lfp": "lfp_galvanostatic", "cv": "cv_symmetric"}
REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
DEFAULT_SEEDS = (1, 2, 3, 4)
PAIRS = (  # [pristine, polymerized] quantities of the analysis summaries
    "membrane_resistance_ohm", "interfacial_resistance_ohm", "crystalline_fraction",
    "diluent_volume_fraction", "crystallization_half_time_s", "pt_layer_thickness_m",
    "electroactive_area_ratio_cathode", "contact_fraction_cathode", "short_circuit",
)  # fmt: skip
# what the summary table prints per cell (the JSON has every key)
SHOWN = (
    "membrane_ratio", "membrane_reduction_percent", "membrane_ratio_pt_only",
    "membrane_ratio_crystallinity", "interfacial_fold_reduction", "membrane_resistance_ohm",
    "interfacial_resistance_ohm", "crystalline_fraction", "electroactive_area_ratio_cathode",
    "contact_fraction_cathode", "pt_sites_cathode", "pt_sites_anode", "pt_sites_floating",
    "cathode_pt_clusters", "short_circuit",
)  # fmt: skip


def ratio(num, den):
    """num / den; None when either is None (no DC value), inf for den 0."""
    if num is None or den is None:
        return None
    return num / den if den else math.inf


def cell_report(cell: str, pristine: Path, polymerized: Path, params=None) -> dict:
    """Ratios and their breakdown for one pristine/polymerized pair of run files."""
    params = params or load_transport_parameters()
    no_diluent = dataclasses.replace(
        params,
        recrystallization=dataclasses.replace(
            params.recrystallization, loading_volume_fraction=0.0
        ),
    )
    before, after = (analysis.analyze_run(p, params)[1] for p in (pristine, polymerized))
    pt_only = [analysis.analyze_run(p, no_diluent)[1] for p in (pristine, polymerized)]
    row = {"cell": cell}
    key = "membrane_resistance_ohm"
    row["membrane_ratio"] = ratio(after[key], before[key])
    r = row["membrane_ratio"]
    row["membrane_reduction_percent"] = None if r is None else 100 * (1 - r)
    row["membrane_ratio_pt_only"] = ratio(pt_only[1][key], pt_only[0][key])
    row["membrane_ratio_crystallinity"] = ratio(
        row["membrane_ratio"], row["membrane_ratio_pt_only"]
    )
    key = "interfacial_resistance_ohm"
    row["interfacial_fold_reduction"] = ratio(before[key], after[key])
    for q in PAIRS:
        row[q] = [before[q], after[q]]
    phase = kmc.open(polymerized).snapshot(-1).phase  # (z, y, x); periodic in x and y
    for name, code in (("cathode", phases.DEPOSIT_CATHODE), ("anode", phases.DEPOSIT_ANODE),
                       ("floating", phases.PT_FLOATING)):  # fmt: skip
        row[f"pt_sites_{name}"] = int((phase == code).sum())
    sizes = cluster_sizes(phase == phases.DEPOSIT_CATHODE, periodic_axes=(1, 2))
    row["cathode_pt_clusters"] = {
        "count": int(sizes.size),
        "mean_sites": float(sizes.mean()) if sizes.size else 0.0,
        "largest_sites": int(sizes[0]) if sizes.size else 0,
    }
    return row


def _stats(values) -> dict:
    """seed_stats of numbers; booleans: how many seeds are True."""
    values = list(values)
    if any(isinstance(v, bool) for v in values) and all(
        isinstance(v, bool) or v is None for v in values
    ):
        return {"n_true": sum(bool(v) for v in values), "n": len(values)}
    return seed_stats(values)


def aggregate(cell: str, rows: list[dict]) -> dict:
    """Mean, SE and n of every number of the per-seed ``rows`` of one cell."""
    out = {"cell": cell, "aggregate": True, "seeds": [r["seed"] for r in rows], "n": len(rows)}
    for key, first in rows[0].items():
        if key in ("cell", "seed"):
            continue
        if isinstance(first, list):
            out[key] = [_stats(r[key][i] for r in rows) for i in range(len(first))]
        elif isinstance(first, dict):
            out[key] = {k: _stats(r[key][k] for r in rows) for k in first}
        else:
            out[key] = _stats(r[key] for r in rows)
    return out


def _num(v) -> str:
    if v is None:
        return "None"
    if isinstance(v, bool):
        return str(v)
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def fmt_stat(s: dict) -> str:
    """'mean +- SE (n=..)'; None where no seed has a value."""
    if "n_true" in s:
        return f"{s['n_true']} of {s['n']} seeds"
    if s["mean"] is None:
        return f"None (n=0{', ' + str(s['n_none']) + ' None' if s['n_none'] else ''})"
    se = "no SE" if s["se"] is None else f"+- {s['se']:.2g}"
    none = f", {s['n_none']} None" if s["n_none"] else ""
    return f"{s['mean']:.4g} {se} (n={s['n']}{none})"


def fmt_value(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(fmt_value(x) for x in v) + "]"
    if isinstance(v, dict):
        if "mean" in v or "n_true" in v:
            return fmt_stat(v)
        return "{" + ", ".join(f"{k} {fmt_value(x)}" for k, x in v.items()) + "}"
    return _num(v)


def describe(cell: str, rows: list[dict], agg: dict) -> str:
    lines = [f"{cell} ({CELLS[cell]}), seeds {agg['seeds']}:"]
    for key in SHOWN:
        lines.append(f"  {key}:")
        for r in rows:
            lines.append(f"    seed {r['seed']}: {fmt_value(r[key])}")
        lines.append(f"    mean +- SE: {fmt_value(agg[key])}")
    return "\n".join(lines)


def check(cells, seeds, reuse: bool = False, jobs: int = 2, runs_dir: Path = RUNS,
          params=None) -> list[dict]:  # fmt: skip
    """Per-seed rows and the aggregate of each cell: [{cell, rows, aggregate}]."""
    names = [CELLS[c] for c in cells]
    pairs = [(n + suffix, s) for n in names for s in seeds for suffix in ("_pristine", "")]
    runs = ensure_seed_runs(pairs, reuse, jobs, runs_dir)
    todo = [(c, s) for c in cells for s in seeds]
    with worker_pool(jobs) as pool:
        reports = pmap(
            pool, cell_report, [c for c, _ in todo],
            [runs[CELLS[c] + "_pristine", s] for c, s in todo],
            [runs[CELLS[c], s] for c, s in todo], [params] * len(todo),
        )  # fmt: skip
    out = []
    for cell in cells:
        rows = [{"seed": s} | r for (c, s), r in zip(todo, reports, strict=True) if c == cell]
        out.append({"cell": cell, "rows": rows, "aggregate": aggregate(cell, rows)})
    return out


def _use_sector_configs(sectors: list[int], runs_dir: Path, cells) -> None:
    """Point the run helpers at configs that extend the shipped ones with
    ``[parallel] sectors = [sx, sy]`` (written to RUNS_DIR/configs/)."""
    import calibrate_transport

    if len(sectors) != 2:
        raise SystemExit(f"--sectors takes SX,SY (got {sectors})")
    d = Path(runs_dir) / "configs"
    d.mkdir(parents=True, exist_ok=True)
    for cell in cells:
        for name in (CELLS[cell], CELLS[cell] + "_pristine"):
            text = (f'base = "zheng2021_{name}"\n\n[parallel]\n'
                    f"sectors = [{sectors[0]}, {sectors[1]}]\n")  # fmt: skip
            (d / f"zheng2021_{name}.toml").write_text(text)
    calibrate_transport.CONFIGS = d


def _use_bare_metal_overpotential(eta_V: float, runs_dir: Path, cells) -> None:
    """Point the run helpers at configs in which every cathode oxidation is split by
    surface (docs/MODEL.md, "Nucleation and growth"): on the doped PT film at the shipped
    rate and onset, on the bare metal at the same k0 and alpha with its onset ``eta_V``
    higher (an assumption: nucleation on bare metal is harder than growth on the
    polymer, Hillman and Mallen 1987; the size of the step is not measured). The
    pristine twins are the shipped ones (written to RUNS_DIR/configs/)."""
    import tomllib

    import calibrate_transport

    from kmc.sweeps._toml import dumps

    d = Path(runs_dir) / "configs"
    d.mkdir(parents=True, exist_ok=True)
    for cell in cells:
        name = CELLS[cell]
        data = tomllib.loads((REPO_CONFIGS / f"zheng2021_{name}.toml").read_text())
        for sp in data["species"]:
            split = []
            for r in sp.get("reactions", []):
                if r["electrode"] != "cathode" or "onset_potential_V" not in r:
                    split.append(r)
                    continue
                onset = r["onset_potential_V"] + eta_V
                bare = dict(r, surface="electrode", onset_potential_V=onset)
                split += [bare, dict(r, surface="film")]
            if split:
                sp["reactions"] = split
        (d / f"zheng2021_{name}.toml").write_text(
            f"# zheng2021_{name} with the bare cathode's onsets {eta_V:g} V above the film's\n"
            + dumps(data)
        )
        pristine = f"zheng2021_{name}_pristine"
        (d / f"{pristine}.toml").write_text(f'base = "{pristine}"\n')
    calibrate_transport.CONFIGS = d


def _seed_list(text: str) -> list[int]:
    return [int(s) for s in text.replace(" ", "").split(",") if s]


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--reuse", action="store_true", help="reuse runs in docs/figures/runs/")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--seeds", type=_seed_list, help="e.g. 1,2,3,4 (default 1-4)")
    g.add_argument("--n-seeds", type=int, help="seeds 1..N")
    p.add_argument("--cells", type=lambda t: t.split(","), default=list(CELLS),
                   help="comma list of ss, lfp, cv (default all)")  # fmt: skip
    p.add_argument("--jobs", type=int, default=2, help="parallel runs and analyses (default 2)")
    p.add_argument("--runs-dir", type=Path, default=RUNS)
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="JSON report (default RUNS_DIR/paper_check.json)")  # fmt: skip
    p.add_argument("--sectors", type=_seed_list, default=None,
                   help="SX,SY: run every config on the sector engine with this layout "
                        "(configs in RUNS_DIR/configs/ extend the shipped ones)")  # fmt: skip
    p.add_argument("--bare-metal-overpotential", type=float, default=None, metavar="V",
                   help="split each cathode oxidation by surface: the bare metal's onset V "
                        "above the film's (configs in RUNS_DIR/configs/)")  # fmt: skip
    args = p.parse_args(argv)
    if args.sectors is not None and args.bare_metal_overpotential is not None:
        p.error("--sectors and --bare-metal-overpotential do not combine (rates per surface "
                "run on the serial engine)")  # fmt: skip
    if args.bare_metal_overpotential is not None:
        _use_bare_metal_overpotential(args.bare_metal_overpotential, args.runs_dir, args.cells)
    if args.output is None:
        args.output = args.runs_dir / "paper_check.json"
    if args.sectors is not None:
        _use_sector_configs(args.sectors, args.runs_dir, args.cells)
    bad = set(args.cells) - set(CELLS)
    if bad:
        p.error(f"unknown cell(s) {sorted(bad)}; choose from {list(CELLS)}")
    seeds = args.seeds or (list(range(1, args.n_seeds + 1)) if args.n_seeds else DEFAULT_SEEDS)
    report = check(args.cells, list(seeds), args.reuse, args.jobs, args.runs_dir)
    for cell in report:
        print(describe(cell["cell"], cell["rows"], cell["aggregate"]), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    log(f"wrote {args.output}")
    return report


if __name__ == "__main__":
    main()
