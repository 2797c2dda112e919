#!/usr/bin/env bash
# Per-question results (OUTPUT/<bench>/results.jsonl) from `score`, on the fixture
# answers of every kind: one record per scored question with the documented keys; the
# mean of the per-question scores is the benchmark's accuracy where the headline is
# one; hand-checked records (a POPE "no", a ScienceQA "B. ..." parse, a TextVQA soft
# score of 0.6 = (2 * 1/3 + 8 * 2/3) / 10); --results FILE; a GPT-scored benchmark
# writes none and removes a stale file.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
F=$(pwd)/tests/fixtures/bench
cat >"$TMP/job.yaml" <<EOF
run: {model: x.h5}
output: $TMP/o
benchmarks:
  - {kind: vqav2, images: /tmp, questions: $F/vqav2/llava_vqav2_mscoco_test-dev2015.jsonl, annotations: $F/vqav2/v2_mscoco_val2014_annotations.json}
  - {kind: vizwiz, images: /tmp, questions: $F/vizwiz/llava_test.jsonl, annotations: $F/vizwiz/val.json}
  - {kind: gqa, images: /tmp, questions: $F/gqa/llava_gqa_testdev_balanced.jsonl, annotations: $F/gqa/testdev_balanced_questions.json}
  - {kind: textvqa, images: /tmp, questions: $F/textvqa/llava_textvqa_val_v051_ocr.jsonl, annotations: $F/textvqa/TextVQA_0.5.1_val.json}
  - {kind: pope, images: /tmp, questions: $F/pope/llava_pope_test.jsonl, annotations: $F/pope/coco}
  - {kind: mme, images: /tmp, questions: $F/mme/llava_mme.jsonl, annotations: $F/mme/MME_Benchmark_release_version}
  - {kind: seed, images: /tmp, questions: $F/seed/llava-seed-bench.jsonl, annotations: $F/seed/SEED-Bench.json}
  - {kind: sqa, images: /tmp, questions: $F/sqa/llava_test_CQM-A.json, annotations: $F/sqa}
  - {kind: mmbench, questions: $F/mmbench/mmbench_dev_20230712.tsv}
  - {kind: llava_bench, images: /tmp, questions: $F/llava_bench/questions.jsonl}
EOF
KINDS="vqav2 vizwiz gqa textvqa pope mme seed sqa mmbench llava_bench"
for k in $KINDS; do mkdir -p "$TMP/o/$k" && cp "$F/$k/answers.jsonl" "$TMP/o/$k/"; done
echo stale >"$TMP/o/llava_bench/results.jsonl"
$HL_BIN score --job "$TMP/job.yaml" >"$TMP/out" 2>&1 || fail "score --job failed: $(tail -3 "$TMP/out")"
/usr/bin/python3 - "$TMP/o" <<'PY' || fail "results.jsonl checks"
import json, os, sys
out = sys.argv[1]
keys = ["question_id", "category", "prediction", "parsed", "ground_truth"]
# records expected: every scored question (POPE/MME/TextVQA/VQA: each answer; GQA: the
# balanced questions answered; SEED/SQA: every question of the split; MMBench: rows answered)
count = {"vqav2": None, "vizwiz": 4, "gqa": 10, "textvqa": 8, "pope": 18, "mme": 14, "seed": 9,
         "sqa": 9, "mmbench": 11}
bad = 0
def err(m):
    global bad
    print("FAIL:", m); bad += 1
for k, n in count.items():
    p = os.path.join(out, k, "results.jsonl")
    if not os.path.exists(p):
        err(k + ": no results.jsonl"); continue
    recs = [json.loads(l) for l in open(p)]
    s = json.load(open(os.path.join(out, k, "scores.json")))
    if n is not None and len(recs) != n: err("%s: %d records, expected %d" % (k, len(recs), n))
    if s.get("results_questions") != len(recs): err(k + ": results_questions differs")
    if p not in s.get("files", []): err(k + ": results.jsonl not in scores['files']")
    for r in recs:
        if list(r)[:5] != keys or "score" not in r: err("%s: keys %s" % (k, list(r))); break
        if not 0 <= r["score"] <= 1: err(k + ": score out of [0, 1]")
        if "correct" in r and r["score"] != (1.0 if r["correct"] else 0.0): err(k + ": correct and score disagree")
    mean = 100 * sum(r["score"] for r in recs) / len(recs)
    acc = {"vqav2": "accuracy", "vizwiz": "accuracy", "gqa": "accuracy", "textvqa": "accuracy",
           "seed": "accuracy", "sqa": "accuracy", "mmbench": "single_accuracy"}.get(k)
    if acc and abs(mean - s[acc]) > 1e-9: err("%s: mean score %.6f != %s %.6f" % (k, mean, acc, s[acc]))
    if k == "mme":
        right = sum(r["correct"] for r in recs)
        sub = s["subtasks"]
        exp = sum(round(v["acc"] * v["questions"]) for v in sub.values())
        if right != exp: err("mme: %d right, scores say %d" % (right, exp))
    if k == "pope":
        tp = sum(1 for r in recs if r["parsed"] == "yes" and r["ground_truth"] == "yes")
        if tp != sum(c["TP"] for c in s["categories"].values()): err("pope: TP differs")
by = lambda k: {json.dumps(r["question_id"]): r for r in map(json.loads, open(os.path.join(out, k, "results.jsonl")))}
t = [r for r in map(json.loads, open(os.path.join(out, "textvqa", "results.jsonl"))) if r["parsed"] == "glenmorangie"]
if len(t) != 1 or abs(t[0]["score"] - 0.6) > 1e-12: err("textvqa: glenmorangie record %s" % t)
r = by("sqa")['"5"']
if (r["prediction"], r["parsed"], r["ground_truth"], r["correct"]) != ("B. how steady a parachute was", "B", "B", True):
    err("sqa: record 5 %s" % r)
r = by("pope")["2"]
if (r["category"], r["prediction"], r["parsed"], r["ground_truth"], r["correct"]) != ("adversarial", "No", "no", "no", True):
    err("pope: record 2 %s" % r)
if os.path.exists(os.path.join(out, "llava_bench", "results.jsonl")): err("llava_bench: stale results.jsonl kept")
sys.exit(1 if bad else 0)
PY
# --answers: with --output into OUTPUT/<bench>/, with --results to the file named
$HL_BIN score --job "$TMP/job.yaml" --bench gqa --answers $F/gqa/answers.jsonl --output "$TMP/a" >/dev/null 2>&1 \
    || fail "score --answers --output failed"
cmp -s "$TMP/a/gqa/results.jsonl" "$TMP/o/gqa/results.jsonl" || fail "--answers --output: results.jsonl differs from --job's"
$HL_BIN score --job "$TMP/job.yaml" --bench gqa --answers $F/gqa/answers.jsonl --results "$TMP/r.jsonl" >/dev/null 2>&1 \
    || fail "score --answers --results failed"
cmp -s "$TMP/r.jsonl" "$TMP/o/gqa/results.jsonl" || fail "--results: file differs from --job's"
pass_or_fail
