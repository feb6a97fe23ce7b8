"""Sweeps: planning, seeds, local pool and Dask bitwise equal to `kmc run`, resume,
failures, Slurm script, bad sweep files."""

import contextlib
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_same_datasets, kmc_cli

from kmc.config import ConfigError
from kmc.sweeps import load_sweep, plan

BASE = """
[lattice]
shape = [10, 10, 16]
spacing_m = 1e-8
[boundaries]
bottom = "cathode"
top = "reservoir"
[[species]]
name = "monomer"
diffusivity_m2_per_s = 1e-16
initial_occupancy = 0.1
reservoir_occupancy = 0.1
reactions = [{ electrode = "cathode", rate_per_s = 5.0 }]
[run]
duration_s = 20.0
sample_interval_s = 1.0
snapshot_every_samples = 10
"""

SWEEP = """
[sweep]
base = "base.toml"
replicas = 2
root_seed = 11
[[sweep.grid]]
path = "species[0].reactions[0].rate_per_s"
values = {rates}
"""


def _sweep(tmp_path, rates="[1.0, 50.0]", extra=""):
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(rates=rates) + extra)
    return path


def _slow_sweep(tmp_path, duration_s=400.0):
    """Four points of ~2 s each (the slab never fills): time to interrupt them."""
    slow = BASE.replace("duration_s = 20.0", f"duration_s = {duration_s}")
    slow = slow.replace("1e-16", "1e-14").replace("5.0 }", '5.0, product = "consume" }')
    (tmp_path / "base.toml").write_text(slow)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP.format(rates="[1.0, 2.0]"))
    return sweep


