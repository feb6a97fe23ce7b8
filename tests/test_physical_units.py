"""Chemistry in physical units (issue: physical parameters, not per-site rates): the
per-site rates and the packet derived for the spacing, the shipped paper configs (in
physical form since 2026-12-08) against the per-site numbers they were written in
before, the literature-round physical SS chemistry against them at 25 nm, what a change
of spacing does in each form, and the named errors of mixed or impossible input."""

import json
import re
import shutil
import signal
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import assert_same_datasets, interrupt_run, kmc_cli

from kmc import configs as _configs_pkg
from kmc.config import ConfigError, parse_config
from kmc.config._physical import same_simulation
from kmc.simulation import Model

N_A = 6.02214076e23
CONFIGS = Path(_configs_pkg.__file__).parent
PAPER = sorted(p.name for p in CONFIGS.glob("zheng2021_*.toml"))

# the shipped paper configs' physical values -> the per-site numbers the configs held
# until 2026-12-08, with which every recorded result was run
PER_SITE_LINES = {
    r"coupling_rate_constant_L_per_mol_s = 9\.4095949375e7": "coupling_rate_per_s = 1.0e4",
    r"sticking_rate_constant_m_per_s = 4\.0e-5 .*": "sticking_rate_per_s = 1.6e3",
    r"monomer_concentration_mol_per_m3 = 143\.896": "electrons_per_oxidation = 67700",
    r"monomer_concentration_mol_per_m3 = 0\.0 .*": "",
    r"molecules_per_unit = 67700 .*": "electrons_per_oxidation = 67700",
    r"rate_constant_m_per_s = 2\.5e-8 .*": "rate_per_s = 1.0  # per touching unit (1/s)",
}


def per_site_twin(text: str) -> str:
    """A shipped paper config written back in the per-site form (pristine: no monomer)."""
    for pattern, repl in PER_SITE_LINES.items():
        text = re.sub(r"(?m)^" + pattern + r"$", repl, text)
    occupancy = "0.0" if "electrons_per_oxidation = 67700\n" in text and (
        "initial_occupancy = 0.02" not in text) else "0.02"  # fmt: skip
    return re.sub(r"(?m)^(gate_z = .*)$", rf"\1\nmonomer_occupancy = {occupancy}", text, count=1)


SS = per_site_twin((CONFIGS / "zheng2021_ss_galvanostatic.toml").read_text())

# the SS chemistry in physical form with the literature's round values
PHYSICAL_LINES = {
    r"coupling_rate_per_s = .*": "coupling_rate_constant_L_per_mol_s = 1.0e8",
    r"sticking_rate_per_s = .*": "sticking_rate_constant_m_per_s = 4.0e-5",
    r"electrons_per_oxidation = .*": (
        "monomer_weight_fraction = 0.02\nhost_density_kg_per_m3 = 1200.0\n"
        "monomer_molar_mass_kg_per_mol = 0.16626"
    ),
    r"rate_per_s = 1\.0 .*": "rate_constant_m_per_s = 2.5e-8",
    r"monomer_occupancy = .*": "",
}


def physical_ss(spacing_m=25e-9, shape=None, packet="initial_occupancy = 0.02"):
    text = SS
    for pattern, repl in PHYSICAL_LINES.items():
        text = re.sub(r"(?m)^" + pattern + r"$", repl, text)
    text = re.sub(r"(?m)^initial_occupancy = .*$", packet, text)
    text = re.sub(r"(?m)^spacing_m = .*$", f"spacing_m = {spacing_m!r}", text)
    if shape is not None:
        text = re.sub(r"(?m)^shape = .*$", f"shape = {list(shape)}", text)
    return text


@pytest.mark.parametrize("name", PAPER)
def test_shipped_paper_configs_derive_their_former_per_site_numbers_exactly(name):
    """The paper configs give their chemistry in physical units; at 25 nm they derive
    exactly (bit for bit, decimal derivation) the per-site numbers they held before:
    coupling 1.0e4 1/s, sticking 1600 1/s, k = 1 1/s, a packet of 67 700 molecules,
    0.02 units per site (0 in the pristine twins). The validated configs are then equal
    field by field and the engine's model arrays identical: every recorded result
    stands, which the serial engine's pinned digests check too."""
    text = (CONFIGS / name).read_text()
    assert "coupling_rate_per_s" not in text and "electrons_per_oxidation" not in text
    shipped, twin = parse_config(text), parse_config(per_site_twin(text))
    ch = shipped.chemistry
    assert (ch.coupling_rate_per_s, ch.sticking_rate_per_s) == (1.0e4, 1600.0)
    assert ch.electrons_per_oxidation == 67700
    assert {r.rate_per_s for sp in shipped.species for r in sp.reactions} == {1.0}
    loading = 0.0 if name.endswith("_pristine.toml") else 0.02
    assert shipped.membrane.monomer_occupancy == shipped.species[0].initial_occupancy == loading

    assert same_simulation(shipped, twin)
    m_s, m_t = Model.from_config(shipped), Model.from_config(twin)
    for field, value in vars(m_s).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, getattr(m_t, field), err_msg=field)


