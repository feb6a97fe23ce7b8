"""Lattice-spacing convergence of the paper scenarios: the SS or LiFePO4 cell of
``configs/zheng2021_*`` at a = 50, 25 and 12.5 nm over the same physical box, a cut of
its protocol, over seeds.

The paper configs give their chemistry in physical units (docs/MODEL.md,
"Coarse-graining"), so a change of ``lattice.spacing_m`` keeps k0, k_bi, k_s and the
loading and re-derives the lattice numbers; the packet stays 0.02 units per site. The
box (x, y, z extents and the membrane gate's height) is the shipped one at 25 nm, so the
shape scales as 1/a. A run costs ~a^-5 at this packet (12.5 nm: ~32x the 25 nm run), so
the protocol is cut to ``--duration`` seconds of simulated time (the LiFePO4 cell's
first 100 s: its first oxidation and growth at the particles, before the first cycle
ends; the full protocol runs to 4000 s; the SS cell's 300 cycles end within 300 s).
Runs are kept in ``--runs-dir`` and reused when their config is the same.

Per seed: the polymerized run and its pristine twin (same seed, so the same particles
and membrane face), both analyzed with the shipped transport parameters (their
measurement states). Metrics: PT amount (mol of monomer in PT per m^2 of electrode), the
cathode film's mean thickness (m), its coverage, the cathode's contact fraction, the
membrane resistance ratio (polymerized / pristine) and the interfacial ratio (pristine /
polymerized R_i: the fold; none for the blocking SS cathode). Prints the means +- SE per
spacing and the relative difference of 25 against 12.5 nm; writes JSON. Results:
docs/CHEMISTRY.md, "Convergence of the paper scenarios".

    # the runs of docs/CHEMISTRY.md, "Convergence of the paper scenarios in the spacing"
    python docs/convergence_paper.py --cell lfp --spacings 25,12.5 --seeds 1,2 --duration 100
    python docs/convergence_paper.py --cell ss --spacings 50,25 --seeds 1,2,3,4 --duration 300
    python docs/convergence_paper.py --cell ss --spacings 50,25,12.5 --seeds 1 --duration 300

The LiFePO4 cell does not run at 50 nm: its smallest particles (50 nm) need a <= 25 nm
(a named error).
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from convergence_spacing import (  # docs/ is the script's directory
    aggregate,
    deposit_metrics,
    kmc_run,
    print_refinement,
    print_study,
)

from kmc.analysis._analysis import analyze_run
from kmc.config import load_config
from kmc.transport._params import load_transport_parameters

ROOT = Path(__file__).resolve().parents[1]
CELLS = {"ss": "zheng2021_ss_galvanostatic", "lfp": "zheng2021_lfp_galvanostatic"}
METRICS = ("pt_mol_per_m2", "film_thickness_mean_m", "coverage", "contact_fraction",
           "membrane_ratio", "interfacial_fold")  # fmt: skip


def config_at(cell: str, spacing_nm: float, duration_s: float, pristine: bool) -> str:
    """The shipped cell at ``spacing_nm`` over its own box, cut to ``duration_s``."""
    name = CELLS[cell] + ("_pristine" if pristine else "")
    cfg, _ = load_config(ROOT / "configs" / f"{name}.toml")
    a0, a = cfg.lattice.spacing_m, spacing_nm / 1e9
    shape = [round(n * a0 / a) for n in cfg.lattice.shape]
    gate = round(cfg.membrane.gate_z * a0 / a)
    sample = min(cfg.run.sample_interval_s, duration_s)
    return (f'base = "{name}"\n[lattice]\nshape = {shape}\nspacing_m = {a!r}\n'
            f"[membrane]\ngate_z = {gate}\n[run]\nduration_s = {duration_s!r}\n"
            f"sample_interval_s = {sample!r}\n")  # fmt: skip


def _run(text: str, out: Path, seed: int) -> None:
    """``kmc run`` of ``text`` into ``out``, unless ``out`` already holds that run."""
    cfg = out.with_suffix(".toml")
    if out.exists() and cfg.exists() and cfg.read_text() == text:
        return  # reused: analyses are recomputed, runs are not
    cfg.write_text(text)
    kmc_run(cfg, out, seed)  # a named error (say, a spacing that does not resolve the
    # particles) ends the study with its message


def run_pair(cell: str, spacing_nm: float, seed: int, duration_s: float, workdir: Path):
    params = load_transport_parameters()
    summaries = {}
    for pristine in (True, False):
        tag = f"{cell}_a{spacing_nm:g}_{duration_s:g}s_seed{seed}"
        out = workdir / f"{tag}{'_pristine' if pristine else ''}.h5"
        _run(config_at(cell, spacing_nm, duration_s, pristine), out, seed)
        summaries[pristine] = analyze_run(out, params)[1]
    r_i = [summaries[p]["interfacial_resistance_ohm"] for p in (True, False)]
    return {
        "cell": cell, "spacing_nm": spacing_nm, "seed": seed, "duration_s": duration_s,
        **deposit_metrics(out),  # the polymerized run
        "membrane_ratio": summaries[False]["membrane_resistance_ohm"]
        / summaries[True]["membrane_resistance_ohm"],
        "interfacial_fold": r_i[0] / r_i[1] if None not in r_i else float("nan"),
    }  # fmt: skip


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", choices=sorted(CELLS), default="lfp")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--spacings", default="50,25,12.5", help="nm, comma-separated")
    ap.add_argument("--duration", type=float, default=100.0, help="simulated s (default 100)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("-o", "--output", default=None, help="JSON (default: "
                    "docs/figures/runs/convergence_paper_CELL.json)")  # fmt: skip
    ap.add_argument("--runs-dir", type=Path, default=ROOT / "docs/figures/runs/convergence_paper",
                    help="where the runs are kept and reused (default: %(default)s)")  # fmt: skip
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    spacings = sorted(float(s) for s in args.spacings.split(","))  # finest (longest) first
    tasks = [(a, s) for a in spacings for s in seeds]
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:

        def pair(task):
            return run_pair(args.cell, task[0], task[1], args.duration, args.runs_dir)

        rows = list(pool.map(pair, tasks))
    agg = aggregate(rows, metrics=METRICS)
    print_study(rows, agg, "a = {} nm", METRICS)
    print_refinement(agg, METRICS)
    out = Path(args.output or ROOT / f"docs/figures/runs/convergence_paper_{args.cell}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cell": args.cell, "rows": rows, "aggregate": agg}, indent=1))


if __name__ == "__main__":
    main()
