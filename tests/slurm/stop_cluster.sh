#!/usr/bin/env bash
# Stop what tests/slurm/start_cluster.sh DIR started: cancel the cluster's jobs (so no
# job step outlives its slurmd), then stop slurmd, slurmctld and munged by the PIDs in
# their pid files (SIGTERM, SIGKILL after 10 s). A daemon it did not start (a munged
# that was already running) is left alone. Safe to run twice.
set -uo pipefail

[[ $# -eq 1 ]] || { echo "usage: stop_cluster.sh DIR" >&2; exit 2; }
dir=$(cd "$1" 2>/dev/null && pwd) || exit 0
[[ -f $dir/started ]] || exit 0
export SLURM_CONF=$dir/slurm.conf

if grep -q slurmctld.pid "$dir/started" && command -v squeue >/dev/null; then
    jobs=$(squeue -h -o %A 2>/dev/null)
    if [[ -n $jobs ]]; then
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null
        for _ in $(seq 40); do
            [[ -z $(squeue -h -o %A 2>/dev/null) ]] && break
            sleep 0.5
        done
    fi
fi

# in the reverse order of their start: slurmd, slurmctld, then the munged both use
tac "$dir/started" | while read -r pidfile; do
    pid=$(cat "$pidfile" 2>/dev/null) || continue
    [[ $pid =~ ^[0-9]+$ ]] || continue
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null && echo "stop_cluster: $pidfile: $pid killed" >&2
done
: >"$dir/started"
