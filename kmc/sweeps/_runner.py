"""Running sweep points on a local pool, a Dask cluster or Slurm; collecting results."""

from __future__ import annotations

import contextlib
import csv
import ctypes
import functools
import json
import logging
import os
import re
import signal
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from kmc.runfile import atomic_path, atomic_write_text
from kmc.sweeps import _toml
from kmc.sweeps._spec import Point, SweepFile, validate_point

log = logging.getLogger("kmc")

THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def point_record(p: Point) -> dict:
    return {"index": p.index, "ident": p.ident, "name": p.name, "values": p.values,
            "replica": p.replica, "seed": p.seed}  # fmt: skip


def prepare(directory: Path, spec: SweepFile, points: list[Point]) -> None:
    """Write the manifest and each point's resolved config (idempotent)."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"analyze": spec.sweep.analyze, "points": [point_record(p) for p in points]}
    atomic_write_text(directory / "manifest.json", json.dumps(manifest, indent=1))
    for p in points:
        path = directory / f"{p.name}.toml"
        text = _toml.dumps(p.config)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic_write_text(path, text)


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity (what a Slurm or PBS allocation,
    taskset or a container grants), not every core of the node."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity API (macOS, Windows)
        return os.cpu_count() or 1


@contextlib.contextmanager
def single_threaded_children(threads: int = 1):
    """Start child processes with ``threads`` Numba/OpenMP/BLAS threads each (one by
    default: no oversubscription when a pool has a worker per core).

    The variables must be in a worker's environment when it starts: unpickling its first
    task imports kmc, hence numpy (whose BLAS reads them once, at load) and numba, before
    any initializer could run. The parent's own values are restored afterwards.
    """
    saved = {v: os.environ.get(v) for v in THREAD_VARS}
    os.environ.update(dict.fromkeys(THREAD_VARS, str(threads)))
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def batch_job() -> dict:
    """The batch job this process runs in: ``{"scheduler": "slurm", "job": "123"}``
    (a Slurm array task's own job id, which squeue and scancel take), or ``{}``."""
    if os.environ.get("SLURM_JOB_ID"):
        return {"scheduler": "slurm", "job": os.environ["SLURM_JOB_ID"]}
    if os.environ.get("PBS_JOBID"):
        return {"scheduler": "pbs", "job": os.environ["PBS_JOBID"]}
    return {}


@contextlib.contextmanager
def running_marker(directory: Path, name: str):
    """``<name>.running.json`` (host, pid, batch job, start) while a point runs.

    What `kmc sweep status` reads to tell a running point from one whose process was
    killed outright (SIGKILL, a node failure, scancel past its KillWait): the marker of
    the latter stays behind, naming a process or job that is gone.
    """
    path = directory / f"{name}.running.json"
    marker = {"host": os.uname().nodename, "pid": os.getpid(), "started": time.time()}
    atomic_write_text(path, json.dumps(marker | batch_job(), indent=1))
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def point_threads(config, cpus: int) -> int:
    """Threads a point of ``config`` runs on with ``cpus`` cores (``resolve_threads``'s
    default with those cores: at most one per sector and Numba's pool; serial: one)."""
    from kmc.simulation import Model, resolve_threads

    return resolve_threads(Model.from_config(config), None, cores=cpus)


def run_point(directory: str, record: dict, analyze: bool, cpus: int = 1) -> dict:
    """Run (or resume, or skip when complete) one point on ``cpus`` cores; never raises.

    Returns and stores ``<name>.status.json``: status 'complete', 'failed' with the error,
    or 'interrupted' (Ctrl-C, SIGTERM; its checkpoint is saved), and the threads it ran
    on. Works in any process: local pool, Dask worker, Slurm array task.
    """
    import numba

    numba.set_num_threads(1)
    from kmc.config import ConfigError, load_config
    from kmc.runfile import _io as io
    from kmc.simulation import RunInterrupted, run_simulation

    d = Path(directory)
    name = record["name"]
    out = d / f"{name}.h5"
    status_path = d / f"{name}.status.json"
    status = {"index": record["index"], "name": name, "status": "failed", "error": "",
              "wall_seconds": 0.0, "host": os.uname().nodename}  # fmt: skip
    t0 = time.perf_counter()
    marker = contextlib.ExitStack()
    try:
        if out.exists() and status_path.exists():
            old = json.loads(status_path.read_text(encoding="utf-8"))
            if old.get("status") == "complete":
                return old
        cfg, text = load_config(d / f"{name}.toml")
        # resume from a checkpoint; a point killed before its first one starts afresh
        resume = io.holds_checkpoint(io.partial_path(out))
        # removed once the status is written: a point is never neither running nor done
        marker.enter_context(running_marker(d, name))
        status["threads"] = threads = point_threads(cfg, cpus)
        run_simulation(
            cfg, text, out, seed=record["seed"], resume=resume, overwrite=not resume,
            progress="off", command_line=["kmc", "sweep", "run-point", name],
            threads=threads,
        )  # fmt: skip
        if analyze:
            from kmc.analysis import _analysis as analysis
            from kmc.transport._params import load_transport_parameters

            result, summary = analysis.analyze_run(out, load_transport_parameters())
            analysis.write_analysis(out, result, summary)
        status["status"] = "complete"
    except ConfigError as exc:
        status["error"] = str(exc)
    except RunInterrupted as exc:  # Ctrl-C, SIGTERM: the checkpoint is saved
        status["status"] = "interrupted"
        status["error"] = f"{exc}; run the sweep again to resume"
    except Exception as exc:  # noqa: BLE001 - a failing point must not stop the sweep
        status["error"] = f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=3)
    status["wall_seconds"] = time.perf_counter() - t0
    with marker:
        atomic_write_text(status_path, json.dumps(status, indent=1))
    return status


