#!/usr/bin/env bash
# The progress watchdog: a frozen rank (SIGSTOP, not dead) ends the job.
#  - a rank stopped mid-run (HL_TEST_STOP_AT) on 1x2x1, 1x1x2 and 2x1x1, or
#    while it loads the weights: every process is gone within a bound, mpirun
#    exits 1, and one line names the stopped rank;
#  - watchdog_s in the run config and --watchdog set the limit; 0 turns it off
#    (the job then hangs, as before);
#  - a slow stage (HL_TEST_SLEEP_AT) whose every step is shorter than the
#    limit runs to the same answer, however long the whole run takes, and a
#    long step does not trip the default limit; so does a rank that reads its
#    weights slowly;
#  - bad values are one line.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
export OMPI_MCA_orte_execute_quiet=1
cp tests/fixtures/models/all/model.h5 "$TMP/model.h5" # a path that marks this test's processes
M=$TMP/model.h5
IMG=tests/fixtures/images/shapes.jpg
gen() { # layout, extra options... : the generate arguments
    local l=$1; shift
    echo "generate --model $M --image $IMG --prompt What? --prompt Why? --batch-size 1 --max-new-tokens 8 --layout $l $*"
}
launch() { # limit_s, layout, world, rank, env for that rank, extra options... -> rc; out, err, secs
    local limit=$1 l=$2 n=$3 who=$4 env=$5; shift 5
    local a cmd="timeout $limit $MPIRUN"
    a=$(gen "$l" "$@")
    for r in $(seq 0 $((n - 1))); do
        [ "$r" -gt 0 ] && cmd="$cmd :"
        if [ "$r" -eq "$who" ]; then cmd="$cmd -n 1 env $env $HL_BIN $a"; else cmd="$cmd -n 1 $HL_BIN $a"; fi
    done
    local t0=$(date +%s)
    $cmd >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    secs=$(($(date +%s) - t0))
    sleep 1
    if pgrep -f "$M" >/dev/null; then
        fail "processes left after the job ended: $(pgrep -af "$M" | head -n 3)"
        pgrep -f "$M" | xargs -r kill -KILL # only this test's processes: their command line holds $TMP
    fi
    return $rc
}
frozen() { # layout, world, rank to stop, expected place, extra options... (POINT: where it stops)
    local l=$1 n=$2 who=$3 place=$4; shift 4
    launch 60 "$l" "$n" "$who" HL_TEST_STOP_AT=${POINT:-engine.stage:3} "$@"
    local rc=$?
    [ $rc -eq 1 ] || fail "$l, rank $who stopped: exit status $rc (want 1): $(head -n 3 "$TMP/err")"
    [ "$secs" -le 40 ] || fail "$l, rank $who stopped: the job took ${secs}s to end"
    local want="^hyperllava: error: rank $who \\($place\\) sent nothing for 3 s .*; ending the job$"
    grep -Eq "$want" "$TMP/err" || fail "$l, rank $who stopped: '$(cat "$TMP/err")' does not match '$want'"
    local lines=$(grep -c . "$TMP/err")
    [ "$lines" -eq 1 ] || fail "$l, rank $who stopped: $lines lines on stderr: $(head -n 4 "$TMP/err")"
    echo "ok: $l, rank $who stopped: ended in ${secs}s: $(head -n 1 "$TMP/err")"
}

# --- a frozen rank ends the job with one line naming it
frozen 1x2x1 2 1 "stage 1" --watchdog 3 # the first stage waits for tokens
frozen 1x2x1 2 0 "stage 0" --watchdog 3 # the last stage waits for activations
frozen 1x1x2 2 1 "stage 0, tp rank 1" --watchdog 3 # a tensor-parallel collective
frozen 2x1x1 2 0 "replica 0, stage 0" --watchdog 3 # the world gathers the results
printf 'model: %s\nwatchdog_s: 3\n' "$M" >"$TMP/run.yaml"
frozen 1x2x1 2 1 "stage 1" --config "$TMP/run.yaml" # the limit from the run config
# while loading the weights (the second tensor it reads): the others wait for it to join
POINT=weights.read:2 frozen 1x2x1 2 1 "stage 1" --watchdog 3
POINT=weights.read:2 frozen 1x1x2 2 0 "stage 0, tp rank 0" --watchdog 3

# --- 0 turns it off: the job waits for the stopped rank until killed
launch 10 1x2x1 2 1 HL_TEST_STOP_AT=engine.stage:3 --watchdog 0
rc=$?
[ $rc -eq 124 ] || fail "--watchdog 0: exit status $rc (want 124: still waiting when timeout killed it)"
[ -s "$TMP/err" ] && fail "--watchdog 0: printed '$(head -n 2 "$TMP/err")'"
echo "ok: --watchdog 0: still waiting after 10s"

# --- slow but alive: every step (0.8 s) shorter than the limit, the run longer
launch 120 1x1x1 1 9 "" --max-new-tokens 4
cp "$TMP/out" "$TMP/ref.out"
[ -s "$TMP/ref.out" ] || fail "reference run: no answer: $(head -n 3 "$TMP/err")"
slow() { # what, rank 1's sleep point -> a 1x2x1 run, limit 3 s, that must end as the reference
    local what=$1 point=$2
    launch 120 1x2x1 2 1 "HL_TEST_SLEEP_AT=$point" --watchdog 3 --max-new-tokens 4
    local rc=$?
    [ $rc -eq 0 ] || fail "$what, limit 3 s: exit status $rc: $(head -n 3 "$TMP/err")"
    [ "$secs" -ge 4 ] || fail "$what: the run took ${secs}s (want longer than the limit)"
    cmp -s "$TMP/ref.out" "$TMP/out" || fail "$what: the answers changed"
    echo "ok: $what, limit 3 s: a ${secs}s run, the same answers"
}
slow "a stage taking 0.8 s a step" engine.stage:800
# a rank reading its weights slowly (every tensor shorter than the limit, the
# whole load longer) is busy, not silent: the others wait for it
slow "a slow load (0.4 s a tensor)" weights.read:400
launch 120 1x2x1 2 0 HL_TEST_SLEEP_AT=engine.stage:5000 --max-new-tokens 1
rc=$?
[ $rc -eq 0 ] || fail "a stage taking 5 s a step, default limit: exit status $rc: $(head -n 3 "$TMP/err")"
echo "ok: a stage taking 5 s a step under the default limit: done in ${secs}s"

# --- bad values
printf 'model: %s\nwatchdog_s: -1\n' "$M" >"$TMP/bad.yaml"
$HL_BIN generate --config "$TMP/bad.yaml" --prompt hi 2>"$TMP/err" >/dev/null
[ $? -eq 1 ] && grep -q "bad.yaml:2: watchdog_s: " "$TMP/err" || fail "watchdog_s: -1: '$(cat "$TMP/err")'"
$HL_BIN generate --model "$M" --prompt hi --watchdog soon 2>"$TMP/err" >/dev/null
[ $? -eq 1 ] && grep -q "generate: --watchdog expects an integer >= 0, got 'soon'" "$TMP/err" ||
    fail "--watchdog soon: '$(cat "$TMP/err")'"
pass_or_fail
