#!/usr/bin/env bash
# Benchmark suites end to end on a tiny fixture model: every benchmark
# format through `eval` and `score`; the answers files are byte-identical on
# 1 rank and under mpirun with data, pipeline and tensor parallelism; `score`
# reproduces eval's scores; a run cut in the middle of a line resumes to the
# same files; --resume refuses a different run record, and a second run
# without --resume refuses to touch existing answers.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
ROOT=$(pwd)
# the fixture model with room for ScienceQA's long prompts in the tiny tokenizer
cp tests/fixtures/models/all/model.h5 "$TMP/model.h5"
/usr/bin/python3 -c "import h5py, sys; h5py.File(sys.argv[1], 'r+').attrs['max_positions'] = 1024" "$TMP/model.h5"
sed -e "s#model: ../models/all/model.h5#model: $TMP/model.h5#" -e "s#data_root: ../bench#data_root: $ROOT/tests/fixtures/bench#" \
    tests/fixtures/jobs/bench-all.yaml >"$TMP/job.yaml"
JOB=$TMP/job.yaml
same_scores() { # two suite scores.json files equal once their output folders are named alike
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, os, sys
def load(p):
    return json.loads(open(p).read().replace(os.path.dirname(os.path.abspath(p)), "OUT"))
sys.exit(0 if load(sys.argv[1]) == load(sys.argv[2]) else 1)
PY
}
KINDS="vqav2 gqa vizwiz textvqa pope mme seed sqa mmbench mmbench_cn llava_bench mmvet"

$HL_BIN eval --job $JOB --output "$TMP/one" >"$TMP/one.log" 2>&1 || { fail "1 rank: $(grep -m1 error "$TMP/one.log")"; pass_or_fail; }
for k in $KINDS; do
    [ -s "$TMP/one/$k/answers.jsonl" ] || fail "$k: no answers"
    [ -s "$TMP/one/$k/run.json" ] || fail "$k: no run record"
    [ "$(wc -l <"$TMP/one/$k/answers.jsonl")" -eq "$(wc -l <"$TMP/one/$k/samples.jsonl")" ] || fail "$k: samples.jsonl does not follow answers.jsonl"
done
/usr/bin/python3 - "$TMP/one" $KINDS <<'PY' || fail "answers format"
import json, sys
out = sys.argv[1]
for k in sys.argv[2:]:
    for i, l in enumerate(open("%s/%s/answers.jsonl" % (out, k))):
        o = json.loads(l)
        for key in ("question_id", "prompt", "text", "answer_id", "model_id", "metadata"):
            assert key in o, "%s line %d: no %s" % (k, i + 1, key)
        assert o["model_id"] == "tiny-all"
s = json.load(open(out + "/scores.json"))
for k in sys.argv[2:]:
    assert k in s, "scores.json has no " + k
print("answers and scores.json well formed for", len(sys.argv) - 2, "benchmarks")
PY
for f in vqav2/vqav2_submission.json gqa/gqa_predictions.json mmbench/mmbench_submission.xlsx mmvet/mmvet_mmvet.json sqa/sqa_result.json; do
    [ -s "$TMP/one/$f" ] || fail "server file $f missing"
done
for layout in 2x1x1 1x2x1 1x2x2 2x2x1; do
    IFS=x read -r dp pp tp <<<"$layout"
    timeout 300 $MPIRUN -n $((dp * pp * tp)) $HL_BIN eval --job $JOB --output "$TMP/$layout" --layout $layout \
        --micro-batches 2 >"$TMP/$layout.log" 2>&1 || { fail "$layout: $(grep -m1 error "$TMP/$layout.log")"; continue; }
    for k in $KINDS; do
        cmp -s "$TMP/one/$k/answers.jsonl" "$TMP/$layout/$k/answers.jsonl" || fail "$layout $k: answers differ from 1 rank"
    done
    same_scores "$TMP/one/scores.json" "$TMP/$layout/scores.json" || fail "$layout: scores differ"
    echo "ok: $layout answers identical to 1 rank"
done
# metrics per benchmark: OUTPUT/<bench>/metrics.json counts that benchmark's
# answers and the times of its rounds only; the suite's metrics.json lists
# each benchmark's numbers beside the totals
/usr/bin/python3 - "$TMP/one" "$TMP/1x2x1" $KINDS <<'PY' || fail "metrics per benchmark"
import json, sys
for out, world in ((sys.argv[1], 1), (sys.argv[2], 2)):
    suite = json.load(open(out + "/metrics.json"))
    total = 0
    for k in sys.argv[3:]:
        m = json.load(open("%s/%s/metrics.json" % (out, k)))
        n = sum(1 for _ in open("%s/%s/answers.jsonl" % (out, k)))
        assert m["benchmark"] == k and m["samples"] == n, (out, k, m["samples"], n)
        assert suite["benchmarks"][k]["samples"] == n, (out, k)
        assert abs(m["samples_per_s"] - n / m["eval_s"]) < 1e-6 * m["samples_per_s"], (out, k)
        assert len(m["ranks"]) == world and "load_s" not in m["ranks"][0], (out, k)
        for r, s in zip(m["ranks"], suite["ranks"]):
            assert r["wall_s"] < s["wall_s"] and r["messages"] <= s["messages"], (out, k)
        total += n
    assert suite["samples"] == total and "benchmark" not in suite, out
    lay = suite["layout"]
    assert (lay["world"], lay["threads"], lay["micro_batches"]) == (world, 1, world), (out, lay)
    for r in suite["ranks"]:
        assert r["cpus_allowed"] and r["threads"] == 1 and r["loadavg_start"] >= 0, r
