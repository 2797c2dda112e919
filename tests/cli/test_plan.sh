#!/usr/bin/env bash
# `hyperllava plan` output and errors, and the launchers (hyperllava-run,
# -submit, -sweep) in dry-run and with fake srun / sbatch / mpirun on PATH
# that record their arguments, inside and outside a fake SLURM allocation.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${HL_BIN:-bin/hyperllava}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
export HL_BIN=$BIN
if ! "$BIN" plan --help >/dev/null 2>&1; then
    echo "skip: $BIN has no working plan command"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
FX=$PWD/tests/fixtures/yaml
MODEL=$PWD/tests/fixtures/models/all/model.h5
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# has NAME TEXT NEEDLE: TEXT contains NEEDLE as a line fragment
has() { grep -qF -- "$3" <<<"$2" || { fail "$1: missing '$3' in:"; sed 's/^/    | /' <<<"$2"; }; }
hasnt() { ! grep -qF -- "$3" <<<"$2" || fail "$1: unexpected '$3'"; }
eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
# run_err NAME WANT_STDERR_LINE cmd...: exit 1 and exactly that one stderr line
run_err() {
    local name=$1 want=$2; shift 2
    local err rc
    err=$("$@" 2>&1 >/dev/null); rc=$?
    [ $rc -eq 1 ] || fail "$name: exit $rc, want 1"
    eq "$name" "$err" "$want"
}

# ---- plan: help, world size, overrides ------------------------------------
out=$("$BIN" plan --help); has help "$out" "usage: hyperllava plan (--job FILE | --config FILE)"
has help "$out" "--print-world"
eq world "$("$BIN" plan --config "$FX/run-full.yaml" --print-world)" 8
eq world-job "$("$BIN" plan --job "$FX/job-suite.yaml" --print-world)" 8
eq world-layout "$("$BIN" plan --job "$FX/job-suite.yaml" --print-world --layout 1x2x1)" 2
eq world-layout= "$("$BIN" plan --job "$FX/job-suite.yaml" --print-world --layout=4x1x1)" 4
run_err world-mismatch "hyperllava: error: $FX/run-full.yaml: parallel: world size 4 != dp*pp*tp = 8" \
    "$BIN" plan --config "$FX/run-full.yaml" --world 4
run_err no-file "hyperllava: error: plan: give exactly one of --job FILE or --config FILE (see --help)" \
    "$BIN" plan
run_err bad-opt "hyperllava: error: plan: unknown argument '--wrold' (see --help)" \
    "$BIN" plan --config "$FX/run-full.yaml" --wrold 4
run_err bad-layout "hyperllava: error: plan: --layout expects DPxPPxTP such as 2x1x4, got '2x2'" \
    "$BIN" plan --config "$FX/run-full.yaml" --layout 2x2

# ---- plan: config errors are one line with file, line, key ------------------
printf 'model: m.h5\nparallel:\n  dp: 1\n  tp: two\n' >"$T/bad.yaml"
run_err bad-config "hyperllava: error: $T/bad.yaml:4: parallel.tp: expected a positive integer, got \"two\"" \
    "$BIN" plan --config "$T/bad.yaml" --print-world
printf 'model: m.h5\nparallel: {pp: 2\n' >"$T/syntax.yaml"
err=$("$BIN" plan --config "$T/syntax.yaml" 2>&1 >/dev/null)
has syntax "$err" "hyperllava: error: $T/syntax.yaml:3:1: YAML syntax error:"

# ---- plan: the full report (needs the model fixture for the numbers) --------
if [ -f "$MODEL" ]; then
    out=$("$BIN" plan --config "$FX/run-full.yaml"); rc=$?
    eq plan-rc $rc 0
    has plan "$out" "grid:       dp 2 x pp 2 x tp 2 = world 8"
    has plan "$out" "(4 blocks, hidden 36, 6 heads, intermediate 44, vocab 400; vision hidden 24, 6 heads; language expert from block 2)"
    has plan "$out" "  stage 0: blocks 0-2 (3) + vision tower + projector"
    has plan "$out" "  stage 1: block 3 (1) + final norm + LM head"
    has plan "$out" "guidance:   output of block 1 (stage 0) is broadcast to the stages owning blocks 2-3"
    has plan "$out" "batching:   8 samples per replica batch in 4 micro-batches (2, 2, 2, 2)"
    has plan "$out" "nodes:      2 (4 ranks per node)"
    has plan "$out" "  rank 0: replica 0, stage 0, tp 0, node 0"
    has plan "$out" "  rank 6: replica 1, stage 1, tp 0, node 1"
    out=$("$BIN" plan --config "$FX/run-full.yaml" --layout 1x3x1 --batch-size 5)
    has plan-even "$out" "  stage 0: blocks 0-1 (2) + vision tower + projector"
    has plan-even "$out" "  stage 1: block 2 (1)"
    has plan-even "$out" "  stage 2: block 3 (1) + final norm + LM head"
    has plan-even "$out" "batching:   5 samples per replica batch in 4 micro-batches (2, 1, 1, 1)"
    hasnt plan-even "$out" "nodes:"
    run_err tp "hyperllava: error: $FX/run-full.yaml: parallel.tp: vision heads 6 is not divisible by tp = 4" \
        "$BIN" plan --config "$FX/run-full.yaml" --layout 1x1x4
    run_err tp-print "hyperllava: error: $FX/run-full.yaml: parallel.tp: vision heads 6 is not divisible by tp = 4" \
        "$BIN" plan --config "$FX/run-full.yaml" --layout 1x1x4 --print-world
    run_err pp "hyperllava: error: $FX/run-full.yaml: parallel.pp: 5 pipeline stages but the model has 4 blocks" \
        "$BIN" plan --config "$FX/run-full.yaml" --layout 1x5x1
    printf 'model: %s\nparallel: {pp: 2}\nstages: [2, 1]\n' "$MODEL" >"$T/stages.yaml"
    run_err stages "hyperllava: error: $T/stages.yaml: stages: blocks add up to 3 but the model has 4" \
        "$BIN" plan --config "$T/stages.yaml"

    # A job whose files all exist passes; the missing ones are listed.
    mkdir -p "$T/data/pope/val2014" "$T/data/pope/coco"
    head -n 1 tests/fixtures/bench/pope/llava_pope_test.jsonl >"$T/data/pope/q.jsonl"
    cat >"$T/ok-job.yaml" <<EOF
