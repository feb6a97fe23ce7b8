"""Run-file analysis: the transport estimator on a stored snapshot (`kmc analyze`)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np

from kmc import phases
from kmc.config._config import parse_config
from kmc.runfile import _io as io
from kmc.transport import MorphologyTransport, TransportParameters, analyze_morphology
from kmc.transport._impedance import ImpedanceSpectrum, impedance
from kmc.transport._recrystallization import homogenized_conductivity, recrystallize

UNITS = {
    "membrane_resistance_ohm": "ohm",
    "interfacial_resistance_ohm": "ohm",
    "total_resistance_ohm": "ohm",
    "box_resistance_ohm": "ohm",
    "bulk_resistance_ohm": "ohm",
    "effective_conductivity_S_per_cm": "S/cm",
    "effective_conductivity_S_per_m": "S/m",
    "tortuosity": "1",
    "pt_layer_thickness_m": "m",
    "electroactive_area_ratio_cathode": "1",
    "electroactive_area_ratio_anode": "1",
    "electroactive_area_m2_cathode": "m^2",
    "electroactive_area_m2_anode": "m^2",
    "contact_fraction_cathode": "1",
    "contact_fraction_anode": "1",
    "short_circuit": "",
    "blocking_cathode": "",
    "blocking_anode": "",
    "solver_iterations": "1",
    "solver_relative_residual": "1",
    "solver_current_imbalance": "1",
    "diluent_volume_fraction": "1",
    "melting_temperature_K": "K",
    "crystallization_half_time_s": "s",
    "crystalline_fraction": "1",
    "crystalline_domain_diameter_m": "m",
    "membrane_gate_conductivity_S_per_m": "S/m",
}

# the measurement state's crystalline domains: their own stream of the run's seed
# (SeedSequence children 0 and 1 are the engine's, 2 the initial geometry's)
RECRYSTALLIZATION_STREAM = 3
# the representative volume of the continuum membrane is a material property, not a
# realization of one run: one fixed stream for every run
HOMOGENIZATION_SEED = 20210
# the continuum's semicrystalline conductivity is the mean over this many representative
# volumes (seeds HOMOGENIZATION_SEED, +1, ...): one 40^3 volume spreads by ~3 % (sd)
# from the next, so the mean of 4 has a standard error of ~1.5 %
HOMOGENIZATION_VOLUMES = 4
# the voxel of those volumes (m): fixed, not the run's lattice spacing. The continuum
# membrane is not the lattice, and its homogenized conductivity is not converged in the
# voxel (pristine, 40^3 volumes: 2.11, 2.86, 3.35e-3 S/m at 50, 25, 12.5 nm voxels, a
# 40 % spread; 80^3 volumes move it by < 2 %): a run at 12.5 nm took a membrane 15 %
# more conductive than at 25 nm and moved its membrane ratio by 11 %. The calibration of
# the amorphous PEO's conductivity (docs/calibrate_transport.py) is made at this voxel,
# so the calibrated value holds together with it.
HOMOGENIZATION_SPACING_M = 25e-9


def load_snapshot(path: str | Path, snapshot: int = -1) -> tuple[np.ndarray, float, float, int]:
    """(phase [nz, ny, nx], spacing (m), time (s), index) of a snapshot of a run file."""
    with io.open_h5(path) as f:
        ds = f["particles/lattice/phase/value"]
        n = ds.shape[0]
        if not -n <= snapshot < n:
            raise io.RunFileError(
                f"{path}: snapshot {snapshot} out of range; the file holds {n} snapshots "
                f"(indices 0..{n - 1}, or negative from the end)"
            )
        index = snapshot % n
        phase = ds[index]
        t = float(f["particles/lattice/phase/time"][index])
        cfg = parse_config(f["parameters"].attrs["config_toml"], f"{path} (stored config)")
    return phase, cfg.lattice.spacing_m, t, index


def dissolved_fraction(f: h5py.File, time_s: float) -> float:
    """Fraction of the monomer units of the open run file ``f`` still dissolved at
    ``time_s`` (0 in a run without any).

    Units are conserved exactly (reservoir + free + radical + oligomer + PT + decayed);
    all but those precipitated as PT stay dissolved in the PEO.
    """
    obs = f["observables"]
    if "pt_units" not in obs:
        return 0.0
    k = int(np.argmin(np.abs(obs["pt_units/time"][()] - time_s)))

    def value(name, i):
        return np.asarray(obs[name]["value"][i], dtype=float).sum()

    names = ("reservoir_units", "monomer_count", "oligomer_units", "radical_count")
    initial = sum(value(n, 0) for n in names)
    if initial <= 0:
        return 0.0
    return max(0.0, 1.0 - value("pt_units", k) / initial)


def measurement_state(
    path: str | Path, phase: np.ndarray, spacing_m: float, time_s: float,
    params: TransportParameters,
) -> tuple[np.ndarray, TransportParameters, dict]:  # fmt: skip
    """The snapshot after cooling to the measurement temperature (``params.recrystallization``).

    Returns the phase with the crystalline domains grown, the parameters with the
    membrane-gate conductivity set to the homogenized semicrystalline value, and what
    the rule gave (diluent fraction, melting point, half time, crystalline fraction).
    """
    rule = params.recrystallization
    with io.open_h5(path) as f:
        seed = int(f["parameters"].attrs["seed"])
        phi = rule.loading_volume_fraction * dissolved_fraction(f, time_s)
    temperature = params.temperature_K
    target = rule.fraction(temperature, phi)
    diameter = rule.domain_diameter(temperature, phi)
    rng = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(RECRYSTALLIZATION_STREAM,)))
    )
    phase = recrystallize(phase, target, diameter, spacing_m, rng)
    peo = (phase == phases.AMORPHOUS_PEO) | (phase == phases.CRYSTALLINE_PEO)
    info = {
        "diluent_volume_fraction": phi,
        "melting_temperature_K": rule.melting_temperature(phi),
        "crystallization_half_time_s": rule.half_time(temperature, phi),
        "crystalline_fraction": float((phase[peo] == phases.CRYSTALLINE_PEO).mean()),
        "crystalline_domain_diameter_m": diameter,
    }
    if (phase == phases.MEMBRANE_GATE).any():
        sigma = params.conductivity_S_per_m
        gate = float(np.mean([
            homogenized_conductivity(
                target, diameter, HOMOGENIZATION_SPACING_M,
                sigma[phases.AMORPHOUS_PEO], sigma[phases.CRYSTALLINE_PEO],
                np.random.default_rng(HOMOGENIZATION_SEED + k),
            )
            for k in range(HOMOGENIZATION_VOLUMES)
        ]))  # fmt: skip
        params = dataclasses.replace(
            params, conductivity_S_per_m=sigma | {phases.MEMBRANE_GATE: gate}
        )
        info["membrane_gate_conductivity_S_per_m"] = gate
    return phase, params, info


def measurement_electrodes(config, params: TransportParameters) -> TransportParameters:
    """``params`` with ``blocking`` as the run's electrodes are at the measurement.

    An electrode blocks Li+ at the measurement when the transport file says so
    (``params.blocking``) or when the run config's ``[electrodes]`` gives it kind
    ``"blocking"`` (stainless steel). Kinds ``"lithium"`` (Li metal) and
    ``"intercalation"`` (LiFePO4) are Li+-reversible at the measurement: the 40 degC
    impedance is taken in LiFePO4's 2.5-4.2 V operating window, where it exchanges Li+
    (the polymerization stage keeps it below its plateau, blocking, but that is the run,
    not the measurement); their charge transfer is the transport file's exchange current.
    A config without ``[electrodes]`` (``config.electrodes`` None, or a config from before
    the section existed) names no kinds: the transport file's flag alone decides.
    """
    electrodes = getattr(config, "electrodes", None)
    if electrodes is None:
        return params
    kinds = (electrodes.cathode.kind, electrodes.anode.kind)
    blocking = tuple(
        bool(flag) or kind == "blocking" for flag, kind in zip(params.blocking, kinds, strict=True)
    )
    return dataclasses.replace(params, blocking=blocking)


def _run_electrodes(path: str | Path, params: TransportParameters) -> TransportParameters:
    """:func:`measurement_electrodes` of the run file's stored config."""
    import kmc

    return measurement_electrodes(kmc.open(path).config, params)