def _log_line(directory: Path, status: dict) -> None:
    with open(directory / "sweep.log", "a", encoding="utf-8") as fh:
        first = " | ".join(status["error"].splitlines()[:3]) if status["error"] else ""
        fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {status['name']} {status['status']} "
                 f"{status['wall_seconds']:.1f}s {first}\n")  # fmt: skip


def run_sweep(
    directory: Path, spec: SweepFile, points: list[Point], *, workers: int | None = None,
    scheduler: str | None = None, slurm: dict | None = None, progress: str = "auto",
    cpus: int | None = None,
) -> list[dict]:  # fmt: skip
    """Run every point not yet complete; returns the status of every point.

    ``cpus``: cores of each point (default: the sweep file's ``cpus_per_point``); a
    local pool has ``usable cores // cpus`` workers unless ``workers`` says otherwise.
    """
    from kmc.simulation import Progress

    prepare(directory, spec, points)
    records = [point_record(p) for p in points]
    invalid = {p.index: validate_point(p) for p in points}
    statuses: dict[int, dict] = {}
    todo = []
    for rec in records:
        err = invalid[rec["index"]]
        if err:
            st = _failed(directory, rec, err)
            statuses[rec["index"]] = st
            _log_line(directory, st)
        else:
            todo.append(rec)
    bar = Progress(float(len(records)), progress, unit="points")
    done = len(statuses)
    bar.update(done, done)
    analyze = spec.sweep.analyze
    cpus = cpus or spec.sweep.cpus_per_point
    for st in _execute(directory, todo, analyze, workers, scheduler, slurm, cpus):
        statuses[st["index"]] = st
        _log_line(directory, st)
        done += 1
        bar.update(done, done)
    bar.close(done, done)
    return [statuses[r["index"]] for r in records]


def _failed(directory: Path, rec: dict, error: str) -> dict:
    """Record a point that failed outside ``run_point`` (invalid, or its worker died)."""
    st = {"index": rec["index"], "name": rec["name"], "status": "failed", "error": error,
          "wall_seconds": 0.0}  # fmt: skip
    atomic_write_text(directory / f"{rec['name']}.status.json", json.dumps(st, indent=1))
    return st


