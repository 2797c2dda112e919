#!/usr/bin/env bash
# make demo: the small trained demo model answers questions about synthetic
# images on one rank and on four (pipeline x tensor parallel), the answers
# agree, and a short suite is evaluated and scored.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin/hyperllava
MODEL=weights/demo.h5
[ -f "$MODEL" ] || { echo "demo: $MODEL is missing (it is committed with the repository)" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_btl_vader_single_copy_mechanism=none
OUT=${DEMO_OUT:-out/demo}
rm -rf "$OUT" out/demo-suite; mkdir -p "$OUT"   # the demo starts afresh each time

echo "== the model"
$BIN inspect "$MODEL" | sed -n 1,7p

Q=tests/fixtures/demo/questions.jsonl
echo; echo "== three questions, one rank"
head -n 3 "$Q" | while IFS= read -r line; do
    img=$(printf '%s' "$line" | sed -E 's/.*"image": *"([^"]*)".*/\1/')
    text=$(printf '%s' "$line" | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["text"])')
    printf '%s | %s\n   -> ' "$img" "$(printf '%s' "$text" | head -n 1)"
    $BIN generate --model "$MODEL" --image "tests/fixtures/demo/images/$img" --prompt "$text" --max-new-tokens 16
done

echo; echo "== all demo questions: 1 rank vs 4 ranks (pp=2 x tp=2), batch 8, 2 micro-batches"
/usr/bin/python3 - "$Q" >"$OUT/requests.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l); o["image"] = "tests/fixtures/demo/images/" + o["image"]; print(json.dumps(o))
PY
$BIN generate --model "$MODEL" --jsonl "$OUT/requests.jsonl" --max-new-tokens 16 >"$OUT/one-rank.jsonl"
mpirun --oversubscribe -n 4 $BIN generate --model "$MODEL" --jsonl "$OUT/requests.jsonl" --max-new-tokens 16 \
    --layout 1x2x2 --batch-size 8 --micro-batches 2 --metrics "$OUT/metrics-1x2x2.json" >"$OUT/four-ranks.jsonl"
if cmp -s "$OUT/one-rank.jsonl" "$OUT/four-ranks.jsonl"; then
    echo "identical answers for $(wc -l <"$OUT/one-rank.jsonl") questions"
else
    echo "answers differ between layouts" >&2; exit 1
fi
/usr/bin/python3 - "$OUT/one-rank.jsonl" tests/fixtures/demo/answers.jsonl <<'PY'
import json, sys
got = [json.loads(l)["text"] for l in open(sys.argv[1])]
want = [json.loads(l)["answer"] for l in open(sys.argv[2])]
ok = sum(g.strip().lower().rstrip(".") == w.strip().lower() for g, w in zip(got, want))
print("demo accuracy: %d/%d = %.1f%%" % (ok, len(want), 100.0 * ok / len(want)))
PY
echo; echo "== a benchmark suite job (demo data in LLaVA's formats), 2 data-parallel replicas"
launcher/hyperllava-run jobs/demo-suite.yaml --layout 2x1x1 --limit 8 >"$OUT/suite.log" 2>&1 || { tail -n 5 "$OUT/suite.log"; exit 1; }
grep -A 14 "^benchmark" "$OUT/suite.log"
echo; echo "demo outputs in $OUT and out/demo-suite"
