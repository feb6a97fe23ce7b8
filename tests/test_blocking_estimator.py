"""Blocking electrodes in the DC transport estimator: no DC interfacial or total
resistance, the bulk numbers unchanged; the run config's electrode kinds; compare()."""

import dataclasses
import json
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
from conftest import make_config_text
from helpers import kmc_cli

from kmc import phases
from kmc.analysis import _analysis as analysis
from kmc.transport import TransportParameters, analyze_morphology

# as tests/physics/test_transport_validation.py: exact discrete answers need the residual
# and the current balance tight
TIGHT = dict(rtol=1e-12, balance_tol=1e-9)
RT_F = 8.314462618 * 313.15 / 96485.33212
I0 = (0.5, 4.5)  # (cathode, anode) A/m^2


def _slab(nz=24, n=10):
    """Flat cathode plane | amorphous PEO | flat anode plane."""
    ph = np.full((nz, n, n), phases.AMORPHOUS_PEO, dtype=np.uint8)
    ph[0] = phases.CATHODE
    ph[-1] = phases.ANODE
    return ph


def _params(blocking=(False, False)):
    sigma = {phases.AMORPHOUS_PEO: 2.84e-3, phases.CATHODE: 1e4, phases.ANODE: 1e4}
    return TransportParameters(sigma, I0, 313.15, blocking=blocking)


@pytest.mark.parametrize("blocking", [(True, False), (False, True), (True, True)])
def test_blocking_electrode_has_no_dc_interfacial_resistance(blocking):
    """A blocking electrode: interfacial and total resistance None, a warning per blocking
    electrode; membrane resistance, conductivity and bulk resistance equal to the
    reversible cell's to 1e-9 relative: they come from the bulk solve (no charge-transfer
    term at either electrode), whose inputs the electrode kinds do not touch."""
    ph = _slab()
    reversible = analyze_morphology(ph, 1e-6, _params(), **TIGHT)
    res = analyze_morphology(ph, 1e-6, _params(blocking), **TIGHT)
    assert res.interfacial_resistance_ohm is None
    assert res.total_resistance_ohm is None
    for key in ("membrane_resistance_ohm", "effective_conductivity_S_per_m", "bulk_resistance_ohm"):
        assert getattr(res, key) == pytest.approx(getattr(reversible, key), rel=1e-9), key
    # and that value is the slab's: amorphous PEO between the probe planes (to the
    # solver's accuracy, measured 5e-9)
    assert res.effective_conductivity_S_per_m == pytest.approx(2.84e-3, rel=1e-6)
    d = res.as_dict()
    assert d["interfacial_resistance_ohm"] is None and d["total_resistance_ohm"] is None
    assert (d["blocking_cathode"], d["blocking_anode"]) == blocking
    json.dumps(d)  # JSON-ready: None is null
    for name, blocks in zip(("cathode", "anode"), blocking, strict=True):
        notes = [w for w in d["warnings"] if w.startswith(f"the {name} blocks Li+")]
        assert len(notes) == int(blocks), d["warnings"]
        if blocks:
            assert "no DC value" in notes[0] and "kmc impedance" in notes[0]


def test_reversible_slab_interfacial_resistance_is_both_faces_charge_transfer():
    """Both electrodes reversible: R_i A = R T / (F i0_c) + R T / (F i0_a), within
    +-0.5 % (the tolerance of tests/physics/test_transport_validation.py: the Robin term
    is in series with the half-voxel, so exact); no blocking note."""
    p = _params()
    res = analyze_morphology(_slab(), 1e-6, p, **TIGHT)
    exact = RT_F / I0[0] + RT_F / I0[1]
    assert res.interfacial_resistance_ohm * p.electrode_area_m2 == pytest.approx(exact, rel=5e-3)
    assert res.box_resistance_ohm == pytest.approx(
        res.bulk_resistance_ohm + res.interfacial_resistance_ohm, rel=1e-12
    )
    # the cell's total adds the parts the output lists
    assert res.total_resistance_ohm == pytest.approx(
        res.membrane_resistance_ohm + res.interfacial_resistance_ohm, rel=1e-12
    )
    d = res.as_dict()
    assert d["blocking_cathode"] is False and d["blocking_anode"] is False
    assert not any("blocks Li+" in w for w in d["warnings"])