def _start_sweep(sweep, out, workers):
    """`kmc sweep run` in its own process group, as a terminal's foreground job: with
    Ctrl-C's default action even where this test runs with SIGINT ignored (a background
    job of a non-interactive shell)."""
    return subprocess.Popen(
        [sys.executable, "-m", "kmc", "sweep", "run", str(sweep), "-o", str(out), "--workers",
         str(workers), "--progress", "off"], start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _assert_points_equal_kmc_run(tmp_path, out, first=None):
    """Each (of the ``first``) point(s) of the sweep in ``out`` equals, dataset by
    dataset, `kmc run` of its resolved config with its seed."""
    manifest = json.loads((out / "manifest.json").read_text())
    for rec in manifest["points"][:first]:
        ref = tmp_path / f"serial_{rec['name']}.h5"
        res = kmc_cli("run", out / f"{rec['name']}.toml", "-o", ref, "--seed", rec["seed"],
                      "--progress", "off")  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert_same_datasets(ref, out / f"{rec['name']}.h5")


def test_plan_identity_and_seeds_do_not_depend_on_other_points(tmp_path):
    spec, base, _ = load_sweep(_sweep(tmp_path, "[1.0, 50.0]"))
    a = {p.ident: p.seed for p in plan(spec, base)}
    spec, base, _ = load_sweep(_sweep(tmp_path, "[7.0, 50.0, 1.0]"))
    b = {p.ident: p.seed for p in plan(spec, base)}
    assert len(a) == 4 and len(b) == 6
    assert all(b[k] == v for k, v in a.items())  # same points, same seeds
    res = kmc_cli("sweep", "plan", tmp_path / "sweep.toml")
    assert res.returncode == 0 and res.stdout.count("replica") == 6


def test_a_point_keeps_its_identity_and_seed_when_its_base_changes_form(tmp_path):
    """The CV paper config moved from per-site numbers to physical units that derive
    them exactly (2026-12-08): configs/sweeps/cv_window_depth.toml plans the same point
    names and seeds over either form (a point's identity hashes its config in per-site
    form), so a sweep directory of the old form resumes its points. A chemistry that
    derives other numbers is another point."""
    from test_physical_units import per_site_twin

    repo = Path(__file__).parents[1]
    sweep_text = (repo / "configs" / "sweeps" / "cv_window_depth.toml").read_text()
    shipped = (repo / "configs" / "zheng2021_cv_symmetric.toml").read_text()
    (tmp_path / "sweeps").mkdir()
    sweep = tmp_path / "sweeps" / "cv_window_depth.toml"
    sweep.write_text(sweep_text)

    def points(base_text):
        (tmp_path / "zheng2021_cv_symmetric.toml").write_text(base_text)
        return [(p.name, p.seed) for p in plan(*load_sweep(sweep)[:2])]

    physical = points(shipped)
    assert len(physical) == 3
    assert points(per_site_twin(shipped)) == physical
    assert "coupling_rate_per_s = 1.0e4" in per_site_twin(shipped)
    other = points(shipped.replace("9.4095949375e7", "1.0e8"))
    assert not set(other) & set(physical)


def test_local_pool_matches_serial_runs_and_collect(tmp_path):
    sweep = _sweep(tmp_path)
    out = tmp_path / "out"
    res = kmc_cli("sweep", "run", sweep, "-o", out, "--workers", "2", "--progress", "log")
    assert res.returncode == 0, res.stderr
    _assert_points_equal_kmc_run(tmp_path, out)
    res = kmc_cli("sweep", "collect", out)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 4 and all(r["status"] == "complete" for r in rows)
    assert "in:species[0].reactions[0].rate_per_s" in rows[0]
    assert float(rows[0]["film_thickness_mean_cathode"]) >= 0
    for r in rows:  # Gamma = D / a^2 = 1e-16 / 1e-16 = 1 /s, so Da = k a^2 / D = k * 1 s
        rate = float(r["in:species[0].reactions[0].rate_per_s"])
        assert float(r["damkohler_monomer_cathode"]) == pytest.approx(rate, rel=1e-12)
    for r in rows:  # the largest cluster is part of the cathode deposit
        assert 0 < int(r["deposit_largest_cluster_cathode"]) <= float(r["deposit_sites_cathode"])
        assert int(r["deposit_clusters_cathode"]) >= 1
    assert (out / "results.h5").exists()
    # every number's unit: a units row beside the table (same columns), and in results.h5
    (units,) = list(csv.DictReader(open(out / "results_units.csv")))
    assert list(units) == list(rows[0])
    assert units["film_thickness_mean_cathode"] == "m" and units["wall_seconds"] == "s"
    assert units["in:species[0].reactions[0].rate_per_s"] == "1/s"
    assert units["damkohler_monomer_cathode"] == "1" and units["deposit_sites_cathode"] == "sites"
    import h5py

    with h5py.File(out / "results.h5") as f:
        assert f["results/film_thickness_mean_cathode"].attrs["unit"] == "m"
    # running again skips every complete point
    res = kmc_cli("sweep", "run", sweep, "-o", out, "--workers", "2", "--progress", "off")
    assert res.returncode == 0 and "4 complete, 0 failed" in res.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dask_scheduler_and_workers_match_local(tmp_path):
    pytest.importorskip("distributed")
    sweep = _sweep(tmp_path, "[1.0]")
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    bindir = Path(sys.executable).parent
    procs = [
        subprocess.Popen([bindir / "dask", "scheduler", "--host", "127.0.0.1", "--port",
                          str(port), "--no-dashboard"], stderr=subprocess.DEVNULL),
    ]  # fmt: skip
    try:
        time.sleep(2)
        for _ in range(2):
            procs.append(subprocess.Popen(
                [bindir / "dask", "worker", addr, "--nthreads", "1", "--host", "127.0.0.1",
                 "--no-dashboard"], stderr=subprocess.DEVNULL,
            ))  # fmt: skip
        from distributed import Client

        with Client(addr, timeout=60) as c:
            c.wait_for_workers(2, timeout=60)
        out = tmp_path / "dask_out"
        res = kmc_cli("sweep", "run", sweep, "-o", out, "--scheduler", addr, "--progress", "off")
        assert res.returncode == 0, res.stderr
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    _assert_points_equal_kmc_run(tmp_path, out)


def _wait_until(condition, timeout_s=120.0):
    """Poll ``condition`` every 0.05 s until it holds or ``timeout_s`` passes."""
    deadline = time.time() + timeout_s
    while time.time() < deadline and not condition():
        time.sleep(0.05)


def _statuses(out):
    return {p.name: json.loads(p.read_text())["status"] for p in out.glob("*.status.json")}


@pytest.mark.parametrize(
    "sig, group",
    [(signal.SIGKILL, True), (signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["SIGKILL-all", "ctrl-c", "SIGTERM-parent"],
)
def test_resume_after_interrupting_the_sweep(tmp_path, sig, group):
    """Kill the whole sweep (SIGKILL), press Ctrl-C (SIGINT to the process group) or
    `kill` the sweep process alone (SIGTERM, which it forwards to the points in flight)
    after its first point: nothing unfinished is marked complete, and running it again
    resumes every point to the same result as `kmc run`."""
    sweep = _slow_sweep(tmp_path)
    out = tmp_path / "out"
    proc = _start_sweep(sweep, out, workers=1)
    _wait_until(lambda: "complete" in _statuses(out).values())
    time.sleep(0.5)
    (os.killpg if group else os.kill)(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    before = _statuses(out)
    n_complete = sum(v == "complete" for v in before.values())
    assert 1 <= n_complete < 4, "the sweep was not interrupted part-way"
    if sig != signal.SIGKILL:
        assert proc.returncode == 130, err
        assert "run the same command again to resume" in err
        assert "Traceback" not in err
        assert "interrupted" in before.values()  # the point in flight saved its checkpoint
        assert set(before.values()) <= {"complete", "interrupted"}
    res = kmc_cli("sweep", "run", sweep, "-o", out, "--workers", "2", "--progress", "off")
    assert res.returncode == 0, res.stderr
    assert "4 complete, 0 failed" in res.stderr
    assert len(list(out.glob("*.h5.partial"))) == 0
    _assert_points_equal_kmc_run(tmp_path, out, first=2)


def test_a_point_killed_before_its_first_checkpoint_starts_afresh(tmp_path):
    """A worker killed between creating a point's run directory and its first checkpoint
    leaves ``.h5.partial`` without one: the next run starts that point afresh."""
    sweep = _sweep(tmp_path, "[1.0]")
    spec, base, _ = load_sweep(sweep)
    out = tmp_path / "out"
    first = plan(spec, base)[0].name
    (out / f"{first}.h5.partial").mkdir(parents=True)
    (out / f"{first}.h5.partial" / "segment_000000.h5.tmp").write_bytes(b"half")
    res = kmc_cli("sweep", "run", sweep, "-o", out, "--workers", "2", "--progress", "off")
    assert res.returncode == 0, res.stderr
    assert "2 complete, 0 failed" in res.stderr
    _assert_points_equal_kmc_run(tmp_path, out)


def test_a_point_that_kills_its_worker_is_recorded_and_the_others_finish(tmp_path):
    """The local pool survives a worker process that dies: the points in flight with it
    run again alone; the one that kills its process again is recorded as failed."""
    from functools import partial

    from helpers import crash_or_complete

    from kmc.sweeps._runner import local_pool

    records = [{"index": i, "name": f"p{i}"} for i in range(6)]
    statuses = list(local_pool(partial(crash_or_complete, "p2"), records, 2, tmp_path))
    by_name = {s["name"]: s for s in statuses}
    assert len(statuses) == 6 and sorted(by_name) == [f"p{i}" for i in range(6)]
    assert by_name["p2"]["status"] == "failed"
    assert "worker process running this point died" in by_name["p2"]["error"]
    assert json.loads((tmp_path / "p2.status.json").read_text())["status"] == "failed"
    assert all(by_name[f"p{i}"]["status"] == "complete" for i in (0, 1, 3, 4, 5))


def test_pool_workers_start_single_threaded(tmp_path, monkeypatch):
    """Numba, OpenMP and BLAS read their thread counts once, when they load, which in a
    worker is before any task or initializer runs: the workers must start with them."""
    from functools import partial

    from helpers import startup_environment

    from kmc.sweeps._runner import THREAD_VARS, local_pool

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "8")
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    records = [{"index": i, "name": f"p{i}"} for i in range(2)]
    for st in local_pool(partial(startup_environment, THREAD_VARS), records, 2, tmp_path):
        assert st["env"] == dict.fromkeys(THREAD_VARS, "1")
    assert os.environ["OPENBLAS_NUM_THREADS"] == "8"  # the parent's own values are back
    assert "NUMBA_NUM_THREADS" not in os.environ


def test_default_pool_size_follows_the_cpu_affinity():
    """Inside an allocation (Slurm, taskset) the pool uses the granted cores only."""
    from kmc.sweeps._runner import usable_cores

    granted = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(granted)})
        assert usable_cores() == 1
    finally:
        os.sched_setaffinity(0, granted)
    assert usable_cores() == len(granted)


def test_sweep_finishes_bit_identically_when_a_worker_is_killed(tmp_path):
    """SIGKILL one worker process of a running sweep: every point still completes, equal
    to `kmc run` of its config (interrupted points resume from their checkpoints)."""
    sweep = _slow_sweep(tmp_path)
    out = tmp_path / "out"
    proc = _start_sweep(sweep, out, workers=2)
    _wait_until(lambda: list(out.glob("*.h5.partial/checkpoint.h5")))
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    workers = [int(c) for c in children
               if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]  # fmt: skip
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "4 complete, 0 failed" in err and "a worker process died" in err
    _assert_points_equal_kmc_run(tmp_path, out, first=2)  # the two in flight


def test_failing_point_is_recorded_and_others_finish(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text("""
[sweep]
base = "base.toml"
[[sweep.grid]]
path = "species[0].initial_occupancy"
values = [0.1, 1.5]
""")
    out = tmp_path / "out"
    res = kmc_cli("sweep", "run", sweep, "-o", out, "--workers", "2", "--progress", "off")
    assert res.returncode == 1
    assert "1 complete, 1 failed" in res.stderr
    assert "initial_occupancy = 1.5" in res.stderr
    assert "failed" in (out / "sweep.log").read_text()
    res = kmc_cli("sweep", "collect", out)
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert sorted(r["status"] for r in rows) == ["complete", "failed"]
    assert any("initial_occupancy" in r["error"] for r in rows)


def test_emit_slurm_and_run_point(tmp_path):
    sweep = _sweep(tmp_path, "[1.0]", extra='\n[cluster]\nqueue = "short"\naccount = "lab"\n')
    out = tmp_path / "slurm"
    res = kmc_cli("sweep", "emit-slurm", sweep, "-o", out)
    assert res.returncode == 0, res.stderr
    script = (out / "sweep.sbatch").read_text()
    assert "#SBATCH --array=0-1" in script
    assert "#SBATCH --partition=short" in script and "#SBATCH --account=lab" in script
    assert "export NUMBA_NUM_THREADS=1" in script and "kmc warmup" in script
    assert "kmc sweep run-point" in script and '--index "$SLURM_ARRAY_TASK_ID"' in script
    for i in range(2):
        res = kmc_cli("sweep", "run-point", sweep, "--index", i, "-o", out)
        assert res.returncode == 0, res.stderr
    assert kmc_cli("sweep", "collect", out).returncode == 0
    res = kmc_cli("sweep", "run-point", sweep, "--index", 5, "-o", out)
    assert res.returncode == 2 and "out of range" in res.stderr


@pytest.mark.parametrize(
    "body, message",
    [
        ('[[sweep.grid]]\npath = "species[0].colour"\nvalues = [1]',
         "sweep.grid[0].path = 'species[0].colour': species[0].colour: the base config has "
         "no key 'colour'"),
        ('[[sweep.grid]]\npath = "species[3].charge"\nvalues = [1]', "no list item [3]"),
        ('[[sweep.grid]]\npath = "run.duration_s"\nvalues = []', "sweep.grid[0].values = []"),
        ('[[sweep.zip]]\npath = "run.duration_s"\nvalues = [1.0, 2.0]\n'
         '[[sweep.zip]]\npath = "run.seed"\nvalues = [1]', "sweep.zip axes have different lengths"),
    ],
)  # fmt: skip
def test_bad_sweep_files(tmp_path, body, message):
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "bad.toml"
    path.write_text('[sweep]\nbase = "base.toml"\n' + body + "\n")
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    assert message in str(info.value)
    res = kmc_cli("sweep", "plan", path)
    assert res.returncode == 2 and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "body, message",
    [
        ('[[sweep.grid]]\npath = "run.duration_s"\nvalues = [1.0, 2.0, 1.0]',
         "sweep.grid[0].values (path 'run.duration_s') repeats 1.0 (items 0 and 2)"),
        ('[[sweep.zip]]\npath = "run.duration_s"\nvalues = [1.0, 1.0, 2.0]\n'
         '[[sweep.zip]]\npath = "species[0].initial_occupancy"\nvalues = [0.1, 0.1, 0.1]',
         "sweep.zip repeats the values of item 0 at item 1 (run.duration_s = 1.0, "
         "species[0].initial_occupancy = 0.1)"),
        ('[[sweep.grid]]\npath = "run.duration_s"\nvalues = [1.0]\n'
         '[[sweep.zip]]\npath = "run.duration_s"\nvalues = [2.0]',
         "sweep.zip[0].path = 'run.duration_s' is also the path of sweep.grid[0]"),
    ],
    ids=["grid", "zip", "two-axes"],
)  # fmt: skip
def test_repeated_points_are_refused_at_plan_time(tmp_path, body, message):
    """Two points of one identity would share one output and one status file (they
    collide, and the sweep never reads complete): refused, naming the file, the axis
    and the value. Replicas differ by their index and are never refused."""
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "repeats.toml"
    path.write_text('[sweep]\nbase = "base.toml"\nreplicas = 3\n' + body + "\n")
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    for command in ("plan", "run"):
        out = ["-o", tmp_path / "out"] if command == "run" else []
        res = kmc_cli("sweep", command, path, *out)
        assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()  # refused before anything ran


def _overlapping_axes(runs, durations):
    """A sweep whose axes set the ``run`` table and a key inside it."""
    from kmc.config import parse_toml
    from kmc.sweeps._spec import SweepFile

    table = "{{duration_s = {}, sample_interval_s = 1.0, snapshot_every_samples = 10}}"
    text = f"""
[sweep]
base = {{}}
[[sweep.grid]]
path = "run"
values = [{", ".join(table.format(d) for d in runs)}]
[[sweep.grid]]
path = "run.duration_s"
values = {durations}
"""
    base = {"run": {"duration_s": 0.5, "sample_interval_s": 1.0, "snapshot_every_samples": 10}}
    return SweepFile.model_validate(parse_toml(text, "overlap")), base


def test_axes_that_overlap_into_one_config_are_refused():
    """The last guard: axes on nested paths that resolve two points to one config."""
    spec, base = _overlapping_axes([1.0, 2.0], [5.0])
    with pytest.raises(ConfigError, match=r"sweep points 0 \(.*\) and 1 \(.*\) resolve to one"):
        plan(spec, base)


def test_a_table_value_is_copied_into_each_point():
    """An axis on a path inside another axis's table value changes that point only."""
    spec, base = _overlapping_axes([1.0], [3.0, 4.0])
    points = plan(spec, base)
    assert [p.config["run"]["duration_s"] for p in points] == [3.0, 4.0]
    assert spec.sweep.grid[0].values[0]["duration_s"] == 1.0


def test_plot_sweep_results(tmp_path):
    sweep = _sweep(tmp_path)
    out = tmp_path / "out"
    assert (
        kmc_cli("sweep", "run", sweep, "-o", out, "--workers", "2", "--progress", "off").returncode
        == 0
    )
    assert kmc_cli("sweep", "collect", out).returncode == 0
    fig = tmp_path / "curve.png"
    res = kmc_cli("plot", "sweep", out, "--x", "species[0].reactions[0].rate_per_s",
               "--color", "film_thickness_mean_cathode", "-o", fig, "--logx")  # fmt: skip
    assert res.returncode == 0, res.stderr
    import matplotlib.image as mpimg

    assert mpimg.imread(fig)[..., :3].std() > 0.02
    res = kmc_cli("plot", "sweep", out, "--x", "nope", "--color", "coverage_cathode", "-o", fig)
    assert res.returncode == 2 and "no column 'nope'" in res.stderr
    res = kmc_cli("plot", "sweep", out, "--x", "species[0].reactions[0].rate_per_s",
                  "--color", "status", "-o", fig)  # fmt: skip
    assert res.returncode == 2 and "column 'status' is not numeric" in res.stderr
    res = kmc_cli("plot", "sweep", tmp_path, "--x", "a", "--color", "b", "-o", fig)
    assert res.returncode == 2 and "kmc sweep collect" in res.stderr


def test_phase_diagram_averages_replicas_per_cell(tmp_path):
    """With --y the figure is a grid of cells, each coloured by the mean over its
    replicas: the mesh holds exactly the means computed here from results.csv."""
    extra = '[[sweep.zip]]\npath = "species[0].initial_occupancy"\nvalues = [0.05, 0.1]\n'
    sweep = _sweep(tmp_path, extra=extra)
    out = tmp_path / "out"
    res = kmc_cli("sweep", "run", sweep, "-o", out, "--workers", "2", "--progress", "off")
    assert res.returncode == 0, res.stderr
    assert kmc_cli("sweep", "collect", out).returncode == 0
    rate, occ, metric = ("species[0].reactions[0].rate_per_s", "species[0].initial_occupancy",
                         "deposit_sites_cathode")  # fmt: skip
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8
    expected = np.zeros((2, 2))
    for j, o in enumerate((0.05, 0.1)):
        for i, k in enumerate((1.0, 50.0)):
            cell = [float(r[metric]) for r in rows
                    if float(r[f"in:{rate}"]) == k and float(r[f"in:{occ}"]) == o]  # fmt: skip
            assert len(cell) == 2  # both replicas
            expected[j, i] = np.mean(cell)
    assert expected[1].sum() > expected[0].sum()  # more monomer, more deposit

    from kmc import plot as kplot

    ax = kplot.sweep(out, rate, metric, y=occ, logx=True)
    np.testing.assert_array_equal(np.asarray(ax.collections[0].get_array()).reshape(2, 2),
                                  expected)  # fmt: skip
    assert [t.get_text() for t in ax.texts] == [f"{v:.3g}" for v in expected.ravel()]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == occ
    fig = tmp_path / "map.png"
    res = kmc_cli("plot", "sweep", out, "--x", rate, "--y", occ, "--color", metric,
                  "--logx", "--logy", "-o", fig)  # fmt: skip
    assert res.returncode == 0, res.stderr
    import matplotlib.image as mpimg

    assert mpimg.imread(fig)[..., :3].std() > 0.02


@pytest.mark.parametrize(
    "system, expected",
    [("slurm", ["#SBATCH -p short", "#SBATCH -A lab", "#SBATCH -t 00:10:00"]),
     ("pbs", ["#PBS -q short", "#PBS -A lab", "#PBS -l walltime=00:10:00"])],
)  # fmt: skip
def test_batch_cluster_job_script(system, expected):
    """The --slurm and --pbs paths build a dask-jobqueue cluster whose job script pins
    threads and carries the [cluster] options (not submitted: no batch system here)."""
    pytest.importorskip("dask_jobqueue")
    from kmc.sweeps._runner import make_batch_cluster

    opts = {"queue": "short", "account": "lab", "walltime": "00:10:00", "memory": "2GB",
            "cores": 2, "jobs": 1, "system": system}  # fmt: skip
    cluster = make_batch_cluster(opts)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in expected:
        assert line in script, script
    assert "export NUMBA_NUM_THREADS=1" in script and "--nworkers 2" in script


def test_analyzed_sweep_collects_the_estimator_results(tmp_path):
    """With `analyze = true` each point is analyzed in its measurement state and the
    results table carries the estimator's keys (the crystalline fraction included)."""
    base = BASE.replace('top = "reservoir"', 'top = "anode"')
    (tmp_path / "base.toml").write_text(base.replace("reservoir_occupancy = 0.1\n", ""))
    sweep = tmp_path / "sweep.toml"
    text = SWEEP.format(rates="[5.0]").replace("replicas = 2", "replicas = 1\nanalyze = true")
    sweep.write_text(text)
    out = tmp_path / "out"
    res = kmc_cli("sweep", "run", sweep, "-o", out, "--workers", "1", "--progress", "off")
    assert res.returncode == 0, res.stderr
    assert kmc_cli("sweep", "collect", out).returncode == 0
    (row,) = list(csv.DictReader(open(out / "results.csv")))
    assert row["status"] == "complete"
    assert float(row["membrane_resistance_ohm"]) > 0
    assert float(row["interfacial_resistance_ohm"]) > 0
    # pristine rule (target 0.498); on this 10 x 10 box one 113 nm domain is 11 sites wide
    assert float(row["crystalline_fraction"]) >= 0.498
    assert row["short_circuit"] in ("False", "false", "0")


def _fake_command(tmp_path, name, script):
    """An executable ``name`` (a shell ``script``) first on a copy of PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / name).write_text("#!/bin/sh\n" + script)
    (bindir / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize(
    "flag, command, script, message",
    [("--slurm", "sbatch", 'echo "sbatch: error: invalid account" >&2\nexit 1\n',
      "error: submitting a batch job failed: sbatch exited with status 1: sbatch: error: "
      "invalid account"),
     ("--pbs", "qsub", "echo queue closed\n",
      "error: submitting a batch job with qsub failed: Could not parse job id")],
    ids=["sbatch-fails", "qsub-says-no-job-id"],
)  # fmt: skip
def test_a_refused_batch_submission_is_a_named_error(tmp_path, flag, command, script, message):
    """dask-jobqueue submits in the background: a refusal was a logged traceback and then
    a sweep waiting forever for workers. Now it is one error within seconds."""
    pytest.importorskip("dask_jobqueue")
    env = _fake_command(tmp_path, command, script)
    t0 = time.monotonic()
    res = kmc_cli("sweep", "run", _sweep(tmp_path, "[1.0]"), "-o", tmp_path / "out", flag,
                  "--progress", "off", env=env, timeout=120)  # fmt: skip
    assert time.monotonic() - t0 < 30
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr
    assert [line for line in res.stderr.splitlines() if line.startswith("error:")] == [
        next(line for line in res.stderr.splitlines() if message in line)
    ]


def test_a_missing_batch_command_is_a_named_error(tmp_path):
    pytest.importorskip("dask_jobqueue")
    env = {**os.environ, "PATH": str(tmp_path)}  # no sbatch there
    res = kmc_cli("sweep", "run", _sweep(tmp_path, "[1.0]"), "-o", tmp_path / "out", "--slurm",
                  "--progress", "off", env=env, timeout=120)  # fmt: skip
    assert res.returncode == 2
    assert "error: cannot submit batch jobs: 'sbatch' is not on PATH" in res.stderr
    assert "Traceback" not in res.stderr


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    pytest.importorskip("distributed")
    addr = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    t0 = time.monotonic()
    res = kmc_cli("sweep", "run", _sweep(tmp_path, "[1.0]"), "-o", tmp_path / "out",
                  "--scheduler", addr, "--progress", "off", timeout=120)  # fmt: skip
    assert time.monotonic() - t0 < 20
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        f"error: cannot reach the Dask scheduler at {addr}: Timed out trying to connect to "
        f"{addr} after 5 s"
    ]


def test_workers_exit_when_the_sweep_process_is_killed(tmp_path):
    """SIGKILL of the sweep process alone (no clean-up runs in it): its workers get
    SIGTERM from the kernel, save their points' checkpoints and exit within seconds."""
    psutil = pytest.importorskip("psutil")
    sweep = _slow_sweep(tmp_path, duration_s=40000.0)  # minutes per point
    out = tmp_path / "out"
    proc = _start_sweep(sweep, out, workers=2)
    try:
        _wait_until(lambda: len(list(out.glob("*.h5.partial/checkpoint.h5"))) == 2)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        workers = [p for p in descendants if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        _, alive = psutil.wait_procs(descendants, timeout=10)
        assert alive == [], f"still running 10 s after the sweep died: {alive}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the session
    # the points in flight stopped as on `kill`: checkpoint saved, resumable
    assert sorted(_statuses(out).values()) == ["interrupted", "interrupted"]
    assert len(list(out.glob("*.h5.partial/checkpoint.h5"))) == 2


def test_without_prctl_a_thread_watches_for_the_sweep_process(tmp_path):
    """Where the kernel cannot signal a worker on its parent's death (not Linux), a
    thread polls for the parent: a stand-in worker of a killed stand-in sweep exits."""
    psutil = pytest.importorskip("psutil")
    worker = (
        "import os, threading, time, types\n"
        "import kmc.sweeps._runner as r\n"
        "def no_prctl(*a, **k):\n    raise OSError('no prctl here')\n"
        "r.ctypes = types.SimpleNamespace(CDLL=no_prctl)\n"
        "r._die_with_the_sweep(os.getppid(), poll_s=0.05)\n"
        "print(os.getpid(), [t.name for t in threading.enumerate()], flush=True)\n"
        "time.sleep(120)\n"
    )
    sweep = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time\n"
         f"subprocess.Popen([sys.executable, '-c', {worker!r}])\ntime.sleep(120)"],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        pid, threads = sweep.stdout.readline().split(" ", 1)
        assert "kmc-sweep-watch" in threads
        child = psutil.Process(int(pid))
        sweep.kill()
        sweep.wait(timeout=10)
        child.wait(timeout=10)  # psutil.TimeoutExpired if it outlives its parent
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sweep.pid, signal.SIGKILL)
        sweep.stdout.close()


