#!/usr/bin/env bash
# `stages: balanced`: the pipeline split that evens the stages' prefill cost
# with the vision tower counted on stage 0. plan prints the split computed
# here independently from the model's attributes; the engine runs it and
# gives the same tokens and top-k logits as one rank; a bad value is one line.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
REQ=tests/fixtures/requests/layout.jsonl
MODEL=$PWD/tests/fixtures/models/all/model.h5
expect() { # model pp -> the balanced split as "a,b,..."
    /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, h5py
a = h5py.File(sys.argv[1], "r").attrs; pp = int(sys.argv[2])
C, Iv, P, S = (int(a[k]) for k in ("vision_hidden", "vision_intermediate", "vision_patch_size", "vision_image_size"))
nv, sel = int(a["vision_layers"]), int(a["vision_select_layer"]); Lv = nv + 1 + sel if sel < 0 else sel
d, I, L = int(a["hidden"]), int(a["intermediate"]), int(a["layers"])
np_ = (S // P) ** 2; T = np_ + 1
vis = 2*T*Lv*(4*C*C + 2*C*Iv) + 4*T*T*C*Lv + 2*np_*3*P*P*C + 2*np_*(C*d + d*d)
n = np_ + 64; block = 2*n*(4*d*d + 3*d*I) + 2*n*n*d
e = vis / block
best = None
for c0 in range(1, L - (pp - 1) + 1):
    rest = L - c0
    if pp == 1 and rest: continue
    mx = max(c0 + e, -(-rest // (pp - 1)) if pp > 1 else 0)
    if best is None or mx < best[1] - 1e-9: best = (c0, mx)
    elif mx <= best[1] + 1e-9: best = (c0, best[1])
c0 = best[0]; rest = L - c0
counts = [c0] + [rest // (pp - 1) + (s < rest % (pp - 1)) for s in range(pp - 1)]
print(",".join(map(str, counts)))
PY
}
printed() { # config -> the split plan prints, as "a,b,..."
    $HL_BIN plan --config "$1" | sed -n 's/^  stage [0-9]*: blocks\{0,1\} [0-9-]* (\([0-9]*\)).*/\1/p' | paste -sd, -
}
for pp in 2 3; do
    printf 'model: %s\nparallel: {pp: %d}\nstages: balanced\n' "$MODEL" $pp >"$TMP/b$pp.yaml"
    want=$(expect "$MODEL" $pp) got=$(printed "$TMP/b$pp.yaml")
    [ -n "$want" ] && [ "$want" = "$got" ] || fail "pp $pp: plan prints '$got', expected '$want'"
done
$HL_BIN generate --model "$MODEL" --jsonl $REQ --max-new-tokens 5 --trace "$TMP/one.trace" --ids >"$TMP/one.out" 2>"$TMP/err" \
    || fail "1 rank: $(head -n 2 "$TMP/err")"
for pp in 2 3; do
    $MPIRUN -n $pp $HL_BIN generate --config "$TMP/b$pp.yaml" --jsonl $REQ --max-new-tokens 5 --batch-size 3 \
        --micro-batches 2 --trace "$TMP/b$pp.trace" --ids >"$TMP/b$pp.out" 2>"$TMP/err" || fail "pp $pp: $(head -n 2 "$TMP/err")"
    cmp -s "$TMP/one.out" "$TMP/b$pp.out" || fail "pp $pp balanced: answers differ from one rank"
    cmp -s "$TMP/one.trace" "$TMP/b$pp.trace" || fail "pp $pp balanced: top-k logits differ from one rank"
done
printf 'model: %s\nparallel: {pp: 2}\nstages: fast\n' "$MODEL" >"$TMP/bad.yaml"
$HL_BIN plan --config "$TMP/bad.yaml" >/dev/null 2>"$TMP/err" && fail "stages: fast accepted"
grep -qx "hyperllava: error: $TMP/bad.yaml:3: stages: expected a list of blocks per stage or balanced, got \"fast\"" "$TMP/err" \
    || fail "stages: fast: $(cat "$TMP/err")"
pass_or_fail
