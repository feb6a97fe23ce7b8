"""Run the paper configs and draw the figures of docs/CHEMISTRY.md into docs/figures/.

    python docs/paper_figures.py           # runs 5 paper configs (~25 min of CPU), plots
    python docs/paper_figures.py --reuse   # plot from runs already in docs/figures/runs/
    python docs/paper_figures.py --no-nyquist  # the 3 paper runs and their figures only
                                               # (~20 min of CPU; Nyquist figures kept)

The Nyquist figures are simulated spectra (`kmc impedance`, 1e-2 to 1e6 Hz, 4 per
decade: the Kramers-Kronig test needs 4) of the LiFePO4 and SS pairs, pristine vs
polymerized, fitted with R0-p(R1,CPE1) (LiFePO4: the cathode's and the anode's arcs as
one) or R0-p(R1,CPE1)-CPE2 (SS: the Li anode's arc and the blocking SS face's
double layer, which has no resistance in parallel); their fitted R_b and R_i beside the
DC estimator's (as `kmc impedance --compare`) go to docs/figures/runs/paper_impedance.json.

    python docs/paper_figures.py --reuse --nyquist-only  # the pairs' spectra only (~15 min)

Runs go to docs/figures/runs/ (ignored by git).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from calibrate_transport import ensure_runs  # noqa: E402  (docs/ is on the path)

import kmc  # noqa: E402
from kmc import plot as kplot  # noqa: E402
from kmc.analysis import impedance_comparison  # noqa: E402
from kmc.transport._impedance import frequencies  # noqa: E402

HERE = Path(__file__).parent
FIGURES = HERE / "figures"
PAPER = ("ss_galvanostatic", "lfp_galvanostatic", "cv_symmetric")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reuse", action="store_true", help="plot existing runs, run none")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    p.add_argument("--no-nyquist", action="store_true",
                   help="skip the pristine twins and the impedance spectra (keep the Nyquist "
                   "figures as they are)")  # fmt: skip
    p.add_argument("--nyquist-only", action="store_true",
                   help="only the LiFePO4 and SS pairs' spectra and Nyquist figures")  # fmt: skip
    args = p.parse_args(argv)
    pristine = [] if args.no_nyquist else ["lfp_galvanostatic_pristine",
                                           "ss_galvanostatic_pristine"]  # fmt: skip
    papers = PAPER[:2] if args.nyquist_only else PAPER
    runs = ensure_runs([*papers, *pristine], args.reuse, jobs=args.jobs)
    for name in () if args.nyquist_only else PAPER:
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
    if args.no_nyquist:
        return
    report = {}
    for cell, label in (("lfp", "LiFePO4||Li, paper R_i: 13040 → 1765 Ω"),
                        ("ss", "SS||Li, SS blocks Li+")):  # fmt: skip
        name = f"{cell}_galvanostatic"
        report[cell] = _nyquist(runs[name + "_pristine"], runs[name], cell, label,
                                reuse=args.reuse)  # fmt: skip
    out = FIGURES / "runs" / "paper_impedance.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    print("wrote", out)


F_MIN, F_MAX, PER_DECADE = 1e-2, 1e6, 4
SPECTRUM = ["--f-min", str(F_MIN), "--f-max", str(F_MAX), "--per-decade", str(PER_DECADE)]
CIRCUITS = {"lfp": "R0-p(R1,CPE1)", "ss": "R0-p(R1,CPE1)-CPE2"}


def _nyquist(pristine: Path, polymerized: Path, cell: str, label: str,
             spectra: bool = True, reuse: bool = False) -> dict:  # fmt: skip
    """Simulated spectra of a pristine/polymerized pair in their measurement states, the
    fitted circuits drawn over them; returns both runs' fitted and DC resistances and
    the ratios polymerized / pristine (what `kmc impedance --compare` prints). Where a
    spectrum fails (or with ``spectra=False``) the pair is drawn as the DC cartoon. With
    ``reuse``, a run that holds a spectrum of this sampling keeps it."""
    failed = None if spectra else "spectra not computed (spectra=False)"
    for path in (pristine, polymerized) if failed is None else ():
        if reuse and _has_spectrum(path):
            continue
        cmd = ["impedance", str(path), *SPECTRUM, "--fit", CIRCUITS[cell]]
        res = subprocess.run([sys.executable, "-m", "kmc", *cmd], capture_output=True, text=True)
        if res.returncode != 0:
            failed = res.stderr.strip().splitlines()[-1]
            print(f"no spectrum of {path.name}: {failed}; drawing the DC cartoon", flush=True)
            break
    if failed is not None:  # the estimator's R_b + R_i || CPE cartoon, titled as such
        for path in (pristine, polymerized):
            subprocess.run([sys.executable, "-m", "kmc", "analyze", str(path)],
                           check=True, capture_output=True)  # fmt: skip
        with contextlib.suppress(Exception):
            for path in (pristine, polymerized):  # a stored spectrum of one would be drawn
                _drop_spectrum(path)
    ax = kplot.nyquist(kmc.open(polymerized), compare=kmc.open(pristine))
    # the plot's own title says what is drawn (spectra, or the cartoon and its assumed CPE)
    ax.set_title(f"{label}: simulated at 40 °C, pristine vs polymerized\n{ax.get_title()}",
                 fontsize=9)  # fmt: skip
    if cell == "ss" and failed is None:
        # a blocking face's capacitive line reaches -Z'' ~ 1e6 ohm at 1e-2 Hz and would
        # flatten the arcs: show the arcs, the line runs on off the top
        spec, _ = kmc.open(pristine).impedance(-1)
        top = 2.0 * float(spec.real_ohm[spec.frequency_Hz >= 1.0].max())
        ax.set_xlim(0.0, top)
        ax.set_ylim(-0.1 * top, top)
        ax.text(0.02, 0.98, "zoomed to the arcs: the blocking line continues up",
                transform=ax.transAxes, va="top", fontsize=8)  # fmt: skip
    ax.figure.savefig(FIGURES / f"paper_{cell}_nyquist.png", dpi=100)
    plt.close(ax.figure)
    print("wrote", FIGURES / f"paper_{cell}_nyquist.png")
    if failed is not None:
        return {"spectrum_failed": failed}
    keys = ("fit_bulk_resistance_ohm", "fit_bulk_resistance_error_ohm",
            "fit_interfacial_resistance_ohm", "fit_interfacial_resistance_error_ohm",
            "dc_membrane_resistance_ohm", "dc_interfacial_resistance_ohm",
            "dc_total_resistance_ohm", "kk_max_residual", "kk_resolved")  # fmt: skip
    out = {}
    for role, path in (("pristine", pristine), ("polymerized", polymerized)):
        _, info = kmc.open(path).impedance(-1)
        out[role] = {k: info.get(k) for k in keys} | {"run": path.name}
    out["resistances"] = impedance_comparison(out["pristine"], out["polymerized"])
    return out


def _has_spectrum(path: Path) -> bool:
    """Whether the run's last snapshot holds a spectrum of SPECTRUM's frequencies."""
    try:
        spectrum, _ = kmc.open(path).impedance(-1)
    except Exception:  # noqa: BLE001 - none stored, or another layout: compute it
        return False
    want = frequencies(F_MIN, F_MAX, PER_DECADE)
    f = spectrum.frequency_Hz
    return f.shape == want.shape and np.allclose(f, want, rtol=1e-12)


def _drop_spectrum(path: Path) -> None:
    import h5py

    with h5py.File(path, "a") as f:
        for name in list(f.get("analysis", {})):
            if "impedance" in f["analysis"][name]:
                del f["analysis"][name]["impedance"]


if __name__ == "__main__":
    main()
