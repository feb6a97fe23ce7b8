"""The transport estimator on one morphology voxelized at a, at 2a and at a/2.

For each run (default: the paper pairs in docs/figures/runs/, from
`python docs/paper_figures.py`): its last snapshot is taken to the measurement state at
the run's spacing a (recrystallization, as `kmc analyze` does), then analyzed three ways
with the same transport parameters:

* at a, as `kmc analyze`;
* refined to a/2: every voxel split into 2 x 2 x 2 (the same shape on a finer grid; what
  moves is the solver's discretization of it: corner contacts, face areas);
* coarsened to 2a: every 2 x 2 x 2 block takes its most frequent phase, ties to the
  lower phase code (electrolyte before electrode before PT); a different, blockier shape,
  what a run on a lattice of 2a would at best have made of the same cell.

The membrane-gate plane of a windowed run stays one plane (each window is refined or
coarsened on its own; a window of odd height repeats its plane next to the gate, a plane
of bulk PEO, which adds the same resistance to both solves whose difference is R_i). PT
is relabelled after coarsening by its connection to the electrodes (a block can join or
cut a path). Prints the membrane, interfacial and total resistance, the electroactive
area and contact fraction per grid, and their relative moves against a; writes JSON.

    python docs/estimator_resolution.py                      # the 4 paper-pair runs, ~2 min
    python docs/estimator_resolution.py RUN.h5 [RUN.h5 ...]

Results: docs/CHEMISTRY.md, "The estimator's resolution".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from kmc import phases
from kmc.analysis import _analysis as analysis
from kmc.transport import label_periodic
from kmc.transport._morphology import analyze_morphology
from kmc.transport._params import load_transport_parameters

RUNS = Path(__file__).parent / "figures" / "runs"
PAIRS = ("lfp_galvanostatic_pristine", "lfp_galvanostatic",
         "ss_galvanostatic_pristine", "ss_galvanostatic")  # fmt: skip
KEYS = ("membrane_resistance_ohm", "interfacial_resistance_ohm", "total_resistance_ohm",
        "electroactive_area_ratio_cathode", "contact_fraction_cathode")  # fmt: skip
PT = (phases.DEPOSIT_CATHODE, phases.DEPOSIT_ANODE, phases.PT_FLOATING)


def _windows(phase: np.ndarray) -> list[tuple[int, int]]:
    """z ranges [lo, hi) of the lattice windows (split at the membrane-gate plane)."""
    gate = np.flatnonzero((phase == phases.MEMBRANE_GATE).all(axis=(1, 2)))
    if gate.size == 0:
        return [(0, phase.shape[0])]
    g = int(gate[0])
    return [(0, g), (g + 1, phase.shape[0])]


def refined(phase: np.ndarray) -> np.ndarray:
    """Each voxel split into 2 x 2 x 2; the gate plane stays one plane."""
    wins = _windows(phase)
    parts = []
    for k, (lo, hi) in enumerate(wins):
        w = phase[lo:hi]
        parts.append(w.repeat(2, 0).repeat(2, 1).repeat(2, 2))
        if k == 0 and len(wins) == 2:
            parts.append(phase[hi : hi + 1].repeat(2, 1).repeat(2, 2))  # the gate
    return np.concatenate(parts)


def _majority(w: np.ndarray) -> np.ndarray:
    """2 x 2 x 2 blocks to their most frequent phase (ties to the lower code)."""
    nz, ny, nx = w.shape
    blocks = w.reshape(nz // 2, 2, ny // 2, 2, nx // 2, 2).transpose(0, 2, 4, 1, 3, 5)
    blocks = blocks.reshape(nz // 2, ny // 2, nx // 2, 8)
    counts = np.stack([(blocks == c).sum(-1) for c in range(16)], axis=-1)
    return counts.argmax(-1).astype(w.dtype)  # argmax: the first (lowest code) of a tie


def coarsened(phase: np.ndarray) -> np.ndarray:
    """2 x 2 x 2 blocks to their most frequent phase; the gate plane stays one plane; a
    window of odd height repeats its plane next to the gate first; PT relabelled."""
    nz, ny, nx = phase.shape
    if ny % 2 or nx % 2:
        raise ValueError(f"the lateral size {nx} x {ny} must be even to coarsen by 2")
    wins = _windows(phase)
    parts = []
    for k, (lo, hi) in enumerate(wins):
        w = phase[lo:hi]
        if w.shape[0] % 2:  # repeat the plane next to the gate (alone: the top plane)
            w = np.concatenate([w[:1], w]) if k == 1 else np.concatenate([w, w[-1:]])
        parts.append(_majority(w))
        if k == 0 and len(wins) == 2:
            parts.append(phase[hi : hi + 1, ::2, ::2])  # the gate
    return _relabel_pt(np.concatenate(parts))


def _relabel_pt(phase: np.ndarray) -> np.ndarray:
    """PT joined to an electrode (through PT) takes its deposit phase; the rest floats."""
    pt = np.isin(phase, PT)
    out = np.where(pt, phases.PT_FLOATING, phase).astype(phase.dtype)
    for electrode, deposit in ((phases.CATHODE, phases.DEPOSIT_CATHODE),
                               (phases.ANODE, phases.DEPOSIT_ANODE)):  # fmt: skip
        labels, _ = label_periodic(pt | (phase == electrode))
        joined = np.isin(labels, np.unique(labels[phase == electrode]))
        out[pt & joined & (out == phases.PT_FLOATING)] = deposit
    return out


def study(path: Path) -> dict:
    params = load_transport_parameters()
    phase, spacing, t, _ = analysis.load_snapshot(path, -1)
    params = analysis._run_electrodes(path, params)
    phase, params, _ = analysis.measurement_state(path, phase, spacing, t, params)
    grids = {"a": (phase, spacing), "a/2": (refined(phase), spacing / 2),
             "2a": (coarsened(phase), 2 * spacing)}  # fmt: skip
    out = {"run": path.name, "spacing_m": spacing}
    for name, (ph, h) in grids.items():
        res = analyze_morphology(ph, h, params).as_dict()
        out[name] = {k: res[k] for k in KEYS} | {"shape": list(ph.shape)}
    for name in ("a/2", "2a"):
        out[f"{name} vs a"] = {
            k: (out[name][k] / out["a"][k] - 1) if out["a"][k] else None for k in KEYS
        }
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path)
    ap.add_argument("-o", "--output", type=Path, default=RUNS / "estimator_resolution.json")
    args = ap.parse_args(argv)
    runs = args.runs or [RUNS / f"{n}.h5" for n in PAIRS]
    report = []
    for path in runs:
        r = study(path)
        report.append(r)
        print(f"{path.name}:")
        for name in ("a", "a/2", "2a"):
            cells = ", ".join(
                f"{k} {r[name][k]:.5g}" if r[name][k] is not None else f"{k} -" for k in KEYS
            )
            moves = ""
            if name != "a":
                moves = " | " + ", ".join(
                    f"{v:+.1%}" if v is not None else "-" for v in r[f"{name} vs a"].values()
                )
            print(f"  {name:4s} {r[name]['shape']}: {cells}{moves}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print("wrote", args.output)


if __name__ == "__main__":
    main()
