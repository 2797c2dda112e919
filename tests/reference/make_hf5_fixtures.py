"""Build the tiny LLaVA checkpoint as transformers 5.x saves it, for the converter tests.

Writes, beside the 4.x fixtures of make_hf_fixtures.py, into tests/fixtures/hf/:

    llava-hf5/    LlavaForConditionalGeneration.save_pretrained of transformers 5.x
                  (float16): one model.safetensors with 5.x's key names, config.json with
                  text_config.rope_parameters and head_dim, and what LlavaProcessor.save_pretrained
                  writes (processor_config.json with the image settings nested under
                  image_processor, no preprocessor_config.json, the tokenizer files);
                  tokenizer.model is copied in when the tokenizer did not write it.
                  The weights are those of llava-hf/ (read from its safetensors), but RoPE's
                  theta (5000) and the image mean/std differ from the 4.x fixtures, so a
                  converter that ignored rope_parameters or the processor file would be caught.
    expected5.json
                  what a correct conversion gives: attributes, and per tensor its shape and
                  the SHA-256 of its f32, f16 and bf16 bytes as torch rounds them; the
                  transformers version that wrote the checkpoint
    expected5_outputs.h5
                  float32 outputs of transformers 5.x for the same checkpoint loaded back with
                  from_pretrained: text/ (input_ids, logits), vision/ (pixel_values, features
                  of the selected layer, projected), mm/ (input_ids with one image token, as the
                  engine writes a prompt; logits; generated: greedy tokens of generate()).

Run with a python that has transformers>=5 and CPU torch, e.g.

    python3 -m venv ~/.cache/hyperllava-tf5
    ~/.cache/hyperllava-tf5/bin/pip install -r tests/reference/requirements-tf5.txt
    ~/.cache/hyperllava-tf5/bin/python tests/reference/make_hf5_fixtures.py

(CLIPImageProcessor needs Pillow and torchvision in 5.x; LlamaTokenizer needs
sentencepiece and protobuf to read tokenizer.model.)
"""
import json
import os
import shutil
import tempfile

import h5py
import numpy as np
import torch
import transformers
from safetensors.torch import load_file
from transformers import (CLIPImageProcessor, LlamaTokenizer, LlavaConfig, LlavaForConditionalGeneration,
                          LlavaProcessor)
from tensor_digest import digests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(ROOT, "tests/fixtures/hf")
SRC = os.path.join(FIX, "llava-hf")  # the 4.x checkpoint whose weights are reused
OUT = os.path.join(FIX, "llava-hf5")
TOKENIZER = os.path.join(ROOT, "tests/fixtures/tokenizers/tiny.model")

# The sizes of make_hf_fixtures.py.
VISION = dict(hidden_size=24, intermediate_size=40, num_hidden_layers=3, num_attention_heads=3, image_size=42,
              patch_size=14, layer_norm_eps=1e-5, hidden_act="quick_gelu", projection_dim=16,
              model_type="clip_vision_model")
HF_VOCAB = 448
TEXT = dict(vocab_size=HF_VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=4, head_dim=8, max_position_embeddings=64, rms_norm_eps=1e-5,
            rope_parameters={"rope_type": "default", "rope_theta": 5000.0}, hidden_act="silu", bos_token_id=1,
            eos_token_id=2, pad_token_id=401, tie_word_embeddings=False, model_type="llama")
SELECT_LAYER = -2
IMAGE_TOKEN = 400
MEAN = [0.5, 0.4, 0.3]
STD = [0.2, 0.25, 0.3]
NEW_TOKENS = 6


def from_4x(key):
    """A key of the 4.x llava-hf checkpoint -> the 5.x module's state-dict key."""
    if key.startswith("language_model.lm_head."):
        return key[len("language_model."):]
    if key.startswith("language_model.model."):
        return "model.language_model." + key[len("language_model.model."):]
    if key.startswith("vision_tower.vision_model."):
        return "model.vision_tower." + key[len("vision_tower.vision_model."):]
    return "model." + key