def test_compare_with_no_dc_value_gives_none():
    ph = _slab()
    reversible = analyze_morphology(ph, 1e-6, _params(), **TIGHT).as_dict()
    blocking = analyze_morphology(ph, 1e-6, _params((True, False)), **TIGHT).as_dict()
    for a, b in ((reversible, blocking), (blocking, reversible), (blocking, blocking)):
        out = analysis.compare(a, b)
        assert out["interfacial_resistance_ohm_ratio"] is None
        assert out["total_resistance_ohm_ratio"] is None
        assert out["interfacial_resistance_fold_reduction"] is None
        assert out["membrane_resistance_ohm_ratio"] == pytest.approx(1.0, rel=1e-9)
        assert out["membrane_resistance_reduction_percent"] == pytest.approx(0.0, abs=1e-6)
        # both values beside the ratio (None where a run has none)
        assert out["membrane_resistance_ohm_pristine"] == a["membrane_resistance_ohm"]
        assert out["membrane_resistance_ohm_polymerized"] == b["membrane_resistance_ohm"]
        assert out["interfacial_resistance_ohm_polymerized"] == b["interfacial_resistance_ohm"]
        json.dumps(out)
    both = analysis.compare(reversible, reversible)
    assert both["interfacial_resistance_fold_reduction"] == pytest.approx(1.0)


def _electrodes(cathode, anode):
    return SimpleNamespace(
        electrodes=SimpleNamespace(
            cathode=SimpleNamespace(kind=cathode), anode=SimpleNamespace(kind=anode)
        )
    )


@pytest.mark.parametrize(
    ("config", "flag", "expected"),
    [
        (SimpleNamespace(), (False, False), (False, False)),  # a config before [electrodes]
        (SimpleNamespace(electrodes=None), (True, False), (True, False)),
        (_electrodes("blocking", "lithium"), (False, False), (True, False)),
        (_electrodes("intercalation", "lithium"), (False, False), (False, False)),
        (_electrodes("intercalation", "lithium"), (False, True), (False, True)),
    ],
)
def test_blocking_is_the_file_flag_or_the_config_kind(config, flag, expected):
    params = dataclasses.replace(_params(), blocking=flag)
    assert analysis.measurement_electrodes(config, params).blocking == expected


@pytest.fixture(scope="module")
def ss_run(tmp_path_factory):
    """A small run whose config names a blocking (stainless-steel) cathode."""
    d = tmp_path_factory.mktemp("blocking")
    text = make_config_text(shape="[10, 10, 16]", top="anode", duration=0.5, sample=0.25)
    text = text.replace("reservoir_occupancy = 0.1", "")
    text += '\n[electrodes]\ncathode = { kind = "blocking" }\nanode = { kind = "lithium" }\n'
    cfg = d / "ss.toml"
    cfg.write_text(text)
    out = d / "ss.h5"
    res = kmc_cli("run", cfg, "-o", out, "--progress", "off")
    assert res.returncode == 0, res.stderr
    return out


def _analyze(*args):
    """`kmc analyze ARGS` in this process (one import, one JIT for the three calls)."""
    from click.testing import CliRunner

    from kmc.cli import main

    res = CliRunner().invoke(main, ["analyze", *map(str, args)])
    assert res.exit_code == 0, res.output
    return res.stdout


