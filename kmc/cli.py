"""Command line interface: the ``kmc`` click group."""

from __future__ import annotations

import logging
import signal
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
@click.option(
    "--threads", type=int, default=None,
    help="Threads of the sector engine (configs with [parallel]); default: the usable "
    "cores, at most one per sector. The result does not depend on it.",
)  # fmt: skip
def run(config_path, output, seed, overwrite, resume, progress, threads) -> None:
    """Run the simulation described by CONFIG into OUT.h5.

    CONFIG is a config file or the name of a shipped config (kmc config list)."""
    from kmc import phases
    from kmc.runfile import RunFileError
    from kmc.simulation import RunError, RunInterrupted, run_simulation

    if overwrite and resume:
        _fail("--overwrite and --resume exclude each other")
    from kmc.simulation import estimate_run

    config_path = _config_path(config_path)
    cfg, text, model = _checked_config(config_path)
    if threads is not None and threads < 1:
        _fail(f"--threads {threads}: at least 1 thread")
    if threads is not None and threads > 1 and cfg.parallel is None:
        click.echo(
            f"note: --threads {threads} has no effect: {config_path} has no [parallel] "
            "section, so the serial engine runs (docs/ENGINE.md, 'Sectors')",
            err=True,
        )
    click.echo(f"estimate: {estimate_run(cfg, model).describe()}", err=True)
    for i, name in enumerate(model.species_names):
        for c in range(model.n_reaction_channels):
            if model.reaction_rate_per_s[i, c] > 0:
                where = phases.channel_label(c, model.resolves_surfaces)
                click.echo(
                    f"{name} at {where}: Da = k a^2/D = {model.damkohler[i, c]:.4g}"
                    f", field bias u = {model.field_bias[i]:.4g}",
                    err=True,
                )
    try:
        summary = run_simulation(
            cfg, text, output, seed=seed, overwrite=overwrite, resume=resume,
            progress=progress, command_line=sys.argv, threads=threads,
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
        f"wrote {summary.output}: {summary.stop_reason}; {summary.events} events "
        f"({summary.accepted_hops} hops), {summary.events_per_second:.3g} events/s",
        err=True,
    )


def _config_path(name_or_path: str) -> str:
    """CONFIG as given when such a file exists (a path always wins), else the path of the
    shipped config of that name, announced on stderr; else as given (the loader names it)."""
    from pathlib import Path

    from kmc.config import ShippedError, find_shipped

    if Path(name_or_path).exists():
        return name_or_path
    try:
        shipped = find_shipped(name_or_path)
    except ShippedError as exc:
        _fail(str(exc))
    if shipped is None:
        return name_or_path
    if shipped.kind != "config":
        _fail(f"{name_or_path}: the shipped {shipped.name} is a {shipped.kind} file, not a run "
              f"config (kmc config copy {shipped.name}, then use the copy)")  # fmt: skip
    click.echo(f"using the shipped config {shipped.name} ({shipped.path})", err=True)
    return str(shipped.path)


def _checked_config(config_path):
    """(config, text, model) of CONFIG after validation and the pre-run checks; warnings
    are printed, problems end the command with exit status 2."""
    from kmc.config import ConfigError, load_config
    from kmc.simulation import Model, check_run

    try:
        cfg, text = load_config(config_path)
        model = Model.from_config(cfg)
        warnings = check_run(cfg, model)
    except ConfigError as exc:
        _fail(f"{config_path}: {exc}" if not str(exc).startswith(str(config_path)) else str(exc))
    for w in warnings:
        click.echo(f"warning: {config_path}: {w}", err=True)
    return cfg, text, model


