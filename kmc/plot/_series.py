"""Time-series figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from kmc.runfile import Run

DEFAULT_SERIES = ("species_count", "deposit_sites", "film_thickness_mean", "coverage")
PROTOCOL_SERIES = (
    "potential", "electrode_potential", "current_density", "charge", "pt_sites",
    "film_thickness_mean", "coverage", "contact_fraction",
)  # fmt: skip
# against the cycle number: the charge passed and the film's state (the potential and
# current of the first sample after a cycle's end say nothing about the cycle)
CYCLE_SERIES = ("charge", "pt_sites", "film_thickness_mean", "coverage", "contact_fraction")
_LENGTH_SCALE = {"m": (1e9, "nm")}


def _has_protocol(run: Run) -> bool:
    return "potential" in run.series_names and bool(np.any(run.series("potential").values))


def cycle_ends(run: Run) -> np.ndarray:
    """Sample index at the end of each completed protocol cycle: for cycle n = 1, 2, ...
    the first sample whose ``cycles`` count has reached n."""
    if "cycles" not in run.series_names or not _has_protocol(run):
        raise ValueError(f"{run.path}: no electrochemical protocol, so no cycles; "
                         "plot against time")  # fmt: skip
    completed = np.asarray(run.series("cycles").values)
    n = int(completed.max()) if completed.size else 0
    if n == 0:
        raise ValueError(f"{run.path}: no protocol cycle completed yet; plot against time")
    return np.searchsorted(completed, np.arange(1, n + 1), side="left")


def timeseries(run: Run, names=None, *, fig=None, against: str = "time"):
    """One panel per time series; returns the Axes array.

    Series with a per-electrode or per-species axis get one line per entry. Runs with an
    electrochemical protocol show potential, current, charge, PT and contact against the
    protocol clock (simulated time x compression); others against simulated time. With
    ``against="cycle"`` each series is shown at the first sample after the end of every
    completed cycle (so up to one sample interval late) against the cycle number: by
    default the charge passed and the film's state (PT, thickness, coverage, contact).
    """
    if against not in ("time", "cycle"):
        raise ValueError(f"against = {against!r}: choose 'time' or 'cycle'")
    protocol = _has_protocol(run)
    ends = cycle_ends(run) if against == "cycle" else None
    if names is None:
        names = (
            CYCLE_SERIES if ends is not None else PROTOCOL_SERIES if protocol else DEFAULT_SERIES
        )
    names = [n for n in names if n in run.series_names]
    if not names:
        raise ValueError(f"none of the requested series is in {run.path}: {run.series_names}")
    if fig is None:
        fig = plt.figure(figsize=(6.4, 2.2 * len(names)), layout="constrained")
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    clock = run.series("protocol_time").values if protocol else None
    for ax, name in zip(axes, names, strict=True):
        s = run.series(name)
        scale, unit = _LENGTH_SCALE.get(s.unit, (1.0, s.unit))
        values = np.asarray(s.values, dtype=float) * scale
        labels = _labels(run, name, values.shape[1:] if values.ndim > 1 else ())
        flat = values.reshape(len(values), -1)
        if ends is not None:
            x, flat, style = np.arange(1, ends.size + 1), flat[ends], {"marker": "o", "ms": 3}
        else:
            x, style = (s.time_s if clock is None else clock), {}
        for j in range(flat.shape[1]):
            if np.any(flat[:, j]):
                ax.plot(x, flat[:, j], label=labels[j], **style)
        ax.set_ylabel(f"{name.replace('_', ' ')} ({unit})")
        if flat.shape[1] > 1:
            ax.legend(fontsize=8)
    if ends is not None:
        axes[-1].set_xlabel("cycle number (value at the end of the cycle)")
    else:
        axes[-1].set_xlabel("protocol time (s)" if protocol else "time (s)")
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
    if shape == (3,):
        return ["cathode", "anode", "floating"]
    return electrodes
