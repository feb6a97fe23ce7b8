"""Impedance spectrum vs DC solve on the same image: time per frequency and memory.

A cathode slab | random 50/50 amorphous/crystalline PEO | anode image of L^3 voxels
(25 nm), the packaged transport parameters. Prints, per size, the DC estimator's time
(two solves: with and without charge transfer), the time of an N-frequency spectrum and
the ratio, and the peak traced memory of each (tracemalloc: NumPy and SciPy buffers).

    python benchmarks/impedance_benchmark.py --sizes 32 64 --frequencies 10
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import tracemalloc

import numpy as np

from kmc import phases
from kmc.transport._impedance import frequencies, impedance
from kmc.transport._morphology import analyze_morphology
from kmc.transport._params import load_transport_parameters


def image(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ph = np.where(rng.random((n, n, n)) < 0.5, phases.AMORPHOUS_PEO, phases.CRYSTALLINE_PEO)
    ph = ph.astype(np.uint8)
    ph[0], ph[-1] = phases.CATHODE, phases.ANODE
    return ph


def measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return wall, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--frequencies", type=int, default=10)
    args = ap.parse_args()
    params = dataclasses.replace(load_transport_parameters(), recrystallization=None)
    f = np.geomspace(1e-2, 1e6, args.frequencies)
    analyze_morphology(image(8), 25e-9, params)  # compile the kernels first
    impedance(image(20), 25e-9, params, frequencies(1, 10, 1))
    for n in args.sizes:
        ph = image(n)
        dc_s, dc_b = measure(lambda ph=ph: analyze_morphology(ph, 25e-9, params))
        t0 = time.perf_counter()
        try:
            ac_s, ac_b = measure(lambda ph=ph: impedance(ph, 25e-9, params, f))
        except RuntimeError as exc:  # COCG did not converge and the grid is beyond LU
            tracemalloc.stop()
            print(f"{n}^3: DC {dc_s:.2f} s; spectrum failed after "
                  f"{time.perf_counter() - t0:.0f} s: {exc}")  # fmt: skip
            continue
        print(
            f"{n}^3: DC {dc_s:.2f} s ({dc_b / n**3:.0f} B/voxel), {f.size} frequencies "
            f"{ac_s:.2f} s ({ac_s / f.size:.2f} s each, {ac_b / n**3:.0f} B/voxel): "
            f"spectrum / DC = {ac_s / dc_s:.1f}"
        )


if __name__ == "__main__":
    main()
