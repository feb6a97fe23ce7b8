"""Command line interface: the ``kmc`` click group."""

from __future__ import annotations

import logging
import sys

import click

from kmc._version import __version__


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group()
@click.version_option(__version__, prog_name="kmc")
def main() -> None:
    """Kinetic Monte Carlo of in-situ electrochemical polymerization."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s kmc: %(message)s", stream=sys.stderr
    )


@main.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="OUT.h5")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help="Override run.seed.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output when done.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint in OUT.h5.partial.")
@click.option(
    "--progress", type=click.Choice(["auto", "bar", "log", "off"]), default="auto",
    show_default=True, help="Progress bar (terminal), log lines (batch) or nothing.",
)  # fmt: skip
def run(config_path, output, seed, overwrite, resume, progress) -> None:
    """Run the simulation described by CONFIG into OUT.h5."""
    from kmc.config import ConfigError, load_config
    from kmc.io import RunFileError
    from kmc.model import Model
    from kmc.simulation import RunError, RunInterrupted, run_simulation

    if overwrite and resume:
        _fail("--overwrite and --resume exclude each other")
    try:
        cfg, text = load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc))
    model = Model.from_config(cfg)
    for i, name in enumerate(model.species_names):
        for e, electrode in enumerate(("cathode", "anode")):
            if model.reaction_rate_per_s[i, e] > 0:
                click.echo(
                    f"{name} at {electrode}: Da = k a^2/D = {model.damkohler[i, e]:.4g}"
                    f", field bias u = {model.field_bias[i]:.4g}",
                    err=True,
                )
    try:
        summary = run_simulation(
            cfg, text, output, seed=seed, overwrite=overwrite, resume=resume,
            progress=progress, command_line=sys.argv,
        )  # fmt: skip
    except (RunError, RunFileError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the run to {output}: {exc}")
    except RunInterrupted as exc:
        _fail(f"{exc}; continue with: kmc run {config_path} -o {output} --resume", 130)
    if summary.already_complete:
        click.echo(f"{output} is already complete; nothing to do", err=True)
        return
    click.echo(
        f"wrote {summary.output}: t = {summary.time_s:.6g} s, {summary.events} events "
        f"({summary.accepted_hops} hops), {summary.events_per_second:.3g} events/s",
        err=True,
    )


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--snapshot", type=int, default=-1, show_default=True, help="Snapshot index.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--compare", "compare_", is_flag=True, help="RUNS = PRISTINE.h5 POLYMERIZED.h5.")
@click.option(
    "--transport", type=click.Path(dir_okay=False), default=None,
    help="Transport-parameter TOML (default: kmc/data/transport_peo_40C.toml).",
)  # fmt: skip
def analyze(runs, snapshot, as_json, compare_, transport) -> None:
    """Estimate conductivity and resistances of a snapshot and store them in the file.

    Exit status 3 when an electronic path short-circuits the cell.
    """
    import json

    from kmc import analysis
    from kmc.config import ConfigError
    from kmc.io import RunFileError
    from kmc.transport._params import load_transport_parameters

    if compare_ and len(runs) != 2:
        _fail("--compare needs exactly two runs: PRISTINE.h5 POLYMERIZED.h5")
    if not compare_ and len(runs) != 1:
        _fail("give one run file (or --compare PRISTINE.h5 POLYMERIZED.h5)")
    try:
        params = load_transport_parameters(transport)
        summaries = []
        for path in runs:
            result, summary = analysis.analyze_run(path, params, snapshot)
            if not compare_:
                summary["group"] = analysis.write_analysis(path, result, summary)
            summaries.append(summary)
    except (ConfigError, RunFileError, ValueError) as exc:
        _fail(str(exc))
    out = analysis.compare(*summaries) if compare_ else summaries[0]
    if as_json:
        click.echo(json.dumps(out, indent=1))
    else:
        for key, value in out.items():
            unit = analysis.UNITS.get(key, "")
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            click.echo(f"{key:40s} {shown:>14s} {unit}")
    if out["short_circuit"]:
        click.echo("error: SHORT CIRCUIT: an electronic path connects cathode and anode", err=True)
        sys.exit(3)


@main.group()
def config() -> None:
    """Work with config files."""


@config.command("validate")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
def validate(config_path) -> None:
    """Check CONFIG; exit 0 when it is valid, 2 with the problems otherwise."""
    from kmc.config import ConfigError, load_config
    from kmc.model import Model

    try:
        cfg, _ = load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc))
    model = Model.from_config(cfg)
    nx, ny, nz = model.dims
    click.echo(f"{config_path}: valid ({model.ndim}D lattice {nx} x {ny} x {nz}, "
               f"{len(model.species_names)} species)")  # fmt: skip


@main.command()
def warmup() -> None:
    """Compile the Numba kernels and store them in the cache (NUMBA_CACHE_DIR)."""
    import time

    from kmc.warmup import compile_kernels

    t0 = time.perf_counter()
    compile_kernels()
    click.echo(f"kernels compiled and cached in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    main()
