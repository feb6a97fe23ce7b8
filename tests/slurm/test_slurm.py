"""Sweeps on a real (one-node) Slurm: the emitted job array, a time limit that requeues
a point, dask-jobqueue workers and a scancel, a shared empty kernel cache, and
`kmc sweep status` along the way. Run with `python -m pytest -m slurm -rs`."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import assert_same_datasets, kmc_cli

pytestmark = pytest.mark.slurm

# The cluster fixture lives here, not in a conftest.py: a second conftest module would
# shadow tests/conftest.py for the test files that import from it.
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """``SLURM_CONF`` of a running one-node cluster (set in this process's environment,
    which sbatch passes on to the jobs), with a warm shared ``NUMBA_CACHE_DIR``.

    Skips, with the script's reason, where Slurm cannot be installed or started (not
    root, no apt, a daemon that does not come up).
    """
    state = tmp_path_factory.mktemp("slurm-cluster")
    saved = {k: os.environ.get(k) for k in ("SLURM_CONF", "NUMBA_CACHE_DIR", "PATH")}
    try:
        res = subprocess.run(
            ["bash", str(HERE / "start_cluster.sh"), str(state)],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if res.returncode != 0:
            lines = (res.stderr or res.stdout).strip().splitlines()
            pytest.skip(f"no Slurm cluster: {lines[-1] if lines else res.returncode}")
        os.environ["SLURM_CONF"] = str(state / "slurm.conf")
        # the jobs' `kmc` is this interpreter's, whatever PATH the shell had
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        # one compilation for the session; a job's own `kmc warmup` then only loads it
        cache = tmp_path_factory.mktemp("numba-cache")
        os.environ["NUMBA_CACHE_DIR"] = str(cache)
        warm = subprocess.run(
            [sys.executable, "-m", "kmc", "warmup"], capture_output=True, text=True
        )
        assert warm.returncode == 0, warm.stderr
        yield os.environ["SLURM_CONF"]
    finally:
        subprocess.run(["bash", str(HERE / "stop_cluster.sh"), str(state)], timeout=120)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


BASE = """
[lattice]
shape = [10, 10, 16]
spacing_m = 1e-8
[boundaries]
bottom = "cathode"
top = "reservoir"
[[species]]
name = "monomer"
diffusivity_m2_per_s = 1e-14
initial_occupancy = 0.1
reservoir_occupancy = 0.1
reactions = [{{ electrode = "cathode", rate_per_s = 5.0, product = "consume" }}]
[run]
duration_s = {duration}
sample_interval_s = 10.0
snapshot_every_samples = 10
checkpoint_interval_wall_s = 5
"""
"""A slab that never fills: about 4 s of one core per 1000 simulated seconds."""

SWEEP = """
[sweep]
base = "base.toml"
root_seed = 5
[[sweep.grid]]
path = "species[0].reactions[0].rate_per_s"
values = {rates}
"""


def _sweep(tmp_path, duration, rates):
    (tmp_path / "base.toml").write_text(BASE.format(duration=duration))
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(rates=rates))
    return path


def _poll(predicate, timeout, what, interval=1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _sbatch(*args):
    """Submit from another working directory (the script names its paths absolutely),
    by a shell that exits at once: the jobs start after it has gone."""
    res = subprocess.run(["sbatch", "--parsable", *map(str, args)], cwd="/",
                         capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 0, res.stderr
    return res.stdout.strip().split(";")[0]


def _in_queue(job):
    res = subprocess.run(["squeue", "-h", "-j", job, "-o", "%i"], capture_output=True, text=True)
    return res.stdout.strip() != ""


def _job_fields(job):
    """``scontrol show job`` of ``job`` (each array task) as a list of {key: value}."""
    res = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in res.stdout.splitlines()]


def _status(out):
    res = kmc_cli("sweep", "status", out)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _counts(text):
    line = text.splitlines()[1]
    return {state: int(n) for n, state in re.findall(r"(\d+) ([a-z ]+?)(?:,|$)", line)}


def _manifest(out):
    return json.loads((out / "manifest.json").read_text())["points"]


def _reference(tmp_path, out, rec):
    """`kmc run` of a point's config with its seed, started in the background."""
    ref = tmp_path / f"ref_{rec['name']}.h5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmc", "run", str(out / f"{rec['name']}.toml"), "-o", str(ref),
         "--seed", str(rec["seed"]), "--progress", "off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return ref, proc


