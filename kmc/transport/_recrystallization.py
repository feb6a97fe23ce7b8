"""The membrane at the measurement temperature: PEO recrystallization after the 60 degC stage.

The polymerization stage runs above the PEO melting point, so the simulated PEO is
amorphous. The cell is then cooled to the measurement temperature T and held there for
``hold_time_s`` before the resistance is measured; the PEO recrystallizes meanwhile.
Whatever the polymerization left dissolved in the PEO (monomer, radicals, soluble
oligomers: everything not precipitated as PT) is a diluent that slows this down. Rule:

* melting point of the PEO with a diluent of volume fraction phi (Flory-Huggins
  melting-point depression): 1/Tm - 1/Tm0 = (R/dHu)(Vu/V1)(phi - chi phi^2);
* equilibrium crystalline fraction, the stage rule of the run config with the depressed
  melting point: X_eq = X_max clip((Tm - T)/dT_range, 0, 1);
* growth rate of the crystals (Hoffman-Lauritzen secondary nucleation, with the
  dilution of the crystallizable segments): G = (1 - phi) exp(-K_g / (T dT f)), with
  dT = Tm - T and f = 2T/(Tm + T); at one temperature the transport (Vogel) factor is
  the same with and without diluent and cancels;
* Avrami kinetics with athermal nucleation (exponent n = 3 for spherulites): the half
  time scales as 1/G, t_half(phi) = t_half0 G(0)/G(phi), and after the hold
  X = X_eq (1 - exp(-ln2 (t_hold/t_half)^n)).

Near the melting point dT is small, so K_g/(T dT) is large and a melting-point
depression of a fraction of a kelvin slows crystallization several-fold: that is how a
small residual diluent leaves the polymerized membrane less crystalline than the
pristine one after the same thermal history.

Domain size from the same kinetics: with athermal nuclei of density N growing at G, the
JMAK fraction is 1 - exp(-(4 pi/3) N (G t)^3), the fraction of space covered by
randomly placed overlapping spheres of radius G t (a Boolean model). So the domains are
placed as overlapping spheres (``kmc.simulation.grow_crystalline_domains``) of diameter
d = d_half min(t_hold/t_half, ln2^(-1/3)): ``domain_diameter_m`` (d_half) at the half
time, growing linearly, up to the nucleus spacing where the domains impinge. A
diluent-slowed membrane has fewer crystalline sites and smaller domains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kmc import phases
from kmc.simulation._geometry import grow_crystalline_domains

GAS_CONSTANT_J_PER_MOL_K = 8.314462618


@dataclass(frozen=True)
class Recrystallization:
    """Parameters of the recrystallization rule (SI; see the module docstring)."""

    nucleation_constant_K2: float
    """Hoffman-Lauritzen K_g (K^2)."""
    melting_temperature_K: float = 333.15
    """Tm0, melting point of the PEO-salt without diluent (K)."""
    melting_range_K: float = 10.0
    """dT_range, width of the melting transition below Tm (K)."""
    max_fraction: float = 0.6
    """X_max, crystalline fraction of the PEO well below Tm."""
    domain_diameter_m: float = 100e-9
    """d_half, diameter of a crystalline domain at the half time (m)."""
    heat_of_fusion_J_per_mol: float = 8.67e3
    """dHu, heat of fusion per repeat unit (J/mol)."""
    repeat_unit_volume_m3_per_mol: float = 39.0e-6
    """Vu, molar volume of the repeat unit (m^3/mol)."""
    diluent_molar_volume_m3_per_mol: float = 115.5e-6
    """V1, molar volume of the diluent (m^3/mol)."""
    flory_huggins_chi: float = 0.0
    """chi, polymer-diluent interaction parameter."""
    avrami_exponent: float = 3.0
    """n of the Avrami law."""
    half_time_s: float = 1800.0
    """t_half0, crystallization half time without diluent at the measurement T (s)."""
    hold_time_s: float = 3600.0
    """t_hold, time at the measurement temperature before the measurement (s)."""
    loading_volume_fraction: float = 0.017
    """Volume fraction of the additive (monomer) in the membrane before polymerization."""

    def melting_temperature(self, diluent_fraction: float) -> float:
        """Tm (K) of the PEO holding a diluent volume fraction ``diluent_fraction``."""
        phi = float(diluent_fraction)
        depression = (
            GAS_CONSTANT_J_PER_MOL_K
            / self.heat_of_fusion_J_per_mol
            * self.repeat_unit_volume_m3_per_mol
            / self.diluent_molar_volume_m3_per_mol
            * (phi - self.flory_huggins_chi * phi * phi)
        )
        return 1.0 / (1.0 / self.melting_temperature_K + depression)

    def equilibrium_fraction(self, temperature_K: float, diluent_fraction: float) -> float:
        """X_eq: crystalline fraction of the PEO after an infinitely long hold."""
        x = (self.melting_temperature(diluent_fraction) - temperature_K) / self.melting_range_K
        return self.max_fraction * min(max(x, 0.0), 1.0)

    def log_growth_rate(self, temperature_K: float, diluent_fraction: float) -> float:
        """ln of the crystal growth rate over its pre-exponential factor; -inf at or
        above the melting point."""
        tm = self.melting_temperature(diluent_fraction)
        undercooling = tm - temperature_K
        if undercooling <= 0 or diluent_fraction >= 1:
            return -np.inf
        f = 2.0 * temperature_K / (tm + temperature_K)
        barrier = self.nucleation_constant_K2 / (temperature_K * undercooling * f)
        return float(np.log1p(-diluent_fraction)) - barrier

    def half_time(self, temperature_K: float, diluent_fraction: float) -> float:
        """Crystallization half time (s) at ``temperature_K``; inf above the melting point."""
        ln_g0 = self.log_growth_rate(temperature_K, 0.0)
        if not np.isfinite(ln_g0):
            raise ValueError(
                f"measurement temperature {temperature_K} K is not below the melting point "
                f"{self.melting_temperature_K} K: half_time_s is undefined there"
            )
        ln_g = self.log_growth_rate(temperature_K, diluent_fraction)
        return self.half_time_s * float(np.exp(min(ln_g0 - ln_g, 700.0)))

    def domain_diameter(self, temperature_K: float, diluent_fraction: float) -> float:
        """Diameter (m) of the crystalline domains after the hold (growth at constant
        rate, capped where the domains of neighbouring nuclei impinge)."""
        ratio = self.hold_time_s / self.half_time(temperature_K, diluent_fraction)
        return self.domain_diameter_m * min(ratio, float(np.log(2.0) ** (-1.0 / 3.0)))

    def fraction(self, temperature_K: float, diluent_fraction: float) -> float:
        """Crystalline fraction of the PEO after the hold at ``temperature_K``."""
        x_eq = self.equilibrium_fraction(temperature_K, diluent_fraction)
        if x_eq <= 0:
            return 0.0
        ratio = self.hold_time_s / self.half_time(temperature_K, diluent_fraction)
        return x_eq * float(-np.expm1(-np.log(2.0) * ratio**self.avrami_exponent))


def recrystallize(
    phase: np.ndarray,
    fraction: float,
    domain_diameter_m: float,
    spacing_m: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Copy of ``phase`` with crystalline PEO spheres grown to ``fraction`` of the PEO.

    Domains already crystalline count toward the fraction; PT, electrodes, voids and
    the membrane-gate plane are left alone.
    """
    out = np.array(phase, copy=True)
    grow_crystalline_domains(out, fraction, 0.5 * domain_diameter_m / spacing_m, rng)
    return out


def homogenized_conductivity(
    fraction: float,
    domain_diameter_m: float,
    spacing_m: float,
    amorphous_S_per_m: float,
    crystalline_S_per_m: float,
    rng: np.random.Generator,
    size: int = 40,
) -> float:
    """Effective conductivity (S/m) of semicrystalline PEO at ``fraction``: one solve on
    a ``size``^3 representative volume holding the same kind of domains.

    This is the conductivity of the membrane-gate plane (the continuum between two
    lattice windows) in the measurement state.
    """
    from kmc.transport._estimator import effective_conductivity

    cube = np.full((size, size, size), phases.AMORPHOUS_PEO, dtype=np.uint8)
    cube = recrystallize(cube, fraction, domain_diameter_m, spacing_m, rng)
    sigma = np.where(cube == phases.CRYSTALLINE_PEO, crystalline_S_per_m, amorphous_S_per_m)
    return effective_conductivity(sigma, spacing_m).effective_conductivity_S_per_m
