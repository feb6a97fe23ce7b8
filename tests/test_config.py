"""Config validation: every error names the key path, the bad value and what is allowed."""

import subprocess
import sys

import pytest
from conftest import make_config_text

from kmc.config import ConfigError, load_config, parse_config


def _err(text):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "bad.toml")
    return str(info.value)


def test_good_config_parses():
    cfg = parse_config(make_config_text())
    assert cfg.lattice.dims == (8, 8, 12)
    assert parse_config(make_config_text(shape="[9, 5]")).lattice.dims == (9, 1, 5)


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("spacing_m = 1e-8", "spacing_m = 1e-8\nspacing = 2", "lattice.spacing = 2: unknown key"),
        ("spacing_m = 1e-8", "spacing_m = -1.0", "lattice.spacing_m = -1.0: must be at least 1e-10"),
        ("shape = [8, 8, 12]", "shape = [8, 8, 12, 4]", "lattice.shape = [8, 8, 12, 4]: List should have at most 3"),
        ("temperature_K = 300.0", 'temperature_K = "hot"', "conditions.temperature_K = 'hot': a string is not a number; write the number without quotes"),
        ("initial_occupancy = 0.1", "initial_occupancy = 1.5", "species[0].initial_occupancy = 1.5: must be at most 1"),
        ('top = "reservoir"', 'top = "lid"', "boundaries.top = 'lid': Input should be 'cathode', 'anode', 'wall', 'reservoir' or 'periodic'"),
        ('rate_per_s = 5.0 }', 'rate_per_s = 5.0, product = "glue" }', "species[0].reactions[0].product = 'glue'; allowed: 'deposit', 'consume' or a species name ['monomer']"),
        ('electrode = "cathode"', 'electrode = "anode"', "species[0].reactions[0].electrode = 'anode' but the lattice has no anode"),
        ('top = "reservoir"', 'top = "wall"', "species[0].reservoir_occupancy = 0.1 but neither boundaries.bottom nor boundaries.top is 'reservoir'"),
        ("sample_interval_s = 0.1", "sample_interval_s = 5.0", "run.sample_interval_s = 5.0 exceeds duration_s = 1.0"),
        ('bottom = "cathode"', 'bottom = "periodic"', "boundaries.bottom = 'periodic' and top = 'reservoir': 'periodic' must be set at both ends or at neither"),
        ("shape = [8, 8, 12]", "shape = [8, 8, 1]", "lattice.shape z = 1 leaves no room between the electrodes"),
    ],
)  # fmt: skip
def test_errors_name_key_value_and_rule(old, new, expected):
    text = make_config_text()
    assert old in text
    msg = _err(text.replace(old, new, 1))
    assert msg.startswith("bad.toml: invalid configuration")
    assert expected in msg


def test_occupancy_sum_rule():
    species = """
[[species]]
name = "a"
diffusivity_m2_per_s = 1e-16
initial_occupancy = 0.7
[[species]]
name = "a2"
diffusivity_m2_per_s = 1e-16
initial_occupancy = 0.6
"""
    msg = _err(make_config_text(species=species, top="wall"))
    assert "species[*].initial_occupancy sums to 1.3" in msg and "at most 1" in msg


def test_duplicate_species_name():
    species = """
[[species]]
name = "a"
diffusivity_m2_per_s = 1e-16
[[species]]
name = "a"
diffusivity_m2_per_s = 1e-16
"""
    assert "species[1].name = 'a' is used twice" in _err(make_config_text(species=species))


