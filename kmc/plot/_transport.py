"""Figures from the transport estimator: current-density map, Nyquist plot."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from kmc.plot._style import length_unit
from kmc.runfile import Run

# Constant-phase element of the interface in the equivalent circuit. Not fitted: a
# typical double-layer capacitance of 10 uF/cm^2 scaled by the electrode area and a
# typical exponent; the arcs' widths (R_b, R_i) come from the estimator.
CPE_CAPACITANCE_F_PER_M2 = 0.1
CPE_EXPONENT = 0.85


def current_map(run: Run, ax=None, *, snapshot: int = -1, y: int | None = None):
    """|j_z| over the x-z slice at ``y`` from the stored estimator result (log scale)."""
    from matplotlib.colors import LogNorm

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    res = run.analysis(snapshot)
    j = np.abs(res["current_density_z"])
    nz, ny, nx = j.shape
    y = ny // 2 if y is None else y
    sl = j[:, y, :]
    a = run.spacing_m
    scale, unit = length_unit(max(nx, nz) * a)
    positive = sl[sl > 0]
    vmin = max(positive.min(), positive.max() * 1e-6) if positive.size else 1e-12
    im = ax.imshow(np.where(sl > 0, sl, vmin), origin="lower", cmap="magma",
                   norm=LogNorm(vmin=vmin, vmax=max(sl.max(), vmin * 10)),
                   extent=(0, nx * a * scale, 0, nz * a * scale))  # fmt: skip
    ax.figure.colorbar(im, ax=ax, label="|j_z| (A/m², 1 V across the box)")
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"z ({unit})")
    ax.set_title(f"current density, snapshot {res['snapshot']}")
    return ax


def equivalent_circuit_impedance(
    bulk_ohm: float, interface_ohm: float, area_m2: float, omega: np.ndarray
) -> np.ndarray:
    """Z(omega) = R_b + R_i / (1 + R_i Q (j omega)^n), a CPE of Q = C_dl A (ohm)."""
    q = CPE_CAPACITANCE_F_PER_M2 * area_m2
    return bulk_ohm + interface_ohm / (1 + interface_ohm * q * (1j * omega) ** CPE_EXPONENT)


def nyquist(run: Run, ax=None, *, snapshot: int = -1, compare: Run | None = None):
    """Nyquist plot of R_b + (R_i || CPE) built from the estimator; ``compare`` overlays
    another run (e.g. pristine vs polymerized).

    R_b is the estimator's membrane resistance (the real membrane's thickness and area,
    as an impedance spectrum of the cell sees it), R_i its interfacial resistance.
    """
    import json

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    omega = np.logspace(-3, 8, 400)
    for r in [x for x in (compare, run) if x is not None]:
        res = r.analysis(snapshot)
        area = json.loads(res["parameters_json"])["electrode_area_m2"]
        r_b = res["membrane_resistance_ohm"]
        z = equivalent_circuit_impedance(r_b, res["interfacial_resistance_ohm"], area, omega)
        ax.plot(z.real, -z.imag, label=f"{r.path.stem}: R_b {r_b:.3g} Ω, "
                f"R_i {res['interfacial_resistance_ohm']:.3g} Ω")  # fmt: skip
    ax.set_xlabel("Z' (Ω)")
    ax.set_ylabel("−Z'' (Ω)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title("equivalent circuit R_b + (R_i ∥ CPE)")
    ax.legend(fontsize=8)
    return ax
