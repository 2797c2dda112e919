"""Build the tiny Hugging Face checkpoints the converter tests read.

Writes tests/fixtures/hf/:

    llava-orig/   the original LLaVA-1.5 layout: config.json (LlavaLlamaForCausalLM),
                  two torch.save shards pytorch_model-0000k-of-00002.bin (float16) with
                  their index, tokenizer.model
    clip/         the CLIP tower for --vision-tower: a CLIPModel (text model included,
                  the converter must skip it) as pytorch_model.bin (float32),
                  config.json, preprocessor_config.json
    llava-hf/     the llava-hf layout: a transformers LlavaForConditionalGeneration saved as
                  two bfloat16 safetensors shards with their index, config.json,
                  preprocessor_config.json, tokenizer.model; its embedding has 448 rows
                  (400 pieces + <image> 400 + <pad> 401 + padding), the first 400
                  equal to llava-orig's
    tower-embedded.safetensors
                  the CLIP tower's weights under the key prefix of the original layout
                  (model.vision_tower.vision_tower.vision_model.), float16, to test
                  checkpoints that carry their own tower copy
    experts.safetensors
                  float32 HyperLLaVA expert tensors (visual experts v1 and v2, language
                  expert for blocks 2..3) whose values are not representable in f16/bf16,
                  some of them exact rounding ties
    expected.json what a correct conversion gives: attributes of each layout, and per
                  tensor its shape and the SHA-256 of its f32, f16 and bf16 bytes as torch
                  rounds them; tokenizer facts from the sentencepiece library
    expected_outputs.h5
                  reference outputs computed with torch in float32 from the same weights:
                  text/    input_ids, logits of LlamaForCausalLM (llava-orig LLM)
                  vision/  pixel_values, features (hidden state -2, class token dropped),
                           projected (mlp2x_gelu projector applied)
                  mm/      input_ids with the image token 400, logits of the llava-hf model

Every weight is rounded to bfloat16 and values below 2^-14 are flushed to 0, so each
is exact in f16, bf16 and f32: both layouts, stored in different dtypes, hold the same
numbers, and the reference outputs are exactly those of the converted f32 file.

    tests/reference/.venv/bin/python tests/reference/make_hf_fixtures.py
"""
import copy
import json
import os
import shutil

import h5py
import numpy as np
import sentencepiece as spm
import torch
from safetensors.torch import save_file
from transformers import (CLIPConfig, CLIPImageProcessor, CLIPModel, LlamaConfig, LlamaForCausalLM, LlavaConfig,
                          LlavaForConditionalGeneration)
from tensor_digest import digests, sha

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests/fixtures/hf")
TOKENIZER = os.path.join(ROOT, "tests/fixtures/tokenizers/tiny.model")

# Distinct sizes everywhere, so a swapped dimension cannot go unnoticed.
VISION = dict(hidden_size=24, intermediate_size=40, num_hidden_layers=3, num_attention_heads=3, image_size=42,
              patch_size=14, layer_norm_eps=1e-5, hidden_act="quick_gelu", projection_dim=16)
TEXT_CLIP = dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                 max_position_embeddings=16, projection_dim=16)
LLM = dict(vocab_size=400, hidden_size=32, intermediate_size=48, num_hidden_layers=4, num_attention_heads=4,
           num_key_value_heads=4, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
           hidden_act="silu", bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
SELECT_LAYER = -2
HF_VOCAB = 448  # 400 pieces + <image> + <pad>, padded to a multiple of 64 as llava-hf does
IMAGE_TOKEN = 400
EXPERT = dict(embed=8, hidden=12, rank=2, guide_layer=2)
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]


def exact(t):
    """Round to bf16 and flush |x| < 2^-14 (f16's smallest normal) to 0: the
    result is exact in f32, f16 and bf16."""
    t = t.float().bfloat16().float()
    t[t.abs() < 2.0 ** -14] = 0
    return t