NO_DC_VALUE = "no DC value (blocking electrode: see kmc impedance)"
"""What `kmc analyze` and `kmc impedance` print for a resistance that is None."""


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--snapshot", type=int, default=-1, show_default=True, help="Snapshot index.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--compare", "compare_", is_flag=True, help="RUNS = PRISTINE.h5 POLYMERIZED.h5.")
@click.option(
    "--transport", type=click.Path(dir_okay=False), default=None,
    help="Transport-parameter TOML (default: kmc/data/transport_peo_40C.toml).",
)  # fmt: skip
@click.option(
    "--as-simulated", is_flag=True,
    help="Skip the recrystallization on cooling to the measurement temperature: "
    "analyze the snapshot's phases as they are.",
)  # fmt: skip
@click.option("--no-store", is_flag=True, help="Print the results; leave the run file as it is.")
@click.option(
    "--output", "json_out", type=click.Path(dir_okay=False), default=None,
    help="Also write the results as JSON to this file (e.g. when the run file is read-only).",
)  # fmt: skip
@click.option(
    "--allow-mismatch", is_flag=True,
    help="--compare: compare runs that are not twins of one cell (a warning, not an error).",
)  # fmt: skip
def analyze(
    runs, snapshot, as_json, compare_, transport, as_simulated, no_store, json_out, allow_mismatch
) -> None:
    """Estimate conductivity and resistances of a snapshot and store them in the file.

    By default the snapshot is first taken to the measurement state: the PEO
    recrystallizes on cooling to the measurement temperature as the transport file's
    [transport.recrystallization] says (docs/CHEMISTRY.md).
    With --compare nothing is stored; the two runs must be twins of one cell (same
    geometry, electrodes and seed-drawn initial phases) unless --allow-mismatch.
    A read-only run file is not changed: the results are printed (and written with
    --output). Exit status 3 when an electronic path short-circuits the cell, 1 when the
    results could not be stored.
    """
    import dataclasses
    import json

    from kmc.analysis import _analysis as analysis
    from kmc.config import ConfigError
    from kmc.runfile import RunFileError
    from kmc.transport._params import load_transport_parameters

    if compare_ and len(runs) != 2:
        _fail("--compare needs exactly two runs: PRISTINE.h5 POLYMERIZED.h5")
    if not compare_ and len(runs) != 1:
        _fail("give one run file (or --compare PRISTINE.h5 POLYMERIZED.h5)")
    if json_out is not None and not json_out.lower().endswith(".json"):
        _fail(f"--output {json_out}: the results file must end in .json")
    try:
        params = load_transport_parameters(transport)
        if as_simulated:
            params = dataclasses.replace(params, recrystallization=None)
        if compare_:
            mismatch = analysis.twin_mismatches(*runs)
            if mismatch and not allow_mismatch:
                _fail(
                    f"{runs[0]} and {runs[1]} are not a pristine and a polymerized twin of "
                    "one cell:\n  " + "\n  ".join(mismatch) + "\n(--allow-mismatch compares "
                    "them anyway)"
                )
            for line in mismatch:
                click.echo(f"warning: NOT TWINS: {line}", err=True)
        results = [analysis.analyze_run(path, params, snapshot) for path in runs]
    except (ConfigError, RunFileError, ValueError) as exc:
        _fail(str(exc))
    summaries = [summary for _, summary in results]
    store_error = None
    if not compare_ and not no_store:
        try:
            summaries[0]["group"] = analysis.write_analysis(runs[0], *results[0])
        except analysis.ReadOnlyRunFile as exc:
            click.echo(f"warning: {exc}: results not stored in it (printed below)", err=True)
        except OSError as exc:
            store_error = f"cannot store the results in {runs[0]}: {exc}; the file is unchanged"
    out = analysis.compare(*summaries) if compare_ else summaries[0]
    if as_json:
        click.echo(json.dumps(out, indent=1))
    else:
        from kmc.transport._morphology import TORTUOSITY_WINDOWED

        for key, value in out.items():
            if value is None:  # a DC resistance (or its ratio) of a blocking cell
                why = TORTUOSITY_WINDOWED if key.startswith("tortuosity") else NO_DC_VALUE
                click.echo(f"{key:40s} {why}")
                continue
            base = key.removesuffix("_pristine").removesuffix("_polymerized")
            unit = analysis.UNITS.get(base, "")
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            click.echo(f"{key:40s} {shown:>14s} {unit}")
    if json_out is not None:
        try:
            analysis.write_summary_json(json_out, out)
        except OSError as exc:
            store_error = f"cannot write {json_out}: {exc}"
        else:
            click.echo(f"wrote {json_out}", err=True)
    if store_error:
        hint = "" if json_out else " (the results are printed above; --output FILE.json)"
        _fail(store_error + hint, 1)
    if out["short_circuit"]:
        click.echo("error: SHORT CIRCUIT: an electronic path connects cathode and anode", err=True)
        sys.exit(3)


COMPARE_CIRCUIT = "R0-p(R1,CPE1)"
"""The circuit `kmc impedance --compare` fits when --fit names none: a series (bulk)
resistance and one interfacial arc, as the paper reads its LiFePO4 spectra."""


@main.command("info")
@click.argument("run_path", metavar="RUN.h5", type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--config-out", type=click.Path(dir_okay=False), default=None,
              help="Write the config the run stored (verbatim) to this file.")  # fmt: skip