def test_collect_leaves_no_temporary_file_when_writing_fails(tmp_path):
    """The results tables are written beside their names and renamed; a failure removes
    the temporary file and is one error line."""
    from kmc.sweeps import collect, prepare

    spec, base, _ = load_sweep(_sweep(tmp_path, "[1.0]"))
    out = tmp_path / "out"
    prepare(out, spec, plan(spec, base))
    assert len(collect(out)) == 2  # pending points
    for name in ("results.csv", "results.h5"):
        (out / name).unlink()
        (out / name).mkdir()  # a directory there: the rename fails
        (out / name / "keep").write_text("")
        res = kmc_cli("sweep", "collect", out)
        assert res.returncode == 2 and "Traceback" not in res.stderr
        assert res.stderr.startswith(f"error: cannot write the results table in {out}: ")
        assert not list(out.glob("*.tmp"))
        shutil.rmtree(out / name)
        collect(out)


def test_sweep_status_counts_points_and_names_what_to_resubmit(tmp_path):
    """`kmc sweep status` from the files alone and a (fake) squeue: complete, failed with
    its first line, a marker left by a killed process is interrupted, a live one running,
    an array task squeue lists as pending is queued (its script given relative to where
    it was submitted), and the unfinished points make the resubmission command."""
    sweep = _sweep(tmp_path, "[1.0, 50.0, 7.0]")
    out = tmp_path / "out"
    assert kmc_cli("sweep", "emit-slurm", sweep, "-o", out).returncode == 0
    recs = json.loads((out / "manifest.json").read_text())["points"]
    assert len(recs) == 6

    def status(i, state, error=""):
        st = {"index": i, "name": recs[i]["name"], "status": state, "error": error}
        (out / f"{recs[i]['name']}.status.json").write_text(json.dumps(st))

    def marker(i, pid, **job):
        m = {"host": os.uname().nodename, "pid": pid, "started": 0.0, **job}
        (out / f"{recs[i]['name']}.running.json").write_text(json.dumps(m))

    status(0, "complete")
    status(1, "failed", "ValueError: no such electrode\n  File ...")
    gone = subprocess.Popen(["true"])
    gone.wait()
    marker(2, gone.pid)  # killed outright: its process is gone
    marker(3, os.getpid())  # this process: alive
    status(4, "interrupted", "stopped by SIGTERM at simulated time t = 3 s; checkpoint saved")
    env = _fake_command(
        tmp_path, "squeue", f'echo "12|12_4|PENDING|4|{out.parent}|out/sweep.sbatch"\n'
    )  # fmt: skip
    res = kmc_cli("sweep", "status", out, env=env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"{out}: 6 points planned"
    assert lines[1] == ("  1 complete, 1 running, 1 queued, 1 failed, 1 interrupted, "
                        "1 not started")  # fmt: skip
    assert f"{recs[1]['name']}: ValueError: no such electrode" in res.stdout
    assert "File ..." not in res.stdout  # one line per failure
    assert f"{recs[2]['name']}: its process (pid {gone.pid} on " in res.stdout
    assert f"{recs[4]['name']}: slurm job 12_4 pending" in res.stdout  # queued beats its file
    assert lines[-1] == f"to run the unfinished points: sbatch --array=1,2,5 {out}/sweep.sbatch"
    before = sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir())
    # without squeue: the files alone, and a note saying so
    res = kmc_cli("sweep", "status", out, env={**os.environ, "PATH": str(tmp_path / "none")})
    assert res.returncode == 0, res.stderr
    assert "1 queued" not in res.stdout and "2 interrupted" in res.stdout
    assert "note: squeue is not on PATH" in res.stdout
    assert sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir()) == before  # read-only
    res = kmc_cli("sweep", "status", tmp_path / "nowhere")
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "manifest" in res.stderr


