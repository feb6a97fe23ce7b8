"""The serial engine's outputs, pinned: short cuts of the shipped configs must give
run files whose every dataset (checkpoint, observables, particles) hashes to what the
engine wrote before surface-specific oxidation was added (recorded 2026-12-07 from
commit d124da2 on this machine kind). A change to the kernel that moves any bit of a
config that does not ask for a new feature fails here, not in a recorded paper number.

The digests hold on the platform they were recorded on (numpy and numba versions,
glibc, and the SIMD paths numpy's exp and log dispatch to: a last-bit difference in one
rate moves a trajectory). On another platform the test is skipped and says what
differs, rather than failing on arithmetic that is not the engine's.

A digest that moves on purpose (a physics change that should move every run) is
re-recorded by running this file with ``KMC_RECORD_DIGESTS=1`` and pasting what it
prints, and the commit says why.
"""

import hashlib
import os

import numpy as np
import pytest
from helpers import datasets, kmc_cli

# where the digests were recorded (see the module docstring)
RECORDED_ON = {
    "numpy": "2.4.6",
    "numba": "0.68.1",
    "machine": "x86_64",
    "libc": "glibc 2.36",
    "simd": "AVX2 FMA3",
}


def platform_fingerprint() -> dict:
    import platform

    import numba
    from numpy._core._multiarray_umath import __cpu_features__ as cpu

    simd = [k for k in ("AVX2", "FMA3", "AVX512F", "AVX512_SKX") if cpu.get(k)]
    return {
        "numpy": np.__version__,
        "numba": numba.__version__,
        "machine": platform.machine(),
        "libc": " ".join(platform.libc_ver()),
        "simd": " ".join(simd),
    }


# config text (extending a shipped config, cut short) -> sha256 of its run file
CASES = {
    "quickstart": ('base = "examples/quickstart"\n',
                   "20a33f3de53567d99d2fbb04964dc45a3101d0d2632787a16f0f524ba8360897"),
    "ss_20s": ('base = "zheng2021_ss_galvanostatic"\n[run]\nduration_s = 20.0\n'
               "sample_interval_s = 5.0\n",
               "ff777362ffcd57ab86f04086a23ee8e0f5669e6d5ed50d2eb106baff9f478d87"),
    "cv_26s": ('base = "zheng2021_cv_symmetric"\n[run]\nduration_s = 26.0\n'
               "sample_interval_s = 5.0\n",
               "10ff6e55361036da9d2e1ec0e983cabf019636ab6cc428571085375ce30cbed0"),
    "lfp_10s": ('base = "zheng2021_lfp_galvanostatic"\n[run]\nduration_s = 10.0\n'
                "sample_interval_s = 5.0\n",
                "af78a82729d99e3e5b34a494d5c6a185659e29532929f1d75f0fbac90306a6f8"),
}  # fmt: skip


def run_digest(path):
    """sha256 over every dataset (name, dtype, shape, bytes) outside the provenance,
    metadata and parameters groups, by name."""
    h = hashlib.sha256()
    found = datasets(path, skip=("provenance", "h5md", "parameters"))
    for name in sorted(k for k in found if k != "@parameters"):
        a = np.ascontiguousarray(found[name])
        for part in (name, str(a.dtype), str(a.shape)):
            h.update(part.encode())
        h.update(a.tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("case", sorted(CASES))
def test_serial_engine_output_is_unchanged(case, tmp_path):
    text, expected = CASES[case]
    here = platform_fingerprint()
    recording = bool(os.environ.get("KMC_RECORD_DIGESTS"))
    if here != RECORDED_ON and not recording:
        differs = {k: (RECORDED_ON[k], here[k]) for k in here if here[k] != RECORDED_ON[k]}
        pytest.skip(f"digests recorded on another platform (recorded, here): {differs}")
    cfg = tmp_path / f"{case}.toml"
    cfg.write_text(text)
    out = tmp_path / f"{case}.h5"
    res = kmc_cli("run", cfg, "-o", out, "--progress", "off")
    assert res.returncode == 0, res.stderr
    got = run_digest(out)
    if recording:
        print(f"{case}: {got} on {here}")
        return
    assert got == expected, f"{case}: the run file changed (digest {got})"
