"""Lattice-spacing convergence of the chemistry in physical units: the same physical cell
at a = 50, 25 and 12.5 nm, over seeds.

The cell is ``configs/examples/physical_units.toml`` (the SS chemistry, physical form: a
flat blocking cathode held at 2.3 V for 20 s). Its box, 0.4 x 0.4 x 0.8 um with the
membrane's gate at 0.4 um, is kept, so the shape scales as 1/a; the per-site rates follow
from the physical ones (docs/MODEL.md, "Coarse-graining"). The packet is held in one of
two ways (``--packet``): ``occupancy`` (default) keeps the config's 0.02 units per site,
so the molecules per unit scale as a^3 and a site of PT holds the same mass per volume at
every a; ``molecules`` keeps 67915 molecules per unit (the config's packet at 25 nm), so
the occupancy scales as a^3 and every a holds the same number of units. Per run: the PT
amount (mol of monomer in PT per m^2 of electrode), the cathode film's mean thickness
(m), its coverage of the face and the cathode's contact fraction, at the end. Prints
per-spacing means +- standard errors (n seeds) and the relative difference of 25 and
12.5 nm; writes JSON. Results: docs/MODEL.md, "Coarse-graining".

``--packet-factors 4,1,0.25`` runs the packet study instead: the first spacing given
only (default 25 nm) with the packet at those multiples of 67915 molecules per unit (the
occupancy follows as 1/factor), the same metrics per factor.

    python docs/convergence_spacing.py                    # seeds 1-4, ~6 min on 2 cores
    python docs/convergence_spacing.py --packet molecules # ~5 min
    python docs/convergence_spacing.py --seeds 1,2 --spacings 25,12.5
    python docs/convergence_spacing.py --spacings 25 --packet-factors 4,1,0.25  # ~2 min

This is a short potentiostatic cut, not the paper's galvanostatic protocol: at a held
occupancy a run costs ~a^-5 (12.5 nm: 32x the 25 nm run), so the paper scenarios at
12.5 nm are left for a longer study.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kmc._constants import AVOGADRO_PER_MOL
from kmc.config import load_config
from kmc.runfile import _run as kmc_runfile
from kmc.runfile import run_info

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "examples" / "physical_units.toml"
# the example's packet at its own spacing (25 nm): 67915 molecules per unit
MOLECULES_PER_UNIT = load_config(CONFIG)[0].chemistry.electrons_per_oxidation
BOX_M = (0.4e-6, 0.4e-6, 0.8e-6)
GATE_M = 0.4e-6


def config_at(spacing_nm: float, packet: str = "occupancy", factor: float = 1.0) -> str:
    """The example cell at spacing ``spacing_nm``, same box. ``packet``: 'occupancy'
    keeps the config's 0.02 units per site (the packet scales as a^3, so a site of PT
    holds the same mass per volume at every a); 'molecules' keeps 67915 molecules per
    unit (the occupancy scales as a^3: a PT site of a^3 then holds the same molecules in
    a different volume). ``factor`` multiplies the molecules per unit ('molecules')."""
    a = spacing_nm / 1e9
    shape = [round(L / a) for L in BOX_M]
    text = CONFIG.read_text()
    text = re.sub(r"(?m)^shape = .*$", f"shape = {shape}", text)
    text = re.sub(r"(?m)^spacing_m = .*$", f"spacing_m = {a!r}", text)
    text = re.sub(r"(?m)^gate_z = .*$", f"gate_z = {round(GATE_M / a)}", text)
    if packet == "occupancy":
        return text
    text = re.sub(r"(?m)^initial_occupancy = .*$", "", text)
    return text.replace(
        "precipitation_length",
        f"molecules_per_unit = {round(factor * MOLECULES_PER_UNIT)}\nprecipitation_length",
    )


def run_one(spacing_nm: float, seed: int, workdir: Path, packet: str, factor: float = 1.0):
    cfg = workdir / f"a{spacing_nm:g}nm_x{factor:g}.toml"
    out = workdir / f"a{spacing_nm:g}nm_x{factor:g}_seed{seed}.h5"
    if not cfg.exists():
        cfg.write_text(config_at(spacing_nm, packet, factor))
    kmc_run(cfg, out, seed)
    return {"spacing_nm": spacing_nm, "packet_factor": factor, "seed": seed} | deposit_metrics(out)


def kmc_run(cfg: Path, out: Path, seed: int) -> None:
    """``kmc run CFG -o OUT --seed SEED`` on one thread; its named error ends the study."""
    cmd = [sys.executable, "-m", "kmc", "run", str(cfg), "-o", str(out), "--seed", str(seed),
           "--progress", "off", "--threads", "1"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{out.name}: {res.stderr.strip()}")


def deposit_metrics(out: Path) -> dict:
    """The cathode deposit at the end of run file ``out`` and the run's cost: PT amount
    (mol of monomer per m^2 of electrode), film mean thickness (m), coverage, contact
    fraction, wall time (s), events, columns, molecules per unit."""
    run = kmc_runfile.open(out)
    a = run.spacing_m
    nx, ny, _ = run.model.dims
    pt_units = float(run.series("pt_units").values[-1])
    molecules = run.config.chemistry.electrons_per_oxidation  # one electron per molecule
    info = run_info(out)  # the cost, for the README's spacing and area table
    return {
        "wall_s": info["wall_seconds"],
        "events": info["events"],
        "columns": nx * ny,
        "molecules_per_unit": molecules,
        "pt_mol_per_m2": pt_units * molecules / AVOGADRO_PER_MOL / (nx * ny * a * a),
        "film_thickness_mean_m": float(run.series("film_thickness_mean").values[-1][0]),
        "coverage": float(run.series("coverage").values[-1][0]),
        "contact_fraction": float(run.series("contact_fraction").values[-1][0]),
    }


METRICS = ("pt_mol_per_m2", "film_thickness_mean_m", "coverage", "contact_fraction")


def aggregate(rows: list[dict], key: str = "spacing_nm", metrics=METRICS) -> dict:
    """Mean and standard error of each metric per value of ``key`` (largest first)."""
    out = {}
    for a in sorted({r[key] for r in rows}, reverse=True):
        sel = [r for r in rows if r[key] == a]
        entry = {"n": len(sel), "wall_s": float(np.mean([r["wall_s"] for r in sel]))}
        for m in metrics:
            v = np.array([r[m] for r in sel], dtype=float)
            se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else float("nan")
            entry[m] = {"mean": float(v.mean()), "se": se}
        out[f"{a:g}"] = entry
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,2,3,4")
    ap.add_argument("--spacings", default="50,25,12.5", help="nm, comma-separated")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--packet",
        choices=("occupancy", "molecules"),
        default="occupancy",
        help="hold the units per site (default) or the molecules per unit",
    )
    ap.add_argument(
        "-o", "--output", default=str(ROOT / "docs/figures/runs/convergence_spacing.json")
    )
    ap.add_argument("--packet-factors", default=None,
                    help="the packet study: molecules per unit at these multiples of 67915 "
                    "at the first spacing given")  # fmt: skip
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    spacings = [float(s) for s in args.spacings.split(",")]
    if args.packet_factors:
        factors = sorted(float(f) for f in args.packet_factors.split(","))
        a = spacings[0]  # smallest packet (longest run) first
        tasks = [(a, s, "molecules", f) for f in factors for s in seeds]
        rows, agg = _study(tasks, args.jobs, "packet_factor", f"packet x{{}} at a = {a:g} nm")
        out = Path(args.output).with_name("convergence_packet.json")
        record = {"spacing_nm": a, "rows": rows, "aggregate": agg}
    else:
        tasks = [(a, s, args.packet, 1.0) for a in sorted(spacings) for s in seeds]
        rows, agg = _study(tasks, args.jobs, "spacing_nm", "a = {} nm")  # finest first
        print_refinement(agg)
        out = Path(args.output)
        record = {"packet": args.packet, "rows": rows, "aggregate": agg}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))


def _study(tasks, jobs: int, key: str, label: str) -> tuple[list[dict], dict]:
    """Run ``tasks`` (spacing nm, seed, packet, factor) in a pool; print every row and the
    means +- SE per value of ``key`` (``label`` formatted with it)."""
    with tempfile.TemporaryDirectory() as tmp:
        with ThreadPoolExecutor(jobs) as pool:
            rows = list(pool.map(lambda t: run_one(t[0], t[1], Path(tmp), t[2], t[3]), tasks))
    agg = aggregate(rows, key)
    print_study(rows, agg, label)
    return rows, agg


def print_study(rows: list[dict], agg: dict, label: str, metrics=METRICS) -> None:
    """Every row, then the means +- SE per value (``label`` formatted with it)."""
    for r in rows:
        print(json.dumps(r))
    for v, e in agg.items():
        cells = ", ".join(f"{m} {e[m]['mean']:.4g} +- {e[m]['se']:.2g}" for m in metrics)
        print(f"{label.format(v)} (n = {e['n']}, {e['wall_s']:.0f} s per run): {cells}")


def print_refinement(agg: dict, metrics=METRICS) -> None:
    """How far the 25 nm means lie from the 12.5 nm ones (when both were run)."""
    if "25" in agg and "12.5" in agg:
        for m in metrics:
            f, c = agg["12.5"][m]["mean"], agg["25"][m]["mean"]
            print(f"{m}: 25 vs 12.5 nm differ by {100 * (c - f) / f:+.1f} %")


if __name__ == "__main__":
    main()
