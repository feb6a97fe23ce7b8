"""Resistances of an electrode | electrolyte | electrode morphology (phase image).

Model (one potential field, steady state, measurement temperature):

* electronic phases: the electrodes and deposit electrically connected to one of them
  (taken as doped PT); ionic phases: amorphous and crystalline PEO; void insulates.
* every face between an electronic voxel of electrode e and an ionic voxel carries the
  charge-transfer resistance R_ct A = R T / (F i0_e) (ohm m^2) in series (Robin);
* Dirichlet planes at both z ends, periodic in x and y.

From one solve with and one without the charge-transfer term:
R_total, R_bulk, R_interfacial = R_total - R_bulk; a four-point-probe analogue (the
potential drop between two internal planes over the current) gives the effective
conductivity of the electrolyte between them and the membrane resistance of a membrane
of the real thickness and area. In a run with two lattice windows joined by a continuum
(a ``membrane_gate`` plane), the probes measure the continuum, which is nearly all of the
real membrane: the conductivity is the gate plane's (homogeneous by construction), and
the PT layers in the windows shorten the ionic path, R = (L - h_PT)/(sigma A), with
h_PT the electrode-connected PT volume per area (docs/MODEL.md, note 3). Lateral geometry
is taken as repeating: resistances of
the simulated box scale to the real electrode area as R_real = R_box A_box / A_real.

Blocking electrodes (``TransportParameters.blocking``, e.g. a stainless-steel cathode):
no faradaic Li+ current crosses them, so the cell has no DC steady state and the
charge-transfer term is not a physical quantity there. The solves give a blocking
electrode's electronic|ionic faces zero charge-transfer resistance: the reading right
after a current step, while the double layer passes the current, which is what a
four-point-probe chronopotentiometry's IR jump sees. The bulk solve, and with it the
effective conductivity and the membrane resistance, is the same as for a reversible
electrode; the interfacial and total resistances have no DC value (None) and the
impedance spectrum (``kmc impedance``) is where the interface shows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kmc import phases
from kmc.transport._estimator import ConductionResult, effective_conductivity
from kmc.transport._percolation import label_periodic
from kmc.transport._recrystallization import Recrystallization

FARADAY_C_PER_MOL = 96485.33212
GAS_CONSTANT_J_PER_MOL_K = 8.314462618
ELECTRONIC_CONTRAST_CAP = 1e4  # electronic sigma <= this x the largest ionic sigma


@dataclass(frozen=True)
class TransportParameters:
    """Inputs of the estimator (SI). ``conductivity_S_per_m`` maps phase code -> sigma."""

    conductivity_S_per_m: dict[int, float]
    exchange_current_A_per_m2: tuple[float, float]  # (cathode, anode)
    temperature_K: float = 313.15
    membrane_thickness_m: float = 100e-6
    electrode_area_m2: float = 2.0e-4
    probe_fractions: tuple[float, float] = (0.25, 0.75)
    pt_doped: tuple[bool, bool] = (True, True)
    """Whether PT connected to the (cathode, anode) is doped at the measurement; undoped
    PT conducts as ``pt_floating`` (not electronically, no charge transfer)."""
    recrystallization: Recrystallization | None = None
    """The PEO's recrystallization on cooling to ``temperature_K`` (None: the image is
    taken as it is)."""
    permittivity_relative: dict[int, float] = field(default_factory=dict)
    """Relative permittivity per phase code (impedance only); phases not listed: 1."""
    double_layer_F_per_m2: tuple[float, float] = (0.2, 0.2)
    """Double-layer capacitance per area of each electrode's electronic|ionic faces
    (cathode, anode) (impedance only); with a CPE exponent below 1 the CPE magnitude Q
    (F s^(alpha-1) m^-2)."""
    double_layer_cpe_exponent: tuple[float, float] = (1.0, 1.0)
    """CPE exponent alpha of each double layer, Z = 1 / (Q (j omega)^alpha) per area
    (impedance only); 1 (the default) is the ideal capacitor."""
    blocking: tuple[bool, bool] = (False, False)
    """Whether each electrode (cathode, anode) blocks Li+ at the measurement: a double
    layer and no charge transfer. The impedance gives it C_dl alone; the DC solves give
    its faces zero charge-transfer resistance (the IR jump right after a current step)
    and report no interfacial or total resistance (None); its i0 is not used."""

    def charge_transfer_ohm_m2(self) -> tuple[float, float]:
        """R_ct A = R T / (F i0) per electrode (ohm m^2); inf when i0 = 0."""
        rt_f = GAS_CONSTANT_J_PER_MOL_K * self.temperature_K / FARADAY_C_PER_MOL
        return tuple(rt_f / i0 if i0 > 0 else np.inf for i0 in self.exchange_current_A_per_m2)


@dataclass
class MorphologyTransport:
    """Results of :func:`analyze_morphology` (SI; ``*_real`` scaled to the real cell)."""

    total: ConductionResult
    bulk: ConductionResult
    area_box_m2: float
    params: TransportParameters
    probe_planes: tuple[int, int]
    short_circuit: bool
    electroactive_area_ratio: tuple[float, float]
    """Electroactive area per geometric electrode area (cathode, anode): above 1 where
    connected PT or a rough electrode offers more face than the flat one."""
    contact_fraction: tuple[float, float]
    ionic_fraction: float
    warnings: list[str] = field(default_factory=list)
    continuum_conductivity_S_per_m: float | None = None
    """The membrane-gate plane's conductivity in a windowed run (None otherwise)."""
    pt_thickness_m: float = 0.0
    """Electrode-connected PT volume per electrode area, both electrodes (m)."""

    @property
    def blocking(self) -> bool:
        """Whether either electrode blocks Li+ (then the cell has no DC steady state)."""
        return any(self.params.blocking)

    @property
    def box_resistance_ohm(self) -> float | None:
        """DC resistance of the simulated box (electrode to electrode, or to the membrane
        gate in a windowed run) scaled to the real electrode area (ohm); None with a
        blocking electrode. Its zero-frequency impedance."""
        if self.blocking:
            return None
        return self.total.resistance_ohm * self.area_box_m2 / self.params.electrode_area_m2

    @property
    def total_resistance_ohm(self) -> float | None:
        """DC resistance of the real cell: the membrane and the interfaces in series,
        ``membrane_resistance_ohm + interfacial_resistance_ohm`` (ohm); None with a
        blocking electrode."""
        r_i = self.interfacial_resistance_ohm
        return None if r_i is None else self.membrane_resistance_ohm + r_i

    @property
    def bulk_resistance_ohm(self) -> float:
        return self.bulk.resistance_ohm * self.area_box_m2 / self.params.electrode_area_m2

    @property
    def interfacial_resistance_ohm(self) -> float | None:
        """Charge-transfer (interfacial) resistance of the real cell, both electrodes (ohm);
        None with a blocking electrode (no DC value: see ``kmc impedance``)."""
        box = self.box_resistance_ohm
        return None if box is None else box - self.bulk_resistance_ohm

    @property
    def effective_conductivity_S_per_m(self) -> float:
        """Electrolyte conductivity between the probe planes (four-point analogue); in a
        windowed run the continuum's (the membrane-gate plane's)."""
        if self.continuum_conductivity_S_per_m is not None:
            return self.continuum_conductivity_S_per_m
        z1, z2 = self.probe_planes
        drop = self.bulk.potential_drop_between(z1, z2)
        h = self.bulk.spacing_m
        if drop <= 0:
            return np.inf
        return self.bulk.current_A * (z2 - z1) * h / (drop * self.area_box_m2)

    @property
    def effective_conductivity_S_per_cm(self) -> float:
        return self.effective_conductivity_S_per_m / 100.0

    @property
    def membrane_resistance_ohm(self) -> float:
        """Resistance of the real membrane (thickness, area) at the probed conductivity;
        in a windowed run less the path the PT layers take over."""
        thickness = self.params.membrane_thickness_m
        if self.continuum_conductivity_S_per_m is not None:
            thickness -= self.pt_thickness_m
        return thickness / (self.effective_conductivity_S_per_m * self.params.electrode_area_m2)

    @property
    def tortuosity(self) -> float | None:
        """tau = eps sigma_amorphous / sigma_eff of the resolved electrolyte between the
        probe planes (1 = straight); None in a windowed run, whose probed conductivity is
        the continuum membrane's (``TORTUOSITY_WINDOWED`` says why)."""
        if self.continuum_conductivity_S_per_m is not None:
            return None
        s_a = self.params.conductivity_S_per_m.get(phases.AMORPHOUS_PEO, 0.0)
        return self.ionic_fraction * s_a / self.effective_conductivity_S_per_m

    def as_dict(self) -> dict:
        """JSON-ready summary (the keys `kmc analyze --json` prints)."""
        return {
            "membrane_resistance_ohm": self.membrane_resistance_ohm,
            "interfacial_resistance_ohm": self.interfacial_resistance_ohm,
            "total_resistance_ohm": self.total_resistance_ohm,
            "box_resistance_ohm": self.box_resistance_ohm,
            "bulk_resistance_ohm": self.bulk_resistance_ohm,
            "effective_conductivity_S_per_cm": self.effective_conductivity_S_per_cm,
            "effective_conductivity_S_per_m": self.effective_conductivity_S_per_m,
            "tortuosity": self.tortuosity,
            "pt_layer_thickness_m": self.pt_thickness_m,
            "electroactive_area_ratio_cathode": self.electroactive_area_ratio[0],
            "electroactive_area_ratio_anode": self.electroactive_area_ratio[1],
            "electroactive_area_m2_cathode": self.electroactive_area_ratio[0]
            * self.params.electrode_area_m2,
            "electroactive_area_m2_anode": self.electroactive_area_ratio[1]
            * self.params.electrode_area_m2,
            "contact_fraction_cathode": self.contact_fraction[0],
            "contact_fraction_anode": self.contact_fraction[1],
            "short_circuit": self.short_circuit,
            "blocking_cathode": bool(self.params.blocking[0]),
            "blocking_anode": bool(self.params.blocking[1]),
            "solver_iterations": self.bulk.solution.iterations
            + (self.total.solution.iterations if self.total is not self.bulk else 0),
            "solver_relative_residual": max(
                self.total.solution.relative_residual, self.bulk.solution.relative_residual
            ),
            "solver_current_imbalance": max(
                self.total.solution.current_imbalance, self.bulk.solution.current_imbalance
            ),
            "warnings": list(self.warnings),
        }


