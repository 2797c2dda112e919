#!/usr/bin/env bash
# Nothing lost at any kill point and every write checked, on one POPE
# benchmark (18 questions, 6 rounds of 3) of the tiny fixture model:
#  - run.json is rewritten atomically: a kill inside its rewrite leaves the
#    old record, and a damaged or empty record is refused saying how to recover;
#  - samples.jsonl follows answers.jsonl line for line after a kill at every
#    write point (HL_TEST_KILL_AT), and resume reconciles files that drifted;
#  - the run record binds the images folder and the engine's answer
#    compatibility, and a resumption appends to it instead of rewriting it;
#  - a full disk (/dev/full) on any output is one line naming it, exit 1;
#  - bad values (non-finite numbers, odd question ids, empty question sets, a
#    named pipe as image) are refused in one line;
#  - every message docs/errors.md quotes is printed by the code.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
ROOT=$(pwd)
mkdir -p "$TMP/data"
cp -r tests/fixtures/bench/pope "$TMP/data/pope"
job() { # images folder (relative to data) -> job file on stdout
    cat <<YAML
run:
  model: $ROOT/tests/fixtures/models/all/model.h5
  parallel: {dp: 1, pp: 1, tp: 1}
  batch_size: 3
  micro_batches: 1
output: $TMP/unused
model_id: tiny-all
data_root: $TMP/data
benchmarks:
  - kind: pope
    questions: pope/llava_pope_test.jsonl
    images: $1
    annotations: pope/coco
YAML
}
job pope/val2014 >"$TMP/job.yaml"
JOB=$TMP/job.yaml
ev() { $HL_BIN eval --job $JOB "$@"; }
expect() { # what, exit status, regex, command...
    local what=$1 want=$2 re=$3; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    [ $rc -eq $want ] || fail "$what: exit status $rc (want $want): $(head -n 3 "$TMP/err")"
    if [ "$want" -eq 1 ]; then
        local n=$(grep -c . "$TMP/err")
        [ "$n" -eq 1 ] || fail "$what: $n lines on stderr: $(head -n 3 "$TMP/err")"
        grep -Eq "^hyperllava: error: .*$re" "$TMP/err" || fail "$what: '$(cat "$TMP/err")' does not match '$re'"
    fi
    echo "ok: $what: $(head -c 300 "$TMP/err" | head -n 1)"
}
same_run() { # reference folder, folder: answers byte-identical, samples the same questions and tokens
    cmp -s "$1/pope/answers.jsonl" "$2/pope/answers.jsonl" || { fail "$3: answers differ"; return; }
    /usr/bin/python3 - "$1/pope/samples.jsonl" "$2/pope/samples.jsonl" <<'PY' || fail "$3: samples.jsonl does not follow the answers"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]; b = [json.loads(l) for l in open(sys.argv[2])]
assert [x["question_id"] for x in a] == [x["question_id"] for x in b], "question ids"
assert [x["tokens"] for x in a] == [x["tokens"] for x in b], "tokens"
PY
}
cut_to() { # folder, answers lines, samples lines
    head -n "$2" "$TMP/ref/pope/answers.jsonl" >"$1/pope/answers.jsonl"
    head -n "$3" "$TMP/ref/pope/samples.jsonl" >"$1/pope/samples.jsonl"
}

ev --output "$TMP/ref" >"$TMP/ref.log" 2>&1 || { fail "reference run: $(grep -m1 error "$TMP/ref.log")"; pass_or_fail; }
[ "$(wc -l <"$TMP/ref/pope/answers.jsonl")" -eq 18 ] || fail "reference: not 18 answers"

