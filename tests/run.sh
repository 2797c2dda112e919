#!/usr/bin/env bash
# Runs every test: the C unit test binaries, then the shell tests in
# tests/cli (each an executable script that exits non-zero on failure).
# Prints one line per test and a closing "N passed, N failed" line.
# With names (`tests/run.sh cluster slurm`), runs only those tests (the
# test_ prefix may be left out).
set -u
cd "$(dirname "$0")/.."
export HL_BIN=${HL_BIN:-bin/hyperllava}
TESTBIN=${HL_TESTBIN:-build/tests}
pass=0; fail=0; skip=0; failed=()
log=$(mktemp -d)
only=("$@")
run() { # name, command...
    local name=$1 n; shift
    if [ ${#only[@]} -gt 0 ]; then
        for n in "${only[@]}"; do [ "$name" = "$n" ] || [ "$name" = "test_$n" ] && break; n=""; done
        [ -n "$n" ] || return 0
    fi
    local t0=$(date +%s)
    "$@" >"$log/out" 2>&1
    local rc=$?
    local dt=$(( $(date +%s) - t0 ))
    if [ $rc -eq 0 ]; then pass=$((pass+1)); echo "ok   $name (${dt}s)"
    elif [ $rc -eq 77 ]; then skip=$((skip+1)); echo "skip $name: $(tail -n 1 "$log/out")"
    else fail=$((fail+1)); failed+=("$name"); echo "FAIL $name (${dt}s)"; tail -n 30 "$log/out" | sed 's/^/     /'; fi
}
for t in "$TESTBIN"/test_*; do
    [ -x "$t" ] || continue
    run "$(basename "$t")" "$t"
done
for t in tests/cli/*.sh; do
    [ -x "$t" ] || continue
    run "$(basename "$t" .sh)" "$t"
done
rm -rf "$log"
[ ${#only[@]} -gt 0 ] && [ $((pass + fail + skip)) -eq 0 ] && { echo "no test named: ${only[*]}"; exit 1; }
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
