"""Regenerate every figure of the gallery from the shipped configs into docs/figures/.

    python docs/gallery.py            # runs what it needs (about two minutes), then plots

Runs go to docs/figures/runs/ (ignored by git); figures are PNGs next to this script.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import kmc  # noqa: E402
from kmc import plot as kplot  # noqa: E402

HERE = Path(__file__).parent
FIGURES = HERE / "figures"
RUNS = FIGURES / "runs"
REPO = HERE.parent


def _kmc(*args) -> None:
    subprocess.run([sys.executable, "-m", "kmc", *map(str, args)], check=True)


def main() -> None:
    RUNS.mkdir(parents=True, exist_ok=True)
    quick = RUNS / "quickstart.h5"
    _kmc("run", REPO / "configs/examples/quickstart.toml", "-o", quick, "--overwrite",
         "--progress", "off")  # fmt: skip
    _kmc("analyze", quick)
    run = kmc.open(quick)
    for kind, fn in kplot.KINDS.items():
        if kind == "bode":  # needs a `kmc impedance` spectrum (minutes); paper_figures.py
            continue  # draws the simulated spectra
        result = fn(run)
        ax = result[0] if hasattr(result, "__len__") else result
        ax.figure.savefig(FIGURES / f"quickstart_{kind}.png", dpi=110)
        plt.close(ax.figure)
        print("wrote", FIGURES / f"quickstart_{kind}.png")
    morphology_map()


def morphology_map() -> None:
    """Phase diagram of the Damkoehler x loading sweep: coverage and box dimension."""
    sweep_dir = RUNS / "damkohler_loading"
    _kmc("sweep", "run", REPO / "configs/sweeps/damkohler_loading.toml", "-o", sweep_dir,
         "--progress", "off")  # fmt: skip
    _kmc("sweep", "collect", sweep_dir)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    for ax, metric in zip(axes, ("coverage_cathode", "deposit_box_dimension_cathode"), strict=True):
        kplot.sweep(sweep_dir, "damkohler_monomer_cathode", metric,
                    y="species[0].initial_occupancy", ax=ax, logx=True, logy=True)  # fmt: skip
        ax.set_xlabel("Damköhler number Da = k a²/D (1)")
        ax.set_ylabel("monomer loading (site occupancy, 1)")
    fig.savefig(FIGURES / "sweep_damkohler_loading.png", dpi=110)
    plt.close(fig)
    print("wrote", FIGURES / "sweep_damkohler_loading.png")


if __name__ == "__main__":
    main()
