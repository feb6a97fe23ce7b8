"""Connected clusters on a voxel grid that is periodic in x and y."""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi


def label_periodic(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Face-connected clusters of ``mask`` [nz, ny, nx], periodic in x and y (not z).

    Returns (labels, n) with labels 1..n (0 outside the mask), numbered in order of
    first appearance so the result does not depend on scipy's internal numbering.
    """
    labels, n = ndi.label(mask)
    if n == 0:
        return labels, 0
    parent = np.arange(n + 1)

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a_face, b_face in (
        (labels[:, :, 0], labels[:, :, -1]),
        (labels[:, 0, :], labels[:, -1, :]),
    ):
        both = (a_face > 0) & (b_face > 0)
        for a, b in set(zip(a_face[both].tolist(), b_face[both].tolist(), strict=True)):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(n + 1)])
    merged = roots[labels]
    _, first = np.unique(merged.ravel(), return_index=True)
    order = np.argsort(first)
    uniq = np.unique(merged.ravel())[order]
    remap = np.zeros(uniq.max() + 1, dtype=np.int64)
    k = 0
    for u in uniq:
        if u == 0:
            continue
        k += 1
        remap[u] = k
    return remap[merged], k


def spanning_mask(mask: np.ndarray) -> np.ndarray:
    """Voxels of ``mask`` in clusters touching both the first and the last z plane."""
    labels, n = label_periodic(mask)
    if n == 0:
        return np.zeros_like(mask, dtype=bool)
    bottom = np.unique(labels[0])
    top = np.unique(labels[-1])
    keep = np.intersect1d(bottom[bottom > 0], top[top > 0])
    return np.isin(labels, keep)
