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
pass_or_fail
