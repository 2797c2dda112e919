#!/usr/bin/env bash
# tests/run.sh: says which test is running ("running NAME..." as each test
# starts; on a terminal the line is replaced by the result), runs only the
# tests named on its command line, and refuses a name it does not know.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
mkdir -p "$TMP/tb"
printf '#!/bin/sh\nexit 0\n' >"$TMP/tb/test_fake_ok"
printf '#!/bin/sh\necho boom\nexit 1\n' >"$TMP/tb/test_fake_fail"
printf '#!/bin/sh\necho "skip: no widget"\nexit 77\n' >"$TMP/tb/test_fake_skip"
chmod +x "$TMP/tb/"*

# the seconds a test took vary: Ns
secs() { sed 's/ ([0-9]*s)$/ (Ns)/'; }
HL_TESTBIN=$TMP/tb tests/run.sh fake_ok test_fake_fail >"$TMP/o" 2>&1; rc=$?
out=$(secs <"$TMP/o")
[ $rc -eq 1 ] || fail "a failing test: exit $rc, want 1"
want="running test_fake_fail...
FAIL test_fake_fail (Ns)
     boom
running test_fake_ok...
ok   test_fake_ok (Ns)
failed: test_fake_fail
1 passed, 1 failed, 0 skipped"
[ "$out" = "$want" ] || fail "not a terminal: got
$out
want
$want"
out=$(HL_TESTBIN=$TMP/tb tests/run.sh fake_skip 2>&1) || fail "a skipped test fails the run: $out"
grep -qx "skip test_fake_skip: skip: no widget" <<<"$out" || fail "skip line: $out"
out=$(HL_TESTBIN=$TMP/tb tests/run.sh nosuch 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$out" = "tests/run.sh: error: no test named 'nosuch' (in $TMP/tb or tests/cli)" ] ||
    fail "an unknown test name: exit $rc: $out"
if command -v script >/dev/null; then
    # on a terminal: "running NAME..." then, on the same line, the result
    out=$(HL_TESTBIN=$TMP/tb script -qec "tests/run.sh fake_ok" /dev/null </dev/null | tr -d '\r' | secs)
    grep -q $'^running test_fake_ok...\033\\[Kok   test_fake_ok (Ns)$' <<<"$out" ||
        fail "on a terminal: $(cat -v <<<"$out")"
fi
pass_or_fail
