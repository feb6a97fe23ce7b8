"""Figures render headless with units; XDMF sidecar is valid; bad input is named."""

import xml.etree.ElementTree as ET

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import make_config_text
from helpers import kmc_cli  # noqa: E402

import kmc  # noqa: E402
from kmc import plot as kplot  # noqa: E402

KINDS = ["cross-section", "top-view", "height-map", "profile", "timeseries", "montage",
         "current-map", "nyquist"]  # fmt: skip


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("plot")
    cfg = d / "run.toml"
    text = make_config_text(shape="[16, 12, 24]", top="anode", duration=4.0, sample=0.5, snap=2)
    text = text.replace("reservoir_occupancy = 0.1", "").replace(
        "occupancy = 0.1", "occupancy = 0.3"
    )
    cfg.write_text(text)
    out = d / "run.h5"
    assert kmc_cli("run", cfg, "-o", out, "--progress", "off").returncode == 0
    assert kmc_cli("analyze", out).returncode == 0
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_a_non_blank_png(run_file, tmp_path, kind):
    out = tmp_path / f"{kind}.png"
    res = kmc_cli("plot", run_file, kind, "-o", out)
    assert res.returncode == 0, res.stderr
    img = mpimg.imread(out)
    assert img.ndim == 3 and img[..., :3].std() > 0.02  # not blank


@pytest.mark.parametrize("kind", ["cross-section", "top-view", "height-map", "profile",
                                  "current-map"])  # fmt: skip
def test_axes_carry_units(run_file, kind):
    run = kmc.open(run_file)
    fn = kplot.KINDS[kind]
    ax = fn(run)
    for label in (ax.get_xlabel(), ax.get_ylabel()):
        assert "(" in label and label.endswith(")"), label
    plt.close(ax.figure)
    axes = kplot.timeseries(run)
    assert axes[-1].get_xlabel() == "simulated time (s)"
    assert all("(" in a.get_ylabel() for a in axes)
    plt.close(axes[0].figure)


def test_pdf_and_svg(run_file, tmp_path):
    pdf, svg = tmp_path / "x.pdf", tmp_path / "x.svg"
    assert kmc_cli("plot", run_file, "cross-section", "-o", pdf).returncode == 0
    assert kmc_cli("plot", run_file, "profile", "-o", svg).returncode == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert ET.parse(svg).getroot().tag.endswith("svg")


def test_xdmf_sidecar_names_existing_datasets(run_file, tmp_path):
    xdmf = run_file.with_suffix(".xdmf")
    assert xdmf.exists()  # written with the run
    other = tmp_path / "elsewhere" / "view.xdmf"
    other.parent.mkdir()
    assert kmc_cli("export", "xdmf", run_file, "-o", other).returncode == 0
    for path in (xdmf, other):
        root = ET.parse(path).getroot()
        items = [d for d in root.iter("DataItem") if d.get("Format") == "HDF"]
        assert items
        with h5py.File(run_file) as f:
            n_frames = f["particles/lattice/phase/value"].shape[0]
            grids = [g for g in root.iter("Grid") if g.get("GridType") == "Uniform"]
            assert len(grids) == n_frames
            times = [float(g.find("Time").get("Value")) for g in grids]  # plain numbers
            np.testing.assert_array_equal(times, f["particles/lattice/phase/time"][()])
            for d in items:
                file_part, dataset = d.text.strip().split(":")
                assert (path.parent / file_part).resolve() == run_file.resolve()
                ds = f[dataset]
                assert tuple(int(v) for v in d.get("Dimensions").split()) == ds.shape
                assert d.get("NumberType") == "UChar" and ds.dtype == np.uint8


def test_bad_input_is_named(run_file, tmp_path):
    res = kmc_cli("plot", run_file, "sideways", "-o", tmp_path / "x.png")
    assert res.returncode == 2 and "sideways" in res.stderr
    res = kmc_cli("plot", run_file, "cross-section", "--snapshot", "99", "-o", tmp_path / "x.png")
    assert res.returncode == 2 and "snapshot 99 out of range" in res.stderr
    res = kmc_cli("plot", run_file, "current-map", "--snapshot", "0", "-o", tmp_path / "x.png")
    assert res.returncode == 2 and "kmc analyze" in res.stderr
    res = kmc_cli("plot", run_file, "cross-section", "--species", "ghost", "-o", tmp_path / "x.png")
    assert res.returncode == 2 and "unknown species 'ghost'" in res.stderr
    res = kmc_cli("plot", run_file, "profile", "-o", tmp_path / "x.jpg")
    assert res.returncode == 2 and ".png, .pdf or .svg" in res.stderr
    assert "Traceback" not in res.stderr