def _assert_equals_reference(ref, proc, point_file):
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert_same_datasets(ref, point_file)


def _logs(out):
    return "\n".join(p.read_text() for p in sorted(out.glob("slurm-*.out")))


REQUEUE_SETTLE_S = 5.0
"""Seconds a requeued task waits in the queue before the test starts it by hand."""


def _job_report(task, out):
    """What a failed job's diagnosis needs: its state, reason and exit code, the jobs'
    output, and the daemons' last lines about launches and credentials."""
    fields = {k: task.get(k) for k in ("JobState", "Reason", "ExitCode", "Restarts")}
    cluster = Path(os.environ["SLURM_CONF"]).parent
    daemons = []
    for name in ("slurmctld.log", "slurmd.log"):
        path = cluster / name
        if path.exists():
            lines = path.read_text(errors="replace").splitlines()
            keep = [ln for ln in lines if re.search(r"(?i)error|fail|revok|requeu|launch", ln)]
            daemons.append(f"--- {name} ---\n" + "\n".join(keep[-30:]))
    return "\n".join([str(fields), _logs(out), *daemons])


def test_emitted_array_runs_every_point_like_kmc_run(slurm_cluster, tmp_path):
    sweep = _sweep(tmp_path, 1000.0, "[1.0, 2.0, 4.0]")
    out = tmp_path / "out"
    res = kmc_cli("sweep", "emit-slurm", sweep, "-o", out)
    assert res.returncode == 0, res.stderr
    assert _status(out).splitlines()[1].startswith("  0 complete, 0 running, 0 queued")
    job = _sbatch(out / "sweep.sbatch")
    # two CPUs: two tasks run, the third waits; none can be done this soon
    counts = _counts(_status(out))
    assert counts["running"] + counts["queued"] == 3, counts
    _poll(lambda: not _in_queue(job), 240, f"job array {job}")
    text = _status(out)
    assert _counts(text)["complete"] == 3, text + _logs(out)
    assert "to run the unfinished points" not in text
    assert {t["JobState"] for t in _job_fields(job)} == {"COMPLETED"}
    for rec in _manifest(out):
        ref, proc = _reference(tmp_path, out, rec)
        _assert_equals_reference(ref, proc, out / f"{rec['name']}.h5")


def test_time_limit_checkpoints_requeues_and_resumes_bit_identically(slurm_cluster, tmp_path):
    """A one-minute limit on a point of one to two minutes: Slurm's USR1 (20 to 50 s
    before the limit, as it checks limits every 30 s) checkpoints the point and requeues
    the task, which resumes, as often as it takes; the result equals an uninterrupted
    `kmc run`."""
    sweep = _sweep(tmp_path, 12000.0, "[1.0]")
    out = tmp_path / "out"
    assert kmc_cli("sweep", "emit-slurm", sweep, "-o", out).returncode == 0
    (rec,) = _manifest(out)
    ref, proc = _reference(tmp_path, out, rec)  # alongside, on the other core
    job = _sbatch("--time=1", "--signal=B:USR1@20", out / "sweep.sbatch")
    _poll(lambda: "requeueing job" in _logs(out), 120, "the time-limit requeue")
    status = json.loads((out / f"{rec['name']}.status.json").read_text())
    assert status["status"] == "interrupted" and "SIGTERM" in status["error"], status
    # the requeued task waits in the queue (Slurm holds a requeued job back a while)
    text = _poll(lambda: next((t for t in [_status(out)] if "1 queued" in t), ""), 20, "queued")
    assert f"slurm job {job}_0 pending" in text, text

    pending_since = {}

    def finished():
        # as an administrator may: start a requeued task now, not after Slurm's hold, but
        # only once it has waited REQUEUE_SETTLE_S: slurmd revokes the old run's job
        # credential when it has killed it, and a new run whose credential is stamped in
        # the same second is refused as revoked (a launch failure: the task ends FAILED,
        # seen once in CI on a loaded machine). Slurm's own hold is there for this.
        (task,) = _job_fields(job)
        if task["JobState"] == "PENDING":
            since = pending_since.setdefault(task["Restarts"], time.monotonic())
            if time.monotonic() - since >= REQUEUE_SETTLE_S:
                subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"])
        return not _in_queue(job)

    _poll(finished, 400, f"job {job} to finish", interval=1.0)
    (task,) = _job_fields(job)
    assert task["JobState"] == "COMPLETED", _job_report(task, out)
    assert int(task["Restarts"]) >= 1
    log = (out / "sweep.log").read_text().splitlines()
    assert [line.split()[2] for line in log][-1] == "complete"
    assert "interrupted" in [line.split()[2] for line in log]
    assert "1 complete" in _status(out)
    _assert_equals_reference(ref, proc, out / f"{rec['name']}.h5")


