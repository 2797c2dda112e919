"""Check the reference and its fixtures against a second, independent implementation.

The model math of docs/model.md is written out again here in float64 from the raw
weight-file tensors (no transformers modules, no KV cache): vision tower,
projector with experts, LLaMA with RoPE and the language expert. For every
fixture case it recomputes the prompt logits, the stage outputs and the greedy
tokens (one full forward over prompt + generated tokens), the pixels (Pillow
directly) and the ids (the sentencepiece library on each chunk), and compares
them with golden.h5.

    tests/reference/.venv/bin/python tests/reference/selfcheck.py [NAME ...]
"""
import math
import os
import sys

import h5py
import numpy as np
import sentencepiece as spm
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hyperllava_ref as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "tests/fixtures/models")
D = torch.float64


def load_raw(path):
    with h5py.File(path, "r") as f:
        cfg = ref.read_config(f)
        t = {k: torch.from_numpy(ref.read_tensor(f[k])).to(D) for k in f.keys() if isinstance(f[k], h5py.Dataset)}
    return cfg, t


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def lin(x, t, name, bias=True):
    y = x @ t[name + ".weight"].T
    return y + t[name + ".bias"] if bias else y


def mha(q, k, v, heads, causal):
    n, c = q.shape
    hd = c // heads
    q = q.view(n, heads, hd).transpose(0, 1)
    k = k.view(-1, heads, hd).transpose(0, 1)
    v = v.view(-1, heads, hd).transpose(0, 1)
    s = q @ k.transpose(1, 2) / math.sqrt(hd)
    if causal:
        s = s.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
    return (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(n, c)


def vision(cfg, t, pixels):
    p, cv = cfg.vision_patch_size, cfg.vision_hidden
    g = cfg.vision_image_size // p
    # Patch conv as a matmul over flattened [3,P,P] patches, row-major over the grid.
    x = pixels.to(D).view(3, g, p, g, p).permute(1, 3, 0, 2, 4).reshape(g * g, 3 * p * p)
    x = x @ t["vision.patch_embedding.weight"].view(cv, -1).T
    x = torch.cat([t["vision.class_embedding"][None], x]) + t["vision.position_embedding.weight"]
    x = layer_norm(x, t["vision.pre_layrnorm.weight"], t["vision.pre_layrnorm.bias"], cfg.vision_layer_norm_eps)
    states = [x]
    for i in range(cfg.vision_layers):
        pre = f"vision.layers.{i}."
        h = layer_norm(x, t[pre + "layer_norm1.weight"], t[pre + "layer_norm1.bias"], cfg.vision_layer_norm_eps)
        a = mha(lin(h, t, pre + "self_attn.q_proj"), lin(h, t, pre + "self_attn.k_proj"),
                lin(h, t, pre + "self_attn.v_proj"), cfg.vision_heads, False)
        x = x + lin(a, t, pre + "self_attn.out_proj")
        h = layer_norm(x, t[pre + "layer_norm2.weight"], t[pre + "layer_norm2.bias"], cfg.vision_layer_norm_eps)
        h = lin(h, t, pre + "mlp.fc1")
        h = h * torch.sigmoid(1.702 * h)
        x = x + lin(h, t, pre + "mlp.fc2")
        states.append(x)
    return states[cfg.vision_select_layer][1:]


def guidance(rows):
    g = rows.mean(0)
    return g / torch.sqrt((g * g).mean() + 1e-6)


def adapter(t, enc, hyper, static, g, r, n_in, n_out):
    e = lin(g, t, enc)
    k = lin(lin(e, t, hyper + ".0"), t, hyper + ".1") + t[static]
    return k[:r * n_in].view(r, n_in), k[r * n_in:].view(n_out, r)


def apply(ad, x):
    wd, wu = ad
    h = x @ wd.T
    return (h * torch.sigmoid(h)) @ wu.T


def project(cfg, t, fv, out):
    r, cv, d = cfg.expert_rank, cfg.vision_hidden, cfg.hidden
    pre = fv @ t["projector.0.weight"].T + t["projector.0.bias"]
    l1 = 0.5 * pre * (1 + torch.erf(pre / math.sqrt(2)))
    g = guidance(fv)
    a = l1
    if cfg.visual_expert in ("layer1", "both"):
        ad = adapter(t, "expert.v1.enc", "expert.v1.hyper", "expert.v1.static", g, r, cv, d)
        out["v1.w_d"], out["v1.w_u"], out["visual_guidance"] = ad[0], ad[1], g
        a = a + apply(ad, fv)
    v = a @ t["projector.2.weight"].T + t["projector.2.bias"]
    if cfg.visual_expert in ("layer2", "both"):
        ad = adapter(t, "expert.v2.enc", "expert.v2.hyper", "expert.v2.static", g, r, d, d)
        out["v2.w_d"], out["v2.w_u"], out["visual_guidance"] = ad[0], ad[1], g
        v = v + apply(ad, l1)
    return v


def rope(x, heads, theta):
    n, c = x.shape
    hd = c // heads
    inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=D) / hd)
    ang = torch.arange(n, dtype=D)[:, None] * inv[None]
    cos, sin = torch.cos(ang)[:, None], torch.sin(ang)[:, None]
    x = x.view(n, heads, hd)
    a, b = x[..., :hd // 2], x[..., hd // 2:]  # half-split rotation (HF LLaMA layout)
    return torch.cat([a * cos - b * sin, b * cos + a * sin], -1).reshape(n, c)


def llm(cfg, t, x, n_prompt, out):
    """Full causal forward over x [n, d]; the language guidance covers the first n_prompt rows."""
    adapters = {}
    eps = cfg.rms_norm_eps
    for n in range(cfg.layers):
        if cfg.language_expert and n == cfg.guide_layer:
            g = guidance(x[:n_prompt])
            out["language_guidance"] = g
            for m in range(cfg.guide_layer, cfg.layers):
                ad = adapter(t, f"expert.lang.layers.{m}.enc", "expert.lang.hyper", f"expert.lang.layers.{m}.static",
                             g, cfg.expert_rank, cfg.hidden, cfg.hidden)
                adapters[m] = ad
                out[f"lang.{m}.w_d"], out[f"lang.{m}.w_u"] = ad
        pre = f"llm.layers.{n}."
        h = rms_norm(x, t[pre + "input_layernorm.weight"], eps)
        q = rope(lin(h, t, pre + "self_attn.q_proj", False), cfg.heads, cfg.rope_theta)
        k = rope(lin(h, t, pre + "self_attn.k_proj", False), cfg.heads, cfg.rope_theta)
        v = lin(h, t, pre + "self_attn.v_proj", False)
        h = x + lin(mha(q, k, v, cfg.heads, True), t, pre + "self_attn.o_proj", False)
        m = rms_norm(h, t[pre + "post_attention_layernorm.weight"], eps)
        gate = lin(m, t, pre + "mlp.gate_proj", False)
        m = lin((gate * torch.sigmoid(gate)) * lin(m, t, pre + "mlp.up_proj", False), t, pre + "mlp.down_proj", False)
        x = h + m
        if n in adapters:
            x = x + apply(adapters[n], h)
    x = rms_norm(x, t["llm.norm.weight"], eps)
    return x @ t["llm.lm_head.weight"].T


def pixels_pillow(path, cfg):
    s = cfg.vision_image_size
    img = Image.open(path).convert("RGB")
    w, h = img.size
    if w != h:
        side = max(w, h)
        sq = Image.new("RGB", (side, side), tuple(int(m * 255) for m in cfg.image_mean))
        sq.paste(img, ((side - w) // 2, (side - h) // 2))
        img = sq
    if img.size != (s, s):
        img = img.resize((s, s), Image.BICUBIC)
    a = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    mean = np.asarray(cfg.image_mean, dtype=np.float32)[:, None, None]
    std = np.asarray(cfg.image_std, dtype=np.float32)[:, None, None]
    return torch.from_numpy((a - mean) / std)


def rel(a, b):
    a, b = torch.as_tensor(a).to(D), torch.as_tensor(b).to(D)
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def check_model(name, sp):
    path = os.path.join(MODELS, name)
    cfg, t = load_raw(os.path.join(path, "model.h5"))
    worst = {}
    with h5py.File(os.path.join(path, "golden.h5"), "r") as g:
        for c in range(int(g.attrs["n_cases"])):
            case = g[f"case{c}"]
            image = os.path.join(ROOT, case.attrs["image"])
            prompt = case.attrs["prompt"]
            assert prompt == ref.build_prompt(case.attrs["question"]), "prompt"
            # ids: sentencepiece on each chunk, LLaVA's splice rule.
            chunks = prompt.split("<image>")
            ids = [cfg.bos_id] + sp.encode(chunks[0]) + [ref.IMAGE_TOKEN_INDEX] + sp.encode(chunks[1])
            assert ids == list(case["ids"][()]), f"{name} case{c}: ids differ from sentencepiece"
            px = pixels_pillow(image, cfg)
            worst["pixels"] = max(worst.get("pixels", 0), rel(px, case["pixels"][()]))
            out = {}
            fv = vision(cfg, t, torch.from_numpy(case["pixels"][()]))
            out["vision_features"] = fv
            out["projector"] = project(cfg, t, fv, out)
            tokens = list(case["tokens"][()])
            emb = t["llm.embed_tokens.weight"]
            cut = ids.index(ref.IMAGE_TOKEN_INDEX)
            x = torch.cat([emb[ids[:cut]], out["projector"], emb[ids[cut + 1:] + tokens[:-1]]])
            n_prompt = len(ids) - 1 + fv.shape[0]
            logits = llm(cfg, t, x, n_prompt, out)
            start = int(case.attrs["logits_start"])
            gold = case["logits"][()]
            assert gold.shape[0] == n_prompt - start, "logits rows"
            worst["logits"] = max(worst.get("logits", 0), rel(logits[start:n_prompt], gold))
            greedy = [int(i) for i in logits[n_prompt - 1:].argmax(-1)]
            assert greedy == [int(i) for i in tokens], f"{name} case{c}: greedy {greedy} != golden {tokens}"
            for k, v in out.items():
                assert k in case, f"{name} case{c}: golden lacks {k}"
                key = "lang.w" if k.startswith("lang.") else k
                worst[key] = max(worst.get(key, 0), rel(v, case[k][()]))
            extra = set(case.keys()) - set(out) - {"ids", "pixels", "logits", "tokens"}
            assert not extra, f"{name} case{c}: unexpected {extra}"
            answer = sp.decode([int(i) for i in tokens if sp.id_to_piece(int(i)) not in ("<s>", "</s>", "<unk>")]).strip()
            assert answer == case.attrs["answer"], f"{name} case{c}: answer {answer!r} != {case.attrs['answer']!r}"
    print(f"{name:10s} ok  max relative error: " + ", ".join(f"{k} {v:.1e}" for k, v in sorted(worst.items())))
    return worst


def check_hf_llava(name):
    """Expert-free models: transformers' own LlavaForConditionalGeneration (with the
    same weights) must give the golden logits and greedy tokens."""
    from transformers import LlavaConfig, LlavaForConditionalGeneration
    path = os.path.join(MODELS, name)
    model, _ = ref.load_h5(os.path.join(path, "model.h5"))
    cfg = model.cfg
    vc, lc = ref._hf_configs(cfg)
    image_id = cfg.vocab - 1  # any real id: LLaVA-HF puts the image features at its positions
    conf = LlavaConfig(vision_config=vc.to_dict(), text_config=lc.to_dict(), image_token_index=image_id,
                       projector_hidden_act="gelu", vision_feature_select_strategy="default",
                       vision_feature_layer=cfg.vision_select_layer, vocab_size=cfg.vocab)
    for c in (conf, conf.text_config, conf.vision_config):
        c._attn_implementation = "eager"
    hf = LlavaForConditionalGeneration(conf).eval()
    hf.vision_tower.load_state_dict(model.clip.state_dict())
    hf.language_model.load_state_dict(model.llm.state_dict())
    p0, p2 = model.projector[0], model.projector[2]
    hf.multi_modal_projector.load_state_dict({"linear_1.weight": p0.weight, "linear_1.bias": p0.bias,
                                              "linear_2.weight": p2.weight, "linear_2.bias": p2.bias})
    worst = 0.0
    with h5py.File(os.path.join(path, "golden.h5"), "r") as g, torch.no_grad():
        for c in range(int(g.attrs["n_cases"])):
            case = g[f"case{c}"]
            ids = torch.tensor([[image_id if i == ref.IMAGE_TOKEN_INDEX else int(i) for i in case["ids"][()]]])
            px = torch.from_numpy(case["pixels"][()])[None]
            att = torch.ones_like(ids)
            logits = hf(input_ids=ids, pixel_values=px, attention_mask=att).logits[0]
            start = int(case.attrs["logits_start"])
            worst = max(worst, rel(logits[start:], case["logits"][()]))
            gen = hf.generate(input_ids=ids, pixel_values=px, attention_mask=att, do_sample=False,
                              max_new_tokens=int(case.attrs["max_new_tokens"]), eos_token_id=cfg.eos_id,
                              pad_token_id=0)
            assert gen[0, ids.shape[1]:].tolist() == case["tokens"][()].tolist(), f"{name} case{c}: HF LLaVA tokens"
    print(f"{name:10s} ok  transformers LlavaForConditionalGeneration: logits max relative error {worst:.1e}, "
          f"tokens identical")
    return worst


def main():
    names = sys.argv[1:] or sorted(os.listdir(MODELS))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(ROOT, "tests/fixtures/tokenizers/tiny.model"))
    bad = 0
    for n in names:
        w = check_model(n, sp)
        if w["logits"] > 1e-5 or w["pixels"] > 1e-6:
            print(f"{n}: error above tolerance")
            bad += 1
        with h5py.File(os.path.join(MODELS, n, "model.h5"), "r") as f:
            plain = ref.read_config(f).visual_expert == "none" and not int(f.attrs["language_expert"])
        if plain and check_hf_llava(n) > 1e-5:
            print(f"{n}: transformers' LLaVA disagrees")
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
