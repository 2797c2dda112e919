#!/usr/bin/env bash
# Multi-node for real: a cluster of three hosts on this machine (network
# namespaces hl1..hl3 behind a bridge, each with its own address, host name
# and slurmd; slurmctld on the head; tests/slurm/cluster.sh start DIR 3).
# Open MPI talks TCP only (btl tcp,self on the cluster's network: no shared
# memory, not even between ranks of one host). Checks that
#  (a) a suite on 2x2x1 and 1x2x2, ranks spread over the three hosts by
#      mpirun (launched into the namespaces by the hostfile's rsh agent),
#      gives answers byte-identical to one rank;
#  (b) hyperllava-submit runs the suite as an array job whose tasks span
#      the hosts (srun), with the same answers and scores;
#  (c) a host lost mid-run ends the job on every host within 30 s, with a
#      line naming that host: its link cut under mpirun; its slurmd killed,
#      then another host's link cut, under SLURM;
#  (d) the job SLURM requeued after each loss resumes (--resume) to answers
#      byte-identical to an uninterrupted run.
# Every namespace, veth and daemon is gone at exit, whatever happens. Needs
# root; says skip (exit 77) where namespaces cannot be made.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/cli/common.sh
ROOT=$(pwd)
CL=$TMP/c
cluster_test_begin "$CL" "a cluster of network namespaces needs root" \
    "iproute2 munge slurmctld slurmd slurm-client openmpi-bin" \
    ip unshare munged slurmctld slurmd sbatch srun squeue scontrol mpirun
for v in $(compgen -v SLURM_) $(compgen -v SBATCH_) $(compgen -v SRUN_); do unset "$v"; done
export OMPI_MCA_mpi_yield_when_idle=1 # see tests/cli/test_slurm.sh
[ -x "$HL_BIN" ] || { echo "FAIL: $HL_BIN not built"; exit 1; }
chmod 755 "$TMP"
mkdir -p "$TMP/bin"
BIN=$TMP/bin/hyperllava
cp "$HL_BIN" "$BIN"

# The cluster first: where it cannot be made, nothing else is worth doing.
tests/slurm/cluster.sh start "$CL" 3 >"$TMP/start.log" 2>&1
rc=$?
[ $rc -eq 77 ] && { tail -n 1 "$TMP/start.log"; exit 77; }
[ $rc -eq 0 ] || { cat "$TMP/start.log"; echo "FAIL: could not start a 3-host SLURM cluster (logs above)"; exit 1; }

# The fixture model with room for ScienceQA's long prompts, a 4-benchmark
# suite (as test_slurm.sh) and a long one-benchmark job (1200 VizWiz-style
# questions over the POPE images) that is still running when a host is lost.
roomy_model "$TMP/model.h5"
JOB=$TMP/suite.yaml
suite_job "$TMP/model.h5" "$TMP/slurm-out" 2 2 >"$JOB"
BENCHES="pope mme sqa mmbench"
NLONG=1200
/usr/bin/python3 - tests/fixtures/bench/pope/llava_pope_test.jsonl "$TMP/long.jsonl" $NLONG <<'PY'
import json, sys
src = [json.loads(l) for l in open(sys.argv[1])]
with open(sys.argv[2], "w") as f:
    for i in range(int(sys.argv[3])):
        q = dict(src[i % len(src)], question_id=i, category="default")
        f.write(json.dumps(q) + "\n")
PY
LONG=$TMP/long.yaml
cat >"$LONG" <<EOF
run:
  model: $TMP/model.h5
  parallel: {dp: 2, pp: 2, tp: 1}
  batch_size: 3
  micro_batches: 2
output: $TMP/long-slurm
model_id: tiny-all
data_root: $ROOT/tests/fixtures/bench
benchmarks:
  - kind: vizwiz
    questions: $TMP/long.jsonl
    images: pope/val2014
EOF
hosts_of() { # metrics.json -> the hosts of its ranks, sorted, unique
    /usr/bin/python3 -c "import json, sys; print(' '.join(sorted({r['host'] for r in json.load(open(sys.argv[1]))['ranks']})))" "$1" 2>/dev/null
}
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
wait_lines() { # file, count, seconds: until the file has that many lines
    local end=$(($(date +%s) + $3))
    while [ "$(lines "$1")" -lt "$2" ]; do
        [ "$(date +%s)" -gt "$end" ] && return 1
        sleep 0.2
    done
}

