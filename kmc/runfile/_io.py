"""HDF5 run files (H5MD-like layout) with crash-safe checkpoints and atomic completion.

Layout of a finished run file::

    /                 attrs: schema = "kmc-run", schema_version, complete = True
    /h5md             H5MD metadata (version, creator, author)
    /parameters       attrs: config_toml (verbatim), resolved_json, seed
    /provenance       attrs: versions, command lines, host, wall-clock (not reproducible)
    /observables/step, /observables/time          shared sample axis (time in s)
    /observables/<name>/{value, step, time}        value[n_samples, ...], attrs unit
    /particles/lattice/box                         attrs dimension, boundary; edges (m)
    /particles/lattice/{phase,species}/{value, step, time}   uint8[n_frames, z, y, x]
    /checkpoint       the full engine state at the end + the driver's position (attrs)

While a run is going it lives in the directory ``OUT.h5.partial/``: ``meta.json``
(what the header needs), one segment file per checkpoint with the samples and snapshots
since the previous one, and ``checkpoint.h5`` with the engine state and how many
segments belong to it. Every file there is written to a temporary name and renamed,
so a crash at any moment leaves the last checkpoint intact and loses at most the work
since it. When the run ends the segments are assembled into a temporary file beside
``OUT.h5``, renamed to ``OUT.h5`` when complete: a file at the final path is never half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np

SCHEMA = "kmc-run"
SCHEMA_VERSION = 1


class RunFileError(RuntimeError):
    """A run file that cannot be used (missing, truncated, foreign, incomplete)."""


def holds_checkpoint(partial: Path) -> bool:
    """Whether a run directory (``OUT.h5.partial``) can be resumed: a run killed before
    its first checkpoint leaves the directory without one, and must start afresh."""
    partial = Path(partial)
    return (partial / "meta.json").exists() and (partial / "checkpoint.h5").exists()


LOCK_NAME = "writer.lock"


class RunLockedError(RunFileError):
    """Another live process writes the same run."""


class RunLock:
    """Exclusive right to write one run: an OS lock (``flock``) on ``OUT.h5.partial/writer.lock``.

    The kernel releases the lock when its process dies, so ``kill -9`` never leaves a stale
    lock behind; the file holds the writer's PID for the message a second writer gets.
    Releasing a lock whose directory holds no checkpoint removes the directory: a run that
    failed before its first checkpoint leaves nothing that blocks the next start.
    """

    def __init__(self, directory: Path, fd: int):
        self.directory = directory
        self._fd = fd

    @classmethod
    def acquire(cls, directory: str | Path, final: str | Path) -> RunLock:
        """Take the lock of the run directory ``directory`` (created if absent).

        Raises RunLockedError naming the PID of the process that holds it.
        """
        import fcntl

        directory = Path(directory)
        while True:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / LOCK_NAME
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:  # the directory went away (a run finished): retry
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise RunLockedError(
                    f"{final}: another kmc process (PID {holder}) is writing this run; wait "
                    "for it to finish or stop it (its checkpoint lets --resume continue)"
                ) from None
            # the holder may have finished and removed the file between our open and flock:
            # then we hold a lock on a deleted file, which protects nothing
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
            return cls(directory, fd)

    def release(self) -> None:
        """Drop the lock; remove the directory first when it holds no checkpoint."""
        if self._fd < 0:
            return
        if self.directory.exists() and not holds_checkpoint(self.directory):
            shutil.rmtree(self.directory, ignore_errors=True)
        os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def partial_path(path: str | Path) -> Path:
    """The directory that holds an unfinished run of ``path``."""
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
    if not f.attrs.get("complete", False):
        f.close()
        raise RunFileError(f"{path}: the run in this file is not complete")
    missing = ["/" + name for name in REQUIRED_DATASETS if name not in f]
    if "parameters" in f:
        attrs = f["parameters"].attrs
        missing += [f"/parameters attribute {a}" for a in ("config_toml", "seed") if a not in attrs]
    if missing:
        f.close()
        raise RunFileError(
            f"{path}: damaged run file: missing {', '.join(missing)} (every finished kmc "
            "run file has them; was the file edited?)"
        )
    return f


REQUIRED_DATASETS = (
    "parameters", "observables/time", "observables/step",
    "particles/lattice/phase/value", "particles/lattice/phase/time",
    "particles/lattice/phase/step", "particles/lattice/species/value",
)  # fmt: skip
"""What every finished run file holds; ``open_h5`` names any that is missing."""


def _frame_chunks(shape_zyx: tuple[int, int, int]) -> tuple[int, int, int, int]:
    nz, ny, nx = shape_zyx
    depth = max(1, min(nz, (1 << 20) // max(1, nx * ny)))
    return (1, depth, ny, nx)


@contextlib.contextmanager
def _atomic_h5(path: Path):
    """An HDF5 file written at a temporary name beside ``path``, fsynced, then renamed."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        yield f


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed to
    ``path``, on any failure removed. A reader never sees a half-written ``path``.

    ``suffix`` ends the temporary name (a figure keeps its format suffix, e.g. ``.png``).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{suffix}")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


