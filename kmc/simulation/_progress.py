"""Progress reporting: a progress bar in a terminal, periodic log lines in batch jobs."""

from __future__ import annotations

import logging
import os
import sys
import time

log = logging.getLogger("kmc")


class Progress:
    """Reports simulated time, events and events/s.

    Parameters
    ----------
    total_s : float
        Simulated time at the end of the run (s).
    mode : {"auto", "bar", "log", "off"}
        "auto" draws a bar when stderr is a terminal and logs otherwise.
    log_interval_s : float
        Wall-clock seconds between log lines in "log" mode.
    unit : str
        "s" for simulated seconds (runs) or a count name such as "points" (sweeps).
    cycles_total : int, optional
        When a protocol's cycles end the run, the bar counts cycles (of this many) and the
        log lines give the cycle, instead of the fraction of ``total_s``.
    """

    def __init__(
        self, total_s: float, mode: str = "auto", log_interval_s: float = 10.0, unit: str = "s",
        cycles_total: int | None = None,
    ):  # fmt: skip
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode = mode
        self.total_s = total_s
        self.cycles_total = cycles_total
        self._cycles = 0
        self.log_interval_s = log_interval_s
        self.unit = unit
        self._t0 = time.perf_counter()
        self._last_log = self._t0
        self._last_logged: tuple | None = None  # what the last log line said
        self._events0: int | None = None
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            bar_unit = "s(sim)" if unit == "s" else unit
            if cycles_total is not None:
                bar_unit, total_s = "cycles", cycles_total
            try:  # a bare pseudo-terminal reports 0 x 0: tqdm would then draw nothing
                sized = min(os.get_terminal_size(sys.stderr.fileno())) > 0
            except OSError:
                sized = False
            self._bar = tqdm(
                total=total_s, unit=bar_unit, unit_scale=bar_unit == "s(sim)", dynamic_ncols=sized,
                ncols=None if sized else 100, nrows=None if sized else 24,
            )  # fmt: skip

    def rate(self, events: int) -> float:
        if self._events0 is None:
            return 0.0
        elapsed = time.perf_counter() - self._t0
        return (events - self._events0) / elapsed if elapsed > 0 else 0.0

    def update(self, time_s: float, events: int, cycles: int | None = None) -> None:
        """Report simulated time ``time_s``, ``events`` so far and completed ``cycles``."""
        if self._events0 is None:
            self._events0 = events
        if cycles is not None:
            self._cycles = cycles
        if self._bar is not None:
            if self.cycles_total is not None:
                self._bar.n = min(self._cycles, self.cycles_total)
                self._bar.set_postfix(
                    t=f"{time_s:.4g}s", events=f"{events:.3g}", ev_per_s=f"{self.rate(events):.3g}"
                )
            else:
                self._bar.n = min(time_s, self.total_s)
                self._bar.set_postfix(events=f"{events:.3g}", ev_per_s=f"{self.rate(events):.3g}")
        elif self.mode == "log":
            now = time.perf_counter()
            if now - self._last_log >= self.log_interval_s:
                self._last_log = now
                self._log(time_s, events)

    def _log(self, time_s: float, events: int) -> None:
        self._last_logged = (time_s, events, self._cycles)
        if self.unit != "s":
            log.info("%d of %d %s done", time_s, self.total_s, self.unit)
            return
        if self.cycles_total is not None:
            log.info(
                "cycle %d of %d, t = %.6g s, events = %d, events/s = %.3g",
                self._cycles, self.cycles_total, time_s, events, self.rate(events),
            )  # fmt: skip
            return
        log.info(
            "t = %.6g s (%.1f %%), events = %d, events/s = %.3g",
            time_s, 100.0 * time_s / self.total_s, events, self.rate(events),
        )  # fmt: skip

    def close(self, time_s: float, events: int, cycles: int | None = None) -> None:
        if cycles is not None:
            self._cycles = cycles
        if self._bar is not None:
            self.update(time_s, events)
            self._bar.close()
        elif self.mode == "log" and self._last_logged != (time_s, events, self._cycles):
            self._log(time_s, events)  # unless the last line said just this
