"""Sweep figures: a metric over one or two swept parameters (phase diagrams, curves)."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def read_results(directory: str | Path) -> list[dict]:
    """Rows of ``DIR/results.csv`` (from `kmc sweep collect`)."""
    path = Path(directory) / "results.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no results table; run `kmc sweep collect {directory}`")
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _column(rows: list[dict], name: str) -> np.ndarray:
    key = name if name in rows[0] else f"in:{name}"
    if key not in rows[0]:
        inputs = [k[3:] for k in rows[0] if k.startswith("in:")]
        raise KeyError(
            f"no column {name!r}; swept inputs: {inputs}; outputs: "
            f"{[k for k in rows[0] if not k.startswith('in:')]}"
        )
    return np.array([float(r[key]) if r[key] not in ("", "nan") else np.nan for r in rows])


def sweep(directory: str | Path, x: str, color: str, *, y: str | None = None, ax=None,
          logx: bool = False, logy: bool = False):  # fmt: skip
    """Plot ``color`` (a result column) against swept ``x`` (and ``y``): a curve with
    replicas averaged when ``y`` is None, else a scatter map. Returns the Axes."""
    rows = [r for r in read_results(directory) if r["status"] == "complete"]
    if not rows:
        raise ValueError(f"{directory}: no complete points to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    xs, cs = _column(rows, x), _column(rows, color)
    if y is None:
        ux = np.unique(xs)
        mean = np.array([np.nanmean(cs[xs == v]) for v in ux])
        std = np.array([np.nanstd(cs[xs == v]) for v in ux])
        ax.errorbar(ux, mean, yerr=std, marker="o", capsize=3)
        ax.set_ylabel(color)
    else:
        ys = _column(rows, y)
        sc = ax.scatter(xs, ys, c=cs, cmap="viridis", s=80, edgecolors="0.2")
        ax.figure.colorbar(sc, ax=ax, label=color)
        ax.set_ylabel(y)
    ax.set_xlabel(x)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_title(f"{Path(directory).name}: {len(rows)} points")
    return ax
