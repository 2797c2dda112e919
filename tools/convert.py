#!/usr/bin/env python3
"""Converts a Hugging Face LLaVA-1.5 checkpoint into a hyperllava weight file.

    python3 tools/convert.py CHECKPOINT_DIR --out model.h5 [--vision-tower CLIP_DIR]
                             [--experts FILE] [--dtype f32|f16|bf16] [--model-name NAME]
                             [--all-vision-layers] [--verbose]

CHECKPOINT_DIR is either the original LLaVA-1.5 release (config.json with
`mm_vision_tower`, pytorch_model*.bin or model*.safetensors, tokenizer.model;
the CLIP tower comes from --vision-tower) or the llava-hf release (config.json
with text_config/vision_config, model*.safetensors, tokenizer.model,
preprocessor_config.json), as transformers 4.x or 5.x saves it (5.x: the tower
under vision_tower.* without vision_model., text_config.rope_parameters,
processor_config.json with the image settings under image_processor).
HyperLLaVA expert tensors (`expert.*`, optionally
under a `model.` or `language_model.` prefix) are taken from the checkpoint
or from --experts. The output format is docs/weight-file.md; the conversion
rules are docs/convert.md.

Needs only python3, numpy and h5py. Tensors are converted a block of rows at
a time, so memory stays far below the model size. Any problem with the input
is one line on stderr naming the file, and exit status 1.
"""
import argparse
import json
import os
import re
import resource
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hfcheckpoint import FLOAT_TYPES, CheckpointError, has_weights, read_checkpoint_dir, read_weights  # noqa: E402
from spmodel import SpModelError, load_bpe  # noqa: E402

try:
    import h5py
except ImportError:  # reported by main() as a one-line error
    h5py = None


class ConvertError(Exception):
    """A problem with the input; the message names the file."""


# OpenAI CLIP normalisation (CLIPImageProcessor's defaults).
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# transformers' CLIPVisionConfig defaults, used for fields a config leaves out.
CLIP_VISION_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                        "num_attention_heads": 12, "image_size": 224, "patch_size": 32,
                        "layer_norm_eps": 1e-5, "hidden_act": "quick_gelu", "num_channels": 3}
# The tower LlavaConfig builds when config.json has no vision_config at all.
LLAVA_HF_VISION_DEFAULTS = dict(CLIP_VISION_DEFAULTS, hidden_size=1024, intermediate_size=4096,
                                num_hidden_layers=24, num_attention_heads=16, image_size=336, patch_size=14)
# Towers the original layout may name in mm_vision_tower, for checkpoints that
# embed the tower's weights and are converted without --vision-tower.
KNOWN_TOWERS = {
    "clip-vit-large-patch14-336": dict(LLAVA_HF_VISION_DEFAULTS),
    "clip-vit-large-patch14": dict(LLAVA_HF_VISION_DEFAULTS, image_size=224),
}
# transformers' LlamaConfig defaults.
LLAMA_DEFAULTS = {"vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008,
                  "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": None,
                  "hidden_act": "silu", "max_position_embeddings": 2048, "rms_norm_eps": 1e-6,
                  "rope_theta": 10000.0, "rope_scaling": None, "attention_bias": False, "mlp_bias": False,
                  "tie_word_embeddings": False}

VISION_LAYER_PARTS = [
    ("layer_norm1.weight", "v"), ("layer_norm1.bias", "v"),
    ("self_attn.q_proj.weight", "vv"), ("self_attn.q_proj.bias", "v"),
    ("self_attn.k_proj.weight", "vv"), ("self_attn.k_proj.bias", "v"),
    ("self_attn.v_proj.weight", "vv"), ("self_attn.v_proj.bias", "v"),
    ("self_attn.out_proj.weight", "vv"), ("self_attn.out_proj.bias", "v"),
    ("layer_norm2.weight", "v"), ("layer_norm2.bias", "v"),
    ("mlp.fc1.weight", "iv"), ("mlp.fc1.bias", "i"),
    ("mlp.fc2.weight", "vi"), ("mlp.fc2.bias", "v"),
]
LLM_LAYER_PARTS = [
    ("input_layernorm.weight", "d"),
    ("self_attn.q_proj.weight", "dd"), ("self_attn.k_proj.weight", "dd"),
    ("self_attn.v_proj.weight", "dd"), ("self_attn.o_proj.weight", "dd"),
    ("post_attention_layernorm.weight", "d"),
    ("mlp.gate_proj.weight", "Id"), ("mlp.up_proj.weight", "Id"), ("mlp.down_proj.weight", "dI"),
]
# Prefixes under which a checkpoint may hold expert tensors.
EXPERT_PREFIXES = ("", "model.", "language_model.", "model.language_model.")
EXPERT_KEYS = ("visual_expert", "language_expert", "guide_layer", "expert_embed", "expert_hidden", "expert_rank")


def log(msg):
    """Progress and notes go to stdout; stderr carries only the one-line error."""
    print(msg, flush=True)


