"""Numba kernels of kmc: pure functions of arrays and an explicit RNG state.

Installed as ``kmc.kernels``. No objects, no I/O, no printing.
"""

from . import _layout as layout
from ._engine import compute_contact_flags, contact_electrode, rebuild_reactive, run_events
from ._rng import next_double, next_uint64, reference_next_uint64, seed_state

__all__ = [
    "compute_contact_flags",
    "contact_electrode",
    "layout",
    "next_double",
    "next_uint64",
    "rebuild_reactive",
    "reference_next_uint64",
    "run_events",
    "seed_state",
]