def info_cmd(run_path, as_json, config_out) -> None:
    """Summary of RUN.h5 (or of the unfinished run in RUN.h5.partial/): config and its
    hash, seed, versions, complete or how far it got, wall time, final morphology per
    electrode, stored analyses, and the commands that resume or reproduce it."""
    import json
    from pathlib import Path

    from kmc.runfile import RunFileError, describe, run_info, stored_config

    try:
        info = run_info(run_path)
        if config_out:
            from kmc.runfile import atomic_write_text

            atomic_write_text(Path(config_out), stored_config(info["path"]))
    except RunFileError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {config_out}: {exc}")
    click.echo(json.dumps(info, indent=1, default=str) if as_json else describe(info))
    if config_out:
        click.echo(f"wrote the stored config to {config_out}", err=True)


@main.command("impedance")
@click.argument("run_paths", metavar="RUN.h5 [POLYMERIZED.h5]", nargs=-1, required=True,
                type=click.Path(dir_okay=False))  # fmt: skip
@click.option("--snapshot", type=int, default=-1, show_default=True, help="Snapshot index.")
@click.option("--f-min", type=float, default=1e-2, show_default=True, help="Lowest frequency (Hz).")
@click.option("--f-max", type=float, default=1e6, show_default=True, help="Highest frequency (Hz).")
@click.option("--per-decade", type=int, default=10, show_default=True)
@click.option("--fit", "circuit", default=None, help='Equivalent circuit, e.g. "R0-p(R1,C1)".')
@click.option("--compare", is_flag=True,
              help="PRISTINE.h5 POLYMERIZED.h5: fitted R_b and R_i of both, their ratios and "
                   f"the DC estimator's (circuit: --fit, default {COMPARE_CIRCUIT})."
              )  # fmt: skip
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Also write frequency, Z', Z'' columns to this CSV file.")  # fmt: skip
@click.option("--blocking", multiple=True, type=click.Choice(["cathode", "anode"]),
              help="Treat this electrode as Li+-blocking (double layer only), in addition "
                   "to the run config's blocking electrodes.")  # fmt: skip
@click.option("--transport", type=click.Path(dir_okay=False), default=None,
              help="Transport-parameter TOML (default: the packaged 40 degC file).")  # fmt: skip
@click.option("--no-store", is_flag=True, help="Do not store the spectrum in the run file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def impedance_cmd(run_paths, snapshot, f_min, f_max, per_decade, circuit, compare, csv_path,
                  blocking, transport, no_store, as_json) -> None:  # fmt: skip
    """Impedance spectrum Z(f) of a snapshot in its measurement state (stored in the run
    file under /analysis/snapshot_NNNN/impedance), with a Kramers-Kronig check and an
    optional equivalent-circuit fit (impedance.py): R_b is the circuit's series
    resistance, R_i the resistances of its parallel groups (the arcs).

    `kmc impedance --compare PRISTINE.h5 POLYMERIZED.h5` fits both spectra and prints R_b
    and R_i of each, their ratios and the DC estimator's membrane and interfacial
    resistances beside them."""
    import dataclasses
    import json

    from kmc.config import ConfigError
    from kmc.transport._impedance import frequencies
    from kmc.transport._params import load_transport_parameters

    if compare and len(run_paths) != 2:
        _fail("--compare takes two runs: PRISTINE.h5 POLYMERIZED.h5")
    if not compare and len(run_paths) != 1:
        _fail(f"one RUN.h5 (got {len(run_paths)}); two runs need --compare")
    if compare and csv_path:
        _fail("--csv writes one spectrum: run `kmc impedance RUN.h5 --csv` on each run")
    try:
        freqs = frequencies(f_min, f_max, per_decade)
        params = load_transport_parameters(transport)
    except (ConfigError, ValueError) as exc:
        _fail(str(exc))
    if blocking:
        params = dataclasses.replace(
            params, blocking=tuple(e in blocking for e in ("cathode", "anode"))
        )
    if compare:
        circuit = circuit or COMPARE_CIRCUIT
    results = []
    for path in run_paths:
        results.append(_impedance_of(path, params, snapshot, freqs, circuit, csv_path, no_store))
    if compare:
        _print_impedance_comparison(run_paths, [info for _, info, _ in results], as_json)
        for path, (_, info, fit_error) in zip(run_paths, results, strict=True):
            _warn_kk(path, info)
            if fit_error:
                _fail(f"{path}: {fit_error} (the spectra are stored)")
        return
    ((spectrum, info, fit_error),) = results
    out = info | {
        "frequency_Hz": spectrum.frequency_Hz.tolist(),
        "Z_real_ohm": spectrum.real_ohm.tolist(),
        "Z_imag_ohm": spectrum.imag_ohm.tolist(),
    }
    if as_json:
        click.echo(json.dumps(out, indent=1))
    else:
        click.echo(f"{'frequency (Hz)':>16s} {'Z_real (ohm)':>14s} {'-Z_imag (ohm)':>14s}")
        for f, z in zip(spectrum.frequency_Hz, spectrum.impedance_ohm, strict=True):
            click.echo(f"{f:16.6g} {z.real:14.6g} {-z.imag:14.6g}")
        for key, value in info.items():
            if key != "fit" and not key.startswith("fit_"):
                click.echo(f"{key:40s} {NO_DC_VALUE if value is None else value}")
        for name, value in info.get("fit", {}).get("parameters", {}).items():
            err = info["fit"]["standard_errors"][name]
            unit = info["fit"]["units"][name]
            click.echo(f"fit {name:36s} {value:.6g} +- {err:.2g} {unit}")
        for label, key in (("R_b", "bulk"), ("R_i", "interfacial")):
            value = info.get(f"fit_{key}_resistance_ohm")
            if value is not None:
                err = info[f"fit_{key}_resistance_error_ohm"]
                click.echo(f"fit {label + ' (' + key + ')':36s} {value:.6g} +- {err:.2g} ohm")
    _warn_kk(run_paths[0], info)
    if fit_error:
        _fail(fit_error + " (the spectrum is stored and printed)")


