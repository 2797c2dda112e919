#!/usr/bin/env bash
# A throwaway network of hosts on this machine, for tests: one network
# namespace per host, each with its own address, host name and /etc/hosts,
# joined by veth pairs to a bridge in a head namespace (the head node).
#
# usage: netns.sh start DIR N          the head and hosts hl1..hlN (2 <= N <= 8);
#                                      exit 77 with the reason when this
#                                      machine cannot make namespaces
#        netns.sh stop DIR             deletes the namespaces (their veths go
#                                      with them) after killing what runs in
#                                      them; safe to call twice
#        netns.sh exec DIR HOST CMD... runs CMD on HOST (head, hl1..hlN, or
#                                      its address) as that host
#        netns.sh link DIR HOST up|down  plugs or pulls HOST's cable (its
#                                      port on the head's bridge)
#        netns.sh pids DIR HOST        the processes running on HOST
#
# The head's bridge is 10.99.0.1/24, host hlI is 10.99.0.(10+I) (the
# network is in DIR/netns/cidr, for Open MPI's btl_tcp_if_include).
# Everything lives inside the namespaces, so two networks side by side do
# not meet and the machine's own interfaces and routes are untouched.
# start writes:
#   DIR/hosts      an /etc/hosts that `exec` mounts over the real one,
#                  inside the command's own mount namespace
#   DIR/local      each host's local disk: `exec` mounts DIR/netns/HOST/local
#                  there, so one path names a folder of its own on every
#                  host, as /tmp or a spool folder does on real nodes
#   DIR/hostfile   for mpirun: one line per host, by address
#   DIR/rsh-agent  for mpirun's `--mca plm_rsh_agent`: runs Open MPI's
#                  daemon on the host it names, as ssh would
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUBNET=10.99.0

die() { echo "netns.sh: error: $*" >&2; exit 1; }
skip() { echo "skip: $*"; exit 77; }

ns_of() { # host name or address -> namespace name
    local h=$1 name addr
    [ -f "$DIR/netns/prefix" ] || die "$DIR: no network here (netns.sh start first)"
    while read -r addr name _; do
        if [ "$h" = "$name" ] || [ "$h" = "$addr" ]; then echo "$(cat "$DIR/netns/prefix")-$name"; return 0; fi
    done <"$DIR/hosts"
    die "no host '$h' in $DIR/hosts"
}