def load_json(path, required=True):
    if not os.path.isfile(path):
        if required:
            raise ConvertError(f"{path}: no such file")
        return None
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConvertError(f"{path}: bad JSON ({e})") from None
    if not isinstance(obj, dict):
        raise ConvertError(f"{path}: expected a JSON object")
    return obj


def cfg_get(cfg, key, default, path, kind):
    """cfg[key] (or default when absent/null), checked to be of `kind`."""
    v = cfg.get(key)
    if v is None:
        v = default
    if kind is int and not (isinstance(v, int) and not isinstance(v, bool)):
        raise ConvertError(f"{path}: {key} must be an integer, got {v!r}")
    if kind is float and not (isinstance(v, (int, float)) and not isinstance(v, bool)):
        raise ConvertError(f"{path}: {key} must be a number, got {v!r}")
    return v


# --------------------------------------------------------------- configuration

def vision_config(vcfg, defaults, path):
    """A CLIP vision config dict -> the vision_* attributes (without
    vision_layers / vision_select_layer, set later)."""
    mt = vcfg.get("model_type", "clip_vision_model")
    if mt != "clip_vision_model":
        raise ConvertError(f"{path}: vision tower model_type is {mt}; only CLIP (clip_vision_model) is supported")
    g = {k: cfg_get(vcfg, k, d, path, type(d) if k != "layer_norm_eps" else float) for k, d in defaults.items()}
    if g["hidden_act"] != "quick_gelu":
        raise ConvertError(f"{path}: vision hidden_act is {g['hidden_act']}; the engine implements quick_gelu")
    if g["num_channels"] != 3:
        raise ConvertError(f"{path}: vision num_channels is {g['num_channels']}, expected 3")
    if g["image_size"] % g["patch_size"]:
        raise ConvertError(f"{path}: image_size {g['image_size']} is not a multiple of patch_size {g['patch_size']}")
    if g["hidden_size"] % g["num_attention_heads"]:
        raise ConvertError(f"{path}: vision hidden_size is not a multiple of num_attention_heads")
    return {"vision_hidden": g["hidden_size"], "vision_heads": g["num_attention_heads"],
            "vision_intermediate": g["intermediate_size"], "vision_image_size": g["image_size"],
            "vision_patch_size": g["patch_size"], "vision_layer_norm_eps": float(g["layer_norm_eps"]),
            "_vision_total_layers": g["num_hidden_layers"]}


def image_settings(pre, path, image_size):
    """image_mean/std from an image processor's settings, checking crop_size."""
    out = {}
    for key, dflt in (("image_mean", CLIP_MEAN), ("image_std", CLIP_STD)):
        v = pre.get(key)
        v = dflt if v is None else v
        if not (isinstance(v, list) and len(v) == 3 and all(isinstance(x, (int, float)) for x in v)):
            raise ConvertError(f"{path}: {key} must be a list of 3 numbers")
        out[key] = [float(x) for x in v]
    crop = pre.get("crop_size")
    if isinstance(crop, dict):
        crop = (crop.get("height"), crop.get("width"))
    elif crop is not None:
        crop = (crop, crop)
    if crop is not None and crop != (image_size, image_size):
        raise ConvertError(f"{path}: crop_size {crop[0]}x{crop[1]} differs from the tower's image_size {image_size}")
    return out


def preprocessor(folder, image_size):
    """image_mean/std of the image processor saved in folder: the settings
    nested under `image_processor` in processor_config.json (transformers 5.x
    writes them there) or else preprocessor_config.json (4.x), which is the
    order transformers 5.x reads them in; CLIP's own values when neither is
    there. When both files hold settings, they must agree."""
    ppath = os.path.join(folder, "processor_config.json")
    ipath = os.path.join(folder, "preprocessor_config.json")
    proc = load_json(ppath, required=False)
    nested = None
    if proc is not None and proc.get("image_processor") is not None:
        nested = proc["image_processor"]
        if not isinstance(nested, dict):
            raise ConvertError(f"{ppath}: image_processor must be a JSON object")
    pre = load_json(ipath, required=False)
    found = []
    if nested is not None:
        found.append((f"{ppath} (image_processor)", image_settings(nested, f"{ppath}: image_processor", image_size)))
    if pre is not None:
        found.append((ipath, image_settings(pre, ipath, image_size)))
    if not found:
        log(f"note: {folder} has neither preprocessor_config.json nor processor_config.json with image_processor; "
            "using the OpenAI CLIP image mean/std")
        return {"image_mean": list(CLIP_MEAN), "image_std": list(CLIP_STD)}
    if len(found) == 2 and found[0][1] != found[1][1]:
        raise ConvertError(f"{ipath}: image_mean/image_std differ from those under image_processor in {ppath}")
    return found[0][1]