WORKER_DIED = (
    "the worker process running this point died ({exc}): killed by a signal, out of "
    "memory, or a crash in compiled code; it died again when the point ran alone"
)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_sweep_pid: int | None = None
"""In a pool worker: the pid of the sweep process that started it."""


def _pool_worker_init(sweep_pid: int) -> None:
    """Pool worker initializer.

    Between points Ctrl-C is the parent's business (it forwards it to the points in
    flight); during a point the run's own handler turns it into a checkpoint and a stop.
    A worker never dies of a KeyboardInterrupt. And a worker does not outlive the sweep
    process: see :func:`_die_with_the_sweep`.
    """
    global _sweep_pid
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _sweep_pid = sweep_pid
    _die_with_the_sweep(sweep_pid)


def _die_with_the_sweep(sweep_pid: int, poll_s: float = 0.5) -> None:
    """Have this process receive SIGTERM when the sweep process ``sweep_pid`` dies.

    A sweep process killed outright (SIGKILL, the OOM killer) runs no clean-up, and its
    workers, blocked on a queue that they themselves keep open, would run on as orphans.
    SIGTERM rather than SIGKILL: a point in flight saves a checkpoint and stops, as on
    `kill`; an idle worker dies of it. On Linux the kernel sends it (PR_SET_PDEATHSIG,
    strictly on the death of the parent's thread that started the worker: the one that
    consumes :func:`local_pool`, which outlives its pools); elsewhere a thread polls for
    the parent every ``poll_s`` seconds.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: no prctl in the C library
        armed = False
    if not armed:
        threading.Thread(
            target=_watch_the_sweep, args=(sweep_pid, poll_s), daemon=True,
            name="kmc-sweep-watch",
        ).start()  # fmt: skip
    if os.getppid() != sweep_pid:  # it died before the signal was armed
        os.kill(os.getpid(), signal.SIGTERM)


def _watch_the_sweep(sweep_pid: int, poll_s: float) -> None:
    # an orphan is re-parented (to init or a subreaper), so its parent pid changes
    while os.getppid() == sweep_pid:
        time.sleep(poll_s)
    os.kill(os.getpid(), signal.SIGTERM)


def _in_pool_worker(call, record: dict):
    """Run one point in a pool worker, which exits when the sweep process is gone.

    After a point stopped by the sweep's death, the worker would otherwise wait forever
    for the next one.
    """
    try:
        return call(record)
    finally:
        if _sweep_pid is not None and os.getppid() != _sweep_pid:
            os._exit(1)


@contextlib.contextmanager
def _pool(workers: int, threads: int = 1):
    """A spawn-context process pool whose workers start with ``threads`` threads each and
    which, when the sweep is interrupted (Ctrl-C, SIGTERM, or the consumer stops), asks
    the points in flight to checkpoint and stop before it waits for its workers."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")
    with (
        single_threaded_children(threads),
        ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_pool_worker_init, initargs=(os.getpid(),)
        ) as ex,
    ):
        try:
            yield ex
        except (KeyboardInterrupt, GeneratorExit):
            # this pool's workers only (not other children of a calling program);
            # ProcessPoolExecutor keeps them by pid in ``_processes``
            for pid in list(getattr(ex, "_processes", None) or {}):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGINT)
            raise