# --- 1: run.json rewritten atomically; an unreadable record says how to recover
cp -r "$TMP/ref" "$TMP/k1"; cut_to "$TMP/k1" 6 6
cp "$TMP/k1/pope/run.json" "$TMP/run.json.orig"
HL_TEST_KILL_AT=atomic.written ev --output "$TMP/k1" --resume >/dev/null 2>&1; rc=$?
[ $rc -eq 137 ] || fail "kill inside the run.json rewrite: exit status $rc (want 137, killed)"
cmp -s "$TMP/run.json.orig" "$TMP/k1/pope/run.json" || fail "a kill inside the rewrite changed run.json"
ev --output "$TMP/k1" --resume >"$TMP/k1.log" 2>&1 || fail "resume after a kill inside the rewrite: $(grep -m1 error "$TMP/k1.log")"
same_run "$TMP/ref" "$TMP/k1" "resume after a kill inside the run.json rewrite"
cp -r "$TMP/ref" "$TMP/e1"; cut_to "$TMP/e1" 6 6
: >"$TMP/e1/pope/run.json"
expect "empty run record" 1 "run.json: cannot resume: the run record is empty .*to recover" ev --output "$TMP/e1" --resume
head -c 50 "$TMP/ref/pope/run.json" >"$TMP/e1/pope/run.json"
expect "damaged run record" 1 "run.json: cannot resume: the run record is damaged .*to recover" ev --output "$TMP/e1" --resume
rm "$TMP/e1/pope/run.json"
expect "missing run record" 1 "cannot resume: no run record .*to recover" ev --output "$TMP/e1" --resume

# --- 2: samples.jsonl follows answers.jsonl at every kill point
for point in samples.line:1 samples.line:8 samples.synced:1 samples.synced:3 answers.written:2 answers.synced:1 answers.synced:4; do
    d=$TMP/kill-${point/:/-}
    HL_TEST_KILL_AT=$point ev --output "$d" >/dev/null 2>&1; rc=$?
    [ $rc -eq 137 ] || { fail "kill at $point: exit status $rc (want 137)"; continue; }
    a=$(wc -l <"$d/pope/answers.jsonl" 2>/dev/null || echo 0); s=$(wc -l <"$d/pope/samples.jsonl" 2>/dev/null || echo 0)
    [ "$s" -ge "$a" ] || fail "kill at $point: $a answers but only $s samples"
    ev --output "$d" --resume >"$d.log" 2>&1 || { fail "resume after a kill at $point: $(grep -m1 error "$d.log")"; continue; }
    same_run "$TMP/ref" "$d" "kill at $point ($a answers, $s samples), resumed"
    echo "ok: kill at $point ($a answers, $s samples), resumed to the same files"
done
cp -r "$TMP/ref" "$TMP/s1"; : >"$TMP/s1/pope/answers.jsonl"
ev --output "$TMP/s1" --resume >"$TMP/s1.log" 2>&1 || fail "empty answers, full samples: $(grep -m1 error "$TMP/s1.log")"
same_run "$TMP/ref" "$TMP/s1" "empty answers beside a full samples.jsonl"
cp -r "$TMP/ref" "$TMP/s2"; cut_to "$TMP/s2" 9 4
ev --output "$TMP/s2" --resume >"$TMP/s2.log" 2>&1 || fail "samples short of the answers: $(grep -m1 error "$TMP/s2.log")"
grep -q "samples.jsonl: 4 of 9 answered questions have their sample line" "$TMP/s2.log" || fail "no warning for short samples: $(cat "$TMP/s2.log")"
same_run "$TMP/ref" "$TMP/s2" "samples short of the answers"
cp -r "$TMP/ref" "$TMP/s3"; cut_to "$TMP/s3" 9 9
/usr/bin/python3 - "$TMP/s3/pope/samples.jsonl" <<'PY'
import json, sys
l = open(sys.argv[1]).readlines(); o = json.loads(l[6]); o["question_id"] = "elsewhere"; l[6] = json.dumps(o) + "\n"
open(sys.argv[1], "w").writelines(l)
PY
ev --output "$TMP/s3" --resume >"$TMP/s3.log" 2>&1 || fail "samples of other questions: $(grep -m1 error "$TMP/s3.log")"
same_run "$TMP/ref" "$TMP/s3" "a sample line of another question"

