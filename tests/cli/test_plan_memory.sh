#!/usr/bin/env bash
# `plan`'s per-rank weight bytes equal what each rank holds once loaded
# (metrics.json weight_bytes), for expert variants, layouts and dtypes; and the
# fits / does not fit verdict against --node-memory (exit 1 when it does not fit).
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
REQ=tests/fixtures/requests/layout.jsonl
check() { # fixture, layout, dtype
    local fx=$1 layout=$2 dtype=$3 IFS=x
    read -r dp pp tp <<<"$layout"; unset IFS
    printf 'model: %s\nparallel: {dp: %d, pp: %d, tp: %d}\ndtype: %s\n' \
        "$(pwd)/tests/fixtures/models/$fx/model.h5" "$dp" "$pp" "$tp" "$dtype" >"$TMP/c.yaml"
    $HL_BIN plan --config "$TMP/c.yaml" >"$TMP/plan" 2>&1 || { fail "$fx $layout: plan failed: $(tail -1 "$TMP/plan")"; return; }
    $MPIRUN -n $((dp * pp * tp)) $HL_BIN generate --model tests/fixtures/models/$fx/model.h5 --jsonl $REQ \
        --max-new-tokens 1 --layout "$layout" --dtype "$dtype" --metrics "$TMP/m.json" >/dev/null 2>"$TMP/err" \
        || { fail "$fx $layout: generate: $(head -n 2 "$TMP/err")"; return; }
    /usr/bin/python3 - "$TMP/plan" "$TMP/m.json" <<'PY' || fail "$fx $layout $dtype: plan's weights differ from the measured bytes"
import json, re, sys
plan = {int(r): int(b) for r, b in re.findall(r"^  rank (\d+): weights (\d+) bytes", open(sys.argv[1]).read(), re.M)}
m = json.load(open(sys.argv[2]))
got = {rk["rank"]: rk["weight_bytes"] for rk in m["ranks"]}
if plan != got: print("plan", plan, "measured", got); sys.exit(1)
PY
    grep -q "^node: .*: fits$" "$TMP/plan" || fail "$fx $layout: no 'fits' line"
}
check all 1x2x2 f32
check lang 1x4x1 f32
check evboth 1x1x2 f32
check all-bf16 1x2x2 bf16
check all 2x1x1 f16
printf 'model: %s\nparallel: {dp: 1, pp: 2, tp: 1}\n' "$(pwd)/tests/fixtures/models/all/model.h5" >"$TMP/c.yaml"
$HL_BIN plan --config "$TMP/c.yaml" --node-memory 0.0000001 >"$TMP/plan" 2>"$TMP/err" && fail "a node too small passed"
grep -q "^node: .*does not fit$" "$TMP/plan" || fail "no 'does not fit' line"
grep -q "need more memory than it has" "$TMP/err" || fail "no one-line error: $(cat "$TMP/err")"
$HL_BIN plan --config "$TMP/c.yaml" --node-memory 64 >/dev/null 2>&1 || fail "64 GiB refused"
# backend cuda: the same per-rank bytes, held on each rank's GPU, against --gpu-memory
if $HL_BIN --version | grep -q "^backends:.*cuda"; then
    printf 'model: %s\nbackend: cuda\nparallel: {dp: 1, pp: 2, tp: 1}\n' \
        "$(pwd)/tests/fixtures/models/all/model.h5" >"$TMP/g.yaml"
    $HL_BIN plan --config "$TMP/g.yaml" >"$TMP/gplan" 2>&1 || fail "cuda plan: $(tail -n 1 "$TMP/gplan")"
    grep -q "^memory: .*in the memory of its GPU" "$TMP/gplan" || fail "cuda plan: no GPU memory line"
    [ "$(grep '^  rank' "$TMP/gplan" | sed 's/.*total //')" = "$(grep '^  rank' "$TMP/plan" | sed 's/.*total //')" ] \
        || fail "cuda plan: per-rank totals differ from the cpu plan's"
    grep -q "^gpu: .*of its GPU's 80.00 GiB (--gpu-memory): fits$" "$TMP/gplan" || fail "cuda plan: no gpu verdict"
    $HL_BIN plan --config "$TMP/g.yaml" --gpu-memory 0.0000001 >/dev/null 2>"$TMP/gerr" && fail "a GPU too small passed"
    grep -q "a rank needs more memory than its GPU has" "$TMP/gerr" || fail "cuda: $(cat "$TMP/gerr")"
fi
pass_or_fail
