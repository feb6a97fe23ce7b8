"""Connected clusters on a voxel grid that is periodic in x and y."""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi


def label_periodic(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Face-connected clusters of ``mask`` [nz, ny, nx], periodic in x and y (not z).

    Returns (labels, n) with labels 1..n (0 outside the mask), numbered in raster order
    of each cluster's first voxel.
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

    faces = ((labels[:, :, 0], labels[:, :, -1]), (labels[:, 0, :], labels[:, -1, :]))
    for a_face, b_face in faces:
        both = (a_face > 0) & (b_face > 0)
        pairs = np.unique(np.stack([a_face[both], b_face[both]], axis=1), axis=0)
        for a, b in pairs.tolist():
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(n + 1)])
    # scipy numbers clusters in raster order of first appearance, so the smallest label
    # of a merged cluster (its root) is the one that appears first: renumbering the
    # roots in increasing order keeps raster order
    uniq = np.unique(roots[1:])
    remap = np.zeros(n + 1, dtype=labels.dtype)
    remap[uniq] = np.arange(1, uniq.size + 1, dtype=labels.dtype)
    return remap[roots][labels], int(uniq.size)


def spanning_mask(mask: np.ndarray) -> np.ndarray:
    """Voxels of ``mask`` in clusters touching both the first and the last z plane."""
    mask = np.asarray(mask, dtype=bool)
    if mask.all():
        return mask.copy()
    labels, n = label_periodic(mask)
    keep = np.zeros(n + 1, dtype=bool)
    if n:
        both = np.intersect1d(np.unique(labels[0]), np.unique(labels[-1]))
        keep[both[both > 0]] = True
    return keep[labels]