def rope(g, raw, path, keyp):
    """rope_theta from the RoPE settings as transformers 4.x and 5.x spell
    them: 5.x `rope_parameters` {rope_type, rope_theta, ...}, 4.x `rope_theta`
    beside `rope_scaling` {type or rope_type, ...}. As in transformers, a
    non-empty rope_scaling takes the place of rope_parameters and a top-level
    rope_theta fills in a missing one. Anything but the default (plain) RoPE,
    or RoPE on part of the head only, is refused."""
    name = "rope_scaling" if raw.get("rope_scaling") else "rope_parameters"
    rp = raw.get(name)
    if rp is None:
        rp = {}
    if not isinstance(rp, dict):
        raise ConvertError(f"{path}: {keyp}{name} must be a JSON object, got {rp!r}")
    for k, v in rp.items():
        if isinstance(v, dict):
            raise ConvertError(f"{path}: {keyp}{name}.{k}: RoPE settings per layer type are not supported; "
                               "the engine implements only default RoPE")
    rtype = rp.get("rope_type", rp.get("type"))
    rtype = "default" if rtype is None else rtype
    if rtype != "default":
        which = "rope_type" if "rope_type" in rp else "type"
        raise ConvertError(f"{path}: {keyp}{name}.{which} is {rtype!r}; the engine implements only default RoPE")
    for where, obj in ((f"{keyp}{name}.", rp), (keyp, raw)):
        prf = obj.get("partial_rotary_factor")
        if prf is not None and prf != 1:
            raise ConvertError(f"{path}: {where}partial_rotary_factor is {prf!r}; the engine rotates the whole head")
    theta = rp.get("rope_theta")
    if theta is None:
        theta = g["rope_theta"]
        src = "rope_theta"
    else:
        src = f"{name}.rope_theta"
    if not (isinstance(theta, (int, float)) and not isinstance(theta, bool)) or not theta > 0:
        raise ConvertError(f"{path}: {keyp}{src} must be a positive number, got {theta!r}")
    return float(theta)


def llama_config(tcfg, path, keyp=""):
    """A LLaMA config dict -> the LLM attributes; absent fields take
    transformers' LlamaConfig defaults. keyp names where the dict sits in
    the file (`text_config.` or nothing), for messages."""
    g = {}
    for k, d in LLAMA_DEFAULTS.items():
        v = tcfg.get(k)
        g[k] = d if v is None else v
    for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
              "max_position_embeddings"):
        cfg_get(g, k, None, path, int)
    cfg_get(g, "rms_norm_eps", None, path, float)
    if g["hidden_act"] != "silu":
        raise ConvertError(f"{path}: hidden_act is {g['hidden_act']}; the engine implements silu")
    kv = g["num_key_value_heads"] if g["num_key_value_heads"] is not None else g["num_attention_heads"]
    if kv != g["num_attention_heads"]:
        raise ConvertError(f"{path}: num_key_value_heads {kv} differs from num_attention_heads "
                           f"{g['num_attention_heads']}; grouped-query attention is not supported")
    if g["attention_bias"] or g["mlp_bias"]:
        raise ConvertError(f"{path}: attention_bias/mlp_bias are set; LLaMA layers without biases are expected")
    if g["hidden_size"] % g["num_attention_heads"]:
        raise ConvertError(f"{path}: hidden_size is not a multiple of num_attention_heads")
    hd = tcfg.get("head_dim")
    if hd is not None and hd != g["hidden_size"] // g["num_attention_heads"]:
        raise ConvertError(f"{path}: {keyp}head_dim is {hd!r}, not hidden_size / num_attention_heads = "
                           f"{g['hidden_size'] // g['num_attention_heads']}; the engine needs head_dim = hidden / heads")
    g["rope_theta"] = rope(g, tcfg, path, keyp)
    return {"hidden": g["hidden_size"], "heads": g["num_attention_heads"], "intermediate": g["intermediate_size"],
            "layers": g["num_hidden_layers"], "max_positions": g["max_position_embeddings"],
            "rms_norm_eps": float(g["rms_norm_eps"]), "rope_theta": float(g["rope_theta"]),
            "_config_vocab": g["vocab_size"], "_tied": bool(g["tie_word_embeddings"])}


def select_layers(attrs, select, all_layers, path):
    """Sets vision_layers and vision_select_layer. Unless all_layers, only the
    layers up to the selected one are stored, and the selection becomes -1
    (the last stored layer), which names the same hidden state."""
    n = attrs.pop("_vision_total_layers")
    # The selected hidden state must come out of an encoder layer (index 1..n
    # of the n+1 states; 0 is the embeddings).
    if not isinstance(select, int) or isinstance(select, bool) or not (-n <= select <= -1 or 1 <= select <= n):
        raise ConvertError(f"{path}: vision feature layer {select!r} does not select an encoder layer's output "
                           f"(a {n}-layer tower has hidden states 1..{n}, or -{n}..-1)")
    if all_layers:
        attrs["vision_layers"], attrs["vision_select_layer"] = n, select
    else:
        attrs["vision_layers"] = n + select + 1 if select < 0 else select
        attrs["vision_select_layer"] = -1
    attrs["_vision_dropped"] = n - attrs["vision_layers"]


# --------------------------------------------------------------------- layouts

