"""The configs that ship with the package, found by name.

The repository's ``configs/`` directory is installed as the package ``kmc.configs``
(a setuptools package-dir mapping, as ``kernels/`` is installed as ``kmc.kernels``), and the
transport parameters live in ``kmc/data``. A shipped file has a name: its path below
``configs/`` without ``.toml`` (``zheng2021_lfp_galvanostatic``, ``examples/quickstart``,
``sweeps/damkohler``), or just its stem where that is unique (``quickstart``,
``damkohler``); the transport file is ``transport_peo_40C``.

``kmc run NAME``, ``kmc config validate NAME``, ``kmc config list`` and
``kmc config copy NAME [DEST]`` use this module. A file path always wins over a name.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import kmc

__all__ = [
    "ShippedConfig",
    "ShippedError",
    "configs_root",
    "copy_shipped",
    "find_shipped",
    "shipped_configs",
]

# One line each for `kmc config list`; a file not named here is described by the first
# line of its header comment.
_DESCRIPTIONS = {
    "examples/quickstart": "small diffusion-limited growth run on a flat cathode (seconds)",
    "examples/physical_units": (
        "small SS||Li cell held at 2.3 V, chemistry in physical units (derived per site)"
    ),
    "zheng2021_lfp_galvanostatic": (
        "paper: LiFePO4||Li, 5 uA galvanostatic 1.5-2.0 V, 300 cycles, 60 degC (~5 min)"
    ),
    "zheng2021_lfp_galvanostatic_pristine": "paper: the LiFePO4||Li cell without bithiophene",
    "zheng2021_ss_galvanostatic": (
        "paper: stainless steel||Li, 5 uA galvanostatic 1.5-2.0 V, 300 cycles, 60 degC"
    ),
    "zheng2021_ss_galvanostatic_pristine": "paper: the SS||Li cell without bithiophene",
    "zheng2021_cv_symmetric": "paper: symmetric cell, CV 0-1.0-0 V at 2 mV/s, 100 cycles, 60 degC",
    "zheng2021_cv_symmetric_pristine": "paper: the CV symmetric cell without bithiophene",
    "sweeps/damkohler": "quickstart growth over Da = 1, 10, 100, two replicas",
    "sweeps/damkohler_loading": ("morphology map over Da (0.1-100) and monomer loading (0.5-2 %)"),
    "sweeps/cv_window_depth": "the CV paper config with 0.4, 1.2 and 3 um lattice windows",
    "sweeps/nucleation_map": "nucleation on bare metal against growth on the film, 3 x 3",
    "examples/nucleation": "nucleation on bare metal and growth on the PT film (seconds)",
    "transport_peo_40C": ("per-phase conductivities at 40 degC for kmc analyze --transport"),
}

_MARKER = "zheng2021_lfp_galvanostatic.toml"


class ShippedError(Exception):
    """A shipped config that cannot be found or copied; the message says why."""


@dataclass(frozen=True)
class ShippedConfig:
    name: str
    """Path below configs/ without .toml (``examples/quickstart``); ``transport_peo_40C``."""
    kind: str
    """``config``, ``sweep`` or ``transport``."""
    path: Path
    description: str


def configs_root() -> Path:
    """Directory of the shipped configs: the installed ``kmc.configs`` package, or the
    ``configs/`` directory beside the ``kmc`` package in a source tree (an editable install
    made before ``kmc.configs`` was mapped)."""
    try:
        spec = importlib.util.find_spec("kmc.configs")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if (Path(location) / _MARKER).is_file():
                return Path(location)
    source_tree = Path(kmc.__file__).resolve().parent.parent / "configs"
    if (source_tree / _MARKER).is_file():
        return source_tree
    raise ShippedError("the shipped configs are not installed (no kmc.configs package)")


def _transport_file() -> Path:
    return Path(kmc.__file__).resolve().parent / "data" / "transport_peo_40C.toml"


def _describe(name: str, path: Path) -> str:
    if name in _DESCRIPTIONS:
        return _DESCRIPTIONS[name]
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if text:
            return text
    return ""


def shipped_configs() -> list[ShippedConfig]:
    """Every shipped config, sweep and transport file, sorted: configs, sweeps, transport."""
    root = configs_root()
    found = []
    for path in sorted(root.rglob("*.toml")):
        name = path.relative_to(root).with_suffix("").as_posix()
        kind = "sweep" if name.startswith("sweeps/") else "config"
        found.append(ShippedConfig(name, kind, path, _describe(name, path)))
    transport = _transport_file()
    if transport.is_file():
        found.append(ShippedConfig("transport_peo_40C", "transport", transport,
                                   _describe("transport_peo_40C", transport)))  # fmt: skip
    order = {"config": 0, "sweep": 1, "transport": 2}
    return sorted(found, key=lambda c: (order[c.kind], c.name.count("/"), c.name))


def find_shipped(name: str) -> ShippedConfig | None:
    """The shipped config called ``name`` (path below configs/ or unique stem, with or
    without ``.toml``), or None. An ambiguous stem raises ShippedError naming the choices."""
    key = name[:-5] if name.endswith(".toml") else name
    key = key.removeprefix("configs/")
    try:
        every = shipped_configs()
    except ShippedError:
        return None
    exact = [c for c in every if c.name == key]
    if exact:
        return exact[0]
    by_stem = [c for c in every if c.name.rsplit("/", 1)[-1] == key]
    if len(by_stem) > 1:
        choices = ", ".join(c.name for c in by_stem)
        raise ShippedError(f"{name!r} names more than one shipped config: {choices}")
    return by_stem[0] if by_stem else None


_BASE_LINE = re.compile(r'^(\s*base\s*=\s*)(["\'])(?P<base>[^"\']+)\2', re.MULTILINE)


def copy_shipped(name: str, dest: str | Path | None = None,
                 overwrite: bool = False) -> list[tuple[Path, Path]]:  # fmt: skip
    """Copy the shipped config ``name`` to ``dest`` (a file, or a directory to copy into;
    default the working directory). A sweep's base config is copied beside it and the
    sweep's ``base`` is rewritten to that copy, so the copied sweep runs where it lies.
    Returns the (source, destination) pairs. Existing files are refused unless
    ``overwrite`` (or unless they already hold the same text)."""
    shipped = find_shipped(name)
    if shipped is None:
        raise ShippedError(f"no shipped config called {name!r} (kmc config list shows them)")
    if dest is not None and str(dest).endswith(("/", "\\")) and not Path(dest).is_dir():
        raise ShippedError(f"{dest}: no such directory")
    dest = Path(dest) if dest is not None else Path.cwd()
    target = dest / shipped.path.name if dest.is_dir() else dest
    text = shipped.path.read_text(encoding="utf-8")
    plan = []
    if shipped.kind == "sweep":
        match = _BASE_LINE.search(text)
        if match is not None:
            base_source = (shipped.path.parent / match["base"]).resolve()
            base_target = target.parent / base_source.name
            if base_target.resolve() == target.resolve():
                base_target = target.parent / f"{base_source.stem}_base.toml"
            text = (text[: match.start("base")] + base_target.name
                    + text[match.end("base"):])  # fmt: skip
            plan.append((base_source, base_target, base_source.read_text(encoding="utf-8")))
    plan.insert(0, (shipped.path, target, text))
    for _, to, content in plan:
        if to.exists() and not overwrite and to.read_text(encoding="utf-8") != content:
            raise ShippedError(f"{to} exists (use --overwrite to replace it)")
    if not target.parent.is_dir():
        raise ShippedError(f"{target.parent}: no such directory")
    for _, to, content in plan:
        to.write_text(content, encoding="utf-8")
    return [(source, to) for source, to, _ in plan]