class RunWriter:
    """Writes one run: buffers samples and snapshots, checkpoints, assembles the file."""

    def __init__(self, directory: Path, meta: dict):
        self.dir = Path(directory)
        self.meta = meta
        self._samples: list[tuple[int, float, dict[str, np.ndarray]]] = []
        self._frames: list[tuple[int, float, np.ndarray, np.ndarray]] = []
        self.n_segments = 0

    @classmethod
    def create(
        cls, directory: Path, *, config_text: str, resolved: dict, seed: int, provenance: dict,
        specs: dict, shape_zyx: tuple[int, int, int], spacing_m: float, boundary: list[str],
    ) -> RunWriter:  # fmt: skip
        """Start a fresh partial run in ``directory`` (replacing one that is there)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for entry in directory.iterdir():  # an earlier run's files; the writer's lock stays
            if entry.name == LOCK_NAME:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        meta = {
            "config_toml": config_text,
            "resolved": resolved,
            "seed": int(seed),
            "provenance": provenance,
            "specs": {k: [list(v[0]), v[1], v[2], v[3]] for k, v in specs.items()},
            "shape_zyx": list(shape_zyx),
            "spacing_m": spacing_m,
            "boundary": boundary,
        }
        atomic_write_text(directory / "meta.json", json.dumps(meta, indent=1, sort_keys=True))
        return cls(directory, meta)

    # ------------------------------------------------------------------ buffering
    def add_sample(self, step: int, time_s: float, values: dict[str, np.ndarray]) -> None:
        self._samples.append((step, time_s, values))

    def add_frame(self, step: int, time_s: float, phase: np.ndarray, species: np.ndarray) -> None:
        self._frames.append((step, time_s, phase, species))

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self, state: dict[str, np.ndarray], position: dict) -> None:
        """Write buffered data as a new segment, then the state; both atomically."""
        if self._samples or self._frames:
            seg = self.dir / f"segment_{self.n_segments:06d}.h5"
            with _atomic_h5(seg) as f:
                if self._samples:
                    f["step"] = np.array([s[0] for s in self._samples], dtype=np.int64)
                    f["time"] = np.array([s[1] for s in self._samples], dtype=np.float64)
                    for name in self._samples[0][2]:
                        f["obs/" + name] = np.stack([s[2][name] for s in self._samples])
                if self._frames:
                    f["frame_step"] = np.array([fr[0] for fr in self._frames], dtype=np.int64)
                    f["frame_time"] = np.array([fr[1] for fr in self._frames], dtype=np.float64)
                    f.create_dataset(
                        "phase", data=np.stack([fr[2] for fr in self._frames]),
                        compression="gzip", compression_opts=1,
                    )  # fmt: skip
                    f.create_dataset(
                        "species", data=np.stack([fr[3] for fr in self._frames]),
                        compression="gzip", compression_opts=1,
                    )  # fmt: skip
            self.n_segments += 1
            self._samples.clear()
            self._frames.clear()
        with _atomic_h5(self.dir / "checkpoint.h5") as f:
            for name, arr in state.items():
                f[name] = arr
            for k, v in position.items():
                f.attrs[k] = v
            f.attrs["n_segments"] = self.n_segments

    # ------------------------------------------------------------------ resume
    @classmethod
    def reopen(cls, directory: Path) -> tuple[RunWriter, dict[str, np.ndarray], dict]:
        """Open a partial run at its last checkpoint; returns (writer, state, position)."""
        directory = Path(directory)
        if not holds_checkpoint(directory):
            raise RunFileError(f"{directory}: holds no checkpoint; start the run afresh")
        meta_path, ck_path = directory / "meta.json", directory / "checkpoint.h5"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        try:
            with h5py.File(ck_path, "r") as f:
                state = {name: f[name][()] for name in f}
                position = dict(f.attrs)
        except OSError as exc:
            raise RunFileError(f"{ck_path}: unreadable checkpoint: {exc}") from None
        writer = cls(directory, meta)
        writer.n_segments = int(position.pop("n_segments"))
        for tmp in directory.glob(".*.tmp"):  # half-written by a process that died
            tmp.unlink(missing_ok=True)
        # segments written after the checkpoint (a crash between the two) are dropped
        for seg in directory.glob("segment_*.h5"):
            if int(seg.stem.split("_")[1]) >= writer.n_segments:
                seg.unlink()
        return writer, state, position

    # ------------------------------------------------------------------ assembly
    def finish(self, final_path: Path, provenance: dict) -> None:
        """Assemble the segments into ``final_path`` atomically and remove the directory."""
        from kmc._version import __version__

        m = self.meta
        segs = [self.dir / f"segment_{i:06d}.h5" for i in range(self.n_segments)]
        final_path = Path(final_path)
        with _atomic_h5(final_path) as f:
            f.attrs["schema"] = SCHEMA
            f.attrs["schema_version"] = SCHEMA_VERSION
            h5md = f.create_group("h5md")
            h5md.attrs["version"] = np.array([1, 1], dtype=np.int32)
            h5md.create_group("creator").attrs.update({"name": "kmc", "version": __version__})
            h5md.create_group("author").attrs["name"] = "kmc"
            par = f.create_group("parameters")
            par.attrs["config_toml"] = m["config_toml"]
            par.attrs["resolved_json"] = json.dumps(m["resolved"], sort_keys=True)
            par.attrs["seed"] = np.int64(m["seed"])
            prov = f.create_group("provenance")
            for k, v in (m["provenance"] | provenance).items():
                prov.attrs[k] = v
            self._assemble_observables(f, segs)
            self._assemble_frames(f, segs)
            ck = f.create_group("checkpoint")
            with h5py.File(self.dir / "checkpoint.h5", "r") as src:
                for name in src:
                    ck[name] = src[name][()]
                for k, v in src.attrs.items():
                    if k != "n_segments":
                        ck.attrs[k] = v
            f.attrs["complete"] = True
        shutil.rmtree(self.dir)

    def _assemble_observables(self, f: h5py.File, segs: list[Path]) -> None:
        obs = f.create_group("observables")
        parts: dict[str, list[np.ndarray]] = {"step": [], "time": []}
        for seg in segs:
            with h5py.File(seg, "r") as s:
                if "step" not in s:
                    continue
                parts["step"].append(s["step"][()])
                parts["time"].append(s["time"][()])
                for name in s["obs"]:
                    parts.setdefault(name, []).append(s["obs"][name][()])
        step = obs.create_dataset(
            "step", data=np.concatenate(parts["step"]), maxshape=(None,), chunks=(4096,)
        )
        time = obs.create_dataset(
            "time", data=np.concatenate(parts["time"]), maxshape=(None,), chunks=(4096,)
        )
        time.attrs["unit"] = "s"
        for name, (shape, dtype, unit, desc) in self.meta["specs"].items():
            g = obs.create_group(name)
            data = np.concatenate(parts[name]).astype(dtype)
            ds = g.create_dataset(
                "value", data=data, maxshape=(None, *shape), chunks=(1024, *shape)
            )
            ds.attrs["unit"] = unit
            ds.attrs["description"] = desc
            g["step"] = step
            g["time"] = time

    def _assemble_frames(self, f: h5py.File, segs: list[Path]) -> None:
        m = self.meta
        shape_zyx = tuple(m["shape_zyx"])
        lat = f.create_group("particles/lattice")
        box = lat.create_group("box")
        box.attrs["dimension"] = np.int32(3)
        box.attrs["boundary"] = np.array(m["boundary"], dtype="S")
        nz, ny, nx = shape_zyx
        edges = box.create_dataset("edges", data=np.array([nx, ny, nz]) * m["spacing_m"])
        edges.attrs["unit"] = "m"
        edges.attrs["axes"] = "x, y, z (snapshot arrays are indexed [frame, z, y, x])"
        steps, times, counts = [], [], []
        for seg in segs:
            with h5py.File(seg, "r") as s:
                if "frame_step" in s:
                    steps.append(s["frame_step"][()])
                    times.append(s["frame_time"][()])
                    counts.append((seg, len(steps[-1])))
        n = sum(c for _, c in counts)
        for name, desc in (
            ("phase", "host phase code per site (see /parameters resolved_json phase_names)"),
            ("species", "species index + 1 of the occupant, 0 = empty"),
        ):
            g = lat.create_group(name)
            ds = g.create_dataset(
                "value", (n, *shape_zyx), maxshape=(None, *shape_zyx), dtype="u1",
                chunks=_frame_chunks(shape_zyx), compression="gzip", compression_opts=4,
            )  # fmt: skip
            ds.attrs["description"] = desc
            i = 0
            for seg, c in counts:
                with h5py.File(seg, "r") as s:
                    for j in range(c):
                        ds[i] = s[name][j]
                        i += 1
            g.create_dataset("step", data=np.concatenate(steps), maxshape=(None,))
            t = g.create_dataset("time", data=np.concatenate(times), maxshape=(None,))
            t.attrs["unit"] = "s"
