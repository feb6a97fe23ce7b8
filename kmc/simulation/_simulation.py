"""The run driver: engine in chunks, samples, snapshots, checkpoints, resume."""

from __future__ import annotations

import datetime
import json
import logging
import math
import platform
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kmc.config._config import RunConfig, parse_config
from kmc.config._physical import same_simulation
from kmc.kernels import layout as L
from kmc.runfile import _io as io
from kmc.simulation import _geometry as geometry
from kmc.simulation import _observables as observables
from kmc.simulation._engine import LatticeEngine
from kmc.simulation._model import Model
from kmc.simulation._progress import Progress
from kmc.simulation._protocol import N_PROTOCOL_STATE, P_CYCLES, ProtocolDriver
from kmc.simulation._sectors import SectorEngine, engine_class, resolve_threads


class RunError(RuntimeError):
    """A run cannot start or continue for a reason the user can fix."""


class RunInterrupted(RuntimeError):
    """SIGINT or SIGTERM arrived; a checkpoint was written first."""

    def __init__(self, signal_name: str, time_s: float | None = None):
        at = "" if time_s is None else f" at simulated time t = {time_s:.6g} s"
        super().__init__(f"stopped by {signal_name}{at}; checkpoint saved")
        self.signal_name = signal_name


class _StopRequest:
    """Turn SIGINT/SIGTERM into a flag that the run loop checks at safe points.

    A signal can then never split a sample from its checkpoint; the loop checkpoints
    and stops within one kernel call (about 0.2 s).
    """

    def __init__(self):
        self.requested = ""
        self._old: dict = {}

    def _handle(self, signum, frame):
        self.requested = signal.Signals(signum).name

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        return False


@dataclass
class RunSummary:
    output: Path
    time_s: float
    events: int
    accepted_hops: int
    wall_seconds: float
    events_per_second: float
    damkohler: np.ndarray
    already_complete: bool = False
    stop_reason: str = ""
    """Why the run ended: its protocol's cycles complete, or its duration reached."""


def _versions() -> dict:
    import h5py
    import numba

    from kmc._version import __version__

    return {
        "kmc_version": __version__,
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "h5py_version": h5py.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
    }


def _utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def sample_times(cfg: RunConfig) -> np.ndarray:
    """Sample times t_k = k * dt for k = 0..K with t_K = duration (s)."""
    r = cfg.run
    n = math.ceil(r.duration_s / r.sample_interval_s - 1e-9)
    times = np.arange(n + 1) * r.sample_interval_s
    times[-1] = r.duration_s
    return times


def run_simulation(
    config: RunConfig,
    config_text: str,
    output: str | Path,
    *,
    seed: int | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress: str = "auto",
    command_line: list[str] | None = None,
    threads: int | None = None,
) -> RunSummary:
    """Run (or resume) one simulation into ``output`` (HDF5).

    The run is kept in ``output + '.partial/'`` and assembled into ``output`` when
    complete. With ``resume`` it continues from the checkpoint there, bit-identically.
    SIGINT/SIGTERM write a checkpoint and raise :class:`RunInterrupted`.
    ``threads``: threads of the sector engine (configs with ``[parallel]``; default:
    the usable cores, at most one per sector); the result does not depend on it.
    """
    final = Path(output)
    part = io.partial_path(final)
    cmd = command_line if command_line is not None else sys.argv
    model = Model.from_config(config)
    try:
        n_threads = resolve_threads(model, threads)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    if resume and final.exists() and not io.holds_checkpoint(part):
        with io.open_h5(final) as f:
            return RunSummary(
                final, float(f["observables/time"][-1]),
                int(f["observables/events/value"][-1]), 0, 0.0, 0.0,
                model.damkohler, already_complete=True, stop_reason="already complete",
            )  # fmt: skip
    if not resume and final.exists() and not overwrite:
        raise RunError(f"{final} exists; pass --overwrite to replace it")
    with _StopRequest() as stop, io.RunLock.acquire(part, final):
        # a signal during set-up or the final assembly takes effect at the next safe
        # point in the loop; one after the last sample lets the run complete
        if resume:
            run = _Run.resume(config, model, part, seed, cmd)
        else:
            if io.holds_checkpoint(part) and not overwrite:
                raise RunError(
                    f"{part} holds an unfinished run; pass --resume to continue it or "
                    "--overwrite to start again"
                )
            try:
                run = _Run.start(config, config_text, model, part, seed, cmd)
            except MemoryError:
                raise RunError(
                    f"{final}: out of memory while setting up the lattice of "
                    f"{int(np.prod(model.dims))} sites; use a smaller lattice.shape"
                ) from None
        if isinstance(run.engine, SectorEngine):
            run.engine.threads = n_threads
            logging.getLogger("kmc").info(
                "sector engine: %d x %d sectors on %d thread(s), sub-step %.3g s",
                *config.parallel.sectors, n_threads, run.engine.sector_time[0],
            )  # fmt: skip
        run.advance(stop, progress)
        summary = run.finish(final)
    from kmc.runfile._xdmf import write_xdmf

    write_xdmf(final)  # ParaView sidecar, rewritten from the finished file
    return summary


