#!/usr/bin/env bash
# Measures the engine on this machine against itself: for each model, one
# rank with 1 thread, one rank with 2 threads (OpenMP's default wait policy,
# then OMP_WAIT_POLICY=passive), and 2 pipeline stages (1x2x1) with 1 thread
# each, all in one go. Writes one JSON report per run and
# summary.md (bench/summarise.py) into the output folder.
#
# usage: bench/run.sh [--quick] [--out DIR] [--models LIST]
#
#   --quick        a smoke run (batch 1, few tokens, one timed run)
#   --out DIR      output folder (default out/bench)
#   --models LIST  comma-separated: demo, synthetic, hyper (default demo,synthetic)
#                  demo       weights/demo.h5, or the HyperLLaVA test fixture without it
#                  synthetic  build/bench/synthetic.h5 (bench/make_synthetic_model.py, made
#                             on demand): d=512, 8 blocks, CLIP 256 wide, 224 px / patch 14
#                  hyper      the same with HyperLLaVA's experts (build/bench/synthetic-hyper.h5)
#
# Environment: HL_BIN (default bin/hyperllava), HL_BENCH_ARGS (extra bench options),
# HL_MPIRUN (default mpirun); OMPI_MCA_* and OMP_* variables pass through to the ranks. The synthetic models use LLaMA's tokenizer when
# ../shared/tokenizers/llama/tokenizer.model exists, else the test fixture's.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BIN=${HL_BIN:-bin/hyperllava}
MPIRUN=${HL_MPIRUN:-mpirun}
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
die() { echo "bench/run.sh: error: $*" >&2; exit 1; }

quick=0 out=out/bench models=demo,synthetic
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1 ;;
        --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift ;;
        --models) [ $# -ge 2 ] || die "--models needs a value"; models=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
[ -x "$BIN" ] || die "$BIN: not found (run make)"
mkdir -p "$out"
# A copy of the binary: a rebuild during the runs must not change what is timed.
cp "$BIN" "$out/hyperllava"
BIN=$out/hyperllava

sp=()
[ -f ../shared/tokenizers/llama/tokenizer.model ] && sp=(--sp-model ../shared/tokenizers/llama/tokenizer.model)
model_file() { # name -> path (made when missing)
    case $1 in
        demo) if [ -f weights/demo.h5 ]; then echo weights/demo.h5; else echo tests/fixtures/models/all/model.h5; fi ;;
        synthetic)
            [ -f build/bench/synthetic.h5 ] || bench/make_synthetic_model.py "${sp[@]}" build/bench/synthetic.h5 >&2
            echo build/bench/synthetic.h5 ;;
        hyper)
            [ -f build/bench/synthetic-hyper.h5 ] ||
                bench/make_synthetic_model.py "${sp[@]}" --experts build/bench/synthetic-hyper.h5 >&2
            echo build/bench/synthetic-hyper.h5 ;;
        *) die "unknown model '$1' (demo, synthetic or hyper)" ;;
    esac
}
# Work per model: the tiny ones take the batch sizes and answer length of the
# GPU comparison (batch 1, 8, 32; 128 new tokens); the synthetic ones fewer
# batch sizes and tokens so a run stays within minutes on 2 cores.
bench_args() {
    if [ $quick -eq 1 ]; then echo "--batch-sizes 1 --new-tokens 8 --warmup 0 --repeat 1"
    elif [ "$1" = demo ]; then echo "--batch-sizes 1,8,32 --new-tokens 128 --warmup 1 --repeat 3"
    else echo "--batch-sizes 1,4 --new-tokens 32 --warmup 1 --repeat 3"; fi
}

env_root=()
[ "$(id -u)" -eq 0 ] && env_root=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
reports=()
IFS=, read -r -a names <<<"$models"
for name in "${names[@]}"; do
    file=$(model_file "$name")
    for run in 1x1x1:1 1x1x1:2 1x1x1:2:passive 1x2x1:1; do
        IFS=: read -r layout threads policy <<<"$run"
        IFS=x read -r dp pp tp <<<"$layout"
        world=$((dp * pp * tp))
        json="$out/$name-$layout-t$threads${policy:+-$policy}.json"
        wait_env=()
        [ -n "$policy" ] && wait_env=(OMP_WAIT_POLICY="$policy")
        echo "== $name ($file), layout $layout, $threads thread(s) per rank ${policy:+(OMP_WAIT_POLICY=$policy)}"
        # shellcheck disable=SC2046,SC2086
        env "${env_root[@]}" "${wait_env[@]}" "$MPIRUN" -n "$world" --oversubscribe --bind-to none \
            "$BIN" bench --model "$file" --layout "$layout" --threads "$threads" \
            $(bench_args "$name") ${HL_BENCH_ARGS:-} --json "$json"
        reports+=("$json")
    done
done
python3 bench/summarise.py "${reports[@]}" >"$out/summary.md"
echo "== summary ($out/summary.md)"
cat "$out/summary.md"
