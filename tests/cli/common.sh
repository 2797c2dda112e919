# Shared by the shell tests: the binary, mpirun as the tests run it, and
# assertion helpers that print what went wrong.
HL_BIN=${HL_BIN:-bin/hyperllava}
export OMPI_MCA_rmaps_base_oversubscribe=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# Quiet, loopback-only Open MPI for tests.
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN="mpirun --oversubscribe"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass_or_fail() { [ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }; echo "all passed"; }

# The fixture model with room for ScienceQA's long prompts (max_positions
# 1024), copied to $1.
roomy_model() {
    cp tests/fixtures/models/all/model.h5 "$1"
    /usr/bin/python3 -c "import h5py, sys; h5py.File(sys.argv[1], 'r+').attrs['max_positions'] = 1024" "$1"
}
# A 4-benchmark suite job on stdout (POPE, MME, ScienceQA, MMBench; a few
# questions each): model, output folder, dp, pp.
suite_job() {
    cat <<EOF
run:
  model: $1
  parallel: {dp: $3, pp: $4, tp: 1}
  batch_size: 3
  micro_batches: 2
output: $2
model_id: tiny-all
data_root: $(pwd)/tests/fixtures/bench
benchmarks:
  - kind: pope
    questions: pope/llava_pope_test.jsonl
    images: pope/val2014
    annotations: pope/coco
    limit: 6
  - kind: mme
    questions: mme/llava_mme.jsonl
    images: mme/MME_Benchmark_release_version
    annotations: mme/MME_Benchmark_release_version
    limit: 6
  - kind: sqa
    questions: sqa/llava_test_CQM-A.json
    images: sqa/images/test
    annotations: sqa
    limit: 4
    max_new_tokens: 48
  - kind: mmbench
    questions: mmbench/mmbench_dev_20230712.tsv
    limit: 8
    max_new_tokens: 48
EOF
}

scores_match() { # two scores.json files equal but for the output paths under "files"
    [ -f "$1" ] && [ -f "$2" ] || return 1
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
def strip(o):
    if isinstance(o, dict): return {k: strip(v) for k, v in o.items() if k != "files"}
    if isinstance(o, list): return [strip(v) for v in o]
    return o
sys.exit(0 if strip(json.load(open(sys.argv[1]))) == strip(json.load(open(sys.argv[2]))) else 1)
PY
}

# For the tests that start a SLURM cluster.
# cluster_test_begin DIR WHY-ROOT PACKAGES TOOL...: skips (77) unless root
# (WHY-ROOT says why it needs it), fails when a TOOL is missing (PACKAGES:
# what tools/setup-deps.sh installs for them); at exit, whatever happens, the
# cluster in DIR is stopped and $TMP removed.
# ok WHAT: prints "ok: WHAT (time since the start)" when no check failed since
# the last ok.
cluster_test_begin() {
    CLUSTER_DIR=$1 T_START=$(date +%s) OK_SEEN=0
    local why=$2 pkgs=$3 t
    shift 3
    trap 'tests/slurm/cluster.sh stop "$CLUSTER_DIR"; rm -rf "$TMP"' EXIT
    trap 'exit 1' INT TERM HUP
    [ "$(id -u)" -eq 0 ] || { echo "skip: $why"; exit 77; }
    PATH=$PATH:/usr/sbin:/sbin
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 ||
            { echo "FAIL: $t not found: tools/setup-deps.sh installs $pkgs"; exit 1; }
    done
}
ok() {
    [ "$fails" -eq "$OK_SEEN" ] && echo "ok: $* ($(($(date +%s) - T_START))s)"
    OK_SEEN=$fails
}
