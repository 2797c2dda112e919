"""PyTorch reference of HyperLLaVA / LLaVA-1.5: the executable form of docs/model.md.

The C engine must reproduce what this module computes. Standard parts come from
Hugging Face transformers 4.37.2 (CLIPVisionModel, LlamaForCausalLM, their
attention and rotary modules, LlamaTokenizer, CLIPImageProcessor); the parts
that HyperLLaVA adds (visual and language experts) are written out here, and
the LLaMA decoder loop is driven block by block so the language expert is added
exactly where docs/model.md §5 puts it. Everything runs in float32 on the CPU.

It also reads and writes the project's HDF5 weight file (docs/weight-file.md),
which is how the golden fixtures and the converters produce models.

    python tests/reference/hyperllava_ref.py --model M.h5 --image I.jpg --prompt "What is it?"

Public API (used by make_fixtures.py, train_demo.py and the converters):
    Config                       the root attributes of a weight file
    HyperLlava(cfg)              the model; .tensors() / .load_tensors() use weight-file names
    load_h5(path) -> (model, tokenizer)
    save_h5(model, path, tokenizer_model, dtype="f32")
    ref_from_hf_modules(clip, llama, projector, experts=None, **cfg_overrides) -> HyperLlava
    load_image(path, cfg) -> pixels [3,S,S]
    build_prompt(question) / tokenizer_image_token(prompt, tok) -> ids with IMAGE_TOKEN_INDEX
    HyperLlava.run(ids, pixels, max_new_tokens) -> dict of every intermediate and the tokens
"""
import argparse
import dataclasses
import math
import os
import tempfile
from typing import Dict, List, Optional

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

IMAGE_TOKEN_INDEX = -200
SYSTEM_PROMPT = ("A chat between a curious user and an artificial intelligence assistant. "
                 "The assistant gives helpful, detailed, and polite answers to the user's questions.")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
GUIDANCE_EPS = 1e-6
VISUAL_EXPERTS = {"none": (), "layer1": ("v1",), "layer2": ("v2",), "both": ("v1", "v2")}


# --------------------------------------------------------------------------
# Configuration (root attributes of the weight file)