def local_pool(call, records: list[dict], workers: int, directory: Path, threads: int = 1):
    """Yield ``call(record)`` for every record, on ``workers`` spawned processes of
    ``threads`` threads each.

    At most ``workers`` points are in flight, so when a worker process dies (SIGKILL,
    out of memory, a segfault) and takes the pool down, the suspects are known: each
    is run again alone in a fresh process (from its checkpoint, as a resumed point is
    bit-identical). One that kills its process again is recorded as failed; the rest
    of the sweep goes on in a new pool.
    """
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    queue = list(reversed(records))
    while queue:
        lost: list[dict] = []
        with _pool(workers, threads) as ex:
            flying: dict = {}
            while queue or flying:
                while queue and len(flying) < workers and not lost:
                    rec = queue.pop()
                    flying[ex.submit(_in_pool_worker, call, rec)] = rec
                if not flying:
                    break
                done, _ = wait(flying, return_when=FIRST_COMPLETED)
                for fut in done:
                    rec = flying.pop(fut)
                    try:
                        yield fut.result()
                    except BrokenProcessPool:
                        lost.append(rec)
        if not lost:
            continue
        log.warning("a worker process died; running its %d point(s) alone", len(lost))
        for rec in sorted(lost, key=lambda r: r["index"]):
            with _pool(1, threads) as ex:
                try:
                    yield ex.submit(_in_pool_worker, call, rec).result()
                except BrokenProcessPool as exc:
                    yield _failed(directory, rec, WORKER_DIED.format(exc=exc))


