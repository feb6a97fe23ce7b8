"""Simulation: the lattice model built from a config, the KMC engines (serial and
sector-parallel), the electrochemical protocols, the observables sampled during a run,
and the driver that writes the run file."""

from kmc.simulation._clusters import ClusterGrowth, grow_cluster_2d
from kmc.simulation._engine import LatticeEngine
from kmc.simulation._geometry import (
    geometry_rng,
    grow_crystalline_domains,
    initial_phase,
    membrane_face_z,
    particle_layer_depth,
)
from kmc.simulation._model import Model, reaction_channels
from kmc.simulation._observables import (
    chemistry_sample,
    chemistry_specs,
    deposit_height,
    film_metrics,
    observable_specs,
    sample,
)
from kmc.simulation._preflight import (
    RunEstimate,
    available_memory_bytes,
    check_run,
    estimate_run,
    format_duration,
    sector_bytes,
)
from kmc.simulation._progress import Progress
from kmc.simulation._protocol import (
    ProtocolDriver,
    butler_volmer_overpotential_V,
    continuum_cell_m,
    electroactive_faces,
    protocol_step_s,
)
from kmc.simulation._resolved import describe, resolved_model
from kmc.simulation._sectors import (
    SectorEngine,
    cell_layout,
    engine_class,
    initial_list_room,
    resolve_threads,
    substep_s,
)
from kmc.simulation._simulation import (
    RunError,
    RunInterrupted,
    RunSummary,
    make_driver,
    run_simulation,
    sample_times,
)

__all__ = [
    "ClusterGrowth",
    "LatticeEngine",
    "Model",
    "Progress",
    "ProtocolDriver",
    "RunError",
    "RunEstimate",
    "RunInterrupted",
    "RunSummary",
    "SectorEngine",
    "available_memory_bytes",
    "butler_volmer_overpotential_V",
    "cell_layout",
    "check_run",
    "chemistry_sample",
    "chemistry_specs",
    "continuum_cell_m",
    "deposit_height",
    "describe",
    "electroactive_faces",
    "engine_class",
    "estimate_run",
    "film_metrics",
    "format_duration",
    "geometry_rng",
    "grow_cluster_2d",
    "grow_crystalline_domains",
    "initial_list_room",
    "initial_phase",
    "make_driver",
    "membrane_face_z",
    "observable_specs",
    "particle_layer_depth",
    "protocol_step_s",
    "reaction_channels",
    "resolve_threads",
    "resolved_model",
    "run_simulation",
    "sample",
    "sample_times",
    "sector_bytes",
    "substep_s",
]
