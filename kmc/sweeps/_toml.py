"""A small TOML writer for resolved run configs (tables, arrays of tables, scalars)."""

from __future__ import annotations

import json
import math
from typing import Any


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v} to TOML")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_scalar(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps(data: dict) -> str:
    """TOML text for a config dict (round-trips through tomllib)."""
    lines: list[str] = []
    _table(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and v and all(isinstance(x, dict) for x in v)


def _table(data: dict, prefix: list[str], lines: list[str]) -> None:
    simple = {k: v for k, v in data.items() if not isinstance(v, dict) and not _is_table_array(v)}
    for k, v in simple.items():
        lines.append(f"{k} = {_scalar(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{'.'.join([*prefix, k])}]")
            _table(v, [*prefix, k], lines)
        elif _is_table_array(v) and not prefix:
            for item in v:
                lines.append(f"\n[[{k}]]")
                _table_inline_arrays(item, lines)
        elif _is_table_array(v):
            lines.append(f"{k} = {_scalar(v)}")


def _table_inline_arrays(item: dict, lines: list[str]) -> None:
    for k, v in item.items():
        lines.append(f"{k} = {_scalar(v)}")