def analyze_run(
    path: str | Path, params: TransportParameters, snapshot: int = -1
) -> tuple[MorphologyTransport, dict]:
    """Analyze one snapshot; returns (result, summary dict with snapshot index and time).

    With ``params.recrystallization`` the snapshot is first taken to the measurement
    state (:func:`measurement_state`); the summary then reports that state too.
    The electrodes' kinds come from the run's stored config
    (:func:`measurement_electrodes`): with a blocking electrode (stainless steel) the
    interfacial and total resistances have no DC value and are None; ``"lithium"`` and
    ``"intercalation"`` electrodes are reversible at the measurement.
    """
    phase, spacing, t, index = load_snapshot(path, snapshot)
    params = _run_electrodes(path, params)
    state = {}
    if params.recrystallization is not None:
        phase, params, state = measurement_state(path, phase, spacing, t, params)
    result = analyze_morphology(phase, spacing, params)
    summary = {"snapshot": index, "time_s": t} | result.as_dict() | state
    return result, summary


@contextlib.contextmanager
def _rewritten_group(path: str | Path, name: str, keep: tuple[str, ...] = ()):
    """Yield group ``name`` of a copy of the run file ``path``, empty but for its
    children named in ``keep``; the copy is fsynced and renamed over ``path`` when the
    block succeeds and removed when it fails, so the run file is never half-written.
    ReadOnlyRunFile when ``path`` is read-only."""
    path = Path(path)
    # no write bit for anyone is read-only by intent, even for root (whom access() lets in)
    if not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222:
        raise ReadOnlyRunFile(f"{path} is read-only")
    with io.atomic_path(path, ".analysis.tmp") as tmp:
        shutil.copyfile(path, tmp)
        with h5py.File(tmp, "r+") as f:
            kept = [c for c in keep if f"{name}/{c}" in f]
            for child in kept:
                f.move(f"{name}/{child}", f"_kept_{child}")
            if name in f:
                del f[name]
            group = f.create_group(name)
            for child in kept:
                f.move(f"_kept_{child}", f"{name}/{child}")
            yield group


