"""Nothing silent, nothing lost: one writer per run, failed starts that block nothing,
pre-run checks, analysis and figures that never leave half-written files."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest
from chem import chem_text
from click.testing import CliRunner
from conftest import make_config_text
from helpers import kmc_cli

from kmc.cli import main
from kmc.config import ConfigError, parse_config
from kmc.runfile import _io as io
from kmc.simulation import LatticeEngine, Model, check_run, estimate_run

# a run of half an hour: it is always killed or interrupted
SLOW_SPECIES = """
[[species]]
name = "monomer"
diffusivity_m2_per_s = 1e-14
initial_occupancy = 0.2
reservoir_occupancy = 0.2
reactions = [{ electrode = "cathode", rate_per_s = 5.0 }]
"""


def _slow_config(tmp_path):
    text = make_config_text(shape="[32, 32, 32]", species=SLOW_SPECIES, duration=1e4, sample=1e3)
    text = text.replace("seed = 7", "seed = 7\ncheckpoint_interval_wall_s = 0.5")
    path = tmp_path / "slow.toml"
    path.write_text(text)
    return path


def _start(cfg, out, *flags):
    return subprocess.Popen(
        [sys.executable, "-m", "kmc", "run", str(cfg), "-o", str(out), "--progress", "off",
         *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for_checkpoint(out, timeout=60):
    ck = io.partial_path(out) / "checkpoint.h5"
    deadline = time.time() + timeout
    while not ck.exists():
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.05)


def test_second_writer_is_refused_naming_the_pid_and_kill9_leaves_no_stale_lock(tmp_path):
    """While one process writes a run, `run`, `--overwrite` and `--resume` on the same
    output are refused with the writer's PID; after kill -9 of the writer the kernel has
    dropped its lock: `--resume` takes over (and stops at Ctrl-C saying where it was)."""
    cfg = _slow_config(tmp_path)
    out = tmp_path / "s.h5"
    first = _start(cfg, out)
    try:
        _wait_for_checkpoint(out)
        for flags in ((), ("--overwrite",), ("--resume",)):
            res = kmc_cli("run", cfg, "-o", out, "--progress", "off", *flags)
            assert res.returncode == 2, (flags, res.stderr)
            assert f"another kmc process (PID {first.pid}) is writing this run" in res.stderr
            assert "Traceback" not in res.stderr
        assert first.poll() is None  # the first writer was not disturbed
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    ck = io.partial_path(out) / "checkpoint.h5"
    before = ck.stat().st_mtime_ns
    second = _start(cfg, out, "--resume")
    deadline = time.time() + 60
    while ck.stat().st_mtime_ns == before:  # it holds the lock and checkpoints
        assert time.time() < deadline and second.poll() is None, second.communicate()
        time.sleep(0.05)
    second.send_signal(signal.SIGINT)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 130, err
    assert "stopped by SIGINT at simulated time t = " in err
    assert not out.exists() and io.holds_checkpoint(io.partial_path(out))


def test_lock_is_exclusive_within_and_across_processes(tmp_path):
    part = tmp_path / "x.h5.partial"
    lock = io.RunLock.acquire(part, tmp_path / "x.h5")
    with pytest.raises(io.RunLockedError, match=f"PID {os.getpid()}"):
        io.RunLock.acquire(part, tmp_path / "x.h5")
    lock.release()
    assert not part.exists()  # held no checkpoint: nothing left behind
    with io.RunLock.acquire(part, tmp_path / "x.h5"):
        pass


def test_failed_start_leaves_nothing_that_blocks_the_next(tmp_path, monkeypatch):
    """A start that fails after the run directory was made (here: the geometry raises)
    leaves no directory; the next plain `kmc run` starts without any flag."""
    import kmc.simulation._simulation as sim

    cfg = tmp_path / "c.toml"
    cfg.write_text(make_config_text())
    out = tmp_path / "o.h5"

    def broken(model, seed):
        raise ValueError("geometry failed")

    monkeypatch.setattr(sim.geometry, "initial_phase", broken)
    runner = CliRunner()
    res = runner.invoke(main, ["run", str(cfg), "-o", str(out), "--progress", "off"])
    assert res.exit_code == 2 and "geometry failed" in res.output
    assert not io.partial_path(out).exists()
    monkeypatch.undo()
    res = runner.invoke(main, ["run", str(cfg), "-o", str(out), "--progress", "off"])
    assert res.exit_code == 0, res.output


def test_a_directory_without_checkpoint_is_replaced_and_resume_says_what_to_do(tmp_path):
    """kill -9 before the first checkpoint leaves a run directory with no checkpoint:
    --resume says to start afresh (without --resume), and a plain start replaces it."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(make_config_text())
    out = tmp_path / "o.h5"
    part = io.partial_path(out)
    part.mkdir()
    (part / "meta.json").write_text("{}")
    runner = CliRunner()
    res = runner.invoke(main, ["run", str(cfg), "-o", str(out), "--progress", "off", "--resume"])
    assert res.exit_code == 2
    assert "nothing to resume" in res.output and "without --resume" in res.output
    res = runner.invoke(main, ["run", str(cfg), "-o", str(out), "--progress", "off"])
    assert res.exit_code == 0, res.output
    assert not part.exists() and out.exists()


