#!/usr/bin/env bash
# A suite through a real SLURM: a one-node cluster on this machine
# (tests/slurm/cluster.sh: munged, slurmctld, slurmd), `hyperllava-submit`
# submits the array job (one benchmark per task, each on 2 MPI ranks started
# by srun) and the dependent scoring job. Checks that every task and the
# scoring job completed with exit code 0, that srun started each benchmark's
# two ranks as one step through the MPI plugin the launcher picks (pmix on
# Debian 12), and that the answers files and scores.json equal those of the
# same job run with mpirun outside SLURM. Array task 2 fails on its first
# try: `hyperllava-submit JOB --only-tasks 2` resubmits it with a new scoring
# job and cancels the old one, which waited for ever. A sweep job (--mode
# sweep: srun steps of 1 and 2 ranks in one allocation) gives the same
# answers too and its sweep.csv; its layout invalid for the model is skipped
# with its reason (a warning at submission, a line in the log, a CSV row). Submitting the finished job again, and a job
# whose model is missing, are refused in one line before anything is queued. The cluster is stopped at exit, whatever happens. Needs
# root (slurmd runs jobs as their user).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/cli/common.sh
ROOT=$(pwd)
CL=$TMP/c
cluster_test_begin "$CL" "a test SLURM cluster runs slurmd as root; run as root" \
    "munge slurmctld slurmd slurm-client" \
    munged slurmctld slurmd sbatch srun squeue scontrol
# Nothing from an outer allocation or another cluster may leak in.
for v in $(compgen -v SLURM_) $(compgen -v SBATCH_) $(compgen -v SRUN_); do unset "$v"; done
# Waiting ranks spin by default; on a busy machine with few cores they then
# take the CPU from the rank they wait for.
export OMPI_MCA_mpi_yield_when_idle=1

[ -x "$HL_BIN" ] || { echo "FAIL: $HL_BIN not built"; exit 1; }
chmod 755 "$TMP" # munged wants every folder above its socket searchable
# A copy of the binary, so that a rebuild meanwhile cannot change it under the jobs.
mkdir -p "$TMP/bin"
BIN=$TMP/bin/hyperllava-real
cp "$HL_BIN" "$BIN"

# The fixture model with room for ScienceQA's long prompts (as test_eval.sh),
# and a job with absolute paths: 4 benchmarks, each on 2 pipeline stages.
roomy_model "$TMP/model.h5"
JOB=$TMP/suite.yaml
suite_job "$TMP/model.h5" "$TMP/slurm-out" 1 2 >"$JOB"
BENCHES="pope mme sqa mmbench"
# The first benchmark over 3 layouts, as one sweep allocation, and a layout
# invalid for the model (tp 4 does not divide its 6 heads), which is skipped.
SWEEP_JOB=$TMP/sweep.yaml
sed -e "s#^output: .*#output: $TMP/sweep-out#" -e '/^  - kind: mme/,$d' "$JOB" >"$SWEEP_JOB"
printf 'sweep:\n  layouts: [1x1x1, 1x2x1, 1x1x4, 2x1x1]\n  batch_sizes: [3]\n' >>"$SWEEP_JOB"
SWEEP_RUNS="1x1x1-b3 1x2x1-b3 2x1x1-b3"
SWEEP_SKIP="parallel.tp: vision heads 6 is not divisible by tp = 4"

# Reference: the whole job under mpirun, outside SLURM.
HL_BIN=$BIN timeout 300 launcher/hyperllava-run "$JOB" --output "$TMP/ref" >"$TMP/ref.log" 2>&1 ||
    { fail "mpirun reference run: $(grep -m1 error "$TMP/ref.log")"; pass_or_fail; }
ok "reference run under mpirun"