# References: one rank, here.
$BIN eval --job "$JOB" --layout 1x1x1 --micro-batches 1 --output "$TMP/one" >"$TMP/one.log" 2>&1 ||
    { fail "1 rank: $(grep -m1 error "$TMP/one.log")"; pass_or_fail; }
$BIN eval --job "$LONG" --layout 1x1x1 --micro-batches 1 --output "$TMP/long-one" >"$TMP/long-one.log" 2>&1 ||
    { fail "1 rank, long job: $(grep -m1 error "$TMP/long-one.log")"; pass_or_fail; }
[ "$(lines "$TMP/long-one/vizwiz/answers.jsonl")" -eq $NLONG ] || fail "long job: not $NLONG answers on 1 rank"
ok "one-rank references"

export SLURM_CONF=$CL/slurm.conf
on() { tests/slurm/netns.sh exec "$CL" "$@"; }
running() { # host -> the hyperllava processes on it
    local p
    for p in $(tests/slurm/netns.sh pids "$CL" "$1"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = hyperllava ] && echo "$p"
    done
}
addr() { awk -v h="$1" '$2 == h { print $1 }' "$CL/hosts"; }
# TCP only, on the cluster's network; ranks on another host through the agent.
unset OMPI_MCA_btl_vader_single_copy_mechanism
export OMPI_MCA_btl=tcp,self
cidr=$(cat "$CL/netns/cidr")
export OMPI_MCA_btl_tcp_if_include=$cidr OMPI_MCA_oob_tcp_if_include=$cidr
export OMPI_MCA_plm_rsh_agent=$CL/rsh-agent
MPI_ARGS="--hostfile $CL/hostfile --map-by node"
[ "$(on hl2 hostname)" = hl2 ] && [ "$(on hl3 cat /proc/net/fib_trie | grep -c "$(addr hl3)")" -gt 0 ] ||
    fail "hl2 and hl3 do not have their own names and addresses"
ok "3 hosts (hl1..hl3: $(cut -d' ' -f1 "$CL/hostfile" | tr '\n' ' ')), slurmctld on the head, one slurmd per host, nodes idle"

# SLURM commands run on hl1, as on a login node.
squeue_on() { on hl1 squeue "$@"; }
wait_jobs() { # seconds, job ids: until they left the queue; stops at DependencyNeverSatisfied
    local secs=$1 end=$(($(date +%s) + $1)) ids q
    shift
    ids=$(tr ' ' ',' <<<"$*")
    while :; do
        q=$(squeue_on -h -j "$ids" -o '%i %T %r' 2>&1) || { fail "squeue: $q"; return 1; }
        [ -z "$q" ] && return 0
        grep -q DependencyNeverSatisfied <<<"$q" && { fail "a task failed, scoring never runs: $q"; on hl1 scancel "$@"; return 1; }
        [ "$(date +%s)" -gt "$end" ] && { fail "jobs still queued after $secs s: $q"; on hl1 scancel "$@"; return 1; }
        sleep 1
    done
}
job_line() { on hl1 scontrol -o show job "$1" 2>&1; }

# (b) the suite as an array job, every task on the three hosts.
on hl1 env HL_BIN="$BIN" launcher/hyperllava-submit --nodes 3 "$JOB" >"$TMP/submit.log" 2>&1 ||
    { fail "hyperllava-submit: $(cat "$TMP/submit.log")"; pass_or_fail; }
read -r array merge < <(sed -n 's/.*array job \([0-9]*\) .*scoring job \([0-9]*\) .*/\1 \2/p' "$TMP/submit.log")
[ -n "${array:-}" ] && [ -n "${merge:-}" ] || { fail "no job ids in: $(cat "$TMP/submit.log")"; pass_or_fail; }
wait_jobs 300 "$array" "$merge"
states=$(job_line "$array"; job_line "$merge")
for i in 0 1 2 3; do
    grep -E "ArrayJobId=$array ArrayTaskId=$i " <<<"$states" | grep -q "JobState=COMPLETED .*ExitCode=0:0 .*NodeList=hl\[1-3\]" || {
        fail "array task $i: $(grep -E "ArrayTaskId=$i " <<<"$states" | grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9:]+|NodeList=[^ ]+' | tr '\n' ' ')"
        tail -n 15 "$TMP/slurm-out/slurm/"*"-${array}_$i.out"
        grep -E "${array}_$i|JobId=$((array + i))|not responding|DOWN" "$CL/slurmctld.log" | tail -n 15
    }
