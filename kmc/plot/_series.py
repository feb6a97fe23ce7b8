"""Time-series figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from kmc.runfile import Run

DEFAULT_SERIES = ("species_count", "deposit_sites", "film_thickness_mean", "coverage")
_LENGTH_SCALE = {"m": (1e9, "nm")}


def timeseries(run: Run, names=DEFAULT_SERIES, *, fig=None):
    """One panel per time series (value against simulated time); returns the Axes array.

    Series with a per-electrode or per-species axis get one line per entry. Potential,
    current and charge appear once the electrochemical protocols store them.
    """
    names = [n for n in names if n in run.series_names]
    if not names:
        raise ValueError(f"none of the requested series is in {run.path}: {run.series_names}")
    if fig is None:
        fig = plt.figure(figsize=(6.4, 2.2 * len(names)), layout="constrained")
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        s = run.series(name)
        scale, unit = _LENGTH_SCALE.get(s.unit, (1.0, s.unit))
        values = np.asarray(s.values, dtype=float) * scale
        labels = _labels(run, name, values.shape[1:] if values.ndim > 1 else ())
        flat = values.reshape(len(values), -1)
        for j in range(flat.shape[1]):
            if np.any(flat[:, j]):
                ax.plot(s.time_s, flat[:, j], label=labels[j])
        ax.set_ylabel(f"{name.replace('_', ' ')} ({unit})")
        if flat.shape[1] > 1:
            ax.legend(fontsize=8)
    axes[-1].set_xlabel("time (s)")
    return axes


def _labels(run: Run, name: str, shape) -> list[str]:
    if not shape:
        return [name]
    electrodes = ["cathode", "anode"]
    sp = run.species_names
    if name == "species_count":
        return sp
    if len(shape) == 2:  # [species, electrode or end]
        ends = ["bottom", "top"] if name in ("injections", "exits") else electrodes
        return [f"{a} / {b}" for a in sp for b in ends]
    return electrodes