def _impedance_of(path, params, snapshot, freqs, circuit, csv_path, no_store):
    """Spectrum, summary and fit error (or None) of one run; stores it unless no_store."""
    from kmc.analysis import _analysis as analysis
    from kmc.config import ConfigError
    from kmc.runfile import RunFileError
    from kmc.transport._impedance import kramers_kronig

    try:
        spectrum, info = analysis.impedance_run(path, params, snapshot, freqs)
    except (ConfigError, RunFileError, ValueError) as exc:
        _fail(f"{path}: {exc}")
    except RuntimeError as exc:  # the iterative solver did not converge
        _fail(f"{path}: the impedance solve failed: {exc}", 1)
    try:
        info |= kramers_kronig(spectrum)
    except ImportError as exc:
        _fail(f"the Kramers-Kronig test needs impedance.py ({exc}): pip install 'kmc[fit]'", 1)
    fit_error = None
    if circuit:
        from kmc.transport._fit import bulk_and_interfacial, fit_circuit

        try:
            info["fit"] = fit_circuit(spectrum, circuit)
        except (ImportError, ValueError) as exc:
            fit_error = str(exc)
        else:
            info |= bulk_and_interfacial(info["fit"])
    if csv_path:
        try:
            spectrum.to_csv(csv_path)
        except OSError as exc:
            _fail(f"cannot write {csv_path}: {exc}")
    if not no_store:
        try:
            info["group"] = analysis.write_impedance(path, info["snapshot"], spectrum, info)
        except analysis.ReadOnlyRunFile as exc:
            click.echo(f"warning: {exc}: spectrum not stored in it", err=True)
        except OSError as exc:
            _fail(f"cannot store the spectrum in {path}: {exc}; the file is unchanged", 1)
    if "fit" in info:
        info["fit"].pop("fitted_ohm")
    return spectrum, info, fit_error


def _warn_kk(path, info) -> None:
    from kmc.transport._impedance import KK_MIN_POINTS_PER_DECADE

    if not info.get("kk_resolved", True):
        click.echo(f"warning: {path}: fewer than {KK_MIN_POINTS_PER_DECADE} frequencies per "
                   "decade: too few for the Kramers-Kronig test to tell a valid spectrum "
                   f"(--per-decade {KK_MIN_POINTS_PER_DECADE} or more)", err=True)  # fmt: skip
    elif info["kk_max_residual"] > 1e-2:
        click.echo(f"warning: {path}: the spectrum fails the Kramers-Kronig test (largest "
                   f"residual {info['kk_max_residual']:.2g} of |Z|)", err=True)  # fmt: skip