def _rates_moved(stored: dict, current: dict) -> list[str]:
    """The entries of a run's stored resolved model (its derived per-site numbers) that
    the current code resolves differently; entries only one side has are not compared
    (a newer version may add some)."""
    current = json.loads(json.dumps(current))  # as stored: NaN and tuples the JSON way
    return sorted(
        k for k in stored.keys() & current.keys()
        if json.dumps(stored[k], sort_keys=True) != json.dumps(current[k], sort_keys=True)
    )  # fmt: skip


def make_driver(model: Model, engine: LatticeEngine) -> ProtocolDriver | None:
    """The protocol driver a run needs, or None for fixed rates without a membrane."""
    cfg = model.config
    if cfg.protocol.kind == "constant" and cfg.membrane is None:
        return None
    return ProtocolDriver(model, engine)


class _Run:
    """One run in progress: the engine, its writer and where it stands."""

    def __init__(self, config, model, writer, engine, seed, next_sample, resumes, wall_before):
        self.config = config
        self.model = model
        self.writer = writer
        self.engine = engine
        self.seed = seed
        self.next_sample = next_sample
        self.resumes = resumes
        self.wall_before = wall_before
        self.wall0 = time.perf_counter()
        self.events0 = int(engine.counters[L.C_EVENTS])
        self.times = sample_times(config)
        self.driver = make_driver(model, engine)

    def sample(self) -> dict:
        eng = self.engine
        return observables.sample(eng) | observables.chemistry_sample(eng, self.driver)

    @classmethod
    def start(cls, config, config_text, model, part, seed, cmd) -> _Run:
        run_seed = config.run.seed if seed is None else seed
        prov = _versions() | {"command_line": json.dumps(cmd), "started_utc": _utc_now()}
        nx, ny, nz = model.dims
        writer = io.RunWriter.create(
            part,
            config_text=config_text,
            resolved=model.resolved(),
            seed=run_seed,
            provenance=prov,
            specs=observables.observable_specs(len(model.species_names), model.resolves_surfaces)
            | observables.chemistry_specs(),
            shape_zyx=(nz, ny, nx),
            spacing_m=config.lattice.spacing_m,
            boundary=["periodic", "periodic", "periodic" if model.periodic_z else "none"],
        )
        try:
            phase = geometry.initial_phase(model, run_seed)
        except ValueError as exc:
            raise RunError(str(exc)) from None
        engine = engine_class(model)(model, run_seed, phase=phase)
        run = cls(config, model, writer, engine, run_seed, 1, [], 0.0)
        writer.add_sample(0, 0.0, run.sample())
        writer.add_frame(0, 0.0, engine.phase, engine.occupant_species)
        run.checkpoint(1)
        return run

    @classmethod
    def resume(cls, config, model, part, seed, cmd) -> _Run:
        if not io.holds_checkpoint(part):
            raise RunError(
                f"{part.with_suffix('')}: nothing to resume (no checkpoint in {part}); "
                "start the run afresh without --resume"
            )
        writer, state, position = io.RunWriter.reopen(part)
        stored = parse_config(writer.meta["config_toml"], f"{part} (stored config)")
        if not same_simulation(stored, config):
            raise RunError(
                f"{part} was started with a different config; resume with the same config "
                "or start afresh with --overwrite"
            )
        moved = _rates_moved(writer.meta.get("resolved", {}), model.resolved())
        if moved:
            raise RunError(
                f"{part}: this kmc derives other lattice numbers from its config than the "
                f"version that started the run did ({', '.join(moved)}; a last-digit "
                "difference moves a KMC trajectory): finish it with that version, or start "
                "afresh with --overwrite"
            )
        run_seed = int(position["seed"])
        if seed is not None and seed != run_seed:
            raise RunError(f"--seed {seed} differs from the seed {run_seed} of the run in {part}")
        resumes = json.loads(position.get("resume_command_lines", "[]")) + [cmd]
        if state["counters"].size != L.N_COUNTERS or state["protocol_state"].size not in (
            0, N_PROTOCOL_STATE,
        ):  # fmt: skip
            raise RunError(
                f"{part} holds a checkpoint of an earlier kmc version (its engine state has "
                "another layout); it cannot be resumed: start afresh with --overwrite"
            )
        engine = engine_class(model).from_state(model, state)
        return cls(
            config, model, writer, engine, run_seed, int(position["next_sample"]), resumes,
            float(position.get("wall_seconds", 0.0)),
        )  # fmt: skip

    def checkpoint(self, next_sample: int) -> None:
        """Store the state; the run continues at sample ``next_sample`` after a resume."""
        self.writer.checkpoint(
            self.engine.state(),
            {
                "next_sample": next_sample,
                "seed": self.seed,
                "resume_command_lines": json.dumps(self.resumes),
                "wall_seconds": self.wall_before + time.perf_counter() - self.wall0,
            },
        )

    def advance(self, stop: _StopRequest, progress: str) -> None:
        """Run to the end, sampling, snapshotting and checkpointing on the way.

        Without a protocol driver a checkpoint may fall anywhere; with one, only between
        protocol steps, so that a resumed run takes the same steps.
        """
        eng, cfg_run, times = self.engine, self.config.run, self.times
        cycles = self.protocol_cycles()
        bar = Progress(times[-1], progress, cycles_total=cycles)
        clock = {"last_ckpt": time.perf_counter(), "chunk": 200_000}

        def run_chunk(t_stop: float) -> int:
            c0 = time.perf_counter()
            status = eng.run(t_stop, int(eng.counters[L.C_EVENTS]) + clock["chunk"])
            dt = time.perf_counter() - c0
            # aim at ~0.2 s per kernel call; the trajectory does not depend on it
            if dt > 0:
                clock["chunk"] = int(min(max(clock["chunk"] * 0.2 / dt, 10_000), 50_000_000))
            bar.update(eng.time_s, int(eng.counters[L.C_EVENTS]), self.cycles_done())
            return status

        def safe_point(k: int) -> None:
            if stop.requested:
                self.checkpoint(k)
                raise RunInterrupted(stop.requested, eng.time_s)
            if time.perf_counter() - clock["last_ckpt"] >= cfg_run.checkpoint_interval_wall_s:
                self.checkpoint(k)
                clock["last_ckpt"] = time.perf_counter()

        try:
            for k in range(self.next_sample, len(times)):
                t_k = float(times[k])
                if self.driver is not None:
                    if self.driver.done:
                        break
                    self.driver.run_to(t_k, run_chunk, lambda k=k: safe_point(k))
                else:
                    while run_chunk(t_k) == L.STATUS_EVENTS:
                        safe_point(k)
                self.writer.add_sample(k, t_k, self.sample())
                done = self.driver is not None and self.driver.done
                if k % cfg_run.snapshot_every_samples == 0 or k == len(times) - 1 or done:
                    self.writer.add_frame(k, t_k, eng.phase, eng.occupant_species)
                safe_point(k + 1)
                if done:
                    break
        finally:
            bar.close(eng.time_s, int(eng.counters[L.C_EVENTS]), self.cycles_done())
        self.next_sample = len(times)

    def protocol_cycles(self) -> int | None:
        """The protocol's cycle count when its cycles, not ``duration_s``, end the run."""
        p = self.config.protocol
        if p.kind == "galvanostatic":
            return p.cycles
        if p.kind == "cv" and p.cycles * p.cycle_period_s() <= self.config.run.duration_s:
            return p.cycles
        return None

    def cycles_done(self) -> int | None:
        """Completed protocol cycles, None without a cycling protocol."""
        if self.driver is None or self.config.protocol.kind not in ("cv", "galvanostatic"):
            return None
        return int(self.engine.protocol_state[P_CYCLES])

    def stop_reason(self) -> str:
        """Why the run ended, for its last line."""
        t = self.engine.time_s
        if self.driver is not None and self.driver.done:
            return (
                f"protocol complete ({self.cycles_done()} of {self.config.protocol.cycles} "
                f"cycles) at simulated time t = {t:.6g} s"
            )
        return f"duration reached (run.duration_s = {self.config.run.duration_s:g} s)"

    def finish(self, final: Path) -> RunSummary:
        """Write the last checkpoint and assemble the finished file at ``final``."""
        eng = self.engine
        self.checkpoint(len(self.times))
        wall = time.perf_counter() - self.wall0
        events = int(eng.counters[L.C_EVENTS])
        rate = (events - self.events0) / wall if wall > 0 else 0.0
        self.writer.finish(
            final,
            {
                "finished_utc": _utc_now(),
                "wall_seconds": self.wall_before + wall,
                "events_per_second_last_session": rate,
                "resume_command_lines": json.dumps(self.resumes),
            },
        )
        return RunSummary(
            final, eng.time_s, events, int(eng.counters[L.C_HOPS]), wall, rate,
            self.model.damkohler, stop_reason=self.stop_reason(),
        )  # fmt: skip