def test_a_run_started_in_per_site_form_resumes_under_its_physical_twin(tmp_path):
    """A run of the per-site SS config interrupted before the conversion resumes under
    the shipped physical config and ends identical to an uninterrupted run; a config
    whose chemistry differs is refused, and so is a run whose stored per-site rates
    differ in the last digit from those this version derives."""
    cut = "\n[run]\nduration_s = 15.0\nsample_interval_s = 5.0\ncheckpoint_interval_wall_s = 0.1\n"
    ship = (CONFIGS / "zheng2021_ss_galvanostatic.toml").read_text().split("\n[run]")[0]
    old, new = tmp_path / "per_site.toml", tmp_path / "physical.toml"
    old.write_text(per_site_twin(ship) + cut)
    new.write_text(ship + cut)
    ref = tmp_path / "reference.h5"
    assert kmc_cli("run", new, "-o", ref, "--progress", "off").returncode == 0
    out = tmp_path / "resumed.h5"
    interrupt_run(old, out, signal.SIGINT, 0.3)
    assert not out.exists(), "the run finished before it was interrupted; lengthen it"
    # a run whose stored lattice numbers differ in the last digit from what this kmc
    # derives (a physical-form run started before the derivation was decimal) is refused
    part = Path(str(out) + ".partial")
    older = tmp_path / "older.h5"
    shutil.copytree(part, Path(str(older) + ".partial"))
    meta_path = Path(str(older) + ".partial") / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["resolved"]["chem_rate_per_s_coupling_per_partner_sticking_decay"][1] = 4e-5 / 25e-9
    meta_path.write_text(json.dumps(meta))
    res = kmc_cli("run", new, "-o", older, "--resume", "--progress", "off")
    assert res.returncode == 2 and "derives other lattice numbers" in res.stderr, res.stderr
    assert "chem_rate_per_s_coupling_per_partner_sticking_decay" in res.stderr
    other = tmp_path / "other.toml"
    other.write_text(new.read_text().replace("9.4095949375e7", "1.0e8"))
    res = kmc_cli("run", other, "-o", out, "--resume", "--progress", "off")
    assert res.returncode == 2 and "started with a different config" in res.stderr
    res = kmc_cli("run", new, "-o", out, "--resume", "--progress", "off")
    assert res.returncode == 0, res.stderr
    # the same run: only the config text differs (the resumed file keeps the one it
    # was started with)
    assert_same_datasets(ref, out, except_parameters=("config_toml",))
    with h5py.File(out) as f:
        assert "electrons_per_oxidation = 67700" in f["parameters"].attrs["config_toml"]


def test_binary_floating_point_would_miss_the_per_site_number_by_an_ulp():
    """Why the derivation is decimal: 4e-5 / 25e-9 is 1600.0000000000002 in binary."""
    assert 4.0e-5 / 25e-9 != 1600.0
    cfg = parse_config(SS.replace("sticking_rate_per_s = 1.6e3",
                                  "sticking_rate_constant_m_per_s = 4.0e-5"))  # fmt: skip
    assert cfg.chemistry.sticking_rate_per_s == 1600.0


