#!/usr/bin/env bash
# Times the engine beside transformers and llama.cpp on this machine, in one
# run, on the same LLaVA-1.5-shaped model with the same random weights, and
# measures the machine's own limits (fp32 FMA GFLOP/s, memory bandwidth) in
# the same run. Writes results.json and results.md into the output folder.
#
# usage: bench/peers/run.sh [--quick] [--rounds N] [--out DIR] [--load-max X]
#                           [--load-timeout S] [--no-wait] [--setup-only]
#
#   --quick           a smoke test: a small model, 1 round, no warm-up, 8 new
#                     tokens, a load wait of at most 10 s
#   --rounds N        rounds of (limits, engine, transformers, llama.cpp f32,
#                     llama.cpp f16); medians over the rounds (default 3)
#   --out DIR         output folder (default out/peers, or out/peers-quick)
#   --load-max X      before each program, wait until the 1-minute load
#                     average is below X (default 0.3)
#   --load-timeout S  give up waiting after S seconds and run anyway; the load
#                     is recorded either way (default 900)
#   --no-wait         do not wait for the load
#   --setup-only      build the cache (venv, llama.cpp, models) and stop
#
# Model (default): CLIP ViT 768 wide, 12 layers (11 run: LLaVA's hidden state
# -2), 12 heads, MLP 3072, 336 px / patch 14 (576 image tokens); LLaMA 1024
# wide, 16 layers, 16 heads, MLP 2816, vocabulary 32064; fp32. --quick: CLIP
# 192 wide, 4 layers, 3 heads, MLP 768; LLaMA 256 wide, 4 layers, 4 heads,
# MLP 704; same image and vocabulary.
#
# Environment:
#   HL_BIN              the engine binary to time (default bin/hyperllava); copied
#                       into the output folder first
#   HL_PEERS_CACHE      the cache of heavy parts (default ~/.cache/hyperllava-peers):
#                       venv/, src/ (llama-cpp-python sdist), llama-build/,
#                       models-full/ and models-quick/, bin/limits
#   HL_PEERS_PYTHON     the python that makes the venv (default python3)
#   HL_PEERS_TORCH_INDEX  pip index tried first for torch (default PyTorch's CPU
#                       wheels); PyPI's torch when it cannot be reached
#   HL_PEERS_LLAMA_CPP_PYTHON  llama-cpp-python version of the sdist (default: newest)
#   HL_PEERS_THREADS    threads of every program (default 2)
#   HL_PEERS_LLAMA_ARGS extra arguments of llama-bench and llama-batched-bench
#   OMP_* pass through to the engine and are recorded in its reports.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
die() { echo "bench/peers/run.sh: error: $*" >&2; exit 1; }
say() { echo "[peers $(date -u +%H:%M:%S)] $*" >&2; }

quick=0 rounds='' out='' load_max=0.3 load_timeout='' wait=1 setup_only=0
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1 ;;
        --rounds) [ $# -ge 2 ] || die "--rounds needs a value"; rounds=$2; shift ;;
        --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift ;;
        --load-max) [ $# -ge 2 ] || die "--load-max needs a value"; load_max=$2; shift ;;
        --load-timeout) [ $# -ge 2 ] || die "--load-timeout needs a value"; load_timeout=$2; shift ;;
        --no-wait) wait=0 ;;
        --setup-only) setup_only=1 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done

