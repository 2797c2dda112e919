#!/usr/bin/env bash
# Layout errors are found before any weight is read: one line from rank 0
# naming the problem, exit status != 0 on every rank, all ranks gone within 30 s.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
M6=tests/fixtures/models/llava/model.h5   # 6 heads, 4 blocks
REQ=tests/fixtures/requests/layout.jsonl
expect_error() { # description, expected message regex, world, args...
    local what=$1 re=$2 n=$3; shift 3
    local t0=$(date +%s)
    timeout 30 $MPIRUN -n "$n" $HL_BIN generate --jsonl $REQ --max-new-tokens 2 "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$? dt=$(( $(date +%s) - t0 ))
    [ $rc -ne 0 ] || fail "$what: exit status 0"
    [ $rc -ne 124 ] || fail "$what: still running after 30 s (hang)"
    grep -Eq "$re" "$TMP/err" || fail "$what: message not found ($re): $(head -n 3 "$TMP/err")"
    local lines=$(grep -c "hyperllava: error" "$TMP/err")
    [ "$lines" -eq 1 ] || fail "$what: $lines error lines (want exactly 1)"
    [ -s "$TMP/out" ] && fail "$what: printed answers"
    echo "ok: $what (${dt}s): $(grep -m1 'hyperllava: error' "$TMP/err")"
}
expect_error "world size != dp*pp*tp" "world size 3.*dp\*pp\*tp = 4" 3 --model $M6 --layout 1x2x2
expect_error "heads not divisible by tp" "heads.*(divisible|tp)" 4 --model $M6 --layout 1x1x4
expect_error "more stages than blocks" "(stages|pp).*(blocks|layers)" 5 --model $M6 --layout 1x5x1
# a copy whose vocabulary (401) is the only size tp = 2 does not divide
cp $M6 "$TMP/v401.h5"
/usr/bin/python3 -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r+'); f.attrs['vocab'] = 401" "$TMP/v401.h5"
expect_error "vocab not divisible by tp" "vocab.*401.*tp = 2" 2 --model "$TMP/v401.h5" --layout 1x1x2
expect_error "missing model file" "nope.h5" 2 --model $TMP/nope.h5 --layout 1x2x1
echo garbage >"$TMP/corrupt.h5"
expect_error "corrupt model file" "corrupt.h5.*not an HDF5" 2 --model $TMP/corrupt.h5 --layout 2x1x1
printf 'model: %s\nparallel: {dp: 1, pp: 1, tp: 1}\ncolour: red\n' "$M6" >"$TMP/bad.yaml"
expect_error "unknown key in the run config" "bad.yaml:3.*colour" 2 --config "$TMP/bad.yaml"
# a rank that fails alone (a missing image on the first stage) takes the others down
printf '{"question_id": 0, "image": "%s/missing.png", "text": "hi"}\n' "$TMP" >"$TMP/req.jsonl"
t0=$(date +%s)
timeout 30 $MPIRUN -n 2 $HL_BIN generate --model $M6 --jsonl "$TMP/req.jsonl" --layout 1x2x1 >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "rank-local error: exit status $rc"
grep -q "missing.png" "$TMP/err" || fail "rank-local error: message missing: $(head -n 2 "$TMP/err")"
echo "ok: rank-local error ends every rank ($(( $(date +%s) - t0 ))s)"
pass_or_fail