class Source:
    """Where the tensors of one part of the model come from: a {key: TensorRef}
    pool, the key prefixes to try, and a description for error messages."""

    def __init__(self, pool, prefixes, where):
        self.pool, self.prefixes, self.where = pool, prefixes, where

    def find(self, key):
        for p in self.prefixes:
            if p + key in self.pool:
                return self.pool[p + key]
        return None


def clip_key(rest):
    """Format name after `vision.` -> key after `vision_model.` in CLIP."""
    if rest in ("patch_embedding.weight", "class_embedding", "position_embedding.weight"):
        return "embeddings." + rest
    if rest.startswith("layers."):
        return "encoder." + rest
    return rest


def plan_original(folder, cfg, args):
    cpath = os.path.join(folder, "config.json")
    attrs = llama_config(cfg, cpath)
    ptype = cfg.get("mm_projector_type", "linear")
    if ptype != "mlp2x_gelu":
        raise ConvertError(f"{cpath}: mm_projector_type is {ptype}; only mlp2x_gelu is supported")
    if cfg.get("mm_vision_select_feature", "patch") != "patch":
        raise ConvertError(f"{cpath}: mm_vision_select_feature is {cfg['mm_vision_select_feature']}; "
                           "only patch (class token dropped) is supported")
    for k in ("mm_use_im_start_end", "mm_use_im_patch_token"):
        if cfg.get(k):
            raise ConvertError(f"{cpath}: {k} is true; LLaVA-1.5 prompts without image start/patch tokens "
                               "are the only ones supported")
    if cfg.get("image_aspect_ratio", "pad") != "pad":
        log(f"note: {cpath}: image_aspect_ratio is {cfg['image_aspect_ratio']}; the engine always pads to square")
    if "mm_vision_select_layer" not in cfg:
        raise ConvertError(f"{cpath}: mm_vision_select_layer is missing")

    tensors, wsrc = read_checkpoint_dir(folder)
    embedded = "model.vision_tower.vision_tower.vision_model."
    has_embedded = any(k.startswith(embedded) for k in tensors)
    tower_name = str(cfg.get("mm_vision_tower", ""))
    if args.vision_tower:
        # Configuration from the tower folder; weights from it too when it has
        # them (LLaVA loads the tower from there and ignores any copy in the
        # checkpoint), else from the checkpoint's own copy.
        tdir = args.vision_tower.rstrip("/") or "/"
        tcfg_path = os.path.join(tdir, "config.json")
        tcfg = load_json(tcfg_path)
        vcfg = tcfg["vision_config"] if isinstance(tcfg.get("vision_config"), dict) else tcfg
        vattrs = vision_config(vcfg, CLIP_VISION_DEFAULTS, tcfg_path)
        vattrs.update(preprocessor(tdir, vattrs["vision_image_size"]))
        if has_weights(tdir):
            vpool, vwhere = read_checkpoint_dir(tdir)
            vision = Source(vpool, ["vision_model.", ""], vwhere)
            if has_embedded:
                log(f"note: the tower weights inside {wsrc} are ignored; those of {tdir} are used (as LLaVA does)")
        elif has_embedded:
            vision = Source(tensors, [embedded], wsrc)
            log(f"note: {tdir} has no weights; using the tower weights inside {wsrc}")
        else:
            raise ConvertError(f"{tdir}: no tower weights here or in {wsrc}")
    elif has_embedded and os.path.basename(tower_name.rstrip("/")) in KNOWN_TOWERS:
        vattrs = vision_config({}, KNOWN_TOWERS[os.path.basename(tower_name.rstrip("/"))], cpath)
        vattrs.update({"image_mean": list(CLIP_MEAN), "image_std": list(CLIP_STD)})
        vision = Source(tensors, [embedded], wsrc)
        log(f"note: using the tower weights inside {wsrc} with the known configuration of {tower_name}")
    else:
        raise ConvertError(f"{cpath}: the vision tower ({tower_name or 'mm_vision_tower not set'}) is not in "
                           "the checkpoint: pass its folder with --vision-tower DIR")
    attrs.update(vattrs)
    mm_hidden = cfg.get("mm_hidden_size")
    if mm_hidden is not None and mm_hidden != attrs["vision_hidden"]:
        raise ConvertError(f"{cpath}: mm_hidden_size {mm_hidden} differs from the tower's hidden_size "
                           f"{attrs['vision_hidden']}")
    select_layers(attrs, cfg["mm_vision_select_layer"], args.all_vision_layers, cpath)

    main = Source(tensors, [""], wsrc)

    def locate(name):
        if name.startswith("vision."):
            return vision, [clip_key(name[len("vision."):])]
        if name.startswith("projector."):
            return main, ["model.mm_projector." + name[len("projector."):]]
        rest = name[len("llm."):]
        return main, ["lm_head.weight" if rest == "lm_head.weight" else "model." + rest]

    return attrs, locate, [main, vision], os.path.join(folder, "tokenizer.model")


