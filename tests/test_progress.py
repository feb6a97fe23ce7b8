"""`kmc run` progress: a bar on a terminal, log lines (events, time, events/s) in batch."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios

import pytest
from conftest import make_config_text


def test_log_lines_when_not_a_terminal(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(make_config_text())
    res = subprocess.run(
        [sys.executable, "-m", "kmc", "run", str(cfg), "-o", str(tmp_path / "o.h5")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "kmc: t = 1 s (100.0 %), events = " in res.stderr
    assert "events/s = " in res.stderr
    assert "%|" not in res.stderr


@pytest.mark.parametrize("rows, cols", [(40, 120), (0, 0)])
def test_progress_bar_on_a_terminal(tmp_path, rows, cols):
    """A sized terminal, and a bare pseudo-terminal that reports 0 x 0 (as `script` or
    some batch consoles give), on which the bar falls back to 100 columns."""
    cfg = tmp_path / "run.toml"
    cfg.write_text(make_config_text())
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmc", "run", str(cfg), "-o", str(tmp_path / "o.h5")],
        stdin=slave, stdout=slave, stderr=slave, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        out += data
    assert proc.wait(timeout=60) == 0
    text = out.decode(errors="replace")
    assert "100%|" in text and "ev_per_s=" in text
    assert "kmc: t = " not in text


def test_the_last_log_line_is_not_repeated(caplog):
    """close() logs the final state unless the last line said just that (a sweep printed
    '6 of 6 points done' twice)."""
    import logging

    from kmc.simulation import Progress

    bar = Progress(6.0, "log", unit="points")
    bar.log_interval_s = 0.0
    with caplog.at_level(logging.INFO, logger="kmc"):
        bar.update(6, 6)
        bar.close(6, 6)
    assert [r.getMessage() for r in caplog.records].count("6 of 6 points done") == 1
