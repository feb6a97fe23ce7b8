"""The one pydantic base of every config section (run configs, transport files, sweeps)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section: unknown keys rejected, values immutable, no silent coercion.

    ``strict``: a TOML ``true`` is not an integer and ``"333.15"`` is not a float (an
    integer is still accepted where a float is expected). ``allow_inf_nan=False``: ``inf``
    and ``nan`` are refused in every float field, since every float of a config feeds a
    rate, a length or a time that must be finite.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