run: $FX/run-full.yaml
output: out
data_root: data
benchmarks:
  - {kind: pope, questions: pope/q.jsonl, images: pope/val2014, annotations: pope/coco}
EOF
    out=$("$BIN" plan --job "$T/ok-job.yaml"); rc=$?
    eq job-ok-rc $rc 0
    has job-ok "$out" "  [0] pope (kind pope): max_new_tokens 128, batch 8, all questions"
    has job-ok "$out" "      questions   $T/data/pope/q.jsonl"
    hasnt job-ok "$out" "MISSING"
    # plan reads the questions to count them: an empty set fails as eval would
    : >"$T/data/pope/empty.jsonl"
    sed 's|pope/q.jsonl|pope/empty.jsonl|' "$T/ok-job.yaml" >"$T/empty-job.yaml"
    run_err job-empty "hyperllava: error: $T/data/pope/empty.jsonl: no questions (an empty question set)" \
        "$BIN" plan --job "$T/empty-job.yaml"
    out=$("$BIN" plan --job "$FX/job-suite.yaml" 2>"$T/err"); rc=$?
    eq job-missing-rc $rc 1
    has job-missing "$out" "      images      $FX/bench/pope/val2014  MISSING"
    has job-missing "$out" "  [1] sqa-img (kind sqa): max_new_tokens 1024, batch 8, all questions"
    has job-missing "$out" "  [0] pope (kind pope): max_new_tokens 128, batch 4, first 10 questions"
    eq job-missing-err "$(cat "$T/err")" "hyperllava: error: $FX/job-suite.yaml: 6 files named by it are missing (marked MISSING above)"
    out=$("$BIN" plan --job "$FX/job-sweep.yaml" 2>/dev/null)
    has sweep-plan "$out" "sweep:      4 layouts x 2 batch sizes"
    has sweep-plan "$out" "  1x2x1 batch 1: world 2, 1 micro-batch"
    has sweep-plan "$out" "  1x1x2 batch 8: world 2, 4 micro-batches"
else
    echo "note: $MODEL not present: model-dependent plan checks skipped"
fi

# A model file that does not exist: the layout is printed, the model marked.
printf 'model: nothere.h5\nparallel: {pp: 2}\n' >"$T/nomodel.yaml"
out=$("$BIN" plan --config "$T/nomodel.yaml" 2>"$T/err"); rc=$?
eq nomodel-rc $rc 1
has nomodel "$out" "model:      $T/nothere.h5  MISSING (model-dependent checks skipped)"
has nomodel "$out" "  stage 0: blocks: even split (needs the model's block count) + vision tower + projector"
eq nomodel-err "$(cat "$T/err")" "hyperllava: error: $T/nomodel.yaml: 1 file named by it is missing (marked MISSING above)"
eq nomodel-world "$("$BIN" plan --config "$T/nomodel.yaml" --print-world)" 2

