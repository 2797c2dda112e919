#!/usr/bin/env bash
# A throwaway SLURM cluster on this machine, for tests.
#
# usage: cluster.sh start DIR [N]  munged, slurmctld and slurmd with every file
#                                under DIR (a new or empty folder); waits until
#                                the nodes are idle; exit 1 with the daemons' logs
#                                when they do not come up. With N (2 to 8): N
#                                hosts hl1..hlN, each a network namespace with
#                                its own address and slurmd, slurmctld on the
#                                head (tests/slurm/netns.sh); exit 77 when this
#                                machine cannot make namespaces
#        cluster.sh stop DIR     cancels the jobs, stops the daemons and any
#                                process still using DIR; safe to call twice
#
# After start, DIR/env holds `export SLURM_CONF=DIR/slurm.conf`: source it to
# use sbatch, squeue and friends on this cluster (with N hosts, on one of
# them: `tests/slurm/netns.sh exec DIR hl1 squeue`). The cluster runs as root
# (SlurmUser=root), tracks processes through /proc (no cgroups), has no
# accounting database, and uses its own munge key and socket, so it touches
# no system file and can run next to another one on other ports.
#
# Environment: HL_SLURM_WAIT   seconds to wait for the nodes (default 60)
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "cluster.sh: error: $*" >&2; exit 1; }
logs() { # the tails of the daemons' logs, for a failure message
    local f
    for f in "$DIR"/munge/munged.log "$DIR"/slurmctld.log "$DIR"/slurmd.log "$DIR"/netns/*/local/slurmd.log "$DIR"/*.out; do
        [ -s "$f" ] && { echo "---- $f"; tail -n 15 "$f"; }
    done >&2
}
free_port() { # a TCP port nobody listens on now
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
    local t
    for t in munged mungekey slurmctld slurmd sinfo; do
        command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
        command -v "$t" >/dev/null 2>&1 || die "$t not found (tools/setup-deps.sh installs munge, slurmctld, slurmd, slurm-client)"
    done
    [ "$(id -u)" -eq 0 ] || die "a test cluster runs its daemons as root; run as root"
    mkdir -p "$DIR"/munge "$DIR"/state "$DIR"/spool "$DIR"/tmp || die "$DIR: cannot create"
    if [ "$HOSTS" -gt 1 ]; then "$HERE/netns.sh" start "$DIR" "$HOSTS" || exit $?; fi
    # munged insists that every folder above its socket is searchable by all
    # and that its key and log are private.
    chmod 755 "$DIR" "$DIR"/munge
    mungekey --create --keyfile="$DIR/munge/munge.key" --bits=1024 || die "mungekey failed"
    chmod 600 "$DIR/munge/munge.key"
    munged --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.sock" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
        --seed-file="$DIR/munge/munged.seed" >>"$DIR/munge/munged.out" 2>&1 </dev/null || { logs; die "munged did not start"; }
    munge -n -S "$DIR/munge/munge.sock" | unmunge -S "$DIR/munge/munge.sock" >/dev/null ||
        { logs; die "munge credentials do not round-trip through $DIR/munge/munge.sock"; }

    local host cpus mem ctld_port slurmd_port nodes="" node_list node_dir timeouts="" auth_extra="" i
    cpus=$(nproc)
    [ "$cpus" -ge 2 ] || cpus=2 # room for a 2-rank step; config_overrides keeps the node up
    mem=$(awk '/^MemTotal:/ { print int($2 / 1024 / 2) }' /proc/meminfo)
    if [ "$HOSTS" -eq 1 ]; then
        host=$(hostname -s)
        ctld_port=$(free_port) && slurmd_port=$(free_port) || die "no free TCP port"
        while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done
        nodes="NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN"
        node_list=$host node_dir=$DIR ctld_host=$host ctld_addr=127.0.0.1
    else
        # Every host has its own addresses, so the standard ports do.
        ctld_port=6817 slurmd_port=6818 ctld_host=head ctld_addr=$(awk '$2 == "head" { print $1 }' "$DIR/hosts")
        for ((i = 1; i <= HOSTS; i++)); do
            nodes+="NodeName=hl$i NodeAddr=$(awk -v h="hl$i" '$2 == h { print $1 }' "$DIR/hosts") NodeHostname=hl$i"
            nodes+=" CPUs=$cpus RealMemory=$mem State=UNKNOWN"$'\n'
            mkdir -p "$DIR/netns/hl$i/local/spool" "$DIR/netns/hl$i/local/tmp"
        done
        node_list=hl[1-$HOSTS] node_dir=$DIR/local
        # A host that stops answering (link cut, slurmd killed) is DOWN
        # after 10 s, and its jobs are ended (or requeued) on every other host.
        timeouts="SlurmdTimeout=10"$'\n'"MessageTimeout=5"
        # A requeued job may start again once its old credential expired:
        # after 10 s rather than the default 120.
        auth_extra="s#^AuthInfo=.*#&,cred_expire=10#"
    fi
    sed -e "s#@DIR@#$DIR#g" -e "s#@NODE_DIR@#$node_dir#g" -e "s#@CTLD_HOST@#$ctld_host#g" \
        -e "s#@CTLD_ADDR@#$ctld_addr#g" -e "s#@NODE_LIST@#$node_list#g" \
        -e "s#@MPI_DEFAULT@#none#g" -e "s#@CTLD_PORT@#$ctld_port#g" -e "s#@SLURMD_PORT@#$slurmd_port#g" \
        -e "s#@FIRST_JOB_ID@#$((1000 + RANDOM * 30))#g" \
        -e "$auth_extra" "$HERE/slurm.conf.in" | awk -v nodes="${nodes%$'\n'}" -v timeouts="$timeouts" \
        '$0 == "@NODES@" { print nodes; next } $0 == "@TIMEOUTS@" { if (timeouts != "") print timeouts; next } { print }' \
        >"$DIR/slurm.conf" || die "cannot write $DIR/slurm.conf"
    # slurmd loads a cgroup plugin even when no other plugin uses cgroups.
    # Autodetection picks cgroup/v2 on a unified hierarchy (Debian 12's
    # default), whose start-up needs systemd over D-Bus and fails without it
    # (containers, VMs without systemd). Slurm 24.05 can say "disabled";
    # before it, name cgroup/v1, whose start-up touches no cgroup file (only
    # proctrack/cgroup, task/cgroup and jobacct_gather/cgroup use it), with
    # a mount point that does not exist, so nothing can touch the machine's.
    local ver
    ver=$(slurmd -V 2>/dev/null | awk '{ split($2, v, "."); print v[1] * 100 + v[2] }')
    if [ "${ver:-0}" -ge 2405 ]; then
        echo "CgroupPlugin=disabled" >"$DIR/cgroup.conf"
    else
        printf 'CgroupPlugin=cgroup/v1\nCgroupMountpoint=%s/no-cgroup\n' "$DIR" >"$DIR/cgroup.conf"
    fi
    echo "export SLURM_CONF=$DIR/slurm.conf" >"$DIR/env"
    export SLURM_CONF=$DIR/slurm.conf
    # PMIx when this Slurm has the plugin (Debian's does), so that a plain
    # `srun` starts Open MPI ranks too; srun lists its plugins from the file.
    if srun --mpi=list 2>&1 | grep -qw pmix; then
        sed -i 's/^MpiDefault=none$/MpiDefault=pmix/' "$SLURM_CONF"
    fi

    if [ "$HOSTS" -eq 1 ]; then
        slurmctld -c -f "$SLURM_CONF" >>"$DIR/slurmctld.out" 2>&1 </dev/null || { logs; die "slurmctld did not start"; }
        slurmd -f "$SLURM_CONF" -N "$host" >>"$DIR/slurmd.out" 2>&1 </dev/null || { logs; die "slurmd did not start"; }
    else
        on head slurmctld -c -f "$SLURM_CONF" >>"$DIR/slurmctld.out" 2>&1 </dev/null || { logs; die "slurmctld did not start"; }
        for ((i = 1; i <= HOSTS; i++)); do
            on "hl$i" slurmd -f "$SLURM_CONF" -N "hl$i" >>"$DIR/slurmd.out" 2>&1 </dev/null || { logs; die "slurmd on hl$i did not start"; }
        done
    fi

    local wait=${HL_SLURM_WAIT:-60} state="" p
    for ((i = 0; i < wait * 2; i++)); do
        state=$(on_any sinfo -h -N -o %T 2>/dev/null | sort -u | tr '\n' ' ')
        [ "$state" = "idle " ] && [ "$(on_any sinfo -h -N -o %N 2>/dev/null | wc -l)" -eq "$HOSTS" ] && return 0
        for p in "$DIR/slurmctld.pid" $(slurmd_pidfiles); do
            alive "$p" || { sleep 1; alive "$p" || { logs; die "$(basename "$p" .pid) exited ($p)"; }; }
        done
        sleep 0.5
    done
    logs
    die "nodes not idle after ${wait}s (state '${state:-unknown}')"
}

# A command on host $1 of the multi-host cluster.
on() { "$HERE/netns.sh" exec "$DIR" "$@"; }
# A client command where it reaches slurmctld: here, or on the first host.
on_any() { if [ -f "$DIR/netns/prefix" ]; then on hl1 "$@"; else "$@"; fi; }
slurmd_pidfiles() {
    if [ -f "$DIR/netns/prefix" ]; then ls "$DIR"/netns/hl*/local/slurmd.pid 2>/dev/null
    else echo "$DIR/slurmd.pid"; fi
}

