#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine, listening on loopback only, for the
# tests in tests/slurm (and for trying the cluster commands by hand).
#
#   tests/slurm/start_cluster.sh DIR     # then: export SLURM_CONF=DIR/slurm.conf
#   tests/slurm/stop_cluster.sh DIR      # cancels its jobs, stops what this started
#
# Installs Debian's slurm-wlm and munge when they are missing (apt-get; needs root),
# writes DIR/slurm.conf for this machine (its CPU count and memory as slurmd measures
# them, KillWait=10 s), starts munged (unless one already answers; its files in
# /run/munge), slurmctld and slurmd as root with their state, spool, logs and pid files
# in DIR, and waits until sinfo reports the node idle. DIR/started lists the pid files of
# the daemons it started, which stop_cluster.sh stops by PID. Exit status 0 when the node
# is idle; 3 with one line on stderr saying why not (not root, apt failed, a port in use,
# a daemon that did not start). Ports: 6817 and 6818, or KMC_SLURMCTLD_PORT/KMC_SLURMD_PORT.
set -uo pipefail

die() {
    echo "start_cluster: $*" >&2
    exit 3
}

[[ $# -eq 1 ]] || die "usage: start_cluster.sh DIR"
mkdir -p "$1" || die "cannot create $1"
dir=$(cd "$1" && pwd)
[[ $(id -u) -eq 0 ]] || die "needs root (it installs packages and runs slurmd as root)"
case $(uname -s) in Linux) ;; *) die "needs Linux (Debian's slurm-wlm)" ;; esac

# --- packages ---
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
    ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || die "slurm-wlm is not installed and there is no apt-get"
    echo "start_cluster: installing slurm-wlm and munge (apt-get)" >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        slurm-wlm munge; } >"$dir/apt.log" 2>&1; then
        die "apt-get install slurm-wlm munge failed: $(tail -n 1 "$dir/apt.log")"
    fi
fi
[[ -r /etc/munge/munge.key ]] || die "no /etc/munge/munge.key (the munge package makes one)"

: >"$dir/started"

# --- munge: Slurm's authentication, on its default socket ---
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    echo "start_cluster: using the munged already running" >&2
else
    # munged runs as the munge user (it refuses root), so its pid file, log and seed
    # live in its own /run/munge, not in DIR, which that user may not be able to reach
    install -d -o munge -g munge -m 0755 /run/munge
    m=/run/munge/kmc-test-munged
    su -s /bin/sh munge -c "/usr/sbin/munged --pid-file=$m.pid --log-file=$m.log \
        --seed-file=$m.seed" || die "munged did not start: $(tail -n 1 "$m.log" 2>/dev/null)"
    echo "$m.pid" >>"$dir/started"
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n | unmunge >/dev/null 2>&1 || die "munged does not answer (munge -n | unmunge)"
fi

# --- slurm.conf: this machine, as slurmd measures it ---
# "localhost" as both the controller and the node name (slurmd -N), at 127.0.0.1: that
# resolves to loopback on any machine, and NoInAddrAny/NoCtldInAddrAny make the daemons
# bind to that address rather than to every interface.
hw=$(slurmd -C | head -n 1)
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
[[ -n $cpus && -n $mem ]] || die "cannot read CPUs and memory from 'slurmd -C': $hw"
mem=$((mem * 95 / 100)) # leave the OS some: slurmd drains a node with less than it claims
ctld_port=${KMC_SLURMCTLD_PORT:-6817}
slurmd_port=${KMC_SLURMD_PORT:-6818}
for port in "$ctld_port" "$slurmd_port"; do
    # a daemon that cannot bind exits after writing its pid file, and sinfo would then
    # answer from whatever holds the port: refuse up front
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port on 127.0.0.1 is in use (another Slurm?); set KMC_SLURMCTLD_PORT" \
            "and KMC_SLURMD_PORT to free ports"
    fi
done
mkdir -p "$dir/state" "$dir/spool"
cat >"$dir/slurm.conf" <<EOF
# written by tests/slurm/start_cluster.sh: one node, loopback only
ClusterName=kmctest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=10
OverTimeLimit=0
InactiveLimit=0
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$dir/slurm.conf

# --- daemons (each forks and writes its pid file) ---
slurmctld -f "$SLURM_CONF" -c || die "slurmctld did not start: $(tail -n 1 "$dir/slurmctld.log")"
for _ in $(seq 50); do [[ -s $dir/slurmctld.pid ]] && break; sleep 0.1; done
[[ -s $dir/slurmctld.pid ]] && echo "$dir/slurmctld.pid" >>"$dir/started"
slurmd -f "$SLURM_CONF" -N localhost || die "slurmd did not start: $(tail -n 1 "$dir/slurmd.log")"
for _ in $(seq 50); do [[ -s $dir/slurmd.pid ]] && break; sleep 0.1; done
[[ -s $dir/slurmd.pid ]] && echo "$dir/slurmd.pid" >>"$dir/started"

state=""
for _ in $(seq 60); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -n 1)
    [[ $state == idle ]] && break
    sleep 0.5
done
for name in slurmctld slurmd; do
    pid=$(cat "$dir/$name.pid" 2>/dev/null)
    kill -0 "${pid:-0}" 2>/dev/null || die "$name exited: $(tail -n 1 "$dir/$name.log")"
done
if [[ $state != idle ]]; then
    die "the node is not idle after 30 s (sinfo: '${state:-no answer}'); see $dir/slurmctld.log" \
        "and $dir/slurmd.log"
fi
echo "start_cluster: node localhost idle ($cpus CPUs, $mem MiB); export SLURM_CONF=$SLURM_CONF" >&2