def test_a_point_leaves_no_running_marker_when_done(tmp_path):
    from kmc.sweeps import prepare, run_point
    from kmc.sweeps._runner import point_record

    spec, base, _ = load_sweep(_sweep(tmp_path, "[1.0]"))
    out = tmp_path / "out"
    points = plan(spec, base)
    prepare(out, spec, points)
    assert run_point(str(out), point_record(points[0]), False)["status"] == "complete"
    assert not list(out.glob("*.running.json"))
    res = kmc_cli("sweep", "status", out)
    assert "1 complete, 0 running, 0 queued, 0 failed, 0 interrupted, 1 not started" in res.stdout
    assert res.stdout.splitlines()[-1].endswith("run the same `kmc sweep run` again")  # no script


SECTOR_BASE = BASE.replace("shape = [10, 10, 16]", "shape = [8, 8, 16]") + (
    "[parallel]\nsectors = [2, 2]\n"
)


def test_cpus_per_point_runs_sector_points_on_their_threads(tmp_path):
    """`cpus_per_point = 2`: a point of a config with [parallel] runs the sector engine on
    2 threads (one worker on this 2-core machine), a serial config's point on one, and
    each equals `kmc run` of its config (with --threads 1 for the sector one)."""
    (tmp_path / "base.toml").write_text(SECTOR_BASE)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        SWEEP.format(rates="[5.0]").replace("replicas = 2", "replicas = 1\ncpus_per_point = 2")
    )
    out = tmp_path / "out"
    res = kmc_cli("sweep", "run", sweep, "-o", out, "--progress", "off")
    assert res.returncode == 0, res.stderr
    (rec,) = json.loads((out / "manifest.json").read_text())["points"]
    status = json.loads((out / f"{rec['name']}.status.json").read_text())
    assert status["status"] == "complete" and status["threads"] == 2
    ref = tmp_path / "ref.h5"
    res = kmc_cli("run", out / f"{rec['name']}.toml", "-o", ref, "--seed", rec["seed"],
                  "--threads", "1", "--progress", "off")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert_same_datasets(ref, out / f"{rec['name']}.h5")
    # a serial config ignores the cores it is given
    from kmc.config import parse_config
    from kmc.sweeps._runner import point_threads

    assert point_threads(parse_config(BASE), 8) == 1
    assert point_threads(parse_config(SECTOR_BASE), 8) == min(4, _numba_threads())
    assert point_threads(parse_config(SECTOR_BASE), 1) == 1


