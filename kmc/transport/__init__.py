"""Transport estimator: effective conductivity and resistances of voxel morphologies."""

from kmc.transport._estimator import ConductionResult, effective_conductivity
from kmc.transport._faces import faces_from_conductivity
from kmc.transport._impedance import ImpedanceSpectrum, frequencies, impedance
from kmc.transport._morphology import MorphologyTransport, TransportParameters, analyze_morphology
from kmc.transport._params import load_transport_parameters
from kmc.transport._percolation import label_periodic, spanning_mask
from kmc.transport._solver import Faces, Solution, solve

__all__ = [
    "ConductionResult",
    "Faces",
    "ImpedanceSpectrum",
    "MorphologyTransport",
    "TransportParameters",
    "analyze_morphology",
    "Solution",
    "effective_conductivity",
    "faces_from_conductivity",
    "frequencies",
    "impedance",
    "label_periodic",
    "load_transport_parameters",
    "solve",
    "spanning_mask",
]