# --- 3: the record binds what changes an answer; resume appends to it
mkdir -p "$TMP/data/other"
cp "$TMP/data/pope/val2014/COCO_val2014_000000000042.jpg" "$TMP/data/other/COCO_val2014_000000000073.jpg"
cp "$TMP/data/pope/val2014/COCO_val2014_000000000073.jpg" "$TMP/data/other/COCO_val2014_000000000042.jpg"
job other >"$TMP/job-other.yaml"
cp -r "$TMP/ref" "$TMP/r1"; cut_to "$TMP/r1" 6 6
expect "other images, same names" 1 "run.json: cannot resume: images.sha256: \"[0-9a-f]+\" before, \"[0-9a-f]+\" now" \
    $HL_BIN eval --job "$TMP/job-other.yaml" --output "$TMP/r1" --resume
/usr/bin/python3 -c "
import json, sys; p = sys.argv[1]; r = json.load(open(p)); r['engine_compat'] = 'hyperllava-answers/0'; json.dump(r, open(p, 'w'))" "$TMP/r1/pope/run.json"
expect "another engine compatibility" 1 "cannot resume: engine_compat: \"hyperllava-answers/0\" before, \"hyperllava-answers/[0-9]+\" now" ev --output "$TMP/r1" --resume
cp "$TMP/ref/pope/run.json" "$TMP/r1/pope/run.json"
ev --output "$TMP/r1" --resume --batch-size 2 >"$TMP/r1.log" 2>&1 || fail "resume with another batch size: $(grep -m1 error "$TMP/r1.log")"
same_run "$TMP/ref" "$TMP/r1" "resume with another batch size"
/usr/bin/python3 - "$TMP/ref/pope/run.json" "$TMP/r1/pope/run.json" <<'PY' || fail "resume rewrote the run record"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
r = b.pop("resumes")
assert a == b, "original fields changed"
assert len(r) == 1 and r[0]["answers_kept"] == 6 and r[0]["run"]["batch_size"] == 2, r
assert b["run"]["batch_size"] == 3
PY
echo "ok: resume appended its entry and kept the original record"

# --- 4: every output write checked (/dev/full)
M=tests/fixtures/models/all/model.h5; IMG=tests/fixtures/images/shapes.jpg
gen() { $HL_BIN generate --model $M --image $IMG --prompt "What is this?" --max-new-tokens 2 "$@"; }
expect "generate's answers on a full disk" 1 "standard output: write failed: No space left" sh -c "$HL_BIN generate --model $M --image $IMG --prompt 'What is this?' --max-new-tokens 2 >/dev/full"
expect "--trace on a full disk" 1 "/dev/full: write failed: No space left" gen --trace /dev/full
mkdir -p "$TMP/f1/pope"; ln -s /dev/full "$TMP/f1/pope/samples.jsonl"
expect "samples.jsonl on a full disk" 1 "samples.jsonl: write failed: No space left" ev --output "$TMP/f1"
cp -r "$TMP/ref" "$TMP/f2"; rm "$TMP/f2/pope/scores.json"; ln -s /dev/full "$TMP/f2/pope/scores.json.tmp"
expect "benchmark scores.json on a full disk" 1 "pope/scores.json: cannot write: No space left" ev --output "$TMP/f2" --resume
cp -r "$TMP/ref" "$TMP/f3"; ln -s /dev/full "$TMP/f3/scores.json.tmp"
expect "suite scores.json on a full disk" 1 "f3/scores.json: cannot write: No space left" ev --output "$TMP/f3" --resume
cp -r "$TMP/ref" "$TMP/f4"; ln -s /dev/full "$TMP/f4/metrics.json.tmp"
expect "metrics.json on a full disk" 1 "metrics.json: cannot write: No space left" ev --output "$TMP/f4" --resume

# --- 6: an error several ranks hit is one line from one rank (quiet Open MPI,
# as launcher/hyperllava-run starts it, drops mpirun's own banners)
sed "s#pope/llava_pope_test.jsonl#pope/nope.jsonl#" "$JOB" >"$TMP/job-noq.yaml"
expect "a missing question file on 4 ranks" 1 "nope.jsonl: No such file" timeout 120 env OMPI_MCA_orte_execute_quiet=1 $MPIRUN -n 4 $HL_BIN eval --job "$TMP/job-noq.yaml" --output "$TMP/noq" --layout 4x1x1
expect "a missing image on 2 tensor-parallel ranks" 1 "nothere.jpg: No such file" timeout 120 env OMPI_MCA_orte_execute_quiet=1 $MPIRUN -n 2 $HL_BIN generate --model tests/fixtures/models/all/model.h5 --image "$TMP/nothere.jpg" --prompt "What?" --layout 1x1x2 --max-new-tokens 2