def _print_impedance_comparison(paths, infos, as_json) -> None:
    """Fitted and DC resistances of a pristine/polymerized pair, and their ratios."""
    import json

    from kmc.analysis._analysis import IMPEDANCE_COMPARISON, impedance_comparison

    table = impedance_comparison(*infos)
    if as_json:
        meta = {"pristine": str(paths[0]), "polymerized": str(paths[1]),
                "circuit": infos[1].get("fit", {}).get("circuit")}  # fmt: skip
        click.echo(json.dumps(meta | {"resistances": table}, indent=1))
        return

    def shown(v, e=None):
        if v is None:
            return f"{'none':>22s}"
        return f"{v:12.5g} +- {e:<7.2g}" if e is not None else f"{v:22.5g}"

    click.echo(f"pristine:    {paths[0]}\npolymerized: {paths[1]}")
    click.echo(f"{'':28s} {'pristine (ohm)':>22s} {'polymerized (ohm)':>22s} {'ratio':>8s}")
    for label, key, _ in IMPEDANCE_COMPARISON:
        t = table[key]
        ratio = f"{t['ratio']:8.3g}" if t["ratio"] is not None else f"{'-':>8s}"
        click.echo(f"{label:28s} {shown(t['pristine'], t.get('pristine_error'))} "
                   f"{shown(t['polymerized'], t.get('polymerized_error'))} {ratio}")  # fmt: skip


KINDS = ["cross-section", "top-view", "height-map", "profile", "timeseries", "montage",
         "current-map", "nyquist", "bode"]  # fmt: skip


@main.command()
@click.argument("run_path", metavar="RUN.h5|sweep")
@click.argument("kind", metavar="KIND|DIR")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="FIG.png, .pdf or .svg")  # fmt: skip
@click.option("--snapshot", type=int, default=-1, show_default=True)
@click.option("--species", multiple=True, help="Species to show (repeatable; default all).")
@click.option("--electrode", type=click.Choice(["cathode", "anode"]), default="cathode")
@click.option("--compare", "compare_path", type=click.Path(dir_okay=False), default=None,
              help="nyquist: overlay this run (e.g. the pristine cell).")  # fmt: skip
@click.option("--against", type=click.Choice(["time", "cycle"]), default="time",
              help="timeseries: against time, or at the end of each protocol cycle.")  # fmt: skip
