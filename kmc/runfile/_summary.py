"""What a run file holds, in one look (`kmc info`): config and seed, versions, how far
it got, wall time, the final morphology per electrode, stored analyses, and the
commands that resume or reproduce it. Works on a finished ``OUT.h5`` and on a run still
in ``OUT.h5.partial/`` (from its checkpoint)."""

from __future__ import annotations

import hashlib
import json
import shlex
import tomllib
from pathlib import Path

import h5py
import numpy as np

from kmc.kernels import layout as L
from kmc.runfile import _io as io

MORPHOLOGY = (
    ("film_thickness_mean", "m"),
    ("film_thickness_max", "m"),
    ("coverage", "fraction of the electrode face"),
    ("deposit_sites", "sites"),
)
"""Per-electrode series reported at the last sample: (name, unit)."""

ANALYSIS_KEYS = (
    "membrane_resistance_ohm",
    "interfacial_resistance_ohm",
    "total_resistance_ohm",
    "effective_conductivity_S_per_m",
    "short_circuit",
)
"""The key results of a stored `kmc analyze` (those a snapshot's group holds)."""


def config_hash(config_text: str) -> str:
    """First 16 hex digits of the SHA-256 of the config text as stored (verbatim)."""
    return hashlib.sha256(config_text.encode()).hexdigest()[:16]


def _config_argument(command_line: list[str]) -> str | None:
    """The CONFIG a `kmc run` command line named (its first argument after ``run``)."""
    if "run" not in command_line:
        return None
    rest = command_line[command_line.index("run") + 1 :]
    return rest[0] if rest and not rest[0].startswith("-") else None


def _attr(value):
    return value.item() if hasattr(value, "item") else value


def run_info(path: str | Path) -> dict:
    """Summary of the run at ``path`` (``OUT.h5``, or its ``OUT.h5.partial/``).

    Raises
    ------
    kmc.runfile.RunFileError
        Neither a finished run file nor a partial run with a checkpoint is there.
    """
    final = Path(path)
    if final.name.endswith(".partial"):
        final = final.with_name(final.name[: -len(".partial")])
    part = io.partial_path(final)
    if final.exists():
        info = _finished(final)
        if io.holds_checkpoint(part):
            info["note"] = f"{part} also holds an unfinished run (a later start?)"
        return info
    if io.holds_checkpoint(part):
        return _partial(final, part)
    raise io.RunFileError(
        f"{final}: no run file there, and no checkpoint in {part} (nothing to describe)"
    )


def _header(config_text: str, seed: int, provenance: dict) -> dict:
    cmd = json.loads(provenance.get("command_line", "[]"))
    return {
        "config": _config_argument(cmd),
        "config_hash": config_hash(config_text),
        "seed": int(seed),
        "versions": {k: v for k, v in provenance.items() if k.endswith("_version")},
        "host": provenance.get("host"),
        "started_utc": provenance.get("started_utc"),
        "command_line": cmd,
    }


def _commands(info: dict, final: Path, complete: bool) -> dict:
    cfg = info["config"] or "CONFIG.toml"
    out = shlex.quote(str(final))
    reproduce = (
        f"kmc info {out} --config-out run.toml && kmc run run.toml -o COPY.h5 --seed {info['seed']}"
    )
    commands = {"reproduce": reproduce}
    if not complete:
        commands["resume"] = f"kmc run {shlex.quote(cfg)} -o {out} --resume"
    return commands


def _finished(final: Path) -> dict:
    with io.open_h5(final) as f:
        par = f["parameters"].attrs
        text = str(par["config_toml"])
        prov = {k: _attr(v) for k, v in f["provenance"].attrs.items()}
        info = {"path": str(final), "state": "complete"} | _header(text, par["seed"], prov)
        obs = f["observables"]
        t = obs["time"][()]
        info["simulated_time_s"] = float(t[-1])
        info["samples"] = int(t.size)
        info["snapshots"] = int(f["particles/lattice/phase/value"].shape[0])
        info["events"] = int(obs["events/value"][-1])
        if "cycles" in obs:
            info["protocol_cycles_done"] = int(obs["cycles/value"][-1])
        info["wall_seconds"] = float(prov.get("wall_seconds", float("nan")))
        info["finished_utc"] = prov.get("finished_utc")
        info["resumed"] = len(json.loads(prov.get("resume_command_lines", "[]")))
        info["morphology"] = _morphology(obs, "{}/value")
        if "pt_units" in obs:
            info["pt_units"] = float(obs["pt_units/value"][-1])
        info["analyses"] = _analyses(f)
    info["protocol_cycles_total"] = _cycles_total(text)
    return info | {"commands": _commands(info, final, complete=True)}


def _morphology(group: h5py.Group, dataset: str) -> dict:
    """``MORPHOLOGY`` at the last sample, per electrode; ``dataset.format(name)`` is a
    series' [sample, electrode] dataset in ``group`` (a run file nests it in ``value``,
    a segment does not)."""
    out = {}
    for name, unit in MORPHOLOGY:
        if name in group:
            last = group[dataset.format(name)][-1]
            out[name] = {"unit": unit, "cathode": float(last[0]), "anode": float(last[1])}
    return out


