#!/usr/bin/env bash
# `score`: --answers FILE --output DIR writes the files --job writes; a benchmark
# whose answers cannot be read is named, the others are still scored, exit 1.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
F=$(pwd)/tests/fixtures/bench
cat >"$TMP/job.yaml" <<EOF2
run: {model: x.h5}
output: $TMP/o
benchmarks:
  - {kind: vqav2, images: /tmp, questions: $F/vqav2/llava_vqav2_mscoco_test-dev2015.jsonl, annotations: $F/vqav2/llava_vqav2_mscoco_test2015.jsonl}
  - {kind: gqa, images: /tmp, questions: $F/gqa/llava_gqa_testdev_balanced.jsonl, annotations: $F/gqa/testdev_balanced_questions.json}
EOF2
$HL_BIN score --job "$TMP/job.yaml" --bench gqa --answers $F/gqa/answers.jsonl --output "$TMP/a" >/dev/null 2>&1 \
    || fail "score --answers --output failed"
[ -s "$TMP/a/gqa/scores.json" ] && [ -s "$TMP/a/gqa/gqa_predictions.json" ] || fail "--answers --output wrote nothing"
cmp -s "$TMP/a/gqa/gqa_predictions.json" $F/gqa/expected_predictions.json || fail "--answers --output: predictions differ"
mkdir -p "$TMP/o/vqav2" "$TMP/o/gqa"
cp $F/vqav2/answers.jsonl "$TMP/o/vqav2/"
echo garbage >"$TMP/o/gqa/answers.jsonl"
$HL_BIN score --job "$TMP/job.yaml" >"$TMP/out" 2>"$TMP/err" && fail "a broken benchmark did not fail the run"
grep -q "gqa: cannot be scored" "$TMP/err" || fail "the broken benchmark is not named: $(cat "$TMP/err")"
grep -q "gqa/answers.jsonl:1: bad JSON" "$TMP/err" || fail "no one-line error for the broken file"
[ -s "$TMP/o/vqav2/scores.json" ] && [ -s "$TMP/o/vqav2/vqav2_submission.json" ] || fail "the other benchmark was not scored"
grep -q '"vqav2"' "$TMP/o/scores.json" || fail "suite scores.json lacks vqav2"
pass_or_fail
