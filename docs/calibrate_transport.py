"""Calibrate three parameters of the transport file, each once, against one named number
of Zheng et al. 2021 (docs/EXPERIMENT.md, "Numbers the simulator is checked against"),
each on the MEAN over seeds of the quantity it is fitted to:

1. ``conductivity_S_per_m.amorphous_peo`` (amorphous PEO at 40 degC) against the pristine
   membrane's 2.84e-5 S/cm at 40 degC: the homogenized conductivity of the PEO at the
   pristine crystalline fraction (no diluent, same hold), averaged over the representative
   volumes `kmc analyze` averages (RVE seeds HOMOGENIZATION_SEED, +1, +2, +3:
   analysis.HOMOGENIZATION_VOLUMES), equals it.
2. ``recrystallization.nucleation_constant_K2`` against the SS||Li membrane resistance
   70 % lower after polymerization: the mean over seeds S of R_membrane(polymerized) /
   R_membrane(pristine), each pair `kmc run ... --seed S` of
   configs/zheng2021_ss_galvanostatic.toml and its _pristine twin, is 0.30.
3. ``exchange_current_A_per_m2.cathode`` (LiFePO4 composite | PEO) against the pristine
   LiFePO4||Li cell's interfacial resistance: its mean over seeds of
   configs/zheng2021_lfp_galvanostatic_pristine.toml is 13040 ohm. Each seed's
   measurement state (recrystallized snapshot, gate conductivity) is taken once; only
   the estimator's solve is repeated for each trial i0, never the KMC.

A 0.6 um lattice patch is one realization of a stochastic geometry (the pristine
LiFePO4 R_i spreads with sd/mean 0.26 over 80 seeds), so each fit starts on 4 seeds (1, 2,
3, 4; RVEs likewise) and adds seeds in batches of 4 (or up to the n the sd so far asks
for, at most doubling n: 4, 8, 16, 32, ...) until the standard error of the mean of its
target quantity, at the fitted value, is at most 3 % of the target (cap: 96 seeds; if it
is not reached the script says so and reports what it has). Each fit is in ln(value) by
the secant method (brentq in the bounds if that fails) to |ln(mean / target)| <= 1e-5.

Cost on 2 cores at --jobs 2 (run times from benchmarks/RESULTS.md): the RVEs ~10 s (4
RVEs, sd/mean 0.03). The SS ratio spreads little and should stop at 4 seeds: 4 pairs of
170 + 26 s, ~7 min, and ~1 s per analysis. R_i needs about (0.26 / 0.03)^2 ~ 80 seeds
(measured: 80, on pristine runs cut short, whose measurement state is the full runs'):
80 x 17 s of runs, ~12 min, and per seed one measurement state and a few solves, ~2 min
in all. About 20 min from scratch; with --reuse the analyses only (~3 min).

    python docs/calibrate_transport.py               # runs what is needed, calibrates, prints
    python docs/calibrate_transport.py --reuse       # reuse runs in docs/figures/runs/
    python docs/calibrate_transport.py --check       # exit 1 unless the shipped values agree (1 %)
    python docs/calibrate_transport.py --seeds 1,2,3,4   # a fixed seed list (no batches)
    python docs/calibrate_transport.py --check --seeds-from docs/figures/runs/calibration.json

Runs go to docs/figures/runs/NAME_seedS.h5; ``--jobs N`` (default 2) runs N KMC runs and
N analyses at once. Prints, per parameter, the value, the number of seeds and the mean
+- SE of its target (stderr), then one JSON object (stdout; also written to
``--output``, default docs/figures/runs/calibration.json) with the values, the shipped
ones, and per fit the seeds, per-seed values, mean, sd, SE and n. ``--check`` compares
the shipped values with the fit on the same seed lists (the batches are deterministic:
the runs are bit-reproducible; ``--seeds-from`` takes the lists of an earlier output).

Nothing else is fitted. The LiFePO4 cell's membrane-resistance drop and its interfacial
resistance ratio (paper: 7.4x) are then predictions (docs/paper_check.py,
tests/physics/test_paper_check.py).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import dataclasses
import json
import math
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

from kmc import phases
from kmc.analysis import _analysis as analysis
from kmc.config import load_config
from kmc.runfile import _io as io
from kmc.sweeps._runner import THREAD_VARS, single_threaded_children
from kmc.transport import analyze_morphology
from kmc.transport._params import load_transport_parameters
from kmc.transport._recrystallization import homogenized_conductivity

HERE = Path(__file__).parent
RUNS = HERE / "figures" / "runs"
REPO = HERE.parent
CONFIGS = REPO / "configs"
PRISTINE_CONDUCTIVITY_S_PER_M = 2.84e-3  # 2.84e-5 S/cm at 40 degC (docs/EXPERIMENT.md)
MEMBRANE_RESISTANCE_RATIO = 0.30  # "about 70 % lower" (docs/EXPERIMENT.md)
PRISTINE_LFP_INTERFACIAL_OHM = 13040.0  # LiFePO4||Li before polarization (docs/EXPERIMENT.md)
NAMES = ("amorphous_peo_S_per_m", "nucleation_constant_K2", "cathode_exchange_current_A_per_m2")
TARGETS = {  # name -> (the quantity whose seed mean is fitted, its target)
    NAMES[0]: ("pristine membrane conductivity (S/m)", PRISTINE_CONDUCTIVITY_S_PER_M),
    NAMES[1]: ("SS membrane ratio R(polymerized)/R(pristine)", MEMBRANE_RESISTANCE_RATIO),
    NAMES[2]: ("pristine LiFePO4 R_i (ohm)", PRISTINE_LFP_INTERFACIAL_OHM),
}

MIN_SEEDS = 4  # each fit starts on this many seeds
SEED_BATCH = 4  # and adds this many at a time
MAX_SEEDS = 96  # up to this many (the pristine LiFePO4 R_i needs ~90: sd/mean 0.28)
SE_FRACTION = 0.03  # until SE(mean of the target quantity) <= this x the target
FIT_TOL = 1e-5  # |ln(mean / target)| at the fitted value

SS_PAIR = ("ss_galvanostatic_pristine", "ss_galvanostatic")
LFP_PRISTINE = "lfp_galvanostatic_pristine"
RUN_NAMES = [*SS_PAIR, LFP_PRISTINE]
# wall time of each config on one core (s, benchmarks/RESULTS.md): runs start longest first
RUN_COST_S = {
    "cv_symmetric": 2030, "lfp_galvanostatic": 323, "ss_galvanostatic": 170,
    "cv_symmetric_pristine": 320, "ss_galvanostatic_pristine": 26,
    "lfp_galvanostatic_pristine": 17,
}  # fmt: skip

_FRESH: set[Path] = set()  # run files written by this process (not re-run by a later batch)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- runs ------------------------------------------------------------------------------


def config_path(name: str) -> Path:
    return CONFIGS / f"zheng2021_{name}.toml"


def run_path(name: str, seed: int | None = None, runs_dir: Path = RUNS) -> Path:
    """docs/figures/runs/NAME_seedS.h5 (NAME.h5: the config's own seed)."""
    return Path(runs_dir) / (f"{name}.h5" if seed is None else f"{name}_seed{seed}.h5")


def _reusable(name: str, seed: int | None, path: Path) -> bool:
    """A complete run file of ``seed`` (any seed when None) at ``path``; says so when its
    stored config is not today's file (the run is still reused: --reuse is asked for)."""
    try:
        with io.open_h5(path) as f:
            stored_seed = int(f["parameters"].attrs["seed"])
            text = f["parameters"].attrs["config_toml"]
    except (io.RunFileError, OSError, KeyError):
        return False
    if seed is not None and stored_seed != seed:
        log(f"{path}: holds seed {stored_seed}, not {seed}: running it again")
        return False
    if isinstance(text, bytes):
        text = text.decode()
    if text != config_path(name).read_text() and not _simulates_alike(text, config_path(name)):
        log(f"warning: {path} was run from another version of {config_path(name).name}")
    return True


def _simulates_alike(stored_text: str, config: Path) -> bool:
    """Whether a run's stored config and a config file run the same simulation (the
    chemistry may be written per site in one and in physical units in the other)."""
    from kmc.config import ConfigError, parse_config
    from kmc.config._physical import same_simulation

    try:
        return same_simulation(parse_config(stored_text), load_config(config)[0])
    except ConfigError:
        return False


def _single_threaded_env() -> dict:
    return os.environ | {v: "1" for v in THREAD_VARS}


def ensure_seed_runs(
    pairs, reuse: bool = False, jobs: int = 2, runs_dir: Path = RUNS
) -> dict[tuple[str, int | None], Path]:
    """Run the paper configs ``(name, seed)`` (seed None: the config's) into ``runs_dir``,
    ``jobs`` `kmc run` subprocesses at a time, longest first; with ``reuse`` a complete run
    file of that seed is kept. Returns {(name, seed): path}."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    out, todo = {}, []
    for name, seed in dict.fromkeys(pairs):
        path = run_path(name, seed, runs_dir)
        out[name, seed] = path
        if path in _FRESH or (reuse and _reusable(name, seed, path)):
            continue
        todo.append((name, seed, path))
    todo.sort(key=lambda t: -RUN_COST_S.get(t[0], 60))
    if not todo:
        return out
    log(
        f"running {len(todo)} run(s), {jobs} at a time: "
        + ", ".join(f"{n} seed {s}" for n, s, _ in todo)
    )
    env = _single_threaded_env() if jobs > 1 else None

    def one(item):
        name, seed, path = item
        cmd = [sys.executable, "-m", "kmc", "run", str(config_path(name)), "-o", str(path),
               "--overwrite", "--progress", "off"]  # fmt: skip
        if seed is not None:
            cmd += ["--seed", str(seed)]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
        log(f"  {path.name}: {time.perf_counter() - t0:.0f} s")
        return path

    with cf.ThreadPoolExecutor(max(1, jobs)) as ex:
        for path in ex.map(one, todo):
            _FRESH.add(path)
    return out


def ensure_runs(
    names: list[str], reuse: bool, jobs: int = 1, runs_dir: Path = RUNS
) -> dict[str, Path]:
    """Run the paper configs ``names`` with their own seed into docs/figures/runs/NAME.h5
    (unless reused); {name: path}. (docs/paper_figures.py uses this.)"""
    runs = ensure_seed_runs([(n, None) for n in names], reuse, jobs, runs_dir)
    return {n: runs[n, None] for n in names}


# --- workers (module level: they run in a process pool) ---------------------------------


@contextlib.contextmanager
def worker_pool(jobs: int):
    """A process pool of ``jobs`` single-threaded workers (spawned), or None for 1."""
    if jobs <= 1:
        yield None
        return
    # the sweep pool's rule: the workers inherit one thread each when spawned
    with single_threaded_children():
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            yield pool


def pmap(pool, fn, *iterables) -> list:
    return list(map(fn, *iterables)) if pool is None else list(pool.map(fn, *iterables))


def _rve_conductivity(seed: int, params, spacing_m: float) -> float:
    """Homogenized pristine PEO conductivity (S/m) of the RVE of ``seed``."""
    rule = params.recrystallization
    sigma = params.conductivity_S_per_m
    return homogenized_conductivity(
        rule.fraction(params.temperature_K, 0.0),
        rule.domain_diameter(params.temperature_K, 0.0),
        spacing_m, sigma[phases.AMORPHOUS_PEO], sigma[phases.CRYSTALLINE_PEO],
        np.random.default_rng(seed),
    )  # fmt: skip


def _summary(path: Path, params) -> dict:
    """`kmc analyze`'s summary of the last snapshot of ``path``."""
    return analysis.analyze_run(path, params)[1]


def _membrane(path: Path, params) -> float:
    return _summary(path, params)["membrane_resistance_ohm"]


def measured_state(path: Path, params):
    """(phase, spacing, params) of the last snapshot in its measurement state, as
    analyze_run hands them to analyze_morphology."""
    phase, spacing, t, _ = analysis.load_snapshot(path)
    if params.recrystallization is not None:
        phase, params, _ = analysis.measurement_state(path, phase, spacing, t, params)
    return phase, spacing, params


def _interfacial(state, i0: float) -> float | None:
    """Interfacial resistance (ohm) of a measurement state with cathode i0 (A/m^2)."""
    phase, spacing, params = state
    anode = params.exchange_current_A_per_m2[1]
    p = dataclasses.replace(params, exchange_current_A_per_m2=(i0, anode))
    return analyze_morphology(phase, spacing, p).interfacial_resistance_ohm


# --- statistics and fits -------------------------------------------------------------------


def seed_stats(values) -> dict:
    """mean, sd (ddof 1), SE = sd / sqrt(n) and n of the values that are not None (None
    where undefined; n_none counts the Nones, e.g. a blocking cathode's R_i)."""
    values = list(values)
    vals = [float(v) for v in values if v is not None]
    n = len(vals)
    out = {"mean": None, "se": None, "sd": None, "n": n, "n_none": len(values) - n}
    if n:
        a = np.asarray(vals)
        out["mean"] = float(a.mean())
        if n > 1 and np.all(np.isfinite(a)):
            out["sd"] = float(a.std(ddof=1))
            out["se"] = out["sd"] / math.sqrt(n)
    return out


def fit_log(
    excess,
    x0: float,
    slope: float,
    bounds: tuple[float, float],
    tol: float = FIT_TOL,
    max_step: float = 1.0,
    maxiter: int = 25,
) -> float:
    """x > 0 with excess(x) = 0 (excess: ln(mean / target)), by the secant method in ln x
    from x0 and a first step with d excess / d ln x = ``slope`` (steps capped at
    ``max_step`` in ln x, kept in ``bounds``); brentq in the bounds if it does not converge."""
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    cache = {}

    def g(u):
        if u not in cache:
            cache[u] = excess(math.exp(u))
        return cache[u]

    u0 = math.log(x0)
    g0 = g(u0)
    if abs(g0) <= tol:
        return math.exp(u0)
    u1 = min(max(u0 - float(np.clip(g0 / slope, -max_step, max_step)), lo), hi)
    g1 = g(u1)
    for _ in range(maxiter):
        if abs(g1) <= tol:
            return math.exp(u1)
        if g1 == g0:
            break
        step = float(np.clip(-g1 * (u1 - u0) / (g1 - g0), -max_step, max_step))
        u0, g0 = u1, g1
        u1 = min(max(u1 + step, lo), hi)
        g1 = g(u1)
    return math.exp(brentq(g, lo, hi, xtol=tol / 10))


@dataclasses.dataclass
class SeedFit:
    """A value fitted to the mean over ``seeds`` of a quantity, and that quantity per seed
    at the value."""

    value: float
    seeds: list[int]
    per_seed: dict[int, float]
    target: float
    converged: bool = True

    def report(self) -> dict:
        stats = seed_stats([self.per_seed[s] for s in self.seeds])
        se = stats["se"]
        return {
            "value": self.value,
            "seeds": list(self.seeds),
            "per_seed": {str(s): self.per_seed[s] for s in self.seeds},
            "target": self.target,
            "se_fraction_of_target": None if se is None else se / self.target,
            "converged": self.converged,
        } | stats


def _more_seeds(stats: dict, target: float, batch: int, max_seeds: int) -> int:
    """How many seeds the next batch adds: ``batch``, or up to the n that the sd so far says
    the 3 % needs (sd / (SE_FRACTION target))^2, rounded up to batches, at most doubling n."""
    n = stats["n"]
    need = n + batch
    if stats["sd"] is not None:
        want = math.ceil((stats["sd"] / (SE_FRACTION * abs(target))) ** 2)
        need = max(need, min(2 * n, batch * math.ceil(want / batch)))
    return min(need, max_seeds) - n


def seed_fit(
    fit_on,
    target: float,
    seeds=None,
    first: int = 1,
    min_seeds: int = MIN_SEEDS,
    batch: int = SEED_BATCH,
    max_seeds: int = MAX_SEEDS,
    label: str = "",
) -> SeedFit:
    """``fit_on(seeds) -> (value, {seed: quantity at value})`` on ``first``, first + 1, ...:
    min_seeds of them, then batches until SE(mean) <= SE_FRACTION x target or max_seeds.
    A given ``seeds`` list is used as it is (no batches)."""
    fixed = seeds is not None
    seeds = list(seeds) if fixed else list(range(first, first + min_seeds))
    while True:
        value, per_seed = fit_on(seeds)
        stats = seed_stats([per_seed[s] for s in seeds])
        se = stats["se"]
        ok = se is not None and se <= SE_FRACTION * abs(target)
        pct = "n/a" if se is None else f"{100 * se / abs(target):.1f} %"
        log(f"  {label}: {value:.5g} on {len(seeds)} seeds: mean {stats['mean']:.5g}, SE {pct}")
        if ok or fixed or len(seeds) >= max_seeds:
            break
        seeds += list(
            range(seeds[-1] + 1, seeds[-1] + 1 + _more_seeds(stats, target, batch, max_seeds))
        )
    if not ok:
        why = "the seed list given" if fixed else f"the cap of {max_seeds} seeds"
        log(
            f"NOT CONVERGED: {label}: SE of the mean is {pct} of the target with {why} "
            f"(asked: <= {100 * SE_FRACTION:.0f} %); the value rests on {len(seeds)} seeds"
            + ("" if fixed else "; raise --max-seeds for more")
        )
    return SeedFit(value, seeds, {s: per_seed[s] for s in seeds}, target, ok)


def pristine_conductivities(params, spacing_m: float, seeds, pool=None) -> dict[int, float]:
    """{RVE seed: homogenized pristine conductivity (S/m)} at ``params``."""
    n = len(seeds)
    return dict(
        zip(seeds, pmap(pool, _rve_conductivity, seeds, [params] * n, [spacing_m] * n), strict=True)
    )


def with_amorphous(params, sigma_a: float):
    sigma = params.conductivity_S_per_m | {phases.AMORPHOUS_PEO: sigma_a}
    return dataclasses.replace(params, conductivity_S_per_m=sigma)


def with_k2(params, k2: float):
    rule = dataclasses.replace(params.recrystallization, nucleation_constant_K2=k2)
    return dataclasses.replace(params, recrystallization=rule)


def with_cathode_i0(params, i0: float):
    return dataclasses.replace(
        params, exchange_current_A_per_m2=(i0, params.exchange_current_A_per_m2[1])
    )


def membrane_ratios(params, ss_runs: dict, seeds, pool=None) -> dict[int, float]:
    """{seed: R_membrane(polymerized) / R_membrane(pristine)} from `kmc analyze`'s pipeline;
    ``ss_runs`` maps (name, seed) -> run file."""
    paths = [ss_runs[name, s] for s in seeds for name in SS_PAIR]
    r = pmap(pool, _membrane, paths, [params] * len(paths))
    return {s: r[2 * k + 1] / r[2 * k] for k, s in enumerate(seeds)}


def membrane_ratio(params, pristine: Path, polymerized: Path) -> float:
    """R_membrane(polymerized) / R_membrane(pristine) of one pair of run files."""
    return _membrane(polymerized, params) / _membrane(pristine, params)


def fit_amorphous(params, spacing_m: float, pool=None, seeds=None, **batches) -> SeedFit:
    """Amorphous PEO conductivity (S/m): mean pristine membrane conductivity 2.84e-3 S/m."""
    x0 = params.conductivity_S_per_m[phases.AMORPHOUS_PEO]

    def fit_on(rve_seeds):
        evals = {}

        def excess(sigma_a):
            evals[sigma_a] = pristine_conductivities(
                with_amorphous(params, sigma_a), spacing_m, rve_seeds, pool
            )
            return math.log(np.mean(list(evals[sigma_a].values())) / PRISTINE_CONDUCTIVITY_S_PER_M)

        bounds = (PRISTINE_CONDUCTIVITY_S_PER_M, 1e3 * PRISTINE_CONDUCTIVITY_S_PER_M)
        value = fit_log(excess, x0, 1.0, bounds)
        if value not in evals:
            excess(value)
        return value, evals[value]

    if seeds is None:
        # exactly the representative volumes `kmc analyze` averages: their mean is the
        # model's semicrystalline conductivity
        first = analysis.HOMOGENIZATION_SEED
        seeds = list(range(first, first + analysis.HOMOGENIZATION_VOLUMES))
    return seed_fit(
        fit_on,
        PRISTINE_CONDUCTIVITY_S_PER_M,
        seeds,
        first=analysis.HOMOGENIZATION_SEED,
        label=NAMES[0],
        **batches,
    )


def fit_k2(
    params, reuse: bool, jobs: int, runs_dir: Path, pool=None, seeds=None, **batches
) -> SeedFit:
    """Nucleation constant (K^2): mean SS membrane ratio 0.30."""
    x0 = params.recrystallization.nucleation_constant_K2

    def fit_on(run_seeds):
        runs = ensure_seed_runs([(n, s) for s in run_seeds for n in SS_PAIR], reuse, jobs, runs_dir)
        evals = {}

        def excess(k2):
            evals[k2] = membrane_ratios(with_k2(params, k2), runs, run_seeds, pool)
            return math.log(np.mean(list(evals[k2].values())) / MEMBRANE_RESISTANCE_RATIO)

        value = fit_log(excess, x0, -1.0, (1e4, 1e7), max_step=0.5)
        if value not in evals:
            excess(value)
        return value, evals[value]

    return seed_fit(fit_on, MEMBRANE_RESISTANCE_RATIO, seeds, label=NAMES[1], **batches)


def fit_cathode_i0(
    params, reuse: bool, jobs: int, runs_dir: Path, pool=None, seeds=None, **batches
) -> SeedFit:
    """Cathode exchange current (A/m^2): mean pristine LiFePO4 R_i 13040 ohm. Each seed's
    measurement state is taken once (it does not depend on i0); R_i(i0) is one solve."""
    x0 = params.exchange_current_A_per_m2[0]
    states, solved = {}, {}  # seed -> measurement state; (seed, i0) -> R_i

    def fit_on(run_seeds):
        runs = ensure_seed_runs([(LFP_PRISTINE, s) for s in run_seeds], reuse, jobs, runs_dir)
        new = [s for s in run_seeds if s not in states]
        paths = [runs[LFP_PRISTINE, s] for s in new]
        states.update(zip(new, pmap(pool, measured_state, paths, [params] * len(new)), strict=True))

        def per_seed(i0):
            todo = [s for s in run_seeds if (s, i0) not in solved]
            r = pmap(pool, _interfacial, [states[s] for s in todo], [i0] * len(todo))
            solved.update({(s, i0): v for s, v in zip(todo, r, strict=True)})
            out = {s: solved[s, i0] for s in run_seeds}
            if any(v is None for v in out.values()):
                raise RuntimeError(
                    f"{LFP_PRISTINE}: the interfacial resistance has no DC value (blocking "
                    "cathode?): i0 cannot be fitted to it"
                )
            return out

        def excess(i0):
            return math.log(np.mean(list(per_seed(i0).values())) / PRISTINE_LFP_INTERFACIAL_OHM)

        value = fit_log(excess, x0, -1.0, (1e-3, 10.0))
        return value, per_seed(value)

    return seed_fit(fit_on, PRISTINE_LFP_INTERFACIAL_OHM, seeds, label=NAMES[2], **batches)


def calibrate(
    seeds=None,
    reuse: bool = False,
    jobs: int = 2,
    runs_dir: Path = RUNS,
    seed_lists: dict | None = None,
    **batches,
) -> dict:
    """The three values, each on the mean over seeds of its target (in order: each fit uses
    the ones before), and the shipped ones. ``seeds``: one fixed list of run seeds for
    fits 2 and 3 (None: batches); ``seed_lists``: {name: list} per fit (overrides);
    ``batches``: min_seeds, batch, max_seeds of :func:`seed_fit`."""
    shipped = load_transport_parameters()
    lists = {NAMES[1]: seeds, NAMES[2]: seeds} | (seed_lists or {})
    spacing = analysis.HOMOGENIZATION_SPACING_M  # the RVEs' voxel, whatever the runs' a
    fits = {}
    with worker_pool(jobs) as pool:
        fits[NAMES[0]] = fit_amorphous(shipped, spacing, pool, lists.get(NAMES[0]), **batches)
        params = with_amorphous(shipped, fits[NAMES[0]].value)
        fits[NAMES[1]] = fit_k2(params, reuse, jobs, runs_dir, pool, lists.get(NAMES[1]), **batches)
        params = with_k2(params, fits[NAMES[1]].value)
        fits[NAMES[2]] = fit_cathode_i0(
            params, reuse, jobs, runs_dir, pool, lists.get(NAMES[2]), **batches
        )
    shipped_values = (
        shipped.conductivity_S_per_m[phases.AMORPHOUS_PEO],
        shipped.recrystallization.nucleation_constant_K2,
        shipped.exchange_current_A_per_m2[0],
    )
    out = {n: fits[n].value for n in NAMES}
    out |= {"shipped_" + n: v for n, v in zip(NAMES, shipped_values, strict=True)}
    out |= {
        "pristine_conductivity_target_S_per_m": PRISTINE_CONDUCTIVITY_S_PER_M,
        "membrane_resistance_ratio_target": MEMBRANE_RESISTANCE_RATIO,
        "pristine_lfp_interfacial_target_ohm": PRISTINE_LFP_INTERFACIAL_OHM,
        "se_fraction_asked": SE_FRACTION,
    }
    out["fits"] = {n: {"target_quantity": TARGETS[n][0]} | fits[n].report() for n in NAMES}
    out["fits"][NAMES[0]]["seeds_are"] = (
        "RVE seeds (the HOMOGENIZATION_VOLUMES that kmc analyze averages)"
    )
    return out


def describe(out: dict) -> str:
    """One line per parameter: value, n seeds, mean +- SE of its target."""
    lines = []
    for n in NAMES:
        f = out["fits"][n]
        se = (
            "n/a"
            if f["se"] is None
            else f"{f['se']:.4g} ({100 * f['se_fraction_of_target']:.1f} %)"
        )
        seeds = f["seeds"]
        span = (
            f"{seeds[0]}..{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else seeds
        )
        lines.append(
            f"{n} = {f['value']:.5g} (shipped {out['shipped_' + n]:.5g}): {f['target_quantity']} "
            f"{f['mean']:.5g} +- {se}, n = {f['n']} seeds {span}; target {f['target']:.5g}"
            + ("" if f["converged"] else f"  [SE above {100 * SE_FRACTION:.0f} % of the target]")
        )
    return "\n".join(lines)


def _seed_list(text: str) -> list[int]:
    return [int(s) for s in text.replace(" ", "").split(",") if s]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--reuse", action="store_true", help="reuse runs in docs/figures/runs/")
    p.add_argument("--check", action="store_true", help="fail unless shipped values agree (1 %%)")
    p.add_argument("--jobs", type=int, default=2, help="parallel runs and analyses (default 2)")
    p.add_argument(
        "--seeds",
        type=_seed_list,
        default=None,
        help="fixed run seeds for K2 and i0, e.g. 1,2,3,4 (default: batches)",
    )
    p.add_argument(
        "--rve-seeds",
        type=_seed_list,
        default=None,
        help="fixed RVE seeds for the amorphous conductivity (default: batches)",
    )
    p.add_argument(
        "--seeds-from",
        type=Path,
        default=None,
        help="the per-fit seed lists of an earlier output JSON",
    )
    p.add_argument("--min-seeds", type=int, default=MIN_SEEDS)
    p.add_argument("--batch", type=int, default=SEED_BATCH)
    p.add_argument("--max-seeds", type=int, default=MAX_SEEDS)
    p.add_argument("--runs-dir", type=Path, default=RUNS)
    p.add_argument("-o", "--output", type=Path, default=RUNS / "calibration.json")
    args = p.parse_args(argv)
    lists = {}
    if args.seeds_from:
        lists = {n: f["seeds"] for n, f in json.loads(args.seeds_from.read_text())["fits"].items()}
    if args.rve_seeds:
        lists[NAMES[0]] = args.rve_seeds
    out = calibrate(
        args.seeds,
        args.reuse,
        args.jobs,
        args.runs_dir,
        lists,
        min_seeds=args.min_seeds,
        batch=args.batch,
        max_seeds=args.max_seeds,
    )
    log(describe(out))
    text = json.dumps(out, indent=1)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    if args.check:
        bad = [n for n in NAMES if abs(out["shipped_" + n] / out[n] - 1) > 0.01]
        for name in bad:
            log(
                f"shipped {name} differs from the calibration on seeds "
                f"{out['fits'][name]['seeds']} by more than 1 %"
            )
        if bad:
            sys.exit(1)
    return out


if __name__ == "__main__":
    main()