# --- 9: docs/errors.md quotes what the code prints
/usr/bin/python3 - <<'PY' || fail "docs/errors.md quotes messages the code does not print"
import re, subprocess, sys
bad = []
for line in open("docs/errors.md"):
    if not line.startswith("| `"):
        continue
    cell = line.split(" | ")[0][2:]
    for frag in re.findall(r"`([^`]+)`", cell):
        m = re.match(r"cannot resume: (\w+)(?:\.(\w+))?: $", frag)
        if m:  # a run record field: must be in the binding table
            pat = '{"%s", %s}' % (m.group(1), '"%s"' % m.group(2) if m.group(2) else "NULL")
            frags, where = [pat], ["src/run/record.c"]
        else:
            frags, where = [frag], ["src"]
        for f in frags:
            if subprocess.run(["grep", "-rqF", "-e", f] + where).returncode:
                bad.append(f)
if bad:
    print("not in the code:", bad); sys.exit(1)
print("docs/errors.md: every quoted message is in the code")
PY

# --- 5: bad values are refused in one line
expect "--temperature nan" 1 "--temperature expects a finite number, got 'nan'" gen --temperature nan
expect "--temperature inf" 1 "--temperature expects a finite number, got 'inf'" gen --temperature inf
expect "--top-p nan" 1 "--top-p expects a finite number, got 'nan'" gen --top-p nan
expect "a folder as --config" 1 "tests: is a folder, not a file" gen --config tests
mkfifo "$TMP/pipe.jpg"
expect "a named pipe as image" 1 "pipe.jpg: not a regular file \\(a named pipe\\)" timeout 20 $HL_BIN generate --model $M --image "$TMP/pipe.jpg" --prompt "What?" --max-new-tokens 2
qset() { # name, content of the question file -> runs eval on it
    mkdir -p "$TMP/q-$1"; printf '%b' "$2" >"$TMP/data/pope/q-$1.jsonl"
    sed "s#pope/llava_pope_test.jsonl#pope/q-$1.jsonl#" "$JOB" >"$TMP/q-$1.yaml"
    $HL_BIN eval --job "$TMP/q-$1.yaml" --output "$TMP/q-$1"
}
img='"image": "COCO_val2014_000000000042.jpg", "text": "Is there a cat?", "category": "adversarial"'
expect "question_id an object" 1 "q-obj.jsonl:2: question_id must be a number or a string, got an object" qset obj "{\"question_id\": 1, $img}\n{\"question_id\": {\"a\": 1}, $img}\n"
expect "question_id null" 1 "q-null.jsonl:1: question_id must be a number or a string, got null" qset null "{\"question_id\": null, $img}\n"
expect "an empty question file" 1 "q-empty.jsonl: no questions" qset empty ""
expect "blank lines only" 1 "q-blank.jsonl: no questions" qset blank "\n  \n\n"
head -n 1 tests/fixtures/bench/mmbench/mmbench_dev_20230712.tsv >"$TMP/data/header.tsv"
sed -e "s#kind: pope#kind: mmbench#" -e "s#pope/llava_pope_test.jsonl#header.tsv#" -e "/images:/d" -e "/annotations:/d" "$JOB" >"$TMP/q-tsv.yaml"
expect "an MMBench TSV with only its header" 1 "header.tsv: no questions" $HL_BIN eval --job "$TMP/q-tsv.yaml" --output "$TMP/q-tsv"
long=$(printf 'word %.0s' $(seq 1 400))
expect "a prompt too long in eval names the question" 1 "q-long.jsonl: question_id 7: prompt of [0-9]+ positions" qset long "{\"question_id\": 7, \"image\": \"COCO_val2014_000000000042.jpg\", \"text\": \"$long\"}\n"
pass_or_fail
