#!/usr/bin/env bash
# Backends: --version names the backends built (cuda exactly when nvcc built
# the CUDA objects); a bad --backend is one line; backend cuda on a node
# without a usable GPU (or in a CPU-only binary) ends every rank with one
# line naming the reason, from the command line and from a run config.
# Where nvcc is present, the sources also build without it (NVCC=, as on a
# machine without the CUDA toolkit), warnings as errors, and that binary
# names only cpu. On a machine where the CUDA backend runs, tests/gpu/run.sh
# tests it.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
M=tests/fixtures/models/llava/model.h5
REQ=tests/fixtures/requests/layout.jsonl

v=$($HL_BIN --version) || fail "--version exits non-zero"
want="backends: cpu"
command -v nvcc >/dev/null && want="backends: cpu cuda" # the Makefile's rule
printf '%s\n' "$v" | grep -qx "$want" || fail "--version: expected '$want', got: $v"
$HL_BIN inspect $M | grep -q "^backends built: ${want#backends: } (" || fail "inspect does not name the backends built"

$HL_BIN generate --model $M --jsonl $REQ --ids --backend tpu >/dev/null 2>"$TMP/e" && fail "--backend tpu accepted"
grep -qx "hyperllava: error: generate: --backend expects cpu or cuda, got 'tpu'" "$TMP/e" \
    || fail "--backend tpu: $(cat "$TMP/e")"

if $HL_BIN generate --model $M --jsonl $REQ --ids --max-new-tokens 1 --backend cuda >/dev/null 2>"$TMP/e"; then
    echo "a usable GPU is here: the no-GPU checks are skipped (tests/gpu/run.sh covers the backend)"
else
    # one rank, then two ranks: one line each time, naming the reason
    [ "$(grep -c 'hyperllava: error' "$TMP/e")" = 1 ] || fail "one rank: $(cat "$TMP/e")"
    grep -Eq "^hyperllava: error: backend cuda: (no usable GPU \(.+\)|this binary was built without CUDA.*)$" "$TMP/e" \
        || fail "one rank, message: $(cat "$TMP/e")"
    for layout in 1x2x1 1x1x2; do
        $MPIRUN -n 2 $HL_BIN generate --model $M --jsonl $REQ --ids --backend cuda --layout $layout \
            >/dev/null 2>"$TMP/e2"
        rc=$?
        [ $rc -ne 0 ] || fail "$layout: exit 0 without a GPU"
        [ "$(grep -c 'hyperllava: error' "$TMP/e2")" = 1 ] || fail "$layout: not one error line: $(cat "$TMP/e2")"
        grep -q "backend cuda: " "$TMP/e2" || fail "$layout: the reason is missing: $(cat "$TMP/e2")"
    done
    # from a run config: the line names the file
    printf 'model: %s\nbackend: cuda\n' "$PWD/$M" >"$TMP/run.yaml"
    $HL_BIN generate --config "$TMP/run.yaml" --jsonl $REQ --ids >/dev/null 2>"$TMP/e3" && fail "config: exit 0"
    grep -q "^hyperllava: error: $TMP/run.yaml: backend cuda: " "$TMP/e3" || fail "config: $(cat "$TMP/e3")"
    # the CPU answer is unchanged by asking for cpu explicitly
    $HL_BIN generate --model $M --jsonl $REQ --ids --max-new-tokens 3 >"$TMP/a" || fail "cpu run"
    $HL_BIN generate --model $M --jsonl $REQ --ids --max-new-tokens 3 --backend cpu >"$TMP/b" || fail "--backend cpu run"
    cmp -s "$TMP/a" "$TMP/b" || fail "--backend cpu changes the answers"
fi

if command -v nvcc >/dev/null; then
    # a CPU-only build in its own folder (objects kept between runs)
    B=build/cpu-only
    make -s NVCC= BUILD=$B "$B/libhyperllava.a" "$B/src/cli/main.o" >"$TMP/build" 2>&1 ||
        fail "CPU-only build (NVCC=): $(grep -m 3 -E 'error|warning' "$TMP/build")"
    if [ -f "$B/libhyperllava.a" ]; then
        # the Makefile's link line without the CUDA libraries
        $(make -s --no-print-directory print-CC) -o "$TMP/hl-cpu" "$B/src/cli/main.o" "$B/libhyperllava.a" \
            $(make -s --no-print-directory NVCC= print-LDLIBS) 2>"$TMP/link" ||
            fail "CPU-only link: $(head -n 3 "$TMP/link")"
        [ -x "$TMP/hl-cpu" ] && { "$TMP/hl-cpu" --version | grep -qx "backends: cpu" ||
            fail "CPU-only binary: $("$TMP/hl-cpu" --version)"; }
    fi
fi
pass_or_fail