def test_sweep_run_on_slurm_workers_survives_a_scancel(slurm_cluster, tmp_path):
    """`kmc sweep run --slurm` with two worker jobs; one is cancelled while its point
    runs: the point is rerun (from its checkpoint) by the other, and recorded once."""
    sweep = _sweep(tmp_path, 2500.0, "[1.0, 2.0, 4.0]")
    out = tmp_path / "out"
    # the scheduler and the workers on loopback, as the cluster
    env = {**os.environ, "DASK_JOBQUEUE__SLURM__INTERFACE": "lo"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmc", "sweep", "run", str(sweep), "-o", str(out), "--slurm",
         "--jobs", "2", "--walltime", "00:10:00", "--memory", "2GB", "--progress", "off"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def marked_job():
            for path in out.glob("point_*.running.json"):
                with_job = json.loads(path.read_text())
                if with_job.get("job"):
                    return path, with_job
            return None

        path, marker = _poll(marked_job, 120, "a point running in a worker job", 0.2)
        time.sleep(2)  # mid-point, past a checkpoint or not: either must lose nothing
        assert "running:" in _status(out)
        subprocess.run(["scancel", marker["job"]], check=True)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    log = (out / "sweep.log").read_text().splitlines()
    names = [line.split()[1] for line in log]
    assert sorted(names) == sorted(r["name"] for r in _manifest(out)), log  # once each
    assert {line.split()[2] for line in log} == {"complete"}
    assert path.name.removesuffix(".running.json") in names
    assert not list(out.glob("*.running.json"))
    text = _status(out)
    assert "3 complete" in text and "to run the unfinished" not in text
    for rec in _manifest(out):
        ref, ref_proc = _reference(tmp_path, out, rec)
        _assert_equals_reference(ref, ref_proc, out / f"{rec['name']}.h5")


def test_two_tasks_compile_into_one_empty_cache_at_once(slurm_cluster, tmp_path):
    sweep = _sweep(tmp_path, 200.0, "[1.0, 2.0]")
    out = tmp_path / "out"
    assert kmc_cli("sweep", "emit-slurm", sweep, "-o", out).returncode == 0
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    job = _sbatch(f"--export=ALL,NUMBA_CACHE_DIR={cache}", out / "sweep.sbatch")
    _poll(lambda: not _in_queue(job), 240, f"job array {job}")
    tasks = _job_fields(job)
    assert [t["JobState"] for t in tasks] == ["COMPLETED", "COMPLETED"], _logs(out)
    # both compiled at the same time: each started before the other ended
    starts = sorted(t["StartTime"] for t in tasks)
    ends = sorted(t["EndTime"] for t in tasks)
    assert starts[1] < ends[0], tasks
    assert _logs(out).count("kernels compiled and cached") == 2
    assert any(cache.rglob("*.nbi")), "nothing was cached"
    assert "2 complete" in _status(out)
