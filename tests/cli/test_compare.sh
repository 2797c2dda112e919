#!/usr/bin/env bash
# `compare OUT_A OUT_B` on two scored output folders built from the fixture answers:
# B changes four GQA answers (three wrong -> right, one right -> wrong), one TextVQA
# answer (soft score 0.6 -> 1) and four POPE answers. The expected numbers were worked
# out by hand (accuracies, McNemar's exact p = 2 (1 + 4) / 16 = 0.625 for 1 vs 3
# discordant questions) and, for the bootstrap intervals, by a separate Python
# implementation of the documented resampling (docs/benchmarks.md).
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
F=$(pwd)/tests/fixtures/bench
cat >"$TMP/job.yaml" <<EOF
run: {model: x.h5}
output: $TMP/A
benchmarks:
  - {kind: gqa, images: /tmp, questions: $F/gqa/llava_gqa_testdev_balanced.jsonl, annotations: $F/gqa/testdev_balanced_questions.json}
  - {kind: textvqa, images: /tmp, questions: $F/textvqa/llava_textvqa_val_v051_ocr.jsonl, annotations: $F/textvqa/TextVQA_0.5.1_val.json}
  - {kind: pope, images: /tmp, questions: $F/pope/llava_pope_test.jsonl, annotations: $F/pope/coco}
  - {kind: llava_bench, images: /tmp, questions: $F/llava_bench/questions.jsonl}
EOF
for o in A B; do for k in gqa textvqa pope llava_bench; do
    mkdir -p "$TMP/$o/$k" && cp "$F/$k/answers.jsonl" "$TMP/$o/$k/"; done; done
/usr/bin/python3 - "$TMP/B" <<'PY'
import json, sys
def edit(path, change):
    L = [json.loads(l) for l in open(path)]
    for a in L:
        a["text"] = change.get(a["question_id"], change.get(a["text"], a["text"]))
    open(path, "w").write("".join(json.dumps(a) + "\n" for a in L))
edit(sys.argv[1] + "/gqa/answers.jsonl",
     {"20968380": "White", "20968381": "left", "20968383": "no", "201640614": "Man"})
edit(sys.argv[1] + "/textvqa/answers.jsonl", {"Glenmorangie": "Morangie"})
edit(sys.argv[1] + "/pope/answers.jsonl", {6: "Yes", 7: "No", 1: "No", 14: "No"})
PY
$HL_BIN score --job "$TMP/job.yaml" >/dev/null 2>&1 || fail "score A failed"
$HL_BIN score --job "$TMP/job.yaml" --output "$TMP/B" >/dev/null 2>&1 || fail "score B failed"
$HL_BIN compare "$TMP/A" "$TMP/B" --csv "$TMP/c.csv" --changed "$TMP/ch.csv" >"$TMP/out" 2>&1 \
    || fail "compare failed: $(tail -3 "$TMP/out")"
expect_line() { grep -qxF "$2" "$1" || fail "$1 lacks: $2"; }
expect_line "$TMP/c.csv" "benchmark,kind,metric,score_a,score_b,score_diff,paired_questions,accuracy_a,accuracy_b,accuracy_diff,ci95_low,ci95_high,right_a_only,right_b_only,mcnemar_p,changed,unpaired_a,unpaired_b"
expect_line "$TMP/c.csv" "gqa,gqa,accuracy (%),70,90,20,10,70,90,20,-20,60,1,3,0.625,4,0,0"
expect_line "$TMP/c.csv" "textvqa,textvqa,accuracy (%),80,85,5,8,80,85,5,0,15,,,,1,0,0"
# POPE: headline mean F1 60 -> 66.6667 (scores.json); 11 -> 13 of 18 right
expect_line "$TMP/c.csv" "pope,pope,mean F1 (%),60,66.6667,6.66667,18,61.1111,72.2222,11.1111,-11.1111,33.3333,1,3,0.625,4,0,0"
expect_line "$TMP/c.csv" "llava_bench,llava_bench,,,,,,,,,,,,,,,,"
[ "$(wc -l <"$TMP/c.csv")" -eq 5 ] || fail "c.csv: $(wc -l <"$TMP/c.csv") lines"
expect_line "$TMP/ch.csv" "benchmark,question_id,category,prediction_a,prediction_b,score_a,score_b"
expect_line "$TMP/ch.csv" "gqa,201640614,query,Woman,Man,1,0"
expect_line "$TMP/ch.csv" "gqa,20968381,choose,left ,left,0,1"
expect_line "$TMP/ch.csv" "textvqa,831bcec304a17054,,Glenmorangie,Morangie,0.6,1"
expect_line "$TMP/ch.csv" "pope,6,adversarial,I do not see one,Yes,0,1"
[ "$(grep -c '^gqa,' "$TMP/ch.csv")" -eq 4 ] && [ "$(grep -c '^pope,' "$TMP/ch.csv")" -eq 4 ] || fail "changed questions: $(cat "$TMP/ch.csv")"
grep -qE '^gqa +accuracy \(%\) +70\.00 +90\.00 +\+20\.00 \| +10 +70\.00 +90\.00 +\+20\.00 \[-20\.00, \+60\.00\] +1 +3 +0\.625 +4$' "$TMP/out" \
    || fail "table row for gqa: $(grep ^gqa "$TMP/out")"
grep -q '20968383 .*A "yes"  B "no"' "$TMP/out" || fail "changed question not listed"
# another seed and resample count: the interval of the separate implementation
$HL_BIN compare "$TMP/A" "$TMP/B" --bench pope --seed 7 --resamples 2000 --csv "$TMP/p.csv" >/dev/null 2>&1 || fail "compare --bench failed"
[ "$(wc -l <"$TMP/p.csv")" -eq 2 ] || fail "--bench: not one row"
expect_line "$TMP/p.csv" "pope,pope,mean F1 (%),60,66.6667,6.66667,18,61.1111,72.2222,11.1111,-11.1111,33.3333,1,3,0.625,4,0,0"
# deterministic: the same command gives the same bytes
$HL_BIN compare "$TMP/A" "$TMP/B" --csv "$TMP/c2.csv" >/dev/null 2>&1
cmp -s "$TMP/c.csv" "$TMP/c2.csv" || fail "two runs with the same seed differ"
# A against itself: no change, interval [0, 0], p = 1
$HL_BIN compare "$TMP/A" "$TMP/A" --bench gqa --csv "$TMP/s.csv" >/dev/null 2>&1
expect_line "$TMP/s.csv" "gqa,gqa,accuracy (%),70,70,0,10,70,70,0,0,0,0,0,1,0,0,0"
# a benchmark in one folder only is named; nothing in common is an error
rm -rf "$TMP/B/textvqa"
$HL_BIN compare "$TMP/A" "$TMP/B" >/dev/null 2>"$TMP/err" || fail "compare failed with one benchmark missing"
grep -q "textvqa: not scored in $TMP/B" "$TMP/err" || fail "missing benchmark not named: $(cat "$TMP/err")"
mkdir -p "$TMP/empty"
$HL_BIN compare "$TMP/A" "$TMP/empty" >/dev/null 2>"$TMP/err" && fail "nothing in common did not fail"
grep -q "no benchmark scored in both" "$TMP/err" || fail "no message for nothing in common"
$HL_BIN compare "$TMP/A" >/dev/null 2>&1 && fail "one folder accepted"
pass_or_fail
