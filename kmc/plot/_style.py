"""Fixed, named, colour-blind-safe colours (Okabe & Ito palette) and unit helpers."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np

from kmc import phases

# Okabe, M. & Ito, K. (2008) "Color Universal Design" palette; PT is reddish purple, as
# the magenta film of the experiment.
PHASE_COLORS = {
    phases.AMORPHOUS_PEO: "#EEEEEE",
    phases.CRYSTALLINE_PEO: "#56B4E9",
    phases.VOID: "#000000",
    phases.CATHODE: "#0072B2",
    phases.ANODE: "#E69F00",
    phases.DEPOSIT_CATHODE: "#CC79A7",
    phases.DEPOSIT_ANODE: "#D55E00",
    phases.PT_FLOATING: "#882255",
    phases.MEMBRANE_GATE: "#BBBBBB",
}
PHASE_LABELS = {
    phases.AMORPHOUS_PEO: "amorphous PEO",
    phases.CRYSTALLINE_PEO: "crystalline PEO",
    phases.VOID: "void / gap",
    phases.CATHODE: "cathode",
    phases.ANODE: "anode",
    phases.DEPOSIT_CATHODE: "PT (cathode)",
    phases.DEPOSIT_ANODE: "PT (anode)",
    phases.PT_FLOATING: "PT (floating)",
    phases.MEMBRANE_GATE: "rest of membrane (continuum)",
}
SPECIES_COLORS = ["#009E73", "#F0E442", "#999999", "#332288", "#44AA99"]


def phase_rgb(phase: np.ndarray, species: np.ndarray | None = None, show=None) -> np.ndarray:
    """RGB image of a 2D phase slice, with occupied sites of the shown species painted."""
    lut = np.zeros((16, 3))
    for code, color in PHASE_COLORS.items():
        lut[code] = mcolors.to_rgb(color)
    rgb = lut[phase]
    if species is not None:
        for s in show or []:
            rgb[species == s + 1] = mcolors.to_rgb(SPECIES_COLORS[s % len(SPECIES_COLORS)])
    return rgb


def length_unit(length_m: float) -> tuple[float, str]:
    """(scale, label) to show lengths up to ``length_m`` in nm or um."""
    return (1e9, "nm") if length_m < 2e-6 else (1e6, "µm")


def nice_length(span: float) -> float:
    """A 1-2-5 length close to a fifth of ``span`` (same unit)."""
    target = span / 5
    base = 10 ** np.floor(np.log10(target))
    return float(min((1, 2, 5, 10), key=lambda m: abs(m * base - target)) * base)


def add_scale_bar(ax, length: float, unit: str) -> None:
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    bar = AnchoredSizeBar(
        ax.transData, length, f"{length:g} {unit}", "lower right", pad=0.4, color="black",
        frameon=True, size_vertical=length / 25, borderpad=0.5,
    )  # fmt: skip
    ax.add_artist(bar)


def phase_legend(ax, codes, species: dict[int, str] | None = None) -> None:
    """Legend of the phases in ``codes`` and of ``species`` {index: name} shown."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=PHASE_COLORS[c], edgecolor="0.3", label=PHASE_LABELS[c])
        for c in sorted(set(int(c) for c in codes))
        if c in PHASE_COLORS
    ]
    for s, name in (species or {}).items():
        color = SPECIES_COLORS[s % len(SPECIES_COLORS)]
        handles.append(Patch(facecolor=color, edgecolor="0.3", label=name))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
