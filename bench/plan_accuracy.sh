#!/usr/bin/env bash
# How close is `hyperllava plan`'s time estimate (docs/plan.md) to a measured
# run on this machine? Measures the node with `bench --calibrate` (one
# calibration per rank count), then for the demo model and a synthetic model
# (bench/make_synthetic_model.py), on 1x1x1 and 1x2x1, and for a
# prefill-bound (POPE-shaped) and a decode-bound workload: plan's estimate for
# the workload, `hyperllava bench` on the same shape (fixed output length, the
# median of 3 timed runs, 15 for the demo's millisecond runs), their ratio, and whether it is within +-25 %.
# Prints a table and writes it to OUT/plan_accuracy.md. Run it on a quiet
# machine: every measured second counts. Takes a few minutes on 2 cores.
#
# usage: bench/plan_accuracy.sh [--out DIR] [--models LIST] [--dry-run]
#
#   --out DIR      output folder (default out/plan-accuracy)
#   --models LIST  comma-separated: demo, synthetic (default both)
#                  demo       weights/demo.h5 (make demo), else the HyperLLaVA test fixture
#                  synthetic  build/bench/synthetic.h5, made on demand (numpy, h5py)
#   --dry-run      print the commands, run nothing
#
# Environment: HL_BIN (default bin/hyperllava), HL_MPIRUN (default mpirun),
# HL_THREADS (threads per rank, default 1).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BIN=${HL_BIN:-bin/hyperllava}
MPIRUN=${HL_MPIRUN:-mpirun}
THREADS=${HL_THREADS:-1}
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
die() { echo "bench/plan_accuracy.sh: error: $*" >&2; exit 1; }

out=out/plan-accuracy models=demo,synthetic dry=0
while [ $# -gt 0 ]; do
    case $1 in
        --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift ;;
        --models) [ $# -ge 2 ] || die "--models needs a value"; models=$2; shift ;;
        --dry-run) dry=1 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
[ -x "$BIN" ] || die "$BIN: not found (run make)"
run() { # prints the command; runs it unless --dry-run
    echo "+ $*" >&2
    [ $dry -eq 1 ] || "$@"
}
mkdir -p "$out"
if [ $dry -eq 0 ]; then
    # a copy of the binary: a rebuild during the runs must not change what is timed
    cp "$BIN" "$out/hyperllava"
    BIN=$out/hyperllava
fi
env_root=()
[ "$(id -u)" -eq 0 ] && env_root=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
mpi() { # ranks, command...
    local n=$1; shift
    run env "${env_root[@]}" "$MPIRUN" -n "$n" --oversubscribe --bind-to none "$@"
}

model_file() { # name -> path (made when missing)
    case $1 in
        demo) if [ -f weights/demo.h5 ]; then echo weights/demo.h5; else echo tests/fixtures/models/all/model.h5; fi ;;
        synthetic)
            if [ ! -f build/bench/synthetic.h5 ]; then
                run bench/make_synthetic_model.py build/bench/synthetic.h5 >&2
            fi
            echo build/bench/synthetic.h5 ;;
        *) die "unknown model '$1' (demo or synthetic)" ;;
    esac
}

# 1. The node's rates, for 1 and 2 ranks (each rank count as the runs use it).
for n in 1 2; do
    mpi "$n" "$BIN" bench --calibrate --threads "$THREADS" --json "$out/calibration-$n.json" >&2
done

# 2. Estimate and measure. Workloads: name, batch size, samples, new tokens.
workloads=("pope 8 16 2" "decode 1 2 64" "decode-b8 8 8 32")
rows=()
IFS=, read -r -a names <<<"$models"
for name in "${names[@]}"; do
    file=$(model_file "$name")
    for layout in 1x1x1 1x2x1; do
        IFS=x read -r dp pp tp <<<"$layout"
        world=$((dp * pp * tp))
        for w in "${workloads[@]}"; do
            read -r wname batch samples newt <<<"$w"
            micro=$((pp > 1 && batch > 1 ? 2 : 1))
            tag=$name-$layout-$wname
            cfg=$out/$tag.yaml
            printf 'model: %s\nparallel: {dp: %d, pp: %d, tp: %d}\nthreads: %d\nbatch_size: %d\nmicro_batches: %d\n' \
                "$REPO/$file" "$dp" "$pp" "$tp" "$THREADS" "$batch" "$micro" >"$cfg"
            # measured: bench on this shape, the prompt's actual text tokens from its report
            # the demo's runs take milliseconds: more of them steady the median
            repeat=3
            [ "$name" = demo ] && repeat=15
            mpi "$world" "$BIN" bench --config "$cfg" --workload decode --batch-sizes "$batch" \
                --samples "$samples" --text-tokens 64 --new-tokens "$newt" --warmup 1 --repeat $repeat \
                --json "$out/$tag.json" >"$out/$tag.bench.txt"
            [ $dry -eq 1 ] && continue
            read -r text measured < <(python3 - "$out/$tag.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["settings"]["text_tokens"], r["results"]["decode"][0]["wall_s"]["median"])
PY
)
            # estimated: plan for the same samples, text tokens and answer length
            "$BIN" plan --config "$cfg" --questions "$samples" --text-tokens "$text" \
                --answer-tokens "$newt" --calibration "$out/calibration-$world.json" >"$out/$tag.plan.txt"
            est=$(sed -n 's/^ *\([0-9.]*\) s estimated:.*/\1/p' "$out/$tag.plan.txt")
            [ -n "$est" ] || die "no estimate in $out/$tag.plan.txt"
            rows+=("$(python3 -c "
e, m = $est, $measured
r = e / m if m > 0 else float('inf')
print('| $name | $layout | $wname (batch $batch, $samples samples, $newt tokens) | %.3f | %.3f | %.2f | %s |'
      % (e, m, r, 'yes' if 0.75 <= r <= 1.25 else 'no'))")")
        done
    done
done
[ $dry -eq 1 ] && exit 0

{
    echo "plan's time estimate against measured runs: $(date -u +%Y-%m-%dT%H:%MZ), $(hostname),"
    echo "$(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $THREADS thread(s) per rank"
    echo
    echo "| model | layout | workload | estimate s | measured s | estimate / measured | within ±25 % |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} | tee "$out/plan_accuracy.md"
inside=$(printf '%s\n' "${rows[@]}" | grep -c '| yes |' || true)
echo
echo "$inside of ${#rows[@]} estimates within ±25 % (table in $out/plan_accuracy.md)"
