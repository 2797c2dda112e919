#!/usr/bin/env bash
# A padded vocabulary (more embedding / head rows than tokenizer pieces, as
# llava-hf's 32064 rows for 32000 pieces): sampling at a high temperature
# picks ids past the pieces; they decode to nothing (docs/tokenizer.md), the
# run and a benchmark suite finish, and every other token decodes as usual.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
ROOT=$(pwd)
M=$TMP/padded.h5
cp tests/fixtures/models/all/model.h5 "$M"
/usr/bin/python3 - "$M" <<'PY' || { fail "could not pad the model"; pass_or_fail; }
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r+")
rng = np.random.default_rng(5)
n = int(f.attrs["vocab"])
assert n == f["tokenizer/scores"].shape[0]
for name in ("llm.embed_tokens.weight", "llm.lm_head.weight"):
    w = f[name][...]
    pad = rng.standard_normal((64, w.shape[1])).astype(w.dtype) * w.std()
    del f[name]
    f.create_dataset(name, data=np.concatenate([w, pad]))
f.attrs["vocab"] = n + 64
f.attrs["max_positions"] = 1024
PY
REQ=tests/fixtures/requests/layout.jsonl
gen() { $HL_BIN generate --model "$M" --jsonl $REQ --max-new-tokens 24 --temperature 20 --seed 11 "$@"; }
gen --ids >"$TMP/ids" 2>"$TMP/err" || fail "sampling with ids: $(grep -m1 error "$TMP/err")"
gen >"$TMP/text" 2>"$TMP/err" || fail "sampling with text: $(grep -m1 error "$TMP/err")"
gen --trace "$TMP/trace.jsonl" >/dev/null 2>"$TMP/err" || fail "sampling with a trace: $(grep -m1 error "$TMP/err")"
# ids past the 400 pieces were drawn, the others are real pieces, and the text
# is the decode of the real pieces alone (the padded ones vanish)
/usr/bin/python3 - "$TMP/ids" "$TMP/trace.jsonl" <<'PY' || fail "padded ids"
import json, sys
ids = [[int(t) for t in l.split()] for l in open(sys.argv[1])]
flat = [t for r in ids for t in r]
assert all(0 <= t < 464 for t in flat), "id outside the embedding"
padded = sum(t >= 400 for t in flat)
assert padded > 0, "no padded id drawn: the test does not test anything"
tr = [json.loads(l) for l in open(sys.argv[2])]
steps = [o for o in tr if "step" in o]
assert [o["id"] for o in steps] == flat, "trace ids differ from --ids"
assert all(o["piece"] == "" for o in steps if o["id"] >= 400), "padded id with a piece"
print(padded, "padded ids of", len(flat))
PY
[ "$(wc -l <"$TMP/text")" -eq "$(wc -l <$REQ)" ] || fail "not one answer per request"
# A suite sampled at a high temperature finishes and scores.
sed -e "s#model: ../models/all/model.h5#model: $M#" -e "s#data_root: ../bench#data_root: $ROOT/tests/fixtures/bench#" \
    tests/fixtures/jobs/bench-all.yaml >"$TMP/job.yaml"
/usr/bin/python3 - "$TMP/job.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().split("benchmarks:")[0]
s += "generation: {temperature: 20, top_p: 1.0, seed: 3}\nbenchmarks:\n"
s += "  - {kind: pope, questions: pope/llava_pope_test.jsonl, images: pope/val2014, annotations: pope/coco, max_new_tokens: 12}\n"
s += "  - {kind: mmvet, questions: mmvet/llava-mm-vet.jsonl, images: mmvet/images, max_new_tokens: 12}\n"
open(p, "w").write(s)
PY
$HL_BIN eval --job "$TMP/job.yaml" --output "$TMP/out" >"$TMP/eval.log" 2>&1 || fail "suite: $(grep -m1 error "$TMP/eval.log")"
for k in pope mmvet; do
    [ "$(wc -l <"$TMP/out/$k/answers.jsonl")" -eq "$(wc -l <"$TMP/out/$k/samples.jsonl")" ] || fail "$k: answers missing"
done
pass_or_fail
