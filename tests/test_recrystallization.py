"""The recrystallization rule of the measurement state (kmc/transport/_recrystallization.py)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from kmc import phases
from kmc.config import ConfigError
from kmc.transport._params import load_transport_parameters
from kmc.transport._recrystallization import (
    GAS_CONSTANT_J_PER_MOL_K,
    Recrystallization,
    homogenized_conductivity,
    recrystallize,
)

T_MEAS = 313.15
RULE = Recrystallization(nucleation_constant_K2=2.0e5)


def test_melting_point_depression_is_flory_huggins_and_linear_for_a_dilute_diluent():
    """dTm = R Tm0^2 (Vu/V1) phi / dHu to first order in phi: at phi = 1e-3 the exact
    rule agrees to 0.1 % (second-order term ~ dTm/Tm0); chi < 0 depresses more."""
    phi = 1e-3
    linear = (
        GAS_CONSTANT_J_PER_MOL_K
        * RULE.melting_temperature_K**2
        * RULE.repeat_unit_volume_m3_per_mol
        / RULE.diluent_molar_volume_m3_per_mol
        * phi
        / RULE.heat_of_fusion_J_per_mol
    )
    depression = RULE.melting_temperature_K - RULE.melting_temperature(phi)
    assert depression == pytest.approx(linear, rel=1e-3)
    assert RULE.melting_temperature(0.0) == RULE.melting_temperature_K
    attractive = dataclasses.replace(RULE, flory_huggins_chi=-2.0)
    assert attractive.melting_temperature(0.05) < RULE.melting_temperature(0.05)


def test_half_time_follows_the_hoffman_lauritzen_growth_rate():
    """t_half(phi)/t_half0 = exp(K_g/T [1/(dT f) - 1/(dT0 f0)])/(1 - phi), to 1e-12."""
    phi = 0.017
    tm0, tm = RULE.melting_temperature_K, RULE.melting_temperature(phi)

    def barrier(melt):
        return RULE.nucleation_constant_K2 / (
            T_MEAS * (melt - T_MEAS) * 2 * T_MEAS / (melt + T_MEAS)
        )

    expected = RULE.half_time_s * math.exp(barrier(tm) - barrier(tm0)) / (1 - phi)
    assert RULE.half_time(T_MEAS, phi) == pytest.approx(expected, rel=1e-12)
    assert RULE.half_time(T_MEAS, 0.0) == RULE.half_time_s
    # a little diluent slows crystallization several-fold near Tm
    assert RULE.half_time(T_MEAS, phi) > 2 * RULE.half_time_s


def test_avrami_fraction_limits():
    """Half of X_eq after one half time; nothing without a hold or above the melting
    point; X_eq after a very long hold."""
    x_eq = RULE.equilibrium_fraction(T_MEAS, 0.0)
    assert x_eq == RULE.max_fraction  # 20 K below Tm, beyond the 10 K melting range
    half = dataclasses.replace(RULE, hold_time_s=RULE.half_time_s)
    assert half.fraction(T_MEAS, 0.0) == pytest.approx(0.5 * x_eq, rel=1e-12)
    assert dataclasses.replace(RULE, hold_time_s=0.0).fraction(T_MEAS, 0.0) == 0.0
    assert dataclasses.replace(RULE, hold_time_s=1e9).fraction(T_MEAS, 0.01) == pytest.approx(
        RULE.equilibrium_fraction(T_MEAS, 0.01), rel=1e-12
    )
    assert RULE.equilibrium_fraction(RULE.melting_temperature_K + 1, 0.0) == 0.0
    assert RULE.fraction(T_MEAS, 0.017) < RULE.fraction(T_MEAS, 0.0)
    with pytest.raises(ValueError, match="melting point"):
        RULE.half_time(340.0, 0.0)


def test_recrystallize_converts_only_amorphous_peo_to_the_target_fraction():
    """Target 0.3 of the PEO reached to within one domain (r = 2 sites: < 34 sites of
    1800 PEO sites, +0.02); PT, electrodes and the gate plane are untouched; domains
    already crystalline count toward the target."""
    phase = np.full((20, 12, 12), phases.AMORPHOUS_PEO, dtype=np.uint8)
    phase[0], phase[-1], phase[10] = phases.CATHODE, phases.ANODE, phases.MEMBRANE_GATE
    phase[1:3, :, :6] = phases.DEPOSIT_CATHODE
    phase[15, :, :] = phases.CRYSTALLINE_PEO
    out = recrystallize(phase, 0.3, 100e-9, 25e-9, np.random.default_rng(1))
    changed = out != phase
    assert (phase[changed] == phases.AMORPHOUS_PEO).all()
    assert (out[changed] == phases.CRYSTALLINE_PEO).all()
    peo = np.isin(phase, (phases.AMORPHOUS_PEO, phases.CRYSTALLINE_PEO))
    fraction = float((out[peo] == phases.CRYSTALLINE_PEO).mean())
    assert 0.3 <= fraction <= 0.32
    # the pre-existing layer alone is 144/1584 = 0.09 of the PEO: a lower target adds nothing
    same = recrystallize(phase, 0.05, 100e-9, 25e-9, np.random.default_rng(1))
    assert (same == phase).all()


def test_homogenized_conductivity_obeys_the_hashin_shtrikman_bound():
    """Poorly conducting spheres (contrast 1:100) at 5 %: the Maxwell-Garnett value is
    the Hashin-Shtrikman upper bound, which no isotropic microstructure exceeds; the
    voxelized spheres of radius 4 sites come within 3 % below it. Fraction 0 gives the
    amorphous conductivity exactly (1e-6)."""
    c, phi = 0.01, 0.05
    sigma = homogenized_conductivity(phi, 200e-9, 25e-9, 1.0, c, np.random.default_rng(2))
    upper = (2 * (1 - phi) + c * (1 + 2 * phi)) / ((2 + phi) + c * (1 - phi))
    assert upper * 0.97 <= sigma <= upper * (1 + 1e-3)
    empty = homogenized_conductivity(0.0, 200e-9, 25e-9, 1.0, c, np.random.default_rng(2))
    assert empty == pytest.approx(1.0, rel=1e-6)


def test_melting_point_not_above_the_measurement_temperature_is_a_named_error(tmp_path):
    text = (
        __import__("importlib.resources", fromlist=["files"])
        .files("kmc.data")
        .joinpath("transport_peo_40C.toml")
        .read_text()
    )
    bad = tmp_path / "t.toml"
    bad.write_text(text.replace("melting_temperature_K = 333.15", "melting_temperature_K = 300.0"))
    with pytest.raises(ConfigError, match="recrystallization.melting_temperature_K = 300.0"):
        load_transport_parameters(bad)
    assert load_transport_parameters().recrystallization is not None


@pytest.fixture(scope="module")
def chem_run(tmp_path_factory):
    """A short potentiostatic run with a membrane gate; PT forms at the cathode."""
    from chem import chem_text
    from helpers import kmc_cli

    d = tmp_path_factory.mktemp("recryst")
    cfg = d / "run.toml"
    cfg.write_text(chem_text(potential=1.0, duration=3.0, sample=0.5))
    out = d / "run.h5"
    res = kmc_cli("run", cfg, "-o", out, "--progress", "off")
    assert res.returncode == 0, res.stderr
    return out


def test_measurement_state_of_a_run(chem_run):
    """The diluent left is the loading times the units not precipitated as PT (exact
    conservation); the gate plane gets the homogenized semicrystalline conductivity;
    the probed conductivity is that plane's, and the membrane resistance is
    (L - h_PT)/(sigma A)."""
    import h5py

    from kmc.analysis import _analysis as analysis

    params = load_transport_parameters()
    rule = params.recrystallization
    with h5py.File(chem_run) as f:
        obs = f["observables"]
        initial = sum(
            float(np.sum(obs[n]["value"][0]))
            for n in ("reservoir_units", "monomer_count", "oligomer_units", "radical_count")
        )
        pt_final = float(obs["pt_units/value"][-1])
    assert pt_final > 0
    result, summary = analysis.analyze_run(chem_run, params)
    phi = rule.loading_volume_fraction * (1 - pt_final / initial)
    assert summary["diluent_volume_fraction"] == pytest.approx(phi, rel=1e-12)
    assert summary["melting_temperature_K"] == pytest.approx(rule.melting_temperature(phi))
    target = rule.fraction(params.temperature_K, phi)
    assert target <= summary["crystalline_fraction"] <= target + 0.05
    assert summary["crystalline_domain_diameter_m"] == rule.domain_diameter(
        params.temperature_K, phi
    )
    gate = summary["membrane_gate_conductivity_S_per_m"]
    assert summary["effective_conductivity_S_per_m"] == gate
    sigma = params.conductivity_S_per_m
    assert sigma[phases.CRYSTALLINE_PEO] < gate < sigma[phases.AMORPHOUS_PEO]
    h_pt = summary["pt_layer_thickness_m"]
    assert h_pt > 0
    assert summary["membrane_resistance_ohm"] == pytest.approx(
        (params.membrane_thickness_m - h_pt) / (gate * params.electrode_area_m2), rel=1e-12
    )
    # without the rule the snapshot is taken as it is: no crystalline PEO, amorphous gate
    plain = dataclasses.replace(params, recrystallization=None)
    _, bare = analysis.analyze_run(chem_run, plain)
    assert "crystalline_fraction" not in bare
    # the stored analysis records the rule's parameters beside the results
    import json

    group = analysis.write_analysis(chem_run, result, summary)
    with h5py.File(chem_run) as f:
        stored = json.loads(f[group].attrs["parameters_json"])["recrystallization"]
        assert stored == dataclasses.asdict(rule)
        assert f[group].attrs["crystalline_fraction"] == summary["crystalline_fraction"]
    assert bare["effective_conductivity_S_per_m"] == sigma[phases.MEMBRANE_GATE]


def test_domains_grow_with_the_hold_until_they_impinge():
    """d = d_half t_hold/t_half (constant growth rate) up to d_half ln2^(-1/3), where
    the JMAK Boolean model's spheres reach the nucleus spacing; a diluent-slowed
    membrane gets smaller domains."""
    short = dataclasses.replace(RULE, hold_time_s=0.5 * RULE.half_time_s)
    assert short.domain_diameter(T_MEAS, 0.0) == pytest.approx(0.5 * RULE.domain_diameter_m)
    long = dataclasses.replace(RULE, hold_time_s=10 * RULE.half_time_s)
    cap = RULE.domain_diameter_m * math.log(2) ** (-1 / 3)
    assert long.domain_diameter(T_MEAS, 0.0) == pytest.approx(cap, rel=1e-12)
    phi = 0.017
    expected = RULE.domain_diameter_m * RULE.hold_time_s / RULE.half_time(T_MEAS, phi)
    assert expected < cap
    assert RULE.domain_diameter(T_MEAS, phi) == pytest.approx(expected, rel=1e-12)


def test_the_membrane_continuum_is_homogenized_at_a_fixed_voxel(chem_run):
    """The continuum membrane's conductivity comes from representative volumes at
    HOMOGENIZATION_SPACING_M whatever the run's lattice spacing: it is not converged in
    that voxel (pristine: 2.86e-3 S/m at 25 nm, 3.35e-3 at 12.5 nm), so following the
    run's a made a 12.5 nm run's membrane ratio 11 % off the 25 nm one."""
    from kmc.analysis import _analysis as analysis

    params = load_transport_parameters()
    phase, spacing, t, _ = analysis.load_snapshot(chem_run)
    gates = {
        a: analysis.measurement_state(chem_run, phase, a, t, params)[2][
            "membrane_gate_conductivity_S_per_m"
        ]
        for a in (spacing, 12.5e-9, 50e-9)
    }
    assert len(set(gates.values())) == 1, gates
    assert analysis.HOMOGENIZATION_SPACING_M == 25e-9  # the calibration's voxel
