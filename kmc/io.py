"""HDF5 run files (H5MD-like layout) with checkpoints and atomic completion.

Layout of one run file::

    /                 attrs: schema = "kmc-run", schema_version, complete
    /h5md             H5MD metadata (version, creator, author)
    /parameters       attrs: config_toml (verbatim), resolved_json, seed
    /provenance       attrs: versions, command lines, host, wall-clock (not reproducible)
    /observables/step, /observables/time          shared sample axis
    /observables/<name>/{value, step, time}        value[n_samples, ...], attrs unit
    /particles/lattice/box                         attrs dimension, boundary; edges (m)
    /particles/lattice/{phase,species}/{value, step, time}   uint8[n_frames, z, y, x]
    /checkpoint       the full engine state + the driver's position (attrs)

A run is written to ``OUT.h5.partial`` and renamed to ``OUT.h5`` only when complete,
so a file at the final path is never half-written. Between checkpoints the partial
file is closed: a crash loses at most the work since the last checkpoint.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

SCHEMA = "kmc-run"
SCHEMA_VERSION = 1


class RunFileError(RuntimeError):
    """A run file that cannot be used (missing, truncated, foreign, incomplete)."""


def partial_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".partial")


def open_h5(path: str | Path, mode: str = "r") -> h5py.File:
    """Open a kmc run file, turning low-level failures into a RunFileError."""
    path = Path(path)
    if not path.exists():
        raise RunFileError(f"{path}: no such file")
    try:
        f = h5py.File(path, mode)
    except OSError as exc:
        raise RunFileError(
            f"{path}: not a readable HDF5 file (truncated or corrupt?): {exc}"
        ) from None
    if f.attrs.get("schema") != SCHEMA:
        f.close()
        raise RunFileError(f"{path}: not a kmc run file (no schema attribute '{SCHEMA}')")
    if int(f.attrs.get("schema_version", -1)) != SCHEMA_VERSION:
        version = f.attrs.get("schema_version")
        f.close()
        raise RunFileError(f"{path}: schema_version {version}, this kmc reads {SCHEMA_VERSION}")
    return f


def _frame_chunks(shape_zyx: tuple[int, int, int]) -> tuple[int, int, int, int]:
    nz, ny, nx = shape_zyx
    depth = max(1, min(nz, (1 << 20) // max(1, nx * ny)))
    return (1, depth, ny, nx)


class RunWriter:
    """Writes samples and snapshots of one run, buffering between checkpoints."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._samples: list[tuple[int, float, dict[str, np.ndarray]]] = []
        self._frames: list[tuple[int, float, np.ndarray, np.ndarray]] = []
        self.n_samples = 0
        self.n_frames = 0

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(
        cls, path: Path, *, config_text: str, resolved: dict, seed: int, provenance: dict,
        specs: dict, shape_zyx: tuple[int, int, int], spacing_m: float, boundary: list[str],
    ) -> RunWriter:  # fmt: skip
        """Create a fresh partial file at ``path`` with empty, resizable datasets."""
        from kmc._version import __version__

        with h5py.File(path, "w", fs_strategy="fsm", fs_persist=True) as f:
            f.attrs["schema"] = SCHEMA
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["complete"] = False
            h5md = f.create_group("h5md")
            h5md.attrs["version"] = np.array([1, 1], dtype=np.int32)
            h5md.create_group("creator").attrs.update({"name": "kmc", "version": __version__})
            h5md.create_group("author").attrs["name"] = "kmc"
            par = f.create_group("parameters")
            par.attrs["config_toml"] = config_text
            par.attrs["resolved_json"] = json.dumps(resolved, sort_keys=True)
            par.attrs["seed"] = np.int64(seed)
            prov = f.create_group("provenance")
            for k, v in provenance.items():
                prov.attrs[k] = v
            obs = f.create_group("observables")
            step = obs.create_dataset("step", (0,), maxshape=(None,), dtype="i8", chunks=(4096,))
            time = obs.create_dataset("time", (0,), maxshape=(None,), dtype="f8", chunks=(4096,))
            time.attrs["unit"] = "s"
            for name, (shape, dtype, unit, desc) in specs.items():
                g = obs.create_group(name)
                ds = g.create_dataset(
                    "value", (0, *shape), maxshape=(None, *shape), dtype=dtype,
                    chunks=(1024, *shape),
                )  # fmt: skip
                ds.attrs["unit"] = unit
                ds.attrs["description"] = desc
                g["step"] = step
                g["time"] = time
            lat = f.create_group("particles/lattice")
            box = lat.create_group("box")
            box.attrs["dimension"] = np.int32(3)
            box.attrs["boundary"] = np.array(boundary, dtype="S")
            nz, ny, nx = shape_zyx
            edges = box.create_dataset("edges", data=np.array([nx, ny, nz]) * spacing_m)
            edges.attrs["unit"] = "m"
            edges.attrs["axes"] = "x, y, z (snapshot arrays are indexed [frame, z, y, x])"
            for name, desc in (
                ("phase", "host phase code per site (see /parameters resolved phase_names)"),
                ("species", "species index + 1 of the occupant, 0 = empty"),
            ):
                g = lat.create_group(name)
                ds = g.create_dataset(
                    "value", (0, *shape_zyx), maxshape=(None, *shape_zyx), dtype="u1",
                    chunks=_frame_chunks(shape_zyx), compression="gzip", compression_opts=4,
                )  # fmt: skip
                ds.attrs["description"] = desc
                g.create_dataset("step", (0,), maxshape=(None,), dtype="i8", chunks=(256,))
                t = g.create_dataset("time", (0,), maxshape=(None,), dtype="f8", chunks=(256,))
                t.attrs["unit"] = "s"
            f.create_group("checkpoint")
        return cls(path)

    # ------------------------------------------------------------------ buffering
    def add_sample(self, step: int, time_s: float, values: dict[str, np.ndarray]) -> None:
        self._samples.append((step, time_s, values))

    def add_frame(self, step: int, time_s: float, phase: np.ndarray, species: np.ndarray) -> None:
        self._frames.append((step, time_s, phase, species))

    def _append(self, f: h5py.File) -> None:
        if self._samples:
            n0, k = self.n_samples, len(self._samples)
            obs = f["observables"]
            for name, data in (
                ("step", [s[0] for s in self._samples]),
                ("time", [s[1] for s in self._samples]),
            ):
                obs[name].resize((n0 + k,))
                obs[name][n0:] = data
            for name in self._samples[0][2]:
                ds = obs[name]["value"]
                ds.resize((n0 + k, *ds.shape[1:]))
                ds[n0:] = np.stack([s[2][name] for s in self._samples])
            self.n_samples += k
            self._samples.clear()
        if self._frames:
            n0, k = self.n_frames, len(self._frames)
            lat = f["particles/lattice"]
            for i, name in ((2, "phase"), (3, "species")):
                g = lat[name]
                for key in ("value", "step", "time"):
                    g[key].resize((n0 + k, *g[key].shape[1:]))
                g["step"][n0:] = [fr[0] for fr in self._frames]
                g["time"][n0:] = [fr[1] for fr in self._frames]
                for j, fr in enumerate(self._frames):
                    g["value"][n0 + j] = fr[i]
            self.n_frames += k
            self._frames.clear()

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self, state: dict[str, np.ndarray], position: dict, provenance: dict) -> None:
        """Append buffered data and store the full state; the file is closed afterwards."""
        with h5py.File(self.path, "r+") as f:
            self._append(f)
            if "checkpoint" in f:
                del f["checkpoint"]
            ck = f.create_group("checkpoint")
            for name, arr in state.items():
                ck.create_dataset(name, data=arr)
            for k, v in position.items():
                ck.attrs[k] = v
            ck.attrs["n_samples"] = self.n_samples
            ck.attrs["n_frames"] = self.n_frames
            for k, v in provenance.items():
                f["provenance"].attrs[k] = v
            f.flush()

    def finish(self, final_path: Path, provenance: dict) -> None:
        """Mark the run complete and move it to ``final_path`` atomically."""
        with h5py.File(self.path, "r+") as f:
            self._append(f)
            for k, v in provenance.items():
                f["provenance"].attrs[k] = v
            f.attrs["complete"] = True
            f.flush()
        with open(self.path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.path, final_path)

    # ------------------------------------------------------------------ resume
    @classmethod
    def reopen(cls, path: Path) -> tuple[RunWriter, dict[str, np.ndarray], dict, str]:
        """Open a partial run at its last checkpoint, dropping anything written after it.

        Returns (writer, state arrays, checkpoint attributes, verbatim config text).
        """
        with open_h5(path, "r+") as f:
            ck = f.get("checkpoint")
            if ck is None or "n_samples" not in ck.attrs:
                raise RunFileError(f"{path}: holds no checkpoint yet; start the run afresh")
            state = {name: ck[name][()] for name in ck}
            position = dict(ck.attrs)
            n_s, n_f = int(position["n_samples"]), int(position["n_frames"])
            obs = f["observables"]
            obs["step"].resize((n_s,))
            obs["time"].resize((n_s,))
            for name in obs:
                if isinstance(obs[name], h5py.Group):
                    ds = obs[name]["value"]
                    ds.resize((n_s, *ds.shape[1:]))
            for name in ("phase", "species"):
                g = f["particles/lattice"][name]
                for key in ("value", "step", "time"):
                    g[key].resize((n_f, *g[key].shape[1:]))
            config_text = f["parameters"].attrs["config_toml"]
        writer = cls(path)
        writer.n_samples, writer.n_frames = n_s, n_f
        return writer, state, position, config_text
