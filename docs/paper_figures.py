"""Run the paper configs and draw the figures of docs/CHEMISTRY.md into docs/figures/.

    python docs/paper_figures.py           # runs 4 paper configs (~20 min), plots
    python docs/paper_figures.py --reuse   # plot from runs already in docs/figures/runs/

Runs go to docs/figures/runs/ (ignored by git).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from calibrate_transport import ensure_runs  # noqa: E402  (docs/ is on the path)

import kmc  # noqa: E402
from kmc import plot as kplot  # noqa: E402

HERE = Path(__file__).parent
FIGURES = HERE / "figures"
PAPER = ("ss_galvanostatic", "lfp_galvanostatic", "cv_symmetric")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reuse", action="store_true", help="plot existing runs, run none")
    args = p.parse_args(argv)
    runs = ensure_runs([*PAPER, "lfp_galvanostatic_pristine"], args.reuse)
    for name in PAPER:
        out = runs[name]
        run = kmc.open(out)
        fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
        kplot.cross_section(run, ax=axes[0])
        kplot.top_view(run, ax=axes[1], electrode="cathode")
        kplot.profile(run, ax=axes[2])
        for ax in axes:
            ax.title.set_fontsize(9)  # the narrow cross-section's title fits its axes
        fig.suptitle(f"zheng2021_{name}: end of the protocol")
        fig.savefig(FIGURES / f"paper_{name}.png", dpi=100)
        plt.close(fig)
        axes = kplot.timeseries(run)
        axes[0].figure.savefig(FIGURES / f"paper_{name}_timeseries.png", dpi=90)
        plt.close(axes[0].figure)
        print("wrote", FIGURES / f"paper_{name}.png")
    _lfp_nyquist(runs["lfp_galvanostatic_pristine"], runs["lfp_galvanostatic"])


def _lfp_nyquist(pristine: Path, polymerized: Path) -> None:
    """Impedance of the LiFePO4 cell before and after polymerization (the paper's EIS
    comparison) from the estimator's membrane and interfacial resistances."""
    for path in (pristine, polymerized):
        subprocess.run([sys.executable, "-m", "kmc", "analyze", str(path)], check=True,
                       capture_output=True)  # fmt: skip
    ax = kplot.nyquist(kmc.open(polymerized), compare=kmc.open(pristine))
    ax.set_title("LiFePO4||Li at 40 °C, pristine vs polymerized (paper R_i: 13040 → 1765 Ω)",
                 fontsize=10)  # fmt: skip
    ax.figure.savefig(FIGURES / "paper_lfp_nyquist.png", dpi=100)
    plt.close(ax.figure)
    print("wrote", FIGURES / "paper_lfp_nyquist.png")


if __name__ == "__main__":
    main()