@dataclasses.dataclass
class Config:
    model_name: str = "hyperllava"
    vision_hidden: int = 1024
    vision_heads: int = 16
    vision_intermediate: int = 4096
    vision_layers: int = 24
    vision_image_size: int = 336
    vision_patch_size: int = 14
    vision_layer_norm_eps: float = 1e-5
    vision_select_layer: int = -2
    image_mean: tuple = CLIP_MEAN
    image_std: tuple = CLIP_STD
    hidden: int = 4096
    heads: int = 32
    intermediate: int = 11008
    layers: int = 32
    vocab: int = 32000
    max_positions: int = 4096
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    bos_id: int = 1
    eos_id: int = 2
    visual_expert: str = "none"
    language_expert: int = 0
    guide_layer: int = 0
    expert_embed: int = 0
    expert_hidden: int = 0
    expert_rank: int = 0

    @property
    def patches(self):
        return (self.vision_image_size // self.vision_patch_size) ** 2

    def check(self):
        if self.visual_expert not in VISUAL_EXPERTS:
            raise ValueError(f"visual_expert: {self.visual_expert!r} is not one of {list(VISUAL_EXPERTS)}")
        if self.vision_image_size % self.vision_patch_size:
            raise ValueError("vision_image_size must be a multiple of vision_patch_size")
        if self.hidden % self.heads or (self.hidden // self.heads) % 2:
            raise ValueError("hidden/heads must be an even head dimension")
        if self.vision_hidden % self.vision_heads:
            raise ValueError("vision_hidden must be a multiple of vision_heads")
        if self.language_expert and not 1 <= self.guide_layer < self.layers:
            raise ValueError("guide_layer must be in [1, layers) with a language expert")
        if not self.language_expert and self.guide_layer:
            raise ValueError("guide_layer must be 0 without a language expert")
        if (self.visual_expert != "none" or self.language_expert) and not (
                self.expert_embed and self.expert_hidden and self.expert_rank):
            raise ValueError("expert_embed, expert_hidden and expert_rank must be set with an expert")
        if not -(self.vision_layers + 1) <= self.vision_select_layer <= self.vision_layers:
            raise ValueError("vision_select_layer out of range")

    def posterior_layers(self):
        return list(range(self.guide_layer, self.layers)) if self.language_expert else []


# --------------------------------------------------------------------------
# Experts (docs/model.md §4)

def guidance_vector(rows: torch.Tensor) -> torch.Tensor:
    """Mean over the guidance rows, then RMS-normalised."""
    g = rows.mean(dim=0)
    return g / torch.sqrt((g * g).mean() + GUIDANCE_EPS)


class Adapter:
    """One generated adapter: E(x) = W_u silu(W_d x)."""

    def __init__(self, k: torch.Tensor, rank: int, n_in: int, n_out: int):
        assert k.numel() == rank * n_in + n_out * rank
        self.w_d = k[:rank * n_in].view(rank, n_in)
        self.w_u = k[rank * n_in:].view(n_out, rank)

    def __call__(self, x):
        return F.linear(F.silu(F.linear(x, self.w_d)), self.w_u)


def _hypernet(embed, hidden, k):
    # Two linear layers and no activation, as the paper writes it.
    return nn.Sequential(nn.Linear(embed, hidden), nn.Linear(hidden, k))


class VisualExpert(nn.Module):
    """E_V1 (n_in = C_v) or E_V2 (n_in = d); both read the C_v-wide guidance f_V."""

    def __init__(self, guide_dim, n_in, n_out, embed, hidden, rank):
        super().__init__()
        self.rank, self.n_in, self.n_out = rank, n_in, n_out
        k = rank * n_in + n_out * rank
        self.enc = nn.Linear(guide_dim, embed)
        self.hyper = _hypernet(embed, hidden, k)
        self.static = nn.Parameter(torch.zeros(k))

    def generate(self, g):
        return Adapter(self.hyper(self.enc(g)) + self.static, self.rank, self.n_in, self.n_out)


class LanguageLayer(nn.Module):
    def __init__(self, d, embed, k):
        super().__init__()
        self.enc = nn.Linear(d, embed)
        self.static = nn.Parameter(torch.zeros(k))


class LanguageExpert(nn.Module):
    """One hypernetwork shared by the posterior blocks; encoder and static vector per block."""

    def __init__(self, d, embed, hidden, rank, posterior):
        super().__init__()
        self.rank, self.d = rank, d
        k = 2 * rank * d
        self.hyper = _hypernet(embed, hidden, k)
        self.layers = nn.ModuleDict({str(n): LanguageLayer(d, embed, k) for n in posterior})

    def generate(self, g):
        out = {}
        for n, layer in self.layers.items():
            out[int(n)] = Adapter(self.hyper(layer.enc(g)) + layer.static, self.rank, self.d, self.d)
        return out


# --------------------------------------------------------------------------
# The model

def _hf_configs(cfg: Config):
    from transformers import CLIPVisionConfig, LlamaConfig
    vcfg = CLIPVisionConfig(
        hidden_size=cfg.vision_hidden, intermediate_size=cfg.vision_intermediate,
        num_hidden_layers=cfg.vision_layers, num_attention_heads=cfg.vision_heads,
        image_size=cfg.vision_image_size, patch_size=cfg.vision_patch_size, num_channels=3,
        hidden_act="quick_gelu", layer_norm_eps=cfg.vision_layer_norm_eps, attention_dropout=0.0)
    lcfg = LlamaConfig(
        vocab_size=cfg.vocab, hidden_size=cfg.hidden, intermediate_size=cfg.intermediate,
        num_hidden_layers=cfg.layers, num_attention_heads=cfg.heads, num_key_value_heads=cfg.heads,
        hidden_act="silu", max_position_embeddings=cfg.max_positions, rms_norm_eps=cfg.rms_norm_eps,
        rope_theta=cfg.rope_theta, rope_scaling=None, attention_bias=False, attention_dropout=0.0,
        tie_word_embeddings=False, pretraining_tp=1, bos_token_id=cfg.bos_id, eos_token_id=cfg.eos_id,
        pad_token_id=None)
    vcfg._attn_implementation = "eager"
    lcfg._attn_implementation = "eager"
    return vcfg, lcfg


def _h5_name(hf_name: str) -> Optional[str]:
    """Weight-file name of a parameter of HyperLlava (None: not stored)."""
    n = hf_name
    if n.startswith("clip.vision_model."):
        n = n[len("clip.vision_model."):]
        if n.startswith("post_layernorm."):
            return None  # LLaVA never uses it
        n = n.replace("embeddings.", "", 1) if n.startswith("embeddings.") else n
        n = n.replace("encoder.layers.", "layers.", 1) if n.startswith("encoder.layers.") else n
        return "vision." + n
    if n.startswith("llm.model."):
        return "llm." + n[len("llm.model."):]
    if n == "llm.lm_head.weight":
        return "llm.lm_head.weight"
    if n.startswith("projector.") or n.startswith("expert."):
        return n
    raise KeyError(hf_name)


class HyperLlava(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        from transformers import CLIPVisionModel, LlamaForCausalLM
        cfg.check()
        self.cfg = cfg
        vcfg, lcfg = _hf_configs(cfg)
        self.clip = CLIPVisionModel(vcfg)
        self.llm = LlamaForCausalLM(lcfg)
        d, cv = cfg.hidden, cfg.vision_hidden
        self.projector = nn.Sequential(nn.Linear(cv, d), nn.GELU(), nn.Linear(d, d))
        ex = {}
        e, h, r = cfg.expert_embed, cfg.expert_hidden, cfg.expert_rank
        if "v1" in VISUAL_EXPERTS[cfg.visual_expert]:
            ex["v1"] = VisualExpert(cv, cv, d, e, h, r)
        if "v2" in VISUAL_EXPERTS[cfg.visual_expert]:
            ex["v2"] = VisualExpert(cv, d, d, e, h, r)
        if cfg.language_expert:
            ex["lang"] = LanguageExpert(d, e, h, r, cfg.posterior_layers())
        self.expert = nn.ModuleDict(ex)
        self.float().eval()

    # ---- weights by weight-file name

    def tensors(self) -> Dict[str, torch.Tensor]:
        out = {}
        for name, p in self.named_parameters():
            key = _h5_name(name)
            if key is not None:
                out[key] = p.detach()
        return out

    def load_tensors(self, tensors: Dict[str, torch.Tensor]):
        params = dict(self.named_parameters())
        expected = {}
        for name, p in params.items():
            key = _h5_name(name)
            if key is not None:
                expected[key] = p
        missing = sorted(set(expected) - set(tensors))
        extra = sorted(set(tensors) - set(expected))
        if missing or extra:
            raise ValueError(f"tensor names differ: missing {missing[:5]}, unexpected {extra[:5]}")
        with torch.no_grad():
            for key, p in expected.items():
                t = torch.as_tensor(tensors[key])
                if tuple(t.shape) != tuple(p.shape):
                    raise ValueError(f"{key}: shape {tuple(t.shape)}, expected {tuple(p.shape)}")
                p.copy_(t.to(torch.float32))
            post = self.clip.vision_model.post_layernorm
            post.weight.fill_(1.0)
            post.bias.zero_()

    # ---- stages

    @torch.no_grad()
    def vision_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """f_V: hidden states of layer select_layer, class token dropped. [patches, C_v]"""
        out = self.clip.vision_model(pixel_values=pixels[None].float(), output_hidden_states=True)
        return out.hidden_states[self.cfg.vision_select_layer][0, 1:]

    @torch.no_grad()
    def project(self, fv: torch.Tensor, trace: Optional[dict] = None) -> torch.Tensor:
        """Projector with visual experts (docs/model.md §3). [patches, d]"""
        l1 = F.gelu(self.projector[0](fv))
        a = l1
        if "v1" in self.expert or "v2" in self.expert:
            g = guidance_vector(fv)
            if trace is not None:
                trace["visual_guidance"] = g
        if "v1" in self.expert:
            ad = self.expert["v1"].generate(g)
            a = a + ad(fv)
            if trace is not None:
                trace["v1.w_d"], trace["v1.w_u"] = ad.w_d, ad.w_u
        v = self.projector[2](a)
        if "v2" in self.expert:
            ad = self.expert["v2"].generate(g)
            v = v + ad(l1)
            if trace is not None:
                trace["v2.w_d"], trace["v2.w_u"] = ad.w_d, ad.w_u
        return v

    def embed(self, ids: List[int], visual: Optional[torch.Tensor]) -> torch.Tensor:
        """Token embeddings with the visual tokens spliced in at IMAGE_TOKEN_INDEX. [T, d]"""
        emb = self.llm.model.embed_tokens
        parts, run = [], []
        n_images = 0
        for t in ids:
            if t == IMAGE_TOKEN_INDEX:
                if run:
                    parts.append(emb(torch.tensor(run)))
                    run = []
                if visual is None:
                    raise ValueError("the prompt has an image token but no image was given")
                parts.append(visual)
                n_images += 1
            else:
                run.append(t)
        if run:
            parts.append(emb(torch.tensor(run)))
        if n_images > 1:
            raise ValueError("at most one image per prompt")
        return torch.cat(parts, dim=0)

    def _block(self, n, x, mask, pos, cache, adapters):
        layer = self.llm.model.layers[n]
        a = layer.self_attn(hidden_states=layer.input_layernorm(x), attention_mask=mask, position_ids=pos,
                            past_key_value=cache, use_cache=True)[0]
        h = x + a
        out = h + layer.mlp(layer.post_attention_layernorm(h))
        if n in adapters:
            out = out + adapters[n](h)
        return out

    @torch.no_grad()
    def decoder(self, x, start, cache, adapters, trace=None):
        """Run the blocks over x [T, d] at positions start.. ; generates the language
        adapters (into `adapters`) when they are not there yet. Returns logits [T, V]."""
        t = x.shape[0]
        total = start + t
        mask = torch.zeros(1, 1, t, total)
        if t > 1:
            causal = torch.triu(torch.ones(t, total, dtype=torch.bool), diagonal=start + 1)
            mask = mask.masked_fill(causal, torch.finfo(torch.float32).min)
        pos = torch.arange(start, total)[None]
        h = x[None]
        for n in range(self.cfg.layers):
            if "lang" in self.expert and n == self.cfg.guide_layer and not adapters:
                # G_L: the output of block guide_layer-1 over the prompt positions.
                g = guidance_vector(h[0])
                adapters.update(self.expert["lang"].generate(g))
                if trace is not None:
                    trace["language_guidance"] = g
                    for m, ad in adapters.items():
                        trace[f"lang.{m}.w_d"], trace[f"lang.{m}.w_u"] = ad.w_d, ad.w_u
            h = self._block(n, h, mask, pos, cache, adapters)
        h = self.llm.model.norm(h)
        return self.llm.lm_head(h)[0]

    @torch.no_grad()
    def run(self, ids: List[int], pixels: Optional[torch.Tensor], max_new_tokens: int) -> dict:
        """Prefill + greedy decoding with a KV cache. Returns every intermediate:
        vision_features, projector, guidance and adapters, logits [T,V] of the prompt,
        tokens (generated ids, EOS included when produced), gaps (top1-top2 logit gap
        of each greedy step)."""
        from transformers.cache_utils import DynamicCache
        trace = {}
        visual = None
        if pixels is not None:
            fv = self.vision_features(pixels)
            trace["vision_features"] = fv
            visual = self.project(fv, trace)
            trace["projector"] = visual
        x = self.embed(ids, visual)
        if x.shape[0] + max_new_tokens > self.cfg.max_positions:
            raise ValueError(f"prompt of {x.shape[0]} positions + {max_new_tokens} new tokens exceeds "
                             f"max_positions {self.cfg.max_positions}")
        cache = DynamicCache()
        adapters = {}
        logits = self.decoder(x, 0, cache, adapters, trace)
        trace["logits"] = logits
        pos = x.shape[0]
        last = logits[-1]
        tokens, gaps = [], []
        for _ in range(max_new_tokens):
            top = torch.topk(last, 2).values
            gaps.append(float(top[0] - top[1]))
            tok = int(torch.argmax(last))
            tokens.append(tok)
            if tok == self.cfg.eos_id:
                break
            e = self.llm.model.embed_tokens(torch.tensor([tok]))
            last = self.decoder(e, pos, cache, adapters)[-1]
            pos += 1
        trace["tokens"] = tokens
        trace["gaps"] = gaps
        return trace


# --------------------------------------------------------------------------
# Images (docs/model.md §1), prompt and tokens (docs/model.md §6)

def expand2square(img: Image.Image, background) -> Image.Image:
    w, h = img.size
    if w == h:
        return img
    s = max(w, h)
    out = Image.new(img.mode, (s, s), background)
    out.paste(img, ((s - w) // 2, (s - h) // 2))
    return out


def load_image(path: str, cfg: Config) -> torch.Tensor:
    """LLaVA-1.5 preprocessing (image_aspect_ratio pad). [3, S, S] float32"""
    from transformers import CLIPImageProcessor
    from transformers.image_utils import PILImageResampling
    s = cfg.vision_image_size
    mean, std = list(cfg.image_mean), list(cfg.image_std)
    img = Image.open(path).convert("RGB")
    img = expand2square(img, tuple(int(x * 255) for x in mean))
    proc = CLIPImageProcessor(size={"shortest_edge": s}, crop_size={"height": s, "width": s},
                              do_resize=True, do_center_crop=True, do_rescale=True, do_normalize=True,
                              do_convert_rgb=True, image_mean=mean, image_std=std,
                              resample=PILImageResampling.BICUBIC)
    px = proc.preprocess(img, return_tensors="pt")["pixel_values"][0]
    return px.float()


def build_prompt(question: str) -> str:
    """vicuna_v1 single turn; `question` already carries any benchmark suffix."""
    return f"{SYSTEM_PROMPT} USER: <image>\n{question} ASSISTANT:"


def tokenizer_image_token(prompt: str, tok) -> List[int]:
    """LLaVA's splice rule: tokenize the chunks around <image> separately (each with
    BOS), keep the first chunk's BOS only, put IMAGE_TOKEN_INDEX between chunks."""
    chunks = [tok(c).input_ids for c in prompt.split("<image>")]
    skip = 1 if chunks and chunks[0] and chunks[0][0] == tok.bos_token_id else 0
    ids = [tok.bos_token_id] if skip else []
    for i, c in enumerate(chunks):
        if i:
            ids.append(IMAGE_TOKEN_INDEX)
        ids.extend(c[skip:])
    return ids


def decode_answer(tok, tokens: List[int]) -> str:
    return tok.decode(tokens, skip_special_tokens=True).strip()


def make_tokenizer(model_file: str):
    from transformers import LlamaTokenizer
    return LlamaTokenizer(vocab_file=model_file, legacy=False)


# --------------------------------------------------------------------------
# Tokenizer group <-> SentencePiece ModelProto

def _model_pb2():
    # transformers' copy of the proto, so this coexists with LlamaTokenizer(legacy=False).
    from transformers.convert_slow_tokenizer import import_protobuf
    return import_protobuf()


def tokenizer_arrays(model_bytes: bytes):
    """Flatten a tokenizer.model into the weight file's /tokenizer datasets and attributes."""
    m = _model_pb2().ModelProto.FromString(model_bytes)
    if m.trainer_spec.model_type != 2:
        raise ValueError("tokenizer: only BPE SentencePiece models are supported")
    if m.normalizer_spec.name != "identity":
        raise ValueError(f"tokenizer: normalizer {m.normalizer_spec.name!r} is not 'identity'")
    data = [p.piece.encode("utf-8") for p in m.pieces]
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in data])
    arrays = {
        "pieces": np.frombuffer(b"".join(data), dtype=np.uint8).copy(),
        "offsets": offsets,
        "scores": np.array([p.score for p in m.pieces], dtype=np.float32),
        "types": np.array([p.type for p in m.pieces], dtype=np.int32),
    }
    ns, ts = m.normalizer_spec, m.trainer_spec
    attrs = {
        "model_type": ts.model_type, "add_dummy_prefix": int(ns.add_dummy_prefix),
        "remove_extra_whitespaces": int(ns.remove_extra_whitespaces),
        "escape_whitespaces": int(ns.escape_whitespaces), "byte_fallback": int(ts.byte_fallback),
        "unk_id": ts.unk_id, "bos_id": ts.bos_id, "eos_id": ts.eos_id, "pad_id": ts.pad_id,
    }
    return arrays, attrs


def tokenizer_model_bytes(arrays, attrs) -> bytes:
    """Rebuild a SentencePiece ModelProto from the /tokenizer group."""
    pb = _model_pb2()
    m = pb.ModelProto()
    raw = bytes(np.asarray(arrays["pieces"], dtype=np.uint8))
    off = np.asarray(arrays["offsets"])
    for i in range(len(off) - 1):
        p = m.pieces.add()
        p.piece = raw[off[i]:off[i + 1]].decode("utf-8")
        p.score = float(arrays["scores"][i])
        p.type = int(arrays["types"][i])
    ts = m.trainer_spec
    ts.model_type = int(attrs["model_type"])
    ts.byte_fallback = bool(attrs["byte_fallback"])
    ts.vocab_size = len(off) - 1
    for k in ("unk_id", "bos_id", "eos_id", "pad_id"):
        setattr(ts, k, int(attrs[k]))
    ns = m.normalizer_spec
    ns.name = "identity"
    ns.add_dummy_prefix = bool(attrs["add_dummy_prefix"])
    ns.remove_extra_whitespaces = bool(attrs["remove_extra_whitespaces"])
    ns.escape_whitespaces = bool(attrs["escape_whitespaces"])
    return m.SerializeToString()


# --------------------------------------------------------------------------
# HDF5 weight file (docs/weight-file.md)

_INT_ATTRS = ("vision_hidden", "vision_heads", "vision_intermediate", "vision_layers", "vision_image_size",
              "vision_patch_size", "vision_select_layer", "hidden", "heads", "intermediate", "layers", "vocab",
              "max_positions", "bos_id", "eos_id", "language_expert", "guide_layer", "expert_embed",
              "expert_hidden", "expert_rank")
_REAL_ATTRS = ("vision_layer_norm_eps", "rms_norm_eps", "rope_theta")


def to_bf16_bits(t: torch.Tensor) -> np.ndarray:
    """Round to bfloat16 (nearest even) and return the raw bits as uint16."""
    return t.detach().to(torch.float32).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def from_bf16_bits(a: np.ndarray) -> np.ndarray:
    return (np.asarray(a, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def save_h5(model: HyperLlava, path: str, tokenizer_model, dtype: str = "f32"):
    """Write `model` as a weight file. tokenizer_model: path of a tokenizer.model or its bytes."""
    if dtype not in ("f32", "f16", "bf16"):
        raise ValueError(f"dtype {dtype!r}")
    if isinstance(tokenizer_model, (str, os.PathLike)):
        with open(tokenizer_model, "rb") as f:
            tokenizer_model = f.read()
    arrays, tattrs = tokenizer_arrays(tokenizer_model)
    cfg = model.cfg
    if len(arrays["scores"]) > cfg.vocab:
        # More rows than pieces is fine (llava-hf pads the vocabulary to 32064).
        raise ValueError(f"tokenizer has {len(arrays['scores'])} pieces, model vocab is only {cfg.vocab}")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "hyperllava"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["model_name"] = cfg.model_name
        for k in _INT_ATTRS:
            f.attrs[k] = np.int64(getattr(cfg, k))
        for k in _REAL_ATTRS:
            f.attrs[k] = np.float64(getattr(cfg, k))
        f.attrs["image_mean"] = np.asarray(cfg.image_mean, dtype=np.float64)
        f.attrs["image_std"] = np.asarray(cfg.image_std, dtype=np.float64)
        f.attrs["visual_expert"] = cfg.visual_expert
        for name, t in model.tensors().items():
            if dtype == "f32":
                f.create_dataset(name, data=t.numpy().astype(np.float32))
            elif dtype == "f16":
                f.create_dataset(name, data=t.numpy().astype(np.float16))
            else:
                ds = f.create_dataset(name, data=to_bf16_bits(t))
                ds.attrs["dtype"] = "bf16"
        g = f.create_group("tokenizer")
        for k, a in arrays.items():
            g.create_dataset(k, data=a)
        for k, v in tattrs.items():
            g.attrs[k] = np.int64(v)


def _attr_str(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def read_config(f: h5py.File) -> Config:
    a = f.attrs
    if _attr_str(a.get("format", "")) != "hyperllava":
        raise ValueError(f"{f.filename}: not a hyperllava weight file")
    kw = {k: int(a[k]) for k in _INT_ATTRS}
    kw.update({k: float(a[k]) for k in _REAL_ATTRS})
    kw["model_name"] = _attr_str(a["model_name"])
    kw["visual_expert"] = _attr_str(a["visual_expert"])
    kw["image_mean"] = tuple(float(x) for x in a["image_mean"])
    kw["image_std"] = tuple(float(x) for x in a["image_std"])
    return Config(**kw)


def read_tensor(ds) -> np.ndarray:
    """A dataset as float32 (bf16 and f16 upcast exactly)."""
    if _attr_str(ds.attrs.get("dtype", "")) == "bf16":
        return from_bf16_bits(ds[()])
    return np.asarray(ds[()]).astype(np.float32)


def load_h5(path: str):
    """Read a weight file: (HyperLlava in float32, LlamaTokenizer)."""
    with h5py.File(path, "r") as f:
        cfg = read_config(f)
        tensors = {k: torch.from_numpy(read_tensor(f[k])) for k in f.keys()
                   if isinstance(f[k], h5py.Dataset)}
        g = f["tokenizer"]
        tok_bytes = tokenizer_model_bytes({k: g[k][()] for k in g.keys()}, dict(g.attrs))
    model = HyperLlava(cfg)
    model.load_tensors(tensors)
    with tempfile.NamedTemporaryFile(suffix=".model", delete=False) as t:
        t.write(tok_bytes)
    try:
        tok = make_tokenizer(t.name)
    finally:
        os.unlink(t.name)
    return model, tok


# --------------------------------------------------------------------------
# Building from Hugging Face modules (for the converters)

def ref_from_hf_modules(clip, llama, projector, experts=None, **cfg_overrides) -> HyperLlava:
    """A HyperLlava holding copies of Hugging Face modules' weights.

    clip: CLIPVisionModel (or its .vision_model); llama: LlamaForCausalLM;
    projector: nn.Sequential(Linear, GELU, Linear) (LLaVA's mm_projector);
    experts: {weight-file name: tensor} for the `expert.*` tensors, or None.
    cfg_overrides: Config fields that HF configs do not carry (vision_select_layer,
    image_mean, image_std, visual_expert, language_expert, guide_layer, expert_embed,
    expert_hidden, expert_rank, model_name, max_positions, vision_layers...).
    Extra vision layers beyond cfg_overrides['vision_layers'] are dropped; vision_select_layer
    indexes the hidden-state list of the layers kept (dropping the last of 24 layers turns
    LLaVA's -2 into -1)."""
    vm = getattr(clip, "vision_model", clip)
    vc, lc = vm.config, llama.config
    if lc.num_key_value_heads != lc.num_attention_heads:
        raise ValueError("grouped-query attention is not supported")
    cfg = Config(
        vision_hidden=vc.hidden_size, vision_heads=vc.num_attention_heads,
        vision_intermediate=vc.intermediate_size, vision_layers=vc.num_hidden_layers,
        vision_image_size=vc.image_size, vision_patch_size=vc.patch_size,
        vision_layer_norm_eps=vc.layer_norm_eps, hidden=lc.hidden_size, heads=lc.num_attention_heads,
        intermediate=lc.intermediate_size, layers=lc.num_hidden_layers, vocab=lc.vocab_size,
        max_positions=lc.max_position_embeddings, rms_norm_eps=lc.rms_norm_eps,
        rope_theta=float(getattr(lc, "rope_theta", 10000.0)),
        bos_id=lc.bos_token_id if lc.bos_token_id is not None else 1,
        eos_id=lc.eos_token_id if lc.eos_token_id is not None else 2)
    cfg = dataclasses.replace(cfg, **cfg_overrides)
    model = HyperLlava(cfg)
    tensors = {}
    for name, p in vm.named_parameters():
        key = _h5_name("clip.vision_model." + name)
        if key is None:
            continue
        if key.startswith("vision.layers."):
            if int(key.split(".")[2]) >= cfg.vision_layers:
                continue
        tensors[key] = p.detach().float()
    for name, p in llama.named_parameters():
        tensors[_h5_name("llm." + name)] = p.detach().float()
    if "llm.lm_head.weight" not in tensors:
        raise ValueError("llama has no separate lm_head weight")
    tensors["projector.0.weight"] = projector[0].weight.detach().float()
    tensors["projector.0.bias"] = projector[0].bias.detach().float()
    tensors["projector.2.weight"] = projector[2].weight.detach().float()
    tensors["projector.2.bias"] = projector[2].bias.detach().float()
    for k, v in (experts or {}).items():
        if not k.startswith("expert."):
            raise ValueError(f"expert tensor {k!r} must be named expert.*")
        tensors[k] = torch.as_tensor(v).detach().float()
    model.load_tensors(tensors)
    return model


# --------------------------------------------------------------------------
# One question end to end

def answer(model: HyperLlava, tok, image: Optional[str], question: str, max_new_tokens: int = 64):
    """Returns (answer text, trace) for one image + question, greedy."""
    if image is not None:
        prompt = build_prompt(question)
        pixels = load_image(image, model.cfg)
    else:
        prompt = f"{SYSTEM_PROMPT} USER: {question} ASSISTANT:"
        pixels = None
    ids = tokenizer_image_token(prompt, tok)
    trace = model.run(ids, pixels, max_new_tokens)
    trace["ids"], trace["prompt"], trace["pixels"] = ids, prompt, pixels
    return decode_answer(tok, trace["tokens"]), trace


def main():
    ap = argparse.ArgumentParser(description="Answer one question with the reference model.")
    ap.add_argument("--model", required=True, help="weight file (.h5)")
    ap.add_argument("--image", help="image file (JPEG/PNG); omit for a text-only prompt")
    ap.add_argument("--prompt", required=True, help="the user question (with any suffix)")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    model, tok = load_h5(args.model)
    text, _ = answer(model, tok, args.image, args.prompt, args.max_new_tokens)
    print(text)


if __name__ == "__main__":
    main()
