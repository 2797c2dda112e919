#!/usr/bin/python3
"""Writes a random model in hyperllava's weight format (docs/weight-file.md)
with LLaVA-1.5's structure and chosen dimensions, for `hyperllava bench`.

The numbers are random (seeded), so the model's answers mean nothing; its
shapes make the engine's CPU timings meaningful where the test fixtures are
too small to time. Needs only python3 with numpy and h5py (Debian's
python3-numpy, python3-h5py). The file is generated on demand, never committed.

    bench/make_synthetic_model.py build/bench/synthetic.h5
    bench/make_synthetic_model.py --experts --layers 4 build/bench/hyper.h5
    bench/make_synthetic_model.py --sp-model ../shared/tokenizers/llama/tokenizer.model OUT.h5

The tokenizer is the /tokenizer group of another weight file (default: the
llava test fixture, 400 pieces) or, with --sp-model, a SentencePiece BPE
model read with tools/spmodel.py (LLaMA's gives LLaVA's exact prompt ids).
The vocabulary (embedding and LM head rows) may be larger than the tokenizer:
bench feeds only prompt ids and never decodes the generated ones.
"""
import argparse
import os
import sys
import time

import numpy as np

try:
    import h5py
except ImportError:  # pragma: no cover
    sys.exit("make_synthetic_model.py: needs h5py (apt-get install python3-h5py)")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
