"""Train the small HyperLLaVA demo model on a synthetic visual QA task (CPU, minutes).

    tests/reference/.venv/bin/python tests/reference/train_demo.py [--steps N] [--out weights/demo.h5]

Scenes are 96x96 images with one to three coloured shapes (circle, square,
triangle) in the cells of a 3x3 grid on a light background. Questions follow
LLaVA's evaluation style and short-answer suffixes:

    color   What color is the circle?              -> Red / Green / Blue / Yellow
    exists  Is there a square in the image?        -> Yes / No
    count   How many shapes are there?             -> 1 / 2 / 3
    choice  What shape is the red object? A-D      -> A / B / C / D

The model has every expert (visual E_V1 and E_V2, language expert from block 2)
and LLaVA-1.5's prompt, preprocessing (96 -> 48 bicubic) and tokenizer (the tiny
test tokenizer). Training is teacher-forced on the exact inference sequence
(vicuna_v1 prompt, visual tokens spliced in, answer + EOS); accuracy is then
measured by greedy generation through hyperllava_ref.answer() from the saved
weight file, exactly as the command line reference answers.

Also writes the demo question set tests/fixtures/demo/: questions.jsonl (LLaVA's
question format), images/, answers.jsonl (ground truth) and reference.jsonl (the
reference's answers with the saved weights).
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hyperllava_ref as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER = os.path.join(ROOT, "tests/fixtures/tokenizers/tiny.model")
DEMO_DIR = os.path.join(ROOT, "tests/fixtures/demo")

COLORS = {"red": (215, 35, 35), "green": (30, 160, 60), "blue": (35, 75, 215), "yellow": (235, 195, 20)}
SHAPES = ["circle", "square", "triangle"]
DISTRACTOR = "star"
BACKGROUNDS = [(245, 245, 245), (228, 224, 210), (205, 215, 225)]
CANVAS, CELL = 96, 32
SHORT = "Answer the question using a single word or phrase."
CHOICE = "Answer with the option's letter from the given choices directly."
CATEGORIES = ["color", "exists", "count", "choice"]
# Training also uses a dense description task (every object, in reading order),
# LLaVA's "pretraining" idea: it teaches the visual path quickly.
DESCRIBE = "describe"
TRAIN_CYCLE = [DESCRIBE, "color", "choice", "exists", DESCRIBE, "count", "choice"]


def demo_config():
    return ref.Config(
        model_name="hyperllava-demo", vision_hidden=64, vision_heads=4, vision_intermediate=128,
        vision_layers=3, vision_image_size=48, vision_patch_size=16, vision_layer_norm_eps=1e-5,
        vision_select_layer=-2, hidden=64, heads=4, intermediate=172, layers=4, vocab=400,
        max_positions=1024, rms_norm_eps=1e-5, rope_theta=10000.0, bos_id=1, eos_id=2,
        visual_expert="both", language_expert=1, guide_layer=2, expert_embed=16, expert_hidden=32,
        expert_rank=8)


# --------------------------------------------------------------------------
# Data


def draw_scene(rng):
    """A 96x96 RGB image and its objects [(shape, color, cell)], cells in reading order."""
    bg = rng.choice(BACKGROUNDS)
    img = Image.new("RGB", (CANVAS, CANVAS), bg)
    d = ImageDraw.Draw(img)
    n = rng.randint(1, 3)
    objs = []
    for cell in sorted(rng.sample(range(9), n)):
        shape, color = rng.choice(SHAPES), rng.choice(list(COLORS))
        size = rng.randint(18, 26)
        x0 = (cell % 3) * CELL + rng.randint(2, CELL - size - 2)
        y0 = (cell // 3) * CELL + rng.randint(2, CELL - size - 2)
        box = (x0, y0, x0 + size, y0 + size)
        if shape == "circle":
            d.ellipse(box, fill=COLORS[color])
        elif shape == "square":
            d.rectangle(box, fill=COLORS[color])
        else:
            d.polygon([(x0, y0 + size), (x0 + size // 2, y0), (x0 + size, y0 + size)], fill=COLORS[color])
        objs.append((shape, color, cell))
    return img, objs


def make_question(rng, objs, category):
    """(text with suffix, answer) for the scene, or None if the category does not fit it."""
    shapes = [o[0] for o in objs]
    colors = [o[1] for o in objs]
    if category == "color":
        unique = [o for o in objs if shapes.count(o[0]) == 1]
        if not unique:
            return None
        shape, color, _ = rng.choice(unique)
        return f"What color is the {shape}?\n{SHORT}", color.capitalize()
    if category == "exists":
        shape = rng.choice(SHAPES)
        return f"Is there a {shape} in the image?\n{SHORT}", "Yes" if shape in shapes else "No"
    if category == "count":
        return f"How many shapes are there?\n{SHORT}", str(len(objs))
    if category == DESCRIBE:
        return "Describe the image briefly.", ", ".join(f"{o[1]} {o[0]}" for o in objs)
    unique = [o for o in objs if colors.count(o[1]) == 1]
    if not unique:
        return None
    shape, color, _ = rng.choice(unique)
    options = SHAPES + [DISTRACTOR]
    rng.shuffle(options)
    lines = "\n".join(f"{l}. {o}" for l, o in zip("ABCD", options))
    return f"What shape is the {color} object?\n{lines}\n{CHOICE}", "ABCD"[options.index(shape)]


def sample(rng, category=None):
    while True:
        img, objs = draw_scene(rng)
        cat = category or rng.choice(CATEGORIES)
        qa = make_question(rng, objs, cat)
        if qa:
            return img, cat, qa[0], qa[1]


def pixels_of(img, cfg):
    """LLaVA preprocessing of a square image (no padding): bicubic resize, normalise.
    Checked against hyperllava_ref.load_image in main()."""
    s = cfg.vision_image_size
    if img.size != (s, s):
        img = img.resize((s, s), Image.BICUBIC)
    a = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    mean = np.asarray(cfg.image_mean, dtype=np.float32)[:, None, None]
    std = np.asarray(cfg.image_std, dtype=np.float32)[:, None, None]
    return torch.from_numpy((a - mean) / std)


class Encoder:
    """Token ids of the fixed prompt prefix, of each question chunk and of answers."""

    def __init__(self, tok):
        self.tok = tok
        prompt = ref.build_prompt("QUESTION")
        self.chunk0, _ = prompt.split("<image>")
        self.prefix = tok(self.chunk0).input_ids  # BOS + system + "USER: "

    def question(self, text, answer=None):
        """Ids after the image: question chunk (no BOS), and the answer ids + EOS."""
        chunk = "\n" + text + " ASSISTANT:"
        q = self.tok(chunk).input_ids[1:]
        if answer is None:
            return q, []
        full = self.tok(chunk + " " + answer).input_ids[1:]
        assert full[:len(q)] == q, "answer tokens must extend the prompt tokens"
        return q, full[len(q):] + [self.tok.eos_token_id]


def make_batch(rng, enc, cfg, n, category=None):
    px, qs, ans = [], [], []
    for _ in range(n):
        img, _, text, answer = sample(rng, category)
        px.append(pixels_of(img, cfg))
        q, a = enc.question(text, answer)
        qs.append(q)
        ans.append(a)
    return torch.stack(px), qs, ans


# --------------------------------------------------------------------------
# Batched training forward (the same modules and math as HyperLlava.run)


def batched_adapter(k, rank, n_in, n_out):
    return k[:, :rank * n_in].view(-1, rank, n_in), k[:, rank * n_in:].view(-1, n_out, rank)


def apply_adapter(ad, x):
    w_d, w_u = ad
    return torch.bmm(F.silu(torch.bmm(x, w_d.transpose(1, 2))), w_u.transpose(1, 2))


def batched_guidance(rows, mask=None):
    if mask is None:
        g = rows.mean(1)
    else:
        g = (rows * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return g / torch.sqrt((g * g).mean(-1, keepdim=True) + ref.GUIDANCE_EPS)


def forward_loss(model, enc, pixels, qs, ans, per_sample=False):
    cfg = model.cfg
    b = pixels.shape[0]
    out = model.clip.vision_model(pixel_values=pixels, output_hidden_states=True)
    fv = out.hidden_states[cfg.vision_select_layer][:, 1:]
    l1 = F.gelu(model.projector[0](fv))
    g = batched_guidance(fv)
    a = l1
    ex = model.expert
    if "v1" in ex:
        k = ex["v1"].hyper(ex["v1"].enc(g)) + ex["v1"].static
        a = a + apply_adapter(batched_adapter(k, cfg.expert_rank, cfg.vision_hidden, cfg.hidden), fv)
    v = model.projector[2](a)
    if "v2" in ex:
        k = ex["v2"].hyper(ex["v2"].enc(g)) + ex["v2"].static
        v = v + apply_adapter(batched_adapter(k, cfg.expert_rank, cfg.hidden, cfg.hidden), l1)

    emb = model.llm.model.embed_tokens
    n0, npatch = len(enc.prefix), fv.shape[1]
    tail = max(len(q) + len(x) for q, x in zip(qs, ans))
    t = n0 + npatch + tail
    ids = torch.zeros(b, tail, dtype=torch.long)
    prompt_mask = torch.zeros(b, t)
    prompt_mask[:, :n0 + npatch] = 1
    targets = torch.full((b, t), -100, dtype=torch.long)
    for i, (q, x) in enumerate(zip(qs, ans)):
        seq = q + x
        ids[i, :len(seq)] = torch.tensor(seq)
        prompt_mask[i, n0 + npatch:n0 + npatch + len(q)] = 1
        # The logits at position p predict token p+1.
        start = n0 + npatch + len(q)
        targets[i, start - 1:start - 1 + len(x)] = torch.tensor(x)
    prefix = emb(torch.tensor(enc.prefix))[None].expand(b, -1, -1)
    h = torch.cat([prefix, v, emb(ids)], dim=1)

    # Right padding only: the causal mask keeps real positions away from it.
    mask = torch.triu(torch.full((t, t), torch.finfo(torch.float32).min), 1)[None, None].expand(b, 1, t, t)
    pos = torch.arange(t)[None].expand(b, t)
    adapters = {}
    for n, layer in enumerate(model.llm.model.layers):
        if "lang" in ex and n == cfg.guide_layer:
            g_l = batched_guidance(h, prompt_mask)
            for m, lay in ex["lang"].layers.items():
                k = ex["lang"].hyper(lay.enc(g_l)) + lay.static
                adapters[int(m)] = batched_adapter(k, cfg.expert_rank, cfg.hidden, cfg.hidden)
        x = layer.self_attn(hidden_states=layer.input_layernorm(h), attention_mask=mask, position_ids=pos)[0]
        hh = h + x
        out = hh + layer.mlp(layer.post_attention_layernorm(hh))
        if n in adapters:
            out = out + apply_adapter(adapters[n], hh)
        h = out
    sel = targets >= 0
    logits = model.llm.lm_head(model.llm.model.norm(h[sel]))
    if per_sample:
        # Teacher-forced exact match: every answer token (and EOS) is the argmax,
        # which is exactly when greedy decoding produces the answer.
        hit = torch.zeros(b, t, dtype=torch.bool)
        hit[sel] = logits.argmax(-1) == targets[sel]
        return (hit | ~sel).all(dim=1)
    return F.cross_entropy(logits, targets[sel])


def pretrain_vision(model, rng, steps, batch, lr):
    """Stand-in for CLIP's pretraining: the tower learns to tell each grid cell's
    shape and colour (a linear probe on the selected features, discarded after).
    The 3x3 cells of the 96 px scene are exactly the 3x3 patches at 48 px. The
    tower is then frozen, as LLaVA keeps CLIP frozen."""
    cfg = model.cfg
    assert cfg.vision_image_size // cfg.vision_patch_size == 3
    head = torch.nn.Linear(cfg.vision_hidden, 1 + len(SHAPES) + 1 + len(COLORS))
    params = list(model.clip.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    colors = list(COLORS)
    for step in range(1, steps + 1):
        px, shape_y, color_y = [], torch.zeros(batch, 9, dtype=torch.long), torch.zeros(batch, 9, dtype=torch.long)
        for i in range(batch):
            img, objs = draw_scene(rng)
            px.append(pixels_of(img, cfg))
            for shape, color, cell in objs:
                shape_y[i, cell] = 1 + SHAPES.index(shape)
                color_y[i, cell] = 1 + colors.index(color)
        out = model.clip.vision_model(pixel_values=torch.stack(px), output_hidden_states=True)
        logits = head(out.hidden_states[cfg.vision_select_layer][:, 1:])
        ns = 1 + len(SHAPES)
        loss = F.cross_entropy(logits[..., :ns].reshape(-1, ns), shape_y.view(-1)) + \
            F.cross_entropy(logits[..., ns:].reshape(-1, 1 + len(colors)), color_y.view(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == steps:
            acc_s = (logits[..., :ns].argmax(-1) == shape_y).float().mean().item()
            acc_c = (logits[..., ns:].argmax(-1) == color_y).float().mean().item()
            print(f"vision step {step:4d}  loss {loss.item():.4f}  cell shape acc {acc_s:.3f}  colour acc {acc_c:.3f}",
                  flush=True)
    for p in model.clip.parameters():
        p.requires_grad_(False)


def init_demo(model, seed):
    """HF initialisation for the towers; experts start as small LoRA-like adapters
    (W_d random, W_u zero) so the base path trains first."""
    g = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    with torch.no_grad():
        for name, ex in model.expert.items():
            hyper1 = ex.hyper[1]
            hyper1.weight.normal_(0, 0.01, generator=g)
            hyper1.bias.zero_()
            statics = [ex.static] if name != "lang" else [l.static for l in ex.layers.values()]
            n_in = cfg.vision_hidden if name == "v1" else cfg.hidden
            for s in statics:
                s.zero_()
                s[:cfg.expert_rank * n_in].normal_(0, 1 / math.sqrt(n_in), generator=g)


# --------------------------------------------------------------------------
# Evaluation through the reference's inference path


def evaluate(model, tok, items, cfg, workdir):
    """items: [(PIL image, category, text, answer)]; greedy answers via ref.answer."""
    correct, by_cat, preds = 0, {}, []
    path = os.path.join(workdir, "eval.png")
    for img, cat, text, answer in items:
        img.save(path)
        pred, _ = ref.answer(model, tok, path, text, max_new_tokens=8)
        ok = pred == answer
        correct += ok
        c = by_cat.setdefault(cat, [0, 0])
        c[0] += ok
        c[1] += 1
        preds.append(pred)
    return correct / len(items), {k: v[0] / v[1] for k, v in sorted(by_cat.items())}, preds


def write_demo_set(model, tok, cfg, rng, n_per_category=10):
    img_dir = os.path.join(DEMO_DIR, "images")
    os.makedirs(img_dir, exist_ok=True)
    questions, answers, refs = [], [], []
    qid = 0
    for cat in CATEGORIES:
        for _ in range(n_per_category):
            img, _, text, answer = sample(rng, cat)
            name = f"{qid:04d}.png"
            img.save(os.path.join(img_dir, name), optimize=True)
            pred, _ = ref.answer(model, tok, os.path.join(img_dir, name), text, max_new_tokens=8)
            questions.append({"question_id": qid, "image": name, "text": text, "category": cat})
            answers.append({"question_id": qid, "answer": answer, "category": cat})
            refs.append({"question_id": qid, "text": pred})
            qid += 1
    for fname, rows in (("questions.jsonl", questions), ("answers.jsonl", answers), ("reference.jsonl", refs)):
        with open(os.path.join(DEMO_DIR, fname), "w") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    acc = sum(r["text"] == a["answer"] for r, a in zip(refs, answers)) / len(answers)
    return acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--vision-steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eval", type=int, default=200, help="questions for each accuracy")
    ap.add_argument("--out", default=os.path.join(ROOT, "weights/demo.h5"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    cfg = demo_config()
    tok = ref.make_tokenizer(TOKENIZER)
    enc = Encoder(tok)
    model = ref.HyperLlava(cfg)
    init_demo(model, args.seed)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"demo model: {n_params} parameters, prompt prefix {len(enc.prefix)} ids, "
          f"{cfg.patches} visual tokens")

    # The fast preprocessing used for training equals the reference's.
    rng = random.Random(args.seed * 1000 + 7)
    img, *_ = sample(rng)
    tmp = os.path.join(os.path.dirname(args.out) or ".", ".demo_check.png")
    img.save(tmp)
    assert torch.equal(pixels_of(img, cfg), ref.load_image(tmp, cfg)), "preprocessing differs"

    pretrain_vision(model, random.Random(args.seed + 77), args.vision_steps, 64, 3e-3)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=args.lr, betas=(0.9, 0.98), weight_decay=0.0)
    warm = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps))))
    train_rng = random.Random(args.seed)
    probe_rng = random.Random(args.seed + 5555)
    probe = {c: make_batch(probe_rng, enc, cfg, 32, c) for c in CATEGORIES + [DESCRIBE]}
    t0 = time.time()
    avg = None
    for step in range(1, args.steps + 1):
        # One category per batch: similar lengths, little padding.
        px, qs, ans = make_batch(train_rng, enc, cfg, args.batch, TRAIN_CYCLE[step % len(TRAIN_CYCLE)])
        loss = forward_loss(model, enc, px, qs, ans)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        sched.step()
        avg = loss.item() if avg is None else 0.95 * avg + 0.05 * loss.item()
        if step % 25 == 0 or step == 1:
            print(f"step {step:4d}  loss {avg:.4f}  lr {sched.get_last_lr()[0]:.2e}  {time.time() - t0:.0f}s", flush=True)
        if step % 100 == 0 or step == args.steps:
            model.eval()
            with torch.no_grad():
                accs = {c: float(forward_loss(model, enc, *probe[c], per_sample=True).float().mean()) for c in probe}
            model.train()
            print("  held-out (teacher-forced exact match): " + ", ".join(f"{c} {a:.2f}" for c, a in accs.items()),
                  flush=True)
    model.eval()

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    ref.save_h5(model, args.out, TOKENIZER, "f32")
    saved, tok2 = ref.load_h5(args.out)
    print(f"saved {args.out} ({os.path.getsize(args.out) / 1e6:.2f} MB), trained in {time.time() - t0:.0f}s")

    # Train accuracy: a fresh draw from the training distribution's generator state
    # (same stream as training); held-out: an unrelated seed.
    replay = random.Random(args.seed)
    seen = [sample(replay, TRAIN_CYCLE[(i // args.batch + 1) % len(TRAIN_CYCLE)])
            for i in range(args.batch * len(TRAIN_CYCLE))]
    train_items = [x for c in CATEGORIES for x in [y for y in seen if y[1] == c][:args.eval // len(CATEGORIES)]]
    held_rng = random.Random(args.seed + 99991)
    held_items = [sample(held_rng) for _ in range(args.eval)]
    tr_acc, tr_cat, _ = evaluate(saved, tok2, train_items, cfg, os.path.dirname(tmp))
    ho_acc, ho_cat, _ = evaluate(saved, tok2, held_items, cfg, os.path.dirname(tmp))
    os.unlink(tmp) if os.path.exists(tmp) else None
    fmt = lambda d: ", ".join(f"{k} {v:.2f}" for k, v in d.items())
    print(f"train accuracy {tr_acc:.3f} ({fmt(tr_cat)})")
    print(f"held-out accuracy {ho_acc:.3f} ({fmt(ho_cat)})")
    demo_acc = write_demo_set(saved, tok2, cfg, random.Random(args.seed + 424242))
    print(f"demo set: {DEMO_DIR}, reference accuracy {demo_acc:.3f}")


if __name__ == "__main__":
    main()
