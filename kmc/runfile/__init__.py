"""Run files: the HDF5 writer (schema, atomic output, checkpoints, locking), the
reader (`kmc.open`), the XDMF export and the one-look summary (`kmc info`)."""

from kmc.runfile._io import (
    RunFileError,
    RunLock,
    RunLockedError,
    RunWriter,
    atomic_path,
    atomic_write_text,
    holds_checkpoint,
    open_h5,
    partial_path,
)
from kmc.runfile._run import Run, Series, Snapshot, open
from kmc.runfile._summary import config_hash, describe, run_info, stored_config
from kmc.runfile._xdmf import write_xdmf, xdmf_text

__all__ = [
    "Run",
    "RunFileError",
    "RunLock",
    "RunLockedError",
    "RunWriter",
    "Series",
    "Snapshot",
    "atomic_path",
    "atomic_write_text",
    "config_hash",
    "describe",
    "holds_checkpoint",
    "open",
    "open_h5",
    "partial_path",
    "run_info",
    "stored_config",
    "write_xdmf",
    "xdmf_text",
]
