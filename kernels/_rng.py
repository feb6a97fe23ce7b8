"""Counter-based random numbers (SplitMix64) for the Numba kernels.

The generator state is a ``uint64[2]`` array ``[key, attempt]`` owned by the caller.
Uniform number j of event attempt n is a pure function of (key, n, j): the
(n * DRAWS_PER_ATTEMPT + j)-th output of SplitMix64 seeded with ``key``
(G. Steele, D. Lea, C. Flood, "Fast splittable pseudorandom number generators",
OOPSLA 2014). Because of that a kernel can compute the numbers of a future attempt to
prefetch the memory it will touch, a checkpoint needs only the two words, and a run
continues bit-identically after a resume whatever the kernel call boundaries were.
"""

import numpy as np
from numba import njit, uint64

DRAWS_PER_ATTEMPT = 5  # waiting time, channel, particle/site, direction, auxiliary

_GAMMA = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1


@njit(inline="always", cache=True)
def splitmix64(key, i):
    """The i-th (0-based) output of SplitMix64 seeded with ``key`` (both uint64)."""
    z = key + (i + uint64(1)) * uint64(_GAMMA)
    z = (z ^ (z >> uint64(30))) * uint64(_M1)
    z = (z ^ (z >> uint64(27))) * uint64(_M2)
    return z ^ (z >> uint64(31))


@njit(inline="always", cache=True)
def uniform(key, attempt, j):
    """Uniform double in [0, 1) (53 random bits): draw ``j`` of event ``attempt``.

    ``key`` is ``rng[0]``; scalars only, so the hot loop does no array bookkeeping.
    """
    i = uint64(attempt) * uint64(DRAWS_PER_ATTEMPT) + uint64(j)
    return np.float64(splitmix64(key, i) >> uint64(11)) * (1.0 / 9007199254740992.0)


def seed_state(seed: int | np.random.SeedSequence) -> np.ndarray:
    """Generator state ``[key, 0]`` with the key drawn from numpy's SeedSequence."""
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    key = seq.generate_state(1, dtype=np.uint64)[0]
    return np.array([key, 0], dtype=np.uint64)


def reference_uniform(key: int, attempt: int, j: int) -> float:
    """Pure-Python twin of :func:`uniform` (slow reference for tests)."""
    z = (key + (attempt * DRAWS_PER_ATTEMPT + j + 1) * _GAMMA) & _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    z ^= z >> 31
    return (z >> 11) * (1.0 / 9007199254740992.0)
