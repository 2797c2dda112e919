#!/usr/bin/env bash
# Verifies the CUDA backend on a GPU machine in one call, and measures it
# beside Hugging Face transformers on the same shapes:
#   1. builds with the libraries the machine lacks (libyaml, jansson,
#      libxlsxwriter, OpenSSL headers) unpacked from Debian packages into a
#      private prefix (never into /),
#   2. runs `make test-gpu` (tests/gpu/run.sh),
#   3. makes a LLaVA-1.5-7B-shaped random bf16 model (7.06 B parameters) and
#      runs `hyperllava bench --backend cuda` on it, POPE-shaped and decode,
#   4. runs the transformers peer (hf_llava_gpu.py) on the same shapes,
#   5. writes one table: build/gpu-check/report.md (and prints it).
#
#   tools/gpu-check.sh --fetch   on a machine with network (Debian 12): downloads
#                                the packages and an h5py wheel into build/gpu-deps
#   tools/gpu-check.sh           on the GPU machine, with build/gpu-deps copied over
#
# Environment: HL_PEER (the peer script; default ../shared/peers/hf_llava_gpu.py
# or shared/peers/hf_llava_gpu.py), HL_GPU_BATCHES (default 1,8,32,64),
# HL_GPU_QUICK=1 (skips the 7B model and the peer: build and tests only).
set -uo pipefail
cd "$(dirname "$0")/.."
DEPS=build/gpu-deps
OUT=build/gpu-check
PKGS="libyaml-0-2 libyaml-dev libjansson4 libjansson-dev libxlsxwriter4 libxlsxwriter-dev
      libminizip1 libssl3 libssl-dev"

if [ "${1:-}" = "--fetch" ]; then
    mkdir -p "$DEPS" && cd "$DEPS" || exit 1
    apt-get download $PKGS || exit 1
    # h5py for the model generator, for the Python versions a GPU image may have
    for v in 3.10 3.11 3.12 3.13; do
        python3 -m pip download --quiet --only-binary=:all: --no-deps --python-version $v \
            --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d . h5py \
            || echo "gpu-check: no h5py wheel for Python $v" >&2
    done
    ls -1
    exit 0
fi

t_start=$(date +%s)
stamp() { echo "[gpu-check $(( $(date +%s) - t_start )) s] $*"; }
mkdir -p "$OUT"
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'