start() {
    local n=$1 prefix sw i
    [[ $n =~ ^[2-8]$ ]] || die "N must be 2 to 8, got '$n'"
    [ "$(id -u)" -eq 0 ] || skip "network namespaces need root (CAP_NET_ADMIN and CAP_SYS_ADMIN)"
    command -v ip >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    for t in ip unshare hostname; do
        command -v $t >/dev/null 2>&1 || skip "$t not found (tools/setup-deps.sh installs iproute2 and util-linux)"
    done
    mkdir -p "$DIR/netns" || die "$DIR: cannot create"
    prefix=hl$$-$RANDOM
    echo "$prefix" >"$DIR/netns/prefix"
    echo "$SUBNET.0/24" >"$DIR/netns/cidr"
    sw=$prefix-head
    ip netns add "$sw" 2>"$DIR/netns/err" || skip "cannot make a network namespace: $(head -n 1 "$DIR/netns/err")"
    echo "$sw" >>"$DIR/netns/list"
    # A veth is what links namespaces; a kernel without it cannot run this.
    ip -n "$sw" link add probe0 type veth peer name probe1 2>"$DIR/netns/err" ||
        skip "cannot make a veth pair: $(head -n 1 "$DIR/netns/err")"
    ip -n "$sw" link del probe0
    {
        echo "127.0.0.1 localhost"
        echo "$SUBNET.1 head"
        for ((i = 1; i <= n; i++)); do echo "$SUBNET.$((10 + i)) hl$i"; done
    } >"$DIR/hosts"
    : >"$DIR/hostfile"
    mkdir -p "$DIR/local" "$DIR/netns/head/local"
    ip -n "$sw" link set lo up &&
        ip -n "$sw" link add br0 type bridge &&
        ip -n "$sw" addr add "$SUBNET.1/24" dev br0 &&
        ip -n "$sw" link set br0 up || die "cannot set up the bridge in $sw"
    for ((i = 1; i <= n; i++)); do
        local h=$prefix-hl$i
        ip netns add "$h" || die "cannot add namespace $h"
        mkdir -p "$DIR/netns/hl$i/local"
        echo "$h" >>"$DIR/netns/list"
        # port hlI on the head's bridge, eth0 inside the host
        ip -n "$sw" link add "hl$i" type veth peer name eth0 netns "$h" &&
            ip -n "$sw" link set "hl$i" master br0 &&
            ip -n "$sw" link set "hl$i" up &&
            ip -n "$h" link set lo up &&
            ip -n "$h" addr add "$SUBNET.$((10 + i))/24" dev eth0 &&
            ip -n "$h" link set eth0 up || die "cannot wire $h"
        echo "$SUBNET.$((10 + i))" >>"$DIR/hostfile"
    done
    cat >"$DIR/rsh-agent" <<EOF
#!/bin/sh
# mpirun's launcher on this test network: \`rsh-agent HOST COMMAND...\`
# runs the command line on HOST through \`netns.sh exec\`, as ssh would.
while [ \$# -gt 0 ]; do case \$1 in -*) shift ;; *) break ;; esac; done
host=\$1; shift
exec "$HERE/netns.sh" exec "$DIR" "\$host" /bin/sh -c "\$*"
EOF
    chmod +x "$DIR/rsh-agent"
}

exec_on() {
    local host=$1 ns name
    shift
    ns=$(ns_of "$host") || exit 1
    name=${ns#"$(cat "$DIR/netns/prefix")"-}
    # ip netns exec gives the command a mount namespace of its own, so the
    # bind mounts stay inside; unshare --uts the host name.
    exec ip netns exec "$ns" unshare --uts /bin/sh -c \
        'hostname "$1" && mount --bind "$2" /etc/hosts && mount --bind "$3" "$4" && shift 4 && exec "$@"' \
        sh "$name" "$DIR/hosts" "$DIR/netns/$name/local" "$DIR/local" "$@"
}

link() {
    local host=$1 state=$2 prefix
    case $state in up | down) ;; *) die "link: up or down, got '$state'" ;; esac
    prefix=$(cat "$DIR/netns/prefix" 2>/dev/null) || die "$DIR: no network here"
    ip -n "$prefix-head" link set "$host" "$state" || die "cannot set $host's port $state"
}

pids() {
    local ns
    ns=$(ns_of "$1") || exit 1
    ip netns pids "$ns"
}

stop() {
    local ns pids t
    [ -f "$DIR/netns/list" ] || return 0
    # Processes still in a namespace: TERM, then KILL; then the namespace.
    for t in TERM KILL; do
        pids=""
        while read -r ns; do
            pids+=" $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
        done <"$DIR/netns/list"
        [ -z "${pids// /}" ] && break
        # shellcheck disable=SC2086
        kill -$t $pids 2>/dev/null
        for ((i = 0; i < 20; i++)); do
            local left=""
            while read -r ns; do left+=$(ip netns pids "$ns" 2>/dev/null); done <"$DIR/netns/list"
            [ -z "$left" ] && break
            sleep 0.25
        done
    done
    while read -r ns; do
        ip netns del "$ns" 2>/dev/null
    done <"$DIR/netns/list"
    rm -f "$DIR/netns/list"
    return 0
}

[ $# -ge 2 ] || { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2; exit 2; }
cmd=$1 DIR=$2
shift 2
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
case $cmd in
    start) [ $# -eq 1 ] || die "start DIR N"; start "$1" ;;
    stop) stop ;;
    exec) [ $# -ge 2 ] || die "exec DIR HOST CMD..."; exec_on "$@" ;;
    link) [ $# -eq 2 ] || die "link DIR HOST up|down"; link "$@" ;;
    pids) [ $# -eq 1 ] || die "pids DIR HOST"; pids "$1" ;;
    *) die "unknown command '$cmd' (start, stop, exec, link or pids)" ;;
esac