def _numba_threads():
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


def test_cpus_per_point_in_the_slurm_array_and_the_batch_cluster(tmp_path):
    """Each array task asks for the point's cores and pins the thread pools to them; a
    Dask batch job of 4 cores runs 2 single-task workers of 2 threads each."""
    pytest.importorskip("dask_jobqueue")
    from kmc.sweeps import ClusterError
    from kmc.sweeps._runner import make_batch_cluster

    sweep = _sweep(tmp_path, "[1.0]")
    out = tmp_path / "slurm"
    res = kmc_cli("sweep", "emit-slurm", sweep, "-o", out, "--cpus-per-point", "2")
    assert res.returncode == 0, res.stderr
    script = (out / "sweep.sbatch").read_text()
    assert "#SBATCH --cpus-per-task=2" in script
    assert "export NUMBA_NUM_THREADS=2 OMP_NUM_THREADS=2" in script
    assert "--cpus-per-point 2 &" in script
    opts = {"walltime": "00:10:00", "memory": "2GB", "cores": 4, "jobs": 1,
            "cpus_per_point": 2}  # fmt: skip
    for system, cpu_line in (("slurm", "#SBATCH --cpus-per-task=4"), ("pbs", "ncpus=4")):
        cluster = make_batch_cluster(opts | {"system": system})
        try:
            job = cluster.job_script()
        finally:
            cluster.close()
        assert cpu_line in job and "--nworkers 2" in job and "--nthreads 1" in job, job
        assert "export NUMBA_NUM_THREADS=2" in job
    with pytest.raises(ClusterError, match=r"cpus_per_point = 8 exceeds the 4 cores"):
        make_batch_cluster(opts | {"system": "slurm", "cpus_per_point": 8})