from convert import to_bf16, write_attrs  # noqa: E402  (the weight file's own writers)

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="weight file to write (.h5)")
    p.add_argument("--name", default=None, help="model_name attribute (default: from the dimensions)")
    p.add_argument("--hidden", type=int, default=512, help="LLaMA width d (default 512)")
    p.add_argument("--heads", type=int, default=8, help="LLaMA attention heads (default 8)")
    p.add_argument("--intermediate", type=int, default=1408, help="SwiGLU width (default 1408)")
    p.add_argument("--layers", type=int, default=8, help="LLaMA blocks (default 8)")
    p.add_argument("--vocab", type=int, default=32000, help="vocabulary rows (default 32000)")
    p.add_argument("--context", type=int, default=1024, help="max_positions (default 1024)")
    p.add_argument("--vision-hidden", type=int, default=256, help="CLIP width (default 256)")
    p.add_argument("--vision-heads", type=int, default=4, help="CLIP heads (default 4)")
    p.add_argument("--vision-intermediate", type=int, default=1024, help="CLIP MLP width (default 1024)")
    p.add_argument("--vision-layers", type=int, default=7,
                   help="CLIP layers stored; the last is not run, as select -2 (default 7)")
    p.add_argument("--image-size", type=int, default=224, help="input side (default 224)")
    p.add_argument("--patch-size", type=int, default=14, help="patch side (default 14)")
    p.add_argument("--experts", action="store_true",
                   help="HyperLLaVA: both visual experts and the language expert")
    p.add_argument("--expert-embed", type=int, default=64, help="d_e (default 64)")
    p.add_argument("--expert-hidden", type=int, default=64, help="hypernetwork width h (default 64)")
    p.add_argument("--expert-rank", type=int, default=16, help="adapter rank r (default 16)")
    p.add_argument("--guide-layer", type=int, default=0, help="first posterior block (default layers/2)")
    p.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32", help="stored dtype (default f32)")
    p.add_argument("--tokenizer", default=os.path.join(REPO, "tests/fixtures/models/llava/model.h5"),
                   help="weight file whose /tokenizer group is copied (default: the llava fixture)")
    p.add_argument("--sp-model", default=None, help="a SentencePiece tokenizer.model instead of --tokenizer")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    checks = [
        (a.hidden % a.heads == 0, "--hidden must be a multiple of --heads"),
        ((a.hidden // a.heads) % 2 == 0, "the LLaMA head width must be even (RoPE)"),
        (a.vision_hidden % a.vision_heads == 0, "--vision-hidden must be a multiple of --vision-heads"),
        (a.image_size % a.patch_size == 0, "--image-size must be a multiple of --patch-size"),
        (a.vision_layers >= 2, "--vision-layers must be at least 2"),
        (min(a.hidden, a.intermediate, a.layers, a.vocab, a.context, a.vision_intermediate) > 0,
         "dimensions must be positive"),
        (not a.experts or 0 < (a.guide_layer or a.layers // 2) < a.layers,
         "--guide-layer must be inside (0, layers)"),
    ]
    for ok, msg in checks:
        if not ok:
            p.error(msg)
    return a


def load_tokenizer(a):
    """(pieces bytes, offsets, scores, types, attrs) from --sp-model or --tokenizer."""
    if a.sp_model:
        from spmodel import SpModelError, load_bpe  # noqa: E402
        try:
            m = load_bpe(a.sp_model)
        except SpModelError as e:
            sys.exit(f"make_synthetic_model.py: {e}")
        t, nm = m["trainer"], m["normalizer"]
        offsets = np.zeros(len(m["pieces"]) + 1, np.int64)
        offsets[1:] = np.cumsum([len(p) for p in m["pieces"]])
        attrs = {"model_type": t["model_type"], "add_dummy_prefix": nm["add_dummy_prefix"],
                 "remove_extra_whitespaces": nm["remove_extra_whitespaces"],
                 "escape_whitespaces": nm["escape_whitespaces"], "byte_fallback": t["byte_fallback"],
                 "unk_id": t["unk_id"], "bos_id": t["bos_id"], "eos_id": t["eos_id"], "pad_id": t["pad_id"]}
        return (np.frombuffer(b"".join(m["pieces"]), np.uint8), offsets,
                np.array(m["scores"], np.float32), np.array(m["types"], np.int32), attrs)
    try:
        with h5py.File(a.tokenizer, "r") as f:
            g = f["tokenizer"]
            return (g["pieces"][()], g["offsets"][()], g["scores"][()], g["types"][()],
                    {k: int(v) for k, v in g.attrs.items()})
    except (OSError, KeyError) as e:
        sys.exit(f"make_synthetic_model.py: {a.tokenizer}: no readable /tokenizer group ({e})")


class Writer:
    def __init__(self, f, dtype, rng):
        self.f, self.dtype, self.rng, self.values = f, dtype, rng, 0

    def put(self, name, x):
        x = np.asarray(x, np.float32)
        self.values += x.size
        if self.dtype == "bf16":
            ds = self.f.create_dataset(name, data=to_bf16(x))
            ds.attrs["dtype"] = "bf16"
        elif self.dtype == "f16":
            self.f.create_dataset(name, data=x.astype(np.float16))
        else:
            self.f.create_dataset(name, data=x)

    def rand(self, name, shape, scale):
        """Normal values of standard deviation `scale` (1/sqrt(fan-in) for weights,
        so activations keep their size through the layers)."""
        self.put(name, self.rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))

    def linear(self, name, n_out, n_in, bias):
        self.rand(name + ".weight", (n_out, n_in), n_in ** -0.5)
        if bias:
            self.put(name + ".bias", np.zeros(n_out, np.float32))

    def const(self, name, n, value):
        self.put(name, np.full(n, value, np.float32))


def write_model(a):
    C, Iv, P, S = a.vision_hidden, a.vision_intermediate, a.patch_size, a.image_size
    d, I, V, L = a.hidden, a.intermediate, a.vocab, a.layers
    NP = (S // P) ** 2
    de, h, r = (a.expert_embed, a.expert_hidden, a.expert_rank) if a.experts else (0, 0, 0)
    guide = (a.guide_layer or L // 2) if a.experts else 0
    name = a.name or f"synthetic-d{d}-l{L}-v{C}{'-hyper' if a.experts else ''}"
    pieces, offsets, scores, types, tok_attrs = load_tokenizer(a)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".part"
    rng = np.random.default_rng(a.seed)
    with h5py.File(tmp, "w") as f:
        attrs = {"format": "hyperllava", "format_version": 1, "model_name": name,
                 "vision_hidden": C, "vision_heads": a.vision_heads, "vision_intermediate": Iv,
                 "vision_layers": a.vision_layers, "vision_image_size": S, "vision_patch_size": P,
                 "vision_layer_norm_eps": 1e-5, "vision_select_layer": -2,
                 "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
                 "hidden": d, "heads": a.heads, "intermediate": I, "layers": L, "vocab": V,
                 "max_positions": a.context, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                 "bos_id": tok_attrs["bos_id"], "eos_id": tok_attrs["eos_id"],
                 "visual_expert": "both" if a.experts else "none", "language_expert": int(a.experts),
                 "guide_layer": guide, "expert_embed": de, "expert_hidden": h, "expert_rank": r}
        write_attrs(f, attrs)
        g = f.create_group("tokenizer")
        g.create_dataset("pieces", data=pieces)
        g.create_dataset("offsets", data=offsets)
        g.create_dataset("scores", data=scores)
        g.create_dataset("types", data=types)
        for k, v in tok_attrs.items():
            g.attrs[k] = np.int64(v)

        w = Writer(f, a.dtype, rng)
        # vision tower (CLIP ViT)
        w.rand("vision.patch_embedding.weight", (C, 3, P, P), (3 * P * P) ** -0.5)
        w.rand("vision.class_embedding", (C,), 0.02)
        w.rand("vision.position_embedding.weight", (1 + NP, C), 0.02)
        w.const("vision.pre_layrnorm.weight", C, 1.0)
        w.const("vision.pre_layrnorm.bias", C, 0.0)
        for i in range(a.vision_layers):
            p = f"vision.layers.{i}."
            for ln in ("layer_norm1", "layer_norm2"):
                w.const(p + ln + ".weight", C, 1.0)
                w.const(p + ln + ".bias", C, 0.0)
            for proj in ("q", "k", "v", "out"):
                w.linear(p + f"self_attn.{proj}_proj", C, C, True)
            w.linear(p + "mlp.fc1", Iv, C, True)
            w.linear(p + "mlp.fc2", C, Iv, True)
        # projector (mlp2x_gelu)
        w.linear("projector.0", d, C, True)
        w.linear("projector.2", d, d, True)
        # language model (LLaMA)
        w.rand("llm.embed_tokens.weight", (V, d), 0.02)
        for i in range(L):
            p = f"llm.layers.{i}."
            w.const(p + "input_layernorm.weight", d, 1.0)
            w.const(p + "post_attention_layernorm.weight", d, 1.0)
            for proj in ("q", "k", "v", "o"):
                w.linear(p + f"self_attn.{proj}_proj", d, d, False)
            w.linear(p + "mlp.gate_proj", I, d, False)
            w.linear(p + "mlp.up_proj", I, d, False)
            w.linear(p + "mlp.down_proj", d, I, False)
        w.const("llm.norm.weight", d, 1.0)
        w.linear("llm.lm_head", V, d, False)
        # experts (HyperLLaVA): small outputs so the adapters perturb, not swamp
        if a.experts:
            for ex, n_in in (("v1", C), ("v2", d)):
                K = r * n_in + d * r
                w.linear(f"expert.{ex}.enc", de, C, True)
                w.linear(f"expert.{ex}.hyper.0", h, de, True)
                w.rand(f"expert.{ex}.hyper.1.weight", (K, h), 0.01 * h ** -0.5)
                w.put(f"expert.{ex}.hyper.1.bias", np.zeros(K, np.float32))
                w.rand(f"expert.{ex}.static", (K,), 0.01)
            K = 2 * r * d
            w.linear("expert.lang.hyper.0", h, de, True)
            w.rand("expert.lang.hyper.1.weight", (K, h), 0.01 * h ** -0.5)
            w.put("expert.lang.hyper.1.bias", np.zeros(K, np.float32))
            for n in range(guide, L):
                w.linear(f"expert.lang.layers.{n}.enc", de, d, True)
                w.rand(f"expert.lang.layers.{n}.static", (K,), 0.01)
        values = w.values
    os.replace(tmp, a.out)
    return name, values


def main(argv=None):
    a = parse_args(argv)
    t0 = time.time()
    name, values = write_model(a)
    size = os.path.getsize(a.out)
    print(f"{a.out}: {name}, {values / 1e6:.1f} M parameters, {size / 2**20:.0f} MiB ({a.dtype}), "
          f"written in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