@click.option("--x", "x_param", default=None, help="sweep: swept parameter on the x axis.")
@click.option("--y", "y_param", default=None, help="sweep: second swept parameter.")
@click.option("--color", "color_metric", default=None, help="sweep: result column to show.")
@click.option("--logx", is_flag=True, help="sweep: logarithmic x axis.")
@click.option("--logy", is_flag=True, help="sweep: logarithmic y axis.")
def plot(run_path, kind, output, snapshot, species, electrode, compare_path, against, x_param,
         y_param, color_metric, logx, logy) -> None:  # fmt: skip
    """Draw a figure: `kmc plot RUN.h5 KIND -o FIG` with KIND one of cross-section,
    top-view, height-map, profile, timeseries, montage, current-map, nyquist, bode; or
    `kmc plot sweep DIR --x PARAM [--y PARAM] --color METRIC -o FIG` from a sweep's
    results table. Headless; the format follows the output suffix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import kmc
    from kmc import plot as kplot
    from kmc.runfile import RunFileError

    if not output.lower().endswith((".png", ".pdf", ".svg")):
        _fail(f"-o {output}: the figure must end in .png, .pdf or .svg")
    if run_path == "sweep":
        if not x_param or not color_metric:
            _fail("kmc plot sweep DIR needs --x PARAM and --color METRIC")
        try:
            ax = kplot.sweep(kind, x_param, color_metric, y=y_param, logx=logx, logy=logy)
        except (FileNotFoundError, KeyError, ValueError) as exc:
            _fail(str(exc).strip("'\""))
        _savefig(ax.figure, output)
        return
    if kind not in KINDS:
        _fail(f"unknown KIND {kind!r}; choose from {', '.join(KINDS)} (or `kmc plot sweep DIR`)")
    try:
        run = kmc.open(run_path)
        sp = list(species) or None
        if kind == "cross-section":
            ax = kplot.cross_section(run, snapshot=snapshot, species=sp)
        elif kind == "top-view":
            ax = kplot.top_view(run, snapshot=snapshot, electrode=electrode)
        elif kind == "height-map":
            ax = kplot.height_map(run, snapshot=snapshot, electrode=electrode)
        elif kind == "profile":
            ax = kplot.profile(run, snapshot=snapshot)
        elif kind == "timeseries":
            ax = kplot.timeseries(run, against=against)[0]
        elif kind == "montage":
            ax = kplot.montage(run)[0]
        elif kind == "current-map":
            ax = kplot.current_map(run, snapshot=snapshot)
        else:
            other = kmc.open(compare_path) if compare_path else None
            draw = kplot.nyquist if kind == "nyquist" else kplot.bode
            ax = draw(run, snapshot=snapshot, compare=other)
    except (RunFileError, ValueError, KeyError) as exc:
        _fail(str(exc).strip("'\""))
    _savefig(ax.figure, output)
    plt.close(ax.figure)


def _savefig(figure, output: str) -> None:
    """Save a figure atomically: a full disk leaves no empty or partial file at OUTPUT."""
    from pathlib import Path

    from kmc.runfile import atomic_path

    suffix = Path(output).suffix.lower()
    try:
        with atomic_path(output, suffix) as tmp:
            figure.savefig(tmp, dpi=150, format=suffix[1:])
    except OSError as exc:
        _fail(f"cannot write {output}: {exc}")
    click.echo(f"wrote {output}", err=True)


@main.group()
def export() -> None:
    """Export run data to other tools."""


@export.command("xdmf")
@click.argument("run_path", metavar="RUN.h5", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Default: RUN.xdmf beside the run file.")  # fmt: skip
def export_xdmf(run_path, output) -> None:
    """Write an XDMF file that ParaView/VisIt open to show the 3D snapshots."""
    from kmc.runfile import RunFileError, write_xdmf

    try:
        out = write_xdmf(run_path, output)
    except RunFileError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {output or 'the XDMF sidecar'}: {exc}")
    click.echo(f"wrote {out}", err=True)


@main.group()
def sweep() -> None:
    """Parameter sweeps on a local pool, a Dask cluster or Slurm."""


_cpus_per_point = click.option(
    "--cpus-per-point", "cpus", type=click.IntRange(1, 1024), default=None,
    help="Cores of each point (default: the sweep's cpus_per_point, 1): a config with "
    "[parallel] runs on that many threads.",
)  # fmt: skip


def _load_sweep(path):
    from kmc.config import ConfigError
    from kmc.sweeps import load_sweep, plan

    try:
        spec, base, sweep_path = load_sweep(path)
        return spec, plan(spec, base), sweep_path
    except ConfigError as exc:
        _fail(str(exc))


def _validate_sweep(sweep_path) -> None:
    """Check a sweep file and every point's resolved config; exit 2 naming each invalid
    point (its values and the config's problem)."""
    from kmc.sweeps._spec import validate_point

    _, points, _ = _load_sweep(sweep_path)
    bad = [(p, err) for p in points if (err := validate_point(p))]
    for p, err in bad:
        values = ", ".join(f"{k} = {v!r}" for k, v in p.values.items())
        click.echo(f"error: point {p.index} ({values}): {err}", err=True)
    if bad:
        _fail(f"{sweep_path}: {len(bad)} of {len(points)} points have invalid configs")
    click.echo(f"{sweep_path}: valid sweep of {len(points)} points")


@sweep.command("validate")
@click.argument("sweep_path", metavar="SWEEP.toml", type=click.Path(dir_okay=False))
def sweep_validate(sweep_path) -> None:
    """Check SWEEP.toml and each point's config; exit 0 when all are valid, 2 otherwise."""
    _validate_sweep(sweep_path)


@sweep.command("plan")
@click.argument("sweep_path", metavar="SWEEP.toml", type=click.Path(dir_okay=False))
def sweep_plan(sweep_path) -> None:
    """List the points (index, id, parameter values, seed) without running them."""
    from kmc.sweeps._spec import validate_point

    spec, points, _ = _load_sweep(sweep_path)
    for p in points:
        values = ", ".join(f"{k} = {v!r}" for k, v in p.values.items())
        bad = " [INVALID CONFIG]" if validate_point(p) else ""
        click.echo(f"{p.index:5d}  {p.ident}  replica {p.replica}  seed {p.seed}  {values}{bad}")
    click.echo(f"{len(points)} points", err=True)


def _report(statuses) -> None:
    failed = [s for s in statuses if s["status"] != "complete"]
    stopped = sum(s["status"] == "interrupted" for s in statuses)
    summary = f"{len(statuses) - len(failed)} complete, {len(failed) - stopped} failed"
    if stopped:
        summary += f", {stopped} interrupted (run again to resume them)"
    click.echo(summary, err=True)
    for s in failed:
        lines = (s["error"] or "unknown error").splitlines()
        click.echo(f"  {s['name']}: {lines[0]}", err=True)
        for line in lines[1:6]:
            click.echo(f"    {line}", err=True)
    if failed:
        sys.exit(1)


@sweep.command("run")
@click.argument("sweep_path", metavar="SWEEP.toml", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False))
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Local pool size (default: the cores this process may use).")  # fmt: skip
@click.option("--scheduler", default=None, help="Address of a running Dask scheduler.")
@click.option("--slurm", is_flag=True, help="Start workers as Slurm jobs (dask-jobqueue).")
@click.option("--pbs", is_flag=True, help="Start workers as PBS jobs (dask-jobqueue).")
@click.option("--queue", default=None)
@click.option("--account", default=None)
@click.option("--walltime", default=None)
@click.option("--memory", default=None)
@click.option("--jobs", type=click.IntRange(1), default=None, help="Batch jobs to start.")
@click.option("--progress", type=click.Choice(["auto", "bar", "log", "off"]), default="auto")
@_cpus_per_point
def sweep_run(sweep_path, directory, workers, scheduler, slurm, pbs, queue, account, walltime,
              memory, jobs, progress, cpus) -> None:  # fmt: skip
    """Run every point of SWEEP.toml into DIR (skips complete points, resumes partial ones).

    Exit status 1 when some points failed (see DIR/sweep.log and `kmc sweep collect`).
    """
    from pathlib import Path

    from kmc.sweeps import ClusterError, run_sweep
    from kmc.sweeps._runner import usable_cores

    spec, points, _ = _load_sweep(sweep_path)
    if sum(map(bool, (scheduler, slurm, pbs))) > 1:
        _fail("--scheduler, --slurm and --pbs exclude each other")
    cpus = cpus or spec.sweep.cpus_per_point
    local = not (scheduler or slurm or pbs)
    if local and cpus > usable_cores():
        _fail(f"cpus_per_point = {cpus} exceeds the {usable_cores()} cores this process may "
              "use: ask for fewer (--cpus-per-point) or run on a cluster")  # fmt: skip
    slurm_opts = None
    if slurm or pbs:
        c = spec.cluster.model_dump() | {"system": "pbs" if pbs else "slurm"}
        for k, v in (("queue", queue), ("account", account), ("walltime", walltime),
                     ("memory", memory), ("jobs", jobs)):  # fmt: skip
            if v is not None:
                c[k] = v
        slurm_opts = c

    def _stop(signum, frame):  # SIGTERM (kill, a batch system's time limit) as Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        statuses = run_sweep(
            Path(directory), spec, points, workers=workers, scheduler=scheduler,
            slurm=slurm_opts, progress=progress, cpus=cpus,
        )  # fmt: skip
    except ClusterError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; the points in flight saved checkpoints and no unfinished point "
              "is marked complete: run the same command again to resume", 130)  # fmt: skip
    _report(statuses)