def to_format(sd, n_vis):
    """5.x state dict -> {weight-file name: tensor} (the layers up to the selected one)."""
    out = {}
    for k, v in sd.items():
        if k.startswith("model.vision_tower."):
            r = k[len("model.vision_tower."):]
            if r.startswith("embeddings.") and not r.endswith("position_ids"):
                out["vision." + r[len("embeddings."):]] = v
            elif r.startswith("pre_layrnorm."):
                out["vision." + r] = v
            elif r.startswith("encoder.layers.") and int(r.split(".")[2]) < n_vis:
                out["vision." + r[len("encoder."):]] = v
        elif k.startswith("model.multi_modal_projector.linear_"):
            r = k[len("model.multi_modal_projector.linear_"):]
            out["projector." + {"1": "0", "2": "2"}[r[0]] + r[1:]] = v
        elif k.startswith("model.language_model."):
            out["llm." + k[len("model.language_model."):]] = v
        elif k == "lm_head.weight":
            out["llm.lm_head.weight"] = v
    return out


def main():
    assert int(transformers.__version__.split(".")[0]) >= 5, transformers.__version__
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(5005)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)

    cfg = LlavaConfig(vision_config=VISION, text_config=TEXT, image_token_id=IMAGE_TOKEN,
                      vision_feature_layer=SELECT_LAYER, vision_feature_select_strategy="default",
                      projector_hidden_act="gelu")
    model = LlavaForConditionalGeneration(cfg).eval()
    src = {}
    for n in sorted(os.listdir(SRC)):
        if n.endswith(".safetensors"):
            src.update(load_file(os.path.join(SRC, n)))
    sd = {from_4x(k): v.float() for k, v in src.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    assert all(k.endswith("position_ids") for k in missing), missing
    model.to(torch.float16).save_pretrained(OUT)
    model.float()

    image_processor = CLIPImageProcessor(size={"shortest_edge": VISION["image_size"]},
                                         crop_size={"height": VISION["image_size"], "width": VISION["image_size"]},
                                         image_mean=MEAN, image_std=STD)
    # 5.x builds LlamaTokenizer from a folder's tokenizer.model (vocab_file= alone gives an empty one).
    tmp = tempfile.mkdtemp()
    shutil.copy(TOKENIZER, os.path.join(tmp, "tokenizer.model"))
    tokenizer = LlamaTokenizer.from_pretrained(tmp)
    shutil.rmtree(tmp)
    assert len(tokenizer) == 400, len(tokenizer)
    tokenizer.add_tokens(["<image>", "<pad>"], special_tokens=True)  # 400 and 401, as llava-hf's
    assert tokenizer.convert_tokens_to_ids(["<image>", "<pad>"]) == [IMAGE_TOKEN, 401]
    tokenizer.pad_token = "<pad>"
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer,
                               patch_size=VISION["patch_size"], vision_feature_select_strategy="default",
                               image_token="<image>", num_additional_image_tokens=1)
    processor.save_pretrained(OUT)
    if not os.path.isfile(os.path.join(OUT, "tokenizer.model")):
        shutil.copy(TOKENIZER, os.path.join(OUT, "tokenizer.model"))
    files = sorted(os.listdir(OUT))
    print("written:", files)
    assert "model.safetensors" in files and "preprocessor_config.json" not in files, files
    with open(os.path.join(OUT, "processor_config.json")) as f:
        assert isinstance(json.load(f).get("image_processor"), dict), "image settings not nested"

    # Everything below is computed by the checkpoint loaded back, as a user would load it.
    back = LlavaForConditionalGeneration.from_pretrained(OUT, dtype=torch.float32).eval()
    bsd = back.state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(bsd[k], v), k
    assert back.config.text_config.rope_parameters["rope_theta"] == 5000.0

    n_vis = VISION["num_hidden_layers"] + SELECT_LAYER + 1
    tensors = to_format(bsd, n_vis)
    d, cv = TEXT["hidden_size"], VISION["hidden_size"]
    attrs = {
        "format": "hyperllava", "format_version": 1, "model_name": "llava-hf5",
        "vision_hidden": cv, "vision_heads": VISION["num_attention_heads"],
        "vision_intermediate": VISION["intermediate_size"], "vision_layers": n_vis,
        "vision_image_size": VISION["image_size"], "vision_patch_size": VISION["patch_size"],
        "vision_layer_norm_eps": VISION["layer_norm_eps"], "vision_select_layer": -1,
        "image_mean": MEAN, "image_std": STD, "hidden": d, "heads": TEXT["num_attention_heads"],
        "intermediate": TEXT["intermediate_size"], "layers": TEXT["num_hidden_layers"],
        "vocab": HF_VOCAB, "max_positions": TEXT["max_position_embeddings"],
        "rms_norm_eps": TEXT["rms_norm_eps"], "rope_theta": 5000.0, "bos_id": 1, "eos_id": 2,
        "visual_expert": "none", "language_expert": 0, "guide_layer": 0, "expert_embed": 0, "expert_hidden": 0,
        "expert_rank": 0}
    expected = {"transformers": transformers.__version__, "torch": torch.__version__, "attrs": attrs,
                "tensors": {k: digests(v) for k, v in sorted(tensors.items())},
                "keys": sorted(load_file(os.path.join(OUT, "model.safetensors")).keys())}
    with open(os.path.join(FIX, "expected5.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)

    np_ = (VISION["image_size"] // VISION["patch_size"]) ** 2
    with torch.no_grad():
        ids = torch.tensor([[1, 15, 200, 37, 99, 250, 3, 120]])
        text_logits = back(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]
        pix = torch.randn(1, 3, VISION["image_size"], VISION["image_size"], generator=gen)
        hs = back.model.vision_tower(pixel_values=pix, output_hidden_states=True).hidden_states
        feats = hs[SELECT_LAYER][0, 1:]
        proj = back.model.multi_modal_projector(feats)
        # One image token in the engine's prompt; transformers 5.x wants one per visual token.
        mm_ids = torch.tensor([[1, 15, 200, IMAGE_TOKEN, 37, 99, 250, 120]])
        pos = int((mm_ids[0] == IMAGE_TOKEN).nonzero())
        expanded = torch.cat([mm_ids[:, :pos], torch.full((1, np_), IMAGE_TOKEN), mm_ids[:, pos + 1:]], 1)
        mm_logits = back(input_ids=expanded, pixel_values=pix, attention_mask=torch.ones_like(expanded)).logits[0]
        out = back.generate(input_ids=expanded, pixel_values=pix, attention_mask=torch.ones_like(expanded),
                            max_new_tokens=NEW_TOKENS, do_sample=False, min_new_tokens=NEW_TOKENS,
                            pad_token_id=401, output_logits=True, return_dict_in_generate=True)
        generated = out.sequences[0, expanded.shape[1]:]
        # Greedy must not hang on a near tie: the engine's last bits may differ.
        for step in out.logits:
            top = torch.topk(step[0].float(), 2).values
            assert float(top[0] - top[1]) > 1e-3, f"near tie in greedy decoding: {top}"
        assert len(generated) == NEW_TOKENS, generated
    print("generated:", generated.tolist())
    with h5py.File(os.path.join(FIX, "expected5_outputs.h5"), "w") as f:
        f.attrs["note"] = ("float32 outputs of transformers " + transformers.__version__ +
                           " for tests/fixtures/hf/llava-hf5; see tests/reference/make_hf5_fixtures.py")
        f["text/input_ids"] = ids[0].numpy().astype(np.int64)
        f["text/logits"] = text_logits.numpy().astype(np.float32)
        f["vision/pixel_values"] = pix.numpy().astype(np.float32)
        f["vision/features"] = feats.numpy().astype(np.float32)
        f["vision/projected"] = proj.numpy().astype(np.float32)
        f["mm/input_ids"] = mm_ids[0].numpy().astype(np.int64)
        f["mm/image_token"] = IMAGE_TOKEN
        f["mm/logits"] = mm_logits.numpy().astype(np.float32)
        f["mm/generated"] = generated.numpy().astype(np.int64)

    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{OUT}: {total} bytes")


if __name__ == "__main__":
    main()