def randomize(module, gen, scale=0.08):
    """Random weights (norm weights around 1), made exact."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=gen) * scale
            if name.endswith("norm.weight") or "layer_norm" in name or "layrnorm" in name and name.endswith("weight"):
                r = 1.0 + r
            p.copy_(exact(r))


def clip_to_format(sd, prefix, layers):
    """CLIP vision state dict -> {format name: tensor} (layers below `layers` only)."""
    out = {}
    for short in ("patch_embedding.weight", "class_embedding", "position_embedding.weight"):
        out["vision." + short] = sd[prefix + "embeddings." + short]
    for short in ("pre_layrnorm.weight", "pre_layrnorm.bias"):
        out["vision." + short] = sd[prefix + short]
    for k, v in sd.items():
        if k.startswith(prefix + "encoder.layers."):
            rest = k[len(prefix + "encoder."):]
            if int(rest.split(".")[1]) < layers:
                out["vision." + rest] = v
    return out


def write_safetensors_raw(path, tensors):
    """float32 safetensors; values are kept bit for bit (ties included)."""
    save_file({k: v.contiguous() for k, v in tensors.items()}, path)


def make_experts(gen):
    d, cv = LLM["hidden_size"], VISION["hidden_size"]
    de, h, r, g = EXPERT["embed"], EXPERT["hidden"], EXPERT["rank"], EXPERT["guide_layer"]
    shapes = {}
    for part, k in (("v1", r * cv + d * r), ("v2", 2 * r * d)):
        shapes.update({f"expert.{part}.enc.weight": (de, cv), f"expert.{part}.enc.bias": (de,),
                       f"expert.{part}.hyper.0.weight": (h, de), f"expert.{part}.hyper.0.bias": (h,),
                       f"expert.{part}.hyper.1.weight": (k, h), f"expert.{part}.hyper.1.bias": (k,),
                       f"expert.{part}.static": (k,)})
    kl = 2 * r * d
    shapes.update({"expert.lang.hyper.0.weight": (h, de), "expert.lang.hyper.0.bias": (h,),
                   "expert.lang.hyper.1.weight": (kl, h), "expert.lang.hyper.1.bias": (kl,)})
    for n in range(g, LLM["num_hidden_layers"]):
        shapes.update({f"expert.lang.layers.{n}.enc.weight": (de, d), f"expert.lang.layers.{n}.enc.bias": (de,),
                       f"expert.lang.layers.{n}.static": (kl,)})
    t = {k: torch.randn(s, generator=gen) * 0.1 for k, s in shapes.items()}
    # Rounding edge cases: exact ties for bf16 (low half 0x8000) and for f16,
    # f16 subnormals and underflow, a negative tie, the largest value that
    # still rounds to a finite f16.
    bits = [0x3F808000, 0x3F818000, 0xBF808000, 0x3F801000, 0x3F803000, 0x37FFFFFF, 0x33000000, 0x387FC000,
            0x477FEFFF, 0x00000000, 0x80000000, 0x3EAAAAAB]
    special = torch.from_numpy(np.array(bits, np.uint32).view(np.float32).copy())
    t["expert.v1.static"][: len(bits)] = special
    return t


def tokenizer_facts(path):
    sp = spm.SentencePieceProcessor(model_file=path)
    from sentencepiece import sentencepiece_model_pb2 as pb
    m = pb.ModelProto()
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    n = sp.get_piece_size()
    pieces = [sp.id_to_piece(i).encode("utf-8") for i in range(n)]
    return {"n": n, "pieces_sha": sha(np.frombuffer(b"".join(pieces), np.uint8)),
            "scores_sha": sha(np.array([sp.get_score(i) for i in range(n)], "<f4")),
            "types_sha": sha(np.array([p.type for p in m.pieces], "<i4")),
            "first": [p.decode() for p in pieces[:4]],
            "attrs": {"model_type": m.trainer_spec.model_type, "add_dummy_prefix": int(m.normalizer_spec.add_dummy_prefix),
                      "remove_extra_whitespaces": int(m.normalizer_spec.remove_extra_whitespaces),
                      "escape_whitespaces": int(m.normalizer_spec.escape_whitespaces),
                      "byte_fallback": int(m.trainer_spec.byte_fallback), "unk_id": sp.unk_id(),
                      "bos_id": sp.bos_id(), "eos_id": sp.eos_id(), "pad_id": sp.pad_id()}}


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    # --- CLIP tower (float32 .bin, as openai/clip-vit-large-patch14-336 ships)
    clip_cfg = CLIPConfig(text_config=TEXT_CLIP, vision_config=VISION, projection_dim=16)
    clip = CLIPModel(clip_cfg).eval()
    randomize(clip, gen)
    clip_dir = os.path.join(OUT, "clip")
    clip.save_pretrained(clip_dir, safe_serialization=False)
    CLIPImageProcessor(size={"shortest_edge": VISION["image_size"]},
                       crop_size={"height": VISION["image_size"], "width": VISION["image_size"]},
                       image_mean=MEAN, image_std=STD).save_pretrained(clip_dir)

    # --- original LLaVA-1.5 layout: LLaMA + mm_projector, float16 torch shards
    llm = LlamaForCausalLM(LlamaConfig(**LLM)).eval()
    randomize(llm, gen)
    d, cv = LLM["hidden_size"], VISION["hidden_size"]
    llm.model.mm_projector = torch.nn.Sequential(torch.nn.Linear(cv, d), torch.nn.GELU(), torch.nn.Linear(d, d))
    randomize(llm.model.mm_projector, gen)
    orig_dir = os.path.join(OUT, "llava-orig")
    # Cast a copy: casting the model itself would also round its RoPE buffers.
    copy.deepcopy(llm).half().save_pretrained(orig_dir, safe_serialization=False, max_shard_size="80KB")
    with open(os.path.join(orig_dir, "config.json")) as f:
        cfg = json.load(f)
    cfg.update(architectures=["LlavaLlamaForCausalLM"], model_type="llava", mm_hidden_size=cv,
               mm_projector_type="mlp2x_gelu", mm_vision_select_feature="patch", mm_vision_select_layer=SELECT_LAYER,
               mm_vision_tower="openai/clip-vit-large-patch14-336", mm_use_im_patch_token=False,
               mm_use_im_start_end=False, image_aspect_ratio="pad", use_mm_proj=True, torch_dtype="float16")
    with open(os.path.join(orig_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    shutil.copy(TOKENIZER, os.path.join(orig_dir, "tokenizer.model"))
    shards = sorted(n for n in os.listdir(orig_dir) if n.endswith(".bin"))
    assert shards == ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"], shards

    # --- llava-hf layout: the same weights in a LlavaForConditionalGeneration, bfloat16 safetensors
    text_cfg = dict(LLM, vocab_size=HF_VOCAB, pad_token_id=401)
    hf_cfg = LlavaConfig(vision_config=dict(VISION, model_type="clip_vision_model"), text_config=text_cfg,
                         image_token_index=IMAGE_TOKEN, vision_feature_layer=SELECT_LAYER, pad_token_id=401,
                         vocab_size=HF_VOCAB)
    hf = LlavaForConditionalGeneration(hf_cfg).eval()
    with torch.no_grad():
        hf.vision_tower.vision_model.load_state_dict(clip.vision_model.state_dict())
        sd = {k: v for k, v in llm.state_dict().items() if "mm_projector" not in k}
        extra = {n: exact(torch.randn(HF_VOCAB - LLM["vocab_size"], d, generator=gen) * 0.08)
                 for n in ("model.embed_tokens.weight", "lm_head.weight")}
        for n in extra:
            sd[n] = torch.cat([sd[n], extra[n]], 0)
        hf.language_model.load_state_dict(sd)
        hf.multi_modal_projector.linear_1.load_state_dict(llm.model.mm_projector[0].state_dict())
        hf.multi_modal_projector.linear_2.load_state_dict(llm.model.mm_projector[2].state_dict())
    hf_dir = os.path.join(OUT, "llava-hf")
    copy.deepcopy(hf).to(torch.bfloat16).save_pretrained(hf_dir, safe_serialization=True, max_shard_size="120KB")
    shutil.copy(TOKENIZER, os.path.join(hf_dir, "tokenizer.model"))
    CLIPImageProcessor(size={"shortest_edge": VISION["image_size"]},
                       crop_size={"height": VISION["image_size"], "width": VISION["image_size"]},
                       image_mean=MEAN, image_std=STD).save_pretrained(hf_dir)
    hf_shards = sorted(n for n in os.listdir(hf_dir) if n.endswith(".safetensors"))
    assert len(hf_shards) >= 2, hf_shards
    # The saved checkpoint must load back into transformers unchanged.
    back = LlavaForConditionalGeneration.from_pretrained(hf_dir, torch_dtype=torch.float32).eval()
    for k, v in hf.state_dict().items():
        assert torch.equal(back.state_dict()[k], v), k

    # --- the tower as the original checkpoints may also carry it, under
    # model.vision_tower.vision_tower. (float16, to add to llava-orig's index)
    emb = {"model.vision_tower.vision_tower.vision_model." + k: v.detach().half().contiguous()
           for k, v in clip.vision_model.state_dict().items()}
    save_file(emb, os.path.join(OUT, "tower-embedded.safetensors"))

    # --- expert tensors (float32)
    experts = make_experts(gen)
    write_safetensors_raw(os.path.join(OUT, "experts.safetensors"), experts)

    # --- expected conversion results
    n_vis = VISION["num_hidden_layers"] + SELECT_LAYER + 1
    tensors = clip_to_format(clip.vision_model.state_dict(), "", n_vis)
    tensors.update({"projector.0.weight": llm.model.mm_projector[0].weight,
                    "projector.0.bias": llm.model.mm_projector[0].bias,
                    "projector.2.weight": llm.model.mm_projector[2].weight,
                    "projector.2.bias": llm.model.mm_projector[2].bias})
    for k, v in llm.state_dict().items():
        if "mm_projector" in k:
            continue
        tensors["llm." + (k[len("model."):] if k.startswith("model.") else k)] = v
    hf_sd = hf.state_dict()
    tok = tokenizer_facts(TOKENIZER)
    base_attrs = {
        "format": "hyperllava", "format_version": 1,
        "vision_hidden": cv, "vision_heads": VISION["num_attention_heads"],
        "vision_intermediate": VISION["intermediate_size"], "vision_layers": n_vis,
        "vision_image_size": VISION["image_size"], "vision_patch_size": VISION["patch_size"],
        "vision_layer_norm_eps": VISION["layer_norm_eps"], "vision_select_layer": -1,
        "image_mean": MEAN, "image_std": STD, "hidden": d, "heads": LLM["num_attention_heads"],
        "intermediate": LLM["intermediate_size"], "layers": LLM["num_hidden_layers"],
        "vocab": LLM["vocab_size"], "max_positions": LLM["max_position_embeddings"],
        "rms_norm_eps": LLM["rms_norm_eps"], "rope_theta": LLM["rope_theta"], "bos_id": 1, "eos_id": 2,
        "visual_expert": "none", "language_expert": 0, "guide_layer": 0, "expert_embed": 0, "expert_hidden": 0,
        "expert_rank": 0}
    expected = {
        "attrs": {"llava-orig": dict(base_attrs, model_name="llava-orig"),
                  "llava-hf": dict(base_attrs, model_name="llava-hf", vocab=HF_VOCAB)},
        "expert_attrs": {"visual_expert": "both", "language_expert": 1, "guide_layer": EXPERT["guide_layer"],
                         "expert_embed": EXPERT["embed"], "expert_hidden": EXPERT["hidden"],
                         "expert_rank": EXPERT["rank"]},
        "all_vision_layers": {"vision_layers": VISION["num_hidden_layers"], "vision_select_layer": SELECT_LAYER,
                              "extra": {k: digests(v) for k, v in sorted(clip_to_format(
                                  clip.vision_model.state_dict(), "", VISION["num_hidden_layers"]).items())
                                  if k.startswith(f"vision.layers.{n_vis}.")}},
        "tensors": {k: digests(v) for k, v in sorted(tensors.items())},
        "hf_tensors": {"llm.embed_tokens.weight": digests(hf_sd["language_model.model.embed_tokens.weight"]),
                       "llm.lm_head.weight": digests(hf_sd["language_model.lm_head.weight"])},
        "experts": {k: digests(v) for k, v in sorted(experts.items())},
        "tokenizer": tok,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)

    # --- reference outputs in float32
    with torch.no_grad():
        ids = torch.tensor([[1, 15, 200, 37, 99, 250, 3, 120]])
        logits = llm(ids).logits[0]
        hf_text = hf(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]
        assert torch.allclose(hf_text[:, :LLM["vocab_size"]], logits, atol=1e-5), "layouts disagree on text logits"
        pix = torch.randn(1, 3, VISION["image_size"], VISION["image_size"], generator=gen)
        hs = clip.vision_model(pixel_values=pix, output_hidden_states=True).hidden_states
        feats = hs[SELECT_LAYER][0, 1:]
        proj = llm.model.mm_projector(feats)
        mm_ids = torch.tensor([[1, 15, 200, IMAGE_TOKEN, 37, 99, 250, 120]])
        mm_logits = hf(input_ids=mm_ids, pixel_values=pix, attention_mask=torch.ones_like(mm_ids)).logits[0]
        # The same through inputs_embeds, spliced by hand: checks the splice rule.
        emb = hf.language_model.get_input_embeddings()(mm_ids)[0]
        pos = int((mm_ids[0] == IMAGE_TOKEN).nonzero())
        spliced = torch.cat([emb[:pos], proj, emb[pos + 1:]], 0)[None]
        ref = hf.language_model(inputs_embeds=spliced).logits[0]
        assert torch.allclose(ref, mm_logits, atol=1e-5), "splice disagrees with LlavaForConditionalGeneration"
    with h5py.File(os.path.join(OUT, "expected_outputs.h5"), "w") as f:
        f.attrs["note"] = "float32 torch outputs of the tiny fixtures; see tests/reference/make_hf_fixtures.py"
        f["text/input_ids"] = ids[0].numpy().astype(np.int64)
        f["text/logits"] = logits.numpy().astype(np.float32)
        f["vision/pixel_values"] = pix.numpy().astype(np.float32)
        f["vision/features"] = feats.numpy().astype(np.float32)
        f["vision/projected"] = proj.numpy().astype(np.float32)
        f["mm/input_ids"] = mm_ids[0].numpy().astype(np.int64)
        f["mm/image_token"] = IMAGE_TOKEN
        f["mm/logits"] = mm_logits.numpy().astype(np.float32)

    total = 0
    for dirpath, _, files in os.walk(OUT):
        for n in files:
            total += os.path.getsize(os.path.join(dirpath, n))
    print(f"{OUT}: {total} bytes")


if __name__ == "__main__":
    main()