@sweep.command("run-point")
@click.argument("sweep_path", metavar="SWEEP.toml", type=click.Path(dir_okay=False))
@click.option("--index", type=int, required=True, help="Point index (as in `kmc sweep plan`).")
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False))
@_cpus_per_point
def sweep_run_point(sweep_path, index, directory, cpus) -> None:
    """Run one point (what each Slurm array task does)."""
    from pathlib import Path

    from kmc.sweeps import prepare, run_point
    from kmc.sweeps._runner import _failed, _log_line, point_record
    from kmc.sweeps._spec import validate_point

    spec, points, _ = _load_sweep(sweep_path)
    if not 0 <= index < len(points):
        _fail(f"--index {index} out of range: the sweep has points 0..{len(points) - 1}")
    d = Path(directory)
    prepare(d, spec, points)
    p = points[index]
    err = validate_point(p)
    if err:
        status = _failed(d, point_record(p), err)
    else:
        cpus = cpus or spec.sweep.cpus_per_point
        status = run_point(str(d), point_record(p), spec.sweep.analyze, cpus)
    _log_line(d, status)
    _report([status])


@sweep.command("emit-slurm")
@click.argument("sweep_path", metavar="SWEEP.toml", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False))
@_cpus_per_point
def sweep_emit_slurm(sweep_path, directory, cpus) -> None:
    """Write DIR/manifest.json, the point configs and an sbatch job-array script."""
    from pathlib import Path

    from kmc.sweeps import emit_slurm

    spec, points, path = _load_sweep(sweep_path)
    script = emit_slurm(Path(directory), path, spec, points, cpus)
    click.echo(f"wrote {script}; submit with: sbatch {script}", err=True)


@sweep.command("collect")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
def sweep_collect(directory) -> None:
    """Build DIR/results.csv and DIR/results.h5 from the points' outputs."""
    from pathlib import Path

    from kmc.sweeps import collect

    try:
        rows = collect(Path(directory))
    except FileNotFoundError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the results table in {directory}: {exc}")
    n_ok = sum(r["status"] == "complete" for r in rows)
    click.echo(f"{n_ok}/{len(rows)} complete; wrote {directory}/results.csv and results.h5",
               err=True)  # fmt: skip
    if n_ok < len(rows):
        sys.exit(1)


