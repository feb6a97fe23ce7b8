"""`kmc info`: a run file's summary (finished or partial) and the commands it gives."""

import json
import signal

import numpy as np
import pytest
from conftest import make_config_text
from helpers import assert_same_datasets, interrupt_run, kmc_cli

import kmc
from kmc.runfile import config_hash, stored_config


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    d = tmp_path_factory.mktemp("info")
    cfg = d / "run.toml"
    cfg.write_text(make_config_text())
    out = d / "run.h5"
    assert kmc_cli("run", cfg, "-o", out, "--seed", "11", "--progress", "off").returncode == 0
    return cfg, out


def test_info_of_a_finished_run_and_its_reproduce_command(finished, tmp_path):
    cfg, out = finished
    # the reproduce command: the stored config and the seed give the same file
    copy_cfg = tmp_path / "stored.toml"
    assert kmc_cli("info", out, "--config-out", copy_cfg).returncode == 0
    again = tmp_path / "again.h5"
    res = kmc_cli("run", copy_cfg, "-o", again, "--seed", "11", "--progress", "off")
    assert res.returncode == 0, res.stderr
    assert_same_datasets(out, again)
    assert kmc_cli("analyze", out).returncode == 0
    res = kmc_cli("info", out, "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    run = kmc.open(out)
    assert info["state"] == "complete" and info["seed"] == 11 == run.seed
    assert info["config"] == str(cfg)
    assert info["config_hash"] == config_hash(stored_config(out))
    assert info["versions"]["kmc_version"] == kmc.__version__
    assert info["simulated_time_s"] == pytest.approx(1.0)
    assert info["samples"] == run.series("coverage").values.shape[0]
    for name in ("coverage", "deposit_sites", "film_thickness_mean"):
        last = run.series(name).values[-1]
        assert [info["morphology"][name]["cathode"], info["morphology"][name]["anode"]] == list(
            last
        )
    (analysis,) = info["analyses"].values()
    assert analysis["membrane_resistance_ohm"] == pytest.approx(
        run.analysis(-1)["membrane_resistance_ohm"]
    )
    text = kmc_cli("info", out).stdout
    assert "complete" in text and "reproduce" in text and "resume" not in text


def test_info_of_an_interrupted_run_says_how_far_and_how_to_resume(tmp_path):
    cfg = tmp_path / "long.toml"
    cfg.write_text(make_config_text(duration=5000.0, sample=1.0).replace(
        "[run]", "[run]\ncheckpoint_interval_wall_s = 0.2"))  # fmt: skip
    out = tmp_path / "long.h5"
    code, err = interrupt_run(cfg, out, signal.SIGTERM, settle_s=1.0)
    assert code != 0 and not out.exists(), err
    res = kmc_cli("info", out, "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["state"].startswith("partial")
    assert 0 < info["simulated_time_s"] < 5000 and info["events"] > 0
    assert info["commands"]["resume"] == f"kmc run {cfg} -o {out} --resume"
    assert np.isfinite(info["wall_seconds"])
    # the .partial directory names the same run
    assert (
        json.loads(kmc_cli("info", f"{out}.partial", "--json").stdout)["events"] == info["events"]
    )


def test_info_of_nothing_is_a_named_error(tmp_path):
    res = kmc_cli("info", tmp_path / "none.h5")
    assert res.returncode == 2 and "no run file there, and no checkpoint" in res.stderr
    assert "Traceback" not in res.stderr
