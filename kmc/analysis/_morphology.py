"""Morphology metrics of deposits: fractal dimensions, cluster sizes.

Functions take plain numpy arrays (site coordinates or boolean masks) and return numbers
(dimensionless), so they work on any engine state or snapshot.
"""

from __future__ import annotations

import numpy as np


def radius_of_gyration(points: np.ndarray) -> float:
    """Radius of gyration (sites) of an [n, d] array of site coordinates."""
    points = np.asarray(points, dtype=float)
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))


def growth_dimension(points_in_order, n_min: int, n_points: int = 16) -> float:
    """Fractal dimension from R_g(N) ~ N^(1/D) over a growth sequence or an ensemble.

    ``points_in_order``: an [n, d] array of sites in the order they were added, or a list
    of such arrays (an ensemble: log R_g is averaged over its members at each N). R_g of
    the first N sites is taken for N log-spaced from ``n_min`` to the shortest sequence;
    D is the inverse of the least-squares slope of log R_g against log N.
    """
    seqs = [points_in_order] if isinstance(points_in_order, np.ndarray) else points_in_order
    seqs = [np.asarray(p, dtype=float) for p in seqs]
    n_max = min(len(p) for p in seqs)
    if n_min < 2 or n_min >= n_max:
        raise ValueError(f"n_min = {n_min} must lie in [2, {n_max - 1}]")
    sizes = np.unique(np.geomspace(n_min, n_max, n_points).astype(int))
    log_rg = np.mean([[np.log(radius_of_gyration(p[:n])) for n in sizes] for p in seqs], axis=0)
    return float(1.0 / np.polyfit(np.log(sizes), log_rg, 1)[0])


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


def cluster_sizes(mask: np.ndarray, periodic_axes: tuple[int, ...] = ()) -> np.ndarray:
    """Sizes (sites) of the face-connected clusters of the True sites of a mask, largest first.

    Two sites belong to one cluster when a chain of face neighbours joins them; along
    ``periodic_axes`` the first and last layers are neighbours (the lattice's x and y).
    A deposit of many small clusters is a scatter of particles; one cluster is a
    continuous film or aggregate.
    """
    from scipy import ndimage
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = np.asarray(mask, dtype=bool)
    labels, n = ndimage.label(m)  # face connectivity (the default structure)
    # labels that touch across a periodic boundary are one cluster: join them as a graph
    ends = [(np.take(labels, 0, axis=a), np.take(labels, -1, axis=a)) for a in periodic_axes]
    first = np.concatenate([f[(f > 0) & (g > 0)] for f, g in ends] or [np.zeros(0, int)])
    last = np.concatenate([g[(f > 0) & (g > 0)] for f, g in ends] or [np.zeros(0, int)])
    graph = coo_matrix((np.ones(first.size), (first, last)), shape=(n + 1, n + 1))
    component = connected_components(graph, directed=False)[1]
    sizes = np.bincount(component[labels[m]])
    return np.sort(sizes[sizes > 0])[::-1]