# ---- the example configs and jobs stay valid -------------------------------------
for f in configs/*.yaml; do
    "$BIN" plan --config "$f" --print-world >/dev/null || fail "example $f"
done
for f in jobs/*.yaml; do
    "$BIN" plan --job "$f" --print-shell >/dev/null || fail "example $f"
done

# ---- plan --print-shell --------------------------------------------------------
sh=$("$BIN" plan --job "$FX/job-suite.yaml" --print-shell) || fail "print-shell failed"
(
    eval "$sh"
    [ "$HL_WORLD" = 8 ] && [ "$HL_THREADS" = 4 ] && [ "$HL_NODES" = 2 ] && [ "$HL_N_BENCHES" = 3 ] &&
        [ "$HL_BENCH_NAMES" = "pope sqa-img mmbench" ] && [ "$HL_OUTPUT" = "$FX/out/suite" ] &&
        [ "$HL_JOB_NAME" = job-suite ] && [ -z "$HL_SWEEP" ] && [ "$HL_MAX_WORLD" = 8 ] &&
        [ "$HL_BACKEND" = cpu ] && [ "$HL_TP" = 2 ]
) || fail "print-shell values: $sh"
sh=$("$BIN" plan --job "$FX/job-sweep.yaml" --print-shell) || fail "print-shell sweep failed"
(
    eval "$sh"
    [ "$HL_SWEEP" = "1x1x1:1:1 1x1x1:8:1 1x2x1:1:2 1x2x1:8:2 2x1x1:1:2 2x1x1:8:2 1x1x2:1:2 1x1x2:8:2" ] &&
        [ "$HL_MAX_WORLD" = 2 ]
) || fail "print-shell sweep values: $sh"
mkdir -p "$T/q'uote"
printf "run: {model: m.h5}\noutput: \"it's here\"\nbenchmarks: [{kind: mmbench, questions: q.tsv}]\n" >"$T/q'uote/job.yaml"
sh=$("$BIN" plan --job "$T/q'uote/job.yaml" --print-shell)
( eval "$sh"; [ "$HL_OUTPUT" = "$T/q'uote/it's here" ] ) || fail "print-shell quoting: $sh"

# ---- fake cluster tools ----------------------------------------------------------
mkdir -p "$T/fake"
cat >"$T/fake/srun" <<'EOF'
#!/bin/bash
if [ "${1:-}" = "--mpi=list" ]; then printf 'MPI plugin types are...\n\tnone\n%b' "${FAKE_PLUGINS:-\tpmi2\n\tpmix\n}"; exit 0; fi
printf '%s\n' "$*" >>"$FAKE_LOG/srun"
EOF
cat >"$T/fake/sbatch" <<'EOF'
#!/bin/bash
n=$(( $(cat "$FAKE_LOG/sbatch" 2>/dev/null | wc -l) + 1001 ))
printf '%s\n' "$*" >>"$FAKE_LOG/sbatch"
echo "$n;cluster"
EOF
# mpirun that plays the eval: writes a metrics.json into --output (a failing
# layout can be chosen with FAKE_FAIL).
cat >"$T/fake/mpirun" <<'EOF'
#!/bin/bash
[ "${1:-}" = "--version" ] && { echo "mpirun (Open MPI) 4.1.4"; exit 0; }
printf '%s\n' "$*" >>"$FAKE_LOG/mpirun"
n=0 out="" layout="" batch=""
while [ $# -gt 0 ]; do
    case $1 in -n) n=$2; shift ;; --output) out=$2; shift ;; --layout) layout=$2; shift ;; --batch-size) batch=$2; shift ;; esac
    shift
done
[ "$layout" = "${FAKE_FAIL:-none}" ] && { echo "fake eval failed" >&2; exit 1; }
[ -n "$out" ] || exit 0
mkdir -p "$out"
printf '{"samples_per_s": %d.5, "peak_bytes": [%d, 7], "stages": [{"compute_s": 1}, {"compute_s": 3}], "note": "b%s", "layout": {"micro_batches": 2}, "ranks": [{"wall_s": 3, "load_s": 1, "p2p_s": 0.25, "idle_wait_s": 0.25, "loadavg_start": %d.5}, {"wall_s": 3, "load_s": 1, "tp_allreduce_s": 0.5, "loadavg_start": 0.25}]}\n' \
    $((n * batch)) "$n" "$batch" "$n" >"$out/metrics.json"
EOF
# squeue answers from FAKE_SQUEUE ("ID:STATE ..."); scancel records; sinfo
# gives nodes of FAKE_SINFO_MB MB (fails like one without a cluster when unset).
cat >"$T/fake/squeue" <<'EOF'
#!/bin/bash
id=""
while [ $# -gt 0 ]; do case $1 in -j) id=$2; shift ;; esac; shift; done
for e in ${FAKE_SQUEUE:-}; do [ "${e%%:*}" = "$id" ] && echo "${e#*:}"; done
exit 0
EOF
cat >"$T/fake/scancel" <<'EOF'
#!/bin/bash
printf '%s\n' "$*" >>"$FAKE_LOG/scancel"
EOF
cat >"$T/fake/sinfo" <<'EOF'
#!/bin/bash
[ -n "${FAKE_SINFO_MB:-}" ] || { echo "sinfo: error: no cluster" >&2; exit 1; }
echo "$FAKE_SINFO_MB"
EOF
chmod +x "$T/fake/"*
export FAKE_LOG=$T/log
mkdir -p "$FAKE_LOG"
PATHF=$T/fake:$PATH
ROOTENV=""
[ "$(id -u)" -eq 0 ] && ROOTENV="OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
JOB=$FX/job-suite.yaml

# ---- hyperllava-run outside SLURM ------------------------------------------------
out=$(env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=4 launcher/hyperllava-run --dry-run "$JOB" --resume)
eq run-mpirun "$out" "${ROOTENV}mpirun -n 8 --oversubscribe --bind-to none $BIN eval --job $JOB --resume"
out=$(env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=16 launcher/hyperllava-run "$JOB" --layout 1x2x1 --dry-run)
eq run-mpirun-fits "$out" "${ROOTENV}mpirun -n 2 --map-by slot:PE=4 --bind-to core $BIN eval --job $JOB --layout 1x2x1"
# --threads on the command line sets the cores per rank; a binding in
# HL_MPIRUN_ARGS replaces the launcher's
out=$(env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=16 launcher/hyperllava-run "$JOB" --layout 2x1x1 --threads 8 --dry-run)
eq run-mpirun-threads "$out" "${ROOTENV}mpirun -n 2 --map-by slot:PE=8 --bind-to core $BIN eval --job $JOB --layout 2x1x1 --threads 8"
out=$(env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=16 launcher/hyperllava-run "$JOB" --layout 2x1x1 --threads=9 --dry-run)
eq run-mpirun-threads-many "$out" "${ROOTENV}mpirun -n 2 --bind-to none $BIN eval --job $JOB --layout 2x1x1 --threads=9"
out=$(env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=16 launcher/hyperllava-run "$JOB" --layout 2x1x1 --threads 1 --dry-run)
eq run-mpirun-threads-1 "$out" "${ROOTENV}mpirun -n 2 $BIN eval --job $JOB --layout 2x1x1 --threads 1"
out=$(env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=16 HL_MPIRUN_ARGS="--bind-to socket" launcher/hyperllava-run "$JOB" --layout 1x2x1 --dry-run)
eq run-mpirun-own-binding "$out" "${ROOTENV}mpirun -n 2 --bind-to socket $BIN eval --job $JOB --layout 1x2x1"
run_err run-threads-bad "hyperllava-run: error: --threads expects a positive integer, got 'two'" \
    env -u SLURM_JOB_ID PATH="$PATHF" launcher/hyperllava-run --dry-run "$JOB" --threads two
env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=16 launcher/hyperllava-run "$JOB" --bench 2 >/dev/null 2>&1 ||
    fail "run via fake mpirun"
eq run-mpirun-args "$(cat "$FAKE_LOG/mpirun" 2>/dev/null)" "-n 8 --bind-to none $BIN eval --job $JOB --bench 2"
rm -f "$FAKE_LOG/mpirun"
printf 'run: {model: m.h5, parallel: {tp: two}}\noutput: o\nbenchmarks: [{kind: mmbench, questions: q.tsv}]\n' >"$T/bad-job.yaml"
run_err run-badjob "hyperllava: error: $T/bad-job.yaml:1: run.parallel.tp: expected a positive integer, got \"two\"" \
    env PATH="$PATHF" launcher/hyperllava-run --dry-run "$T/bad-job.yaml"

# ---- the binding under the real mpirun: each rank may run on --threads CPUs --------
# (a stand-in binary reports how many CPUs each rank may use; plan is the real one)
if command -v mpirun >/dev/null && mpirun --version 2>&1 | grep -q "Open MPI"; then
    cat >"$T/affinity" <<EOF
#!/bin/bash
[ "\$1" = plan ] && exec "$BIN" "\$@"
echo "rank \${OMPI_COMM_WORLD_RANK:-0} cpus \$(nproc) \$(grep Cpus_allowed_list /proc/self/status | tr -d '\t')"
EOF
    chmod +x "$T/affinity"
    # a run config of 1 thread: --threads alone asks for more
    sed -e "s|^threads: 4|threads: 1|" -e "s|^model: [^ ]*|model: $MODEL|" "$FX/run-full.yaml" >"$T/run-1thread.yaml"
    sed "s|^run: .*|run: $T/run-1thread.yaml|" "$JOB" >"$T/job-1thread.yaml"
    online=$(getconf _NPROCESSORS_ONLN)
    for case in "1x1x1 2" "2x1x1 2" "2x1x1 1"; do
        read -r layout th <<<"$case"
        want=$th; [ "$want" -le "$online" ] || want=$online
        out=$(env -u SLURM_JOB_ID HL_BIN="$T/affinity" timeout 60 launcher/hyperllava-run "$T/job-1thread.yaml" --layout "$layout" --threads "$th" 2>&1)
        n=$(grep -c "^rank .* cpus " <<<"$out")
        [ "$n" -eq "${layout%%x*}" ] || fail "binding $layout --threads $th: $n rank line(s): $out"
        while read -r _ r _ c list; do
            [ "$c" -ge "$want" ] || fail "binding $layout --threads $th: rank $r may use $c CPU(s) ($list), want >= $want"
        done < <(grep "^rank .* cpus " <<<"$out")
    done
fi

# ---- hyperllava-run inside a fake SLURM allocation --------------------------------
out=$(env PATH="$PATHF" SLURM_JOB_ID=77 SLURM_NTASKS=8 launcher/hyperllava-run --dry-run "$JOB" --bench 1)
eq run-srun "$out" "srun --mpi=pmix -n 8 --cpus-per-task=4 --kill-on-bad-exit=1 --cpu-bind=cores $BIN eval --job $JOB --bench 1"
out=$(env PATH="$PATHF" SLURM_JOB_ID=77 FAKE_PLUGINS='\tpmi2\n' launcher/hyperllava-run --dry-run "$JOB")
eq run-srun-pmi2 "$out" "srun --mpi=pmi2 -n 8 --cpus-per-task=4 --kill-on-bad-exit=1 --cpu-bind=cores $BIN eval --job $JOB"
out=$(env PATH="$PATHF" SLURM_JOB_ID=77 FAKE_PLUGINS='\tcray_shasta\n' launcher/hyperllava-run --dry-run "$JOB")
eq run-srun-default "$out" "srun -n 8 --cpus-per-task=4 --kill-on-bad-exit=1 --cpu-bind=cores $BIN eval --job $JOB"
run_err run-srun-small "hyperllava-run: error: $JOB needs 8 ranks but this allocation has 4 tasks (sbatch --ntasks or --nodes x --ntasks-per-node)" \
    env PATH="$PATHF" SLURM_JOB_ID=77 SLURM_NTASKS=4 launcher/hyperllava-run --dry-run "$JOB"
env PATH="$PATHF" SLURM_JOB_ID=77 launcher/hyperllava-run "$JOB" --bench 0 --resume || fail "run via fake srun"
eq run-srun-args "$(cat "$FAKE_LOG/srun" 2>/dev/null)" "--mpi=pmix -n 8 --cpus-per-task=4 --kill-on-bad-exit=1 --cpu-bind=cores $BIN eval --job $JOB --bench 0 --resume"
printf 'run: {model: m.h5, backend: cuda, parallel: {tp: 4}}\noutput: o\nbenchmarks: [{kind: mmbench, questions: q.tsv}]\n' >"$T/cuda-job.yaml"
out=$(env PATH="$PATHF" SLURM_JOB_ID=77 launcher/hyperllava-run --dry-run "$T/cuda-job.yaml")
eq run-srun-cuda "$out" "srun --mpi=pmix -n 4 --cpus-per-task=1 --kill-on-bad-exit=1 --cpu-bind=cores --gpus-per-task=1 $BIN eval --job $T/cuda-job.yaml"
out=$(env PATH="$PATHF" SLURM_JOB_ID=77 HL_SRUN_ARGS="--cpu-bind=sockets" launcher/hyperllava-run --dry-run "$JOB" --threads 2)
eq run-srun-threads "$out" "srun --mpi=pmix -n 8 --cpus-per-task=2 --kill-on-bad-exit=1 --cpu-bind=sockets $BIN eval --job $JOB --threads 2"

# ---- hyperllava-submit -----------------------------------------------------------------
sed "s|^output: .*|output: $T/suite-out|" "$JOB" | sed "s|^run: .*|run: $FX/run-full.yaml|" >"$T/suite.yaml"
out=$(env PATH="$PATHF" launcher/hyperllava-submit --dry-run --force "$T/suite.yaml" --partition debug 2>/dev/null)
has submit-dry "$out" "#### $T/suite-out/slurm/suite-suite-array.sbatch"
has submit-dry "$out" "#SBATCH --array=0-2"
has submit-dry "$out" "#SBATCH --nodes=2"
has submit-dry "$out" "#SBATCH --ntasks-per-node=4"
has submit-dry "$out" "#SBATCH --cpus-per-task=4"
has submit-dry "$out" "#SBATCH --output=$T/suite-out/slurm/%x-%A_%a.out"
has submit-dry "$out" "launcher/hyperllava-run $T/suite.yaml --bench \"\${SLURM_ARRAY_TASK_ID}\" --resume"
has submit-dry "$out" "$BIN score --job $T/suite.yaml"
has submit-dry "$out" "sbatch --parsable --partition debug $T/suite-out/slurm/suite-suite-array.sbatch"
has submit-dry "$out" "sbatch --parsable --dependency=afterok:ARRAY_JOB_ID --partition debug $T/suite-out/slurm/suite-suite-merge.sbatch"
hasnt submit-dry "$out" "@"
[ -e "$T/suite-out" ] && fail "submit --dry-run wrote $T/suite-out"
[ -e "$FAKE_LOG/sbatch" ] && fail "submit --dry-run called sbatch"

out=$(env PATH="$PATHF" HL_SLURM_SETUP='module load openmpi && echo "a&b"' launcher/hyperllava-submit --force "$T/suite.yaml" --partition debug 2>/dev/null) ||
    fail "submit via fake sbatch"
eq submit-msg "$out" "hyperllava-submit: array job 1001 (3 benchmarks: pope sqa-img mmbench), scoring job 1002 after it; logs in $T/suite-out/slurm"
eq submit-args "$(cat "$FAKE_LOG/sbatch" 2>/dev/null)" "--parsable --partition debug $T/suite-out/slurm/suite-suite-array.sbatch
--parsable --dependency=afterok:1001 --partition debug $T/suite-out/slurm/suite-suite-merge.sbatch"
script=$(cat "$T/suite-out/slurm/suite-suite-array.sbatch" 2>/dev/null)
has submit-script "$script" 'module load openmpi && echo "a&b"'
has submit-script "$script" "cd $PWD"
hasnt submit-script "$script" "@SETUP@"
bash -n "$T/suite-out/slurm/suite-suite-array.sbatch" || fail "rendered array script is not valid bash"
bash -n "$T/suite-out/slurm/suite-suite-merge.sbatch" || fail "rendered merge script is not valid bash"
rm -f "$FAKE_LOG/sbatch"

out=$(env PATH="$PATHF" launcher/hyperllava-submit --dry-run --force --mode throughput --nodes 4 "$T/suite.yaml" 2>/dev/null)
has submit-tp "$out" "#SBATCH --nodes=4"
has submit-tp "$out" "#SBATCH --ntasks-per-node=2"
has submit-tp "$out" "launcher/hyperllava-run $T/suite.yaml"
hasnt submit-tp "$out" "dependency"
out=$(env PATH="$PATHF" launcher/hyperllava-submit --dry-run --force --mode throughput --tasks-per-node 3 "$T/suite.yaml" 2>&1)
has submit-tpn "$out" "#SBATCH --nodes=3"
has submit-tpn "$out" "warning: 3 ranks per node is not a multiple of tp 2"
run_err submit-small "hyperllava-submit: error: 1 node(s) x 2 ranks per node < 8 ranks needed by $T/suite.yaml" \
    env PATH="$PATHF" launcher/hyperllava-submit --dry-run --nodes 1 --tasks-per-node 2 "$T/suite.yaml"
run_err submit-mode "hyperllava-submit: error: $T/suite.yaml has no sweep: map (see docs/config.md)" \
    env PATH="$PATHF" launcher/hyperllava-submit --dry-run --mode sweep "$T/suite.yaml"
out=$(env PATH="$PATHF" launcher/hyperllava-submit --dry-run --force "$T/cuda-job.yaml" 2>/dev/null)
has submit-cuda "$out" "#SBATCH --gpus-per-node=4"

# ---- hyperllava-submit refuses, in one line, what would fail in the queue ----
if [ -f "$MODEL" ]; then
    mkdir -p "$T/data/pope/val2014" "$T/data/pope/coco"
    head -n 3 tests/fixtures/bench/pope/llava_pope_test.jsonl >"$T/data/pope/q3.jsonl"
    cat >"$T/valid.yaml" <<EOF
run: {model: $MODEL, parallel: {pp: 2}, batch_size: 2}
output: $T/valid-out
data_root: $T/data
benchmarks:
  - {kind: pope, questions: pope/q3.jsonl, images: pope/val2014, annotations: pope/coco}
  - {kind: pope, name: pope2, questions: pope/q3.jsonl, images: pope/val2014, annotations: pope/coco}
EOF
    V=$T/valid.yaml
    why="(hyperllava plan --job $V shows why; --force submits anyway)"
    out=$(env PATH="$PATHF" launcher/hyperllava-submit --dry-run "$V") || fail "valid job refused: $out"
    has submit-valid "$out" "#SBATCH --array=0-1"
    # answers already in the output folder
    mkdir -p "$T/valid-out/pope2"
    echo '{"question_id": 1}' >"$T/valid-out/pope2/answers.jsonl"
    run_err submit-answers "hyperllava-submit: error: $V: 1 benchmark already has answers in $T/valid-out (marked ANSWERS above): pass --resume to continue them, or remove them $why" \
        env PATH="$PATHF" launcher/hyperllava-submit --dry-run "$V"
    out=$("$BIN" plan --job "$V" 2>/dev/null)
    has plan-answers "$out" "      answers     $T/valid-out/pope2/answers.jsonl: 1 line  ANSWERS"
    env PATH="$PATHF" launcher/hyperllava-submit --dry-run --resume "$V" >/dev/null 2>&1 || fail "--resume still refused"
    # a node too small: --node-memory, and sinfo's node size when not given
    run_err submit-memory "hyperllava-submit: error: $V: the ranks of a node need more memory than it has (see memory above); 1 benchmark already has answers in $T/valid-out (marked ANSWERS above): pass --resume to continue them, or remove them $why" \
        env PATH="$PATHF" launcher/hyperllava-submit --dry-run --node-memory 0.000001 "$V"
    rm -rf "$T/valid-out"
    run_err submit-sinfo "hyperllava-submit: error: $V: the ranks of a node need more memory than it has (see memory above) $why" \
        env PATH="$PATHF" FAKE_SINFO_MB=1 launcher/hyperllava-submit --dry-run "$V"
    env PATH="$PATHF" FAKE_SINFO_MB=64000 launcher/hyperllava-submit --dry-run "$V" >/dev/null 2>&1 || fail "a 64000 MB node refused"
    # a missing model and a missing data file
    sed "s|model: $MODEL|model: $T/nothere.h5|" "$V" >"$T/nomodel-job.yaml"
    run_err submit-nomodel "hyperllava-submit: error: $T/nomodel-job.yaml: 1 file named by it is missing (marked MISSING above) (hyperllava plan --job $T/nomodel-job.yaml shows why; --force submits anyway)" \
        env PATH="$PATHF" launcher/hyperllava-submit --dry-run "$T/nomodel-job.yaml"
    sed "s|pope/q3.jsonl|pope/gone.jsonl|" "$V" >"$T/nodata-job.yaml"
    run_err submit-nodata "hyperllava-submit: error: $T/nodata-job.yaml: 2 files named by it are missing (marked MISSING above) (hyperllava plan --job $T/nodata-job.yaml shows why; --force submits anyway)" \
        env PATH="$PATHF" launcher/hyperllava-submit --dry-run "$T/nodata-job.yaml"
    [ -e "$FAKE_LOG/sbatch" ] && fail "a refused submission called sbatch"
    # --force submits anyway and says why
    out=$(env PATH="$PATHF" launcher/hyperllava-submit --force "$T/nodata-job.yaml" 2>&1) || fail "--force: $out"
    has submit-force "$out" "hyperllava-submit: warning: submitting despite: $T/nodata-job.yaml: 2 files named by it are missing (marked MISSING above) (--force)"
    has submit-force "$out" "array job 1001 (2 benchmarks: pope pope2), scoring job 1002 after it"
    rm -rf "$T/valid-out" "$FAKE_LOG/sbatch"
    # the backend: a binary without cuda refuses a cuda run (plan and submit)
    sed "s|parallel: {pp: 2}|backend: cuda, parallel: {pp: 2}|" "$V" >"$T/cuda-valid.yaml"
    if "$BIN" --version | grep -qx "backends: cpu"; then
        run_err plan-cuda "hyperllava: error: $T/cuda-valid.yaml: backend: cuda, but this binary has only the cpu backend (hyperllava --version lists them; build it where nvcc is found)" \
            "$BIN" plan --job "$T/cuda-valid.yaml"
        run_err submit-cuda-refused "hyperllava-submit: error: $T/cuda-valid.yaml: backend: cuda, but this binary has only the cpu backend (hyperllava --version lists them; build it where nvcc is found) (hyperllava plan --job $T/cuda-valid.yaml shows why; --force submits anyway)" \
            env PATH="$PATHF" launcher/hyperllava-submit --dry-run "$T/cuda-valid.yaml"
    else
        "$BIN" plan --job "$T/cuda-valid.yaml" >/dev/null 2>&1 || fail "plan refused cuda although the binary has it"
        echo "note: $BIN has the cuda backend: the refusal of cuda on a cpu-only binary is not exercised"
    fi
    # the time estimate against --time, from a hand-written calibration
    printf '{"format": "hyperllava-calibration-1", "host": "n", "date": "d", "backend": "cpu", "dtype": "f32",\n "threads": 1, "ranks": 2, "gemm_gflops": 0.0001, "stream_gbps": 0.0001}\n' >"$T/slow.json"
    out=$(env PATH="$PATHF" launcher/hyperllava-submit --dry-run --calibration "$T/slow.json" --time 1 "$V" 2>&1 >/dev/null)
    has submit-time "$out" "hyperllava-submit: warning: array task 0 (pope): estimated "
    has submit-time "$out" "exceeds the time limit 0:01:00"
    out=$(env PATH="$PATHF" launcher/hyperllava-submit --dry-run --calibration "$T/slow.json" --time 2-00:00:00 "$V" 2>&1 >/dev/null)
    hasnt submit-time-ok "$out" "warning"
    # --array would reach the scoring job too
    run_err submit-array "hyperllava-submit: error: --array=1 would go to the scoring job too; resubmit tasks with --only-tasks LIST (docs/slurm.md)" \
        env PATH="$PATHF" launcher/hyperllava-submit --dry-run "$V" --array=1
    # resubmitting task 1: a new array of that task, a new scoring job after it
    # (and after the previous array's tasks still running), the old one cancelled
    env PATH="$PATHF" launcher/hyperllava-submit "$V" >/dev/null 2>&1 || fail "first submission"
    eq submit-record "$(cat "$T/valid-out/slurm/submitted" 2>/dev/null)" "array 1001 scoring 1002 tasks 0-1"
    mkdir -p "$T/valid-out/pope"
    echo '{"question_id": 1}' >"$T/valid-out/pope/answers.jsonl"
    run_err submit-only-range "hyperllava-submit: error: --only-tasks: task 2 does not exist ($V has 2 benchmarks: 0-1)" \
        env PATH="$PATHF" launcher/hyperllava-submit --only-tasks 1,2 "$V"
    out=$(env PATH="$PATHF" FAKE_SQUEUE="1001:RUNNING 1002:PENDING" launcher/hyperllava-submit --only-tasks 1 "$V" 2>&1) ||
        fail "--only-tasks: $out"
    eq submit-only "$out" "hyperllava-submit: cancelled the previous scoring job 1002 (it was waiting for array job 1001)
hyperllava-submit: array job 1003 (tasks 1 of 2: resubmitted, --resume), scoring job 1004 after it; logs in $T/valid-out/slurm"
    eq submit-only-sbatch "$(tail -n 2 "$FAKE_LOG/sbatch")" "--parsable $T/valid-out/slurm/valid-suite-array-retry.sbatch
--parsable --dependency=afterok:1003,afterany:1001 $T/valid-out/slurm/valid-suite-merge-retry.sbatch"
    eq submit-only-scancel "$(cat "$FAKE_LOG/scancel" 2>/dev/null)" "1002"
    has submit-only-script "$(cat "$T/valid-out/slurm/valid-suite-array-retry.sbatch")" "#SBATCH --array=1"
    eq submit-only-record "$(tail -n 1 "$T/valid-out/slurm/submitted")" "array 1003 scoring 1004 tasks 1"
    # the old scoring job already gone: nothing cancelled, no wait on the old array
    rm -f "$FAKE_LOG/scancel"
    out=$(env PATH="$PATHF" launcher/hyperllava-submit --only-tasks 0 "$V" 2>&1) || fail "--only-tasks again: $out"
    hasnt submit-only-gone "$out" "cancelled"
    eq submit-only-gone-dep "$(tail -n 1 "$FAKE_LOG/sbatch")" "--parsable --dependency=afterok:1005 $T/valid-out/slurm/valid-suite-merge-retry.sbatch"
    [ -e "$FAKE_LOG/scancel" ] && fail "scancel called for a job no longer queued"
    rm -f "$FAKE_LOG/sbatch"
    # a sweep with invalid layouts (tp does not divide the heads, more stages
    # than blocks): plan marks them skipped, submit warns and queues the rest
    sed "s|$T/valid-out|$T/sweep-valid-out|" "$V" >"$T/sweep-valid.yaml"
    printf 'sweep:\n  layouts: [1x1x1, 1x1x4, 1x5x1, 1x2x1]\n  batch_sizes: [2]\n' >>"$T/sweep-valid.yaml"
    SV=$T/sweep-valid.yaml
    out=$("$BIN" plan --job "$SV" 2>&1) || fail "plan refused a sweep with valid runs: $out"
    has plan-sweep-skip "$out" "sweep:      4 layouts x 1 batch size: 2 runs, 2 invalid and skipped"
    has plan-sweep-skip "$out" "  1x1x4 batch 2: world 4, 1 micro-batch  SKIPPED: parallel.tp: vision heads 6 is not divisible by tp = 4"
    has plan-sweep-skip "$out" "  1x5x1 batch 2: world 5, 1 micro-batch  SKIPPED: parallel.pp: 5 pipeline stages but the model has 4 blocks"
    has plan-sweep-skip "$out" "  1x2x1 batch 2: world 2, 1 micro-batch"$'\n'
    sh=$("$BIN" plan --job "$SV" --print-shell) || fail "print-shell refused a sweep with valid runs"
    (
        eval "$sh"
        [ "$HL_SWEEP" = "1x1x1:2:1 1x2x1:2:2" ] && [ "$HL_SWEEP_ALL" = "1x1x1:2:1 1x1x4:2:4 1x5x1:2:5 1x2x1:2:2" ] &&
            [ "$HL_SWEEP_SKIPPED" = "1x1x4:2:4 parallel.tp: vision heads 6 is not divisible by tp = 4
1x5x1:2:5 parallel.pp: 5 pipeline stages but the model has 4 blocks" ] && [ "$HL_MAX_WORLD" = 2 ]
    ) || fail "print-shell of a sweep with invalid runs: $sh"
    out=$(env PATH="$PATHF" launcher/hyperllava-submit "$SV" 2>"$T/err") || fail "submit refused a sweep with valid runs: $(cat "$T/err")"
    eq submit-sweep-skip "$(cat "$T/err")" "hyperllava-submit: warning: sweep run 1x1x4 batch 2 will be skipped: parallel.tp: vision heads 6 is not divisible by tp = 4
hyperllava-submit: warning: sweep run 1x5x1 batch 2 will be skipped: parallel.pp: 5 pipeline stages but the model has 4 blocks"
    eq submit-sweep-skip "$out" "hyperllava-submit: sweep job 1001 (1 node(s) x 2 ranks); log in $T/sweep-valid-out/slurm"
    has submit-sweep-skip "$(cat "$T/sweep-valid-out/slurm/sweep-valid-sweep.sbatch")" "#SBATCH --ntasks-per-node=2"
    # an allocation too small for some runs: those are skipped too; for every run: refused
    err=$(env PATH="$PATHF" launcher/hyperllava-submit --dry-run --nodes 1 --tasks-per-node 1 "$SV" 2>&1 >/dev/null)
    has submit-sweep-small "$err" "hyperllava-submit: warning: 1 sweep run(s) need more than 1 rank(s) (1 node(s) x 1) and will be skipped: 1x2x1/b2"
    # no valid run: plan and submit refuse (--force cannot help: nothing would run)
    sed 's/\[1x1x1, 1x1x4, 1x5x1, 1x2x1\]/[1x1x4, 1x5x1]/' "$SV" >"$T/sweep-none.yaml"
    run_err plan-sweep-none "hyperllava: error: $T/sweep-none.yaml: sweep: none of its 2 runs is valid for the model (marked SKIPPED above)" \
        "$BIN" plan --job "$T/sweep-none.yaml"
    run_err submit-sweep-none "hyperllava-submit: error: $T/sweep-none.yaml: sweep: none of its 2 run(s) is valid for the model (hyperllava plan --job $T/sweep-none.yaml shows why)" \
        env PATH="$PATHF" launcher/hyperllava-submit --force "$T/sweep-none.yaml"
    [ "$(wc -l <"$FAKE_LOG/sbatch")" -eq 1 ] || fail "a sweep without a valid run was queued"
    rm -f "$FAKE_LOG/sbatch"

    # hyperllava-sweep: the invalid runs are skipped with their reason, the
    # others run (fake mpirun), sweep.csv has every run; status 0 and a warning
    rm -f "$FAKE_LOG/mpirun"
    env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=16 launcher/hyperllava-sweep "$SV" >"$T/sweep-skip.log" 2>&1
    eq sweep-skip-rc $? 0
    log=$(cat "$T/sweep-skip.log")
    has sweep-skip "$log" "hyperllava-sweep: [2/4] 1x1x4 batch 2: skipped, invalid layout: parallel.tp: vision heads 6 is not divisible by tp = 4"
    has sweep-skip "$log" "hyperllava-sweep: [3/4] 1x5x1 batch 2: skipped, invalid layout: parallel.pp: 5 pipeline stages but the model has 4 blocks"
    has sweep-skip "$log" "hyperllava-sweep: warning: 2 of 4 run(s) skipped: 1x1x4/b2 1x5x1/b2 (reasons above and in $T/sweep-valid-out/sweep/sweep.csv)"
    eq sweep-skip-ran "$(grep -o -- '--layout [0-9x]*' "$FAKE_LOG/mpirun" 2>/dev/null | tr '\n' ' ')" "--layout 1x1x1 --layout 1x2x1 "
    csv=$(cat "$T/sweep-valid-out/sweep/sweep.csv" 2>/dev/null)
    eq sweep-skip-csv "$(cut -d, -f1-5,8,10,15- <<<"$csv")" "layout,dp,pp,tp,world,batch,samples_per_s,status,reason,metrics
1x1x1,1,1,1,1,2,2.5,ok,,.
1x1x4,1,1,4,4,2,,skipped,invalid layout: parallel.tp: vision heads 6 is not divisible by tp = 4,
1x5x1,1,5,1,5,2,,skipped,invalid layout: parallel.pp: 5 pipeline stages but the model has 4 blocks,
1x2x1,1,2,1,2,2,4.5,ok,,."
    # inside an allocation of 1 task, the 2-rank run is skipped as well
    out=$(env PATH="$PATHF" SLURM_JOB_ID=77 SLURM_NTASKS=1 launcher/hyperllava-sweep --dry-run --force "$SV" 2>&1)
    has sweep-skip-alloc "$out" "hyperllava-sweep: [4/4] 1x2x1 batch 2: skipped, needs 2 ranks, this allocation has 1 task(s)"
    eq sweep-skip-alloc "$(grep -c "eval --job" <<<"$out")" 1
    # nothing valid: every run skipped, status 1
    env -u SLURM_JOB_ID PATH="$PATHF" launcher/hyperllava-sweep "$T/sweep-none.yaml" >"$T/sweep-none.log" 2>&1
    eq sweep-none-rc $? 1
    has sweep-none "$(cat "$T/sweep-none.log")" "hyperllava-sweep: error: none of the 2 run(s) could start: all skipped (reasons above)"
fi

# ---- hyperllava-sweep through a fake eval ---------------------------------------------
sed "s|^output: .*|output: $T/sweep-out|" "$FX/job-sweep.yaml" | sed "s|^run: .*|run: $FX/run-full.yaml|" >"$T/sweep.yaml"
out=$(env PATH="$PATHF" launcher/hyperllava-submit --dry-run --force "$T/sweep.yaml" 2>/dev/null)
has submit-sweep "$out" "#SBATCH --nodes=1"
has submit-sweep "$out" "#SBATCH --ntasks-per-node=2"
has submit-sweep "$out" "launcher/hyperllava-sweep $T/sweep.yaml"
out=$(env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=16 launcher/hyperllava-sweep --dry-run "$T/sweep.yaml" 2>/dev/null)
eq sweep-dry-count "$(grep -c "eval --job" <<<"$out")" 8
has sweep-dry "$out" "mpirun -n 2 --map-by slot:PE=4 --bind-to core $BIN eval --job $T/sweep.yaml --layout 2x1x1 --batch-size 8 --output $T/sweep-out/sweep/2x1x1-b8"
[ -e "$T/sweep-out" ] && fail "sweep --dry-run wrote $T/sweep-out"

env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=16 FAKE_FAIL=2x1x1 launcher/hyperllava-sweep "$T/sweep.yaml" >"$T/sweep.log" 2>&1
rc=$?
eq sweep-rc $rc 1
has sweep-log "$(cat "$T/sweep.log")" "hyperllava-sweep: error: 2 run(s) failed: 2x1x1/b1 2x1x1/b8"
csv=$(cat "$T/sweep-out/sweep/sweep.csv" 2>/dev/null)
# the tidy table: threads from the run config (4), micro-batches from the
# metrics (2), the bubble (p-1)/(m+p-1), the communication share (waits and
# transfers over the ranks' time after loading: 1 s of 4 s) and the highest
# load average of the ranks at the start
eq sweep-csv-header "$(head -n 1 <<<"$csv")" "layout,dp,pp,tp,world,threads,micro_batches,batch,benchmark,samples_per_s,tokens_per_s,bubble,comm_share,load_avg,status,reason,metrics"
has sweep-csv "$csv" "1x2x1,1,2,1,2,4,2,8,all,16.5,,0.3333333333333333,0.25,2.5,ok,,."
has sweep-csv "$csv" "1x1x1,1,1,1,1,4,2,1,all,1.5,,0.0,0.25,1.5,ok,,."
has sweep-csv "$csv" "2x1x1,2,1,1,2,4,,8,,,,,,,failed,exit status 1,"
eq sweep-csv-rows "$(($(wc -l <<<"$csv") - 1))" 8
# every metric in sweep-full.csv, after the same columns
full=$(cat "$T/sweep-out/sweep/sweep-full.csv" 2>/dev/null)
eq sweep-full-header "$(head -n 1 <<<"$full")" "$(head -n 1 <<<"$csv"),peak_bytes.max,peak_bytes.mean,stages.compute_s.max,stages.compute_s.mean,note,layout.micro_batches,ranks.wall_s.max,ranks.wall_s.mean,ranks.load_s.max,ranks.load_s.mean,ranks.p2p_s.max,ranks.p2p_s.mean,ranks.idle_wait_s.max,ranks.idle_wait_s.mean,ranks.loadavg_start.max,ranks.loadavg_start.mean,ranks.tp_allreduce_s.max,ranks.tp_allreduce_s.mean"
has sweep-full "$full" "1x2x1,1,2,1,2,4,2,8,all,16.5,,0.3333333333333333,0.25,2.5,ok,,.,7,4.5,3,2.0,b8,2,3,3.0,1,1.0,"
# the plot: gnuplot's PNG, one panel per batch size (two side by side)
png_size() { /usr/bin/python3 -c 'import struct, sys; d = open(sys.argv[1], "rb").read(24); assert d[:8] == b"\x89PNG\r\n\x1a\n"; print("%dx%d" % struct.unpack(">II", d[16:24]))' "$1" 2>/dev/null; }
if command -v gnuplot >/dev/null; then
    has sweep-plot "$(cat "$T/sweep.log")" "hyperllava-sweep: plot of samples/s against ranks in $T/sweep-out/sweep/sweep.png"
    eq sweep-plot-size "$(png_size "$T/sweep-out/sweep/sweep.png")" "1520x560"
    [ -e "$T/sweep-out/sweep/sweep.dat" ] && fail "the plot's data file was left behind"
elif python3 -c "import matplotlib" 2>/dev/null; then
    [ -s "$T/sweep-out/sweep/sweep.png" ] || fail "no sweep.png although matplotlib is installed"
else
    has sweep-noplot "$(cat "$T/sweep.log")" "no plot (gnuplot is not installed; matplotlib is not installed); CSV only"
fi
rm -f "$T/sweep-out/sweep/sweep.png"
out=$(env -u SLURM_JOB_ID PATH="$PATHF" launcher/hyperllava-sweep --collect-only --plotter none "$T/sweep.yaml" 2>&1)
[ -e "$T/sweep-out/sweep/sweep.png" ] && fail "--plotter none drew a plot"
run_err sweep-plotter-bad "hyperllava-sweep: error: --plotter: expected gnuplot, matplotlib or none, got 'excel'" \
    env PATH="$PATHF" launcher/hyperllava-sweep --plotter excel "$T/sweep.yaml"
# A second sweep skips the finished runs and only runs the failed ones.
rm -f "$FAKE_LOG/mpirun"
env -u SLURM_JOB_ID PATH="$PATHF" HL_CORES=16 launcher/hyperllava-sweep "$T/sweep.yaml" >"$T/sweep.log" 2>&1 ||
    fail "second sweep: $(cat "$T/sweep.log")"
eq sweep-rerun "$(grep -c "eval --job" "$FAKE_LOG/mpirun")" 2
has sweep-rerun "$(cat "$T/sweep-out/sweep/sweep.csv")" "2x1x1,2,1,1,2,4,2,8,all,16.5,,0.0,0.25,2.5,ok,,."

if [ $failures -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all plan and launcher checks passed"
