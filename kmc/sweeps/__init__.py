"""Parameter sweeps: plan, run (local pool, Dask, Slurm), resume, status and collect."""

from kmc.sweeps._runner import (
    ClusterError,
    collect,
    emit_slurm,
    prepare,
    run_point,
    run_sweep,
)
from kmc.sweeps._spec import Point, load_sweep, plan, point_seed, set_path
from kmc.sweeps._status import SweepStatus, sweep_status

__all__ = [
    "ClusterError",
    "Point",
    "SweepStatus",
    "collect",
    "emit_slurm",
    "load_sweep",
    "plan",
    "point_seed",
    "prepare",
    "run_point",
    "run_sweep",
    "set_path",
    "sweep_status",
]
