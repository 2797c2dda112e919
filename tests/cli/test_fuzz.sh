#!/usr/bin/env bash
# The fuzz targets (tests/fuzz: YAML run config and job, question readers,
# image decoders, tokenizer loader, weight-file attribute checks): every
# committed corpus input runs through each target built with ASan + UBSan
# without a crash or an internal error (the replay), then, where clang has
# libFuzzer, FUZZ_SHORT_S seconds (default 10) of fuzzing per target.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
make --no-print-directory -s fuzz-replay >"$TMP/replay" 2>&1 || { tail -n 40 "$TMP/replay"; fail "replay"; pass_or_fail; }
cat "$TMP/replay"
for t in yaml questions image tokenizer weights; do
    want=$(ls tests/fuzz/corpus/$t | wc -l)
    [ "$want" -ge 5 ] || fail "$t: only $want seed inputs"
    grep -q "^fuzz-replay: $t: $want inputs ran$" "$TMP/replay" || fail "$t: not every input of the corpus ran"
done
make --no-print-directory -s fuzz-short FUZZ_SHORT_S=${FUZZ_SHORT_S:-10} || fail "fuzzing found a crash (build/fuzz/crash-*)"
pass_or_fail
