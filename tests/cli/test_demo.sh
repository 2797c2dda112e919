#!/usr/bin/env bash
# The trained demo model (weights/demo.h5) gives, on all 40 demo questions,
# exactly the answers of the PyTorch reference (tests/fixtures/demo/reference.jsonl),
# on one rank and on four (pp 2 x tp 2).
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
/usr/bin/python3 - tests/fixtures/demo/questions.jsonl >"$TMP/req.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l); o["image"] = "tests/fixtures/demo/images/" + o["image"]; print(json.dumps(o))
PY
check() { # label, output file
    /usr/bin/python3 - "$2" tests/fixtures/demo/reference.jsonl <<'PY' || fail "$1: answers differ from the reference"
import json, sys
got = {json.loads(l)["question_id"]: json.loads(l)["text"] for l in open(sys.argv[1])}
ref = {json.loads(l)["question_id"]: json.loads(l)["text"] for l in open(sys.argv[2])}
bad = [(q, got.get(q), a) for q, a in ref.items() if got.get(q) != a]
for q, g, a in bad[:5]: print("question %s: %r, reference %r" % (q, g, a))
print("%d/%d answers equal the reference" % (len(ref) - len(bad), len(ref)))
sys.exit(1 if bad or len(ref) != 40 else 0)
PY
}
$HL_BIN generate --model weights/demo.h5 --jsonl "$TMP/req.jsonl" --max-new-tokens 16 >"$TMP/one" 2>"$TMP/err" || fail "1 rank: $(cat "$TMP/err")"
check "1 rank" "$TMP/one"
$MPIRUN -n 4 $HL_BIN generate --model weights/demo.h5 --jsonl "$TMP/req.jsonl" --max-new-tokens 16 \
    --layout 1x2x2 --batch-size 8 --micro-batches 2 >"$TMP/four" 2>"$TMP/err" || fail "1x2x2: $(grep -m1 error "$TMP/err")"
check "1x2x2" "$TMP/four"
pass_or_fail
