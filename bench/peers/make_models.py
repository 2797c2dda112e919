"""Writes the random models that bench/peers/run.sh times, all with the same
weights: a llava-hf style LLaVA-1.5 checkpoint (for transformers, and for
tools/convert.py, which makes the engine's .h5 from it) and its language model
alone as a LlamaForCausalLM checkpoint (for llama.cpp's convert_hf_to_gguf.py).

Runs in the peers' venv (torch, transformers, sentencepiece):

    python bench/peers/make_models.py --out DIR --hidden 1024 --layers 16 ...

DIR/tokenizer.model   a small SentencePiece BPE model (byte fallback, LLaMA's
                      special ids) trained on the repository's docs, so that
                      the engine builds LLaVA's prompt with a realistic token
                      count; the embedding rows go up to --vocab
DIR/hf-llava/         LlavaForConditionalGeneration, fp32, safetensors
DIR/hf-llama/         LlamaForCausalLM with the same LLM weights
"""
import argparse
import glob
import json
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--heads", type=int, default=16)
    p.add_argument("--intermediate", type=int, default=2816)
    p.add_argument("--layers", type=int, default=16)
    p.add_argument("--vocab", type=int, default=32064)
    p.add_argument("--vision-hidden", type=int, default=768)
    p.add_argument("--vision-heads", type=int, default=12)
    p.add_argument("--vision-intermediate", type=int, default=3072)
    p.add_argument("--vision-layers", type=int, default=12, help="layers of the tower; LLaVA selects hidden state -2")
    p.add_argument("--image-size", type=int, default=336)
    p.add_argument("--patch-size", type=int, default=14)
    p.add_argument("--tokenizer-vocab", type=int, default=4000)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def train_tokenizer(path, vocab):
    import sentencepiece as spm
    texts = sorted(glob.glob(os.path.join(REPO, "docs", "*.md")) + glob.glob(os.path.join(REPO, "*.md")))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for t in texts:
            with open(t, encoding="utf-8", errors="replace") as g:
                f.write(g.read())
        # the words of bench's POPE-style prompt and its filler words, often
        # enough to be one token each (so every text length can be met)
        f.write("\nplease look closely at the picture and think about every object person animal colour "
                "shape or sign you can see in it before you give a short answer to this question now\n" * 50)
        f.write("\nA chat between a curious human and an artificial intelligence assistant. The assistant "
                "gives helpful, detailed, and polite answers to the human's questions. USER: Is there a "
                "dog in the image? Answer the question using a single word or phrase. ASSISTANT:\n" * 20)
        corpus = f.name
    try:
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=path[:-len(".model")], model_type="bpe", vocab_size=vocab,
            byte_fallback=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, character_coverage=1.0,
            hard_vocab_limit=False, num_threads=1, minloglevel=2, split_digits=True,
            normalization_rule_name="identity", add_dummy_prefix=True, remove_extra_whitespaces=False)
    finally:
        os.unlink(corpus)


def llava_hf_layout(folder):
    """Rewrites the saved tensors under the names of the llava-hf releases
    (vision_tower.vision_model.*, language_model.model.*, language_model.lm_head.*),
    which tools/convert.py reads and transformers maps back on load."""
    from safetensors.torch import load_file, save_file
    path = os.path.join(folder, "model.safetensors")
    tensors = load_file(path)
    out = {}
    for k, v in tensors.items():
        if k.startswith("model."):
            k = k[len("model."):]
        if k.startswith("vision_tower.") and not k.startswith("vision_tower.vision_model."):
            k = "vision_tower.vision_model." + k[len("vision_tower."):]
        elif k.startswith("language_model.") and not k.startswith(("language_model.model.", "language_model.lm_head")):
            k = "language_model.model." + k[len("language_model."):]
        elif k == "lm_head.weight":
            k = "language_model.lm_head.weight"
        out[k] = v.contiguous()
    save_file(out, path, metadata={"format": "pt"})


def main(argv=None):
    a = parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    tok = os.path.join(a.out, "tokenizer.model")
    if not os.path.exists(tok):
        train_tokenizer(tok, a.tokenizer_vocab)

    import torch
    from transformers import (CLIPVisionConfig, LlamaConfig, LlamaForCausalLM, LlavaConfig,
                              LlavaForConditionalGeneration)
    torch.manual_seed(a.seed)
    text = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
                       num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.heads,
                       max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0,
                       tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    vision = CLIPVisionConfig(hidden_size=a.vision_hidden, intermediate_size=a.vision_intermediate,
                              num_hidden_layers=a.vision_layers, num_attention_heads=a.vision_heads,
                              image_size=a.image_size, patch_size=a.patch_size, hidden_act="quick_gelu",
                              projection_dim=a.hidden, layer_norm_eps=1e-5)
    cfg = LlavaConfig(vision_config=vision, text_config=text, image_token_index=32000 if a.vocab > 32000 else 3,
                      projector_hidden_act="gelu", vision_feature_select_strategy="default",
                      vision_feature_layer=-2)
    model = LlavaForConditionalGeneration(cfg).float().eval()
    n = sum(p.numel() for p in model.parameters())
    llava_dir = os.path.join(a.out, "hf-llava")
    model.save_pretrained(llava_dir, safe_serialization=True)
    llava_hf_layout(llava_dir)
    with open(os.path.join(llava_dir, "preprocessor_config.json"), "w") as f:
        json.dump({"image_processor_type": "CLIPImageProcessor", "crop_size": {"height": a.image_size,
                   "width": a.image_size}, "size": {"shortest_edge": a.image_size}, "do_center_crop": True,
                   "do_normalize": True, "do_resize": True, "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
                   "resample": 3, "rescale_factor": 1 / 255}, f, indent=2)

    llama = LlamaForCausalLM(text).float().eval()
    llama.model.load_state_dict(model.model.language_model.state_dict())
    llama.lm_head.load_state_dict(model.lm_head.state_dict())
    llama_dir = os.path.join(a.out, "hf-llama")
    llama.save_pretrained(llama_dir, safe_serialization=True)
    for d in (llava_dir, llama_dir):
        with open(tok, "rb") as src, open(os.path.join(d, "tokenizer.model"), "wb") as dst:
            dst.write(src.read())
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
                       "unk_token": "<unk>", "add_bos_token": True, "add_eos_token": False}, f)
    print(f"make_models.py: {n / 1e6:.1f} M parameters in {llava_dir}; LLM alone in {llama_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
