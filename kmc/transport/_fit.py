"""Equivalent-circuit fits of impedance spectra with impedance.py (``impedance`` on PyPI).

impedance.py is chosen because its circuit strings (``R0-p(R1,CPE1)``) are what EIS users
already write, it fits by scipy least squares with parameter standard errors, and it has
the linear Kramers-Kronig test; pyimpspec does as much with a larger dependency tree.
"""

from __future__ import annotations

import itertools

import numpy as np

from kmc.transport._impedance import ImpedanceSpectrum

FIT_EXTRA = "pip install 'kmc[fit]' (impedance.py and pandas)"


def _circuit_class():
    try:
        from impedance.models.circuits import CustomCircuit
    except ImportError as exc:
        raise ImportError(f"fitting needs impedance.py: {FIT_EXTRA} ({exc})") from None
    return CustomCircuit


def _initial_guesses(names: list[str], spectrum: ImpedanceSpectrum) -> list[list[float]]:
    """Starting points: R0 the high-frequency intercept, the other resistances sharing the
    rest of the low-frequency Z'; capacitances (and CPE magnitudes) placing the arcs' time
    constants at log-spaced frequencies of the range, in every order."""
    z, f = spectrum.impedance_ohm, spectrum.frequency_Hz
    r_hi = max(float(z.real[np.argmax(f)]), 1e-12)
    r_span = max(float(z.real[np.argmin(f)]) - r_hi, r_hi)
    resistors = [n for n in names if n.startswith("R") and n != "R0"]
    caps = [n for n in names if (n.startswith("C") and "_" not in n) or n.endswith("_0")]
    r_each = r_span / max(len(resistors), 1)
    f_marks = np.geomspace(f.min(), f.max(), len(caps) + 2)[1:-1]
    out = []
    for order in itertools.permutations(range(len(caps))):
        guess, k = [], 0
        for n in names:
            if n == "R0":
                guess.append(r_hi)
            elif n.startswith("R"):
                guess.append(r_each)
            elif n in caps:
                guess.append(1.0 / (2 * np.pi * f_marks[order[k]] * r_each))
                k += 1
            elif n.endswith("_1"):  # a CPE exponent
                guess.append(0.9)
            else:  # other elements (W, L, ...): impedance.py's unit default
                guess.append(1.0)
        out.append(guess)
        if len(out) >= 24:
            break
    return out


