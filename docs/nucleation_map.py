"""Morphology map of nucleation and growth: the points of configs/sweeps/nucleation_map.toml
(growth on the doped PT film at Da = 1, 10, 100 against nucleation on bare metal at
Da = 10, 0.1, 0.001; base configs/examples/nucleation.toml), run in-process over seeds,
with the markers of each regime measured on the final cathode deposit:

* clusters per um^2: 6-connected PT clusters (periodic in x and y) per electrode area;
* nuclei per aggregate: oxidations on bare metal (each starts a nucleus, or joins a
  neighbour's cluster when it lands next to one) per cluster;
* mass-radius dimension D: mass M(r) of the largest aggregate within r of its site
  nearest its centre of mass (minimum image in x, y), D = slope of log M against log r
  over 1.5 <= r <= R_g; 3 for a compact hemisphere, 2 for a flat island, about 2.5 for
  DLA-like growth;
* mean D over aggregates: the same dimension averaged over every aggregate of at least
  50 sites (a wide lattice holds many; their spread is the error bar of one aggregate's D);
* coverage: fraction of the cathode face under PT.

Prints a table (means over seeds), writes docs/figures/nucleation_map.png (top views of
the deposit height, one seed) and JSON beside it. Results: docs/MODEL.md, "Nucleation
and growth".

    python docs/nucleation_map.py              # 3 seeds, about 1 min on one core
    python docs/nucleation_map.py --seeds 1
    # the same points on 256 x 256 columns (6.4 x 6.4 um) through the sector engine;
    # writes docs/figures/nucleation_map_256.png/.json (about 25 min on one thread)
    python docs/nucleation_map.py --columns 256 --sectors 4,4 --threads 1
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import kmc
from kmc import phases
from kmc.config import parse_config
from kmc.simulation import deposit_height
from kmc.sweeps import load_sweep, plan
from kmc.sweeps._toml import dumps as toml_dumps
from kmc.transport import label_periodic

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "configs" / "sweeps" / "nucleation_map.toml"
FIGURE = ROOT / "docs" / "figures" / "nucleation_map.png"


MIN_AGGREGATE_SITES = 50  # below this a mass-radius slope has too few radii to mean much


def aggregate_dimensions(mask: np.ndarray, labels: np.ndarray) -> tuple[float, float, int]:
    """Mass-radius D of the largest aggregate, the mean D over every aggregate of at least
    MIN_AGGREGATE_SITES sites, and their number (D nan where none is that large)."""
    ids, counts = np.unique(labels[mask], return_counts=True)
    big = ids[counts >= MIN_AGGREGATE_SITES]
    if big.size == 0:
        return float("nan"), float("nan"), 0
    dims = np.array([_aggregate_dimension(labels == i) for i in big])
    largest = ids[np.argmax(counts)]
    return float(dims[np.flatnonzero(big == largest)[0]]), float(dims.mean()), int(big.size)


def _aggregate_dimension(member: np.ndarray) -> float:
    z, y, x = np.nonzero(member)
    ny, nx = member.shape[1:]
    pts = np.stack([z, y, x], axis=1).astype(float)
    # centre of mass with periodic x and y (circular means), then minimum-image offsets
    for k, n in ((1, ny), (2, nx)):
        ang = pts[:, k] * 2 * np.pi / n
        centre = np.arctan2(np.sin(ang).mean(), np.cos(ang).mean()) * n / (2 * np.pi)
        d = pts[:, k] - centre
        pts[:, k] = d - n * np.round(d / n)
    pts[:, 0] -= pts[:, 0].mean()
    r_g = np.sqrt((pts**2).sum(axis=1).mean())
    # about the aggregate's site nearest its centre of mass (a branched aggregate's
    # centre of mass may lie in the electrolyte between its branches)
    origin = pts[np.argmin((pts**2).sum(axis=1))]
    r = np.sqrt(((pts - origin) ** 2).sum(axis=1))
    radii = np.geomspace(1.5, max(r_g, 2.0), 8)
    mass = np.array([(r <= q).sum() for q in radii])
    return float(np.polyfit(np.log(radii), np.log(mass), 1)[0])


def markers(path: Path) -> dict:
    run = kmc.open(path)
    snap = run.snapshot(-1)
    pt = snap.phase == phases.DEPOSIT_CATHODE
    labels, n_clusters = label_periodic(pt)
    nz, ny, nx = pt.shape
    area_um2 = nx * ny * (run.spacing_m * 1e6) ** 2
    total = run.series("reaction_events").values[-1][0, 0]
    film = run.series("reaction_events_on_film").values[-1][0, 0]
    coverage = float(run.series("coverage").values[-1][0])
    bare = int(total - film)
    d_largest, d_mean, n_big = aggregate_dimensions(pt, labels)
    return {
        "clusters_per_um2": n_clusters / area_um2,
        "mean_aggregate_dimension": d_mean,
        "aggregates_of_50_sites": n_big,
        "nuclei_per_aggregate": bare / n_clusters if n_clusters else float("nan"),
        "mass_radius_dimension": d_largest,
        "coverage": coverage,
        "pt_sites": int(pt.sum()),
        "height": deposit_height(snap.phase, run.model, 0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,2,3", help="comma-separated seeds (default 1,2,3)")
    ap.add_argument(
        "--columns",
        type=int,
        default=None,
        help="lattice columns per side (default: the base config's 64)",
    )
    ap.add_argument("--sectors", default=None, help="SX,SY: run on the sector engine")
    ap.add_argument("--threads", type=int, default=None, help="sector engine threads")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    spec, base, _ = load_sweep(SWEEP)
    points = plan(spec, base)
    figure = FIGURE
    if args.columns is not None:
        figure = FIGURE.with_name(f"{FIGURE.stem}_{args.columns}{FIGURE.suffix}")
    for p in points:
        if args.columns is not None:
            p.config["lattice"]["shape"][:2] = [args.columns, args.columns]
        if args.sectors is not None:
            p.config["parallel"] = {"sectors": [int(v) for v in args.sectors.split(",")]}
    rows, heights = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for p in points:
            text = toml_dumps(p.config)
            cfg = parse_config(text)
            k_bare, k_film = (r.rate_per_s for r in cfg.species[0].reactions)
            gamma = cfg.species[0].diffusivity_m2_per_s / cfg.lattice.spacing_m**2
            per_seed = []
            for seed in seeds:
                out = Path(tmp) / f"{p.name}_{seed}.h5"
                t0 = time.perf_counter()
                kmc.run_simulation(cfg, text, out, seed=seed, progress="off",
                                   threads=args.threads)  # fmt: skip
                per_seed.append(markers(out) | {"wall_s": time.perf_counter() - t0})
            row = {"da_film": k_film / gamma, "da_bare": k_bare / gamma,
                   "growth_over_nucleation": k_film / k_bare, "seeds": len(seeds)}  # fmt: skip
            shape = cfg.lattice.shape
            row["columns"] = [shape[0], shape[1]]
            row["sectors"] = cfg.parallel.sectors if cfg.parallel is not None else None
            for key in ("clusters_per_um2", "nuclei_per_aggregate", "mass_radius_dimension",
                        "mean_aggregate_dimension", "aggregates_of_50_sites", "coverage",
                        "pt_sites", "wall_s"):  # fmt: skip
                vals = np.array([m[key] for m in per_seed], dtype=float)
                row[key] = float(np.nanmean(vals))
                row[key + "_se"] = float(np.nanstd(vals, ddof=1) / np.sqrt(vals.size)) if (
                    vals.size > 1) else float("nan")  # fmt: skip
            rows.append(row)
            heights[(row["da_film"], row["da_bare"])] = per_seed[0]["height"]
            print(f"Da film {row['da_film']:6.3g}  Da bare {row['da_bare']:6.3g}  "
                  f"G {row['growth_over_nucleation']:8.3g}  clusters/um2 "
                  f"{row['clusters_per_um2']:7.2f}  nuclei/aggregate "
                  f"{row['nuclei_per_aggregate']:6.2f}  D {row['mass_radius_dimension']:5.2f}"
                  f"  mean D {row['mean_aggregate_dimension']:5.2f}"
                  f" ({row['aggregates_of_50_sites']:.0f} aggr.)"
                  f"  coverage {row['coverage']:.3f}", flush=True)  # fmt: skip
    figure.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    lattice = points[0].config["lattice"]
    _draw(rows, heights, figure, side_um=lattice["shape"][0] * lattice["spacing_m"] * 1e6)


def _draw(rows, heights, figure: Path, side_um: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    films = sorted({f for f, _ in heights})
    bares = sorted({b for _, b in heights}, reverse=True)
    fig, axes = plt.subplots(len(bares), len(films), figsize=(3.2 * len(films), 3.3 * len(bares)),
                             layout="constrained")  # fmt: skip
    top = max(h.max() for h in heights.values())
    by_key = {(r["da_film"], r["da_bare"]): r for r in rows}
    for i, db in enumerate(bares):
        for j, df in enumerate(films):
            ax = axes[i, j]
            im = ax.imshow(heights[(df, db)], origin="lower", cmap="viridis", vmin=0, vmax=top)
            r = by_key[(df, db)]
            g = r["growth_over_nucleation"]
            ax.set_title(f"Da film {df:.3g}, bare {db:.3g} (G = {g:.0e})\n"
                         f"{r['clusters_per_um2']:.1f}/µm², {r['nuclei_per_aggregate']:.1f} "
                         f"nuclei/aggr., D {r['mass_radius_dimension']:.2f}, "
                         f"cov. {r['coverage']:.2f}", fontsize=7)  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.6, label="deposit height (sites of 25 nm)")
    fig.suptitle("Nucleation (bare metal) against growth (PT film): deposit height, top "
                 f"view of {side_um:.3g} × {side_um:.3g} µm", fontsize=9)  # fmt: skip
    fig.savefig(figure, dpi=110)
    print(f"wrote {figure}")


if __name__ == "__main__":
    main()