def test_cpus_per_point_bad_values_are_named(tmp_path):
    from kmc.sweeps._runner import usable_cores

    sweep = _sweep(tmp_path, "[1.0]", extra="")
    sweep.write_text(sweep.read_text().replace("replicas = 2", "replicas = 2\ncpus_per_point = 0"))
    res = kmc_cli("sweep", "plan", sweep)
    assert res.returncode == 2 and "cpus_per_point" in res.stderr, res.stderr
    sweep = _sweep(tmp_path, "[1.0]")
    too_many = usable_cores() + 1
    res = kmc_cli("sweep", "run", sweep, "-o", tmp_path / "o", "--cpus-per-point", too_many)
    assert res.returncode == 2 and f"cpus_per_point = {too_many} exceeds" in res.stderr
    assert not (tmp_path / "o").exists()


def test_sweep_validate_and_config_validate_of_a_sweep_file(tmp_path):
    """`kmc sweep validate` checks the sweep and each point's config; `kmc config
    validate` given a sweep file checks it the same way (it said 'lattice: required')."""
    sweep = _sweep(tmp_path, "[1.0, 50.0]")
    for cmd in (("sweep", "validate"), ("config", "validate")):
        res = kmc_cli(*cmd, sweep)
        assert res.returncode == 0, res.stderr
        assert "valid sweep of 4 points" in res.stdout and "lattice" not in res.stderr
    sweep.write_text(sweep.read_text().replace("[1.0, 50.0]", "[1.0, -3.0]"))
    res = kmc_cli("sweep", "validate", sweep)
    assert res.returncode == 2 and "2 of 4 points have invalid configs" in res.stderr
    assert "point 2 (species[0].reactions[0].rate_per_s = -3.0)" in res.stderr


