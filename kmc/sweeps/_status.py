"""Where a sweep stands: `kmc sweep status DIR`, read-only, while it runs or after."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

STATES = ("complete", "running", "queued", "failed", "interrupted", "not started")
"""A point's state, in the order a point's evidence is weighed (first that holds wins)."""

SQUEUE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class PointState:
    index: int
    name: str
    state: str
    detail: str = ""
    """Failed and interrupted: the one-line reason; running and queued: where."""


@dataclass
class SweepStatus:
    directory: Path
    points: list[PointState]
    scheduler_note: str = ""
    """Why the batch system was not asked (or could not answer), when it was not."""
    script: Path | None = None
    """The sweep's sbatch script, when `kmc sweep emit-slurm` wrote one."""
    counts: dict[str, int] = field(init=False)

    def __post_init__(self):
        self.counts = {s: sum(p.state == s for p in self.points) for s in STATES}

    def unfinished(self) -> list[PointState]:
        """Points that neither completed nor are on their way: what to resubmit."""
        return [p for p in self.points if p.state in ("failed", "interrupted", "not started")]


def _read_json(path: Path) -> dict | None:
    """A status or marker file, or None when it is absent or (being replaced) unreadable;
    files are written by rename, so a reader sees the old or the new one whole."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _first_line(text: str | None, default: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else default


def _squeue(script: Path | None, job_ids: set[str]) -> tuple[dict, dict, str]:
    """Ask squeue about this sweep's jobs.

    Returns ``({array task index: (state, job)}, {job id: state}, note)``: the tasks of
    job arrays whose batch script is ``script`` (pending ones listed one by one, ``-r``),
    the state of each job in ``job_ids``, and a note when squeue was not usable.
    """
    if script is None and not job_ids:
        return {}, {}, ""
    if shutil.which("squeue") is None:
        return {}, {}, "squeue is not on PATH: queued jobs are not shown"
    cmd = ["squeue", "-h", "-r", "-o", "%A|%i|%T|%K|%Z|%o"]
    try:
        res = subprocess.run(
            cmd, capture_output=True, text=True, timeout=SQUEUE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {}, {}, f"squeue did not answer ({exc}): queued jobs are not shown"
    if res.returncode != 0:
        said = _first_line(res.stderr, f"exit status {res.returncode}")
        return {}, {}, f"squeue failed ({said}): queued jobs are not shown"
    tasks: dict[int, tuple[str, str]] = {}
    jobs: dict[str, str] = {}
    want = os.path.realpath(script) if script is not None else None
    for line in res.stdout.splitlines():
        parts = line.split("|", 5)
        if len(parts) != 6:
            continue
        raw_id, job, state, task, workdir, command = parts
        jobs[raw_id] = state
        # the script as sbatch was given it, relative to where it was submitted from
        if want and task.isdigit() and os.path.realpath(os.path.join(workdir, command)) == want:
            tasks[int(task)] = (state, job)
    return tasks, jobs, ""


def _alive_here(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def sweep_status(directory: Path) -> SweepStatus:
    """How every planned point of the sweep in ``directory`` stands.

    Reads ``manifest.json``, each point's ``.status.json`` and ``.running.json`` marker
    (never writes, takes no lock: safe while the sweep runs) and, when the directory has
    an sbatch script or a marker names a Slurm job, asks ``squeue`` which of its array
    tasks are queued or running and whether the marked jobs still are. A marker whose
    process or job is gone is a point killed outright: interrupted.
    """
    manifest = _read_json(directory / "manifest.json")
    if manifest is None:
        raise FileNotFoundError(f"{directory}: no readable manifest.json (not a sweep directory)")
    records = manifest["points"]
    statuses = {r["name"]: _read_json(directory / f"{r['name']}.status.json") for r in records}
    markers = {r["name"]: _read_json(directory / f"{r['name']}.running.json") for r in records}
    script = directory / "sweep.sbatch"
    script = script if script.exists() else None
    slurm_jobs = {
        str(m["job"]) for m in markers.values() if m and m.get("scheduler") == "slurm"
    }  # fmt: skip
    tasks, jobs, note = _squeue(script, slurm_jobs)
    asked = not note and (script is not None or bool(slurm_jobs))
    here = os.uname().nodename
    points = []
    for rec in records:
        name, st, mk = rec["name"], statuses[rec["name"]], markers[rec["name"]]
        done = (st or {}).get("status")
        point = None
        if done == "complete":
            point = PointState(rec["index"], name, "complete")
        elif mk is not None:
            job = str(mk.get("job", ""))
            where = f"{mk.get('scheduler', '')} job {job} on {mk.get('host', '?')}".strip()
            if mk.get("scheduler") == "slurm" and asked:
                alive = jobs.get(job) in ("RUNNING", "COMPLETING", "SUSPENDED")
            elif mk.get("host") == here and isinstance(mk.get("pid"), int):
                alive = _alive_here(mk["pid"])
                where = f"pid {mk['pid']} on {here}"
            else:  # another host, no batch system to ask: take the marker's word
                alive = True
                where = f"pid {mk.get('pid')} on {mk.get('host', '?')} (not checked)"
            if alive:
                point = PointState(rec["index"], name, "running", where)
            elif rec["index"] not in tasks:
                point = PointState(
                    rec["index"], name, "interrupted",
                    f"its process ({where}) ended without recording a result (killed?); "
                    "run the point again to resume it from its checkpoint",
                )  # fmt: skip
        if point is None and rec["index"] in tasks:
            state, job = tasks[rec["index"]]
            kind = "queued" if state in ("PENDING", "REQUEUED", "CONFIGURING") else "running"
            point = PointState(rec["index"], name, kind, f"slurm job {job} {state.lower()}")
        if point is None and done in ("failed", "interrupted"):
            point = PointState(rec["index"], name, done, _first_line(st.get("error"), done))
        if point is None:
            point = PointState(rec["index"], name, "not started")
        points.append(point)
    return SweepStatus(directory, points, note, script)