done
grep -E "^JobId=$merge " <<<"$states" | grep -q "JobState=COMPLETED .*ExitCode=0:0" || fail "scoring job did not complete"
for b in $BENCHES; do
    cmp -s "$TMP/one/$b/answers.jsonl" "$TMP/slurm-out/$b/answers.jsonl" || fail "array job $b: answers differ from 1 rank"
    scores_match "$TMP/one/$b/scores.json" "$TMP/slurm-out/$b/scores.json" || fail "array job $b: scores differ from 1 rank"
    [ "$(hosts_of "$TMP/slurm-out/$b/metrics.json")" = "hl1 hl2 hl3" ] ||
        fail "array job $b: ranks ran on '$(hosts_of "$TMP/slurm-out/$b/metrics.json")', not hl1 hl2 hl3"
done
scores_match "$TMP/one/scores.json" "$TMP/slurm-out/scores.json" || fail "array job: suite scores differ from 1 rank"
ok "hyperllava-submit: array job $array on hl[1-3] (srun), answers and scores as one rank, scoring job $merge done"

# (a) mpirun from hl1, ranks spread over the hosts.
for layout in 2x2x1 1x2x2; do
    out=$TMP/mpi-$layout
    on hl1 env HL_BIN="$BIN" HL_MPIRUN_ARGS="$MPI_ARGS" timeout 300 launcher/hyperllava-run "$JOB" --layout $layout \
        --output "$out" >"$out.log" 2>&1 || { fail "$layout under mpirun: $(grep -m1 error "$out.log")"; continue; }
    for b in $BENCHES; do
        cmp -s "$TMP/one/$b/answers.jsonl" "$out/$b/answers.jsonl" || fail "$layout $b: answers differ from 1 rank"
    done
    scores_match "$TMP/one/scores.json" "$out/scores.json" || fail "$layout: scores differ from 1 rank"
    [ "$(hosts_of "$out/metrics.json")" = "hl1 hl2 hl3" ] || fail "$layout: ranks ran on '$(hosts_of "$out/metrics.json")', not hl1 hl2 hl3"
done
ok "mpirun: 2x2x1 and 1x2x2 over hl1 hl2 hl3 (TCP) answer as one rank"

# (c) mpirun: hl2's link cut mid-run.
out=$TMP/mpi-cut
# (rank 0 runs on hl1, where the launcher starts: its rounds are paced, as
# for the SLURM job below)
on hl1 env HL_BIN="$BIN" HL_MPIRUN_ARGS="$MPI_ARGS" HL_TEST_SLEEP_AT=answers.synced:400 \
    launcher/hyperllava-run "$LONG" --layout 1x2x2 --output "$out" >"$out.log" 2>&1 &
launcher=$!
if wait_lines "$out/vizwiz/answers.jsonl" 20 120; then
    tests/slurm/netns.sh link "$CL" hl2 down
    t0=$(date +%s)
    while kill -0 $launcher 2>/dev/null || [ -n "$(running hl1)$(running hl2)$(running hl3)" ]; do
        [ $(($(date +%s) - t0)) -gt 30 ] && break
        sleep 0.5
    done
    dt=$(($(date +%s) - t0))
    if kill -0 $launcher 2>/dev/null || [ -n "$(running hl1)$(running hl2)$(running hl3)" ]; then
        fail "mpirun: the job still runs 30 s after hl2's link was cut (hl1: $(running hl1 | wc -l), hl2: $(running hl2 | wc -l), hl3: $(running hl3 | wc -l) ranks)"
        kill -KILL $launcher 2>/dev/null
    fi
    wait $launcher
    rc=$?
    [ $rc -ne 0 ] || fail "mpirun: exit 0 although hl2 was lost"
    for ((i = 0; i < 10; i++)); do grep -q "lost host $(addr hl2) " "$out.log" && break; sleep 0.2; done
    grep -q "lost host $(addr hl2) " "$out.log" || fail "mpirun: no line names the lost host $(addr hl2): $(tail -n 3 "$out.log")"
    [ "$(lines "$out/vizwiz/answers.jsonl")" -lt $NLONG ] || fail "mpirun: the long job finished before the cut"
    ok "mpirun: hl2's link cut, the job ended on every host in ${dt}s (exit $rc): $(grep -m1 'lost host' "$out.log")"