def test_last_line_says_why_the_run_stopped(tmp_path):
    runner = CliRunner()
    cfg = tmp_path / "c.toml"
    cfg.write_text(make_config_text())
    res = runner.invoke(main, ["run", str(cfg), "-o", str(tmp_path / "a.h5"), "--progress", "off"])
    assert res.exit_code == 0
    assert "duration reached (run.duration_s = 1 s)" in res.output.splitlines()[-1]
    galv = tmp_path / "g.toml"
    galv.write_text(
        chem_text(protocol="galvanostatic", current=2e-5, k0=1e-6, cycles=2, duration=50.0)
    )
    res = runner.invoke(main, ["run", str(galv), "-o", str(tmp_path / "g.h5"), "--progress", "log"])
    assert res.exit_code == 0, res.output
    last = res.output.strip().splitlines()[-1]
    assert "protocol complete (2 of 2 cycles) at simulated time t = " in last


def test_progress_counts_cycles_when_the_protocol_ends_the_run(caplog):
    from kmc.simulation import Progress

    caplog.set_level("INFO", logger="kmc")
    bar = Progress(100.0, "log", log_interval_s=0.0, cycles_total=300)
    bar.update(1.0, 10, cycles=0)
    bar.update(5.0, 100, cycles=12)
    bar.close(6.0, 120)
    assert "cycle 12 of 300, t = 5 s" in caplog.text
    assert "cycle 12 of 300, t = 6 s" in caplog.text
    assert "%" not in caplog.text


# ---------------------------------------------------------------------- pre-run checks
def _cfg(text):
    return parse_config(text, "c.toml")


def test_lattice_larger_than_memory_is_refused_with_the_estimate():
    empty = '[[species]]\nname = "monomer"\ndiffusivity_m2_per_s = 1e-14\n'
    cfg = _cfg(make_config_text(shape="[2048, 2048, 2048]", species=empty, top="wall"))
    est = estimate_run(cfg)
    # 2048^3 sites at 28 B each (set-up peak), one particle slot of one species in two
    # reaction channels (20 + 4 + 8 + 4 B): 224 GiB
    assert est.memory_bytes == 28 * 2048**3 + 36
    with pytest.raises(ConfigError, match=r"needs about 224 GiB .* GiB available"):
        check_run(cfg)


@pytest.mark.parametrize("surfaces", [False, True], ids=["2-channels", "4-channels"])
def test_memory_estimate_per_particle_slot_is_what_the_engine_allocates(surfaces):
    """The estimate's bytes per particle slot equal the serial engine's per-slot arrays,
    for the chemistry's three species in two reaction channels (60 B) and in four (surfaces
    resolved, 84 B), where a fixed 32 B was counted before."""
    from kmc.simulation._engine import _PARTICLE_ARRAYS
    from kmc.simulation._preflight import particle_slot_bytes

    text = chem_text()
    if surfaces:
        text = text.replace('electrode = "cathode"', 'electrode = "cathode"\nsurface = "film"', 1)
    model = Model.from_config(parse_config(text))
    assert model.resolves_surfaces == surfaces and len(model.species_names) == 3
    engine = LatticeEngine(model, 1)
    arrays = [*_PARTICLE_ARRAYS, "members", "react_members", "free_pids"]
    allocated = sum(getattr(engine, a).nbytes for a in arrays)
    assert particle_slot_bytes(model) * engine.px.size == allocated


