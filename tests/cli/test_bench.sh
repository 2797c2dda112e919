#!/usr/bin/env bash
# bench: the JSON report has every field, with positive numbers and fixed
# output lengths, on one rank and under mpirun (1x2x1, 2x1x1); the prompt has
# the asked number of text tokens; bad options fail with one line and no report.
# No timing assertions: the numbers depend on the machine.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
M=tests/fixtures/models/llava/model.h5
H=tests/fixtures/models/all/model.h5

# check_report FILE WORLD DP REPEAT NEW_TOKENS TEXT_TOKENS_ASKED FIXED(1|0) WORKLOADS
check_report() {
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
path, world, dp, repeat, new, asked, fixed, workloads = sys.argv[1:]
world, dp, repeat, new, asked, fixed = map(int, (world, dp, repeat, new, asked, fixed))
r = json.load(open(path))
bad = []
def need(cond, what):
    if not cond: bad.append(what)
def pos(x): return isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0
need(r.get("command") == "bench", "command")
m = r.get("machine", {})
for k in ("host", "cpu_model", "mpi"): need(isinstance(m.get(k), str) and m[k], "machine." + k)
need(pos(m.get("cpus_online")), "machine.cpus_online")
need(r["layout"]["world"] == world and r["layout"]["dp"] == dp, "layout")
need(pos(r.get("threads")), "threads")
need(pos(r.get("load_s")), "load_s")
md = r["model"]
for k in ("hidden", "heads", "intermediate", "layers", "vocab", "context"): need(pos(md["llm"].get(k)), "model.llm." + k)
for k in ("hidden", "heads", "layers", "image_size", "patch_size", "image_tokens"): need(pos(md["vision"].get(k)), "model.vision." + k)
st = r["settings"]
need(st["text_tokens_asked"] == asked, "settings.text_tokens_asked")
need(st["prompt_positions"] == st["text_tokens"] + md["vision"]["image_tokens"], "prompt_positions")
need(st["repeat"] == repeat and st["stop_at_eos"] == (not fixed), "settings")
need(sorted(r["results"]) == sorted(workloads.split(",")), "workloads %s" % sorted(r["results"]))
need(len(r["ranks"]) == world and all(pos(x["weight_bytes"]) and pos(x["peak_rss_bytes"]) for x in r["ranks"]), "ranks")
for wl, rows in r["results"].items():
    nt = 2 if wl == "pope" else new
    need(len(rows) >= 1, wl + ": rows")
    for row in rows:
        tag = "%s bs %s: " % (wl, row.get("batch_size"))
        b, n = row["batch_size"], row["samples"]
        need(n >= b * dp and n % (b * dp) == 0, tag + "samples %d" % n)
        need(row["new_tokens"] == nt, tag + "new_tokens")
        if fixed: need(row["generated_tokens"] == n * nt, tag + "generated %d != %d" % (row["generated_tokens"], n * nt))
        else: need(n <= row["generated_tokens"] <= n * nt, tag + "generated")
        for k in ("wall_s", "prefill_s", "decode_s"):
            need(pos(row[k]["min"]) and row[k]["median"] >= row[k]["min"], tag + k)
        for k in ("samples_per_s", "tokens_per_s", "prefill_positions_per_s") + (("decode_tokens_per_s",) if fixed else ()):
            need(pos(row[k]["best"]) and row[k]["best"] >= row[k]["median"] > 0, tag + k)
        need(abs(row["samples_per_s"]["median"] * row["wall_s"]["median"] - n) < 1e-6 * n, tag + "samples/s = samples / wall")
        need(len(row["peak_rss_bytes"]) == world and all(pos(x) for x in row["peak_rss_bytes"]), tag + "peak_rss_bytes")
        need(len(row["runs"]) == repeat and all(pos(x["wall_s"]) for x in row["runs"]), tag + "runs")
if bad:
    print("\n".join(bad)); sys.exit(1)
PY
}

run_ok() { # name, command...: runs it, keeps stdout in $TMP/out
    local name=$1; shift
    if "$@" >"$TMP/out" 2>"$TMP/err"; then return 0; fi
    fail "$name: exit $? ($(head -n 2 "$TMP/err"))"
    return 1
}

# one rank, both workloads, two batch sizes
if run_ok "1 rank" $HL_BIN bench --model $M --batch-sizes 1,2 --new-tokens 6 --text-tokens 110 \
        --warmup 1 --repeat 2 --json "$TMP/a.json"; then
    check_report "$TMP/a.json" 1 1 2 6 110 1 pope,decode || fail "1 rank: report"
    grep -q '^pope: 2 new tokens' "$TMP/out" && grep -q '^decode: 6 new tokens' "$TMP/out" || fail "1 rank: no tables"
    # progress on stderr (not a terminal): lines per workload, in samples of the
    # warm-up and timed runs (batch sizes 1 and 2, 3 runs each: 9), with an ETA
    for wl in pope decode; do
        grep -q "^hyperllava: bench $wl: 1/9 samples run, [0-9.]* samples/s, ETA [0-9]* s$" "$TMP/err" &&
            grep -q "^hyperllava: bench $wl: 9/9 samples run, [0-9.]* samples/s, ETA 0 s$" "$TMP/err" ||
            fail "1 rank: no $wl progress lines: $(cat "$TMP/err")"
    done
    # the prompt has about the asked number of text tokens (one filler word = a few pieces)
    python3 -c "import json,sys; t=json.load(open('$TMP/a.json'))['settings']['text_tokens']; sys.exit(abs(t-110) > 3)" ||
        fail "1 rank: text tokens far from 110"
