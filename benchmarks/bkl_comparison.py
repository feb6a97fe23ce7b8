"""Why the engine uses null events for hops: a rejection-free BKL loop on the same model.

Same system as hop_benchmark.py (periodic L^3, 5 % occupancy, one species, Gamma = 1/s
per direction, bias u along z, exclusion), simulated with the n-fold way: every particle's
rate is the sum of its allowed hop rates, kept in a binary sum tree; an event descends
the tree, moves the particle and updates the rates of the particle and of the particles
around its old and new sites (up to 13 tree updates of O(log N) each).

    python benchmarks/bkl_comparison.py --size 128 --events 5000000 --json

This is a measurement tool, not part of the package: it is only as general as needed to
time the alternative fairly (same RNG, same lattice layout, same Numba settings).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from numba import njit

from kmc.kernels._rng import uniform


@njit(cache=True)
def _particle_rate(site, occ, n, rates):
    l2 = n * n
    x = site % n
    y = (site // n) % n
    z = site // l2
    total = 0.0
    nb = (x + 1) % n + n * y + l2 * z
    total += rates[0] * (occ[nb] == 0)
    nb = (x - 1 + n) % n + n * y + l2 * z
    total += rates[1] * (occ[nb] == 0)
    nb = x + n * ((y + 1) % n) + l2 * z
    total += rates[2] * (occ[nb] == 0)
    nb = x + n * ((y - 1 + n) % n) + l2 * z
    total += rates[3] * (occ[nb] == 0)
    nb = x + n * y + l2 * ((z + 1) % n)
    total += rates[4] * (occ[nb] == 0)
    nb = x + n * y + l2 * ((z - 1 + n) % n)
    total += rates[5] * (occ[nb] == 0)
    return total


@njit(cache=True)
def _tree_set(tree, leaf0, i, value):
    j = leaf0 + i
    tree[j] = value
    j //= 2
    while j >= 1:
        tree[j] = tree[2 * j] + tree[2 * j + 1]
        j //= 2


@njit(cache=True)
def _neighbour(site, d, n):
    l2 = n * n
    x = site % n
    y = (site // n) % n
    z = site // l2
    if d == 0:
        x = (x + 1) % n
    elif d == 1:
        x = (x - 1 + n) % n
    elif d == 2:
        y = (y + 1) % n
    elif d == 3:
        y = (y - 1 + n) % n
    elif d == 4:
        z = (z + 1) % n
    else:
        z = (z - 1 + n) % n
    return x + n * y + l2 * z


@njit(cache=True)
def bkl_run(occ, pos, tree, leaf0, n, rates, key, n_events):
    """occ[site] = particle id + 1; returns simulated time after n_events hops."""
    t = 0.0
    for a in range(n_events):
        total = tree[1]
        t += -np.log1p(-uniform(key, a, 0)) / total
        u = uniform(key, a, 1) * total
        j = 1
        while j < leaf0:
            if u < tree[2 * j]:
                j = 2 * j
            else:
                u -= tree[2 * j]
                j = 2 * j + 1
        pid = j - leaf0
        site = pos[pid]
        v = uniform(key, a, 2) * tree[j]
        target = -1
        for d in range(6):
            nb = _neighbour(site, d, n)
            if occ[nb] == 0:
                target = nb  # the last free one absorbs round-off in v
                if v < rates[d]:
                    break
                v -= rates[d]
        occ[site] = 0
        occ[target] = pid + 1
        pos[pid] = target
        _tree_set(tree, leaf0, pid, _particle_rate(target, occ, n, rates))
        for dd in range(6):
            for s in (site, target):
                nb = _neighbour(s, dd, n)
                q = occ[nb]
                if q != 0:
                    _tree_set(tree, leaf0, q - 1, _particle_rate(nb, occ, n, rates))
    return t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--events", type=int, default=5_000_000)
    p.add_argument("--bias", type=float, default=0.1)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    n = args.size
    rng = np.random.default_rng(1)
    n_sites = n**3
    n_part = int(round(0.05 * n_sites))
    sites = rng.choice(n_sites, n_part, replace=False)
    occ = np.zeros(n_sites, dtype=np.int32)
    occ[sites] = np.arange(1, n_part + 1)
    pos = sites.astype(np.int64)
    rates = np.array([1, 1, 1, 1, np.exp(args.bias / 2), np.exp(-args.bias / 2)])
    leaf0 = 1 << int(np.ceil(np.log2(n_part)))
    tree = np.zeros(2 * leaf0)
    for i in range(n_part):
        _tree_set(tree, leaf0, i, _particle_rate(pos[i], occ, n, rates))
    key = np.uint64(12345)
    bkl_run(occ.copy(), pos.copy(), tree.copy(), leaf0, n, rates, key, 1000)  # compile
    t0 = time.perf_counter()
    bkl_run(occ, pos, tree, leaf0, n, rates, key, args.events)
    seconds = time.perf_counter() - t0
    result = {
        "size": n,
        "events": args.events,
        "accepted_events": args.events,
        "seconds": seconds,
        "accepted_per_second": args.events / seconds,
        "algorithm": "BKL sum tree (rejection-free)",
    }
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