def test_memory_estimate_counts_the_sector_engines_cell_lists(monkeypatch):
    """With [parallel] the estimate adds what SectorEngine allocates for its cells (lists
    of about 2 x the particles per cell, per species and per reaction channel, and the
    per-particle cell arrays), and a refusal says how much of it they are."""
    import kmc.simulation._preflight as pre
    from kmc.simulation._sectors import SECTOR_STATE_ARRAYS, SectorEngine

    serial = make_config_text(shape="[16, 16, 12]")
    cfg = _cfg(serial + "\n[parallel]\nsectors = [2, 2]\n")
    model = Model.from_config(cfg)
    engine = SectorEngine(model, 7)
    engine._allocate_scratch()
    allocated = sum(getattr(engine, a).nbytes for a in SECTOR_STATE_ARRAYS)
    allocated += sum(a.nbytes for a in engine._scratch.values())
    assert pre.sector_bytes(cfg, model, engine.px.size) == pytest.approx(allocated, rel=0.01)
    slots = pre._particle_slots(cfg, 16 * 16 * 12)
    extra = estimate_run(cfg).memory_bytes - estimate_run(_cfg(serial)).memory_bytes
    assert extra == pre.sector_bytes(cfg, model, slots) > 0
    # many small cells: their lists (at least 16 entries each) outweigh the lattice
    big = _cfg(make_config_text(shape="[256, 256, 8]") + "\n[parallel]\nsectors = [64, 64]\n")
    monkeypatch.setattr(pre, "available_memory_bytes", lambda: 2**20)
    with pytest.raises(ConfigError, match=r"GiB of it the sector cell lists\); this machine"):
        check_run(big)


def test_runs_that_would_take_over_a_year_are_refused_and_over_a_day_warned():
    fast = SLOW_SPECIES.replace("1e-14", "1e-9")
    cfg = _cfg(make_config_text(shape="[64, 64, 64]", species=fast, duration=1e4, sample=1e3))
    with pytest.raises(ConfigError, match=r"run.duration_s = 10000: about .* years on one core"):
        check_run(cfg)
    cfg = _cfg(make_config_text(shape="[64, 64, 64]", species=fast, duration=1.0, sample=0.1))
    # 0.2 x 64^3 particles x 6 x D/a^2 = 3.1e12 events per s: 1.8 days at 2e7 events/s
    (warning,) = check_run(cfg)
    assert "days on one core" in warning


@pytest.mark.parametrize(
    "kw, expected",
    [
        (dict(protocol="cv", scan=0.1, step=6.0, duration=40.0),
         "at least 4 are needed to reach the vertex: use step_s <= 5"),
        (dict(protocol="cv", scan=0.1, step=0.05, duration=10.0),
         "shorter than one CV cycle (20 s simulated)"),
        (dict(protocol="galvanostatic"), None),
    ],
)  # fmt: skip
def test_protocol_steps_must_fit_their_cycles(kw, expected):
    cfg = _cfg(chem_text(**kw))
    if expected is None:
        assert check_run(cfg) == []
        return
    with pytest.raises(ConfigError) as info:
        check_run(cfg)
    assert expected in str(info.value)


def test_coarse_cv_step_is_a_warning():
    cfg = _cfg(chem_text(protocol="cv", scan=0.1, step=2.0, duration=40.0))
    (warning,) = check_run(cfg)
    assert "protocol.step_s = 2 s: 10 steps per CV cycle, the potential jumps 0.2 V" in warning


def test_electrode_area_smaller_than_the_simulated_patch_is_refused():
    text = chem_text(protocol="galvanostatic").replace(
        "electrode_area_m2 = 1e-4", "electrode_area_m2 = 1e-16"
    )
    with pytest.raises(ConfigError, match="protocol.electrode_area_m2 = 1e-16 is smaller"):
        check_run(_cfg(text))


# ---------------------------------------------------------------------- analysis, figures
def _cell_text(shape):
    """A small cathode | electrolyte | anode cell (no reservoir)."""
    text = make_config_text(shape=shape, top="anode", duration=0.5, sample=0.25)
    return text.replace("reservoir_occupancy = 0.1", "")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("rel")
    cfg = d / "run.toml"
    cfg.write_text(_cell_text("[8, 8, 16]"))
    out = d / "run.h5"
    res = kmc_cli("run", cfg, "-o", out, "--progress", "off")
    assert res.returncode == 0, res.stderr
    return out


def _copy(src, tmp_path, name="r.h5"):
    dst = tmp_path / name
    dst.write_bytes(src.read_bytes())
    return dst


def test_analyze_no_store_and_output_leave_the_run_file_alone(small_run, tmp_path):
    run = _copy(small_run, tmp_path)
    before = run.read_bytes()
    res = kmc_cli("analyze", run, "--no-store", "--json", "--output", tmp_path / "a.json")
    assert res.returncode == 0, res.stderr
    assert run.read_bytes() == before
    stored = json.loads((tmp_path / "a.json").read_text())
    assert stored == json.loads(res.stdout)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "r.h5"]


