"""Analysis of a run file: the measurement state, the transport estimator and
impedance on it, stored analyses and pristine/polymerized comparisons, and the
morphology metrics of deposits."""

from kmc.analysis._analysis import (
    ReadOnlyRunFile,
    analyze_run,
    compare,
    dissolved_fraction,
    impedance_comparison,
    impedance_run,
    load_snapshot,
    measurement_electrodes,
    measurement_state,
    twin_mismatches,
    write_analysis,
    write_impedance,
    write_summary_json,
)
from kmc.analysis._morphology import (
    box_counting_dimension,
    cluster_sizes,
    growth_dimension,
    radius_of_gyration,
)

__all__ = [
    "ReadOnlyRunFile",
    "analyze_run",
    "box_counting_dimension",
    "cluster_sizes",
    "compare",
    "dissolved_fraction",
    "growth_dimension",
    "impedance_comparison",
    "impedance_run",
    "load_snapshot",
    "measurement_electrodes",
    "measurement_state",
    "radius_of_gyration",
    "twin_mismatches",
    "write_analysis",
    "write_impedance",
    "write_summary_json",
]
