"""Morphology figures: cross-section, top view, height map, profile, montage."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from kmc import phases
from kmc.plot._series import clock_label
from kmc.plot._style import add_scale_bar, length_unit, nice_length, phase_legend, phase_rgb
from kmc.runfile import Run
from kmc.simulation import deposit_height


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    return ax


def _species_indices(run: Run, species) -> list[int]:
    names = run.species_names
    if species is None:
        return list(range(len(names)))
    out = []
    for s in species:
        if s not in names:
            raise ValueError(f"unknown species {s!r}; the run has {names}")
        out.append(names.index(s))
    return out


def cross_section(run: Run, ax=None, *, snapshot: int = -1, y: int | None = None,
                  species=None, legend: bool = True):  # fmt: skip
    """Vertical x-z slice at ``y`` (default: middle): phases and species, scale bar.

    The simulated counterpart of a cross-section SEM image. Returns the Axes.
    """
    ax = _axes(ax)
    snap = run.snapshot(snapshot)
    show = _species_indices(run, species)
    y, scale, unit = _draw_section(run, ax, snap, y, show)
    ax.set_title(f"cross-section at y = {y * run.spacing_m * scale:.3g} {unit}\n"
                 f"{clock_label(run, snap.time_s)}")  # fmt: skip
    if legend:
        phase_legend(ax, *_present(run, snap, y, show))
    return ax


def _draw_section(run: Run, ax, snap, y: int | None, show) -> tuple[int, float, str]:
    """The x-z slice of ``snap`` at ``y`` (default: middle) with axes and scale bar, no
    title or key; returns the ``y`` drawn and the length scale and unit of the axes."""
    nz, ny, nx = snap.phase.shape
    y = ny // 2 if y is None else y
    if not 0 <= y < ny:
        raise ValueError(f"y = {y} outside the lattice (0..{ny - 1})")
    rgb = phase_rgb(snap.phase[:, y, :], snap.species[:, y, :], show)
    a = run.spacing_m
    scale, unit = length_unit(max(nx, nz) * a)
    ax.imshow(rgb, origin="lower", extent=(0, nx * a * scale, 0, nz * a * scale),
              interpolation="nearest")  # fmt: skip
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"z ({unit})")
    add_scale_bar(ax, nice_length(nx * a * scale), unit)
    return y, scale, unit


def _present(run: Run, snap, y: int, show) -> tuple[np.ndarray, dict[int, str]]:
    """Phase codes and {index: name} of the shown species that occur in the slice at
    ``y``: a legend lists only what the image contains."""
    names = run.species_names
    occurring = set(np.unique(snap.species[:, y, :]).tolist())
    return np.unique(snap.phase[:, y, :]), {s: names[s] for s in show if s + 1 in occurring}


def _first_layer(run: Run, electrode: str) -> int:
    t = run.config.boundaries.electrode_thickness_sites
    e = phases.ELECTRODES.index(electrode)
    end = run.model.electrode_end[e]
    if end < 0:
        raise ValueError(f"the run has no {electrode}")
    return t if end == 0 else run.shape_zyx[0] - t - 1


def top_view(run: Run, ax=None, *, snapshot: int = -1, electrode: str = "cathode",
             legend: bool = True):  # fmt: skip
    """The first plane off an electrode, seen from the membrane: coverage and gaps."""
    ax = _axes(ax)
    snap = run.snapshot(snapshot)
    z = _first_layer(run, electrode)
    nz, ny, nx = snap.phase.shape
    layer = snap.phase[z]
    a = run.spacing_m
    scale, unit = length_unit(max(nx, ny) * a)
    ax.imshow(phase_rgb(layer), origin="lower", extent=(0, nx * a * scale, 0, ny * a * scale),
              interpolation="nearest")  # fmt: skip
    dep = phases.DEPOSIT_PHASE[phases.ELECTRODES.index(electrode)]
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    ax.set_title(f"{electrode} face: coverage {np.mean(layer == dep):.1%}, "
                 f"gaps {np.mean(layer == phases.VOID):.1%}")  # fmt: skip
    add_scale_bar(ax, nice_length(nx * a * scale), unit)
    if legend:
        phase_legend(ax, np.unique(layer))
    return ax


def height_map(run: Run, ax=None, *, snapshot: int = -1, electrode: str = "cathode"):
    """Deposit height over an electrode (perceptually uniform map); RMS roughness in
    the title. The simulated counterpart of an AFM image."""
    ax = _axes(ax)
    snap = run.snapshot(snapshot)
    e = phases.ELECTRODES.index(electrode)
    end = run.model.electrode_end[e]
    if end < 0:
        raise ValueError(f"the run has no {electrode}")
    height = deposit_height(snap.phase, run.model, e)
    ny, nx = height.shape
    a = run.spacing_m
    hscale, hunit = length_unit(max(height.max(), 1) * a)
    h = height * a * hscale
    scale, unit = length_unit(max(nx, ny) * a)
    im = ax.imshow(h, origin="lower", cmap="viridis",
                   extent=(0, nx * a * scale, 0, ny * a * scale))  # fmt: skip
    ax.figure.colorbar(im, ax=ax, label=f"film height ({hunit})")
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    rms = float(np.sqrt(np.mean((h - h.mean()) ** 2)))
    ax.set_title(f"{electrode} film: mean {h.mean():.3g} {hunit}, RMS roughness {rms:.3g} {hunit}")
    return ax


def profile(run: Run, ax=None, *, snapshot: int = -1):
    """Deposit (PT, sulfur) fraction of each plane along z for each electrode's deposit
    the snapshot holds (an absent one is named in the title, not drawn): the simulated
    counterpart of an EDS line scan across the cell."""
    ax = _axes(ax)
    snap = run.snapshot(snapshot)
    nz = snap.phase.shape[0]
    a = run.spacing_m
    scale, unit = length_unit(nz * a)
    z = (np.arange(nz) + 0.5) * a * scale
    from kmc.plot._style import PHASE_COLORS, PHASE_LABELS

    absent = []
    for code in phases.DEPOSIT_PHASE:
        frac = (snap.phase == code).mean(axis=(1, 2))
        if not frac.any():
            absent.append(PHASE_LABELS[int(code)])
            continue
        ax.plot(z, frac, color=PHASE_COLORS[int(code)], label=PHASE_LABELS[int(code)])
    ax.set_xlabel(f"z ({unit})")
    ax.set_ylabel("PT (sulfur) share of the plane's sites (fraction)")
    none = f"\nnone: {', '.join(absent)}" if absent else ""
    ax.set_title(f"deposit profile, {clock_label(run, snap.time_s)}{none}")
    ax.set_ylim(bottom=0)
    if len(absent) < len(phases.DEPOSIT_PHASE):
        ax.legend()
    return ax


def montage(run: Run, snapshots=None, *, y: int | None = None, fig=None):
    """Cross-sections at several snapshots side by side, one colour key for all (the
    phases and species present in any of them); returns the array of Axes."""
    if snapshots is None:
        n = run.n_snapshots
        snapshots = sorted(set(np.linspace(0, n - 1, min(n, 4)).round().astype(int).tolist()))
    if fig is None:
        fig = plt.figure(figsize=(3.2 * len(snapshots), 3.6), layout="constrained")
    axes = fig.subplots(1, len(snapshots), squeeze=False)[0]
    show = list(range(len(run.species_names)))
    codes, species = set(), {}
    for ax, i in zip(axes, snapshots, strict=True):
        snap = run.snapshot(i)
        drawn_y, _, _ = _draw_section(run, ax, snap, y, show)
        ax.set_title(clock_label(run, snap.time_s), fontsize=9)
        c, sp = _present(run, snap, drawn_y, show)
        codes.update(c.tolist())
        species.update(sp)
    phase_legend(axes[-1], np.array(sorted(codes)), dict(sorted(species.items())))
    return axes
