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


def _spectrum_or_none(run: Run, snapshot: int):
    from kmc.runfile import RunFileError

    try:
        return run.impedance(snapshot)
    except RunFileError:
        return None


def _decade_marks(ax, f, z, line) -> None:
    """A dot and a label at each whole decade of frequency ``f`` (Hz) on a Nyquist curve
    of ``z`` (ohm); a label closer than 3 % of the curve's width to the last one
    labelled is left out (the arc's ends crowd decades together)."""
    gap = 0.03 * float(np.ptp(z.real) or 1.0)
    last = None
    for k in range(int(np.ceil(np.log10(f.min()))), int(np.floor(np.log10(f.max()))) + 1):
        zk = np.interp(k, np.log10(f), z.real) + 1j * np.interp(k, np.log10(f), z.imag)
        ax.plot(zk.real, -zk.imag, "o", ms=3, color=line.get_color())
        if last is not None and abs(zk - last) < gap:
            continue
        last = zk
        ax.annotate(f"1e{k} Hz", (zk.real, -zk.imag), fontsize=6, xytext=(3, 3),
                    textcoords="offset points", color=line.get_color())  # fmt: skip


def nyquist(run: Run, ax=None, *, snapshot: int = -1, compare: Run | None = None):
    """Nyquist plot (-Z'' against Z', real electrode area) of the stored `kmc impedance`
    spectrum, with a dot per decade of frequency and the fitted circuit if there is one;
    ``compare`` overlays another run (e.g. the pristine cell).

    A run without a stored spectrum is drawn as the cartoon R_b + (R_i || CPE) from the
    DC estimator (R_b its membrane, R_i its interfacial resistance) with an assumed CPE
    (Q = 0.1 F/m^2 x area, n = 0.85), and the title says so. A cell with a blocking
    electrode has no DC R_i (``kmc analyze`` stores none): no cartoon is drawn for it,
    and the legend and title say so.
    """
    import json

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    omega = 2 * np.pi * np.logspace(-2, 6, 400)  # 10 mHz to 1 MHz, as `kmc impedance`
    cartoon = simulated = no_dc = False
    for r in [x for x in (compare, run) if x is not None]:
        stored = _spectrum_or_none(r, snapshot)
        if stored is not None:
            simulated = True
            spectrum, info = stored
            z = spectrum.impedance_ohm
            (line,) = ax.plot(z.real, -z.imag, label=f"{r.path.stem}: simulated")
            _decade_marks(ax, spectrum.frequency_Hz, z, line)
            if "fitted_ohm" in info:
                zf = info["fitted_ohm"]
                ax.plot(zf.real, -zf.imag, "--", color=line.get_color(), lw=0.8,
                        label=f"{r.path.stem}: fit {info['fit']['circuit']}")  # fmt: skip
            continue
        res = r.analysis(snapshot)
        r_b = res["membrane_resistance_ohm"]
        r_i = res.get("interfacial_resistance_ohm")
        if r_i is None:  # a blocking electrode: no DC R_i, nothing to draw
            no_dc = True
            ax.plot([], [], " ", label=f"{r.path.stem}: R_b {r_b:.3g} Ω; blocking electrode: "
                    "no DC R_i, no cartoon (run kmc impedance)")  # fmt: skip
            continue
        cartoon = True
        area = json.loads(res["parameters_json"])["electrode_area_m2"]
        z = equivalent_circuit_impedance(r_b, r_i, area, omega)
        (line,) = ax.plot(z.real, -z.imag, label=f"{r.path.stem}: R_b {r_b:.3g} Ω, "
                          f"R_i {r_i:.3g} Ω (cartoon)")  # fmt: skip
        _decade_marks(ax, omega / (2 * np.pi), z, line)
    ax.set_xlabel("Z' (Ω)")
    ax.set_ylabel("−Z'' (Ω)")
    ax.set_aspect("equal", adjustable="datalim")
    lines = []
    if cartoon:
        lines.append(
            "equivalent-circuit cartoon R_b + (R_i ∥ CPE), assumed CPE "
            f"Q = {CPE_CAPACITANCE_F_PER_M2:g} F/m² × area, n = {CPE_EXPONENT:g}\n"
            "(dots: decades of frequency; run kmc impedance for a spectrum)"
        )
    elif simulated:
        lines.append("simulated impedance (dots: decades of frequency)")
    if no_dc:
        lines.append("blocking electrode: no DC R_i, no cartoon; run kmc impedance for a spectrum")
    ax.set_title("\n".join(lines), fontsize=9)
    ax.legend(fontsize=8)
    return ax


def bode(run: Run, ax=None, *, snapshot: int = -1, compare: Run | None = None):
    """Bode plot of the stored `kmc impedance` spectrum: |Z| (left axis, log) and the
    phase angle -arg Z (right axis, degrees) against frequency."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    phase_ax = ax.twinx()
    for r in [x for x in (compare, run) if x is not None]:
        spectrum, _ = r.impedance(snapshot)
        z = spectrum.impedance_ohm
        (line,) = ax.loglog(spectrum.frequency_Hz, np.abs(z), label=f"{r.path.stem}: |Z|")
        phase_ax.semilogx(spectrum.frequency_Hz, -np.degrees(np.angle(z)), "--",
                          color=line.get_color(), label=f"{r.path.stem}: −phase")  # fmt: skip
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("|Z| (Ω)")
    phase_ax.set_ylabel("−phase (°), dashed")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("simulated impedance, real electrode area")
    return ax
