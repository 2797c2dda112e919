#!/usr/bin/env bash
# Runs every test: the C unit test binaries, then the shell tests in
# tests/cli (each an executable script that exits non-zero on failure).
#
# usage: tests/run.sh [NAME...]   only the tests named (test_plan or plan)
#
# Says which test is running: on a terminal "running NAME..." until the
# test ends, otherwise a "running NAME..." line as each test starts. Then one
# line per test (ok, skip with the reason, or FAIL with the end of its
# output) and a closing "N passed, N failed, N skipped" line.
set -u
cd "$(dirname "$0")/.."
export HL_BIN=${HL_BIN:-bin/hyperllava}
TESTBIN=${HL_TESTBIN:-build/tests}
pass=0; fail=0; skip=0; failed=()
tty=0; [ -t 1 ] && tty=1
want=()
for a in "$@"; do want+=("${a#test_}"); done
chosen() { # name: selected by the arguments (all when none)
    [ ${#want[@]} -eq 0 ] && return 0
    local w
    for w in "${want[@]}"; do [ "${1#test_}" = "$w" ] && return 0; done
    return 1
}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
run() { # name, command...
    local name=$1; shift
    if [ $tty -eq 1 ]; then printf 'running %s...' "$name"; else echo "running $name..."; fi
    local t0=$(date +%s)
    "$@" >"$log/out" 2>&1
    local rc=$?
    local dt=$(( $(date +%s) - t0 ))
    [ $tty -eq 0 ] || printf '\r\033[K'
    if [ $rc -eq 0 ]; then pass=$((pass+1)); echo "ok   $name (${dt}s)"
    elif [ $rc -eq 77 ]; then skip=$((skip+1)); echo "skip $name: $(tail -n 1 "$log/out")"
    else fail=$((fail+1)); failed+=("$name"); echo "FAIL $name (${dt}s)"; tail -n 30 "$log/out" | sed 's/^/     /'; fi
}
tests=() # "name path"
for t in "$TESTBIN"/test_*; do
    [ -x "$t" ] && chosen "$(basename "$t")" && tests+=("$(basename "$t") $t")
done
for t in tests/cli/*.sh; do
    [ -x "$t" ] && chosen "$(basename "$t" .sh)" && tests+=("$(basename "$t" .sh) $t")
done
for w in "${want[@]}"; do
    found=0
    for e in "${tests[@]}"; do n=${e%% *}; [ "${n#test_}" = "$w" ] && found=1; done
    [ $found -eq 1 ] || { echo "tests/run.sh: error: no test named '$w' (in $TESTBIN or tests/cli)" >&2; exit 2; }
done
for e in "${tests[@]}"; do run "${e%% *}" "${e#* }"; done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