@sweep.command("status")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
def sweep_status(directory) -> None:
    """How many points of DIR are planned, queued, running, complete, failed, interrupted.

    Read-only and lock-free: safe while the sweep runs. Asks squeue about the jobs of
    DIR/sweep.sbatch and of running points when it is on PATH.
    """
    from pathlib import Path

    from kmc.sweeps import sweep_status as read_status

    try:
        st = read_status(Path(directory))
    except FileNotFoundError as exc:
        _fail(str(exc))
    click.echo(f"{directory}: {len(st.points)} points planned")
    click.echo("  " + ", ".join(f"{n} {state}" for state, n in st.counts.items()))
    for state in ("running", "queued", "failed", "interrupted"):
        listed = [p for p in st.points if p.state == state]
        if listed:
            click.echo(f"{state}:")
        for p in listed:
            click.echo(f"  {p.index:5d}  {p.name}: {p.detail}")
    if st.scheduler_note:
        click.echo(f"note: {st.scheduler_note}")
    redo = st.unfinished()
    if redo and st.script is not None:
        indices = ",".join(str(p.index) for p in redo)
        click.echo(f"to run the unfinished points: sbatch --array={indices} {st.script}")
    elif redo:
        click.echo("to run the unfinished points: run the same `kmc sweep run` again")


@main.group()
def config() -> None:
    """Work with config files."""


def _is_sweep_file(path) -> bool:
    """Whether ``path`` is an existing TOML file with a [sweep] table and no [lattice]."""
    import tomllib
    from pathlib import Path

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # the config loader names the problem
    return isinstance(data.get("sweep"), dict) and "lattice" not in data


@config.command("validate")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
def validate(config_path) -> None:
    """Check CONFIG (a file or a shipped config's name); exit 0 when it is valid, 2 with the
    problems otherwise."""
    from kmc.simulation import estimate_run

    if _is_sweep_file(config_path):
        click.echo(f"{config_path} is a sweep file: checking it as `kmc sweep validate`", err=True)
        _validate_sweep(config_path)
        return
    config_path = _config_path(config_path)
    cfg, _, model = _checked_config(config_path)
    nx, ny, nz = model.dims
    click.echo(f"{config_path}: valid ({model.ndim}D lattice {nx} x {ny} x {nz}, "
               f"{len(model.species_names)} species)")  # fmt: skip
    click.echo(f"  estimate: {estimate_run(cfg, model).describe()}")


@config.command("show")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def config_show(config_path, as_json) -> None:
    """The resolved model of CONFIG: every per-site rate with the physical quantity it
    stands for at this lattice spacing (k0, the bimolecular coupling constant,
    concentrations), the packet size, Da, u, and the monomer units expected per window."""
    import json

    from kmc.simulation import describe, resolved_model

    config_path = _config_path(config_path)
    _, _, model = _checked_config(config_path)
    info = resolved_model(model)
    click.echo(json.dumps(info, indent=1) if as_json else describe(info))


@config.command("list")
def config_list() -> None:
    """List the configs, sweeps and transport file shipped with kmc (name, kind, what it is)."""
    from kmc.config import ShippedError, configs_root, shipped_configs

    try:
        shipped, root = shipped_configs(), configs_root()
    except ShippedError as exc:
        _fail(str(exc))
    width = max(len(c.name) for c in shipped)
    for c in shipped:
        click.echo(f"{c.name:<{width}}  {c.kind:<9}  {c.description}")
    click.echo(f"shipped in {root}; use a NAME with kmc run, kmc config validate and "
               "kmc config copy NAME [DEST]", err=True)  # fmt: skip


@config.command("copy")
@click.argument("name", metavar="NAME")
@click.argument("dest", metavar="[DEST]", required=False, type=click.Path())
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
def config_copy(name, dest, overwrite) -> None:
    """Copy the shipped config NAME to DEST (a file, or a directory to copy into; default:
    the working directory). A sweep's base config is copied beside it and the copied
    sweep's base points to that copy."""
    from kmc.config import ShippedError, copy_shipped

    try:
        copied = copy_shipped(name, dest, overwrite=overwrite)
    except ShippedError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot copy {name}: {exc}")
    for source, target in copied:
        click.echo(f"copied {source} -> {target}")


@main.command()
def warmup() -> None:
    """Compile the Numba kernels and store them in the cache (NUMBA_CACHE_DIR)."""
    import time

    from kmc._warmup import compile_kernels

    t0 = time.perf_counter()
    compile_kernels()
    click.echo(f"kernels compiled and cached in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    main()