def _analyses(f: h5py.File) -> dict:
    out = {}
    for name, g in f["analysis"].items() if "analysis" in f else []:
        entry = {k: _attr(g.attrs[k]) for k in ANALYSIS_KEYS if k in g.attrs}
        if "impedance" in g:
            imp = g["impedance"].attrs
            spectrum = {"frequencies": int(g["impedance/frequency"].shape[0])}
            for k in ("kk_max_residual", "kk_resolved", "fit_bulk_resistance_ohm",
                      "fit_interfacial_resistance_ohm"):  # fmt: skip
                if k in imp:
                    spectrum[k] = _attr(imp[k])
            entry["impedance"] = spectrum
        out[name] = entry
    return out


def _cycles_total(config_text: str) -> int | None:
    """The protocol's cycles in the stored config (None without a cycling protocol)."""
    try:
        protocol = tomllib.loads(config_text).get("protocol") or {}
    except tomllib.TOMLDecodeError:
        return None
    cycles = protocol.get("cycles")
    return int(cycles) if isinstance(cycles, int) else None


def _partial(final: Path, part: Path) -> dict:
    meta = json.loads((part / "meta.json").read_text(encoding="utf-8"))
    with h5py.File(part / "checkpoint.h5", "r") as ck:
        attrs = {k: _attr(v) for k, v in ck.attrs.items()}
        clock = float(np.asarray(ck["clock"])[0])
        counters = np.asarray(ck["counters"])
    info = {"path": str(final), "state": "partial (resumable from its checkpoint)"}
    info |= _header(meta["config_toml"], meta["seed"], meta["provenance"])
    info["simulated_time_s"] = clock
    info["samples"] = int(attrs.get("next_sample", 0))
    info["events"] = int(counters[L.C_EVENTS])
    info["wall_seconds"] = float(attrs.get("wall_seconds", float("nan")))
    info["protocol_cycles_total"] = _cycles_total(meta["config_toml"])
    info |= _last_sample(part, int(attrs.get("n_segments", 0)))
    return info | {"commands": _commands(info, final, complete=False)}


def _last_sample(part: Path, n_segments: int) -> dict:
    """Cycles and morphology at the last sample a partial run's checkpoint covers (its
    segments ``0 .. n_segments - 1``)."""
    for i in reversed(range(n_segments)):
        seg = part / f"segment_{i:06d}.h5"
        if not seg.exists():
            continue
        with h5py.File(seg, "r") as f:
            if "obs" not in f or "events" not in f["obs"]:
                continue
            obs = f["obs"]
            out: dict = {"last_sample_time_s": float(f["time"][-1])} if "time" in f else {}
            if "cycles" in obs:
                out["protocol_cycles_done"] = int(obs["cycles"][-1])
            out["morphology"] = _morphology(obs, "{}")
            return out
    return {}


def stored_config(path: str | Path) -> str:
    """The config text a run stored (verbatim; finished or partial)."""
    final = Path(path)
    if final.exists():
        with io.open_h5(final) as f:
            return str(f["parameters"].attrs["config_toml"])
    part = io.partial_path(final)
    if (part / "meta.json").exists():
        return json.loads((part / "meta.json").read_text(encoding="utf-8"))["config_toml"]
    raise io.RunFileError(f"{final}: no run file and no partial run to read a config from")


def describe(info: dict) -> str:
    """The summary as aligned text lines."""
    lines = [f"{info['path']}: {info['state']}"]
    if "note" in info:
        lines.append(f"  note: {info['note']}")
    lines.append(f"  config        {info['config']} (sha256 {info['config_hash']}), seed "
                 f"{info['seed']}")  # fmt: skip
    versions = ", ".join(f"{k.removesuffix('_version')} {v}" for k, v in info["versions"].items())
    lines.append(f"  versions      {versions}")
    lines.append(f"  started       {info['started_utc']} on {info['host']}")
    cyc = ""
    if info.get("protocol_cycles_total") is not None:
        done = info.get("protocol_cycles_done", "?")
        cyc = f", protocol cycles {done} of {info['protocol_cycles_total']}"
    lines.append(f"  reached       t = {info['simulated_time_s']:.6g} s simulated, "
                 f"{info['events']:.4g} events, {info['samples']} samples{cyc}")  # fmt: skip
    lines.append(f"  wall time     {info['wall_seconds']:.1f} s"
                 + (f" ({info['resumed']} resume(s))" if info.get("resumed") else ""))  # fmt: skip
    if "last_sample_time_s" in info:
        lines.append(f"  last sample   t = {info['last_sample_time_s']:.6g} s:")
    for name, m in info.get("morphology", {}).items():
        lines.append(f"  {name:22s} cathode {m['cathode']:.4g}, anode {m['anode']:.4g} "
                     f"({m['unit']})")  # fmt: skip
    if "pt_units" in info:
        lines.append(f"  pt_units               {info['pt_units']:.6g} (monomer units in PT)")
    for name, entry in info.get("analyses", {}).items():
        shown = ", ".join(f"{k} {v:.5g}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in entry.items() if k != "impedance")  # fmt: skip
        lines.append(f"  analysis {name}: {shown or '(no key results)'}")
        if "impedance" in entry:
            imp = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in entry["impedance"].items())  # fmt: skip
            lines.append(f"    impedance: {imp}")
    if not info.get("analyses") and info["state"] == "complete":
        lines.append(f"  analyses      none stored (kmc analyze {info['path']})")
    for what, cmd in info["commands"].items():
        lines.append(f"  {what:13s} {cmd}")
    return "\n".join(lines)
