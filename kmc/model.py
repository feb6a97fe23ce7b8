"""Resolve a validated config into the rate tables the kernel uses (SI units).

Conventions: a particle of species s hops to each of the 2d neighbours with base rate
Gamma_s = D_s / a^2 (so that D = Gamma a^2 and MSD = 2 d Gamma a^2 t). Along z the
field biases the rates to Gamma * exp(+-u/2) with u = z e a E / (k_B T). A particle
touching a conductor of electrode e reacts with rate k (1/s); the lattice Damkoehler
number Da = k a^2 / D = k / Gamma equals k_s a / D with the surface rate constant
k_s = k a (m/s).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kmc import phases
from kmc.config import RunConfig
from kmc.kernels._layout import PRODUCT_CONSUME, PRODUCT_DEPOSIT

ELEMENTARY_CHARGE_C = 1.602176634e-19  # exact, SI 2019
BOLTZMANN_J_PER_K = 1.380649e-23  # exact, SI 2019

_END_INDEX = {"bottom": 0, "top": 1}


@dataclass(frozen=True)
class Model:
    """Rate tables and geometry for one run, derived from a RunConfig.

    Attributes hold SI values: rates in 1/s, lengths in m.
    """

    config: RunConfig
    dims: tuple[int, int, int]
    ndim: int
    periodic_z: bool
    directions: np.ndarray  # int64[ndir, 3]; the last two are +z, -z
    hop_rate_per_s: np.ndarray  # float64[n_species, ndir]
    reaction_rate_per_s: np.ndarray  # float64[n_species, 2]
    reaction_product: np.ndarray  # int64[n_species, 2]
    reservoir_occupancy: np.ndarray  # float64[n_species, 2] (bottom, top)
    is_reservoir: np.ndarray  # bool[2]
    electrode_end: tuple[int, int]  # end (0 bottom, 1 top) of cathode and anode, -1 absent
    field_bias: np.ndarray = field(repr=False)  # u_s = z e a E / kT per species

    @classmethod
    def from_config(cls, config: RunConfig) -> Model:
        nx, ny, nz = config.lattice.dims
        ndim = config.lattice.ndim
        dirs = [(1, 0, 0), (-1, 0, 0)]
        if ndim == 3:
            dirs += [(0, 1, 0), (0, -1, 0)]
        dirs += [(0, 0, 1), (0, 0, -1)]
        directions = np.array(dirs, dtype=np.int64)
        a = config.lattice.spacing_m
        kT = BOLTZMANN_J_PER_K * config.conditions.temperature_K
        e_field = config.conditions.electric_field_V_per_m
        names = [s.name for s in config.species]
        n_s = len(names)
        hop = np.zeros((n_s, len(dirs)))
        bias = np.zeros(n_s)
        react = np.zeros((n_s, 2))
        product = np.full((n_s, 2), PRODUCT_DEPOSIT, dtype=np.int64)
        res = np.zeros((n_s, 2))
        b = config.boundaries
        is_res = np.array([b.bottom == "reservoir", b.top == "reservoir"])
        for i, sp in enumerate(config.species):
            gamma = sp.diffusivity_m2_per_s / a**2
            u = sp.charge * ELEMENTARY_CHARGE_C * a * e_field / kT
            bias[i] = u
            hop[i, :] = gamma
            hop[i, -2] = gamma * np.exp(0.5 * u)
            hop[i, -1] = gamma * np.exp(-0.5 * u)
            for r in sp.reactions:
                e = phases.ELECTRODES.index(r.electrode)
                react[i, e] = r.rate_per_s
                if r.product == "deposit":
                    product[i, e] = PRODUCT_DEPOSIT
                elif r.product == "consume":
                    product[i, e] = PRODUCT_CONSUME
                else:
                    product[i, e] = names.index(r.product)
            res[i, :] = np.where(is_res, sp.reservoir_occupancy, 0.0)
        ends = (b.bottom, b.top)
        electrode_end = tuple(
            ends.index(name) if name in ends else -1 for name in phases.ELECTRODES
        )
        return cls(
            config=config,
            dims=(nx, ny, nz),
            ndim=ndim,
            periodic_z=b.bottom == "periodic",
            directions=directions,
            hop_rate_per_s=hop,
            reaction_rate_per_s=react,
            reaction_product=product,
            reservoir_occupancy=res,
            is_reservoir=is_res,
            electrode_end=electrode_end,  # type: ignore[arg-type]
            field_bias=bias,
        )

    @property
    def species_names(self) -> list[str]:
        return [s.name for s in self.config.species]

    @property
    def hop_base_rate_per_s(self) -> np.ndarray:
        """Unbiased hop rate per direction Gamma = D / a^2 (1/s), per species."""
        a = self.config.lattice.spacing_m
        return np.array([s.diffusivity_m2_per_s / a**2 for s in self.config.species])

    @property
    def damkohler(self) -> np.ndarray:
        """Lattice Damkoehler number Da = k a^2 / D = k_s a / D, [n_species, electrode]."""
        return self.reaction_rate_per_s / self.hop_base_rate_per_s[:, None]

    def injection_rate_bound_per_s(self) -> np.ndarray:
        """Upper bound of the injection rate from each reservoir end (1/s), [n_species, 2].

        A reservoir end behaves as a virtual layer with the reservoir occupancy c0: each
        empty boundary site receives particles at rate Gamma_in * c0, where Gamma_in is
        the hop rate pointing into the lattice (+z at the bottom, -z at the top).
        """
        nx, ny, _ = self.dims
        rate_in = np.stack([self.hop_rate_per_s[:, -2], self.hop_rate_per_s[:, -1]], axis=1)
        return rate_in * self.reservoir_occupancy * (nx * ny) * self.is_reservoir[None, :]

    def electrode_slabs(self) -> list[tuple[int, int, int]]:
        """(phase, z_start, z_stop) for each electrode slab present."""
        nz = self.dims[2]
        t = self.config.boundaries.electrode_thickness_sites
        out = []
        for e, end in enumerate(self.electrode_end):
            if end == 0:
                out.append((int(phases.ELECTRODE_PHASE[e]), 0, t))
            elif end == 1:
                out.append((int(phases.ELECTRODE_PHASE[e]), nz - t, nz))
        return out

    def resolved(self) -> dict:
        """JSON-ready resolved parameters (stored beside the verbatim config)."""
        return {
            "dims_xyz": list(self.dims),
            "ndim": self.ndim,
            "periodic_z": self.periodic_z,
            "species": self.species_names,
            "hop_base_rate_per_s": self.hop_base_rate_per_s.tolist(),
            "hop_rate_per_s_by_direction": self.hop_rate_per_s.tolist(),
            "directions": self.directions.tolist(),
            "field_bias_u": self.field_bias.tolist(),
            "reaction_rate_per_s": self.reaction_rate_per_s.tolist(),
            "reaction_product_code": self.reaction_product.tolist(),
            "damkohler_lattice": self.damkohler.tolist(),
            "electrodes": list(phases.ELECTRODES),
            "electrode_end": list(self.electrode_end),
            "reservoir_occupancy": self.reservoir_occupancy.tolist(),
            "phase_names": {str(k): v for k, v in phases.PHASE_NAMES.items()},
        }