def plan_llava_hf(folder, cfg, args):
    cpath = os.path.join(folder, "config.json")
    tcfg = cfg.get("text_config") or {}
    mt = tcfg.get("model_type", "llama")
    if mt != "llama":
        raise ConvertError(f"{cpath}: text_config model_type is {mt}; only llama is supported")
    attrs = llama_config(tcfg, cpath, "text_config.")
    act = cfg.get("projector_hidden_act", "gelu")
    if act != "gelu":
        raise ConvertError(f"{cpath}: projector_hidden_act is {act}; only gelu is supported")
    strat = cfg.get("vision_feature_select_strategy", "default")
    if strat != "default":
        raise ConvertError(f"{cpath}: vision_feature_select_strategy is {strat}; only default "
                           "(class token dropped) is supported")
    if isinstance(cfg.get("vision_config"), dict):
        vattrs = vision_config(cfg["vision_config"], CLIP_VISION_DEFAULTS, cpath)
    else:
        vattrs = vision_config({}, LLAVA_HF_VISION_DEFAULTS, cpath)
    vattrs.update(preprocessor(folder, vattrs["vision_image_size"]))
    attrs.update(vattrs)
    select_layers(attrs, cfg.get("vision_feature_layer", -2), args.all_vision_layers, cpath)
    if args.vision_tower:
        log("note: --vision-tower is ignored for the llava-hf layout (its tower is in the checkpoint)")

    tensors, wsrc = read_checkpoint_dir(folder)
    main = Source(tensors, ["", "model."], wsrc)

    def locate(name):
        if name.startswith("vision."):
            # 4.x: vision_tower.vision_model.*; 5.x: vision_tower.* (CLIPVisionModel without vision_model.)
            k = clip_key(name[len("vision."):])
            return main, ["vision_tower.vision_model." + k, "vision_tower." + k]
        if name.startswith("projector."):
            rest = name[len("projector."):]
            return main, ["multi_modal_projector.linear_" + {"0": "1", "2": "2"}[rest[0]] + rest[1:]]
        rest = name[len("llm."):]
        if rest == "lm_head.weight":
            return Source(tensors, ["language_model.", ""], wsrc), ["lm_head.weight"]
        return Source(tensors, ["language_model.model.", "model.language_model."], wsrc), [rest]

    return attrs, locate, [main], os.path.join(folder, "tokenizer.model")


def detect_layout(cfg, cpath):
    arch = cfg.get("architectures") or []
    if "text_config" in cfg or "vision_config" in cfg or "LlavaForConditionalGeneration" in arch:
        return "llava-hf"
    if "mm_vision_tower" in cfg or "LlavaLlamaForCausalLM" in arch:
        return "llava"
    raise ConvertError(f"{cpath}: unknown layout (architectures {arch}); expected LLaVA-1.5 "
                       "(LlavaLlamaForCausalLM) or llava-hf (LlavaForConditionalGeneration)")


# --------------------------------------------------------------------- tensors

