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
from kmc._constants import (
    BOLTZMANN_J_PER_K,
    ELEMENTARY_CHARGE_C,
    FARADAY_C_PER_MOL,
    GAS_CONSTANT_J_PER_MOL_K,
)
from kmc.config._config import RunConfig
from kmc.kernels._layout import PRODUCT_CONSUME, PRODUCT_DEPOSIT

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
    # reaction tables per species and reaction channel: 2 channels (cathode, anode), or 4
    # (cathode, anode, cathode film, anode film) when surfaces are resolved (kernels._layout)
    reaction_rate_per_s: np.ndarray  # float64[n_species, n_channels]
    reaction_product: np.ndarray  # int64[n_species, n_channels]
    reservoir_occupancy: np.ndarray  # float64[n_species, 2] (bottom, top)
    is_reservoir: np.ndarray  # bool[2]
    electrode_end: tuple[int, int]  # end (0 bottom, 1 top) of cathode and anode, -1 absent
    field_bias: np.ndarray = field(repr=False)  # u_s = z e a E / kT per species
    onset_potential_V: np.ndarray = field(repr=False)  # [n_species, n_channels], nan: fixed
    transfer_coefficient: np.ndarray = field(repr=False)  # float64[n_species, n_channels]
    chem_species: np.ndarray = field(repr=False)  # int64[3] monomer, radical, oligomer
    chem_rate_per_s: np.ndarray = field(repr=False)  # float64[5] (see kernels._layout)
    precipitation_length: int = 1 << 30
    exchanges: np.ndarray = field(repr=False, default=None)  # uint8[n_species]
    gate_z: int = -1
    injection_z: tuple[int, int] = (0, 0)
    gap_transport: bool = False

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
        resolve = any(r.surface != "any" for sp in config.species for r in sp.reactions)
        n_ch = 4 if resolve else 2
        react = np.zeros((n_s, n_ch))
        product = np.full((n_s, n_ch), PRODUCT_DEPOSIT, dtype=np.int64)
        onset = np.full((n_s, n_ch), np.nan)
        alpha = np.full((n_s, n_ch), 0.5)
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
                for c in reaction_channels(r, resolve):
                    react[i, c] = r.rate_per_s
                    if r.product == "deposit":
                        product[i, c] = PRODUCT_DEPOSIT
                    elif r.product == "consume":
                        product[i, c] = PRODUCT_CONSUME
                    else:
                        product[i, c] = names.index(r.product)
                    if r.onset_potential_V is not None:
                        onset[i, c] = r.onset_potential_V
                        alpha[i, c] = r.transfer_coefficient
            res[i, :] = np.where(is_res, sp.reservoir_occupancy, 0.0)
        ends = (b.bottom, b.top)
        electrode_end = tuple(
            ends.index(name) if name in ends else -1 for name in phases.ELECTRODES
        )
        ch = config.chemistry
        chem_species = np.full(3, -1, dtype=np.int64)
        chem_rate = np.array([0.0, 0.0, 0.0, 1.0, 1.0])  # see kernels._layout RATE_*
        n_star = 1 << 30
        exchanges = np.ones(n_s, dtype=np.uint8)
        if ch is not None:
            chem_species[:] = [names.index(ch.monomer), names.index(ch.radical),
                               names.index(ch.oligomer)]  # fmt: skip
            # a pair of adjacent radicals couples at k_c: each partner tries at k_c / 2
            chem_rate[:3] = [0.5 * ch.coupling_rate_per_s, ch.sticking_rate_per_s,
                             ch.radical_decay_rate_per_s]  # fmt: skip
            on_metal = ch.sticking_rate_on_electrode_per_s
            if on_metal is not None and on_metal != ch.sticking_rate_per_s:
                # the bound is the larger rate; each surface accepts its share of it
                bound = max(on_metal, ch.sticking_rate_per_s)
                chem_rate[1] = bound
                chem_rate[3:] = [on_metal / bound, ch.sticking_rate_per_s / bound]
            n_star = ch.precipitation_length
        gate_z = -1
        inj_z = (0, nz - 1)
        if config.membrane is not None:
            gate_z = config.membrane.gate_z
            inj_z = (gate_z - 1, gate_z + 1)
            exchanges[:] = 0
            exchanges[chem_species[0]] = 1
            is_res = np.array([True, True])
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
            onset_potential_V=onset,
            transfer_coefficient=alpha,
            chem_species=chem_species,
            chem_rate_per_s=chem_rate,
            precipitation_length=n_star,
            exchanges=exchanges,
            gate_z=gate_z,
            injection_z=inj_z,
            gap_transport=bool(ch is not None and ch.species_enter_gaps),
        )

    @property
    def n_reaction_channels(self) -> int:
        """Reaction channels per species: 2 (one per electrode), 4 with surfaces resolved."""
        return int(self.reaction_rate_per_s.shape[1])

    @property
    def resolves_surfaces(self) -> bool:
        """True when a reaction names its surface: bare electrode and film rates differ."""
        return self.n_reaction_channels > 2

    @property
    def channel_electrode(self) -> np.ndarray:
        """int64[n_channels]: the electrode (0 cathode, 1 anode) of each channel."""
        return phases.channel_electrode(self.n_reaction_channels)

    def by_electrode(self, per_channel: np.ndarray) -> np.ndarray:
        """Sum the last axis of a per-channel array into (cathode, anode)."""
        per_channel = np.asarray(per_channel)
        out = np.zeros((*per_channel.shape[:-1], 2), dtype=per_channel.dtype)
        for c, e in enumerate(self.channel_electrode):
            out[..., e] += per_channel[..., c]
        return out

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
        """Lattice Damkoehler number Da = k a^2 / D = k_s a / D, [n_species, channel]."""
        return self.reaction_rate_per_s / self.hop_base_rate_per_s[:, None]

    def injection_rate_bound_per_s(self, occupancy: np.ndarray | None = None) -> np.ndarray:
        """Upper bound of the injection rate from each reservoir side (1/s), [n_species, 2].

        A reservoir side behaves as a virtual layer with the reservoir occupancy c0: each
        empty boundary site receives particles at rate Gamma_in * c0, where Gamma_in is
        the hop rate pointing into the lattice (+z at the bottom end, -z at the top end;
        from a membrane gate, -z into the window below it and +z into the one above).
        ``occupancy`` overrides the configured reservoir occupancy [n_species, 2].
        """
        nx, ny, _ = self.dims
        occ = self.reservoir_occupancy if occupancy is None else occupancy
        up, down = self.hop_rate_per_s[:, -2], self.hop_rate_per_s[:, -1]
        if self.gate_z >= 0:
            rate_in = np.stack([down, up], axis=1) * self.exchanges[:, None]
        else:
            rate_in = np.stack([up, down], axis=1)
        return rate_in * occ * (nx * ny) * self.is_reservoir[None, :]

    def reaction_rates_at(self, potentials_V) -> np.ndarray:
        """Reaction rate per touching particle (1/s) at the electrode potentials.

        ``potentials_V``: (cathode, anode) potentials vs Li/Li+ (V); a single number is
        taken for both (lattice-model studies without a cell). Butler-Volmer anodic branch
        k = k0 * lambda * exp(alpha F (E_e - E_ox)/RT), E_e the potential of the reaction's
        own electrode e (lambda the protocol's time compression), for reactions with an
        onset potential; fixed rates otherwise. ``None``: no potential (Butler-Volmer
        rates are zero).
        """
        rates = self.reaction_rate_per_s.copy()
        bv = ~np.isnan(self.onset_potential_V)
        if not bv.any():
            return rates
        if potentials_V is None:
            rates[bv] = 0.0
            return rates
        e_now = np.broadcast_to(np.asarray(potentials_V, dtype=np.float64), (2,))
        f = FARADAY_C_PER_MOL / (GAS_CONSTANT_J_PER_MOL_K * self.config.conditions.temperature_K)
        lam = self.config.protocol.time_compression
        over = e_now[self.channel_electrode][None, :] - self.onset_potential_V
        expo = np.minimum(self.transfer_coefficient * f * np.where(bv, over, 0.0), 600.0)
        rates[bv] = (self.reaction_rate_per_s * lam * np.exp(expo))[bv]
        return rates

    @property
    def doping_electrons_per_unit(self) -> int:
        """Electrons a lattice unit of PT holds while doped: doping charge per ring x rings
        per monomer x molecules per unit (rounded to an integer, so charge stays exact)."""
        ch = self.config.chemistry
        if ch is None:
            return 0
        return int(round(ch.doping_charge_per_ring * ch.rings_per_monomer
                         * ch.electrons_per_oxidation))  # fmt: skip

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
            **({"reaction_channels": list(phases.CHANNEL_NAMES)} if self.resolves_surfaces else {}),
            "reaction_product_code": self.reaction_product.tolist(),
            "damkohler_lattice": self.damkohler.tolist(),
            "electrodes": list(phases.ELECTRODES),
            "electrode_end": list(self.electrode_end),
            "reservoir_occupancy": self.reservoir_occupancy.tolist(),
            "phase_names": {str(k): v for k, v in phases.PHASE_NAMES.items()},
            "onset_potential_V": np.where(
                np.isnan(self.onset_potential_V), None, self.onset_potential_V
            ).tolist(),
            "chem_species_monomer_radical_oligomer": self.chem_species.tolist(),
            "chem_rate_per_s_coupling_per_partner_sticking_decay": self.chem_rate_per_s[
                :3
            ].tolist(),
            **(
                {"sticking_acceptance_metal_pt": self.chem_rate_per_s[3:].tolist()}
                if (self.chem_rate_per_s[3:] < 1.0).any()
                else {}
            ),
            "precipitation_length": int(min(self.precipitation_length, 2**31 - 1)),
            "gate_z": self.gate_z,
            "time_compression": self.config.protocol.time_compression,
        }


def reaction_channels(reaction, resolve: bool) -> tuple[int, ...]:
    """Channels a configured reaction runs in (see kernels._layout)."""
    e = phases.ELECTRODES.index(reaction.electrode)
    film = phases.FILM_CHANNEL + e
    if reaction.surface == "electrode":
        return (e,)
    if reaction.surface == "film":
        return (film,)
    return (e, film) if resolve else (e,)
