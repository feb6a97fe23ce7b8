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
    try:
        return np.array([float(r[key]) if r[key] not in ("", "nan") else np.nan for r in rows])
    except ValueError:
        example = next(r[key] for r in rows if r[key] not in ("", "nan"))
        raise ValueError(
            f"column {name!r} is not numeric (e.g. {example!r}); choose a numeric column"
        ) from None


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around sorted distinct values: midpoints (geometric when ``log``),
    the outer edges mirrored; one value gets a cell of width 1 (factor 2 when ``log``)."""
    v = np.log(values) if log else values.astype(float)
    if v.size == 1:
        half = np.log(2.0) / 2 if log else 0.5
        e = np.array([v[0] - half, v[0] + half])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])
    return np.exp(e) if log else e


def replica_means(
    xs: np.ndarray, ys: np.ndarray, cs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct x and y values and the mean of ``cs`` and the number of points over the
    replicas of each (y, x) cell, as [len(uy), len(ux)] arrays (nan/0 where no point)."""
    ux, uy = np.unique(xs), np.unique(ys)
    mean = np.full((uy.size, ux.size), np.nan)
    count = np.zeros((uy.size, ux.size), dtype=int)
    for j, yv in enumerate(uy):
        for i, xv in enumerate(ux):
            sel = (xs == xv) & (ys == yv) & np.isfinite(cs)
            count[j, i] = int(sel.sum())
            if count[j, i]:
                mean[j, i] = cs[sel].mean()
    return ux, uy, mean, count


def sweep(directory: str | Path, x: str, color: str, *, y: str | None = None, ax=None,
          logx: bool = False, logy: bool = False):  # fmt: skip
    """Plot result column ``color`` over the swept parameter ``x`` (and ``y``).

    Without ``y``: a curve of the replica mean against x, error bars one standard
    deviation over the replicas. With ``y``: a phase diagram, one cell per (x, y) pair
    of the grid coloured by the replica mean and labelled with it (cells without a
    complete point stay blank); ``logx``/``logy`` space the cells logarithmically.
    Returns the Axes.
    """
    rows = [r for r in read_results(directory) if r["status"] == "complete"]
    if not rows:
        raise ValueError(f"{directory}: no complete points to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    xs, cs = _column(rows, x), _column(rows, color)
    if y is None:
        ux = np.unique(xs)
        mean = np.array([np.nanmean(cs[xs == v]) for v in ux])
        std = np.array([np.nanstd(cs[xs == v]) for v in ux])
        ax.errorbar(ux, mean, yerr=std, marker="o", capsize=3)
        ax.set_ylabel(color)
        n_replicas = np.bincount(np.searchsorted(ux, xs)).max()
    else:
        ux, uy, mean, count = replica_means(xs, _column(rows, y), cs)
        for name, vals, log in ((x, ux, logx), (y, uy, logy)):
            if log and vals.min() <= 0:
                raise ValueError(f"{name}: a logarithmic axis needs positive values")
        mesh = ax.pcolormesh(_edges(ux, logx), _edges(uy, logy), np.ma.masked_invalid(mean),
                             cmap="viridis")  # fmt: skip
        ax.figure.colorbar(mesh, ax=ax, label=color)
        finite = mean[np.isfinite(mean)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for j, yv in enumerate(uy):
            for i, xv in enumerate(ux):
                if np.isfinite(mean[j, i]):
                    ax.text(xv, yv, f"{mean[j, i]:.3g}", ha="center", va="center", fontsize=8,
                            color="black" if mean[j, i] > mid else "white")  # fmt: skip
        ax.set_xticks(ux, [f"{v:g}" for v in ux])
        ax.set_yticks(uy, [f"{v:g}" for v in uy])
        ax.minorticks_off()
        ax.set_ylabel(y)
        n_replicas = count.max()
    ax.set_xlabel(x)
    ax.set_title(f"{Path(directory).name}: {len(rows)} points, up to {n_replicas} replicas")
    return ax