TORTUOSITY_WINDOWED = (
    "not reported: in a windowed run the probed conductivity is the continuum membrane's, "
    "not the resolved electrolyte's"
)


def _electrode_map(phase: np.ndarray) -> np.ndarray:
    """Electrode index each voxel conducts to electronically (-1: not electronic)."""
    return phases.electrode_table()[phase].astype(np.int64)


def conducting_image(phase: np.ndarray, params: TransportParameters):
    """The image as the estimator sees it at the measurement.

    Returns (phase, lut, sigma, elec, electronic, ionic): the phase codes with undoped PT
    turned into ``pt_floating``, the conductivity per phase code (S/m), per voxel
    (electronic conductors capped at ``ELECTRONIC_CONTRAST_CAP`` x the largest ionic
    one), the electrode each voxel conducts to (-1: none), and the electronic and ionic
    masks.
    """
    phase = np.asarray(phase)
    if phase.ndim != 3:
        raise ValueError(f"phase must be [nz, ny, nx], got shape {phase.shape}")
    unknown = set(np.unique(phase).tolist()) - set(params.conductivity_S_per_m)
    if unknown:
        names = [phases.PHASE_NAMES.get(u, str(u)) for u in sorted(unknown)]
        raise ValueError(f"no conductivity given for phase(s) {names}")
    for e, code in enumerate((phases.DEPOSIT_CATHODE, phases.DEPOSIT_ANODE)):
        if not params.pt_doped[e] and (phase == code).any():
            # undoped PT is no electronic conductor (~1e-8 S/cm, docs/PARAMETERS.md)
            phase = np.where(phase == code, phases.PT_FLOATING, phase).astype(phase.dtype)
    nz, ny, nx = phase.shape
    lut = np.zeros(16)
    for code, s in params.conductivity_S_per_m.items():
        lut[code] = s
    sigma = lut[phase]
    elec = _electrode_map(phase)
    electronic = elec >= 0
    # undoped PT is neither electronic nor an electrolyte: no charge-transfer faces
    ionic = (~electronic) & (sigma > 0) & (phase != phases.PT_FLOATING)
    if ionic.any():
        # electronic conductors far above the electrolyte are equipotential either way;
        # a contrast beyond 1e4 only costs the solver its accuracy (measured: with
        # 1e4 S/m electrodes, crystalline PEO and the charge-transfer faces, CG met its
        # stopping rule with a current 40 % off, or never converged)
        cap = ELECTRONIC_CONTRAST_CAP * float(sigma[ionic].max())
        sigma = np.where(electronic, np.minimum(sigma, cap), sigma)
    return phase, lut, sigma, elec, electronic, ionic