BIN=${HL_BIN:-bin/hyperllava}
CACHE=${HL_PEERS_CACHE:-$HOME/.cache/hyperllava-peers}
PY=${HL_PEERS_PYTHON:-python3}
TORCH_INDEX=${HL_PEERS_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
THREADS=${HL_PEERS_THREADS:-2}
read -r -a LLAMA_ARGS <<<"${HL_PEERS_LLAMA_ARGS:-}"
TEXT_TOKENS=60
if [ $quick -eq 1 ]; then
    rounds=${rounds:-1} out=${out:-out/peers-quick} load_timeout=${load_timeout:-10}
    warmup=0 repeat=1 llama_reps=3 new_tokens=8 models=$CACHE/models-quick
    dims=(--hidden 256 --heads 4 --intermediate 704 --layers 4 --vocab 32064
          --vision-hidden 192 --vision-heads 3 --vision-intermediate 768 --vision-layers 4
          --image-size 336 --patch-size 14)
else
    rounds=${rounds:-3} out=${out:-out/peers} load_timeout=${load_timeout:-900}
    warmup=1 repeat=1 llama_reps=3 new_tokens=32 models=$CACHE/models-full
    dims=(--hidden 1024 --heads 16 --intermediate 2816 --layers 16 --vocab 32064
          --vision-hidden 768 --vision-heads 12 --vision-intermediate 3072 --vision-layers 12
          --image-size 336 --patch-size 14)
fi
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
VPY=$CACHE/venv/bin/python

# ------------------------------------------------------------------- setup
setup_venv() {
    [ -f "$CACHE/venv/.complete" ] && return
    say "venv: $CACHE/venv (torch, transformers, sentencepiece, ...)"
    rm -rf "$CACHE/venv"
    "$PY" -m venv "$CACHE/venv"
    "$VPY" -m pip install -q --upgrade pip
    if ! "$VPY" -m pip install -q --timeout 30 --retries 1 --index-url "$TORCH_INDEX" torch; then
        say "torch: $TORCH_INDEX cannot be reached; installing PyPI's torch (its CUDA libraries are not used)"
        "$VPY" -m pip install -q torch
    fi
    "$VPY" -m pip install -q transformers sentencepiece safetensors numpy pyyaml tqdm h5py protobuf
    touch "$CACHE/venv/.complete"
}

LLAMA_SRC=
setup_llama_cpp() {
    local sdist
    # shellcheck disable=SC2012  # the newest file; the names are pip's
    sdist=$(ls -t "$CACHE"/src/llama_cpp_python-*.tar.gz 2>/dev/null | head -1 || true)
    if [ -n "${HL_PEERS_LLAMA_CPP_PYTHON:-}" ]; then
        sdist=$CACHE/src/llama_cpp_python-$HL_PEERS_LLAMA_CPP_PYTHON.tar.gz
    fi
    if [ -z "$sdist" ] || [ ! -f "$sdist" ]; then
        say "llama-cpp-python: downloading the source package"
        mkdir -p "$CACHE/src"
        "$VPY" -m pip download -q --no-binary :all: --no-deps -d "$CACHE/src" \
            "llama-cpp-python${HL_PEERS_LLAMA_CPP_PYTHON:+==$HL_PEERS_LLAMA_CPP_PYTHON}"
        # shellcheck disable=SC2012
        sdist=$(ls -t "$CACHE"/src/llama_cpp_python-*.tar.gz | head -1)
    fi
    local dir=${sdist%.tar.gz}
    [ -d "$dir" ] || tar -xzf "$sdist" -C "$CACHE/src"
    LLAMA_SRC=$dir/vendor/llama.cpp
    [ -f "$LLAMA_SRC/CMakeLists.txt" ] || die "$sdist has no vendor/llama.cpp"
    local build=$CACHE/llama-build stamp
    stamp=$(basename "$dir")
    if [ -x "$build/bin/llama-bench" ] && [ -x "$build/bin/llama-batched-bench" ] &&
       [ "$(cat "$build/.source" 2>/dev/null)" = "$stamp" ]; then
        return
    fi
    say "llama.cpp: building llama-bench and llama-batched-bench from $stamp (CPU, native; minutes)"
    rm -rf "$build"
    cmake -S "$LLAMA_SRC" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DGGML_CUDA=OFF \
        -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_TOOLS=ON \
        -DBUILD_SHARED_LIBS=OFF >"$CACHE/llama-cmake.log" 2>&1 || die "cmake failed: $CACHE/llama-cmake.log"
    cmake --build "$build" -j2 --target llama-bench llama-batched-bench >>"$CACHE/llama-cmake.log" 2>&1 ||
        die "the llama.cpp build failed: $CACHE/llama-cmake.log"
    echo "$stamp" >"$build/.source"
}

setup_models() {
    local want="models v1: ${dims[*]}"
    if [ -f "$models/.complete" ] && [ "$(cat "$models/.complete")" = "$want" ]; then return; fi
    say "models: $models (random weights; tokenizer, hf-llava, hf-llama, engine.h5, GGUF f32 and f16)"
    rm -rf "$models"
    "$VPY" bench/peers/make_models.py --out "$models" "${dims[@]}"
    "$VPY" tools/convert.py "$models/hf-llava" --out "$models/engine.h5" --dtype f32 \
        --model-name "peers-$(basename "$models")" >&2
    for t in f32 f16; do
        "$VPY" "$LLAMA_SRC/convert_hf_to_gguf.py" "$models/hf-llama" --outtype $t \
            --outfile "$models/llama-$t.gguf" >"$models/convert-$t.log" 2>&1 ||
            die "convert_hf_to_gguf.py failed: $models/convert-$t.log"
    done
    echo "$want" >"$models/.complete"
}

mkdir -p "$CACHE"
setup_venv
setup_llama_cpp
setup_models
mkdir -p "$CACHE/bin"
cc -O2 -march=native -pthread bench/peers/limits.c -o "$CACHE/bin/limits"
[ $setup_only -eq 1 ] && { say "setup done: $CACHE"; exit 0; }

# --------------------------------------------------------------------- runs
[ -x "$BIN" ] || die "$BIN: not found (run make, or set HL_BIN)"
mkdir -p "$out/raw"
rm -f "$out"/raw/*
# A copy of the binary: a rebuild during the runs must not change what is timed.
cp "$BIN" "$out/hyperllava"
ENGINE=$out/hyperllava
LB=$CACHE/llama-build/bin

loadavg() { cut -d' ' -f1 /proc/loadavg; }
# wait_quiet TAG: waits for the load, writes raw/TAG.wait.json
wait_quiet() {
    local t0=$SECONDS l timed_out=false
    l=$(loadavg)
    if [ $wait -eq 1 ]; then
        while awk -v l="$l" -v m="$load_max" 'BEGIN { exit !(l >= m) }'; do
            if [ $((SECONDS - t0)) -ge "$load_timeout" ]; then timed_out=true; break; fi
            sleep 5
            l=$(loadavg)
        done
    fi
    printf '{"load_1min": %s, "waited_s": %d, "timed_out": %s, "load_max": %s}\n' \
        "$l" $((SECONDS - t0)) "$timed_out" "$load_max" >"$out/raw/$1.wait.json"
    say "$1: load $l after $((SECONDS - t0)) s$([ "$timed_out" = true ] && echo ' (gave up waiting)')"
}
# stamp FILE CMD...: runs CMD with stdout to FILE, and the load before/after to FILE.load
stamp() {
    local f=$1 l0 t0
    shift
    l0=$(loadavg) t0=$(date +%s.%N)
    "$@" >"$f"
    printf '{"load_start": %s, "load_end": %s, "wall_s": %s}\n' "$l0" "$(loadavg)" \
        "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')" >"$f.load"
}

engine_env=()
[ "$(id -u)" -eq 0 ] && engine_env=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
run_engine() { # round
    local r=raw/r$1-engine common
    common=(--model "$models/engine.h5" --threads "$THREADS" --text-tokens "$TEXT_TOKENS"
            --warmup "$warmup" --repeat "$repeat")
    for b in 1 8; do
        stamp "$out/$r-pope$b.log" env "${engine_env[@]}" "$ENGINE" bench "${common[@]}" --workload pope \
            --batch-sizes $b --json "$out/$r-pope$b.json" --metrics "$out/$r-pope$b.metrics.json"
    done
    stamp "$out/$r-decode.log" env "${engine_env[@]}" "$ENGINE" bench "${common[@]}" --workload decode \
        --batch-sizes 1,8 --new-tokens $new_tokens --json "$out/$r-decode.json"
    # the same weights held in bf16 (rounded from the f32 file), compute f32
    stamp "$out/$r-decode-bf16.log" env "${engine_env[@]}" "$ENGINE" bench "${common[@]}" --workload decode \
        --dtype bf16 --batch-sizes 1,8 --new-tokens $new_tokens --json "$out/$r-decode-bf16.json"
}
run_transformers() {
    stamp "$out/raw/r$1-transformers.json" "$VPY" bench/peers/hf_peer.py "$models/hf-llava" \
        --threads "$THREADS" --text-tokens $TEXT_TOKENS --new-tokens $new_tokens --batch-sizes 1,8 \
        --vision-batch 8 --warmup $warmup --repeat $repeat 2>"$out/raw/r$1-transformers.err"
}
run_llama() { # round dtype
    local r=raw/r$1-llama-$2 m=$models/llama-$2.gguf positions=$((576 + TEXT_TOKENS)) ctx nw=()
    [ $warmup -eq 0 ] && nw=(--no-warmup) # llama-bench's own warm-up run is untimed
    stamp "$out/$r-prefill.json" "$LB/llama-bench" -m "$m" -t "$THREADS" -p $positions -n 0 \
        -r $llama_reps "${nw[@]}" -o json "${LLAMA_ARGS[@]}" 2>"$out/$r-prefill.err"
    stamp "$out/$r-decode1.json" "$LB/llama-bench" -m "$m" -t "$THREADS" -p 0 -n $new_tokens \
        -d $positions -r $llama_reps "${nw[@]}" -o json "${LLAMA_ARGS[@]}" 2>"$out/$r-decode1.err"
    ctx=$(( (8 * (positions + new_tokens) + 1023) / 1024 * 1024 ))
    stamp "$out/$r-batched.jsonl" "$LB/llama-batched-bench" -m "$m" -t "$THREADS" -tb "$THREADS" -c $ctx \
        -npp $positions -ntg $new_tokens -npl 1,8 --output-format jsonl "${LLAMA_ARGS[@]}" 2>"$out/$r-batched.err"
}

git_commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git_dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo true || echo false)
cp "$models/hf-llava/config.json" "$out/model-config.json"
{
    printf '{"started": "%s", "commit": "%s", "dirty": %s, "quick": %s, "rounds": %s, "threads": %s,\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$git_commit" "$git_dirty" "$([ $quick -eq 1 ] && echo true || echo false)" \
        "$rounds" "$THREADS"
    printf ' "warmup": %s, "repeat": %s, "new_tokens": %s, "text_tokens": %s, "load_max": %s, "wait": %s,\n' \
        $warmup $repeat $new_tokens $TEXT_TOKENS "$load_max" "$([ $wait -eq 1 ] && echo true || echo false)"
    printf ' "engine_bin": "%s", "llama_cpp_source": "%s", "cache": "%s", "host": "%s",\n' \
        "$BIN" "$(cat "$CACHE/llama-build/.source")" "$CACHE" "$(hostname)"
    printf ' "cpu_model": "%s", "cpus_online": %s, "kernel": "%s", "mem_total_kib": %s,\n' \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" "$(nproc)" "$(uname -r)" \
        "$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
    printf ' "cpu_flags": "%s",\n' "$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' |
        grep -E '^(avx2|fma|f16c|avx512f|avx512_bf16|avx512_fp16|avx512vnni|avx_vnni|amx_tile)$' | tr '\n' ' ' | sed 's/ $//')"
    printf ' "omp_env": {%s}}\n' "$(env | grep -E '^(OMP|GOMP)_' | sed 's/^\([^=]*\)=\(.*\)$/"\1": "\2"/' | paste -sd, -)"
} >"$out/run.json"

say "output: $out; engine $BIN ($git_commit); $rounds round(s); models $models"
for r in $(seq 1 "$rounds"); do
    wait_quiet "r$r-limits"
    stamp "$out/raw/r$r-limits.json" "$CACHE/bin/limits" --threads "$THREADS" --seconds "$([ $quick -eq 1 ] && echo 0.2 || echo 0.5)"
    wait_quiet "r$r-engine"
    run_engine "$r"
    wait_quiet "r$r-transformers"
    run_transformers "$r"
    for t in f32 f16; do
        wait_quiet "r$r-llama-$t"
        run_llama "$r" $t
    done
done
printf '%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$out/finished"
python3 bench/peers/report.py "$out"
say "wrote $out/results.json and $out/results.md"