def test_physical_ss_config_derives_the_shipped_per_site_rates_at_25_nm():
    """Regression at a = 25 nm: k0 = 2.5e-8 m/s is k = 1 1/s (exact to rounding);
    k_s = D/a = 4e-5 m/s is 1600 1/s; the coupling k_bi = 1e8 L/(mol s) is
    1e8/(1000 N_A a^3) = 1.0627e4 1/s, which the shipped 1.0e4 rounds (-5.9 %); 2 wt% BT
    in a host of 1200 kg/m^3 (M = 166.26 g/mol) is 144.35 mol/m^3, so at 0.02 units per
    site a packet of 67915 molecules, the shipped 67700 to 0.3 %."""
    phys = parse_config(physical_ss())
    ship = parse_config(SS)
    a = 25e-9
    for sp_p, sp_s in zip(phys.species, ship.species, strict=True):
        for r_p, r_s in zip(sp_p.reactions, sp_s.reactions, strict=True):
            assert r_p.rate_per_s == pytest.approx(r_s.rate_per_s, rel=1e-12)
    ch_p, ch_s = phys.chemistry, ship.chemistry
    assert ch_p.sticking_rate_per_s == pytest.approx(ch_s.sticking_rate_per_s, rel=1e-12)
    assert ch_p.coupling_rate_per_s == pytest.approx(1e8 / (1000 * N_A * a**3), rel=1e-12)
    assert ch_p.coupling_rate_per_s == pytest.approx(ch_s.coupling_rate_per_s, rel=0.07)
    c = 0.02 * 1200.0 / 0.16626
    assert ch_p.electrons_per_oxidation == round(c * N_A * a**3 / 0.02) == 67915
    assert ch_p.electrons_per_oxidation == pytest.approx(ch_s.electrons_per_oxidation, rel=0.004)
    assert phys.membrane.monomer_occupancy == 0.02  # the windows' loading, derived
    m_p, m_s = Model.from_config(phys), Model.from_config(ship)
    np.testing.assert_allclose(m_p.damkohler, m_s.damkohler, rtol=1e-12)
    np.testing.assert_array_equal(m_p.hop_base_rate_per_s, m_s.hop_base_rate_per_s)


def test_per_site_numbers_written_out_give_the_same_model():
    """The derivation enters the model only through the per-site fields: the per-site
    config with the derived numbers written out gives the same model arrays, exactly."""
    phys = parse_config(physical_ss())
    ch, r = phys.chemistry, phys.species[0].reactions[0]
    written = {
        "coupling_rate_per_s": repr(ch.coupling_rate_per_s),
        "sticking_rate_per_s": repr(ch.sticking_rate_per_s),
        "electrons_per_oxidation": str(ch.electrons_per_oxidation),
        r"rate_per_s(?= = 1\.0 )": repr(r.rate_per_s),
    }
    text = SS
    for key, value in written.items():
        name = key.split("(")[0]
        text = re.sub(rf"(?m)^{key} = .*$", f"{name} = {value}", text)
    m_p, m_s = Model.from_config(phys), Model.from_config(parse_config(text))
    for name in ("reaction_rate_per_s", "hop_base_rate_per_s", "damkohler", "chem_rate_per_s"):
        np.testing.assert_array_equal(getattr(m_p, name), getattr(m_s, name), err_msg=name)
    assert m_p.doping_electrons_per_unit == m_s.doping_electrons_per_unit


def test_twice_the_spacing_rederives_the_chemistry():
    """At a = 50 nm over the same box (12 x 12 x 18 sites), physical input keeps the
    chemistry: k = k0/a halves, the coupling k_bi/(1000 N_A a^3) drops 8x, sticking
    halves, hops D/a^2 drop 4x, so Da = k a^2/D = k0 a/D doubles (it is a per-site
    number); the packet at a fixed molecules_per_unit keeps the concentration: the
    occupancy grows 8x. The per-site form instead keeps k and so makes Da 4x (not 2x)."""
    fine = parse_config(
        physical_ss(packet="", shape=[24, 24, 36]).replace(
            "precipitation_length", "molecules_per_unit = 67915\nprecipitation_length"
        )
    )
    coarse = parse_config(physical_ss(50e-9, [12, 12, 18], packet="").replace(
        "precipitation_length", "molecules_per_unit = 67915\nprecipitation_length").replace(
        "gate_z = 17", "gate_z = 8"))  # fmt: skip
    r_f, r_c = fine.species[0].reactions[0], coarse.species[0].reactions[0]
    assert r_c.rate_per_s == pytest.approx(r_f.rate_per_s / 2, rel=1e-12)
    assert coarse.chemistry.coupling_rate_per_s == pytest.approx(
        fine.chemistry.coupling_rate_per_s / 8, rel=1e-12
    )
    assert coarse.chemistry.sticking_rate_per_s == pytest.approx(
        fine.chemistry.sticking_rate_per_s / 2, rel=1e-12
    )
    da_f = Model.from_config(fine).damkohler[0, 0]
    da_c = Model.from_config(coarse).damkohler[0, 0]
    assert da_c == pytest.approx(2 * da_f, rel=1e-12)
    assert coarse.species[0].initial_occupancy == pytest.approx(
        8 * fine.species[0].initial_occupancy, rel=1e-12
    )
    assert coarse.membrane.monomer_occupancy == coarse.species[0].initial_occupancy
    per_site = parse_config(SS.replace("spacing_m = 25e-9", "spacing_m = 50e-9"))
    assert Model.from_config(per_site).damkohler[0, 0] == pytest.approx(4 / 1600, rel=1e-12)