def write_analysis(path: str | Path, result: MorphologyTransport, summary: dict) -> str:
    """Store the result in ``/analysis/snapshot_NNNN`` of the run file (atomically).

    The file is copied, the copy written and fsynced, then renamed over the original,
    so an interruption never leaves a half-written run file; a stored impedance spectrum
    of the snapshot stays. A result with no value (None: the DC resistances of a cell
    with a blocking electrode, which ``blocking_cathode``/``blocking_anode`` flag) is
    left out. Returns the group name.
    """
    name = f"analysis/snapshot_{summary['snapshot']:04d}"
    with _rewritten_group(path, name, keep=("impedance",)) as g:
        for k, v in summary.items():
            if v is None:
                continue
            if k == "warnings":
                g.attrs[k] = json.dumps(v)
            elif isinstance(v, bool):
                g.attrs[k] = np.bool_(v)
            else:
                g.attrs[k] = v
            if k in UNITS:
                g.attrs[k + "__unit"] = UNITS[k]
        p = result.params
        g.attrs["parameters_json"] = json.dumps(
            {
                "conductivity_S_per_m": {str(k): v for k, v in p.conductivity_S_per_m.items()},
                "exchange_current_A_per_m2": list(p.exchange_current_A_per_m2),
                "temperature_K": p.temperature_K,
                "membrane_thickness_m": p.membrane_thickness_m,
                "electrode_area_m2": p.electrode_area_m2,
                "probe_fractions": list(p.probe_fractions),
                "pt_doped": list(p.pt_doped),
                "blocking": list(p.blocking),
                "recrystallization": (
                    dataclasses.asdict(p.recrystallization)
                    if p.recrystallization is not None
                    else None
                ),
            }
        )
        for key, arr, unit in (
            ("current_density_z", result.total.current_density_z, "A/m^2"),
            ("potential", result.total.solution.potential, "V (1 V applied)"),
        ):
            ds = g.create_dataset(
                key, data=arr.astype(np.float32), compression="gzip", compression_opts=4
            )
            ds.attrs["unit"] = unit
    return name


def write_summary_json(path: str | Path, summaries: dict | list[dict]) -> None:
    """Write analysis summaries to a JSON file (atomically): ``kmc analyze --output``."""
    io.atomic_write_text(path, json.dumps(summaries, indent=1) + "\n")


