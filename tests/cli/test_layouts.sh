#!/usr/bin/env bash
# Distributed execution: every fixture model on every layout that divides
# (dp x pp x tp) and batch sizes 1, 3 and 8 gives the single-rank greedy
# tokens, and its top-5 logits stay within the stated tolerance of the
# single-rank run (bit-identical where tp matches).
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
ROOT=$(pwd)
REQ=tests/fixtures/requests/layout.jsonl
MAXNEW=6
compare() { # base trace, other trace, exact(0/1) -> prints a problem or nothing
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
exact = sys.argv[3] == "1"
if len(a) != len(b):
    print("trace lengths differ: %d vs %d" % (len(a), len(b))); sys.exit()
for x, y in zip(a, b):
    if "step" not in x:
        if x.get("prompt_ids") != y.get("prompt_ids"): print("prompt ids differ"); sys.exit()
        continue
    if x["id"] != y["id"] or x["top_ids"] != y["top_ids"]:
        print("request %d step %d: token %d vs %d" % (x["request"], x["step"], x["id"], y["id"])); sys.exit()
    m = max(abs(v) for v in x["top_logits"]) or 1.0
    for u, v in zip(x["top_logits"], y["top_logits"]):
        if exact and u != v:
            print("request %d step %d: logits not bit-identical (%r vs %r)" % (x["request"], x["step"], u, v)); sys.exit()
        if abs(u - v) > 1e-4 * m:
            print("request %d step %d: logit %r vs %r" % (x["request"], x["step"], u, v)); sys.exit()
PY
}
attr() { h5dump -a "/$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | head -n 1; }
runs=0
for dir in tests/fixtures/models/*/; do
    name=$(basename "$dir"); model=$dir/model.h5
    heads=$(attr "$model" heads); vheads=$(attr "$model" vision_heads); layers=$(attr "$model" layers)
    inter=$(attr "$model" intermediate); vinter=$(attr "$model" vision_intermediate); vocab=$(attr "$model" vocab)
    base=$TMP/$name.base
    $HL_BIN generate --model "$model" --jsonl $REQ --max-new-tokens $MAXNEW --trace "$base.trace" --ids >"$base.out" 2>"$base.err" \
        || { fail "$name: single-rank run failed: $(tail -n 2 "$base.err")"; continue; }
    declare -A tp_trace=()
    for layout in 1x1x1 1x1x2 1x2x1 1x2x2 2x1x1 2x2x1 1x4x1 1x1x4; do
        IFS=x read -r dp pp tp <<<"$layout"
        ok=1
        for n in $heads $vheads $inter $vinter $vocab; do [ $((n % tp)) -eq 0 ] || ok=0; done
        [ "$pp" -le "$layers" ] || ok=0
        [ $ok -eq 1 ] || continue
        for bs in 1 3 8; do
            out=$TMP/$name.$layout.$bs
            micro=$(( bs < pp ? bs : pp ))
            timeout 120 $MPIRUN -n $((dp * pp * tp)) $HL_BIN generate --model "$model" --jsonl $REQ \
                --max-new-tokens $MAXNEW --layout "$layout" --batch-size $bs --micro-batches $micro \
                --trace "$out.trace" --ids >"$out.out" 2>"$out.err" \
                || { fail "$name $layout bs=$bs: run failed: $(grep -m1 error "$out.err")"; continue; }
            runs=$((runs + 1))
            cmp -s "$base.out" "$out.out" || fail "$name $layout bs=$bs: tokens differ from single rank"
            # same tp: bit-identical logits; other tp: within tolerance
            if [ -z "${tp_trace[$tp]:-}" ]; then tp_trace[$tp]=$out.trace; fi
            p=$(compare "${tp_trace[$tp]}" "$out.trace" 1); [ -z "$p" ] || fail "$name $layout bs=$bs: $p"
            p=$(compare "$base.trace" "$out.trace" 0); [ -z "$p" ] || fail "$name $layout bs=$bs: $p"
        done
    done
    unset tp_trace
done
# uneven stage splits move the guidance rank: guide layer inside stage 0, or
# alone on stage 0 with every posterior block on stage 1, or guide stage last
for name in all lang; do
    model=tests/fixtures/models/$name/model.h5; base=$TMP/$name.base
    for split in "1, 3" "3, 1" "2, 1, 1" "1, 1, 2"; do
        pp=$(echo "$split" | tr ',' '\n' | wc -l)
        printf 'model: %s\nparallel: {dp: 1, pp: %d, tp: 1}\nstages: [%s]\nbatch_size: 3\nmicro_batches: 2\n' \
            "$ROOT/$model" "$pp" "$split" >"$TMP/stages.yaml"
        $MPIRUN -n "$pp" $HL_BIN generate --config "$TMP/stages.yaml" --jsonl $REQ --max-new-tokens $MAXNEW \
            --trace "$TMP/st.trace" --ids >"$TMP/st.out" 2>"$TMP/st.err" || { fail "$name stages [$split]: $(grep -m1 error "$TMP/st.err")"; continue; }
        runs=$((runs + 1))
        cmp -s "$base.out" "$TMP/st.out" || fail "$name stages [$split]: tokens differ"
        p=$(compare "$base.trace" "$TMP/st.trace" 1); [ -z "$p" ] || fail "$name stages [$split]: $p"
    done
done
echo "$runs distributed runs compared"
[ $runs -gt 50 ] || fail "only $runs runs"
pass_or_fail