def test_kmc_analyze_takes_the_blocking_cathode_from_the_run_config(ss_run):
    out = json.loads(_analyze(ss_run, "--json", "--as-simulated"))
    assert out["interfacial_resistance_ohm"] is None and out["total_resistance_ohm"] is None
    assert out["blocking_cathode"] is True and out["blocking_anode"] is False
    assert out["membrane_resistance_ohm"] > 0
    with h5py.File(ss_run) as f:  # stored without the quantities that have no value
        g = f[f"analysis/snapshot_{out['snapshot']:04d}"]
        assert "interfacial_resistance_ohm" not in g.attrs
        assert bool(g.attrs["blocking_cathode"])
        assert json.loads(g.attrs["parameters_json"])["blocking"] == [True, False]
    table = _analyze(ss_run, "--no-store", "--as-simulated")
    line = next(x for x in table.splitlines() if x.startswith("interfacial_resistance"))
    assert "no DC value (blocking electrode: see kmc impedance)" in line
    cmp = _analyze("--compare", ss_run, ss_run, "--as-simulated")
    line = next(x for x in cmp.splitlines() if x.startswith("interfacial_resistance_fold"))
    assert "no DC value" in line

    import matplotlib

    matplotlib.use("Agg")
    import kmc
    from kmc.plot import nyquist

    ax = nyquist(kmc.open(ss_run))  # no spectrum stored: the cartoon fallback, not drawn
    assert "no DC R_i" in ax.get_title()
    assert all(len(line.get_xdata()) == 0 for line in ax.get_lines())
    assert any("no DC R_i" in t.get_text() for t in ax.get_legend().get_texts())


def test_impedance_run_of_a_blocking_cell_has_no_dc_resistance(ss_run):
    import kmc
    from kmc.transport._params import load_transport_parameters

    params = dataclasses.replace(load_transport_parameters(), recrystallization=None)
    spectrum, info = analysis.impedance_run(ss_run, params, -1, np.logspace(0, 4, 3))
    assert info["blocking_cathode"] is True and info["blocking_anode"] is False
    assert info["dc_total_resistance_ohm"] is None
    assert info["dc_interfacial_resistance_ohm"] is None
    assert info["dc_membrane_resistance_ohm"] > 0
    # blocking: capacitive at low frequency, -Z'' grows as f falls
    assert -spectrum.imag_ohm[0] > -spectrum.imag_ohm[-1]
    analysis.write_impedance(ss_run, info["snapshot"], spectrum, info)
    _, stored = kmc.open(ss_run).impedance(-1)
    assert "dc_total_resistance_ohm" not in stored and stored["blocking_cathode"]


def test_windowed_cell_reports_no_tortuosity_and_a_total_of_its_parts():
    """Two windows joined by the membrane-gate plane: the probed conductivity is the
    continuum's, so no tortuosity (None, and `kmc analyze` says why); the total is the
    membrane plus the interfaces, the box resistance the window's own."""
    from kmc.transport._morphology import TORTUOSITY_WINDOWED

    ph = np.full((20, 4, 4), phases.AMORPHOUS_PEO, dtype=np.uint8)
    ph[0], ph[-1], ph[10] = phases.CATHODE, phases.ANODE, phases.MEMBRANE_GATE
    params = _params()
    params.conductivity_S_per_m[phases.MEMBRANE_GATE] = 2.84e-3
    res = analyze_morphology(ph, 1e-6, params, **TIGHT)
    assert res.continuum_conductivity_S_per_m is not None and res.tortuosity is None
    assert res.as_dict()["tortuosity"] is None and "windowed run" in TORTUOSITY_WINDOWED
    assert res.total_resistance_ohm == pytest.approx(
        res.membrane_resistance_ohm + res.interfacial_resistance_ohm, rel=1e-12
    )
    flat = analyze_morphology(np.where(ph == phases.MEMBRANE_GATE, phases.AMORPHOUS_PEO, ph),
                              1e-6, _params(), **TIGHT)  # fmt: skip
    assert flat.tortuosity == pytest.approx(1.0, rel=1e-3)  # a straight, uniform electrolyte