def base_tensors(a):
    """(name, shape) of every non-expert tensor, in file order."""
    cv, iv, d, ff = a["vision_hidden"], a["vision_intermediate"], a["hidden"], a["intermediate"]
    p = a["vision_patch_size"]
    npos = 1 + (a["vision_image_size"] // p) ** 2
    dims = {"v": cv, "i": iv, "d": d, "I": ff}
    out = [("vision.patch_embedding.weight", (cv, 3, p, p)), ("vision.class_embedding", (cv,)),
           ("vision.position_embedding.weight", (npos, cv)),
           ("vision.pre_layrnorm.weight", (cv,)), ("vision.pre_layrnorm.bias", (cv,))]
    for i in range(a["vision_layers"]):
        out += [(f"vision.layers.{i}.{n}", tuple(dims[c] for c in s)) for n, s in VISION_LAYER_PARTS]
    out += [("projector.0.weight", (d, cv)), ("projector.0.bias", (d,)),
            ("projector.2.weight", (d, d)), ("projector.2.bias", (d,))]
    out.append(("llm.embed_tokens.weight", (None, d)))  # rows checked against lm_head
    for i in range(a["layers"]):
        out += [(f"llm.layers.{i}.{n}", tuple(dims[c] for c in s)) for n, s in LLM_LAYER_PARTS]
    out += [("llm.norm.weight", (d,)), ("llm.lm_head.weight", (None, d))]
    return out


def expert_tensors(a):
    """(name, shape) of the expert tensors the attributes call for."""
    cv, d = a["vision_hidden"], a["hidden"]
    de, h, r = a["expert_embed"], a["expert_hidden"], a["expert_rank"]

    def hyper(prefix, k):
        return [(f"{prefix}.hyper.0.weight", (h, de)), (f"{prefix}.hyper.0.bias", (h,)),
                (f"{prefix}.hyper.1.weight", (k, h)), (f"{prefix}.hyper.1.bias", (k,))]

    out = []
    ve = a["visual_expert"]
    for part, k, on in (("v1", r * cv + d * r, ve in ("layer1", "both")), ("v2", 2 * r * d, ve in ("layer2", "both"))):
        if on:
            out += [(f"expert.{part}.enc.weight", (de, cv)), (f"expert.{part}.enc.bias", (de,))]
            out += hyper(f"expert.{part}", k)
            out.append((f"expert.{part}.static", (k,)))
    if a["language_expert"]:
        out += hyper("expert.lang", 2 * r * d)
        for n in range(a["guide_layer"], a["layers"]):
            out += [(f"expert.lang.layers.{n}.enc.weight", (de, d)), (f"expert.lang.layers.{n}.enc.bias", (de,)),
                    (f"expert.lang.layers.{n}.static", (2 * r * d,))]
    return out


def collect_experts(pools):
    """{expert name: TensorRef} from (pool, where) pairs; a name found twice is an error."""
    out = {}
    for pool, where in pools:
        for key, ref in pool.items():
            for p in EXPERT_PREFIXES:
                if key.startswith(p + "expert."):
                    name = key[len(p):]
                    if name in out:
                        raise ConvertError(f"{where}: expert tensor {name} is also in {out[name].path}")
                    out[name] = ref
                    break
    return out


def infer_experts(experts, attrs, cfg, cpath):
    """Sets the expert attributes from config.json keys, or from the tensors'
    shapes where the config is silent, and checks that the two agree."""
    d, cv, L = attrs["hidden"], attrs["vision_hidden"], attrs["layers"]
    names = set(experts)
    inferred = {"visual_expert": {(False, False): "none", (True, False): "layer1", (False, True): "layer2",
                                  (True, True): "both"}[(any(n.startswith("expert.v1.") for n in names),
                                                         any(n.startswith("expert.v2.") for n in names))],
                "language_expert": int(any(n.startswith("expert.lang.") for n in names))}
    lang_layers = sorted({int(m.group(1)) for n in names for m in [re.match(r"expert\.lang\.layers\.(\d+)\.", n)] if m})
    inferred["guide_layer"] = lang_layers[0] if lang_layers else 0

    def dim0(pattern):
        """First dimension of the first tensor whose name matches pattern."""
        for n in sorted(names):
            if re.fullmatch(pattern, n) and experts[n].shape:
                return experts[n].shape[0]
        return None

    de = dim0(r"expert\.(v1|v2|lang\.layers\.\d+)\.enc\.weight")
    h = dim0(r"expert\.(v1|v2|lang)\.hyper\.0\.weight")
    r = None
    for part, width in (("v1", cv + d), ("v2", 2 * d), ("lang", 2 * d)):
        k = dim0(rf"expert\.{part}\.hyper\.1\.weight")
        if k is not None and r is None and k % width == 0:
            r = k // width  # K = r*N_in + N_out*r
    inferred.update(expert_embed=de or 0, expert_hidden=h or 0, expert_rank=r or 0)

    for key in EXPERT_KEYS:
        if key in cfg and cfg[key] is not None:
            v = cfg[key]
            if key == "language_expert" and isinstance(v, bool):
                v = int(v)
            ok = isinstance(v, str) if key == "visual_expert" else (isinstance(v, int) and not isinstance(v, bool))
            if not ok or (key == "visual_expert" and v not in ("none", "layer1", "layer2", "both")):
                raise ConvertError(f"{cpath}: bad value {cfg[key]!r} for {key}")
            if names and v != inferred[key]:
                raise ConvertError(f"{cpath}: {key} is {v!r} but the expert tensors give {inferred[key]!r}")
            inferred[key] = v
    attrs.update(inferred)
    if attrs["language_expert"] and not 1 <= attrs["guide_layer"] < L:
        raise ConvertError(f"{cpath}: guide_layer {attrs['guide_layer']} must be in [1, {L}) for the language expert")
    uses = attrs["visual_expert"] != "none" or attrs["language_expert"]
    if uses and min(attrs["expert_embed"], attrs["expert_hidden"], attrs["expert_rank"]) <= 0:
        raise ConvertError(f"{cpath}: expert_embed, expert_hidden and expert_rank must be positive "
                           "(set them in config.json or supply the expert tensors)")
    if not uses:
        attrs.update(guide_layer=0)
        if not names:
            attrs.update(expert_embed=0, expert_hidden=0, expert_rank=0)


# ---------------------------------------------------------------------- output

def to_bf16(x):
    """float32 -> bfloat16 bits (uint16), round to nearest even; NaN stays NaN."""
    u = np.ascontiguousarray(x, np.float32).view(np.uint32)
    r = ((u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))) >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        r[nan] = ((u[nan] >> np.uint32(16)) | np.uint32(0x40)).astype(np.uint16)
    return r


def to_f16(x, where):
    with np.errstate(over="ignore"):
        y = x.astype(np.float16)
    bad = np.isinf(y) & np.isfinite(x)
    if bad.any():
        raise ConvertError(f"{where}: value {float(x[bad].flat[0])} is outside the f16 range; use --dtype bf16 or f32")
    return y


