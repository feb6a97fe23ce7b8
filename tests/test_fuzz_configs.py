"""Property-based fuzzing of configs: mutate the shipped configs (types, signs, magnitudes
over many orders, inf/nan, missing and extra keys) and check that `kmc config validate`
and a short `kmc run` either succeed or exit 2 with a message naming a key: never a
traceback, never a run that exits 0 having done nothing.

The shipped configs are first cut to a short run (8 x 8 columns, one cycle, a few
seconds of simulated time at most) so that a valid mutant can be run; a mutant whose
pre-run estimate exceeds ``RUN_BUDGET_S`` of wall time is only validated (the estimate
itself is what keeps such runs from starting unannounced). ``FUZZ_EXAMPLES`` examples run
in the default test suite (CI); set ``KMC_FUZZ_EXAMPLES`` for a longer campaign.
"""

import math
import os
import signal
import tomllib
from collections import Counter
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kmc.cli import main
from kmc.config import load_config
from kmc.simulation import estimate_run
from kmc.sweeps import _toml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "configs").glob("zheng2021_*.toml")) + [
    ROOT / "configs/examples/quickstart.toml"
]
FUZZ_EXAMPLES = int(os.environ.get("KMC_FUZZ_EXAMPLES", "400"))
RUN_BUDGET_S = 2.0
RUN_TIMEOUT_S = 60
OUTCOMES: Counter = Counter()


def _short(config: dict) -> dict:
    """A shipped config cut to a run of a second or so, still valid."""
    c = tomllib.loads(_toml.dumps(config))
    shape = c["lattice"]["shape"]
    c["lattice"]["shape"] = [min(n, 8) for n in shape[:-1]] + [shape[-1]]
    proto = c.get("protocol", {})
    if "cycles" in proto:
        proto["cycles"] = 1
    run = c["run"]
    if proto.get("kind") == "cv":  # compress one cycle into 2 s of simulated time
        sweep_s = 2 * abs(proto["vertex_V"] - proto["start_V"]) / proto["scan_rate_V_per_s"]
        proto["time_compression"] = max(proto.get("time_compression", 1.0), sweep_s / 2.0)
    run["duration_s"] = min(run["duration_s"], 2.0)
    run["sample_interval_s"] = run["duration_s"] / 4
    return c


BASES = [_short(tomllib.loads(p.read_text())) for p in SHIPPED]


def _leaves(node, path=()):
    """(path, value) of every scalar or scalar-list leaf of a config dict."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    else:
        yield path, node


def _key_names(node) -> set[str]:
    return {str(p) for path, _ in _leaves(node) for p in path if isinstance(p, str)}


def _set(config, path, value):
    node = config
    for p in path[:-1]:
        node = node[p]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()
NONFINITE = {"__nan__": "nan", "__inf__": "inf", "__-inf__": "-inf"}


def _replacement(draw, value):
    """A mutated value for a leaf holding ``value``."""
    kind = draw(
        st.sampled_from(
            ["scale", "sign", "zero", "nonfinite", "bool", "string", "list", "table",
             "int_float", "delete", "huge_int"]
        )
    )  # fmt: skip
    if kind == "scale" and isinstance(value, int | float) and not isinstance(value, bool):
        return value * 10.0 ** draw(st.one_of(st.integers(-2, 2), st.integers(-40, 40)))
    if kind == "sign" and isinstance(value, int | float) and not isinstance(value, bool):
        return -value if value else -1
    if kind == "zero":
        return 0 if isinstance(value, int) else 0.0
    if kind == "nonfinite":
        return draw(st.sampled_from(list(NONFINITE)))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "string":
        return draw(st.sampled_from([str(value), "", "cathode", "x" * 40]))
    if kind == "list":
        return [value, value]
    if kind == "table":
        return {"value": value}
    if kind == "int_float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if isinstance(value, int) else int(value)
    if kind == "huge_int":
        return draw(st.sampled_from([2**31, 2**63 - 1, -(2**31), 32767, 32768]))
    return _DELETE


@st.composite
def mutants(draw):
    base = draw(st.sampled_from(range(len(BASES))))
    config = tomllib.loads(_toml.dumps(BASES[base]))
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        leaves = list(_leaves(config))
        if draw(st.integers(0, 9)) == 0:  # an unknown key somewhere
            path, _ = draw(st.sampled_from(leaves))
            _set(config, (*path[:-1], "not_a_key"), 1.0)
            continue
        path, value = draw(st.sampled_from(leaves))
        if isinstance(value, list) and value and draw(st.booleans()):
            i = draw(st.integers(0, len(value) - 1))
            value[i] = _replacement(draw, value[i])
            if value[i] is _DELETE:
                del value[i]
            continue
        _set(config, path, _replacement(draw, value))
    return SHIPPED[base].name, config


def _dump(config: dict) -> str:
    text = _toml.dumps(config)
    for marker, literal in NONFINITE.items():
        text = text.replace(f'"{marker}"', literal)
    return text


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def _check_exit(res, config, what):
    assert not (res.exception and not isinstance(res.exception, SystemExit)), (
        f"{what} raised {res.exception!r}:\n{res.output}"
    )
    assert res.exit_code in (0, 2), f"{what} exit {res.exit_code}:\n{res.output}"
    if res.exit_code == 2:
        assert "Traceback" not in res.output
        names = _key_names(config) | {"lattice", "protocol", "run", "species"}
        assert any(name in res.output for name in names), f"no key named:\n{res.output}"


@settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
    derandomize=not os.environ.get("KMC_FUZZ_RANDOM"),  # CI: the same examples every run
    phases=[Phase.generate],  # no shrinking: a failure prints the whole mutant config
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(mutants())
def test_mutated_configs_fail_by_name_or_run(tmp_path_factory, case):
    name, config = case
    d = tmp_path_factory.mktemp("fuzz")
    path = d / name
    path.write_text(_dump(config))
    runner = CliRunner()
    res = runner.invoke(main, ["config", "validate", str(path)])
    _check_exit(res, config, "validate")
    if res.exit_code == 2:
        OUTCOMES["named error"] += 1
        return
    cfg, _ = load_config(path)
    if estimate_run(cfg).wall_s > RUN_BUDGET_S:
        OUTCOMES["valid, estimated too long to run here"] += 1
        return
    out = d / "out.h5"
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(RUN_TIMEOUT_S)
    try:
        res = runner.invoke(main, ["run", str(path), "-o", str(out), "--progress", "off"])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    if isinstance(res.exception, _Timeout):
        pytest.fail(
            f"a {name} mutant ran over {RUN_TIMEOUT_S} s, estimated "
            f"{estimate_run(cfg).describe()}:\n{path.read_text()}"
        )
    _check_exit(res, config, "run")
    if res.exit_code == 2:
        OUTCOMES["valid, run refused by name"] += 1
        return
    OUTCOMES["ran"] += 1
    with h5py.File(out) as f:
        times = f["observables/time"][()]
    assert times.size >= 2 and times[-1] > 0, "exit 0 with no simulated time"
    assert "duration reached" in res.output or "protocol complete" in res.output
    assert math.isfinite(times[-1])


def test_zz_fuzzing_reached_both_outcomes():
    """The mutants exercised both sides: named errors and runs that finished. Prints the
    counts (in CI's log with -s, or -rA)."""
    if not OUTCOMES:
        pytest.skip("the fuzzing test did not run in this session")
    print(f"\nconfig fuzzing: {sum(OUTCOMES.values())} examples: {dict(OUTCOMES)}")
    assert OUTCOMES["named error"] > 0 and OUTCOMES["ran"] > 0, dict(OUTCOMES)
