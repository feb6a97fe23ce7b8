"""Potential-step protocol (chronoamperometry): the rest potential until the step, the
step potential after it, and its current transient in the time series."""

import h5py
import numpy as np
import pytest
from chem import chem_text
from helpers import kmc_cli

from kmc.config import ConfigError, parse_config

POTENTIOSTATIC = 'kind = "potentiostatic"\npotential_V = 1.0'


def step_text(rest=0.0, step=1.2, at=0.5, duration=2.0, sample=0.05, step_s=0.05):
    text = chem_text(duration=duration, sample=sample, step=step_s)
    assert POTENTIOSTATIC in text
    return text.replace(
        POTENTIOSTATIC,
        f'kind = "potential_step"\nrest_potential_V = {rest}\npotential_V = {step}\n'
        f"step_time_s = {at}",
    )


def test_step_holds_the_rest_potential_then_the_step_with_its_transient(tmp_path):
    """0 V (17 kT/e below every onset: rates x 1e-8) until 0.5 s, then 1.2 V: no current
    before the step, the cathode at the step potential from the first sample after it,
    and an anodic transient that decays after its first samples (depletion)."""
    cfg = tmp_path / "step.toml"
    cfg.write_text(step_text())
    out = tmp_path / "step.h5"
    res = kmc_cli("run", cfg, "-o", out, "--progress", "off")
    assert res.returncode == 0, res.stderr
    with h5py.File(out) as f:
        obs = f["observables"]
        t = obs["events/time"][()]
        e_c = obs["electrode_potential/value"][()][:, 0]
        i = obs["current_density/value"][()]
    before, after = t <= 0.5 + 1e-9, t > 0.5 + 1e-9
    assert np.all(e_c[before] == 0.0) and np.all(e_c[after] == 1.2)
    assert np.all(i[before] == 0.0)
    assert i[after][:4].min() > 0  # the transient starts at the step
    assert i[after][:4].mean() > 2 * i[after][-10:].mean()  # and decays


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"at": 2.0}, r"step_time_s = 2 is not inside the run"),
        ({"at": 0.52}, r"step_time_s = 0.52 is not a multiple of step_s = 0.05"),
        ({"sample": 0.1}, r"sample_interval_s = 0.1 gives fewer than 20 samples of the 1.5 s"),
    ],
)
def test_steps_the_run_cannot_show_are_named_errors(kw, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(step_text(**kw))


def test_step_keys_belong_to_the_step_kind():
    text = chem_text().replace(POTENTIOSTATIC, POTENTIOSTATIC + "\nstep_time_s = 1.0")
    with pytest.raises(ConfigError, match="belong to kind = 'potential_step'"):
        parse_config(text)
    text = step_text().replace("rest_potential_V = 0.0\n", "")
    with pytest.raises(ConfigError, match="needs rest_potential_V"):
        parse_config(text)