def fit_circuit(spectrum: ImpedanceSpectrum, circuit: str) -> dict:
    """Fit ``circuit`` (impedance.py syntax) to a spectrum.

    Returns a dict: ``circuit``, ``parameters`` and ``standard_errors`` by name (SI units:
    ohm, F, CPE magnitude in F s^(alpha-1)), ``units``, ``relative_rms_residual`` and
    ``fitted_ohm`` (the circuit's Z at the spectrum's frequencies). Elements in parallel
    branches that the data cannot tell apart (two RC arcs) come back in either order.

    Raises
    ------
    ValueError
        The library rejects the circuit string, or no start converges.
    """
    custom = _circuit_class()
    from impedance.models.circuits.fitting import calculateCircuitLength

    try:
        probe = custom(circuit, initial_guess=[1.0] * calculateCircuitLength(circuit))
        names, units = probe.get_param_names()
        probe.predict(spectrum.frequency_Hz[:1])
    except Exception as exc:  # noqa: BLE001 - the library raises many kinds here
        raise ValueError(
            f"circuit {circuit!r} is not a valid impedance.py circuit: {exc}"
        ) from None
    from impedance.models.circuits.fitting import wrapCircuit
    from scipy.optimize import least_squares

    model = wrapCircuit(probe.circuit, {})
    f, z = spectrum.frequency_Hz, spectrum.impedance_ohm
    weight = np.concatenate([np.abs(z), np.abs(z)])  # modulus weighting: every decade counts
    data = np.concatenate([z.real, z.imag])
    exponents = np.array([n.startswith("CPE") and n.endswith("_1") for n in names])

    def residual(log_p):
        with np.errstate(over="ignore"):
            p = np.exp(log_p)
        if not np.all(np.isfinite(p)):
            # a step that overflows a parameter: impedance.py would build its circuit
            # expression with 'inf' in it and fail in eval (NameError); a large residual
            # sends least_squares back instead
            return np.full(data.size, 1e150)
        return (model(f, *p) - data) / weight

    # impedance.py's own fit (curve_fit in the parameters themselves) stalls on spectra
    # whose R and C span ten orders of magnitude; its circuit model is fitted here in the
    # logarithms of the parameters, which are then positive and on one scale
    upper = np.where(exponents, 0.0, np.inf)  # a CPE exponent alpha <= 1
    best = None
    for guess in _initial_guesses(names, spectrum):
        try:
            res = least_squares(
                residual, np.log(guess), bounds=(-np.inf, upper + 1e-12), x_scale=1.0,
                xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=20000,
            )  # fmt: skip
        except (ValueError, np.linalg.LinAlgError):
            continue
        if res.status <= 0:  # out of evaluations (0) or refused (-1): not converged
            continue
        if best is None or res.cost < best.cost:
            best = res
    if best is None or not np.all(np.isfinite(best.x)):
        raise ValueError(f"the fit of {circuit!r} did not converge from any starting point")
    params = np.exp(best.x)
    dof = max(data.size - params.size, 1)
    try:  # standard errors from the Jacobian (log parameters) and the residual variance
        cov = np.linalg.inv(best.jac.T @ best.jac) * (2 * best.cost / dof)
        errors = params * np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        errors = np.full(params.size, np.nan)
    fitted = model(f, *params)
    resid = np.linalg.norm(fitted - data) / np.linalg.norm(data)
    return {
        "circuit": circuit,
        "parameters": dict(zip(names, map(float, params), strict=True)),
        "standard_errors": dict(zip(names, map(float, errors), strict=True)),
        "units": dict(zip(names, units, strict=True)),
        "relative_rms_residual": float(resid),
        "fitted_ohm": fitted[: f.size] + 1j * fitted[f.size :],  # complex array
    }


def _top_level_and_nested(circuit: str) -> tuple[list[str], list[str]]:
    """Element names of ``circuit`` in series at its top level, and those inside
    parallel groups ``p(...)`` (impedance.py syntax)."""
    top, nested, depth, name = [], [], 0, ""
    for ch in circuit + "-":
        if ch.isalnum() or ch == "_":
            name += ch
            continue
        if name and name != "p":
            (nested if depth else top).append(name)
        name = ""
        depth += ch == "("
        depth -= ch == ")"
    return top, nested


def bulk_and_interfacial(fit: dict) -> dict:
    """R_b and R_i (ohm) with their standard errors from a :func:`fit_circuit` result.

    R_b: the resistors in series at the circuit's top level (the high-frequency
    intercept: the membrane's own arc, f = sigma / (2 pi eps) ~ 40 MHz for PEO at
    1e-2 S/m and eps_r 5, lies above the default 1 MHz); R_i: the resistors inside its
    parallel groups (the arcs). Errors add in quadrature (the fit's correlations are
    left out). None where the circuit has no such resistor.
    """
    top, nested = _top_level_and_nested(fit["circuit"])
    out = {}
    for key, names in (("bulk", top), ("interfacial", nested)):
        rs = [n for n in names if n.startswith("R") and n in fit["parameters"]]
        if not rs:
            out[f"fit_{key}_resistance_ohm"] = None
            out[f"fit_{key}_resistance_error_ohm"] = None
            continue
        out[f"fit_{key}_resistance_ohm"] = float(sum(fit["parameters"][n] for n in rs))
        errors = np.array([fit["standard_errors"][n] for n in rs])
        out[f"fit_{key}_resistance_error_ohm"] = float(np.sqrt((errors**2).sum()))
    return out