def test_toml_syntax_error_gives_file_line_column(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[lattice]\nshape = [8, 8, 12]\nspacing_m = = 1e-8\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert str(path) in msg and "TOML syntax error" in msg and "line 3" in msg and "column" in msg


def test_missing_file():
    with pytest.raises(ConfigError, match="no such config file"):
        load_config("/nonexistent/x.toml")


def test_validate_cli_exit_codes(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(make_config_text())
    bad = tmp_path / "bad.toml"
    bad.write_text(make_config_text().replace("spacing_m = 1e-8", "spacing_m = 0"))
    run = lambda p: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "kmc", "config", "validate", str(p)], capture_output=True, text=True
    )
    ok = run(good)
    assert ok.returncode == 0 and "valid" in ok.stdout
    res = run(bad)
    assert res.returncode == 2
    assert "lattice.spacing_m = 0: must be at least 1e-10" in res.stderr
    assert "Traceback" not in res.stderr
    res = subprocess.run(
        [sys.executable, "-m", "kmc", "run", str(bad), "-o", str(tmp_path / "x.h5")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert not (tmp_path / "x.h5").exists()


def test_shipped_configs_validate():
    from pathlib import Path

    from kmc.sweeps import load_sweep, plan
    from kmc.sweeps._spec import validate_point

    configs = sorted(Path(__file__).parents[1].glob("configs/**/*.toml"))
    assert configs
    for path in configs:
        if path.parent.name == "sweeps":
            spec, base, _ = load_sweep(path)
            assert all(validate_point(p) is None for p in plan(spec, base))
        else:
            load_config(path)


def test_a_config_extends_a_shipped_base_and_stores_the_resolved_text(tmp_path):
    """``base = NAME``: the base's tables with this file's keys laid on, key by key; the
    text a run stores parses alone to the same config."""
    child = tmp_path / "wide.toml"
    child.write_text(
        'base = "zheng2021_ss_galvanostatic"\n[lattice]\nshape = [48, 48, 36]\n[run]\nseed = 7\n'
    )
    cfg, text = load_config(child)
    base, _ = load_config("configs/zheng2021_ss_galvanostatic.toml")
    assert cfg.lattice.shape == [48, 48, 36] and cfg.run.seed == 7
    assert cfg.lattice.spacing_m == base.lattice.spacing_m  # merged, not replaced
    assert cfg.run.duration_s == base.run.duration_s
    assert cfg.species == base.species and cfg.protocol == base.protocol
    assert "\nbase =" not in text and parse_config(text) == cfg


@pytest.mark.parametrize(
    "body, message",
    [
        ('base = "no_such_config"\n', "neither a file beside it nor a shipped config"),
        ('base = "loop.toml"\n', "leads back to itself"),
        ("base = 3\n", "must be a config name or file path"),
    ],
)
def test_a_bad_base_is_a_named_error(tmp_path, body, message):
    path = tmp_path / "loop.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


@pytest.mark.parametrize(
    "config, key, value, message",
    [
        ("ss_galvanostatic", "spacing_m", "1e-300", "lattice.spacing_m = 1e-300: must be at least 1e-10"),
        ("ss_galvanostatic", "spacing_m", "1e-12", "lattice.spacing_m = 1e-12: must be at least 1e-10"),
        ("lfp_galvanostatic", "particle_diameter_max_m", "inf", "cathode.particle_diameter_max_m = inf: not a finite number"),
        ("cv_symmetric", "step_s", "inf", "protocol.step_s = inf: not a finite number"),
        ("cv_symmetric", "step_s", "1e6", "protocol.step_s = 1e+06 exceeds run.duration_s"),
        ("ss_galvanostatic", "checkpoint_interval_wall_s", "inf", "run.checkpoint_interval_wall_s = inf: not a finite number"),
        ("ss_galvanostatic", "shape", "[true, 16, 24]", "lattice.shape[0] = true: a boolean is not a number"),
        ("ss_galvanostatic", "temperature_K", '"333.15"', "conditions.temperature_K = '333.15': a string is not a number"),
        ("ss_galvanostatic", "temperature_K", "nan", "conditions.temperature_K = nan: not a finite number"),
        ("ss_galvanostatic", "shape", "[2048, 2048, 2048]", "may hold more than 16777215 particles"),
    ],
    ids=["spacing-1e-300", "spacing-1e-12", "diameter-inf", "cv-step-inf", "cv-step-1e6",
         "checkpoint-inf", "shape-bool", "temperature-string", "temperature-nan", "2048-cubed"],
)  # fmt: skip
def test_the_bad_inputs_of_issue_14_are_named(tmp_path, config, key, value, message):
    """The shipped configs with the values that once crashed, were coerced or ran at
    nothing (issue 14): each is refused by `kmc config validate`, naming key and value."""
    import re
    from pathlib import Path

    from click.testing import CliRunner

    from kmc.cli import main

    text = (Path(__file__).parents[1] / f"configs/zheng2021_{config}.toml").read_text()
    text, n = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text, count=1)
    assert n == 1, key
    path = tmp_path / "bad.toml"
    path.write_text(text)
    res = CliRunner().invoke(main, ["config", "validate", str(path)])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output and message in res.output


def test_config_show_gives_each_per_site_rate_with_its_physical_meaning():
    """`kmc config show`: Gamma = D/a^2, k0 = k a, k_bi = k_c N_A a^3 (x 1e3 in L), the
    packet and concentrations c = c_site n / (N_A a^3), exact."""
    import json

    from helpers import kmc_cli

    res = kmc_cli("config", "show", "zheng2021_ss_galvanostatic", "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    a, n_a = 25e-9, 6.02214076e23
    bt = info["species"]["BT"]
    assert bt["hop_rate_per_s"] == pytest.approx(1.0e-12 / a**2, rel=1e-12)
    assert bt["reactions"]["cathode"]["rate_constant_m_per_s"] == pytest.approx(1.0 * a)
    assert bt["reactions"]["cathode"]["damkohler"] == pytest.approx(1.0 / 1600)
    ch = info["chemistry"]
    assert ch["molecules_per_unit"] == 67700
    assert ch["coupling_rate_constant_L_per_mol_s"] == pytest.approx(1.0e4 * n_a * a**3 * 1e3)
    assert bt["initial_concentration_mol_per_m3"] == pytest.approx(0.02 * 67700 / (n_a * a**3))
    text = kmc_cli("config", "show", "zheng2021_ss_galvanostatic").stdout
    assert "k0 2.5e-08 m/s" in text and "L/(mol s)" in text


def test_config_show_at_twice_the_spacing(tmp_path):
    """The paper configs give their chemistry in physical units, so at 50 nm the model
    re-derives it (the issue's case: the per-site form kept k per site, which made k0
    twice and Da four times as large): k0 stays 2.5e-8 m/s, k = k0/a halves, Da = k0 a/D
    doubles (a per-site number), the coupling k_bi/(1000 N_A a^3) drops 8x, and at the
    config's 0.02 units per site a unit holds 8x the molecules."""
    import json

    from helpers import kmc_cli

    cfg = tmp_path / "coarse.toml"
    cfg.write_text('base = "zheng2021_ss_galvanostatic"\n[lattice]\nspacing_m = 50e-9\n')
    info = json.loads(kmc_cli("config", "show", cfg, "--json").stdout)
    bt = info["species"]["BT"]["reactions"]["cathode"]
    assert bt["given_as"] == "physical"
    assert bt["rate_constant_m_per_s"] == 2.5e-8 and bt["rate_per_s"] == 0.5
    assert bt["damkohler"] == pytest.approx(2 * 2.5e-8 * 25e-9 / 1e-12)  # 2x the 25 nm Da
    ch = info["chemistry"]
    assert ch["coupling_rate_per_s"] == 1.0e4 / 8 and ch["sticking_rate_per_s"] == 800.0
    assert ch["molecules_per_unit"] == round(143.896 * 6.02214076e23 * (50e-9) ** 3 / 0.02)
