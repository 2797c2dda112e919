"""Generate the golden test fixtures: tiny random HyperLLaVA/LLaVA models, the
images they are run on, and the reference outputs of every stage.

    tests/reference/.venv/bin/python tests/reference/make_fixtures.py [--only NAME ...]

Writes tests/fixtures/images/*.{jpg,png} and, per model variant,
tests/fixtures/models/<name>/model.h5 (the weight file) and golden.h5 (see
docs/reference.md for its layout). Everything is seeded; a variant's seed is
advanced until every greedy step of every case has a top-1/top-2 logit gap above
MIN_GAP, so an fp32 engine with ~1e-6 errors must produce the same tokens.
"""
import argparse
import dataclasses
import os
import sys

import h5py
import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hyperllava_ref as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER = "tests/fixtures/tokenizers/tiny.model"
IMAGES = "tests/fixtures/images"
MODELS = "tests/fixtures/models"
MIN_GAP = 1e-3
MAX_NEW = 10
SHORT = "Answer the question using a single word or phrase."

# --------------------------------------------------------------------------
# Images


def make_images():
    """Small generated images covering the decoder and preprocessing paths."""
    out = os.path.join(ROOT, IMAGES)
    os.makedirs(out, exist_ok=True)
    rng = np.random.RandomState(7)

    # Non-square RGB JPEG larger than every S: padded, then downscaled.
    w, h = 64, 44
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 4, yy * 5, (xx + yy) * 2], axis=-1).clip(0, 255).astype(np.uint8)
    img = Image.fromarray(base, "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse((8, 6, 30, 28), fill=(220, 30, 40))
    d.rectangle((36, 14, 58, 38), fill=(30, 60, 200))
    img.save(os.path.join(out, "shapes.jpg"), quality=90)

    # Small non-square PNG: padded, then upscaled.
    img = Image.new("RGB", (19, 12), (250, 240, 200))
    d = ImageDraw.Draw(img)
    d.polygon([(2, 10), (9, 1), (16, 10)], fill=(20, 160, 60))
    img.putpixel((0, 0), (0, 0, 0))
    img.save(os.path.join(out, "small.png"))

    # Grayscale PNG of side 28 (no resampling for S=28, upscaled for S=30).
    g = (rng.rand(28, 28) * 60 + np.linspace(40, 200, 28)[None, :]).astype(np.uint8)
    Image.fromarray(g, "L").save(os.path.join(out, "gray.png"))

    # Palette PNG, taller than wide.
    img = Image.new("P", (26, 41), 0)
    img.putpalette([255, 255, 255, 200, 0, 0, 0, 120, 0, 10, 10, 160, 240, 200, 0] + [0] * (768 - 15))
    d = ImageDraw.Draw(img)
    d.rectangle((3, 4, 22, 18), fill=1)
    d.ellipse((4, 22, 20, 38), fill=3)
    d.line((0, 40, 25, 20), fill=2)
    d.point((25, 0), fill=4)
    img.save(os.path.join(out, "palette.png"))

    # RGBA PNG with varying alpha (alpha is dropped, not composited).
    a = np.zeros((33, 30, 4), dtype=np.uint8)
    a[..., 0] = np.linspace(0, 255, 30)[None, :]
    a[..., 1] = 90
    a[..., 2] = np.linspace(255, 0, 33)[:, None]
    a[..., 3] = (rng.rand(33, 30) * 255).astype(np.uint8)
    a[10:20, 8:22, :3] = (250, 200, 20)
    Image.fromarray(a, "RGBA").save(os.path.join(out, "rgba.png"))
    return ["shapes.jpg", "small.png", "gray.png", "palette.png", "rgba.png"]


# --------------------------------------------------------------------------
# Model variants

def family(name):
    """Two size families: 'six' (6 heads: tp=2 works, tp=4 is a layout error),
    'four' (every width divisible by 4: tp=4 works). Widths are small and odd so the
    fixtures stay small and catch indexing bugs."""
    if name == "six":
        return dict(vision_hidden=24, vision_heads=6, vision_intermediate=40, vision_image_size=28,
                    vision_patch_size=7, hidden=36, heads=6, intermediate=44)
    return dict(vision_hidden=20, vision_heads=4, vision_intermediate=36, vision_image_size=30,
                vision_patch_size=6, hidden=24, heads=4, intermediate=44)


COMMON = dict(vision_layers=3, vision_select_layer=-2, vision_layer_norm_eps=1e-5, layers=4, vocab=400,
              max_positions=256, rms_norm_eps=1e-5, rope_theta=10000.0, bos_id=1, eos_id=2,
              expert_embed=8, expert_hidden=12, expert_rank=4)

# name: (family, visual_expert, guide_layer (0 = no language expert), seed,
#        logits of every prompt position in case 0, reduced-precision copies)
VARIANTS = {
    "llava": ("six", "none", 0, 100, True, [("llava-f16", "f16")]),
    "ev1": ("four", "layer1", 0, 200, True, []),
    "ev2": ("six", "layer2", 0, 300, False, []),
    "evboth": ("four", "both", 0, 400, False, []),
    "lang": ("four", "none", 1, 500, True, []),
    "all": ("six", "both", 2, 600, True, [("all-bf16", "bf16")]),
}

QUESTIONS = [
    "What color is the circle?\n" + SHORT,
    "Is there a square in the image?",
    "There are 3 shapes here, and 12 more in the café (°C ≈ 21). Which one is the largest?\n"
    "A. red\nB. blue\nC. green\nD. yellow\nAnswer with the option's letter from the given choices directly.",
    "How many triangles are there?\n" + SHORT,
]


def cases_for(index, images, n):
    """n (image, question) pairs: case 0 a short question (its logits are kept at
    every position), case 1 the long multi-sentence one with digits and unicode.
    Images rotate per variant so every image is used."""
    short = [QUESTIONS[0], QUESTIONS[1], QUESTIONS[3]]
    qs = [short[index % 3], QUESTIONS[2], short[(index + 1) % 3]]
    return [(images[(index + k) % len(images)], qs[k]) for k in range(n)]


def make_config(name, fam, visual, guide):
    kw = dict(COMMON)
    kw.update(family(fam))
    kw.update(model_name=f"tiny-{name}", visual_expert=visual, language_expert=int(guide > 0), guide_layer=guide)
    return ref.Config(**kw)


@torch.no_grad()
def init_random(model, seed):
    """Weights large enough that every stage changes the result."""
    gen = torch.Generator().manual_seed(seed)
    for name, p in sorted(model.named_parameters()):
        key = ref._h5_name(name) or name
        if "norm" in key and key.endswith(".weight"):
            v = 1.0 + 0.1 * torch.randn(p.shape, generator=gen)
        elif key.endswith(".bias"):
            v = 0.1 * torch.randn(p.shape, generator=gen)
        elif key.endswith(".static"):
            v = 0.1 * torch.randn(p.shape, generator=gen)
        elif ".hyper.1." in key:
            # K entries ~0.2: the experts' outputs are comparable to the paths they join.
            v = 0.1 * torch.randn(p.shape, generator=gen)
        elif key.startswith("expert."):
            v = 0.2 * torch.randn(p.shape, generator=gen)
        elif key.startswith("vision."):
            v = 0.15 * torch.randn(p.shape, generator=gen)
        else:
            v = 0.15 * torch.randn(p.shape, generator=gen)
        if key == "llm.lm_head.weight":
            # Byte pieces (ids 3..258) get smaller logits so answers are mostly text.
            v[3:259] *= 0.5
        p.copy_(v)


def plain_ends(tok, tokens):
    """Only ASCII whitespace is stripped from the answer (Python's strip() would
    also strip characters such as U+001C..U+001F, a rule not worth a fixture)."""
    raw = tok.decode(tokens, skip_special_tokens=True)
    # NUL would end the HDF5 string attribute early.
    return raw.strip() == raw.strip(" \t\n\r\x0b\x0c") and raw.strip() != "" and "\0" not in raw


def run_cases(model, tok, cases):
    results = []
    for image, question in cases:
        text, tr = ref.answer(model, tok, os.path.join(ROOT, image), question, MAX_NEW)
        tr["answer"], tr["image"], tr["question"] = text, image, question
        results.append(tr)
    return results


def write_golden(path, results, full_first=True):
    """Case 0 keeps the logits of every prompt position (unless full_first is
    False); the other cases keep the last position's only (they test the image,
    the question and the tokens), which keeps the fixtures small.
    `logits_start` is the position of the first row."""
    with h5py.File(path, "w") as f:
        f.attrs["n_cases"] = np.int64(len(results))
        for k, tr in enumerate(results):
            g = f.create_group(f"case{k}")
            logits = tr["logits"].numpy().astype(np.float32)
            start = 0 if (k == 0 and full_first) else logits.shape[0] - 1
            g.attrs["logits_start"] = np.int64(start)
            g.attrs["image"] = tr["image"]
            g.attrs["question"] = tr["question"]
            g.attrs["prompt"] = tr["prompt"]
            g.attrs["max_new_tokens"] = np.int64(MAX_NEW)
            g.attrs["answer"] = tr["answer"]
            g.create_dataset("ids", data=np.asarray(tr["ids"], dtype=np.int64))
            g.create_dataset("tokens", data=np.asarray(tr["tokens"], dtype=np.int64))
            g.create_dataset("pixels", data=tr["pixels"].numpy().astype(np.float32))
            names = ["vision_features", "projector", "visual_guidance", "v1.w_d", "v1.w_u", "v2.w_d", "v2.w_u",
                     "language_guidance"]
            names += sorted(k for k in tr if k.startswith("lang."))
            for n in names:
                if n in tr:
                    g.create_dataset(n, data=tr[n].numpy().astype(np.float32))
            g.create_dataset("logits", data=logits[start:])


def check_ids(tok_h5, tok_file, results):
    """The tokenizer rebuilt from the weight file gives the tokenizer.model's ids."""
    for tr in results:
        direct = ref.tokenizer_image_token(tr["prompt"], tok_file)
        if direct != tr["ids"]:
            raise SystemExit(f"tokenizer round trip differs on {tr['question']!r}")


def build_variant(name, index, images, tok_file):
    fam, visual, guide, seed, full, copies = VARIANTS[name]
    cfg = make_config(name, fam, visual, guide)
    cases = cases_for(index, images, 3)
    out_dir = os.path.join(ROOT, MODELS, name)
    for attempt in range(50):
        s = seed + attempt
        model = ref.HyperLlava(cfg)
        init_random(model, s)
        outputs = []  # (name, dtype, model path, results)
        ok = True
        for vname, dtype in [(name, "f32")] + copies:
            vcfg = dataclasses.replace(cfg, model_name=f"tiny-{vname}")
            model.cfg = vcfg
            vdir = os.path.join(ROOT, MODELS, vname)
            os.makedirs(vdir, exist_ok=True)
            mpath = os.path.join(vdir, "model.h5")
            ref.save_h5(model, mpath, os.path.join(ROOT, TOKENIZER), dtype)
            # Goldens come from the file as written (rounded weights upcast to f32).
            m2, tok = ref.load_h5(mpath)
            vcases = cases if dtype == "f32" else cases[:2]
            res = run_cases(m2, tok, vcases)
            check_ids(tok, tok_file, res)
            gap = min(g for tr in res for g in tr["gaps"])
            if gap <= MIN_GAP:
                ok = False
                print(f"  {vname}: seed {s}: min gap {gap:.2e}, retrying")
                break
            odd = [tr["answer"] for tr in res if not plain_ends(tok, tr["tokens"])]
            if odd:
                ok = False
                print(f"  {vname}: seed {s}: answer {odd[0]!r} starts or ends with unusual whitespace, retrying")
                break
            outputs.append((vname, dtype, mpath, res, gap))
        model.cfg = cfg
        if ok:
            break
    else:
        raise SystemExit(f"{name}: no seed with greedy gaps above {MIN_GAP}")
    for vname, dtype, mpath, res, gap in outputs:
        gpath = os.path.join(os.path.dirname(mpath), "golden.h5")
        write_golden(gpath, res, full_first=(full and dtype == "f32"))
        size = os.path.getsize(mpath) + os.path.getsize(gpath)
        print(f"{vname:10s} {dtype:4s} seed {s}  cases {len(res)}  min gap {gap:.4f}  "
              f"{size / 1024:.0f} KiB  answers {[tr['answer'] for tr in res]}")
    return out_dir


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="variant names (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    images = [f"{IMAGES}/{n}" for n in make_images()]
    tok_file = ref.make_tokenizer(os.path.join(ROOT, TOKENIZER))
    for index, name in enumerate(VARIANTS):
        if args.only and name not in args.only:
            continue
        build_variant(name, index, images, tok_file)


if __name__ == "__main__":
    main()
