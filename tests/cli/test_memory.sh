#!/usr/bin/env bash
# Sharded loading: each rank holds exactly its shard plus the replicated
# small tensors (the formula of docs/parallel.md), and reads from the file
# only what it holds (f32 files: bytes read = bytes held; bf16: half).
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
REQ=tests/fixtures/requests/layout.jsonl
check() { # model, layout[, dtype]
    local model=$1 layout=$2 dtype=${3:-f32} IFS=x
    read -r dp pp tp <<<"$layout"; unset IFS
    $MPIRUN -n $((dp * pp * tp)) $HL_BIN generate --model "$model" --jsonl $REQ --max-new-tokens 1 \
        --layout "$layout" --dtype "$dtype" --metrics "$TMP/m.json" >/dev/null 2>"$TMP/err" || { fail "$model $layout: $(head -n 2 "$TMP/err")"; return; }
    /usr/bin/python3 - "$model" "$TMP/m.json" "$dtype" <<'PY' || fail "$model $layout"
import json, sys, h5py
f = h5py.File(sys.argv[1], "r"); a = f.attrs; m = json.load(open(sys.argv[2]))
C, I_v, P, S = int(a["vision_hidden"]), int(a["vision_intermediate"]), int(a["vision_patch_size"]), int(a["vision_image_size"])
d, I, V, L = int(a["hidden"]), int(a["intermediate"]), int(a["vocab"]), int(a["layers"])
nv = int(a["vision_layers"]); sel = int(a["vision_select_layer"]); used = nv + 1 + sel if sel < 0 else sel
NP = (S // P) ** 2
ve = a["visual_expert"]; ve = ve.decode() if isinstance(ve, bytes) else ve
lang = int(a["language_expert"]); gl = int(a["guide_layer"])
de, h, r = int(a["expert_embed"]), int(a["expert_hidden"]), int(a["expert_rank"])
tp, pp = m["layout"]["tp"], m["layout"]["pp"]
bad = 0
es = {"f32": 4, "bf16": 2, "f16": 2}[sys.argv[3]]   # bytes per element of a held matrix
for rk in m["ranks"]:
    s, (b0, b1) = rk["stage"], rk["blocks"]
    n = 0   # f32 vectors (norms, biases, class/position embeddings, static vectors)
    w = 0   # matrices, held at the run's dtype
    if s == 0:
        w += C * 3 * P * P; n += C + (1 + NP) * C + 2 * C                              # patch, class, pos, pre-LN
        w += used * (3 * (C // tp) * C + C * (C // tp) + (I_v // tp) * C + C * (I_v // tp))
        n += used * (4 * C + 3 * (C // tp) + C + (I_v // tp) + C)                      # tower
        w += d * C + d * d; n += d + d                                                  # projector
        for on, n_in in (("layer1", C), ("layer2", d)):
            if ve in (on, "both"):
                K = r * n_in + d * r
                w += h * de + K * h + de * C; n += h + K + de + K                       # hypernet, prior, static
        w += V * d                                                                      # embeddings
    w += (b1 - b0) * (4 * d * d // tp + 3 * I * d // tp); n += (b1 - b0) * 2 * d         # blocks
    post = [b for b in range(b0, b1) if lang and b >= gl]
    if post:
        w += h * de + (r * d + (d // tp) * r) * h; n += h + r * d + (d // tp) * r         # language hypernet shard
        w += len(post) * de * d; n += len(post) * (de + r * d + (d // tp) * r)            # priors + statics
    if s == pp - 1:
        w += (V // tp) * d; n += d                                                      # norm + LM head slice
    want = 4 * n + es * w
    if rk["weight_bytes"] != want:
        print("rank %d: holds %d bytes, formula %d" % (rk["rank"], rk["weight_bytes"], want)); bad = 1
    ratio = 2 if f[list(k for k in f.keys() if k.startswith("llm.layers"))[0]].dtype.itemsize == 2 else 4
    if es == 4 and rk["weight_bytes_read"] * 4 != rk["weight_bytes"] * ratio:
        print("rank %d: read %d bytes for %d held" % (rk["rank"], rk["weight_bytes_read"], rk["weight_bytes"])); bad = 1
    if rk["peak_rss_bytes"] <= 0: print("rank %d: no peak RSS" % rk["rank"]); bad = 1
sys.exit(bad)
PY
    echo "ok: $(basename "$(dirname "$model")") $layout $dtype"
}
for fx in all lang evboth all-bf16; do
    for layout in 1x1x1 1x2x1 1x1x2 1x2x2 1x4x1; do check tests/fixtures/models/$fx/model.h5 $layout; done
done
# weights held in half precision: matrices at 2 bytes, vectors still f32
for layout in 1x1x1 1x2x2; do check tests/fixtures/models/all-bf16/model.h5 $layout bf16; done
check tests/fixtures/models/all/model.h5 1x2x1 f16
pass_or_fail