# The cluster. Failing to start it is a failure, with the daemons' logs.
tests/slurm/cluster.sh start "$CL" 2>&1 || { echo "FAIL: could not start a SLURM cluster (logs above)"; exit 1; }
export SLURM_CONF=$CL/slurm.conf
ok "slurmctld and slurmd up, node idle"
expect_mpi=none
plugins=$(srun --mpi=list 2>&1)
if grep -qw pmix <<<"$plugins"; then expect_mpi=pmix; elif grep -qw pmi2 <<<"$plugins"; then expect_mpi=pmi2; fi

# A binary that notes how each eval process was started, then runs the real one;
# array task 2 fails while $TMP/fail-task-2 exists (the resubmission test).
cat >"$TMP/bin/hyperllava" <<EOF
#!/bin/sh
[ "\$1" = eval ] && [ -e "$TMP/fail-task-2" ] && [ "\${SLURM_ARRAY_TASK_ID:-}" = 2 ] && { echo "task 2 fails on purpose" >&2; exit 3; }
[ "\$1" = eval ] && echo "task=\${SLURM_ARRAY_JOB_ID:-}_\${SLURM_ARRAY_TASK_ID:-} step=\${SLURM_JOB_ID:-}.\${SLURM_STEP_ID:-} procid=\${SLURM_PROCID:-} ntasks=\${SLURM_STEP_NUM_TASKS:-} mpi=\${SLURM_MPI_TYPE:-} pmix_rank=\${PMIX_RANK:-}" >>"$TMP/ranks.log"
exec "$BIN" "\$@"
EOF
chmod +x "$TMP/bin/hyperllava"

: >"$TMP/fail-task-2"
HL_BIN=$TMP/bin/hyperllava launcher/hyperllava-submit "$JOB" >"$TMP/submit.log" 2>&1 ||
    { fail "hyperllava-submit: $(cat "$TMP/submit.log")"; pass_or_fail; }
read -r array merge < <(sed -n 's/.*array job \([0-9]*\) .*scoring job \([0-9]*\) .*/\1 \2/p' "$TMP/submit.log")
[ -n "${array:-}" ] && [ -n "${merge:-}" ] || { fail "no job ids in: $(cat "$TMP/submit.log")"; pass_or_fail; }
HL_BIN=$TMP/bin/hyperllava launcher/hyperllava-submit "$SWEEP_JOB" >"$TMP/submit-sweep.log" 2>&1 ||
    { fail "hyperllava-submit (sweep): $(cat "$TMP/submit-sweep.log")"; pass_or_fail; }
sweep=$(sed -n 's/.*sweep job \([0-9]*\) .*/\1/p' "$TMP/submit-sweep.log")
[ -n "$sweep" ] || { fail "no job id in: $(cat "$TMP/submit-sweep.log")"; pass_or_fail; }
grep -qxF "hyperllava-submit: warning: sweep run 1x1x4 batch 3 will be skipped: $SWEEP_SKIP" "$TMP/submit-sweep.log" ||
    fail "no warning about the invalid sweep run: $(cat "$TMP/submit-sweep.log")"
ok "submitted array job $array, scoring job $merge, sweep job $sweep"