def _execute(directory, todo, analyze, workers, scheduler, slurm, cpus=1):
    d = str(directory)
    if not todo:
        return
    if scheduler is None and slurm is None:
        call = functools.partial(run_point, d, analyze=analyze, cpus=cpus)
        workers = workers or max(1, usable_cores() // cpus)
        yield from local_pool(call, todo, workers, directory, threads=cpus)
        return
    from distributed import Client, as_completed

    with contextlib.ExitStack() as stack:
        if slurm is not None:
            cluster = make_batch_cluster(slurm | {"cpus_per_point": cpus})
            stack.callback(cluster.close)
            submit_jobs(cluster, slurm["jobs"])
            client = Client(cluster)
        else:
            client = connect(scheduler)
        stack.callback(client.close)
        futures = {client.submit(run_point, d, rec, analyze, cpus, pure=False): rec for rec in todo}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after Dask's retries
                yield _failed(directory, futures[fut], f"{type(exc).__name__}: {exc}")


class ClusterError(RuntimeError):
    """The sweep cannot reach its Dask scheduler, or the batch system refused its jobs."""


SCHEDULER_TIMEOUT_S = 5.0
"""How long to try to reach a Dask scheduler: it answers in milliseconds when it runs,
and Dask's own default (30 s) leaves a mistyped address looking like a hang."""


def connect(address: str):
    """A Dask client of the scheduler at ``address``; :class:`ClusterError` when there
    is none there (or the address is malformed)."""
    from distributed import Client

    try:
        return Client(address, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, ValueError, TypeError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def submit_jobs(cluster, jobs: int) -> None:
    """Submit ``jobs`` batch jobs of a dask-jobqueue ``cluster`` and wait for the batch
    system's answer; :class:`ClusterError` when it refuses one.

    ``cluster.scale`` only schedules the submission: a refusal would surface as a logged
    traceback while the sweep waited forever for workers. This is what ``scale`` does,
    then the wait that the cluster's own constructor does for its initial workers.
    """
    while len(cluster.worker_spec) < jobs:
        cluster.worker_spec.update(cluster.new_worker_spec())
    cluster.sync(cluster._correct_state)


def _submission_error(command: str, exc: Exception) -> ClusterError:
    program = command.split()[0] if command.strip() else command
    if isinstance(exc, FileNotFoundError):
        return ClusterError(
            f"cannot submit batch jobs: {program!r} is not on PATH (run the sweep where "
            "the batch system's commands are, e.g. on a login node)"
        )
    # dask-jobqueue's RuntimeError lists the exit code, command, stdout and stderr
    m = re.search(r"Exit code: (-?\d+)\n.*?stderr:\n(.*)", str(exc), re.S)
    if m is None:  # e.g. no job id in its output
        said = " | ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        return ClusterError(f"submitting a batch job with {program} failed: {said}")
    said = " | ".join(line.strip() for line in m.group(2).splitlines() if line.strip())
    return ClusterError(
        f"submitting a batch job failed: {program} exited with status {m.group(1)}: "
        f"{said or '(nothing on stderr)'}"
    )


def _reporting(job_cls: type) -> type:
    """``job_cls`` (a dask-jobqueue Job) whose failed submission raises a
    :class:`ClusterError` naming the command and what it printed."""
    from distributed.core import Status

    class ReportingJob(job_cls):
        async def start(self):
            try:
                await super().start()
            except Exception as exc:
                # failed, not left "created": a cluster refuses to close while it
                # believes one of its jobs may still start
                self.status = Status.failed
                raise _submission_error(self.submit_command, exc) from None

    ReportingJob.__name__ = ReportingJob.__qualname__ = job_cls.__name__
    return ReportingJob


def make_batch_cluster(opts: dict):
    """A dask-jobqueue cluster (Slurm, or PBS when ``opts["system"] == "pbs"``) whose
    jobs of ``cores`` cores each run ``cores // cpus_per_point`` worker processes, each
    taking one point at a time on ``cpus_per_point`` threads (one by default).

    ``opts``: queue, account, walltime, memory, cores, cpus_per_point (the ``[cluster]``
    table, the sweep's ``cpus_per_point`` and the CLI options). Jobs are submitted by
    :func:`submit_jobs`.
    """
    from dask.utils import parse_bytes
    from dask_jobqueue import PBSCluster, SLURMCluster
    from dask_jobqueue.pbs import pbs_format_bytes_ceil

    cpus = int(opts.get("cpus_per_point") or 1)
    if cpus > opts["cores"]:
        raise ClusterError(
            f"cpus_per_point = {cpus} exceeds the {opts['cores']} cores of a batch job "
            "(cluster.cores, --cores): ask for at least as many cores per job"
        )
    workers = opts["cores"] // cpus
    # a worker has one Dask thread (one point at a time); the job asks the batch system
    # for every core, which the points' own threads use
    kind = PBSCluster if opts.get("system") == "pbs" else SLURMCluster
    if kind is PBSCluster:
        mem = pbs_format_bytes_ceil(parse_bytes(opts["memory"]))
        cores_kw = {"resource_spec": f"select=1:ncpus={opts['cores']}:mem={mem}"}
    else:
        cores_kw = {"job_cpu": opts["cores"]}
    return kind(
        job_cls=_reporting(kind.job_cls), queue=opts.get("queue"), account=opts.get("account"),
        walltime=opts["walltime"], memory=opts["memory"], cores=workers, processes=workers,
        job_script_prologue=[f"export {v}={cpus}" for v in THREAD_VARS], **cores_kw,
    )  # fmt: skip


REQUEUE_GRACE_S = 120
"""Seconds before a task's time limit that Slurm sends it USR1 (``--signal=B:USR1@``):
time to checkpoint and requeue. Slurm checks time limits about every 30 s, so the signal
comes up to that much earlier; sbatch's own ``--signal`` overrides it."""

MAX_REQUEUES = 20
"""A task requeues itself at most this often: a time limit shorter than the grace time
would otherwise requeue it forever without progress."""

SLURM_TEMPLATE = """#!/bin/bash
#SBATCH --job-name=kmc-sweep
#SBATCH --array=0-{last}
#SBATCH --time={walltime}
#SBATCH --mem={memory}
#SBATCH --cpus-per-task={cpus}
#SBATCH --output={directory}/slurm-%A_%a.out
#SBATCH --open-mode=append
#SBATCH --requeue
#SBATCH --signal=B:USR1@{grace}
{extra}
# the task's cores and no more threads (no oversubscription); a shared kernel cache
export {single_thread}
export NUMBA_CACHE_DIR="${{NUMBA_CACHE_DIR:-$HOME/.cache/kmc-numba}}"

# Near the time limit Slurm sends USR1 to this shell: the point saves a checkpoint and
# stops (SIGTERM), and the task goes back to the queue, where it resumes from it.
point=""
requeue() {{
    echo "kmc-sweep: time limit near; checkpointing point $SLURM_ARRAY_TASK_ID"
    if [ -n "$point" ]; then kill -TERM "$point"; wait "$point"; fi
    if [ "${{SLURM_RESTART_COUNT:-0}}" -lt {max_requeues} ]; then
        echo "kmc-sweep: requeueing job $SLURM_JOB_ID (restart ${{SLURM_RESTART_COUNT:-0}})"
        scontrol requeue "$SLURM_JOB_ID"
    else
        echo "kmc-sweep: requeued {max_requeues} times already; not again (resubmit it)"
    fi
    exit 0
}}
trap requeue USR1
kmc warmup
kmc sweep run-point {sweep} --index "$SLURM_ARRAY_TASK_ID" -o {directory} --cpus-per-point {cpus} &
point=$!
wait "$point"
"""


def emit_slurm(
    directory: Path, sweep_path: Path, spec: SweepFile, points: list[Point],
    cpus: int | None = None,
) -> Path:  # fmt: skip
    """Write the manifest, the configs and an sbatch job-array script; returns its path.

    Each array task asks for ``cpus`` cores (default: the sweep's ``cpus_per_point``).
    """
    prepare(directory, spec, points)
    c = spec.cluster
    cpus = cpus or spec.sweep.cpus_per_point
    extra = "\n".join(
        line for line in (
            f"#SBATCH --partition={c.queue}" if c.queue else "",
            f"#SBATCH --account={c.account}" if c.account else "",
        ) if line
    )  # fmt: skip
    text = SLURM_TEMPLATE.format(
        last=len(points) - 1, walltime=c.walltime, memory=c.memory, extra=extra,
        grace=REQUEUE_GRACE_S, max_requeues=MAX_REQUEUES, cpus=cpus,
        single_thread=" ".join(f"{v}={cpus}" for v in THREAD_VARS),
        directory=directory.resolve(), sweep=sweep_path.resolve(),
    )  # fmt: skip
    script = directory / "sweep.sbatch"
    atomic_write_text(script, text)
    return script


def collect(directory: Path) -> list[dict]:
    """Results table of a sweep directory: inputs, status, wall time, key outputs.

    Writes ``results.csv`` and ``results.h5`` in the directory and returns the rows.
    """
    import h5py

    from kmc.runfile import _io as io

    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{directory}: no manifest.json (not a sweep directory)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    rows = []
    for rec in manifest["points"]:
        row = {"index": rec["index"], "name": rec["name"], "replica": rec["replica"],
               "seed": rec["seed"]}  # fmt: skip
        row.update({f"in:{k}": v for k, v in rec["values"].items()})
        st_path = directory / f"{rec['name']}.status.json"
        st = json.loads(st_path.read_text(encoding="utf-8")) if st_path.exists() else {}
        row["status"] = st.get("status", "pending")
        row["wall_seconds"] = st.get("wall_seconds", float("nan"))
        row["threads"] = st.get("threads", 1)
        row["error"] = " | ".join((st.get("error") or "").splitlines()[:3])
        out = directory / f"{rec['name']}.h5"
        if row["status"] == "complete" and out.exists():
            try:
                with io.open_h5(out) as f:
                    obs = f["observables"]
                    for name in ("film_thickness_mean", "film_thickness_max", "coverage",
                                 "deposit_sites"):  # fmt: skip
                        last = obs[name]["value"][-1]
                        row[f"{name}_cathode"] = float(last[0])
                        row[f"{name}_anode"] = float(last[1])
                    row["time_s"] = float(obs["time"][-1])
                    # Da = k a^2 / D of every reaction, as `kmc run` reports it
                    resolved = json.loads(f["parameters"].attrs["resolved_json"])
                    # per electrode, or per surface (bare, film) in a surface-resolved run
                    channels = resolved.get("reaction_channels", resolved["electrodes"])
                    for sp, das in zip(resolved["species"], resolved["damkohler_lattice"],
                                       strict=True):  # fmt: skip
                        for el, da in zip(channels, das, strict=True):
                            if da > 0:
                                row[f"damkohler_{sp}_{el}"] = float(da)
                    # morphology of the final cathode deposit (box counting, 3D)
                    from kmc import phases
                    from kmc.analysis import box_counting_dimension, cluster_sizes

                    last = f["particles/lattice/phase/value"][-1]
                    cathode = last == phases.DEPOSIT_CATHODE
                    row["deposit_box_dimension_cathode"] = box_counting_dimension(cathode)
                    # axis 0 is z; the lateral axes are periodic
                    sizes = cluster_sizes(cathode, periodic_axes=tuple(range(1, cathode.ndim)))
                    row["deposit_clusters_cathode"] = int(sizes.size)
                    row["deposit_largest_cluster_cathode"] = int(sizes[0]) if sizes.size else 0
                    if "analysis" in f:
                        g = f["analysis"][sorted(f["analysis"])[-1]]
                        for k in ("membrane_resistance_ohm", "interfacial_resistance_ohm",
                                  "effective_conductivity_S_per_cm", "short_circuit",
                                  "blocking_cathode", "blocking_anode",
                                  "crystalline_fraction", "diluent_volume_fraction"):  # fmt: skip
                            # absent: the measurement-state keys of an --as-simulated
                            # analysis, or a DC resistance with no value (None: a blocking
                            # electrode, not stored): an empty cell
                            if k not in g.attrs:
                                continue
                            row[k] = (
                                g.attrs[k].item() if hasattr(g.attrs[k], "item") else g.attrs[k]
                            )
            except io.RunFileError as exc:
                row["status"], row["error"] = "failed", str(exc)
        rows.append(row)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    units = {col: column_unit(col) for col in columns}
    with (
        atomic_path(directory / "results_units.csv") as tmp,
        open(tmp, "w", newline="", encoding="utf-8") as fh,
    ):
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerow(units)
    with (
        atomic_path(directory / "results.csv") as tmp,
        open(tmp, "w", newline="", encoding="utf-8") as fh,
    ):
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    with atomic_path(directory / "results.h5") as tmp, h5py.File(tmp, "w") as f:
        g = f.create_group("results")
        for col in columns:
            vals = [r.get(col, np.nan) for r in rows]
            if all(isinstance(v, (int, float, bool, np.number)) for v in vals):
                g[col.replace("/", "_")] = np.array(vals, dtype=float)
            else:
                g[col.replace("/", "_")] = np.array([str(v) for v in vals], dtype="S")
            g[col.replace("/", "_")].attrs["unit"] = units[col]
    return rows


_COLUMN_UNITS = (
    ("film_thickness_", "m"), ("coverage_", "1 (fraction of the electrode face)"),
    ("deposit_sites_", "sites"), ("deposit_largest_cluster_", "sites"),
    ("deposit_clusters_", "1"), ("deposit_box_dimension_", "1"), ("damkohler_", "1"),
    ("crystalline_fraction", "1"), ("diluent_volume_fraction", "1"),
)  # fmt: skip


_SUFFIX_UNITS = (
    ("_ohm", "ohm"), ("_S_per_cm", "S/cm"), ("_S_per_m", "S/m"), ("_m2_per_s", "m^2/s"),
    ("_per_s", "1/s"), ("_seconds", "s"), ("_s", "s"), ("_m", "m"), ("_V", "V"),
    ("_A", "A"), ("_K", "K"),
)  # fmt: skip


def column_unit(column: str) -> str:
    """Unit of a results-table column (``results_units.csv``, ``results.h5`` attrs): from
    its name's suffix (``_ohm``, ``_s``, ``_S_per_cm``), its kind, or for an input
    ``in:PATH`` the config key's own unit suffix; "" for labels and flags."""
    name = column.removeprefix("in:").split(".")[-1].split("[")[0]
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    for prefix, unit in _COLUMN_UNITS:
        if name.startswith(prefix):
            return unit
    if column.startswith("in:") and ("occupancy" in name or "fraction" in name):
        return "1"
    return "1" if column in ("threads", "replica") else ""
