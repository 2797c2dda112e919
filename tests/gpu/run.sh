#!/usr/bin/env bash
# make test-gpu: the CUDA backend against the CPU backend on one GPU.
#   1. every fixture model: greedy tokens equal to the CPU's; top-k logits
#      within the tolerance of the held precision (see TOL below)
#   2. batch invariance on the GPU: bit-identical traces for batch 1, 3, 8
#      and for 1, 2, 3 micro-batches
#   3. two ranks sharing the GPU: 1x2x1 bit-identical to one rank, 1x1x2 the
#      same tokens (a different tp sums in a different order)
#   4. the demo questions: answers equal to the CPU's
# Prints one line per check and "N passed, N failed"; exit 77 (skip) without
# a usable GPU or without the CUDA backend in the binary.
set -u
cd "$(dirname "$0")/../.."
BIN=${HL_BIN:-bin/hyperllava}
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
MPIRUN="mpirun --oversubscribe"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

"$BIN" --version | grep -q "^backends:.*cuda" || { echo "skip: $BIN holds no CUDA backend (built without nvcc)"; exit 77; }
REQ=tests/fixtures/requests/layout.jsonl
probe=tests/fixtures/models/llava/model.h5
if ! "$BIN" generate --model $probe --jsonl $REQ --max-new-tokens 1 --ids --backend cuda >/dev/null 2>"$TMP/probe"; then
    echo "skip: $(tail -n 1 "$TMP/probe")"; exit 77
fi

# Tolerance on a top-k logit v, |cuda - cpu| <= TOL * (1 + |v|): f32 differs
# from the CPU only through cosf/sinf/erff (a few ulp, grown through the
# layers: 1e-4 leaves room for ~1000 ulp); bf16/f16 round the activations
# to the held type before every product (unit roundoff u = 2^-8 / 2^-11)
# where the CPU keeps them in f32: 16 u covers the fixtures' few layers.
tol_for() { case $1 in bf16) echo 0.0625;; f16) echo 0.0078125;; *) echo 0.0001;; esac; }

gen() { # model backend out [extra...]
    local m=$1 be=$2 out=$3; shift 3
    "$BIN" generate --model "$m" --jsonl $REQ --max-new-tokens 6 --ids --backend "$be" \
        --trace "$out.trace" "$@" >"$out.ids" 2>"$out.err"
}

compare_traces() { # a b tol -> prints the largest relative difference, fails beyond tol
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
tol = float(sys.argv[3]); worst = 0.0
if len(a) != len(b): sys.exit("different step counts: %d vs %d" % (len(a), len(b)))
for x, y in zip(a, b):
    if x.get("id") != y.get("id"): sys.exit("different token at a step: %s vs %s" % (x.get("id"), y.get("id")))
    for u, v in zip(x.get("top_logits", []), y.get("top_logits", [])):
        worst = max(worst, abs(u - v) / (1 + abs(u)))
print("%.3g" % worst)
sys.exit(0 if worst <= tol else "logits differ by %.3g (relative) > %g" % (worst, tol))
PY
}

for dir in tests/fixtures/models/*/; do
    m=$dir/model.h5; [ -f "$m" ] || continue
    name=$(basename "$dir")
    hold=f32; case $name in *bf16*) hold=bf16;; *f16*) hold=f16;; esac
    if ! gen "$m" cpu "$TMP/$name.cpu" --dtype $hold || ! gen "$m" cuda "$TMP/$name.gpu" --dtype $hold; then
        bad "$name: a run failed: $(tail -n 1 "$TMP/$name.gpu.err" "$TMP/$name.cpu.err" 2>/dev/null | tr '\n' ' ')"; continue
    fi
    if cmp -s "$TMP/$name.cpu.ids" "$TMP/$name.gpu.ids"; then ok "$name ($hold): greedy tokens equal to the CPU's"
    else bad "$name ($hold): greedy tokens differ from the CPU's"; fi
    if d=$(compare_traces "$TMP/$name.cpu.trace" "$TMP/$name.gpu.trace" "$(tol_for $hold)" 2>&1); then
        ok "$name ($hold): top-k logits within $(tol_for $hold) of the CPU's (largest $d)"
    else bad "$name ($hold): $d"; fi
done

# batch invariance and micro-batches on the GPU, f32 and bf16 holding
for hold in f32 bf16; do
    m=tests/fixtures/models/all/model.h5
    gen $m cuda "$TMP/b1" --dtype $hold --batch-size 1 || { bad "batch 1 run failed"; continue; }
    for b in 3 8; do
        gen $m cuda "$TMP/b$b" --dtype $hold --batch-size $b
        if cmp -s "$TMP/b1.trace" "$TMP/b$b.trace"; then ok "cuda $hold: batch $b bit-identical to batch 1"
        else bad "cuda $hold: batch $b differs from batch 1"; fi
    done
    for mb in 2 3; do
        gen $m cuda "$TMP/mb$mb" --dtype $hold --batch-size 6 --micro-batches $mb
        if cmp -s "$TMP/b1.trace" "$TMP/mb$mb.trace"; then ok "cuda $hold: $mb micro-batches bit-identical"
        else bad "cuda $hold: $mb micro-batches differ"; fi
    done
    # two ranks on the one GPU
    $MPIRUN -n 2 "$BIN" generate --model $m --jsonl $REQ --max-new-tokens 6 --ids --backend cuda \
        --dtype $hold --layout 1x2x1 --batch-size 4 --micro-batches 2 --trace "$TMP/pp.trace" >"$TMP/pp.ids" 2>"$TMP/pp.err"
    if cmp -s "$TMP/b1.trace" "$TMP/pp.trace"; then ok "cuda $hold: 1x2x1 (two ranks, one GPU) bit-identical"
    else bad "cuda $hold: 1x2x1 differs: $(tail -n 1 "$TMP/pp.err")"; fi
    $MPIRUN -n 2 "$BIN" generate --model $m --jsonl $REQ --max-new-tokens 6 --ids --backend cuda \
        --dtype $hold --layout 1x1x2 >"$TMP/tp.ids" 2>"$TMP/tp.err"
    if cmp -s "$TMP/b1.ids" "$TMP/tp.ids"; then ok "cuda $hold: 1x1x2 (two ranks, one GPU) same tokens"
    else bad "cuda $hold: 1x1x2 tokens differ: $(tail -n 1 "$TMP/tp.err")"; fi
done

# the demo questions: answers equal to the CPU's
python3 - tests/fixtures/demo/questions.jsonl >"$TMP/demo.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l); o["image"] = "tests/fixtures/demo/images/" + o["image"]; print(json.dumps(o))
PY
for be in cpu cuda; do
    "$BIN" generate --model weights/demo.h5 --jsonl "$TMP/demo.jsonl" --max-new-tokens 16 --batch-size 8 \
        --backend $be >"$TMP/demo.$be" 2>"$TMP/demo.$be.err"
done
if [ -s "$TMP/demo.cpu" ] && cmp -s "$TMP/demo.cpu" "$TMP/demo.cuda"; then
    ok "demo: $(wc -l <"$TMP/demo.cpu") answers equal to the CPU's"
else bad "demo answers differ from the CPU's: $(tail -n 1 "$TMP/demo.cuda.err")"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
