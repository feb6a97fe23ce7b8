"""A one-node Slurm cluster for the tests in this directory, started once per session by
start_cluster.sh and stopped by stop_cluster.sh (by PID) however the tests end."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """``SLURM_CONF`` of a running one-node cluster (set in this process's environment,
    which sbatch passes on to the jobs), with a warm shared ``NUMBA_CACHE_DIR``.

    Skips, with the script's reason, where Slurm cannot be installed or started (not
    root, no apt, a daemon that does not come up).
    """
    state = tmp_path_factory.mktemp("slurm-cluster")
    saved = {k: os.environ.get(k) for k in ("SLURM_CONF", "NUMBA_CACHE_DIR", "PATH")}
    try:
        res = subprocess.run(
            ["bash", str(HERE / "start_cluster.sh"), str(state)],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if res.returncode != 0:
            lines = (res.stderr or res.stdout).strip().splitlines()
            pytest.skip(f"no Slurm cluster: {lines[-1] if lines else res.returncode}")
        os.environ["SLURM_CONF"] = str(state / "slurm.conf")
        # the jobs' `kmc` is this interpreter's, whatever PATH the shell had
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        # one compilation for the session; a job's own `kmc warmup` then only loads it
        cache = tmp_path_factory.mktemp("numba-cache")
        os.environ["NUMBA_CACHE_DIR"] = str(cache)
        warm = subprocess.run(
            [sys.executable, "-m", "kmc", "warmup"], capture_output=True, text=True
        )
        assert warm.returncode == 0, warm.stderr
        yield os.environ["SLURM_CONF"]
    finally:
        subprocess.run(["bash", str(HERE / "stop_cluster.sh"), str(state)], timeout=120)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
