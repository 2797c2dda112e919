#!/usr/bin/env bash
# The CPU kernel variants and held precisions change speed only, never a bit:
# generate's answers and top-k logits (--trace) are byte-identical for every
# kernel variant this CPU runs (HL_KERNEL), 1 or 2 threads, batch 1 or 3, and
# for weights held at the file's own half precision versus widened to f32.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
REQ=tests/fixtures/requests/layout.jsonl
run() { # name, model, extra args... -> $TMP/name.{out,trace}
    local name=$1 model=$2; shift 2
    $HL_BIN generate --model "$model" --jsonl $REQ --max-new-tokens 6 --trace "$TMP/$name.trace" \
        --ids "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || fail "$name: $(head -n 2 "$TMP/$name.err")"
}
same() { # a, b
    cmp -s "$TMP/$1.out" "$TMP/$2.out" || fail "$1 vs $2: answers differ"
    cmp -s "$TMP/$1.trace" "$TMP/$2.trace" || fail "$1 vs $2: traces differ"
}
kernels=(generic)
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && kernels+=(avx2)
grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo && kernels+=(avx512)
for fx in all all-bf16 llava-f16; do
    model=tests/fixtures/models/$fx/model.h5
    HL_KERNEL=${kernels[-1]} run "$fx.base" "$model"
    [ -s "$TMP/$fx.base.trace" ] || fail "$fx: empty trace"
    for k in "${kernels[@]}"; do
        for t in 1 2; do
            HL_KERNEL=$k run "$fx.$k.$t" "$model" --threads $t --batch-size 3
            same "$fx.base" "$fx.$k.$t"
        done
    done
done
# half-precision files held as stored: the same bits as widened at load
HL_KERNEL=${kernels[-1]} run bf16held tests/fixtures/models/all-bf16/model.h5 --dtype bf16
same all-bf16.base bf16held
HL_KERNEL=generic run bf16held.g tests/fixtures/models/all-bf16/model.h5 --dtype bf16
same all-bf16.base bf16held.g
HL_KERNEL=${kernels[-1]} run f16held tests/fixtures/models/llava-f16/model.h5 --dtype f16
same llava-f16.base f16held
# an f32 file held in bf16 runs and gives different (rounded-weight) logits
run f32asbf16 tests/fixtures/models/all/model.h5 --dtype bf16
cmp -s "$TMP/all.base.trace" "$TMP/f32asbf16.trace" && fail "f32 file held as bf16 gave the f32 logits"
$HL_BIN generate --model tests/fixtures/models/all/model.h5 --jsonl $REQ --dtype f8 >/dev/null 2>"$TMP/e" && fail "--dtype f8 accepted"
grep -q "dtype expects f32, bf16 or f16, got 'f8'" "$TMP/e" || fail "--dtype f8: $(cat "$TMP/e")"
HL_KERNEL=sse9 $HL_BIN generate --model tests/fixtures/models/all/model.h5 --jsonl $REQ >/dev/null 2>"$TMP/e" && fail "HL_KERNEL=sse9 accepted"
grep -q "HL_KERNEL=sse9: unknown kernel" "$TMP/e" || fail "HL_KERNEL=sse9: $(cat "$TMP/e")"
pass_or_fail
