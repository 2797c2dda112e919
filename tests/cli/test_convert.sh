#!/usr/bin/env bash
# tools/convert.py on the tiny checkpoints of tests/fixtures/hf (written by
# tests/reference/make_hf_fixtures.py with torch + transformers):
#  - both layouts (original LLaVA-1.5 with a separate CLIP folder; llava-hf)
#    in f32, f16 and bf16, with and without expert tensors: attributes, tensor
#    names, shapes, dtypes and the bytes of every tensor equal what torch gives
#    (expected.json), so f16/bf16 rounding (ties included) is torch's;
#  - both layouts give the same f32 tensors;
#  - expert tensors inside the checkpoint (under model.) equal --experts;
#  - the checkpoint transformers 5.x saved (llava-hf5: vision_tower.* without
#    vision_model., text_config.rope_parameters, head_dim, processor_config.json)
#    against expected5.json, and the same checkpoint in every other spelling
#    4.x and 5.x use (model.* prefixes, rope_theta/rope_scaling,
#    preprocessor_config.json, a tower folder as 5.x's CLIPVisionModel saves it);
#  - bad inputs fail with exit 1 and one line that names the file.
# Needs python3 with numpy and h5py (Debian: python3-numpy python3-h5py).
set -u
cd "$(dirname "$0")/../.."
FIX=tests/fixtures/hf