def test_collect_reads_a_surface_resolved_run(tmp_path):
    """A sweep of a base whose reactions name their surface: collect gives the Da of the
    bare cathode and of its film, each with its unit, as `kmc run` prints them."""
    base = BASE.replace(
        'reactions = [{ electrode = "cathode", rate_per_s = 5.0 }]',
        'reactions = [{ electrode = "cathode", surface = "electrode", rate_per_s = 0.5 },\n'
        '             { electrode = "cathode", surface = "film", rate_per_s = 5.0 }]',
    )
    (tmp_path / "base.toml").write_text(base)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP.format(rates="[1.0]").replace("replicas = 2", "replicas = 1"))
    out = tmp_path / "out"
    res = kmc_cli("sweep", "run", sweep, "-o", out, "--workers", "1", "--progress", "off")
    assert res.returncode == 0, res.stderr
    res = kmc_cli("sweep", "collect", out)
    assert res.returncode == 0, res.stderr
    (row,) = list(csv.DictReader(open(out / "results.csv")))
    assert row["status"] == "complete"
    assert float(row["damkohler_monomer_cathode"]) == pytest.approx(1.0, rel=1e-12)  # swept
    assert float(row["damkohler_monomer_cathode_film"]) == pytest.approx(5.0, rel=1e-12)
    (units,) = list(csv.DictReader(open(out / "results_units.csv")))
    assert units["damkohler_monomer_cathode_film"] == "1"