# Task 2 fails: once the other tasks are done, the scoring job waits for ever
# (DependencyNeverSatisfied). One command resubmits the task with a new
# scoring job and cancels the old one.
logdir=$TMP/slurm-out/slurm
deadline=$(($(date +%s) + ${HL_SLURM_TIMEOUT:-200}))
while :; do
    q=$(squeue -h -o '%i %T %r' 2>&1) || { fail "squeue: $q"; break; }
    grep -q "^$merge PENDING DependencyNeverSatisfied" <<<"$q" && ! grep -q "^${array}_" <<<"$q" && break
    if [ -z "$q" ] || [ "$(date +%s)" -gt "$deadline" ]; then
        fail "scoring job $merge not left waiting after task 2 failed: ${q:-queue empty}"
        tail -n 20 "$logdir"/*.out
        pass_or_fail
    fi
    sleep 1
done
rm -f "$TMP/fail-task-2"
HL_BIN=$TMP/bin/hyperllava launcher/hyperllava-submit "$JOB" --only-tasks 2 >"$TMP/resubmit.log" 2>&1 ||
    { fail "hyperllava-submit --only-tasks 2: $(cat "$TMP/resubmit.log")"; pass_or_fail; }
grep -qx "hyperllava-submit: cancelled the previous scoring job $merge (it was waiting for array job $array)" "$TMP/resubmit.log" ||
    fail "old scoring job not cancelled: $(cat "$TMP/resubmit.log")"
read -r array2 merge2 < <(sed -n 's/.*array job \([0-9]*\) (tasks 2 of 4.*scoring job \([0-9]*\) .*/\1 \2/p' "$TMP/resubmit.log")
[ -n "${array2:-}" ] && [ -n "${merge2:-}" ] || { fail "no job ids in: $(cat "$TMP/resubmit.log")"; pass_or_fail; }
ok "task 2 failed, resubmitted as array job $array2 with scoring job $merge2; scoring job $merge cancelled"

# Wait until everything has left the queue.
deadline=$(($(date +%s) + ${HL_SLURM_TIMEOUT:-200}))
while :; do
    q=$(squeue -h -o '%i %T %r' 2>&1) || { fail "squeue: $q"; break; }
    [ -z "$q" ] && break
    if grep -q DependencyNeverSatisfied <<<"$q"; then
        fail "an array task failed, scoring job never runs: $q"
        tail -n 20 "$logdir"/*.out
        break
    fi
    if [ "$(date +%s)" -gt "$deadline" ]; then
        fail "jobs still queued after ${HL_SLURM_TIMEOUT:-200}s: $q"
        tail -n 20 "$logdir"/*.out "$TMP"/sweep-out/slurm/*.out
        break
    fi
    sleep 1
done
ok "queue empty"

# Every array task (task 2 in its resubmission), the new scoring job and the
# sweep job completed, exit code 0; the first task 2 failed, the old scoring
# job was cancelled.
states=$(for j in $array $merge $array2 $merge2 $sweep; do scontrol -o show job "$j" 2>&1; done)
task_of() { [ "$1" = 2 ] && echo "$array2" || echo "$array"; }
for i in 0 1 2 3; do
    a=$(task_of $i)
    line=$(grep -E "ArrayJobId=$a ArrayTaskId=$i " <<<"$states")
    grep -q "JobState=COMPLETED .*ExitCode=0:0" <<<"$line" ||
        fail "array task $i: $(grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9:]+' <<<"$line" | tr '\n' ' ')"
    grep -q "benchmark $i done" "$logdir"/*-"${a}_$i".out 2>/dev/null || fail "array task $i: log does not say done"
done
grep -q "JobState=FAILED" <<<"$(grep -E "ArrayJobId=$array ArrayTaskId=2 " <<<"$states")" || fail "the first task 2 did not fail"
grep -q "JobState=CANCELLED" <<<"$(grep -E "^JobId=$merge " <<<"$states")" || fail "old scoring job $merge not cancelled"
line=$(grep -E "^JobId=$merge2 " <<<"$states")
grep -q "JobState=COMPLETED .*ExitCode=0:0" <<<"$line" ||
    fail "scoring job: $(grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9:]+' <<<"$line" | tr '\n' ' ')"
grep -q "^benchmark  *kind" "$logdir"/*-score-"$merge2".out 2>/dev/null || fail "scoring job log has no summary table"
line=$(grep -E "^JobId=$sweep " <<<"$states")
grep -q "JobState=COMPLETED .*ExitCode=0:0" <<<"$line" ||
    fail "sweep job: $(grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9:]+' <<<"$line" | tr '\n' ' ')"

# Each benchmark ran as one srun step of 2 ranks (SLURM_PROCID 0 and 1),
# started through the MPI plugin the launcher picks.
for i in 0 1 2 3; do
    got=$(grep "^task=$(task_of $i)_$i " "$TMP/ranks.log" 2>/dev/null)
    [ "$(grep -c . <<<"$got")" -eq 2 ] || { fail "array task $i: expected 2 eval ranks, got: $got"; continue; }
    [ "$(sed 's/.* step=\([^ ]*\) .*/\1/' <<<"$got" | sort -u | wc -l)" -eq 1 ] || fail "array task $i: ranks in different steps: $got"
    grep -q ' step=[0-9][0-9]*\.[0-9][0-9]* ' <<<"$got" || fail "array task $i: ranks not started by srun: $got"
    [ "$(sed 's/.* procid=\([^ ]*\) .*/\1/' <<<"$got" | sort | tr '\n' ' ')" = "0 1 " ] || fail "array task $i: SLURM_PROCID not 0 and 1: $got"
    grep -q " ntasks=2 " <<<"$got" || fail "array task $i: step does not have 2 tasks: $got"
    if [ "$expect_mpi" = pmix ]; then
        [ "$(grep -c " mpi=pmix pmix_rank=[01]$" <<<"$got")" -eq 2 ] || fail "array task $i: not started through PMIx: $got"
    fi
