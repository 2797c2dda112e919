"""Times transformers' LlavaForConditionalGeneration on the figures of
bench/peers/run.sh (fp32, attn_implementation="sdpa", CPU) and prints one
JSON object. Runs in the peers' venv:

    python bench/peers/hf_peer.py MODEL_DIR --threads 2 --text-tokens 60 --new-tokens 32

MODEL_DIR is bench/peers/make_models.py's hf-llava/. Every figure runs
--warmup untimed and --repeat timed passes; the median pass is reported.

- pope_b{1,8}: generate() on B samples of 576 image + text tokens with ready
  pixel tensors, 2 new tokens (min_new_tokens = max_new_tokens, greedy)
- llm_prefill: the language model (LlamaModel + LM head on the last position)
  on one prompt of image + text tokens' length, text ids only
- decode_b{1,8}: generate() on B text prompts of that length, --new-tokens
  tokens; a logits processor stamps each step, so the rate is
  B x (new_tokens - 1) / (last stamp - first stamp): decode steps only
- vision_b8: get_image_features() (tower + projector) on 8 images

LLaVA-1.5 takes CLIP's hidden state -2: transformers still runs the tower's
last layer, the engine does not (tools/convert.py leaves it out). The tower
is cut to the layers the selection needs, so both compute the same blocks.
"""
import argparse
import json
import os
import statistics
import sys
import time


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--text-tokens", type=int, default=60)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--batch-sizes", default="1,8")
    p.add_argument("--vision-batch", type=int, default=8)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--figures", default="pope,llm_prefill,decode,vision")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    import torch
    import transformers
    from transformers import LlavaForConditionalGeneration, LogitsProcessor, LogitsProcessorList

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    model = LlavaForConditionalGeneration.from_pretrained(a.model, dtype=torch.float32,
                                                          attn_implementation="sdpa").eval()
    cfg = model.config
    layer = cfg.vision_feature_layer
    tower = model.model.vision_tower
    encoder = getattr(tower, "vision_model", tower).encoder
    n_vis = len(encoder.layers)
    if isinstance(layer, int) and layer < -1:
        keep = n_vis + layer + 1
        encoder.layers = encoder.layers[:keep]
        tower.config.num_hidden_layers = keep
        cfg.vision_feature_layer = -1
    vision_run = len(encoder.layers)
    load_s = time.perf_counter() - t0

    vc, tc = cfg.vision_config, cfg.text_config
    n_img = (vc.image_size // vc.patch_size) ** 2
    positions = n_img + a.text_tokens
    img_id = cfg.image_token_index
    gen = torch.Generator().manual_seed(0)

    def text_ids(b, n):
        # ordinary ids, clear of the image token and the special ids
        return torch.randint(3, min(img_id, tc.vocab_size), (b, n), generator=gen)

    def pope_inputs(b):
        # BOS, a few text ids, the image's tokens, the rest of the text
        head = 5
        ids = torch.cat([torch.ones(b, 1, dtype=torch.long), text_ids(b, head - 1),
                         torch.full((b, n_img), img_id, dtype=torch.long),
                         text_ids(b, a.text_tokens - head)], dim=1)
        pix = torch.randn(b, 3, vc.image_size, vc.image_size, generator=gen)
        return ids, pix

    class Stamp(LogitsProcessor):
        def __init__(self):
            self.t = []

        def __call__(self, input_ids, scores):
            self.t.append(time.perf_counter())
            return scores

    def gen_kwargs(n):
        return dict(max_new_tokens=n, min_new_tokens=n, do_sample=False, num_beams=1,
                    pad_token_id=tc.pad_token_id if tc.pad_token_id is not None else 0)

    def timed(fn):
        for _ in range(a.warmup):
            fn()
        runs = []
        for _ in range(a.repeat):
            load = loadavg()
            r = fn()
            r["loadavg"] = load
            runs.append(r)
        return runs

    figures = {}
    want = set(a.figures.split(","))
    batches = [int(x) for x in a.batch_sizes.split(",")]
    with torch.inference_mode():
        if "pope" in want:
            for b in batches:
                ids, pix = pope_inputs(b)

                def pope():
                    t = time.perf_counter()
                    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=pix,
                                         **gen_kwargs(2))
                    dt = time.perf_counter() - t
                    made = int(out.shape[1] - ids.shape[1]) * b
                    return {"wall_s": dt, "value": b / dt, "generated_tokens": made}
                figures[f"pope_b{b}"] = {"unit": "samples/s", "batch": b, "runs": timed(pope)}
        if "llm_prefill" in want:
            ids = torch.cat([torch.ones(1, 1, dtype=torch.long), text_ids(1, positions - 1)], dim=1)

            def prefill():
                t = time.perf_counter()
                h = model.model.language_model(input_ids=ids, use_cache=True).last_hidden_state
                model.lm_head(h[:, -1:])
                dt = time.perf_counter() - t
                return {"wall_s": dt, "value": positions / dt}
            figures["llm_prefill"] = {"unit": "tokens/s", "batch": 1, "runs": timed(prefill)}
        if "decode" in want:
            for b in batches:
                ids = torch.cat([torch.ones(b, 1, dtype=torch.long), text_ids(b, positions - 1)], dim=1)

                def decode():
                    st = Stamp()
                    t = time.perf_counter()
                    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                         logits_processor=LogitsProcessorList([st]), **gen_kwargs(a.new_tokens))
                    dt = time.perf_counter() - t
                    steps = int(out.shape[1] - ids.shape[1])
                    dec = st.t[-1] - st.t[0]
                    return {"wall_s": dt, "decode_s": dec, "value": b * (steps - 1) / dec,
                            "generated_tokens": steps * b}
                figures[f"decode_b{b}"] = {"unit": "tokens/s", "batch": b, "runs": timed(decode)}
        if "vision" in want:
            b = a.vision_batch
            pix = torch.randn(b, 3, vc.image_size, vc.image_size, generator=gen)

            def vision():
                t = time.perf_counter()
                model.model.get_image_features(pixel_values=pix, vision_feature_layer=cfg.vision_feature_layer,
                                               vision_feature_select_strategy=cfg.vision_feature_select_strategy)
                dt = time.perf_counter() - t
                return {"wall_s": dt, "value": b / dt}
            figures[f"vision_b{b}"] = {"unit": "images/s", "batch": b, "runs": timed(vision)}

    for f in figures.values():
        f["median"] = statistics.median(r["value"] for r in f["runs"])
    json.dump({"program": "transformers", "versions": {"torch": torch.__version__,
               "transformers": transformers.__version__, "python": sys.version.split()[0]},
               "threads": a.threads, "torch_threads": torch.get_num_threads(), "load_s": load_s,
               "vision_layers_run": vision_run, "vision_layers_stored": n_vis, "positions": positions,
               "new_tokens": a.new_tokens, "figures": figures, "pid": os.getpid()}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