PY=""
for cand in ${HL_PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c "import numpy, h5py" >/dev/null 2>&1; then
        PY=$cand; break
    fi
done
if [ -z "$PY" ]; then
    echo "FAIL: no python3 with numpy and h5py; tools/setup-deps.sh must install python3-numpy python3-h5py"
    exit 1
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

conv() { # out, args...: a conversion that must succeed
    local out=$1; shift
    if ! "$PY" tools/convert.py "$@" --out "$T/$out" >"$T/log" 2>&1; then
        fail "convert $* failed:"; cat "$T/log"; return 1
    fi
}

for dt in f32 f16 bf16; do
    conv orig-$dt.h5 $FIX/llava-orig --vision-tower $FIX/clip --dtype $dt
    conv hf-$dt.h5 $FIX/llava-hf --dtype $dt
    conv origx-$dt.h5 $FIX/llava-orig --vision-tower $FIX/clip --experts $FIX/experts.safetensors --dtype $dt
done
conv hfx-bf16.h5 $FIX/llava-hf --experts $FIX/experts.safetensors --dtype bf16
conv orig-all.h5 $FIX/llava-orig --vision-tower $FIX/clip --all-vision-layers --model-name tiny-all

# Expert tensors inside the checkpoint: a third shard with model.expert.* keys,
# listed in the index, and the expert settings in config.json.
mkdir -p "$T/ckx" && cp $FIX/llava-orig/* "$T/ckx/"
"$PY" - "$FIX/experts.safetensors" "$T/ckx" <<'EOF' || fail "could not build the checkpoint with experts"
import json, struct, sys
src, ck = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    head = json.loads(f.read(n))
    data = f.read()
head.pop("__metadata__", None)
head = {"model." + k: v for k, v in head.items()}
hb = json.dumps(head).encode()
with open(f"{ck}/experts-shard.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb + data)
ip = f"{ck}/pytorch_model.bin.index.json"
idx = json.load(open(ip))
idx["weight_map"].update({k: "experts-shard.safetensors" for k in head})
json.dump(idx, open(ip, "w"))
cp = f"{ck}/config.json"
cfg = json.load(open(cp))
cfg.update(visual_expert="both", language_expert=1, guide_layer=2, expert_embed=8, expert_hidden=12, expert_rank=2)
json.dump(cfg, open(cp, "w"))
EOF
conv ckx-bf16.h5 "$T/ckx" --vision-tower $FIX/clip --dtype bf16 --model-name llava-orig

# The original layout with its own copy of the tower (model.vision_tower.vision_tower.*):
# used when the --vision-tower folder has no weights, ignored when it has.
mkdir -p "$T/cke" "$T/clipcfg" && cp $FIX/llava-orig/* $FIX/tower-embedded.safetensors "$T/cke/"
cp $FIX/clip/config.json $FIX/clip/preprocessor_config.json "$T/clipcfg/"
"$PY" - "$T/cke" <<'EOF' || fail "could not build the checkpoint with a tower copy"
import json, struct, sys
ck = sys.argv[1]
with open(f"{ck}/tower-embedded.safetensors", "rb") as f:
    head = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
ip = f"{ck}/pytorch_model.bin.index.json"
idx = json.load(open(ip))
idx["weight_map"].update({k: "tower-embedded.safetensors" for k in head if k != "__metadata__"})
json.dump(idx, open(ip, "w"))
EOF
conv cke-own.h5 "$T/cke" --vision-tower "$T/clipcfg" --model-name llava-orig
conv cke-folder.h5 "$T/cke" --vision-tower $FIX/clip --model-name llava-orig
grep -q "are ignored" "$T/log" || fail "no note that the checkpoint's tower copy is ignored"

# Tied embeddings: no lm_head in the checkpoint, tie_word_embeddings set.
mkdir -p "$T/tied" && cp $FIX/llava-hf/* "$T/tied/"
"$PY" -c "
import json, sys
d = sys.argv[1]
idx = json.load(open(d + '/model.safetensors.index.json'))
del idx['weight_map']['language_model.lm_head.weight']
json.dump(idx, open(d + '/model.safetensors.index.json', 'w'))
cfg = json.load(open(d + '/config.json'))
cfg['text_config']['tie_word_embeddings'] = True
json.dump(cfg, open(d + '/config.json', 'w'))" "$T/tied"
conv tied.h5 "$T/tied"
"$PY" -c "
import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], 'r')
sys.exit(0 if np.array_equal(f['llm.lm_head.weight'][()], f['llm.embed_tokens.weight'][()]) else 1)" "$T/tied.h5" \
    || fail "tied lm_head differs from embed_tokens"

# The checkpoint written by transformers 5.x, and the same model in the other
# spellings 4.x and 5.x write.
for dt in f32 f16 bf16; do
    conv hf5-$dt.h5 $FIX/llava-hf5 --dtype $dt
done
strename() { # safetensors file, python expression mapping the key k to its new name (None drops nothing: keeps k)
    "$PY" - "$1" "$2" <<'PYEOF'
import json, struct, sys
path, expr = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    head = json.loads(f.read(n))
    data = f.read()
meta = head.pop("__metadata__", None)
new = {eval(expr, {"k": k}): v for k, v in head.items()}
if meta is not None:
    new["__metadata__"] = meta
hb = json.dumps(new).encode()
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb + data)
PYEOF
}
mk5() { rm -rf "$T/$1" && mkdir -p "$T/$1" && cp $FIX/llava-hf5/* "$T/$1/"; }
tc() { # folder, python statement on the text_config dict t
    "$PY" -c "import json,sys; p=sys.argv[1]+'/config.json'; c=json.load(open(p)); t=c['text_config']; $2; json.dump(c, open(p,'w'))" "$1"
}
# Keys as the 5.x modules name them (model.language_model.*, model.vision_tower.*, lm_head.weight).
mk5 v5mod && strename "$T/v5mod/model.safetensors" \
    "'lm_head.weight' if k == 'language_model.lm_head.weight' else ('model.language_model.' + k[21:] if k.startswith('language_model.model.') else 'model.' + k)"
conv v5mod.h5 "$T/v5mod" --model-name llava-hf5
# 4.x spellings of RoPE: rope_theta beside rope_scaling null, or rope_scaling {type: default};
# 5.x rope_parameters without rope_theta takes the top-level one.
mk5 v4rope && tc "$T/v4rope" "del t['rope_parameters']; t['rope_theta'] = 5000.0; t['rope_scaling'] = None"
conv v4rope.h5 "$T/v4rope" --model-name llava-hf5
mk5 v4scal && tc "$T/v4scal" "del t['rope_parameters']; t['rope_theta'] = 5000.0; t['rope_scaling'] = {'type': 'default'}"
conv v4scal.h5 "$T/v4scal" --model-name llava-hf5
mk5 v5theta && tc "$T/v5theta" "t['rope_parameters'] = {'rope_type': 'default'}; t['rope_theta'] = 5000.0; del t['head_dim']"
conv v5theta.h5 "$T/v5theta" --model-name llava-hf5
# The image settings in preprocessor_config.json (4.x), in both files, in neither.
mk5 v4pre && "$PY" -c "
import json, sys
d = sys.argv[1]
json.dump(json.load(open(d + '/processor_config.json'))['image_processor'], open(d + '/preprocessor_config.json', 'w'))" "$T/v4pre"
cp -r "$T/v4pre" "$T/vboth" && rm "$T/v4pre/processor_config.json"
conv v4pre.h5 "$T/v4pre" --model-name llava-hf5
conv vboth.h5 "$T/vboth" --model-name llava-hf5
mk5 vnone && rm "$T/vnone/processor_config.json"
conv vnone.h5 "$T/vnone" --model-name llava-hf5
grep -q "using the OpenAI CLIP image mean/std" "$T/log" || fail "no note that the CLIP mean/std are used"
# A tower folder as transformers 5.x saves a CLIPVisionModel (keys without vision_model.),
# its image settings in processor_config.json: the tower of llava-hf5 is that of clip/.
mkdir -p "$T/tower5" && cp $FIX/llava-hf5/model.safetensors $FIX/llava-hf5/processor_config.json "$T/tower5/"
cp $FIX/clip/config.json "$T/tower5/"
strename "$T/tower5/model.safetensors" "k[len('vision_tower.'):] if k.startswith('vision_tower.') else 'other.' + k"
conv orig-tower5.h5 $FIX/llava-orig --vision-tower "$T/tower5" --model-name llava-orig

# Check every output against expected.json.
"$PY" - "$T" "$FIX/expected.json" "$FIX/expected5.json" <<'EOF' || fail "output check"
import hashlib, json, sys
import h5py, numpy as np
tmp, exp_path = sys.argv[1], sys.argv[2]
E = json.load(open(exp_path))
E5 = json.load(open(sys.argv[3]))
errors = []
def err(msg):
    errors.append(msg)

def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()

def attr_val(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return [float(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v

def check_file(fname, dtype, attrs, tensors):
    path = f"{tmp}/{fname}"
    with h5py.File(path, "r") as f:
        got = {k: attr_val(v) for k, v in f.attrs.items()}
        for k, v in attrs.items():
            if k not in got:
                err(f"{fname}: attribute {k} missing")
            elif isinstance(v, float) or isinstance(v, list):
                if np.any(np.abs(np.array(got[k], float) - np.array(v, float)) > 1e-12 * np.abs(np.array(v, float))):
                    err(f"{fname}: attribute {k} = {got[k]}, expected {v}")
            elif got[k] != v:
                err(f"{fname}: attribute {k} = {got[k]!r}, expected {v!r}")
        for k in ("format", "model_name", "visual_expert"):
            if not isinstance(f.attrs[k], (str, bytes)):
                err(f"{fname}: attribute {k} is not a string")
        for k in ("vision_layers", "vocab", "expert_rank", "bos_id"):
            if f.attrs[k].dtype != np.int64:
                err(f"{fname}: attribute {k} is {f.attrs[k].dtype}, expected int64")
        for k in ("rms_norm_eps", "image_mean"):
            if np.asarray(f.attrs[k]).dtype != np.float64:
                err(f"{fname}: attribute {k} is not a double")
        names = sorted(k for k in f.keys() if isinstance(f[k], h5py.Dataset))
        if names != sorted(tensors):
            err(f"{fname}: tensors differ: extra {sorted(set(names) - set(tensors))[:5]}, "
                f"missing {sorted(set(tensors) - set(names))[:5]}")
        for name in sorted(set(names) & set(tensors)):
            ds, want = f[name], tensors[name]
            if list(ds.shape) != want["shape"]:
                err(f"{fname}: {name} shape {list(ds.shape)}, expected {want['shape']}")
                continue
            store = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16}[dtype]
            if ds.dtype != store:
                err(f"{fname}: {name} stored as {ds.dtype}, expected {np.dtype(store)}")
                continue
            tag = ds.attrs.get("dtype")
            tag = tag.decode() if isinstance(tag, bytes) else tag
            if (dtype == "bf16") != (tag == "bf16") or (dtype != "bf16" and tag is not None):
                err(f"{fname}: {name} dtype attribute {tag!r}")
            data = ds[()]
            raw = {"f32": "<f4", "f16": "<f2", "bf16": "<i2"}[dtype]
            if sha(np.asarray(data).astype(raw)) != want[dtype]:
                err(f"{fname}: {name} ({dtype}) differs from torch's values")
        tk = f["tokenizer"]
        t = E["tokenizer"]
        off = tk["offsets"][()]
        pieces = tk["pieces"][()]
        if len(off) != t["n"] + 1 or off[0] != 0 or off[-1] != len(pieces) or np.any(np.diff(off) < 0):
            err(f"{fname}: tokenizer offsets are inconsistent")
        if sha(pieces.astype(np.uint8)) != t["pieces_sha"]:
            err(f"{fname}: tokenizer pieces differ from sentencepiece's")
        if sha(tk["scores"][()].astype("<f4")) != t["scores_sha"] or tk["scores"].dtype != np.float32:
            err(f"{fname}: tokenizer scores differ from sentencepiece's")
        if sha(tk["types"][()].astype("<i4")) != t["types_sha"] or tk["types"].dtype != np.int32:
            err(f"{fname}: tokenizer types differ from sentencepiece's")
        if tk["offsets"].dtype != np.int64 or tk["pieces"].dtype != np.uint8:
            err(f"{fname}: tokenizer offsets/pieces have the wrong dtype")
        first = [bytes(pieces[off[i]:off[i + 1]]).decode() for i in range(4)]
        if first != t["first"]:
            err(f"{fname}: first pieces {first}, expected {t['first']}")
        for k, v in t["attrs"].items():
            if int(tk.attrs.get(k, -99)) != v:
                err(f"{fname}: tokenizer attribute {k} = {tk.attrs.get(k)}, expected {v}")

base = E["tensors"]
hf = dict(base, **E["hf_tensors"])
ex = E["experts"]
xattrs = E["expert_attrs"]
for dt in ("f32", "f16", "bf16"):
    check_file(f"orig-{dt}.h5", dt, E["attrs"]["llava-orig"], base)
    check_file(f"hf-{dt}.h5", dt, E["attrs"]["llava-hf"], hf)
    check_file(f"origx-{dt}.h5", dt, dict(E["attrs"]["llava-orig"], **xattrs), dict(base, **ex))
check_file("hfx-bf16.h5", "bf16", dict(E["attrs"]["llava-hf"], **xattrs), dict(hf, **ex))
check_file("cke-own.h5", "f32", E["attrs"]["llava-orig"], base)
check_file("cke-folder.h5", "f32", E["attrs"]["llava-orig"], base)
check_file("ckx-bf16.h5", "bf16", dict(E["attrs"]["llava-orig"], **xattrs), dict(base, **ex))
alv = E["all_vision_layers"]
check_file("orig-all.h5", "f32", dict(E["attrs"]["llava-orig"], model_name="tiny-all",
                                      vision_layers=alv["vision_layers"],
                                      vision_select_layer=alv["vision_select_layer"]), dict(base, **alv["extra"]))

# transformers 5.x: every spelling gives the file expected5.json describes.
for dt in ("f32", "f16", "bf16"):
    check_file(f"hf5-{dt}.h5", dt, E5["attrs"], E5["tensors"])
for v in ("v5mod", "v4rope", "v4scal", "v5theta", "v4pre", "vboth"):
    check_file(f"{v}.h5", "f32", E5["attrs"], E5["tensors"])
check_file("vnone.h5", "f32", dict(E5["attrs"], image_mean=E["attrs"]["llava-hf"]["image_mean"],
                                   image_std=E["attrs"]["llava-hf"]["image_std"]), E5["tensors"])
check_file("orig-tower5.h5", "f32", dict(E["attrs"]["llava-orig"], image_mean=E5["attrs"]["image_mean"],
                                         image_std=E5["attrs"]["image_std"]), base)
# The 5.x checkpoint holds the weights of llava-hf (only RoPE's theta and the image settings differ).
with h5py.File(f"{tmp}/hf-f32.h5", "r") as a, h5py.File(f"{tmp}/hf5-f32.h5", "r") as b:
    for name in a:
        if isinstance(a[name], h5py.Dataset) and not np.array_equal(a[name][()], b[name][()]):
            err(f"{name}: llava-hf and llava-hf5 differ")
    if float(b.attrs["rope_theta"]) != 5000.0 or float(a.attrs["rope_theta"]) != 10000.0:
        err("rope_theta of llava-hf5 not read from text_config.rope_parameters")

# Both layouts hold the same numbers (the llava-hf embedding has extra rows).
with h5py.File(f"{tmp}/orig-f32.h5", "r") as a, h5py.File(f"{tmp}/hf-f32.h5", "r") as b:
    for name in a:
        if not isinstance(a[name], h5py.Dataset):
            continue
        x, y = a[name][()], b[name][()]
        if name in ("llm.embed_tokens.weight", "llm.lm_head.weight"):
            y = y[: x.shape[0]]
        if x.shape != y.shape or not np.array_equal(x, y):
            err(f"{name}: the two layouts differ")

# Rounding spot checks, independent of torch: expert.v1.static starts with
# bf16 ties 0x3F808000 -> 0x3F80 (down to even), 0x3F818000 -> 0x3F82 (up to
# even), 0xBF808000 -> 0xBF80; f16 ties 1+2^-11 -> 1.0, 1+3*2^-11 -> 1+2^-9.
with h5py.File(f"{tmp}/origx-bf16.h5", "r") as f:
    got = [int(v) for v in f["expert.v1.static"][:3]]
    if got != [0x3F80, 0x3F82, 0xBF80]:
        err(f"bf16 ties rounded to {[hex(v) for v in got]}")
with h5py.File(f"{tmp}/origx-f16.h5", "r") as f:
    got = [float(v) for v in f["expert.v1.static"][3:5]]
    if got != [1.0, 1.0 + 2.0 ** -9]:
        err(f"f16 ties rounded to {got}")
    if float(f["expert.v1.static"][8]) != 65504.0:
        err("65519.996 did not round to the largest f16")

for e in errors:
    print("FAIL:", e)
print(f"checked {len(errors)} problems")
sys.exit(1 if errors else 0)
EOF

# $HL_BIN inspect, once the command exists.
if [ -x "${HL_BIN:-}" ] && "$HL_BIN" 2>&1 | grep -qw inspect; then
    if ! "$HL_BIN" inspect "$T/origx-bf16.h5" >"$T/inspect" 2>&1; then
        fail "inspect failed on a converted file:"; head -n 5 "$T/inspect"
    elif ! grep -q "expert.lang.layers.3.static" "$T/inspect"; then
        fail "inspect does not list expert.lang.layers.3.static"
    fi
fi

# Error cases: exit 1, exactly one line on stderr, naming the file and the problem.
bad() { # description, expected text, args...
    local what=$1 want=$2; shift 2
    rm -f "$T/bad.h5"
    "$PY" tools/convert.py "$@" --out "$T/bad.h5" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -ne 1 ]; then fail "$what: exit $rc, expected 1"; cat "$T/err"; return; fi
    if [ "$(wc -l <"$T/err")" -ne 1 ]; then fail "$what: stderr is not one line:"; cat "$T/err"; return; fi
    if ! grep -qF -- "$want" "$T/err"; then fail "$what: '$want' not in: $(cat "$T/err")"; fi
    if [ -e "$T/bad.h5" ] || [ -e "$T/bad.h5.tmp" ]; then fail "$what: left an output file behind"; fi
}
mk() { rm -rf "$T/$1" && mkdir -p "$T/$1" && cp $FIX/$2/* "$T/$1/"; }
jset() { # file, python statement on cfg
    "$PY" -c "import json,sys; p=sys.argv[1]; cfg=json.load(open(p)); $2; json.dump(cfg, open(p,'w'))" "$1"
}

mk noshard llava-orig && rm "$T/noshard/pytorch_model-00002-of-00002.bin"
bad "missing shard" "noshard/pytorch_model-00002-of-00002.bin: missing shard" "$T/noshard" --vision-tower $FIX/clip

mk nokey llava-orig
jset "$T/nokey/pytorch_model.bin.index.json" "del cfg['weight_map']['model.norm.weight']"
bad "missing key" "missing tensor model.norm.weight" "$T/nokey" --vision-tower $FIX/clip

mk shape llava-orig && jset "$T/shape/config.json" "cfg['intermediate_size'] = 50"
bad "shape mismatch" "has shape [48, 32], expected [50, 32]" "$T/shape" --vision-tower $FIX/clip

mk unknown llava-orig && jset "$T/unknown/config.json" "cfg.pop('mm_vision_tower'); cfg['architectures'] = ['GPT2LMHeadModel']"
bad "unknown layout" "unknown/config.json: unknown layout" "$T/unknown"

bad "no tower" "pass its folder with --vision-tower" $FIX/llava-orig
bad "no tower weights" "clipcfg: no tower weights here or in" $FIX/llava-orig --vision-tower "$T/clipcfg"
bad "tower copy, known config" "mm_hidden_size 24 differs from the tower's hidden_size 1024" "$T/cke"
bad "no folder" "nowhere: no such checkpoint folder" "$T/nowhere"

mk gqa llava-hf && jset "$T/gqa/config.json" "cfg['text_config']['num_key_value_heads'] = 2"
bad "grouped-query attention" "grouped-query attention is not supported" "$T/gqa"

mk sel llava-hf && jset "$T/sel/config.json" "cfg['vision_feature_layer'] = -4"
bad "select layer" "vision feature layer -4" "$T/sel"

mk untied llava-hf
jset "$T/untied/model.safetensors.index.json" "del cfg['weight_map']['language_model.lm_head.weight']"
bad "missing lm_head" "missing tensor language_model.lm_head.weight (for llm.lm_head.weight)" "$T/untied"

mk trunc llava-hf && head -c 5000 $FIX/llava-hf/model-00002-of-00002.safetensors >"$T/trunc/model-00002-of-00002.safetensors"
bad "truncated safetensors" "trunc/model-00002-of-00002.safetensors: " "$T/trunc"

printf '\x80\x02}q\x00.' >"$T/legacy.bin"
bad "legacy torch file" "legacy.bin: legacy (pre-zip) PyTorch format" $FIX/llava-hf --experts "$T/legacy.bin"

mk rank llava-hf && jset "$T/rank/config.json" "cfg['expert_rank'] = 3"
bad "expert config mismatch" "expert_rank is 3 but the expert tensors give 2" "$T/rank" --experts $FIX/experts.safetensors

# transformers 5.x settings the engine does not implement, and processor files that disagree.
mk5 r5type && tc "$T/r5type" "t['rope_parameters'] = {'rope_type': 'llama3', 'rope_theta': 5e5, 'factor': 8.0}"
bad "rope type" "r5type/config.json: text_config.rope_parameters.rope_type is 'llama3'; the engine implements only default RoPE" "$T/r5type"
mk5 r4type && tc "$T/r4type" "del t['rope_parameters']; t['rope_scaling'] = {'type': 'linear', 'factor': 2.0}"
bad "rope_scaling type" "r4type/config.json: text_config.rope_scaling.type is 'linear'" "$T/r4type"
mk5 r5part && tc "$T/r5part" "t['rope_parameters']['partial_rotary_factor'] = 0.5"
bad "partial rotary" "text_config.rope_parameters.partial_rotary_factor is 0.5" "$T/r5part"
mk5 r5nest && tc "$T/r5nest" "t['rope_parameters'] = {'full_attention': {'rope_type': 'default', 'rope_theta': 1e4}}"
bad "rope per layer type" "text_config.rope_parameters.full_attention: RoPE settings per layer type" "$T/r5nest"
mk5 hdim && tc "$T/hdim" "t['head_dim'] = 16"
bad "head_dim" "hdim/config.json: text_config.head_dim is 16, not hidden_size / num_attention_heads = 8" "$T/hdim"
mk origrope llava-orig && jset "$T/origrope/config.json" "cfg['rope_scaling'] = {'rope_type': 'dynamic', 'factor': 2.0}"
bad "original layout rope_scaling" "origrope/config.json: rope_scaling.rope_type is 'dynamic'" "$T/origrope" --vision-tower $FIX/clip
mk5 crop && jset "$T/crop/processor_config.json" "cfg['image_processor']['crop_size'] = {'height': 40, 'width': 40}"
bad "processor crop size" "crop/processor_config.json: image_processor: crop_size 40x40 differs from the tower's image_size 42" "$T/crop"
cp -r "$T/vboth" "$T/vdiff" && jset "$T/vdiff/preprocessor_config.json" "cfg['image_std'] = [0.3, 0.3, 0.3]"
bad "processor files disagree" "vdiff/preprocessor_config.json: image_mean/image_std differ from those under image_processor" "$T/vdiff"
mk5 notok && rm "$T/notok/tokenizer.model"
bad "no tokenizer.model" "notok/tokenizer.model: no such file (only tokenizer.json" "$T/notok"

# Tokenizers the engine cannot run: hand-written ModelProto bytes.
"$PY" - "$T" <<'EOF'
import struct, sys
def fld(num, wt, payload):
    key = bytes([(num << 3) | wt])
    return key + (bytes([len(payload)]) + payload if wt == 2 else payload)
piece = lambda s: fld(1, 2, fld(1, 2, s) + fld(2, 5, struct.pack("<f", 0.0)) + fld(3, 0, b"\x01"))
pieces = b"".join(piece(s) for s in (b"<unk>", b"<s>", b"</s>", b"a"))
open(f"{sys.argv[1]}/unigram.model", "wb").write(pieces + fld(2, 2, fld(3, 0, b"\x01")))
open(f"{sys.argv[1]}/nfkc.model", "wb").write(pieces + fld(2, 2, fld(3, 0, b"\x02"))
                                              + fld(3, 2, fld(1, 2, b"nmt_nfkc") + fld(2, 2, b"\x01\x02")))
EOF
mk unigram llava-hf && cp "$T/unigram.model" "$T/unigram/tokenizer.model"
bad "unigram tokenizer" "unigram/tokenizer.model: model type is unigram; only BPE" "$T/unigram"
mk nfkc llava-hf && cp "$T/nfkc.model" "$T/nfkc/tokenizer.model"
bad "nfkc normalizer" "nfkc/tokenizer.model: normalizer is nmt_nfkc" "$T/nfkc"

# A value outside the f16 range is refused for --dtype f16 (bf16 keeps it).
"$PY" - "$FIX/experts.safetensors" "$T/big.safetensors" <<'EOF'
import json, struct, sys
import numpy as np
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    head = json.loads(f.read(n))
    data = bytearray(f.read())
b = head["expert.v2.static"]["data_offsets"][0]
data[b:b + 4] = np.float32(1e6).tobytes()
hb = json.dumps(head).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(hb)) + hb + bytes(data))
EOF
bad "f16 overflow" "tensor expert.v2.static: value 1000000.0 is outside the f16 range" \
    $FIX/llava-hf --experts "$T/big.safetensors" --dtype f16
conv big-bf16.h5 $FIX/llava-hf --experts "$T/big.safetensors" --dtype bf16

"$PY" tools/convert.py $FIX/llava-hf --out "$T/no/such/dir/x.h5" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -ne 1 ] || [ "$(wc -l <"$T/err")" -ne 1 ] || ! grep -q "no/such/dir/x.h5" "$T/err"; then
    fail "unwritable output: exit $rc, stderr: $(cat "$T/err")"
fi

if [ $fails -ne 0 ]; then
    echo "$fails failures"
    exit 1
fi
echo "convert: all checks passed"