fi

# two pipeline stages, HyperLLaVA fixture (guidance broadcast), micro-batches; --samples rounds up
if run_ok "1x2x1" $MPIRUN -n 2 $HL_BIN bench --model $H --layout 1x2x1 --micro-batches 2 --batch-sizes 3 \
        --samples 4 --workload decode --new-tokens 5 --text-tokens 100 --warmup 0 --repeat 1 --json "$TMP/b.json"; then
    check_report "$TMP/b.json" 2 1 1 5 100 1 decode || fail "1x2x1: report"
    python3 -c "import json,sys; r=json.load(open('$TMP/b.json'))['results']['decode'][0]; sys.exit(not (r['samples']==6 and r['micro_batches']==2))" ||
        fail "1x2x1: samples not rounded up to whole batches, or micro-batches not 2"
    [ "$(grep -c '^hyperllava bench' "$TMP/out")" -eq 1 ] || fail "1x2x1: not only rank 0 printed"
fi

# two replicas from a job's inline run config; EOS may end a sample
cat >"$TMP/job.yaml" <<EOF
run:
  model: $PWD/$H
  parallel: {dp: 2, pp: 1, tp: 1}
  batch_size: 2
output: $TMP/out-job
benchmarks:
  - kind: pope
    questions: q.jsonl
    images: img
EOF
if run_ok "2x1x1 job" $MPIRUN -n 2 $HL_BIN bench --job "$TMP/job.yaml" --batch-sizes 2 --workload pope \
        --stop-at-eos --text-tokens 100 --warmup 0 --repeat 3 --json "$TMP/c.json"; then
    check_report "$TMP/c.json" 2 2 3 128 100 0 pope || fail "2x1x1 job: report"
fi

# an image file instead of the synthetic one
run_ok "--image" $HL_BIN bench --model $M --image tests/fixtures/images/shapes.jpg --batch-sizes 1 \
    --workload pope --text-tokens 100 --warmup 0 --repeat 1 --json "$TMP/d.json" &&
    { grep -q '"image": "tests/fixtures/images/shapes.jpg"' "$TMP/d.json" || fail "--image not in the report"; }

# help, and the command table lists bench
$HL_BIN bench --help | grep -q '^usage: hyperllava bench' || fail "bench --help"
$HL_BIN --help | grep -q '^  bench ' || fail "bench missing from hyperllava --help"

# bad options: exit 1, one error line naming the problem, no report written
bad() { # expected text in the message, args...
    local want=$1; shift
    rm -f "$TMP/bad.json"
    $HL_BIN bench --json "$TMP/bad.json" "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ $rc -ne 1 ]; then fail "bench $*: exit $rc, want 1"; return; fi
    [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "^hyperllava: error: .*$want" "$TMP/err" ||
        fail "bench $*: message '$(cat "$TMP/err")' lacks '$want'"
    [ ! -e "$TMP/bad.json" ] || fail "bench $*: wrote a report"
}
bad "no model given"
bad "unknown option '--bogus'" --model $M --bogus
bad "--workload expects pope, decode or both" --model $M --workload prefill
bad "--batch-sizes expects positive integers" --model $M --batch-sizes 1,,2
bad "--batch-sizes expects positive integers" --model $M --batch-sizes 0
bad "--batch-sizes expects positive integers" --model $M --batch-sizes 8x
bad "--new-tokens expects an integer >= 2" --model $M --new-tokens 1
bad "--repeat expects an integer >= 1" --model $M --repeat 0
bad "--warmup expects an integer >= 0" --model $M --warmup -1
bad "--samples needs a value" --model $M --samples
bad "--layout 'x2' is not DxPxT" --model $M --layout x2
bad "give --config or --job, not both" --config configs/demo.yaml --job "$TMP/job.yaml"
bad "missing.h5" --model "$TMP/missing.h5"
bad "cannot read the --image file" --model $M --image "$TMP/none.png"
bad "exceed the model's context of 256" --model $M --text-tokens 300 --batch-sizes 1
bad "exceed the model's context of 256" --model $M --new-tokens 200 --batch-sizes 1
# a layout the world does not match: one line from rank 0 under mpirun too
$MPIRUN -n 2 $HL_BIN bench --model $M --layout 1x1x1 >"$TMP/out" 2>"$TMP/err"
[ $? -ne 0 ] && grep -q "world size" "$TMP/err" || fail "bench with a wrong world size: $(head -n 2 "$TMP/err")"
$HL_BIN bench --model $M --json "$TMP/nodir/r.json" --batch-sizes 1 >"$TMP/out" 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "cannot write the JSON report" "$TMP/err" && ! grep -q '^pope' "$TMP/out" ||
    fail "bench with an unwritable --json: $(cat "$TMP/err")"
pass_or_fail