def analyze_morphology(
    phase: np.ndarray,
    spacing_m: float,
    params: TransportParameters,
    *,
    rtol: float = 1e-6,
    balance_tol: float = 1e-4,
) -> MorphologyTransport:
    """Resistances, conductivity, electroactive area and short-circuit check of ``phase``.

    Parameters
    ----------
    phase : uint8 array [nz, ny, nx]
        Host phase codes (``kmc.phases``); electrodes at the z ends.
    spacing_m : float
        Voxel edge (m).
    """
    phase, lut, sigma, elec, electronic, ionic = conducting_image(phase, params)
    nz, ny, nx = phase.shape

    # probe planes inside the electrolyte region between the electrode slabs (checked
    # before the solves, which are the expensive part)
    lo = int(np.argmax(~(electronic.all(axis=(1, 2)))))
    hi = nz - 1 - int(np.argmax(~(electronic[::-1].all(axis=(1, 2)))))
    f1, f2 = params.probe_fractions
    z1 = lo + int(round(f1 * (hi - lo)))
    z2 = lo + int(round(f2 * (hi - lo)))
    gate = np.flatnonzero((phase == phases.MEMBRANE_GATE).all(axis=(1, 2)))
    continuum = None
    if gate.size == 1 and lo < gate[0] - 1 and gate[0] + 1 < hi:
        # two lattice windows joined by a continuum: the plane stands for the bulk of
        # the membrane, so the four-point probes straddle it (the bulk, not the windows
        # at the electrodes, is what a four-point measurement probes)
        z1, z2 = int(gate[0]) - 1, int(gate[0]) + 1
        continuum = float(lut[phases.MEMBRANE_GATE])
    if z2 <= z1:
        raise ValueError("the electrolyte region is too thin for two probe planes")

    # short circuit: one electronic cluster holding both electrodes' conductors
    labels, _ = label_periodic(electronic)
    cath = np.unique(labels[elec == 0])
    anod = np.unique(labels[elec == 1])
    short = bool(np.intersect1d(cath[cath > 0], anod[anod > 0]).size)

    r_ct = params.charge_transfer_ohm_m2()
    h = float(spacing_m)
    ea_faces = [0, 0]
    rx, ry, rz = (np.zeros(phase.shape) for _ in range(3))
    for e in (0, 1):
        masks = phases.faces_between(elec == e, ionic)
        ea_faces[e] = sum(int(m.sum()) for m in masks)
        if params.blocking[e]:
            continue  # the double layer passes the current step: no series resistance
        for r_arr, m in zip((rx, ry, rz), masks, strict=True):
            r_arr[m] = r_ct[e] if np.isfinite(r_ct[e]) else 1e30
    # undoped PT conducts electrons (poorly) but transfers no charge to the electrolyte:
    # with its faces to ionic phases closed it is a dead end (or, between the two
    # electrodes, a path of ~1e-8 S/cm), so it carries no current worth solving for and
    # is left out of both solves (zero conductivity closes every face of it). Closing only
    # its faces to the electrolyte left a cluster of it next to void with no open face,
    # which the isolation test (conductivity > 0) did not see and the single-precision
    # multigrid could not invert.
    sigma = np.where(phase == phases.PT_FLOATING, 0.0, sigma)
    tol = {"rtol": rtol, "balance_tol": balance_tol}
    bulk = effective_conductivity(sigma, h, **tol)
    if all(params.blocking):
        total = bulk  # no charge-transfer face left: the same solve
    else:
        total = effective_conductivity(sigma, h, face_resistance=(rx, ry, rz), **tol)

    area_box = nx * ny * h * h
    # contact: of the faces where an electrode (its own phase, not deposit) meets
    # anything else, the fraction that meets material rather than void
    contact = [float(c) for c in phases.contact_fraction(phase)]
    warnings = []
    if short:
        warnings.append("SHORT CIRCUIT: an electronic path connects cathode and anode")
    for name, blocks in zip(("cathode", "anode"), params.blocking, strict=True):
        if blocks:
            warnings.append(
                f"the {name} blocks Li+: the cell's interfacial resistance has no DC value; "
                "its impedance spectrum (kmc impedance) shows where the arcs end"
            )
    ionic_fraction = float((phase[z1 : z2 + 1] == phases.AMORPHOUS_PEO).mean())
    n_pt = int(np.isin(phase, (phases.DEPOSIT_CATHODE, phases.DEPOSIT_ANODE)).sum())
    for sol in (total.solution, bulk.solution):
        if not sol.converged:
            warnings.append(
                f"solver stopped after {sol.iterations} iterations at relative residual "
                f"{sol.relative_residual:.2e}, current imbalance {sol.current_imbalance:.2e}"
            )
    return MorphologyTransport(
        total=total,
        bulk=bulk,
        area_box_m2=area_box,
        params=params,
        probe_planes=(z1, z2),
        short_circuit=short,
        electroactive_area_ratio=(ea_faces[0] / (nx * ny), ea_faces[1] / (nx * ny)),
        contact_fraction=(contact[0], contact[1]),
        ionic_fraction=ionic_fraction,
        warnings=warnings,
        continuum_conductivity_S_per_m=continuum,
        pt_thickness_m=n_pt * h / (nx * ny),
    )
