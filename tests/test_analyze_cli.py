"""`kmc analyze`: table, JSON, stored analysis group, --compare, errors, short circuit."""

import json

import h5py
import numpy as np
import pytest
from conftest import make_config_text
from helpers import kmc_cli


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("analyze")
    cfg = d / "run.toml"
    text = make_config_text(shape="[12, 12, 20]", top="anode", duration=2.0, sample=0.5)
    text = text.replace("reservoir_occupancy = 0.1", "").replace(
        "occupancy = 0.1", "occupancy = 0.3"
    )
    cfg.write_text(text)
    out = d / "run.h5"
    res = kmc_cli("run", cfg, "-o", out, "--progress", "off")
    assert res.returncode == 0, res.stderr
    return out


def test_analyze_json_and_stored_group(run_file):
    res = kmc_cli("analyze", run_file, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    for key in (
        "membrane_resistance_ohm", "interfacial_resistance_ohm",
        "effective_conductivity_S_per_cm", "short_circuit",
    ):  # fmt: skip
        assert key in out
    assert out["short_circuit"] is False and out["snapshot"] == 1  # frames at t = 0 and 2 s
    assert out["membrane_resistance_ohm"] > 0 and out["interfacial_resistance_ohm"] > 0
    with h5py.File(run_file) as f:
        g = f["analysis/snapshot_0001"]
        assert g.attrs["membrane_resistance_ohm"] == pytest.approx(out["membrane_resistance_ohm"])
        assert g.attrs["membrane_resistance_ohm__unit"] == "ohm"
        assert g["current_density_z"].shape == (20, 12, 12)
        assert f.attrs["complete"]
    table = kmc_cli("analyze", run_file, "--snapshot", "0")
    assert table.returncode == 0
    assert "membrane_resistance_ohm" in table.stdout and "ohm" in table.stdout


def test_analyze_compare(run_file, tmp_path):
    res = kmc_cli("analyze", "--compare", run_file, run_file, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["membrane_resistance_ohm_ratio"] == pytest.approx(1.0)
    assert out["membrane_resistance_reduction_percent"] == pytest.approx(0.0, abs=1e-9)
    r = out["membrane_resistance_ohm_pristine"]
    assert r > 0 and out["membrane_resistance_ohm_polymerized"] == r
    table = kmc_cli("analyze", "--compare", run_file, run_file).stdout
    assert any(line.startswith("membrane_resistance_ohm_pristine") and line.endswith("ohm")
               for line in table.splitlines())  # fmt: skip


def test_analyze_errors(run_file, tmp_path):
    res = kmc_cli("analyze", run_file, "--snapshot", "7")
    assert res.returncode == 2 and "snapshot 7 out of range" in res.stderr
    assert "Traceback" not in res.stderr
    bad = tmp_path / "t.toml"
    bad.write_text("[transport]\nmembrane_thickness_m = -1\n")
    res = kmc_cli("analyze", run_file, "--transport", bad)
    assert res.returncode == 2 and "transport.membrane_thickness_m = -1" in res.stderr
    res = kmc_cli("analyze", tmp_path / "missing.h5")
    assert res.returncode == 2 and "no such file" in res.stderr


def test_short_circuit_exit_status(run_file, tmp_path):
    copy = tmp_path / "short.h5"
    copy.write_bytes(run_file.read_bytes())
    with h5py.File(copy, "r+") as f:
        ds = f["particles/lattice/phase/value"]
        frame = ds[-1]
        frame[1:-1, 3, 3] = 5  # a deposit column from cathode to anode
        ds[-1] = frame
    res = kmc_cli("analyze", copy, "--json")
    assert res.returncode == 3
    assert json.loads(res.stdout)["short_circuit"] is True
    assert "SHORT CIRCUIT" in res.stderr
    assert np.isfinite(json.loads(res.stdout)["total_resistance_ohm"])


def test_analyze_as_simulated_skips_the_recrystallization(run_file):
    """By default the measurement state has crystalline PEO (the pristine rule: no
    diluent); --as-simulated analyzes the phases as stored."""
    default = json.loads(kmc_cli("analyze", run_file, "--json").stdout)
    raw = json.loads(kmc_cli("analyze", run_file, "--json", "--as-simulated").stdout)
    assert default["crystalline_fraction"] > 0.4
    assert "crystalline_fraction" not in raw
    assert raw["effective_conductivity_S_per_m"] > default["effective_conductivity_S_per_m"]
