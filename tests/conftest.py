import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from kmc.config import parse_config  # noqa: E402

BASE = """
[lattice]
shape = {shape}
spacing_m = 1e-8

[boundaries]
bottom = "{bottom}"
top = "{top}"

[conditions]
temperature_K = 300.0
electric_field_V_per_m = {field}

{species}

[run]
duration_s = {duration}
sample_interval_s = {sample}
snapshot_every_samples = {snap}
seed = 7
"""


def make_config_text(
    shape="[8, 8, 12]", bottom="cathode", top="reservoir", field=0.0, species=None,
    duration=1.0, sample=0.1, snap=5,
):  # fmt: skip
    if species is None:
        species = """
[[species]]
name = "monomer"
diffusivity_m2_per_s = 1e-16
initial_occupancy = 0.1
reservoir_occupancy = 0.1
reactions = [{ electrode = "cathode", rate_per_s = 5.0 }]
"""
    return BASE.format(
        shape=shape, bottom=bottom, top=top, field=field, species=species,
        duration=duration, sample=sample, snap=snap,
    )  # fmt: skip


@pytest.fixture
def config_text():
    return make_config_text


@pytest.fixture
def make_config():
    def _make(**kw):
        return parse_config(make_config_text(**kw))

    return _make
