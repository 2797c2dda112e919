#!/usr/bin/env bash
# Temperature / top-p sampling with a seed: reproducible, independent of the
# batch and the pipeline split (the draw is keyed by request and step), seeds
# matter, a vanishing nucleus is greedy decoding, and tensor parallelism
# (distributed softmax, no logits gather) gives the same tokens here.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
M=tests/fixtures/models/all/model.h5
REQ=tests/fixtures/requests/layout.jsonl
gen() { $HL_BIN generate --model $M --jsonl $REQ --max-new-tokens 8 --ids "$@"; }
gen --temperature 0.9 --top-p 0.95 --seed 7 >"$TMP/a" 2>"$TMP/err" || fail "sampling run: $(cat "$TMP/err")"
gen --temperature 0.9 --top-p 0.95 --seed 7 >"$TMP/a2" 2>>"$TMP/err"
cmp -s "$TMP/a" "$TMP/a2" || fail "same seed, different tokens"
gen --temperature 0.9 --top-p 0.95 --seed 8 >"$TMP/b" 2>>"$TMP/err"
cmp -s "$TMP/a" "$TMP/b" && fail "seeds 7 and 8 gave the same tokens"
gen >"$TMP/greedy" 2>>"$TMP/err"
gen --temperature 0.9 --top-p 1e-9 --seed 3 >"$TMP/nucleus" 2>>"$TMP/err"
cmp -s "$TMP/greedy" "$TMP/nucleus" || fail "a vanishing nucleus is not greedy"
cmp -s "$TMP/greedy" "$TMP/a" && fail "sampling gave the greedy tokens"
for layout in 1x2x1 2x1x1 1x1x2 1x2x2; do
    IFS=x read -r dp pp tp <<<"$layout"
    $MPIRUN -n $((dp * pp * tp)) $HL_BIN generate --model $M --jsonl $REQ --max-new-tokens 8 --ids \
        --temperature 0.9 --top-p 0.95 --seed 7 --layout $layout --batch-size 3 --micro-batches $pp >"$TMP/l" 2>"$TMP/err" \
        || { fail "$layout: $(grep -m1 error "$TMP/err")"; continue; }
    cmp -s "$TMP/a" "$TMP/l" || fail "$layout batch 3: sampled tokens differ from 1 rank"
done
# every sampled id is a real token id and the sampled text decodes
/usr/bin/python3 - "$TMP/a" <<'PY' || fail "sampled ids out of range"
import sys
for line in open(sys.argv[1]):
    for t in line.split():
        assert 0 <= int(t) < 400, t
PY
pass_or_fail
