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
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from convergence_spacing import aggregate  # docs/ is the script's directory

from kmc._constants import AVOGADRO_PER_MOL
from kmc.analysis._analysis import analyze_run
from kmc.config import load_config
from kmc.runfile import _run as kmc_runfile
from kmc.runfile import run_info
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
    cmd = [sys.executable, "-m", "kmc", "run", str(cfg), "-o", str(out), "--seed", str(seed),
           "--progress", "off", "--threads", "1"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:  # a named error (say, a spacing that does not resolve the
        raise SystemExit(f"{out.name}: {res.stderr.strip()}")  # particles): say it


def run_pair(cell: str, spacing_nm: float, seed: int, duration_s: float, workdir: Path):
    params = load_transport_parameters()
    summaries = {}
    for pristine in (True, False):
        tag = f"{cell}_a{spacing_nm:g}_{duration_s:g}s_seed{seed}"
        out = workdir / f"{tag}{'_pristine' if pristine else ''}.h5"
        _run(config_at(cell, spacing_nm, duration_s, pristine), out, seed)
        summaries[pristine] = analyze_run(out, params)[1]
    run = kmc_runfile.open(out)  # the polymerized run
    a = run.spacing_m
    nx, ny, _ = run.model.dims
    molecules = run.config.chemistry.electrons_per_oxidation  # one electron per molecule
    pt_units = float(run.series("pt_units").values[-1])
    info = run_info(out)
    r_i = [summaries[p]["interfacial_resistance_ohm"] for p in (True, False)]
    return {
        "cell": cell, "spacing_nm": spacing_nm, "seed": seed, "duration_s": duration_s,
        "wall_s": info["wall_seconds"], "events": info["events"],
        "molecules_per_unit": molecules,
        "pt_mol_per_m2": pt_units * molecules / AVOGADRO_PER_MOL / (nx * ny * a * a),
        "film_thickness_mean_m": float(run.series("film_thickness_mean").values[-1][0]),
        "coverage": float(run.series("coverage").values[-1][0]),
        "contact_fraction": float(run.series("contact_fraction").values[-1][0]),
        "membrane_ratio": summaries[False]["membrane_resistance_ohm"]
        / summaries[True]["membrane_resistance_ohm"],
        "interfacial_fold": r_i[0] / r_i[1] if None not in r_i else float("nan"),
    }  # fmt: skip


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", choices=sorted(CELLS), default="lfp")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--spacings", default="50,25,12.5", help="nm, comma-separated")
    ap.add_argument("--duration", type=float, default=150.0, help="simulated s (default 150)")
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
    for r in rows:
        print(json.dumps(r))
    agg = aggregate(rows, metrics=METRICS)
    for a, e in agg.items():
        cells = ", ".join(f"{m} {e[m]['mean']:.4g} +- {e[m]['se']:.2g}" for m in METRICS)
        print(f"a = {a} nm (n = {e['n']}, {e['wall_s']:.0f} s per run): {cells}")
    if "25" in agg and "12.5" in agg:
        for m in METRICS:
            f, c = agg["12.5"][m]["mean"], agg["25"][m]["mean"]
            print(f"{m}: 25 vs 12.5 nm differ by {100 * (c - f) / f:+.1f} %")
    out = Path(args.output or ROOT / f"docs/figures/runs/convergence_paper_{args.cell}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cell": args.cell, "rows": rows, "aggregate": agg}, indent=1))


if __name__ == "__main__":
    main()