def write_tokenizer(f, tok):
    g = f.create_group("tokenizer")
    pieces = tok["pieces"]
    offsets = np.zeros(len(pieces) + 1, np.int64)
    offsets[1:] = np.cumsum([len(p) for p in pieces])
    g.create_dataset("pieces", data=np.frombuffer(b"".join(pieces), np.uint8))
    g.create_dataset("offsets", data=offsets)
    g.create_dataset("scores", data=np.array(tok["scores"], np.float32))
    g.create_dataset("types", data=np.array(tok["types"], np.int32))
    t, nm = tok["trainer"], tok["normalizer"]
    for k, v in (("model_type", t["model_type"]), ("add_dummy_prefix", nm["add_dummy_prefix"]),
                 ("remove_extra_whitespaces", nm["remove_extra_whitespaces"]),
                 ("escape_whitespaces", nm["escape_whitespaces"]), ("byte_fallback", t["byte_fallback"]),
                 ("unk_id", t["unk_id"]), ("bos_id", t["bos_id"]), ("eos_id", t["eos_id"]), ("pad_id", t["pad_id"])):
        g.attrs[k] = np.int64(v)


def write_attrs(f, attrs):
    for k, v in attrs.items():
        if k.startswith("_"):
            continue
        if isinstance(v, str):
            f.attrs[k] = v
        elif isinstance(v, list):
            f.attrs[k] = np.array(v, np.float64)
        elif isinstance(v, float):
            f.attrs[k] = np.float64(v)
        else:
            f.attrs[k] = np.int64(v)


def write_tensor(f, name, ref, dtype):
    shape = ref.shape
    if dtype == "bf16":
        ds = f.create_dataset(name, shape, np.uint16)
        ds.attrs["dtype"] = "bf16"
    else:
        ds = f.create_dataset(name, shape, np.float32 if dtype == "f32" else np.float16)
    where = f"{ref.path}: tensor {ref.name}"
    for r0, r1, block in ref.blocks():
        if dtype == "bf16":
            out = to_bf16(block)
        elif dtype == "f16":
            out = to_f16(block, where)
        else:
            out = block
        if len(shape) == 0:
            ds[()] = out
        else:
            ds[r0:r1] = out


# ------------------------------------------------------------------------ main

def build_plan(args):
    folder = args.checkpoint.rstrip("/") or "/"
    cpath = os.path.join(folder, "config.json")
    if not os.path.isdir(folder):
        raise ConvertError(f"{folder}: no such checkpoint folder")
    cfg = load_json(cpath)
    layout = detect_layout(cfg, cpath)
    plan = plan_original if layout == "llava" else plan_llava_hf
    attrs, locate, sources, tok_path = plan(folder, cfg, args)

    if not os.path.isfile(tok_path):
        tjson = os.path.join(os.path.dirname(tok_path), "tokenizer.json")
        if os.path.isfile(tjson):
            raise ConvertError(f"{tok_path}: no such file (only tokenizer.json, as transformers 5.x saves a "
                               "tokenizer: it lacks SentencePiece's piece scores and gives other ids than "
                               "LLaVA's tokenizer; copy tokenizer.model from the release the checkpoint "
                               "came from, e.g. llava-hf/llava-1.5-7b-hf)")
        raise ConvertError(f"{tok_path}: no such file")
    tok = load_bpe(tok_path)
    attrs["bos_id"], attrs["eos_id"] = tok["trainer"]["bos_id"], tok["trainer"]["eos_id"]

    # Resolve every base tensor, checking shapes.
    chosen = []
    used = set()
    vocab = None  # embedding rows, which lm_head must match
    for name, shape in base_tensors(attrs):
        src, keys = locate(name)
        ref = None
        for k in keys:
            ref = src.find(k)
            if ref is not None:
                break
        if ref is None and name == "llm.lm_head.weight" and attrs["_tied"]:
            ref = next(r for n, r in chosen if n == "llm.embed_tokens.weight")
        if ref is None:
            raise ConvertError(f"{src.where}: missing tensor {src.prefixes[0]}{keys[0]} (for {name})")
        want = shape
        if name == "llm.embed_tokens.weight":
            vocab = ref.shape[0] if ref.shape else 0
        if shape[0] is None:  # embed_tokens and lm_head: any row count, the same for both
            want = (vocab,) + shape[1:]
        if ref.shape != tuple(want):
            raise ConvertError(f"{ref.path}: tensor {ref.name} has shape {list(ref.shape)}, expected "
                               f"{list(want)} (for {name})")
        chosen.append((name, ref))
        used.add(id(ref))

    npieces = len(tok["pieces"])
    if vocab < npieces:
        raise ConvertError(f"{tok_path}: {npieces} pieces but the embedding has only {vocab} rows")
    if vocab != npieces:
        log(f"note: vocab = {vocab} embedding rows; the tokenizer has {npieces} pieces (the {vocab - npieces} "
            "extra rows are kept)")
    if vocab != attrs["_config_vocab"]:
        log(f"note: config vocab_size is {attrs['_config_vocab']}, the embedding has {vocab} rows; using {vocab}")
    attrs["vocab"] = vocab

    # Experts: from the checkpoint and from --experts.
    pools = [(s.pool, s.where) for s in sources]
    uniq = []
    for p in pools:
        if all(p[0] is not q[0] for q in uniq):
            uniq.append(p)
    if args.experts:
        uniq.append((read_weights(args.experts), args.experts))
    experts = collect_experts(uniq)
    infer_experts(experts, attrs, cfg, cpath)
    wanted = expert_tensors(attrs)
    wanted_names = {n for n, _ in wanted}
    for n in sorted(experts):
        if n not in wanted_names:
            raise ConvertError(f"{experts[n].path}: unexpected expert tensor {experts[n].name} (visual_expert "
                               f"{attrs['visual_expert']}, language_expert {attrs['language_expert']}, "
                               f"guide_layer {attrs['guide_layer']})")
    for name, shape in wanted:
        ref = experts.get(name)
        if ref is None:
            where = args.experts or sources[0].where
            raise ConvertError(f"{where}: missing tensor {name}")
        if ref.shape != shape:
            raise ConvertError(f"{ref.path}: tensor {ref.name} has shape {list(ref.shape)}, expected {list(shape)}")
        chosen.append((name, ref))
        used.add(id(ref))

    for name, ref in chosen:
        if ref.dtype not in FLOAT_TYPES:
            raise ConvertError(f"{ref.path}: tensor {ref.name} has dtype {ref.dtype}; F32, F16 or BF16 expected")

    # Report tensors nobody asked for, except the ones LLaVA never uses.
    skip = re.compile(r"(^|\.)(text_model\.|text_projection|visual_projection|logit_scale|post_layernorm|"
                      r"position_ids|rotary_emb\.inv_freq|vision_tower\.vision_tower\.)")
    vlayer = re.compile(r"encoder\.layers\.(\d+)\.")
    ignored = []
    for pool, _ in uniq:
        for k, r in pool.items():
            if id(r) in used or skip.search(k):
                continue
            m = vlayer.search(k)
            if m and int(m.group(1)) >= attrs["vision_layers"]:
                continue
            ignored.append(k)
    if ignored:
        log(f"note: {len(ignored)} tensors not used: {', '.join(sorted(ignored)[:5])}"
            + (" ..." if len(ignored) > 5 else ""))

    attrs["model_name"] = args.model_name or os.path.basename(os.path.abspath(folder))
    return layout, attrs, tok, chosen


