"""Sweep files: axes over dotted config paths, replicas, seeds, and point identities."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kmc.config import ConfigError, RunConfig, parse_toml, read_text, validate_model
from kmc.config._physical import has_physical_inputs, per_site_data

_PATH_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Axis(_Strict):
    path: str
    """Dotted config path, list items by index: ``species[0].diffusivity_m2_per_s``."""
    values: Annotated[list[Any], Field(min_length=1)]


class Cluster(_Strict):
    queue: str | None = None
    account: str | None = None
    walltime: str = "01:00:00"
    memory: str = "4GB"
    cores: Annotated[int, Field(ge=1)] = 1
    jobs: Annotated[int, Field(ge=1)] = 1


class Sweep(_Strict):
    base: str | dict
    """Path of the base config (relative to the sweep file) or the config inline."""
    grid: list[Axis] = []
    zip: list[Axis] = []
    replicas: Annotated[int, Field(ge=1, le=100_000)] = 1
    root_seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    analyze: bool = False
    cpus_per_point: Annotated[int, Field(ge=1, le=1024)] = 1
    """Cores (threads) of each point: points of a config with ``[parallel]`` run the
    sector engine on ``min(cpus_per_point, sectors)`` threads; a serial config uses one.
    The result does not depend on it, nor does a point's identity."""


class SweepFile(_Strict):
    sweep: Sweep
    cluster: Cluster = Cluster()


@dataclass(frozen=True)
class Point:
    """One run of a sweep. ``ident`` hashes the resolved config and the replica."""

    index: int
    ident: str
    values: dict[str, Any]
    replica: int
    seed: int
    config: dict = field(repr=False)

    @property
    def name(self) -> str:
        return f"point_{self.ident}"


def _split(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.split("."):
        m = _PATH_PART.match(part)
        if not m:
            raise ValueError(f"malformed path component {part!r}")
        out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return out


def set_path(config: dict, path: str, value: Any) -> None:
    """Set ``value`` at a dotted path that must already exist in ``config``."""
    keys = _split(path)
    node: Any = config
    for depth, key in enumerate(keys):
        where = path if depth == len(keys) - 1 else ".".join(map(str, keys[: depth + 1]))
        if isinstance(key, int):
            if not isinstance(node, list) or not 0 <= key < len(node):
                raise KeyError(f"{path}: no list item [{key}] at {where!r}")
        elif not isinstance(node, dict) or key not in node:
            raise KeyError(f"{path}: the base config has no key {key!r}")
        if depth == len(keys) - 1:
            node[key] = value
        else:
            node = node[key]


def canonical(config: dict) -> str:
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def _identity_data(config: dict) -> dict:
    """What a point's identity hashes: its config with physical-form chemistry written
    as the per-site numbers it derives (the same simulation in either form has one
    identity and one seed), or the data as it is where it does not validate."""
    if not has_physical_inputs(config):  # the common case: no validation needed
        return config
    try:
        validated = validate_model(RunConfig, config, "sweep point")
    except ConfigError:
        return config
    return per_site_data(config, validated)


def point_seed(root_seed: int, ident: str, replica: int) -> int:
    """Seed from the root seed and the point identity (SeedSequence spawn key), so adding,
    removing or reordering points never changes another point's seed."""
    key = (int(ident[:16], 16), replica)
    state = np.random.SeedSequence(root_seed, spawn_key=key).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) | (int(state[1]) >> 1))


def load_sweep(path: str | Path) -> tuple[SweepFile, dict, Path]:
    """Parse a sweep file; returns (spec, base config dict, sweep file path)."""
    path = Path(path)
    spec = validate_model(
        SweepFile, parse_toml(read_text(path, "sweep file"), str(path)), str(path)
    )
    base = spec.sweep.base
    if isinstance(base, str):
        base_path = (path.parent / base).resolve()
        if not base_path.exists():
            raise ConfigError(f"{path}: sweep.base = {spec.sweep.base!r}: no such file")
        base = parse_toml(read_text(base_path, "base config"), str(base_path))
    lengths = {len(a.values) for a in spec.sweep.zip}
    if len(lengths) > 1:
        sizes = {a.path: len(a.values) for a in spec.sweep.zip}
        raise ConfigError(f"{path}: sweep.zip axes have different lengths {sizes}; they must match")
    for kind, axes in (("grid", spec.sweep.grid), ("zip", spec.sweep.zip)):
        for i, axis in enumerate(axes):
            try:
                set_path(copy.deepcopy(base), axis.path, axis.values[0])
            except (KeyError, ValueError) as exc:
                msg = exc.args[0] if exc.args else str(exc)  # KeyError's str() adds quotes
                raise ConfigError(
                    f"{path}: sweep.{kind}[{i}].path = {axis.path!r}: {msg}"
                ) from None
    _refuse_repeated_points(path, spec.sweep)
    return spec, base, path


