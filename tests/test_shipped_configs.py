"""Configs shipped with the package: `kmc config list`, `kmc config copy`, names in `kmc run`
and `kmc config validate`, and the package data that carries them into a plain install."""

import fnmatch
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmc.cli import main
from kmc.config import ShippedError, copy_shipped, find_shipped, load_config, shipped_configs
from kmc.sweeps import load_sweep, plan

ROOT = Path(__file__).parents[1]
REPO_CONFIGS = sorted(ROOT.glob("configs/**/*.toml"))


def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_every_config_in_the_repository_is_shipped_and_described():
    shipped = {c.name: c for c in shipped_configs()}
    names = {p.relative_to(ROOT / "configs").with_suffix("").as_posix() for p in REPO_CONFIGS}
    assert names and names | {"transport_peo_40C"} == set(shipped)
    for c in shipped.values():
        assert c.path.is_file() and c.description, c.name
        assert c.kind == ("sweep" if c.name.startswith("sweeps/") else c.kind)
    assert shipped["transport_peo_40C"].kind == "transport"
    assert shipped["sweeps/damkohler"].kind == "sweep"
    assert shipped["examples/quickstart"].kind == "config"


def test_package_data_covers_every_shipped_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert project["package-dir"]["kmc.configs"] == "configs"
    assert "kmc.configs" in project["packages"]
    for path in REPO_CONFIGS:
        # a file in configs/FOLDER/ belongs to the data package kmc.configs.FOLDER
        folder = path.parent.relative_to(ROOT / "configs").parts
        package = ".".join(("kmc", "configs", *folder))
        assert package in project["packages"], package
        patterns = project["package-data"][package]
        assert any(fnmatch.fnmatch(path.name, p) and "/" not in p for p in patterns), path
    assert "*.toml" in project["package-data"]["kmc.data"]


def test_names_resolve_with_or_without_folder_and_suffix():
    quick = find_shipped("quickstart")
    assert quick.name == "examples/quickstart"
    for alias in ("examples/quickstart", "examples/quickstart.toml",
                  "configs/examples/quickstart.toml", "quickstart.toml"):  # fmt: skip
        assert find_shipped(alias) == quick
    assert find_shipped("sweeps/damkohler").kind == "sweep"
    assert find_shipped("no_such_config") is None


def test_config_list_names_and_describes_each():
    res = _cli("config", "list")
    assert res.exit_code == 0, res.output
    for c in shipped_configs():
        line = next(line for line in res.output.splitlines() if line.startswith(c.name + " "))
        assert c.kind in line and c.description in line


def test_validate_by_name_says_which_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = _cli("config", "validate", "zheng2021_ss_galvanostatic")
    assert res.exit_code == 0, res.output
    shipped = find_shipped("zheng2021_ss_galvanostatic").path
    assert f"using the shipped config zheng2021_ss_galvanostatic ({shipped})" in res.output
    assert f"{shipped}: valid" in res.output


def test_a_file_path_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quickstart").write_text("[lattice]\nshape = [4, 4]\n")  # not a valid config
    res = _cli("config", "validate", "quickstart")
    assert res.exit_code == 2
    assert "using the shipped config" not in res.output and "quickstart" in res.output
    copy_shipped("quickstart", tmp_path / "quickstart", overwrite=True)
    res = _cli("config", "validate", "quickstart")
    assert res.exit_code == 0 and "quickstart: valid" in res.output
    assert "using the shipped config" not in res.output


def test_run_by_name_uses_the_shipped_file(tmp_path, monkeypatch):
    import kmc.simulation

    seen = {}

    def fake_run(cfg, text, output, **kw):
        seen["text"] = text
        raise kmc.simulation.RunError("stopped by the test")

    monkeypatch.setattr(kmc.simulation, "run_simulation", fake_run)  # what `kmc run` calls
    res = _cli("run", "quickstart", "-o", tmp_path / "q.h5")
    assert res.exit_code == 2 and "stopped by the test" in res.output
    assert "using the shipped config examples/quickstart" in res.output
    assert seen["text"] == find_shipped("quickstart").path.read_text()


def test_run_refuses_a_sweep_name_and_an_unknown_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = _cli("run", "damkohler", "-o", "x.h5")
    assert res.exit_code == 2 and "is a sweep file, not a run config" in res.output
    res = _cli("config", "validate", "no_such_config")
    assert res.exit_code == 2 and "no_such_config: no such config file" in res.output
    assert not (tmp_path / "x.h5").exists()


