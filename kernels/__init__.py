"""Numba kernels of kmc: pure functions of arrays and an explicit RNG state.

Installed as ``kmc.kernels``. No objects, no I/O, no printing.
"""

from . import _layout as layout
from . import _sectors as sectors
from ._engine import (
    compute_contact_flags,
    contact_channel,
    rebuild_reactive,
    run_events,
    set_reactive,
)
from ._rng import DRAWS_PER_ATTEMPT, reference_uniform, seed_state, splitmix64, uniform

__all__ = [
    "compute_contact_flags",
    "contact_channel",
    "layout",
    "sectors",
    "DRAWS_PER_ATTEMPT",
    "rebuild_reactive",
    "reference_uniform",
    "run_events",
    "seed_state",
    "set_reactive",
    "splitmix64",
    "uniform",
]
