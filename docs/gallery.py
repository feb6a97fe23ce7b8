"""Regenerate every figure of the gallery from the shipped configs into docs/figures/.

    python docs/gallery.py            # runs the configs it needs (a minute), then plots

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
        result = fn(run)
        ax = result[0] if hasattr(result, "__len__") else result
        ax.figure.savefig(FIGURES / f"quickstart_{kind}.png", dpi=110)
        plt.close(ax.figure)
        print("wrote", FIGURES / f"quickstart_{kind}.png")


if __name__ == "__main__":
    main()