def test_timeseries_against_cycle_shows_each_cycle_end(run_file, tmp_path):
    """Galvanostatic cycling (3 capacitive cycles): one point per completed cycle, the
    value of the first sample whose cycle count has reached n; a run without a
    protocol is refused with a message."""
    from chem import chem_text

    cfg = tmp_path / "galv.toml"
    cfg.write_text(chem_text(protocol="galvanostatic", current=2e-5, k0=1e-6, cycles=3,
                             duration=50.0))  # fmt: skip
    out = tmp_path / "galv.h5"
    res = kmc_cli("run", cfg, "-o", out, "--progress", "off")
    assert res.returncode == 0, res.stderr
    run = kmc.open(out)
    completed = run.series("cycles").values
    assert completed.max() == 3
    ends = [next(i for i, c in enumerate(completed) if c >= n) for n in (1, 2, 3)]
    axes = kplot.timeseries(run, against="cycle")
    assert axes[-1].get_xlabel().startswith("cycle number")
    (charge_ax,) = [a for a in axes if a.get_ylabel().startswith("charge through the")]
    assert "simulated 400 × 400 nm face (C)" in charge_ax.get_ylabel()  # 16 x 25 nm
    (line,) = charge_ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(line.get_ydata(), run.series("charge").values[ends])
    plt.close(axes[0].figure)

    # Against time: a 1.4 s cycle (C_dl A x 0.7 V x 2 / I) sampled every 0.2 s is 7
    # samples per cycle, below the 8 that resolve it: the potentials are dots, not a line
    # through aliased samples, and the panel says so; the window is drawn dashed.
    axes = kplot.timeseries(run)
    assert axes[-1].get_xlabel().startswith("protocol time (s)")
    panels = {a.get_ylabel().split(" (")[0]: a for a in axes}
    pot = panels["potential"]
    dots = [ln for ln in pot.get_lines() if ln.get_marker() == "."]
    assert len(dots) == 1 and dots[0].get_linestyle() == "None"
    window = [ln for ln in pot.get_lines() if ln.get_linestyle() == "--" and len(ln.get_ydata())]
    assert sorted(round(ln.get_ydata()[0], 9) for ln in window) == [0.5, 1.2]
    # 7 and up to one sample more: a cycle's end is counted at the sample after it
    (note,) = [t.get_text() for t in pot.texts]
    assert "samples per cycle: cycles not resolved" in note and 7 <= float(note.split()[0]) < 8
    assert any("current density" in k and "anodic > 0" in k for k in panels)
    plt.close(axes[0].figure)

    png = tmp_path / "cycles.png"
    res = kmc_cli("plot", out, "timeseries", "--against", "cycle", "-o", png)
    assert res.returncode == 0, res.stderr
    assert mpimg.imread(png)[..., :3].std() > 0.02
    res = kmc_cli("plot", run_file, "timeseries", "--against", "cycle", "-o", png)
    assert res.returncode == 2 and "no electrochemical protocol" in res.stderr


def test_legends_list_only_what_the_image_holds(run_file):
    """The cross-section key lists the phases and species of its slice, no others; the
    montage has one key (on its last panel) for all its panels; times on the titles are
    on the figures' convention (simulated time for a run without a protocol)."""
    import dataclasses

    from kmc.plot._morphology import _present

    run = kmc.open(run_file)
    snap = run.snapshot(-1)
    codes, species = _present(run, snap, 6, [0])
    assert species == {0: "monomer"} and set(codes) == set(np.unique(snap.phase[:, 6, :]))
    empty = dataclasses.replace(snap, species=np.zeros_like(snap.species))
    assert _present(run, empty, 6, [0])[1] == {}  # an absent species is not in the key
    ax = kplot.cross_section(run)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [kplot.PHASE_LABELS[c] for c in sorted(codes)] + ["monomer"]
    assert "simulated t = " in ax.get_title()
    plt.close(ax.figure)
    axes = kplot.montage(run)
    assert axes[-1].get_legend() is not None
    assert all(a.get_legend() is None for a in axes[:-1])
    assert all(a.get_title().startswith("simulated t = ") for a in axes)
    plt.close(axes[0].figure)


def test_profile_draws_only_the_deposits_present(run_file):
    """The run file grows PT at its cathode only (no oxidation at the anode): one line,
    and the title names the absent anode deposit."""
    run = kmc.open(run_file)
    ax = kplot.profile(run)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["PT (cathode)"]
    assert "none: PT (anode)" in ax.get_title()
    plt.close(ax.figure)