def _value_key(value: Any) -> str:
    # equal as TOML values, not as Python ones (1 == 1.0 == True)
    return json.dumps(value, sort_keys=True, default=repr)


def _refuse_repeated_points(path: Path, s: Sweep) -> None:
    """Refuse axes that make two points of one identity.

    Such points would share one output file and one status file: they collide while
    running and the sweep can never be reported complete. Repeated runs of one config
    are what ``sweep.replicas`` is for (each replica has its own identity and seed).
    """
    axes = [("grid", i, a) for i, a in enumerate(s.grid)]
    axes += [("zip", i, a) for i, a in enumerate(s.zip)]
    owner: dict[str, str] = {}
    for kind, i, axis in axes:
        if axis.path in owner:
            raise ConfigError(
                f"{path}: sweep.{kind}[{i}].path = {axis.path!r} is also the path of "
                f"sweep.{owner[axis.path]}: sweep one config path on one axis only"
            )
        owner[axis.path] = f"{kind}[{i}]"
    for i, axis in enumerate(s.grid):
        first: dict[str, int] = {}
        for j, value in enumerate(axis.values):
            j0 = first.setdefault(_value_key(value), j)
            if j0 != j:
                raise ConfigError(
                    f"{path}: sweep.grid[{i}].values (path {axis.path!r}) repeats {value!r} "
                    f"(items {j0} and {j}): the two points would be one run; remove the "
                    "repeat (sweep.replicas repeats runs with distinct seeds)"
                )
    rows = list(zip(*(a.values for a in s.zip), strict=True))
    first = {}
    for j, row in enumerate(rows):
        j0 = first.setdefault(_value_key(list(row)), j)
        if j0 != j:
            shown = ", ".join(f"{a.path} = {v!r}" for a, v in zip(s.zip, row, strict=True))
            raise ConfigError(
                f"{path}: sweep.zip repeats the values of item {j0} at item {j} ({shown}): "
                "the two points would be one run; remove the repeat (sweep.replicas "
                "repeats runs with distinct seeds)"
            )


def plan(spec: SweepFile, base: dict) -> list[Point]:
    """Every point: the grid's Cartesian product, crossed with the zipped axes, x replicas."""
    s = spec.sweep
    grid = [[(a.path, v) for v in a.values] for a in s.grid]
    zipped = (
        [list(zip(*[[(a.path, v) for v in a.values] for a in s.zip], strict=True))] if s.zip else []
    )
    combos = []
    for g in itertools.product(*grid):
        for z in zipped[0] if zipped else [()]:
            combos.append(dict(list(g) + list(z)))
    points: list[Point] = []
    seen: dict[str, Point] = {}
    for values in combos:
        cfg = copy.deepcopy(base)
        for p, v in values.items():
            # a copy: a table value must not be changed by an axis on a path inside it
            set_path(cfg, p, copy.deepcopy(v))
        identity = canonical(_identity_data(cfg))
        for r in range(s.replicas):
            ident = hashlib.sha256(f"{identity}#replica={r}".encode()).hexdigest()[:16]
            seed = point_seed(s.root_seed, ident, r)
            point = Point(len(points), ident, values, r, seed, cfg)
            if ident in seen:
                # load_sweep refuses repeated values; this catches axes that overlap
                # (a path inside another axis's path) and callers that skip load_sweep
                raise ConfigError(
                    f"sweep points {seen[ident].index} ({seen[ident].values}) and "
                    f"{point.index} ({values}) resolve to one config: they would be one run"
                )
            seen[ident] = point
            points.append(point)
    return points


def validate_point(point: Point) -> str | None:
    """None when the point's config is valid, else the error message."""
    try:
        validate_model(RunConfig, point.config, point.name)
    except ConfigError as exc:
        return str(exc)
    return None
