"""Figures of runs: one function per kind, each ``f(run, ax=None, ...) -> Axes``.

``run`` is a :class:`kmc.Run` (``kmc.open(path)``). Kinds: cross_section, top_view,
height_map, profile, timeseries, montage, current_map, nyquist, bode; and ``sweep(DIR, x, color)``
for sweep results.
"""

from kmc.plot._morphology import cross_section, height_map, montage, profile, top_view
from kmc.plot._series import timeseries
from kmc.plot._style import PHASE_COLORS, PHASE_LABELS
from kmc.plot._sweep import sweep
from kmc.plot._transport import bode, current_map, equivalent_circuit_impedance, nyquist

KINDS = {
    "cross-section": cross_section,
    "top-view": top_view,
    "height-map": height_map,
    "profile": profile,
    "timeseries": timeseries,
    "montage": montage,
    "current-map": current_map,
    "nyquist": nyquist,
    "bode": bode,
}

__all__ = [
    "KINDS",
    "bode",
    "PHASE_COLORS",
    "PHASE_LABELS",
    "cross_section",
    "current_map",
    "equivalent_circuit_impedance",
    "height_map",
    "montage",
    "nyquist",
    "profile",
    "sweep",
    "timeseries",
    "top_view",
]
