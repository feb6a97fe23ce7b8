"""kmc: kinetic Monte Carlo of in-situ electrochemical polymerization at electrodes."""

from kmc._version import __version__
from kmc.config import ConfigError, RunConfig, load_config, parse_config
from kmc.runfile import Run, open
from kmc.simulation import LatticeEngine, Model, RunError, RunSummary, run_simulation

__all__ = [
    "ConfigError",
    "LatticeEngine",
    "Model",
    "RunConfig",
    "Run",
    "RunError",
    "RunSummary",
    "__version__",
    "load_config",
    "open",
    "parse_config",
    "run_simulation",
]