def test_analyze_read_only_run_file_prints_and_warns(small_run, tmp_path):
    run = _copy(small_run, tmp_path)
    before = run.read_bytes()
    run.chmod(0o444)
    res = kmc_cli("analyze", run, "--json", "--output", tmp_path / "a.json")
    assert res.returncode == 0, res.stderr
    assert "is read-only: results not stored in it" in res.stderr
    assert "membrane_resistance_ohm" in json.loads(res.stdout)
    assert run.read_bytes() == before and (tmp_path / "a.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "r.h5"]


def test_analyze_failed_store_keeps_file_and_results(small_run, tmp_path, monkeypatch):
    """A full disk while storing: the results are printed, the run file is unchanged,
    no temporary file stays, exit status 1."""
    import errno

    import kmc.analysis._analysis as analysis

    run = _copy(small_run, tmp_path)
    before = run.read_bytes()
    real_copy = analysis.shutil.copyfile

    def disk_full(src, dst):
        real_copy(src, dst)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(analysis.shutil, "copyfile", disk_full)
    res = CliRunner().invoke(main, ["analyze", str(run), "--json"])
    assert res.exit_code == 1
    assert "cannot store the results" in res.output and "No space left" in res.output
    assert "membrane_resistance_ohm" in res.output
    assert run.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.h5"]


def test_missing_dataset_is_named(small_run, tmp_path):
    run = _copy(small_run, tmp_path)
    with h5py.File(run, "r+") as f:
        del f["particles/lattice/phase"]
    for args in (("analyze", run), ("plot", run, "cross-section", "-o", tmp_path / "x.png"),
                 ("export", "xdmf", run)):  # fmt: skip
        res = kmc_cli(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert "damaged run file: missing /particles/lattice/phase/value" in res.stderr
        assert "Traceback" not in res.stderr


def test_failed_figure_write_leaves_no_file(small_run, tmp_path, monkeypatch):
    import matplotlib.figure

    def full(self, *a, **k):
        Path(a[0]).write_bytes(b"half a png")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full)
    out = tmp_path / "fig.png"
    res = CliRunner().invoke(main, ["plot", str(small_run), "cross-section", "-o", str(out)])
    assert res.exit_code == 2 and "cannot write" in res.output
    assert list(tmp_path.iterdir()) == []


def test_compare_refuses_runs_that_are_not_twins(small_run, tmp_path):
    cfg = tmp_path / "other.toml"
    cfg.write_text(_cell_text("[8, 8, 18]"))
    other = tmp_path / "other.h5"
    assert kmc_cli("run", cfg, "-o", other, "--progress", "off").returncode == 0
    res = kmc_cli("analyze", "--compare", small_run, other)
    assert res.returncode == 2
    assert "are not a pristine and a polymerized twin of one cell" in res.stderr
    assert "[lattice] differs" in res.stderr
    res = kmc_cli("analyze", "--compare", small_run, other, "--allow-mismatch", "--json")
    assert res.returncode == 0 and "warning: NOT TWINS: [lattice] differs" in res.stderr
    # Same cell, other electrodes (an intercalation cathode: blocking differs at the
    # measurement): refused by name, --allow-mismatch still overrides.
    same = cfg.read_text().replace("[8, 8, 18]", "[8, 8, 16]")
    lfp = tmp_path / "lfp.toml"
    lfp.write_text(
        same + '\n[electrodes]\ncathode = { kind = "intercalation", plateau_V = [3.4, 3.45] }\n'
    )
    lfp_run = tmp_path / "lfp.h5"
    assert kmc_cli("run", lfp, "-o", lfp_run, "--progress", "off").returncode == 0
    res = kmc_cli("analyze", "--compare", small_run, lfp_run)
    assert res.returncode == 2
    assert "[electrodes] differs" in res.stderr and "intercalation" in res.stderr
    assert "[lattice] differs" not in res.stderr
    res = kmc_cli("analyze", "--compare", small_run, lfp_run, "--allow-mismatch", "--json")
    assert res.returncode == 0 and "warning: NOT TWINS: [electrodes] differs" in res.stderr
    # The defaults spelled out ([electrodes] written as a blocking cathode and a Li anode)
    # are the absent section: twins.
    seed = tmp_path / "seed.toml"
    seed.write_text(
        same + '\n[electrodes]\ncathode = { kind = "blocking" }\nanode = { kind = "lithium" }\n'
    )
    twin = tmp_path / "twin.h5"
    assert kmc_cli("run", seed, "-o", twin, "--progress", "off").returncode == 0
    assert kmc_cli("analyze", "--compare", small_run, twin).returncode == 0