def test_config_show_says_which_form_each_quantity_was_given_in(tmp_path):
    path = tmp_path / "physical.toml"
    path.write_text(physical_ss())
    res = kmc_cli("config", "show", path)
    assert res.returncode == 0, res.stderr
    assert "(given physical)" in res.stdout
    assert "loading physical, coupling physical, sticking physical" in res.stdout
    assert "packet 67915 molecules per unit" in res.stdout
    shipped = kmc_cli("config", "show", "zheng2021_ss_galvanostatic").stdout
    assert "loading physical, coupling physical, sticking physical" in shipped
    assert "packet 67700 molecules per unit" in shipped
    per_site = tmp_path / "per_site.toml"
    per_site.write_text(SS)
    assert "(given per site)" in kmc_cli("config", "show", per_site).stdout


PACKET = "precipitation_length"  # a line to put a packet key before
NO_OCC = ("initial_occupancy = 0.02", "")
BAD_INPUT = [
    # (replacements applied to the physical SS text, the message's words)
    ([("rate_constant_m_per_s = 2.5e-8", "rate_constant_m_per_s = 2.5e-8\nrate_per_s = 1.0")],
     "species[0].reactions[0].rate_constant_m_per_s and species[0].reactions[0].rate_per_s "
     "are the same quantity"),
    ([("coupling_rate_constant_L_per_mol_s = 1.0e8",
       "coupling_rate_constant_L_per_mol_s = 1.0e8\ncoupling_rate_per_s = 1e4")],
     "chemistry.coupling_rate_constant_L_per_mol_s and chemistry.coupling_rate_per_s"),
    ([("coupling_rate_constant_L_per_mol_s = 1.0e8", "")], "chemistry: needs the coupling rate"),
    ([("rate_constant_m_per_s = 2.5e-8", "")], "species[0].reactions[0]: needs its rate"),
    ([("host_density_kg_per_m3 = 1200.0", "")],
     "a loading by weight needs all of monomer_weight_fraction, host_density_kg_per_m3, "
     "monomer_molar_mass_kg_per_mol (missing: host_density_kg_per_m3)"),
    ([("monomer_weight_fraction = 0.02",
       "monomer_weight_fraction = 0.02\nmonomer_concentration_mol_per_m3 = 100.0")],
     "both give the loading"),
    ([("continuum_cells = 100", "continuum_cells = 100\nmonomer_occupancy = 0.02")],
     "membrane.monomer_occupancy is set by the physical loading"),
    ([(PACKET, "molecules_per_unit = 1000\n" + PACKET)],
     "chemistry.molecules_per_unit and species[0].initial_occupancy both set the packet"),
    ([NO_OCC, (PACKET, "molecules_per_unit = 100\n" + PACKET)],
     "chemistry.molecules_per_unit = 100 at 144.4 mol/m^3 and a = 2.5e-08 m puts 13.6 units "
     "on a site; a site holds one: at least 1359 molecules per unit"),
    ([NO_OCC], "a loading in physical form needs its packet"),
    ([("monomer_weight_fraction = 0.02\nhost_density_kg_per_m3 = 1200.0\n"
       "monomer_molar_mass_kg_per_mol = 0.16626", "monomer_concentration_mol_per_m3 = 0.0")],
     "cannot set the packet of a zero loading (a pristine cell): give "
     "chemistry.molecules_per_unit instead"),
    ([NO_OCC, (PACKET, "molecules_per_unit = 100000000\n" + PACKET)],
     "less than one; use a smaller packet"),
]  # fmt: skip


@pytest.mark.parametrize("edits, message", BAD_INPUT)
def test_mixed_or_impossible_physical_input_is_a_named_error(edits, message):
    text = physical_ss()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    assert message in str(exc.value)


def test_membrane_occupancy_is_still_required_in_the_per_site_form():
    with pytest.raises(ConfigError, match="membrane.monomer_occupancy: required"):
        parse_config(re.sub(r"(?m)^monomer_occupancy = .*$", "", SS))


def test_a_spacing_that_does_not_resolve_the_cathode_particles_is_refused():
    """The LiFePO4 particles of 50-200 nm need a <= 25 nm (d_min >= 2a)."""
    lfp = (Path(_configs_pkg.__file__).parent / "zheng2021_lfp_galvanostatic.toml").read_text()
    parse_config(lfp)  # 50 nm at 25 nm: resolved
    with pytest.raises(ConfigError) as exc:
        parse_config(lfp.replace("spacing_m = 25e-9", "spacing_m = 30e-9"))
    assert (
        "cathode.particle_diameter_min_m = 5e-08 is below two lattice spacings "
        "(2 x lattice.spacing_m = 6e-08 m)" in str(exc.value)
    )