def test_copy_a_config_to_a_directory_and_to_a_file(tmp_path):
    res = _cli("config", "copy", "zheng2021_lfp_galvanostatic", tmp_path)
    assert res.exit_code == 0, res.output
    copied = tmp_path / "zheng2021_lfp_galvanostatic.toml"
    assert copied.read_text() == find_shipped("zheng2021_lfp_galvanostatic").path.read_text()
    load_config(copied)
    res = _cli("config", "copy", "transport_peo_40C", tmp_path / "t.toml")
    assert res.exit_code == 0 and (tmp_path / "t.toml").is_file()


def test_copy_refuses_to_replace_a_different_file_unless_asked(tmp_path):
    target = tmp_path / "quickstart.toml"
    target.write_text("# mine\n")
    res = _cli("config", "copy", "quickstart", tmp_path)
    assert res.exit_code == 2 and "exists (use --overwrite" in res.output
    assert target.read_text() == "# mine\n"
    assert _cli("config", "copy", "quickstart", tmp_path, "--overwrite").exit_code == 0
    assert target.read_text() == find_shipped("quickstart").path.read_text()
    assert _cli("config", "copy", "quickstart", tmp_path).exit_code == 0  # same text: fine
    res = _cli("config", "copy", "no_such_config", tmp_path)
    assert res.exit_code == 2 and "kmc config list" in res.output
    res = _cli("config", "copy", "quickstart", str(tmp_path / "missing") + "/")
    assert res.exit_code == 2 and "no such directory" in res.output


@pytest.mark.parametrize("name", ["damkohler", "damkohler_loading", "cv_window_depth"])
def test_a_copied_sweep_brings_its_base_and_plans_the_same_points(tmp_path, name):
    copied = copy_shipped(name, tmp_path)
    assert len(copied) == 2
    sweep_copy, base_copy = (target for _, target in copied)
    assert sweep_copy.parent == base_copy.parent == tmp_path
    spec, base, _ = load_sweep(sweep_copy)
    assert spec.sweep.base == base_copy.name
    original_spec, original_base, _ = load_sweep(find_shipped(name).path)
    assert base == original_base
    ids = [p.ident for p in plan(spec, base)]
    assert ids == [p.ident for p in plan(original_spec, original_base)]
    # the copied sweep keeps working away from the shipped tree
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for path in (sweep_copy, base_copy):
        shutil.move(path, moved / path.name)
    assert [p.ident for p in plan(*load_sweep(moved / sweep_copy.name)[:2])] == ids


def test_an_ambiguous_stem_names_the_choices(monkeypatch):
    import kmc.config._shipped as shipped_module

    real = shipped_module.shipped_configs()
    twin = next(c for c in real if c.name == "examples/quickstart")
    extra = shipped_module.ShippedConfig("sweeps/quickstart", "sweep", twin.path, "x")
    monkeypatch.setattr(shipped_module, "shipped_configs", lambda: [*real, extra])
    with pytest.raises(ShippedError, match="examples/quickstart, sweeps/quickstart"):
        shipped_module.find_shipped("quickstart")
    assert shipped_module.find_shipped("examples/quickstart") == twin


def test_a_plain_wheel_carries_the_configs(tmp_path):
    """Build a wheel from a copy of the sources (no editable magic) and look inside."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
    for part in ("kmc", "kernels", "configs"):
        shutil.copytree(ROOT / part, src / part, ignore=ignore)
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, src / part)
    # in an isolated build environment, as `pip install .` builds (the pinned setuptools)
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", src],
        capture_output=True, text=True,
    )  # fmt: skip
    if res.returncode != 0 and any(
        s in res.stderr for s in ("No matching distribution", "Could not find a version")
    ):
        pytest.skip(f"no package index to build a wheel with: {res.stderr[-200:]}")
    assert res.returncode == 0, res.stderr
    (wheel,) = (tmp_path / "dist").glob("kmc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in REPO_CONFIGS:
        assert "kmc/configs/" + path.relative_to(ROOT / "configs").as_posix() in names
    assert "kmc/data/transport_peo_40C.toml" in names
    assert "kmc/configs/__init__.py" in names and "kmc/kernels/__init__.py" in names
    assert not any(n.split("/")[0] in ("configs", "kernels") for n in names)
