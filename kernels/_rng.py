"""Explicit-state xoshiro256** random number generator for Numba kernels.

The state is a ``uint64[4]`` array owned by the caller, so a checkpoint can store
it and a resumed run continues the exact same stream. Reference: D. Blackman and
S. Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47 (2021).
"""

import numpy as np
from numba import njit, uint64

_MASK = (1 << 64) - 1


@njit(inline="always", cache=True)
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(inline="always", cache=True)
def next_uint64(state):
    """Advance ``state`` in place and return the next 64-bit output."""
    s0 = state[0]
    s1 = state[1]
    s2 = state[2]
    s3 = state[3]
    result = _rotl(s1 * uint64(5), 7) * uint64(9)
    t = s1 << uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return result


@njit(inline="always", cache=True)
def next_double(state):
    """Uniform double in [0, 1) with 53 random bits."""
    return np.float64(next_uint64(state) >> uint64(11)) * (1.0 / 9007199254740992.0)


def seed_state(seed: int) -> np.ndarray:
    """Seed a xoshiro256** state from an integer seed through NumPy's SeedSequence.

    SeedSequence spreads any seed (including small ones) over all 256 bits and never
    yields the all-zero state that xoshiro must avoid.
    """
    state = np.random.SeedSequence(seed).generate_state(4, dtype=np.uint64)
    if not state.any():  # pragma: no cover - astronomically unlikely
        state[0] = 1
    return state


def reference_next_uint64(state: list[int]) -> int:
    """Pure-Python xoshiro256** step (slow reference for tests); mutates ``state``."""

    def rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & _MASK

    s0, s1, s2, s3 = state
    result = (rotl((s1 * 5) & _MASK, 7) * 9) & _MASK
    t = (s1 << 17) & _MASK
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 45)
    state[:] = [s0, s1, s2, s3]
    return result