print("per-benchmark metrics agree with the answers on 1 and 2 ranks")
PY
# progress of generate --jsonl on stderr: log lines when stderr is a file
# (the last one at 8/8), a bar with the ETA on a terminal; stdout keeps only
# the answers
G="$HL_BIN generate --model tests/fixtures/models/llava/model.h5 --jsonl tests/fixtures/requests/layout.jsonl --max-new-tokens 2"
$G >"$TMP/gen.out" 2>"$TMP/gen.err" || fail "generate --jsonl: $(cat "$TMP/gen.err")"
grep -q '^hyperllava: generate: 8/8 answered, [0-9.]* q/s, ETA 0 s$' "$TMP/gen.err" || fail "generate --jsonl: no progress lines: $(cat "$TMP/gen.err")"
[ "$(grep -c '^{"question_id"' "$TMP/gen.out")" -eq 8 ] && [ "$(wc -l <"$TMP/gen.out")" -eq 8 ] || fail "generate --jsonl: stdout is not the 8 answers"
if command -v script >/dev/null; then
    script -qec "$G 2>&1 >/dev/null" /dev/null >"$TMP/gen.tty" </dev/null || fail "generate --jsonl on a terminal"
    grep -q 'generate     \[#*\] 8/8  [0-9.]* q/s  ETA 00:00:00' "$TMP/gen.tty" || fail "generate --jsonl: no bar on a terminal: $(cat -v "$TMP/gen.tty")"
fi
# score re-reads the answers and gives the same numbers
cp "$TMP/one/scores.json" "$TMP/scores.eval.json"
$HL_BIN score --job $JOB --output "$TMP/one" >"$TMP/score.log" 2>&1 || fail "score: $(grep -m1 error "$TMP/score.log")"
cmp -s "$TMP/one/scores.json" "$TMP/scores.eval.json" || fail "score differs from eval's scores"
# resume after a cut: keep 5 POPE answers and half of the 6th line
cp -r "$TMP/one" "$TMP/cut"
rm -f "$TMP/cut/scores.json"
head -n 5 "$TMP/one/pope/answers.jsonl" >"$TMP/cut/pope/answers.jsonl"
sed -n 6p "$TMP/one/pope/answers.jsonl" | head -c 40 >>"$TMP/cut/pope/answers.jsonl"
head -n 7 "$TMP/one/pope/samples.jsonl" >"$TMP/cut/pope/samples.jsonl"
rm -rf "$TMP/cut/mme"
$HL_BIN eval --job $JOB --output "$TMP/cut" --resume >"$TMP/resume.log" 2>&1 || fail "resume: $(grep -m1 error "$TMP/resume.log")"
for k in $KINDS; do
    cmp -s "$TMP/one/$k/answers.jsonl" "$TMP/cut/$k/answers.jsonl" || fail "resume $k: answers differ"
done
/usr/bin/python3 - "$TMP/one/pope/samples.jsonl" "$TMP/cut/pope/samples.jsonl" <<'PY' || fail "resume: samples.jsonl"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]; b = [json.loads(l) for l in open(sys.argv[2])]
assert [x["question_id"] for x in a] == [x["question_id"] for x in b], "question ids"
assert [x["tokens"] for x in a] == [x["tokens"] for x in b], "tokens"
PY
same_scores "$TMP/one/scores.json" "$TMP/cut/scores.json" || fail "resume: scores differ"
# a benchmark finished before keeps its metrics; a resumed one counts what this run answered
cmp -s "$TMP/one/vqav2/metrics.json" "$TMP/cut/vqav2/metrics.json" || fail "resume rewrote the metrics of a finished benchmark"
/usr/bin/python3 -c "import json, sys; m = json.load(open(sys.argv[1])); n = sum(1 for _ in open(sys.argv[2])); sys.exit(m['samples'] != n - 5)" \
    "$TMP/cut/pope/metrics.json" "$TMP/one/pope/answers.jsonl" || fail "resume: pope's metrics do not count the answers of the resumed run"
echo "ok: resumed run equals the uninterrupted one"
# refusals: existing answers without --resume; a different run record
$HL_BIN eval --job $JOB --output "$TMP/one" >"$TMP/o" 2>"$TMP/e"; rc=$?
[ $rc -eq 1 ] && grep -q "answers exist; pass --resume" "$TMP/e" || fail "no refusal without --resume: $(cat "$TMP/e")"
sed 's/^model_id: tiny-all/model_id: other/' $JOB >"$TMP/job2.yaml"
$HL_BIN eval --job "$TMP/job2.yaml" --output "$TMP/one" --resume >"$TMP/o" 2>"$TMP/e"; rc=$?
[ $rc -eq 1 ] && grep -q "cannot resume: model_id" "$TMP/e" || fail "resume with another model_id not refused: $(cat "$TMP/e")"
[ "$(grep -c 'hyperllava: error' "$TMP/e")" -eq 1 ] || fail "refusal is not one line"
cmp -s "$TMP/one/vqav2/answers.jsonl" "$TMP/2x1x1/vqav2/answers.jsonl" || fail "a refused run changed the answers"
pass_or_fail
