"""`kmc run`: outputs, refusal to overwrite, determinism, resume after SIGKILL / Ctrl-C."""

import signal
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner
from conftest import make_config_text
from helpers import assert_same_datasets, datasets, interrupt_run, kmc_cli

from kmc.cli import main

LONG_SPECIES = """
[[species]]
name = "monomer"
diffusivity_m2_per_s = 1e-14
initial_occupancy = 0.05
reservoir_occupancy = 0.05
reactions = [{ electrode = "cathode", rate_per_s = 20.0 }]

[[species]]
name = "cation"
charge = 1
diffusivity_m2_per_s = 2e-14
initial_occupancy = 0.02
reservoir_occupancy = 0.01
"""


def _write(tmp_path, name="run.toml", **kw):
    path = tmp_path / name
    path.write_text(make_config_text(**kw))
    return path


def test_run_writes_complete_file_and_refuses_overwrite(tmp_path):
    cfg = _write(tmp_path)
    out = tmp_path / "out.h5"
    runner = CliRunner()
    res = runner.invoke(main, ["run", str(cfg), "-o", str(out), "--progress", "off"])
    assert res.exit_code == 0, res.output
    assert "Da = k a^2/D = 5" in res.output
    with h5py.File(out) as f:
        assert f.attrs["complete"]
        assert f["observables/time"][-1] == 1.0
        assert f["observables/time"].shape == (11,)
        assert f["particles/lattice/phase/value"].shape == (3, 12, 8, 8)
        assert f["observables/species_count/value"].attrs["unit"] == "1"
        assert "config_toml" in f["parameters"].attrs
        assert f["h5md"].attrs["version"].tolist() == [1, 1]
    before = out.read_bytes()
    res = runner.invoke(main, ["run", str(cfg), "-o", str(out), "--progress", "off"])
    assert res.exit_code == 2
    assert "exists; pass --overwrite" in res.output
    assert out.read_bytes() == before
    res = runner.invoke(main, ["run", str(cfg), "-o", str(out), "--progress", "off", "--overwrite"])
    assert res.exit_code == 0, res.output
    assert not Path(str(out) + ".partial").exists()


def test_same_seed_is_bit_identical_and_seed_matters(tmp_path):
    cfg = _write(tmp_path)
    runner = CliRunner()
    for name, seed in (("a.h5", 5), ("b.h5", 5), ("c.h5", 6)):
        res = runner.invoke(
            main,
            ["run", str(cfg), "-o", str(tmp_path / name), "--seed", str(seed), "--progress", "off"],
        )
        assert res.exit_code == 0, res.output
    assert_same_datasets(tmp_path / "a.h5", tmp_path / "b.h5")
    a, c = datasets(tmp_path / "a.h5"), datasets(tmp_path / "c.h5")
    assert (a["observables/events/value"] != c["observables/events/value"]).any()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_resume_after_kill_is_bit_identical(tmp_path, sig):
    kw = dict(
        shape="[32, 32, 48]", species=LONG_SPECIES, duration=80.0, sample=1.0, snap=10,
        field=2e6,
    )  # fmt: skip
    cfg = _write(tmp_path, **kw)
    text = cfg.read_text().replace("seed = 7", "seed = 7\ncheckpoint_interval_wall_s = 0.1")
    cfg.write_text(text)
    ref = tmp_path / "reference.h5"
    res = kmc_cli("run", cfg, "-o", ref, "--progress", "off")
    assert res.returncode == 0, res.stderr

    out = tmp_path / "killed.h5"
    part = Path(str(out) + ".partial")
    # several wall-clock checkpoints into the run (it takes ~2.5 s)
    returncode, err = interrupt_run(cfg, out, sig, 0.7)
    assert not out.exists(), "the run finished before it was interrupted; lengthen it"
    assert part.exists()
    if sig == signal.SIGINT:
        assert returncode == 130, err
        assert "--resume" in err
    res = kmc_cli("run", cfg, "-o", out, "--progress", "off")
    assert res.returncode == 2 and "--resume" in res.stderr
    res = kmc_cli("run", cfg, "-o", out, "--resume", "--progress", "off")
    assert res.returncode == 0, res.stderr
    assert not part.exists()
    assert_same_datasets(ref, out)
    res = kmc_cli("run", cfg, "-o", out, "--resume", "--progress", "off")
    assert res.returncode == 0 and "already complete" in res.stderr


def test_resume_errors(tmp_path):
    cfg = _write(tmp_path)
    res = kmc_cli("run", cfg, "-o", tmp_path / "none.h5", "--resume")
    assert res.returncode == 2
    assert "nothing to resume" in res.stderr
    assert "Traceback" not in res.stderr


def test_truncated_and_foreign_files_give_clear_errors(tmp_path):
    from kmc.runfile import RunFileError, open_h5

    cfg = _write(tmp_path)
    out = tmp_path / "ok.h5"
    assert kmc_cli("run", cfg, "-o", out, "--progress", "off").returncode == 0
    data = out.read_bytes()
    trunc = tmp_path / "trunc.h5"
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(RunFileError, match="truncated or corrupt"):
        open_h5(trunc)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2]
    with pytest.raises(RunFileError, match="not a kmc run file"):
        open_h5(foreign)
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(RunFileError, match="not a readable HDF5 file"):
        open_h5(text)


def test_version_and_warmup():
    res = kmc_cli("--version")
    assert res.returncode == 0 and "kmc, version" in res.stdout
    res = kmc_cli("warmup")
    assert res.returncode == 0 and "compiled" in res.stdout