else
    fail "mpirun: no 20 answers after 120 s: $(tail -n 3 "$out.log")"
    kill $launcher 2>/dev/null
    wait $launcher
fi
tests/slurm/netns.sh link "$CL" hl2 up

# (c) and (d) under SLURM: the long job, 2x2x1 over the three hosts.
lost_check() { # what, lost host, job log, time of the loss: the other hosts end within 30 s, the job is requeued
    local what=$1 lost=$2 log=$3 t0=$4 others h left state
    others=$(for h in hl1 hl2 hl3; do [ $h = "$lost" ] || echo $h; done)
    while :; do
        left=""
        for h in $others; do left+=$(running $h); done
        state=$(job_line "${long}_0" | grep -oE 'JobState=[A-Z_]+')
        [ -z "$left" ] && [ "$state" != JobState=RUNNING ] && break
        [ $(($(date +%s) - t0)) -gt 30 ] && break
        sleep 0.5
    done
    dt=$(($(date +%s) - t0))
    [ -z "$left" ] && [ "$state" != JobState=RUNNING ] ||
        fail "$what: 30 s later the job is $state with ranks left on: $(for h in $others; do [ -n "$(running $h)" ] && echo -n "$h "; done)"
    grep -q "Node failure on $lost" "$log" || fail "$what: no line names $lost in the job log: $(tail -n 3 "$log")"
}
host_clean() { # what, host, seconds: until no rank is left on the host
    local end=$(($(date +%s) + $3))
    while [ -n "$(running "$2")" ]; do
        [ "$(date +%s)" -gt "$end" ] && { fail "$1: ranks still on $2 after $3 s"; return 1; }
        sleep 0.5
    done
}
nodes_idle() { # seconds: until every node has been idle for 5 s in a row
    local end=$(($(date +%s) + $1)) n=0
    while [ $n -lt 5 ]; do
        if [ "$(on hl1 sinfo -h -N -o %T 2>/dev/null | tr '\n' ' ')" = "idle idle idle " ]; then n=$((n + 1)); else n=0; fi
        [ "$(date +%s)" -gt "$end" ] && { fail "nodes not idle after $1 s: $(on hl1 sinfo -h -N -o '%N %T' | tr '\n' ' ')"; return 1; }
        sleep 1
    done
}
node_idle() { # host, seconds
    local end=$(($(date +%s) + $2))
    until [ "$(on hl1 sinfo -h -n "$1" -o %T 2>/dev/null)" = idle ] || [ "$(on hl1 sinfo -h -n "$1" -o %T 2>/dev/null)" = mixed ] ||
        [ "$(on hl1 sinfo -h -n "$1" -o %T 2>/dev/null)" = allocated ]; do
        [ "$(date +%s)" -gt "$end" ] && { fail "$1 not back after $2 s: $(on hl1 sinfo -h -n "$1" -o %T)"; return 1; }
        sleep 0.5
    done
}
# hl2's link was cut above: SLURM may have found it down meanwhile.
nodes_idle 60
# Its rounds are paced (0.4 s each on rank 0, 200 rounds): a loss must find
# it running however fast the engine gets.
on hl1 env HL_BIN="$BIN" HL_TEST_SLEEP_AT=answers.synced:400 launcher/hyperllava-submit --nodes 3 "$LONG" \
    >"$TMP/submit-long.log" 2>&1 ||
    { fail "hyperllava-submit: $(cat "$TMP/submit-long.log")"; pass_or_fail; }