# 1. the private prefix
P=/tmp/hl-prefix
missing=""
for p in yaml-0.1 jansson xlsxwriter libcrypto; do pkg-config --exists $p 2>/dev/null || missing="$missing $p"; done
if [ -n "$missing" ]; then
    [ -d "$DEPS" ] || { echo "gpu-check: missing$missing and no $DEPS (run tools/gpu-check.sh --fetch where there is network, then copy $DEPS here)" >&2; exit 1; }
    stamp "unpacking$missing from $DEPS into $P"
    rm -rf "$P"; mkdir -p "$P"
    for d in "$DEPS"/*.deb; do dpkg -x "$d" "$P" || exit 1; done
    L=$P/usr/lib/x86_64-linux-gnu
    # the .pc files name /usr: point them at the prefix
    for pc in "$L"/pkgconfig/*.pc; do sed -i "s|^prefix=/usr|prefix=$P/usr|" "$pc"; done
    export PKG_CONFIG_PATH=$L/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export HL_CPPFLAGS="-I$P/usr/include -I$P/usr/include/x86_64-linux-gnu ${HL_CPPFLAGS:-}"
    export HL_LDFLAGS="-L$L -Wl,-rpath,$L ${HL_LDFLAGS:-}"
fi
if ! pkg-config --exists hdf5-serial 2>/dev/null; then
    export HL_CPPFLAGS="-I/usr/include/hdf5/serial ${HL_CPPFLAGS:-}"
    export HL_LDFLAGS="-L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5 ${HL_LDFLAGS:-}"
fi
if ! python3 -c "import h5py" 2>/dev/null; then
    whl=$(ls "$DEPS"/h5py-*cp$(python3 -c 'import sys; print("%d%d" % sys.version_info[:2])')*.whl 2>/dev/null | head -n 1)
    if [ -n "$whl" ]; then
        python3 -m pip install --quiet --no-index --no-deps --target /tmp/hl-py "$whl" && export PYTHONPATH=/tmp/hl-py
    fi
fi

# the model is written while the build and the tests run (it takes minutes)
M7=$OUT/llava7b-bf16.h5
if [ "${HL_GPU_QUICK:-0}" != 1 ] && [ ! -s "$M7" ]; then
    stamp "writing a LLaVA-1.5-7B-shaped random bf16 model to $M7 (in the background)"
    python3 bench/make_synthetic_model.py --dtype bf16 --hidden 4096 --heads 32 --intermediate 11008 \
        --layers 32 --vocab 32000 --context 4096 --vision-hidden 1024 --vision-heads 16 \
        --vision-intermediate 4096 --vision-layers 23 --image-size 336 --patch-size 14 \
        "$M7.tmp" >"$OUT/model.log" 2>&1 && mv "$M7.tmp" "$M7" &
    model_pid=$!
fi

# 2. build and test
stamp "building"
# warnings stay warnings: this machine's compilers are not the ones CI uses
make -j"$(nproc)" WERROR= all >"$OUT/build.log" 2>&1 || { tail -n 30 "$OUT/build.log"; echo "gpu-check: build failed" >&2; exit 1; }
bin/hyperllava --version
stamp "make test-gpu"
tests/gpu/run.sh 2>&1 | tee "$OUT/test-gpu.log"
tests_rc=${PIPESTATUS[0]}
tests_line=$(tail -n 1 "$OUT/test-gpu.log")
# a skip on a machine whose driver lists a GPU is a failure, not a pass: the
# runtime could not use it (a CUDA 13 toolkit needs driver 580 or newer)
if [ "$tests_rc" -eq 77 ] && nvidia-smi -L 2>/dev/null | grep -q "^GPU "; then
    tests_line="FAILED: nvidia-smi lists a GPU but the tests skipped ($tests_line); driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1), nvcc $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
    echo "gpu-check: $tests_line" >&2
    tests_rc=1
fi

if [ "${HL_GPU_QUICK:-0}" = 1 ]; then
    printf '| check | result |\n|---|---|\n| make test-gpu | %s |\n' "$tests_line" | tee "$OUT/report.md"
    exit $tests_rc
fi

# 3. the engine on the 7B shapes
stamp "waiting for the model"
wait "${model_pid:-0}" 2>/dev/null
[ -s "$M7" ] || { tail -n 5 "$OUT/model.log"; echo "gpu-check: the model was not written" >&2; exit 1; }
BATCHES=${HL_GPU_BATCHES:-1,8,32,64}
stamp "hyperllava bench --backend cuda (POPE-shaped, batches $BATCHES)"
timeout 240 bin/hyperllava bench --model "$M7" --backend cuda --dtype bf16 --workload pope \
    --batch-sizes "$BATCHES" --text-tokens 64 --warmup 1 --repeat 2 --json "$OUT/engine-pope.json" \
    2>&1 | tee "$OUT/engine-pope.log"
stamp "hyperllava bench --backend cuda (decode, 128 new tokens, batches 1,8)"
timeout 120 bin/hyperllava bench --model "$M7" --backend cuda --dtype bf16 --workload decode \
    --batch-sizes 1,8 --new-tokens 128 --warmup 1 --repeat 2 --json "$OUT/engine-decode.json" \
    2>&1 | tee "$OUT/engine-decode.log"

stamp "hyperllava bench --calibrate --backend cuda"
timeout 60 bin/hyperllava bench --calibrate --backend cuda --dtype bf16 --json "$OUT/calibration.json" \
    2>&1 | tee "$OUT/calibrate.log"

# 4. the peer
PEER=${HL_PEER:-}
for c in ../shared/peers/hf_llava_gpu.py shared/peers/hf_llava_gpu.py; do
    [ -z "$PEER" ] && [ -f "$c" ] && PEER=$c
done
if [ -n "$PEER" ]; then
    stamp "transformers peer: $PEER"
    OUT="$OUT" timeout 300 python3 "$PEER" >"$OUT/peer.log" 2>&1 \
        || echo "gpu-check: the peer failed (see $OUT/peer.log)" >&2
else
    echo "gpu-check: no peer script (set HL_PEER)" >&2
fi

# 5. one table
python3 - "$OUT" "$tests_line" <<'PY' | tee "$OUT/report.md"
import json, os, sys
out, tests = sys.argv[1], sys.argv[2]
def load(name):
    try: return json.load(open(os.path.join(out, name)))
    except Exception: return {}
ep, ed, hf = load("engine-pope.json"), load("engine-decode.json"), load("anchor_hf.json")
cal = load("calibration.json")
def engine(rep, work, bs, key):
    for r in rep.get("results", {}).get(work, []):
        if r.get("batch_size") == bs: return r.get(key, {}).get("median")
def peer(work, bs, key):
    return hf.get(work, {}).get(str(bs), {}).get(key)
def cell(v, f="%.2f"): return f % v if v else "-"
print("| work (LLaVA-1.5-7B shapes, bf16) | batch | hyperllava cuda | transformers | ratio |")
print("|---|---|---|---|---|")
for work, key, pkey, label in (("pope", "samples_per_s", "samples_per_s", "POPE-shaped samples/s"),
                               ("decode", "decode_tokens_per_s", "decode_tokens_per_s", "decode tokens/s")):
    rep = ep if work == "pope" else ed
    for bs in (1, 8, 32, 64):
        e, p = engine(rep, work, bs, key), peer(work, bs, pkey)
        if e is None and p is None: continue
        print("| %s | %d | %s | %s | %s |" % (label, bs, cell(e), cell(p), "%.2fx" % (e / p) if e and p else "-"))
print("| make test-gpu | | %s | | |" % tests)
if cal:
    print("| bench --calibrate (bf16) | | GEMM %.0f GFLOP/s, streaming %.0f GB/s | | |"
          % (cal.get("gemm_gflops", 0), cal.get("stream_gbps", 0)))
print("| device | | %s | %s | |" % (ep.get("device", "-"), hf.get("gpu", "-")))
for k in ("bf16_gemm_tflops", "copy_tb_s", "pope_limit_samples_per_s", "decode_bs1_limit_tokens_per_s"):
    if k in hf: print("| limit: %s | | | %.1f | |" % (k, hf[k]))
PY
stamp "done (report in $OUT/report.md)"
exit $tests_rc