done
# The sweep: one srun step per layout, of 1, 2 and 2 ranks.
got=$(grep "^task=_ step=$sweep\." "$TMP/ranks.log" 2>/dev/null)
[ "$(sed 's/.* step=\([^ ]*\) .*/\1/' <<<"$got" | sort | uniq -c | awk '{ print $1 }' | tr '\n' ' ')" = "1 2 2 " ] ||
    fail "sweep: expected steps of 1, 2 and 2 ranks, got: $got"
ok "array tasks, scoring and sweep jobs completed; each benchmark on 2 ranks of one srun step (mpi $expect_mpi)"

# Same answers and scores as the mpirun run. OUTPUT/scores.json comes from
# the scoring job only (an eval of one benchmark does not write it).
for b in $BENCHES; do
    cmp -s "$TMP/ref/$b/answers.jsonl" "$TMP/slurm-out/$b/answers.jsonl" || fail "$b: answers differ from the mpirun run"
    scores_match "$TMP/ref/$b/scores.json" "$TMP/slurm-out/$b/scores.json" || fail "$b: scores.json differs from the mpirun run"
    /usr/bin/python3 -c "import json, sys; m = json.load(open(sys.argv[1])); sys.exit(0 if m['layout']['world'] == 2 and len(m['ranks']) == 2 else 1)" \
        "$TMP/slurm-out/$b/metrics.json" 2>/dev/null || fail "$b: metrics.json does not show 2 ranks"
done
[ -s "$TMP/slurm-out/scores.json" ] || fail "no scores.json from the scoring job"
scores_match "$TMP/ref/scores.json" "$TMP/slurm-out/scores.json" || fail "suite scores.json differs from the mpirun run"
/usr/bin/python3 -c "import json, sys; s = json.load(open(sys.argv[1])); sys.exit(0 if sorted(s) == sorted(sys.argv[2:]) else 1)" \
    "$TMP/slurm-out/scores.json" $BENCHES 2>/dev/null || fail "suite scores.json does not hold exactly: $BENCHES"
for r in $SWEEP_RUNS; do
    cmp -s "$TMP/ref/pope/answers.jsonl" "$TMP/sweep-out/sweep/$r/pope/answers.jsonl" || fail "sweep $r: answers differ from the mpirun run"