read -r long long_merge < <(sed -n 's/.*array job \([0-9]*\) .*scoring job \([0-9]*\) .*/\1 \2/p' "$TMP/submit-long.log")
ans=$TMP/long-slurm/vizwiz/answers.jsonl
joblog() { echo "$TMP/long-slurm/slurm/"*"-${long}_0.out"; }

# hl3's slurmd killed: SLURM finds hl3 down, ends the job on hl1 and hl2
# and requeues it; hl3's ranks go when its slurmd is back.
if wait_lines "$ans" 20 120; then
    kill -KILL "$(cat "$CL/netns/hl3/local/slurmd.pid")"
    t0=$(date +%s) n=$(lines "$ans")
    lost_check "slurmd of hl3 killed" hl3 "$(joblog)" "$t0"
    [ "$(lines "$ans")" -lt $NLONG ] || fail "the long job finished before hl3 was found lost"
    on hl3 slurmd -f "$SLURM_CONF" -N hl3 || fail "slurmd on hl3 did not start again"
    host_clean "slurmd of hl3 killed" hl3 30
    [ $(($(date +%s) - t0)) -le 30 ] || fail "slurmd of hl3 killed: ranks left on hl3 for $(($(date +%s) - t0)) s"
    ok "slurmd of hl3 killed at $n answers: job ended on hl1 and hl2 in ${dt}s, on hl3 in $(($(date +%s) - t0))s ($(grep -m1 'Node failure' "$(joblog)"))"
else
    fail "no 20 answers from the SLURM job after 120 s: $(tail -n 3 "$(joblog)")"
fi

# The requeued job runs again; hl2's link is cut while it does. hl2's ranks
# cannot be told anything until its link is back.
node_idle hl3 60
if wait_lines "$ans" $(($(lines "$ans") + 20)) 120; then
    tests/slurm/netns.sh link "$CL" hl2 down
    t0=$(date +%s) n=$(lines "$ans")
    lost_check "hl2's link cut" hl2 "$(joblog)" "$t0"
    tests/slurm/netns.sh link "$CL" hl2 up
    t1=$(date +%s)
    host_clean "hl2's link cut" hl2 30
    ok "hl2's link cut at $n answers: job ended on hl1 and hl3 in ${dt}s, on hl2 $(($(date +%s) - t1))s after its link was back"
else
    fail "the requeued job did not answer 20 more questions in 120 s: $(tail -n 3 "$(joblog)")"
fi

# Requeued again, it resumes to the answers of the uninterrupted run.
wait_jobs 300 "$long" "$long_merge"
line=$(job_line "${long}_0")
grep -q "JobState=COMPLETED .*ExitCode=0:0" <<<"$line" || fail "long job: $(grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9:]+' <<<"$line" | tr '\n' ' ')"
grep -q "Restarts=2 " <<<"$line" || fail "long job: not requeued twice: $(grep -oE 'Restarts=[0-9]+' <<<"$line")"
cmp -s "$TMP/long-one/vizwiz/answers.jsonl" "$ans" || fail "long job: answers after two requeues differ from the uninterrupted run"
[ "$(hosts_of "$TMP/long-slurm/vizwiz/metrics.json")" = "hl1 hl2 hl3" ] || fail "long job: last run not on hl1 hl2 hl3"
ok "requeued twice, resumed to answers identical to the uninterrupted run"

# Everything the cluster started is gone after stop.
pids=$(cat "$CL/slurmctld.pid" "$CL"/netns/hl*/local/slurmd.pid "$CL/munge/munged.pid" 2>/dev/null)
prefix=$(cat "$CL/netns/prefix")
tests/slurm/cluster.sh stop "$CL" 2>"$TMP/stop.log"
[ -s "$TMP/stop.log" ] && fail "stop: $(cat "$TMP/stop.log")"
for p in $pids; do
    if kill -0 "$p" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" != Z ]; then
        fail "process $p ($(cat "/proc/$p/comm" 2>/dev/null)) still running after stop"
    fi
done
[ "$(wc -w <<<"$pids")" -eq 5 ] || fail "expected 5 daemon pid files, got: $pids"
ip netns list | grep -q "^$prefix-" && fail "namespaces left: $(ip netns list | grep "^$prefix-" | tr '\n' ' ')"
ok "cluster stopped, no namespace left"
pass_or_fail
