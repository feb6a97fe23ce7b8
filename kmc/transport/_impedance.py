"""Impedance spectrum of a voxel morphology: the DC estimator's grid in the frequency domain.

Each voxel has a complex admittivity y = sigma + j omega eps (S/m), eps = eps_r eps_0.
A face of area h^2 between voxel centres h apart has the admittance

    Y = 1 / ( 1/(2 y_i h) + 1/(2 y_j h) + z_s / h^2 )        (S)

with z_s (ohm m^2) the interface impedance in series on the face: on every face between
an electronic conductor of electrode e and an ionic phase, the charge-transfer resistance
in parallel with the double layer, z_s = R_ct / (1 + j omega R_ct C_dl) (R_ct A =
RT / (F i0_e), as in the DC estimator); on a Li+-blocking electrode no charge transfer,
z_s = 1 / (j omega C_dl). Undoped PT carries no charge to the electrolyte (its faces to
ionic phases are closed, as in DC). Dirichlet planes at both z ends (1 V on the top
plane), periodic in x and y; each frequency's complex symmetric system is solved by
``kmc.transport._ac_solver``. Z of the box scales to the real electrode as Z A_box / A_real.

In a run with two lattice windows joined by a continuum (a membrane-gate plane), the rest
of the membrane is its bulk R || C in series: R the DC estimator's membrane resistance,
C = eps A / L with L the membrane thickness less the PT layers.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np

from kmc import phases
from kmc.transport._ac_solver import _grid_solve
from kmc.transport._morphology import TransportParameters, conducting_image

VACUUM_PERMITTIVITY_F_PER_M = 8.8541878128e-12
CLOSED_OHM_M2 = np.inf  # a face that passes no current (undoped PT | electrolyte): g = 0


@dataclass(frozen=True)
class ImpedanceSpectrum:
    """Z(f) of a cell (real electrode area), with what it was computed from.

    Attributes
    ----------
    frequency_Hz : array
        Frequencies (Hz), ascending.
    impedance_ohm : complex array
        Z = Z' + j Z'' (ohm) at each frequency; an electrochemist's Nyquist plot shows
        -Z'' against Z'.
    continuum_ohm : complex array or None
        The part of Z from the continuum membrane (windowed runs), included above.
    """

    frequency_Hz: np.ndarray
    impedance_ohm: np.ndarray
    continuum_ohm: np.ndarray | None = None

    @property
    def real_ohm(self) -> np.ndarray:
        return self.impedance_ohm.real

    @property
    def imag_ohm(self) -> np.ndarray:
        return self.impedance_ohm.imag

    def to_csv(self, path) -> None:
        """Write frequency (Hz), Z' (ohm), Z'' (ohm) columns (the layout impedance.py's
        ``preprocessing.readCSV`` and most EIS tools read), atomically."""
        from kmc.runfile._io import atomic_write_text

        lines = ["frequency_Hz,Z_real_ohm,Z_imag_ohm"]
        lines += [
            f"{f!r},{z.real!r},{z.imag!r}"
            for f, z in zip(self.frequency_Hz.tolist(), self.impedance_ohm.tolist(), strict=True)
        ]
        atomic_write_text(path, "\n".join(lines) + "\n")


def frequencies(f_min: float, f_max: float, per_decade: int) -> np.ndarray:
    """Log-spaced frequencies from f_min to f_max (Hz), ``per_decade`` points per decade."""
    if not (np.isfinite(f_min) and np.isfinite(f_max)) or f_min <= 0 or f_max <= 0:
        raise ValueError(f"frequencies must be positive and finite (got {f_min}, {f_max} Hz)")
    if f_min >= f_max:
        raise ValueError(f"f_min = {f_min:g} Hz must be below f_max = {f_max:g} Hz")
    if per_decade < 1:
        raise ValueError(f"per_decade = {per_decade} must be at least 1")
    n = int(round(np.log10(f_max / f_min) * per_decade)) + 1
    return np.geomspace(f_min, f_max, max(n, 2))


def _interface_masks(phase, elec, ionic):
    """Face masks (+x, +y, +z) of each electrode's electronic|ionic faces and of the
    undoped-PT|ionic faces: the geometry of the interfaces, the same at every frequency."""
    electrodes = [phases.faces_between(elec == e, ionic) for e in (0, 1)]
    closed = phases.faces_between(phase == phases.PT_FLOATING, ionic)
    return electrodes, closed


def _interfaces(masks, params, omega):
    """Complex area-specific impedance (ohm m^2) on each +x, +y, +z face at ``omega``."""
    electrodes, closed = masks
    r_ct = params.charge_transfer_ohm_m2()
    out = [np.zeros(closed[0].shape, dtype=np.complex128) for _ in range(3)]
    for e in (0, 1):
        c_dl = params.double_layer_F_per_m2[e]
        alpha = params.double_layer_cpe_exponent[e]
        # admittance per area of the double layer: j omega C, or Q (j omega)^alpha (CPE)
        y_dl = 1j * omega * c_dl if alpha == 1.0 else c_dl * (1j * omega) ** alpha
        if params.blocking[e] or not np.isfinite(r_ct[e]):
            z_s = 1.0 / y_dl if c_dl > 0 else CLOSED_OHM_M2
        else:
            z_s = r_ct[e] / (1.0 + r_ct[e] * y_dl)
        for arr, m in zip(out, electrodes[e], strict=True):
            arr[m] = z_s
    for arr, m in zip(out, closed, strict=True):
        arr[m] = CLOSED_OHM_M2
    return tuple(out)


def impedance(
    phase: np.ndarray,
    spacing_m: float,
    params: TransportParameters,
    frequency_Hz: np.ndarray,
    *,
    continuum: tuple[float, float] | None = None,
) -> ImpedanceSpectrum:
    """Impedance spectrum of a morphology at the measurement (real electrode area).

    Parameters
    ----------
    phase : uint8 array [nz, ny, nx]
        Host phase codes (``kmc.phases``), electrodes at the z ends; the state to measure
        (for a run: after the recrystallization, as ``kmc analyze`` builds it).
    spacing_m : float
        Voxel edge h (m).
    params : TransportParameters
        Conductivities, exchange currents, ``permittivity_relative``,
        ``double_layer_F_per_m2`` and ``blocking``.
    frequency_Hz : array
        Positive frequencies (Hz).
    continuum : (R_ohm, thickness_m), optional
        A continuum membrane in series (R || C, C = eps_PEO A / thickness): windowed runs.
    """
    f = np.asarray(frequency_Hz, dtype=float)
    if f.ndim != 1 or f.size == 0 or not np.all(np.isfinite(f)) or f.min() <= 0:
        raise ValueError("frequency_Hz must be a non-empty 1D array of positive frequencies")
    phase, _, sigma, elec, _, ionic = conducting_image(phase, params)
    nz, ny, nx = phase.shape
    eps_lut = np.ones(16)
    for code, eps_r in params.permittivity_relative.items():
        eps_lut[code] = eps_r
    eps = eps_lut[phase] * VACUUM_PERMITTIVITY_F_PER_M
    scale = nx * ny * spacing_m**2 / params.electrode_area_m2
    masks = _interface_masks(phase, elec, ionic)  # frequency-independent: found once
    z = np.empty(f.size, dtype=np.complex128)
    direct = False
    # from the highest frequency down: the interfaces' admittances make the system harder
    # for COCG as omega falls, so once it has failed (5000 iterations spent) every lower
    # frequency goes to the direct solve at once
    for i in np.argsort(-f, kind="stable"):
        omega = 2 * np.pi * f[i]
        faces = _interfaces(masks, params, omega)
        zi, direct = _grid_solve(sigma + 1j * omega * eps, spacing_m, faces, 1e-10, direct)
        z[i] = zi * scale
    z_cont = None
    if continuum is not None:
        r_m, thickness = continuum
        eps_peo = eps_lut[phases.AMORPHOUS_PEO] * VACUUM_PERMITTIVITY_F_PER_M
        c_m = eps_peo * params.electrode_area_m2 / thickness
        z_cont = r_m / (1.0 + 1j * 2 * np.pi * f * r_m * c_m)
        z = z + z_cont
    return ImpedanceSpectrum(f, z, z_cont)


KK_ELEMENTS_PER_DECADE = 4
"""Time constants per decade of the lin-KK model (Schoenleber et al. 2014's RC elements,
log-spaced over the measured range). Fixed rather than chosen by the mu criterion: a
blocking electrode's capacitive tail makes mu negative at small M, so the criterion stops
at an under-fitted model (measured: residual 0.45 of |Z| on an exact R + RC + C spectrum),
and more than ~5 per decade makes the normal equations ill-conditioned (residuals grow
again above ~0.7 elements per point)."""

KK_MIN_POINTS_PER_DECADE = 4
"""Below this sampling the test has too few points for its elements: a spectrum's residual
then says nothing about its validity (an exact single-arc spectrum at 2 per decade leaves
0.06 of |Z|)."""


def kramers_kronig(spectrum: ImpedanceSpectrum) -> dict:
    """Linear Kramers-Kronig test (Schoenleber et al., Electrochim. Acta 131, 20, 2014) with
    impedance.py's ``linKK``: the number of RC elements M, the mu measure, the largest
    residual relative to |Z| (real and imaginary parts) and whether the sampling resolves
    the test.

    The model is an ohmic resistor, M RC elements (``KK_ELEMENTS_PER_DECADE`` per decade of
    the range, at most N - 3 for N frequencies), a series inductance and a series
    capacitance (``add_cap``: a blocking electrode's spectrum has no low-frequency
    intercept; on a spectrum that has one the capacitance comes out ~infinite), fitted to
    the complex spectrum. Measured on exact spectra, 1e-1..1e6 Hz at 5 per decade: R + RC,
    R + RC + C: 4.2e-4 of |Z|; the same with a CPE arc and a CPE tail: 3e-3; Z'' distorted
    by 3 % or 10 %: 1.4e-2 and 4.5e-2.
    """
    from impedance.validation import linKK

    f = spectrum.frequency_Hz
    decades = float(np.log10(f.max() / f.min())) if f.size > 1 else 0.0
    wanted = int(round(KK_ELEMENTS_PER_DECADE * decades)) + 1
    m = max(1, min(wanted, f.size - 3))
    # impedance.py builds its model as a Python expression from the array repr: under
    # numpy 2 a scalar prints as 'np.float64(...)', which its evaluator does not know
    with np.printoptions(legacy="1.25"), contextlib.redirect_stdout(io.StringIO()):
        _, mu, _, res_real, res_imag = linKK(
            f, spectrum.impedance_ohm, c=None, max_M=m, fit_type="complex", add_cap=True
        )
    per_decade = (f.size - 1) / decades if decades > 0 else 0.0
    return {
        "kk_elements": int(m),
        "kk_mu": float(mu),
        "kk_max_residual": float(max(np.abs(res_real).max(), np.abs(res_imag).max())),
        "kk_resolved": bool(per_decade >= KK_MIN_POINTS_PER_DECADE - 1e-9),
    }
