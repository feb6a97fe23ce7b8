"""Morphology metrics of deposits: fractal dimensions.

Functions take plain numpy arrays (site coordinates or boolean masks) and return numbers
(dimensionless), so they work on any engine state or snapshot.
"""

from __future__ import annotations

import numpy as np


def radius_of_gyration(points: np.ndarray) -> float:
    """Radius of gyration (sites) of an [n, d] array of site coordinates."""
    points = np.asarray(points, dtype=float)
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))


def growth_dimension(points_in_order: np.ndarray, n_min: int, n_points: int = 12) -> float:
    """Fractal dimension from R_g(N) ~ N^(1/D) over a growth sequence.

    ``points_in_order`` holds the sites in the order they were added; R_g of the first N
    is measured for N log-spaced from ``n_min`` to all of them and D is the inverse of the
    least-squares slope of log R_g against log N.
    """
    pts = np.asarray(points_in_order, dtype=float)
    if n_min < 2 or n_min >= len(pts):
        raise ValueError(f"n_min = {n_min} must lie in [2, {len(pts) - 1}]")
    sizes = np.unique(np.geomspace(n_min, len(pts), n_points).astype(int))
    rg = np.array([radius_of_gyration(pts[:n]) for n in sizes])
    slope = np.polyfit(np.log(sizes), np.log(rg), 1)[0]
    return float(1.0 / slope)


def mass_radius_dimension(points: np.ndarray, center, r_min: float, r_max: float) -> float:
    """Fractal dimension from the mass within radius r, N(r) ~ r^D, for r_min <= r <= r_max."""
    r = np.sqrt(((np.asarray(points, dtype=float) - np.asarray(center, float)) ** 2).sum(axis=1))
    radii = np.geomspace(r_min, r_max, 12)
    mass = np.array([(r <= x).sum() for x in radii])
    return float(np.polyfit(np.log(radii), np.log(mass), 1)[0])


def box_counting_dimension(mask: np.ndarray, min_box: int = 1, max_box: int | None = None) -> float:
    """Box-counting dimension of the True voxels of a 2D or 3D mask.

    Boxes of edge s = min_box, 2 min_box, ... up to max_box (default: a quarter of the
    smallest edge) tile the array from its origin; D is minus the least-squares slope of
    log N(s) against log s, N(s) the number of boxes holding at least one True voxel.
    Returns nan when the mask is empty or fewer than two box sizes fit.
    """
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return float("nan")
    max_box = max_box or max(1, min(m.shape) // 4)
    sizes, counts = [], []
    s = min_box
    while s <= max_box:
        trimmed = m[tuple(slice(0, (n // s) * s) for n in m.shape)]
        shape = []
        for n in trimmed.shape:
            shape += [n // s, s]
        boxes = trimmed.reshape(shape).any(axis=tuple(range(1, 2 * m.ndim, 2)))
        sizes.append(s)
        counts.append(int(boxes.sum()))
        s *= 2
    if len(sizes) < 2:
        return float("nan")
    return float(-np.polyfit(np.log(sizes), np.log(counts), 1)[0])