done
grep -qxF "hyperllava-sweep: [3/4] 1x1x4 batch 3: skipped, invalid layout: $SWEEP_SKIP" "$TMP"/sweep-out/slurm/*.out ||
    fail "sweep log: no skip line for 1x1x4: $(grep -h hyperllava-sweep "$TMP"/sweep-out/slurm/*.out)"
/usr/bin/python3 - "$TMP/sweep-out/sweep/sweep.csv" "$SWEEP_SKIP" <<'PY' || fail "sweep.csv: $(cut -c1-100 "$TMP/sweep-out/sweep/sweep.csv" 2>&1)"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert ["%s-b%s" % (r["layout"], r["batch"]) for r in rows] == ["1x1x1-b3", "1x2x1-b3", "1x1x4-b3", "2x1x1-b3"], "runs"
ran = [r for r in rows if r["layout"] != "1x1x4"]
assert all(r["status"] == "ok" and float(r["samples_per_s"]) > 0 and float(r["tokens_per_s"]) > 0 for r in ran), "status"
assert [r["world"] for r in ran] == ["1", "2", "2"], "world"
# the tidy columns from each run's metrics.json
for r in ran:
    assert r["benchmark"] == "all" and r["threads"] == "1" and float(r["load_avg"]) >= 0, ("tidy", r)
    share = float(r["comm_share"])
    assert 0 <= share < 1 and (share == 0 if r["world"] == "1" else True), ("comm_share", r)
    assert share > 0 or r["layout"] != "1x2x1", ("comm_share of a pipeline", r)
m = int(ran[1]["micro_batches"])
assert float(ran[1]["bubble"]) == 1 / (m + 1) and ran[0]["bubble"] == ran[2]["bubble"] == "0.0", "bubble"
skip = rows[2]
assert skip["status"] == "skipped" and skip["reason"] == "invalid layout: " + sys.argv[2] and skip["samples_per_s"] == "", "skipped row"
PY
ok "answers and scores identical to the mpirun run (suite and 3 sweep layouts; the invalid one skipped)"

# Submitting the finished job again is refused in one line before anything is
# queued: its answers exist (no --resume); so is a job whose model is missing.
record=$(cat "$logdir/submitted")
err=$(HL_BIN=$TMP/bin/hyperllava launcher/hyperllava-submit "$JOB" 2>&1 >/dev/null) && fail "resubmitting a finished job was accepted"
[ "$err" = "hyperllava-submit: error: $JOB: 4 benchmarks already have answers in $TMP/slurm-out (marked ANSWERS above): pass --resume to continue them, or remove them (hyperllava plan --job $JOB shows why; --force submits anyway)" ] ||
    fail "refusal: $err"
sed "s#^  model: .*#  model: $TMP/gone.h5#" "$SWEEP_JOB" >"$TMP/gone.yaml"
err=$(HL_BIN=$TMP/bin/hyperllava launcher/hyperllava-submit "$TMP/gone.yaml" 2>&1 >/dev/null) && fail "a job without its model was accepted"
[ "$err" = "hyperllava-submit: error: $TMP/gone.yaml: 1 file named by it is missing (marked MISSING above) (hyperllava plan --job $TMP/gone.yaml shows why; --force submits anyway)" ] ||
    fail "refusal: $err"
[ -z "$(squeue -h 2>&1)" ] || fail "a refused submission queued a job: $(squeue -h 2>&1)"
[ "$(cat "$logdir/submitted")" = "$record" ] || fail "a refused submission was recorded"
ok "a finished job and a job without its model refused before queueing"

# Stop the cluster and check that its daemons are gone.
pids=$(cat "$CL/slurmctld.pid" "$CL/slurmd.pid" "$CL/munge/munged.pid" 2>/dev/null)
tests/slurm/cluster.sh stop "$CL" 2>"$TMP/stop.log"
[ -s "$TMP/stop.log" ] && fail "stop: $(cat "$TMP/stop.log")" # e.g. job steps that outlived their job
for p in $pids; do
    if kill -0 "$p" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" != Z ]; then
        fail "process $p ($(cat "/proc/$p/comm" 2>/dev/null)) still running after stop"
    fi
done
[ "$(wc -w <<<"$pids")" -eq 3 ] || fail "expected 3 daemon pid files, got: $pids"
ok "cluster stopped"
pass_or_fail
