"""Shared helpers for tests: the CLI in a subprocess, comparing run files."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np


def kmc_cli(*args, **kw):
    """Run ``python -m kmc ARGS`` and capture its output (text)."""
    return subprocess.run(
        [sys.executable, "-m", "kmc", *map(str, args)], capture_output=True, text=True, **kw
    )


def datasets(path, skip=("provenance",)):
    """{name: array} of every dataset in a run file, except under the ``skip`` groups."""
    out = {}
    with h5py.File(path, "r") as f:

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.split("/")[0] not in skip:
                out[name] = obj[()]

        f.visititems(visit)
        out["@parameters"] = dict(f["parameters"].attrs)
    return out


def assert_same_datasets(a, b, except_parameters=()):
    """Every dataset and parameter attribute of two run files equal (but the named
    parameter attributes)."""
    da, db = datasets(a), datasets(b)
    assert sorted(da) == sorted(db)
    for name in da:
        if name == "@parameters":
            assert da[name].keys() == db[name].keys()
            for k in set(da[name]) - set(except_parameters):
                assert np.array_equal(da[name][k], db[name][k]), k
            continue
        assert da[name].dtype == db[name].dtype, name
        assert da[name].shape == db[name].shape, name
        assert np.array_equal(da[name], db[name]), name


def interrupt_run(cfg, out, sig, settle_s):
    """Start ``kmc run CFG -o OUT``, wait for its first checkpoint, let it run
    ``settle_s`` more seconds, send ``sig``; returns (exit status, stderr)."""
    part = Path(str(out) + ".partial")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmc", "run", str(cfg), "-o", str(out), "--progress", "off"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.time() + 60
    while not (part / "checkpoint.h5").exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(settle_s)
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def _complete(record, **extra):
    """The status a sweep task returns for a completed point."""
    return {"index": record["index"], "name": record["name"], "status": "complete",
            "error": ""} | extra  # fmt: skip


def crash_or_complete(crash_name, record):
    """A sweep task for the local pool's tests: kills its own process (as the OOM
    killer or a segfault would) on the point named ``crash_name``, completes others."""
    if record["name"] == crash_name:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)
    return _complete(record)


def startup_environment(names, record):
    """A sweep task that reports ``names`` from the environment its process started
    with (/proc/self/environ, which later changes to os.environ do not touch)."""
    raw = Path("/proc/self/environ").read_bytes().split(b"\0")
    env = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
    return _complete(record, env={n: env.get(n) for n in names})