class ReadOnlyRunFile(OSError):
    """The run file cannot take the analysis: it (or its directory) is not writable."""


TWIN_SECTIONS = {
    "lattice": set(), "boundaries": set(), "cathode": set(),
    "membrane": {"monomer_occupancy", "continuum_cells"}, "electrodes": set(),
}  # fmt: skip
"""Config sections (less the keys named) that a pristine run and its polymerized twin
share: one cell's geometry and its electrodes (their kinds decide blocking at the
measurement); the monomer loading is what tells them apart."""


def _twin_section(config, section: str):
    """``config``'s section as compared by ``twin_mismatches``: absent [electrodes] is
    its defaults (a blocking cathode, an ideal Li anode), so the two spellings are twins."""
    v = config.resolved_electrodes() if section == "electrodes" else getattr(config, section)
    return None if v is None else v.model_dump(exclude=TWIN_SECTIONS[section])


def twin_mismatches(pristine: str | Path, polymerized: str | Path) -> list[str]:
    """How two runs fail to be a pristine and a polymerized twin of one cell (empty: twins).

    Twins share the geometry and electrode sections of the config (``TWIN_SECTIONS``),
    the temperature and the electrodes' initial shape: their first snapshots have the
    same host phases (same cathode particles and membrane face, which the seed draws).
    """
    configs, first = [], []
    for path in (pristine, polymerized):
        with io.open_h5(path) as f:
            configs.append(parse_config(f["parameters"].attrs["config_toml"], str(path)))
            first.append(f["particles/lattice/phase/value"][0])
    a, b = configs
    out = []
    for section in TWIN_SECTIONS:
        va, vb = (_twin_section(c, section) for c in (a, b))
        if va != vb:
            out.append(f"[{section}] differs: {va} vs {vb}")
    if a.conditions.temperature_K != b.conditions.temperature_K:
        out.append(
            f"conditions.temperature_K differs: {a.conditions.temperature_K} vs "
            f"{b.conditions.temperature_K}"
        )
    if not out and not np.array_equal(first[0], first[1]):
        n = int((first[0] != first[1]).sum())
        out.append(
            f"the initial host phases differ at {n} sites (different seeds draw different "
            "cathode particles or crystalline domains)"
        )
    return out


def compare(pristine: dict, polymerized: dict) -> dict:
    """The key results of both runs (``<key>_pristine``, ``<key>_polymerized``, in the
    key's unit) and their ratios polymerized / pristine (``<key>_ratio``).

    A ratio of a quantity with no value in either run (None: the interfacial and total
    resistance of a cell with a blocking electrode) is None, and so is what follows from
    it (``interfacial_resistance_fold_reduction``).
    """
    out = {}
    for key in (
        "membrane_resistance_ohm",
        "interfacial_resistance_ohm",
        "total_resistance_ohm",
        "effective_conductivity_S_per_cm",
    ):
        a, b = pristine.get(key), polymerized.get(key)
        out[key + "_pristine"], out[key + "_polymerized"] = a, b
        if a is None or b is None:
            out[key + "_ratio"] = None
        else:
            out[key + "_ratio"] = b / a if a else float("nan")
    membrane = out["membrane_resistance_ohm_ratio"]
    out["membrane_resistance_reduction_percent"] = (
        None if membrane is None else 100 * (1 - membrane)
    )
    interfacial = out["interfacial_resistance_ohm_ratio"]
    if interfacial is None:
        out["interfacial_resistance_fold_reduction"] = None
    else:
        out["interfacial_resistance_fold_reduction"] = (
            1 / interfacial if interfacial else float("inf")
        )
    out["short_circuit"] = bool(pristine["short_circuit"] or polymerized["short_circuit"])
    return out


IMPEDANCE_COMPARISON = (
    ("fit R_b (series)", "fit_bulk_resistance_ohm", "fit_bulk_resistance_error_ohm"),
    ("fit R_i (arcs)", "fit_interfacial_resistance_ohm", "fit_interfacial_resistance_error_ohm"),
    ("DC membrane resistance", "dc_membrane_resistance_ohm", None),
    ("DC interfacial resistance", "dc_interfacial_resistance_ohm", None),
    ("DC total resistance", "dc_total_resistance_ohm", None),
)
"""(label, key, error key) of what `kmc impedance --compare` sets side by side."""


