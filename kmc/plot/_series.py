"""Time-series figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from kmc.plot._style import length_unit
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
# dimensionless series ("1" in the run file) by what they count or measure
_COUNT_UNITS = {"species_count": "particles", "deposit_sites": "count", "pt_sites": "count",
                "cycles": "count"}  # fmt: skip
# below this many samples per protocol cycle a line through the instantaneous potential
# samples draws aliasing, not the cycles: dots instead, and a note
SAMPLES_PER_CYCLE_RESOLVED = 8
_CYCLE_SIGNALS = ("potential", "electrode_potential", "current_density")


def _has_protocol(run: Run) -> bool:
    return "potential" in run.series_names and bool(np.any(run.series("potential").values))


def _cycle_end_samples(run: Run) -> np.ndarray:
    """For cycle n = 1, 2, ... the first sample whose ``cycles`` count has reached n
    (empty before the first cycle ends)."""
    completed = np.asarray(run.series("cycles").values)
    n = int(completed.max()) if completed.size else 0
    return np.searchsorted(completed, np.arange(1, n + 1), side="left")


def cycle_ends(run: Run) -> np.ndarray:
    """Sample index at the end of each completed protocol cycle: for cycle n = 1, 2, ...
    the first sample whose ``cycles`` count has reached n."""
    if "cycles" not in run.series_names or not _has_protocol(run):
        raise ValueError(f"{run.path}: no electrochemical protocol, so no cycles; "
                         "plot against time")  # fmt: skip
    ends = _cycle_end_samples(run)
    if ends.size == 0:
        raise ValueError(f"{run.path}: no protocol cycle completed yet; plot against time")
    return ends


def clock_label(run: Run, time_s: float) -> str:
    """``"t = ... s"`` of a simulated time on the figures' one time convention: the
    protocol clock (simulated time x compression, plus frozen plateaus) for a run with an
    electrochemical protocol, simulated time otherwise."""
    if not _has_protocol(run):
        return f"simulated t = {time_s:.4g} s"
    s = run.series("protocol_time")
    return f"protocol t = {float(np.interp(time_s, s.time_s, s.values)):.4g} s"


def _ylabel(run: Run, name: str, unit: str) -> str:
    if name == "current_density":
        return "cathode current density\n(A/m², anodic > 0; interval mean)"
    if name == "charge":
        _, ny, nx = run.shape_zyx
        scale, lu = length_unit(max(nx, ny) * run.spacing_m)
        w, h = nx * run.spacing_m * scale, ny * run.spacing_m * scale
        return f"charge through the\nsimulated {w:.3g} × {h:.3g} {lu} face (C)"
    if unit == "1":
        unit = _COUNT_UNITS.get(name, "fraction" if "fraction" in name or name == "coverage"
                                else "dimensionless")  # fmt: skip
    return f"{name.replace('_', ' ')} ({unit})"


def _samples_per_cycle(run: Run, clock: np.ndarray) -> float | None:
    """Samples per completed protocol cycle (None before the first cycle ends)."""
    if "cycles" not in run.series_names or clock.size < 2:
        return None
    ends = _cycle_end_samples(run)
    if ends.size == 0:
        return None
    period = clock[ends[-1]] / ends.size
    return float(period / np.median(np.diff(clock)))


def timeseries(run: Run, names=None, *, fig=None, against: str = "time"):
    """One panel per time series; returns the Axes array.

    Series with a per-electrode or per-species axis get one line per entry. Runs with an
    electrochemical protocol show potential, current, charge, PT and contact against the
    protocol clock (simulated time x compression); others against simulated time. Where
    the samples are too sparse to resolve the protocol's cycles (fewer than
    ``SAMPLES_PER_CYCLE_RESOLVED`` per cycle), the instantaneous potentials are drawn as
    dots, not lines, and the panel says so; a galvanostatic window is drawn dashed. With
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
    per_cycle = _samples_per_cycle(run, clock) if protocol and ends is None else None
    sparse = per_cycle is not None and per_cycle < SAMPLES_PER_CYCLE_RESOLVED
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
            if sparse and name in _CYCLE_SIGNALS:
                style = {"ls": "none", "marker": ".", "ms": 3}
        drawn = [j for j in range(flat.shape[1]) if np.any(flat[:, j])]
        for j in drawn:
            ax.plot(x, flat[:, j], label=labels[j], **style)
        if name == "potential" and ends is None:
            _window(run, ax)
        if sparse and name in _CYCLE_SIGNALS:
            ax.text(0.01, 0.97, f"{per_cycle:.2g} samples per cycle: cycles not resolved "
                    "(dots: samples; see --against cycle)", transform=ax.transAxes,
                    fontsize=7, va="top")  # fmt: skip
        ylabel = _ylabel(run, name, unit)
        ax.set_ylabel(ylabel, fontsize=8 if "\n" in ylabel else None)  # two lines fit a panel
        shown = ax.get_legend_handles_labels()[1]
        if len(drawn) > 1 or (name == "potential" and shown):  # the window has an entry
            ax.legend(fontsize=8)
        elif len(drawn) == 1 and flat.shape[1] > 1:  # one entry of several: name it
            ax.set_title(labels[drawn[0]], fontsize=8, loc="left")
    if ends is not None:
        axes[-1].set_xlabel("cycle number (value at the end of the cycle)")
    else:
        axes[-1].set_xlabel("protocol time (s): simulated time × compression" if protocol
                            else "simulated time (s)")  # fmt: skip
    return axes


def _window(run: Run, ax) -> None:
    """The galvanostatic cycling window (cell voltage limits), dashed."""
    p = run.config.protocol
    if p.kind == "galvanostatic":
        for v, label in ((p.lower_V, "cycling window"), (p.upper_V, None)):
            ax.axhline(v, color="0.5", ls="--", lw=0.8, label=label)


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
