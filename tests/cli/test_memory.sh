#!/usr/bin/env bash
# Sharded loading: each rank holds exactly its shard plus the replicated
# small tensors (the formula of docs/parallel.md), and reads from the file
# only what it holds (f32 files: bytes read = bytes held; bf16: half).
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
REQ=tests/fixtures/requests/layout.jsonl
check() { # model, layout
    local model=$1 layout=$2 IFS=x
    read -r dp pp tp <<<"$layout"; unset IFS
    $MPIRUN -n $((dp * pp * tp)) $HL_BIN generate --model "$model" --jsonl $REQ --max-new-tokens 1 \
        --layout "$layout" --metrics "$TMP/m.json" >/dev/null 2>"$TMP/err" || { fail "$model $layout: $(head -n 2 "$TMP/err")"; return; }
    /usr/bin/python3 - "$model" "$TMP/m.json" <<'PY' || fail "$model $layout"
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
for rk in m["ranks"]:
    s, (b0, b1) = rk["stage"], rk["blocks"]
    n = 0
    if s == 0:
        n += C * 3 * P * P + C + (1 + NP) * C + 2 * C                                  # patch, class, pos, pre-LN
        n += used * (4 * C + 3 * (C // tp) * (C + 1) + C * (C // tp) + C + (I_v // tp) * (C + 1) + C * (I_v // tp) + C)
        n += d * C + d + d * d + d                                                    # projector
        for on, n_in in (("layer1", C), ("layer2", d)):
            if ve in (on, "both"):
                K = r * n_in + d * r
                n += h * de + h + K * h + K + de * C + de + K                         # hypernet, prior, static
        n += V * d                                                                     # embeddings
    n += (b1 - b0) * (2 * d + 4 * d * d // tp + 3 * I * d // tp)                       # blocks
    post = [b for b in range(b0, b1) if lang and b >= gl]
    if post:
        n += h * de + h + (r * d + (d // tp) * r) * (h + 1)                          # language hypernet shard
        n += len(post) * (de * d + de + r * d + (d // tp) * r)                         # priors + statics
    if s == pp - 1:
        n += d + (V // tp) * d                                                         # norm + LM head slice
    want = 4 * n
    if rk["weight_bytes"] != want:
        print("rank %d: holds %d bytes, formula %d" % (rk["rank"], rk["weight_bytes"], want)); bad = 1
    ratio = 2 if f[list(k for k in f.keys() if k.startswith("llm.layers"))[0]].dtype.itemsize == 2 else 4
    if rk["weight_bytes_read"] * 4 != rk["weight_bytes"] * ratio:
        print("rank %d: read %d bytes for %d held" % (rk["rank"], rk["weight_bytes_read"], rk["weight_bytes"])); bad = 1
    if rk["peak_rss_bytes"] <= 0: print("rank %d: no peak RSS" % rk["rank"]); bad = 1
sys.exit(bad)
PY
    echo "ok: $(basename "$(dirname "$model")") $layout"
}
for fx in all lang evboth all-bf16; do
    for layout in 1x1x1 1x2x1 1x1x2 1x2x2 1x4x1; do check tests/fixtures/models/$fx/model.h5 $layout; done
done
pass_or_fail