# Processes that use DIR: an open file, their folder or SLURM_CONF in their
# environment. After the daemons are gone these are job steps left behind.
users_of_dir() {
    local me=$BASHPID p state
    unset SLURM_CONF # or the commands below would find themselves
    {
        grep -lzxF "SLURM_CONF=$DIR/slurm.conf" /proc/[0-9]*/environ
        find /proc/[0-9]*/cwd /proc/[0-9]*/fd -maxdepth 1 \( -lname "$DIR" -o -lname "$DIR/*" \)
    } 2>/dev/null | cut -d/ -f3 | sort -u | grep -vxF -e $$ -e "$me" -e "$PPID" |
        while read -r p; do
            state=$(awk '/^State:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
            [ -n "$state" ] && [ "$state" != Z ] && echo "$p"
        done
}

stop_pidfile() { # pid file: TERM, then KILL after 10 s
    local pid t
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    rm -f "$1" # a stale pid may belong to another process later
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((t = 0; t < 20; t++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
        sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null
}

stop() {
    local t left
    cd / || return 1 # not counted as a user of DIR
    [ -d "$DIR" ] || return 0
    if [ -f "$DIR/slurm.conf" ] && alive "$DIR/slurmctld.pid"; then
        export SLURM_CONF=$DIR/slurm.conf
        on_any scancel --quiet --user=root 2>/dev/null
        for ((t = 0; t < 30; t++)); do
            [ -z "$(on_any squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
    for t in $(slurmd_pidfiles); do stop_pidfile "$t"; done
    stop_pidfile "$DIR/slurmctld.pid"
    stop_pidfile "$DIR/munge/munged.pid"
    # processes of cancelled steps may take a moment to exit (longer on a
    # loaded machine); what is still there after 15 s outlived its job
    for ((t = 0; t < 30; t++)); do
        left=$(users_of_dir)
        [ -z "$left" ] && break
        sleep 0.5
    done
    if [ -n "$left" ]; then
        echo "cluster.sh: killing what is left of the cluster:" $(for p in $left; do
            printf '%s(%s) ' "$p" "$(tr -d '\n' 2>/dev/null <"/proc/$p/comm")"; done) >&2
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null
        sleep 0.5
    fi
    "$HERE/netns.sh" stop "$DIR"
    return 0
}

[ $# -eq 2 ] || { [ $# -eq 3 ] && [ "$1" = start ]; } ||
    { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2; exit 2; }
DIR=$2 HOSTS=${3:-1}
[[ $HOSTS =~ ^[1-8]$ ]] || die "N must be 1 to 8, got '$HOSTS'"
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
case $1 in
    start) start ;;
    stop) stop ;;
    *) die "unknown command '$1' (start or stop)" ;;
esac