def ordered_attrs(attrs):
    keys = ["format", "format_version", "model_name", "vision_hidden", "vision_heads", "vision_intermediate",
            "vision_layers", "vision_image_size", "vision_patch_size", "vision_layer_norm_eps",
            "vision_select_layer", "image_mean", "image_std", "hidden", "heads", "intermediate", "layers",
            "vocab", "max_positions", "rms_norm_eps", "rope_theta", "bos_id", "eos_id"] + list(EXPERT_KEYS)
    full = dict(attrs, format="hyperllava", format_version=1)
    return {k: full[k] for k in keys}


def convert(args):
    out = args.out
    odir = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(odir):
        raise ConvertError(f"{out}: cannot write: folder {odir} does not exist")
    layout, attrs, tok, chosen = build_plan(args)
    tmp = out + ".tmp"
    nparams = sum(r.numel for _, r in chosen)
    log(f"{args.checkpoint}: {layout} layout, {len(chosen)} tensors, {nparams} parameters "
        f"({attrs['_vision_dropped']} unused vision layers left out) -> {out} ({args.dtype})")
    try:
        with h5py.File(tmp, "w") as f:
            write_attrs(f, ordered_attrs(attrs))
            write_tokenizer(f, tok)
            for i, (name, ref) in enumerate(chosen):
                if args.verbose:
                    log(f"[{i + 1}/{len(chosen)}] {name} {list(ref.shape)} {ref.dtype} <- {ref.path}:{ref.name}")
                write_tensor(f, name, ref, args.dtype)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log(f"wrote {out}: {os.path.getsize(out)} bytes, peak memory {peak:.0f} MiB")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="convert.py", description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="checkpoint folder (original LLaVA-1.5 or llava-hf layout)")
    ap.add_argument("--out", required=True, help="output HDF5 file")
    ap.add_argument("--vision-tower", metavar="DIR", help="CLIP tower folder (original layout)")
    ap.add_argument("--experts", metavar="FILE", help="extra .safetensors/.bin file with expert.* tensors")
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32", help="stored dtype (default f32)")
    ap.add_argument("--model-name", help="model_name attribute (default: the checkpoint folder's name)")
    ap.add_argument("--all-vision-layers", action="store_true",
                    help="store every tower layer instead of only those up to the selected one")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every tensor")
    args = ap.parse_args(argv)
    if h5py is None:
        print("convert.py: h5py is not installed (Debian: apt-get install python3-h5py)", file=sys.stderr)
        return 1
    try:
        convert(args)
    except (ConvertError, CheckpointError, SpModelError) as e:
        print(f"convert.py: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"convert.py: {e.filename or args.out}: {e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