def impedance_comparison(pristine: dict, polymerized: dict) -> dict:
    """Fitted and DC resistances (ohm) of a pristine and a polymerized run's impedance
    summaries (as :func:`impedance_run` and the fit give them) and their ratios
    polymerized / pristine: ``{key: {pristine, polymerized, ratio, unit[, errors]}}``;
    a ratio is None where either value is (or the pristine one is 0)."""
    table = {}
    for _, key, err_key in IMPEDANCE_COMPARISON:
        a, b = pristine.get(key), polymerized.get(key)
        ratio = b / a if a and b is not None else None
        entry = {"pristine": a, "polymerized": b, "ratio": ratio, "unit": "ohm"}
        if err_key:
            entry |= {"pristine_error": pristine.get(err_key),
                      "polymerized_error": polymerized.get(err_key)}  # fmt: skip
        table[key] = entry
    return table


def impedance_run(
    path: str | Path, params: TransportParameters, snapshot: int, frequency_Hz: np.ndarray
) -> tuple[ImpedanceSpectrum, dict]:
    """Impedance spectrum of a snapshot in its measurement state (as `kmc analyze`
    builds it), with the DC estimator's numbers of the same state for comparison.

    In a windowed run the continuum membrane is added in series (R || C; see
    ``kmc.transport.impedance``); ``dc_total_resistance_ohm`` then includes it too, so
    that it is the spectrum's zero-frequency limit. The electrodes' kinds come from the
    run's stored config as in :func:`analyze_run` (``params.blocking`` adds to them);
    with a blocking electrode the spectrum has no zero-frequency limit and
    ``dc_total_resistance_ohm`` and ``dc_interfacial_resistance_ohm`` are None.
    """
    phase, spacing, t, index = load_snapshot(path, snapshot)
    params = _run_electrodes(path, params)
    if params.recrystallization is not None:
        phase, params, _ = measurement_state(path, phase, spacing, t, params)
    dc = analyze_morphology(phase, spacing, params)
    continuum = None
    dc_total = dc.box_resistance_ohm  # the spectrum's zero-frequency limit
    if dc.continuum_conductivity_S_per_m is not None:
        thickness = params.membrane_thickness_m - dc.pt_thickness_m
        continuum = (dc.membrane_resistance_ohm, thickness)
        if dc_total is not None:
            dc_total += dc.membrane_resistance_ohm
    spectrum = impedance(phase, spacing, params, frequency_Hz, continuum=continuum)
    summary = {
        "snapshot": index,
        "time_s": t,
        "dc_total_resistance_ohm": dc_total,
        "dc_interfacial_resistance_ohm": dc.interfacial_resistance_ohm,
        "dc_membrane_resistance_ohm": dc.membrane_resistance_ohm,
        "blocking_cathode": bool(params.blocking[0]),
        "blocking_anode": bool(params.blocking[1]),
    }
    return spectrum, summary


def write_impedance(path: str | Path, snapshot: int, spectrum: ImpedanceSpectrum, info: dict):
    """Store the spectrum in ``/analysis/snapshot_NNNN/impedance`` (atomically, as
    :func:`write_analysis`; entries with no value, None, are left out); returns the group
    name."""
    name = f"analysis/snapshot_{snapshot:04d}/impedance"
    with _rewritten_group(path, name) as g:
        for key, data, unit in (
            ("frequency", spectrum.frequency_Hz, "Hz"),
            ("Z_real", spectrum.real_ohm, "ohm"),
            ("Z_imag", spectrum.imag_ohm, "ohm"),
        ):
            g.create_dataset(key, data=data).attrs["unit"] = unit
        fitted = info.get("fit", {}).get("fitted_ohm")
        if fitted is not None:
            g.create_dataset("Z_fit_real", data=fitted.real).attrs["unit"] = "ohm"
            g.create_dataset("Z_fit_imag", data=fitted.imag).attrs["unit"] = "ohm"
        for k, v in info.items():
            if v is None:
                continue
            if isinstance(v, dict):
                v = json.dumps({a: b for a, b in v.items() if a != "fitted_ohm"})
            g.attrs[k] = v
    return name
