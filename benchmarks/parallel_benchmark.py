"""Sector engine speed: the LiFePO4 chemistry on a wide lattice, serial vs sectors.

    python benchmarks/parallel_benchmark.py --columns 96 --threads 1 2 --json

Builds configs/zheng2021_lfp_galvanostatic.toml on ``columns x columns`` columns (same
physics, 25 nm sites, 48 layers) and runs its protocol (the real driver) for
``--simulated-s`` seconds of simulated time from the same start with the serial engine
and with the sector engine ([parallel] sectors = columns / 24 per axis unless
``--sectors`` says otherwise) on each thread count. Reports wall seconds, events,
events/s in total and per thread, wall seconds per simulated second, the speed-up over
one sector thread, the Amdahl serial fraction it implies, and the cost split of one
thread: seconds per event and per sub-step (from a second run at a tenth of the
sub-step length: wall = n_events c_event + n_substeps c_substep).

Timing starts after ``--warmup-s`` of simulated time (the initial loading drains into
the membrane in the first ~0.3 s; after it the event rate is that of the whole run).

Projection: with serial fraction f, n threads run at 1 / (f + (1 - f) / n) times one
thread; the 10 x 10 um LiFePO4 run (400 x 400 columns) is projected from the measured
events per simulated second, scaled by area, over the full protocol's simulated time
(1760 s: the mean of the two 0.6 um runs in benchmarks/RESULTS.md; galvanostatic at a
set current density, so it does not depend on the width). Inputs are printed with it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numba
import numpy as np

from kmc.config import parse_config
from kmc.kernels import layout as L
from kmc.kernels import sectors as K
from kmc.simulation import LatticeEngine, Model, ProtocolDriver, SectorEngine, initial_phase

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "zheng2021_lfp_galvanostatic.toml"
# simulated time of the full LiFePO4 protocol (s): 1660 and 1860 s for seeds 1 and 2
# (benchmarks/RESULTS.md, "Paper configs", after the electrochemistry revision)
LFP_PROTOCOL_SIMULATED_S = 1760.0


def _model(columns: int, sectors: list[int] | None, hops: float) -> Model:
    text = CONFIG.read_text().replace("shape = [24, 24, 48]", f"shape = [{columns}, {columns}, 48]")
    if sectors is not None:
        text += f"\n[parallel]\nsectors = {sectors}\nsubstep_hops = {hops}\n"
    return Model.from_config(parse_config(text, str(CONFIG)))


def _time_run(
    model: Model, phase: np.ndarray, t_sim: float, threads: int | None, warmup: float
) -> dict:
    cls = LatticeEngine if model.config.parallel is None else SectorEngine
    eng = cls(model, 1, phase=phase.copy())
    if threads is not None:
        eng.threads = threads
    drv = ProtocolDriver(model, eng)
    drv.run_to(warmup, lambda ts: eng.run(ts, 10**15))  # compile, drain the loading
    e0 = int(eng.counters[L.C_EVENTS])
    k0 = int(eng.sector_pos[K.P_TOTAL]) if threads is not None else 0
    t0 = time.perf_counter()
    drv.run_to(warmup + t_sim, lambda ts: eng.run(ts, 10**15))
    wall = time.perf_counter() - t0
    events = int(eng.counters[L.C_EVENTS]) - e0
    out = {
        "wall_s": round(wall, 3),
        "events": events,
        "events_per_s": round(events / wall),
        "wall_s_per_simulated_s": round(wall / t_sim, 3),
        "events_per_simulated_s": round(events / t_sim),
    }
    if threads is not None:
        out["threads"] = threads
        out["events_per_s_per_thread"] = round(events / wall / threads)
        out["substeps"] = 4 * (int(eng.sector_pos[K.P_TOTAL]) - k0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--columns", type=int, default=96)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--sectors", type=int, nargs=2, default=None)
    ap.add_argument("--substep-hops", type=float, default=1.0)
    ap.add_argument("--simulated-s", type=float, default=1.0)
    ap.add_argument("--warmup-s", type=float, default=0.5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sectors = args.sectors or [max(1, args.columns // 24)] * 2
    serial_model = _model(args.columns, None, args.substep_hops)
    phase = initial_phase(serial_model, 1)
    res = {
        "columns": args.columns,
        "sectors": sectors,
        "substep_hops": args.substep_hops,
        "simulated_s": args.simulated_s,
        "numba_threading_layer": None,
        "serial": _time_run(serial_model, phase, args.simulated_s, None, args.warmup_s),
    }
    model = _model(args.columns, sectors, args.substep_hops)
    res["substep_s"] = SectorEngine(model, 1, phase=phase.copy()).sector_time[0]
    res["sector"] = [
        _time_run(model, phase, args.simulated_s, n, args.warmup_s) for n in args.threads
    ]
    res["numba_threading_layer"] = numba.threading_layer()
    one = next((r for r in res["sector"] if r["threads"] == 1), None)
    if one is not None:
        res["sector_1_thread_vs_serial_events_per_s"] = round(
            one["events_per_s"] / res["serial"]["events_per_s"], 3
        )
        # cost split of one thread: a second run with sub-steps ten times shorter
        fine = _time_run(
            _model(args.columns, sectors, args.substep_hops / 10),
            phase,
            args.simulated_s / 4,
            1,
            args.warmup_s,
        )
        a = np.array([[one["events"], one["substeps"]], [fine["events"], fine["substeps"]]])
        c_event, c_sub = np.linalg.solve(a.astype(float), [one["wall_s"], fine["wall_s"]])
        res["cost_per_event_s"] = float(f"{c_event:.3g}")
        res["cost_per_substep_s"] = float(f"{c_sub:.3g}")
        for r in res["sector"]:
            n = r["threads"]
            r["speedup_vs_1_thread"] = round(one["wall_s"] / r["wall_s"], 3)
            if n > 1:
                s = one["wall_s"] / r["wall_s"]
                r["amdahl_serial_fraction"] = round((n / s - 1) / (n - 1), 4)
        fracs = [
            r["amdahl_serial_fraction"] for r in res["sector"] if "amdahl_serial_fraction" in r
        ]
        if fracs:
            f = max(fracs[-1], 0.0)
            per_thread = one["events_per_s"]
            rate = res["serial"]["events_per_simulated_s"] * (400 / args.columns) ** 2
            events_10um = rate * LFP_PROTOCOL_SIMULATED_S
            res["projection"] = {
                "serial_fraction_used": f,
                **{f"speedup_{n}_threads": round(1 / (f + (1 - f) / n), 1) for n in (16, 64, 128)},
                "lfp_10um_events_assumed": events_10um,
                "lfp_10um_wall_h_on_64_cores": round(
                    events_10um / (per_thread / (f + (1 - f) / 64)) / 3600, 2
                ),
            }
    print(json.dumps(res, indent=1) if args.json else res)


if __name__ == "__main__":
    main()
