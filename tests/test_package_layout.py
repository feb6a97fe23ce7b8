"""The package's layout follows the data flow (README, "Python API"): one subpackage per
stage, each re-exporting the public names of its private ``_*.py`` modules."""

import importlib
import inspect
import pkgutil

import pytest

import kmc

STAGES = ("config", "simulation", "runfile", "analysis", "transport", "plot", "sweeps")
TOP_LEVEL_MODULES = {"__main__", "_constants", "_version", "_warmup", "cli", "phases"}


def test_the_top_level_holds_the_stages_and_a_few_shared_modules():
    found = {m.name for m in pkgutil.iter_modules(kmc.__path__)}
    packages = {m.name for m in pkgutil.iter_modules(kmc.__path__) if m.ispkg}
    assert set(STAGES) <= packages
    assert found - packages == TOP_LEVEL_MODULES


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_re_exports_what_its_private_modules_define(stage):
    package = importlib.import_module(f"kmc.{stage}")
    for name in package.__all__:
        obj = getattr(package, name)  # every listed name is there
        if inspect.isclass(obj) or inspect.isfunction(obj):  # defined in this stage
            home = obj.__module__
            assert home.startswith(f"kmc.{stage}.") or home == f"kmc.{stage}", (name, home)
        else:  # no module objects or loggers under a public name
            assert not inspect.ismodule(obj) and type(obj).__module__ != "logging", name
    modules = [m.name for m in pkgutil.iter_modules(package.__path__)]
    assert modules and all(m.startswith("_") for m in modules), modules


def test_the_top_level_api_is_the_stages_names():
    from kmc import analysis, config, runfile, simulation

    assert kmc.load_config is config.load_config
    assert kmc.Model is simulation.Model
    assert kmc.run_simulation is simulation.run_simulation
    assert kmc.open is runfile.open
    assert analysis.analyze_run.__module__ == "kmc.analysis._analysis"
