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
