"""Typed, read-only access to a finished run file: ``kmc.open(path)``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import h5py
import numpy as np

from kmc.config._config import RunConfig, parse_config
from kmc.runfile import _io as io
from kmc.simulation._model import Model


@dataclass(frozen=True)
class Snapshot:
    """One stored lattice frame; arrays are indexed [z, y, x]."""

    index: int
    step: int
    time_s: float
    phase: np.ndarray  # uint8 host-phase codes
    species: np.ndarray  # uint8: species index + 1, 0 = empty


@dataclass(frozen=True)
class Series:
    """One time series: values[n_samples, ...] with its unit."""

    name: str
    time_s: np.ndarray
    values: np.ndarray
    unit: str
    description: str


class Run:
    """A finished kmc run file. Opens the HDF5 file only while reading.

    Examples
    --------
    >>> run = kmc.open("out.h5")                      # doctest: +SKIP
    >>> run.snapshot(-1).phase.shape                  # doctest: +SKIP
    >>> run.series("film_thickness_mean").values      # doctest: +SKIP
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with io.open_h5(self.path) as f:
            self._config_text = str(f["parameters"].attrs["config_toml"])
            self.resolved = json.loads(f["parameters"].attrs["resolved_json"])
            self.seed = int(f["parameters"].attrs["seed"])
            self.n_snapshots = int(f["particles/lattice/phase/value"].shape[0])
            self.shape_zyx = tuple(f["particles/lattice/phase/value"].shape[1:])
            self.series_names = sorted(k for k in f["observables"] if k not in ("step", "time"))
            self.analysis_groups = sorted(f["analysis"]) if "analysis" in f else []

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, shape_zyx={self.shape_zyx}, snapshots={self.n_snapshots})"

    @cached_property
    def config(self) -> RunConfig:
        return parse_config(self._config_text, f"{self.path} (stored config)")

    @cached_property
    def model(self) -> Model:
        return Model.from_config(self.config)

    @property
    def spacing_m(self) -> float:
        return self.config.lattice.spacing_m

    @property
    def species_names(self) -> list[str]:
        return [s.name for s in self.config.species]

    def _index(self, snapshot: int) -> int:
        n = self.n_snapshots
        if not -n <= snapshot < n:
            raise io.RunFileError(
                f"{self.path}: snapshot {snapshot} out of range; the file holds {n} snapshots "
                f"(indices 0..{n - 1}, or negative from the end)"
            )
        return snapshot % n

    def snapshot(self, snapshot: int = -1) -> Snapshot:
        """Frame ``snapshot`` (negative counts from the end)."""
        i = self._index(snapshot)
        with io.open_h5(self.path) as f:
            lat = f["particles/lattice"]
            return Snapshot(
                i, int(lat["phase/step"][i]), float(lat["phase/time"][i]),
                lat["phase/value"][i], lat["species/value"][i],
            )  # fmt: skip

    def snapshot_times(self) -> np.ndarray:
        with io.open_h5(self.path) as f:
            return f["particles/lattice/phase/time"][()]

    def series(self, name: str) -> Series:
        """Time series ``name`` (see ``series_names``)."""
        if name not in self.series_names:
            raise KeyError(f"{self.path}: no time series {name!r}; have {self.series_names}")
        with io.open_h5(self.path) as f:
            ds = f["observables"][name]["value"]
            return Series(
                name, f["observables/time"][()], ds[()], str(ds.attrs.get("unit", "")),
                str(ds.attrs.get("description", "")),
            )  # fmt: skip

    def analysis(self, snapshot: int = -1) -> dict:
        """Stored `kmc analyze` results of a snapshot (attributes and arrays)."""
        i = self._index(snapshot)
        name = f"snapshot_{i:04d}"
        if name not in self.analysis_groups:
            raise io.RunFileError(
                f"{self.path}: no analysis for snapshot {i}; run `kmc analyze {self.path} "
                f"--snapshot {i}` first"
            )
        with io.open_h5(self.path) as f:
            g = f["analysis"][name]
            out = {k: (v.item() if hasattr(v, "item") else v) for k, v in g.attrs.items()}
            for key, item in g.items():
                if key == "impedance":  # a group of its own: run.impedance(i)
                    continue
                out[key] = item[()]
        return out

    def impedance(self, snapshot: int = -1):
        """The stored `kmc impedance` spectrum of a snapshot (``ImpedanceSpectrum``) and its
        attributes (Kramers-Kronig result, fit, DC numbers) as a dict."""
        from kmc.transport._impedance import ImpedanceSpectrum

        i = self._index(snapshot)
        name = f"snapshot_{i:04d}"
        with io.open_h5(self.path) as f:
            g = f.get(f"analysis/{name}/impedance")
            if not isinstance(g, h5py.Group):
                raise io.RunFileError(
                    f"{self.path}: no impedance spectrum for snapshot {i}; run `kmc impedance "
                    f"{self.path} --snapshot {i}` first"
                )
            spectrum = ImpedanceSpectrum(g["frequency"][()], g["Z_real"][()] + 1j * g["Z_imag"][()])
            info = {k: (v.item() if hasattr(v, "item") else v) for k, v in g.attrs.items()}
            if "fit" in info:
                info["fit"] = json.loads(info["fit"])
            if "Z_fit_real" in g:
                info["fitted_ohm"] = g["Z_fit_real"][()] + 1j * g["Z_fit_imag"][()]
        return spectrum, info


def open(path: str | Path) -> Run:  # noqa: A001 - mirrors builtins.open on purpose
    """Open a finished run file for reading (``kmc.open``)."""
    return Run(path)
