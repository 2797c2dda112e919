#!/usr/bin/env python3
"""results.json and results.md from a bench/peers/run.sh output folder.

    python3 bench/peers/report.py out/peers

Reads run.json, model-config.json and raw/ (every program's own output per
round) and reports, per figure and program, the median over the rounds, each
round's value and the 1-minute load average when the figure started. Only the
standard library is needed.

Machine limits: a roofline for f32 weights. Each figure has a count of flops
(matmuls and attention; 2 per multiply-add) and of bytes (f32 weights read
once per forward pass, the KV cache read per decode step) per unit; its limit
is min(FMA peak / flops, read bandwidth / bytes) units/s on the same threads,
from bench/peers/limits.c in the same run (median over rounds).
"""
import glob
import json
import os
import statistics
import sys

FIGURES = [  # key, label, unit
    ("pope_b1", "POPE-shaped samples/s, batch 1", "samples/s"),
    ("pope_b8", "POPE-shaped samples/s, batch 8", "samples/s"),
    ("llm_prefill", "LLM prefill tokens/s", "tokens/s"),
    ("decode_b1", "decode tokens/s, batch 1", "tokens/s"),
    ("decode_b8", "decode tokens/s, batch 8", "tokens/s"),
    ("decode_b1_bf16", "decode tokens/s, batch 1, engine holding bf16 (peers as above)", "tokens/s"),
    ("decode_b8_bf16", "decode tokens/s, batch 8, engine holding bf16 (peers as above)", "tokens/s"),
    ("vision_b8", "vision images/s, batch 8", "images/s"),
]
PROGRAMS = [("engine", "engine"), ("transformers", "transformers"),
            ("llama_f32", "llama.cpp f32"), ("llama_f16", "llama.cpp f16")]


def load(path):
    with open(path) as f:
        return json.load(f)


def maybe(path):
    try:
        return load(path)
    except (OSError, ValueError):
        return None


def side_load(path):
    s = maybe(path + ".load")
    return s["load_start"] if s else None


class Collect:
    def __init__(self):
        self.v = {}  # (figure, program) -> list of {round, value, load}

    def add(self, fig, prog, rnd, value, load, **extra):
        if value is None:
            return
        self.v.setdefault((fig, prog), []).append(dict(round=rnd, value=value, load=load, **extra))


def engine_round(c, raw, r, errors, versions):
    for b in (1, 8):
        rep = maybe(f"{raw}/r{r}-engine-pope{b}.json")
        met = maybe(f"{raw}/r{r}-engine-pope{b}.metrics.json")
        if not rep or not rep["results"].get("pope"):
            errors.append(f"round {r}: engine pope batch {b}: no report (see raw/r{r}-engine-pope{b}.log)")
            continue
        row, st = rep["results"]["pope"][0], rep["settings"]
        versions["engine"] = rep.get("engine")
        ld = rep["machine"]["loadavg_start"]
        c.add(f"pope_b{b}", "engine", r, row["samples_per_s"]["median"], ld, positions=st["prompt_positions"])
        if met:
            images = (st["warmup"] + st["repeat"]) * row["samples"]
            vis = met["ranks"][0]["vision_s"]
            if vis > 0:
                c.add(f"vision_b{b}", "engine", r, images / vis, ld)
                if b == 1:
                    llm = row["prefill_s"]["median"] - vis / images
                    if llm > 0:
                        c.add("llm_prefill", "engine", r, st["prompt_positions"] / llm, ld,
                              note="pope batch 1: prefill_s minus the vision tower's share")
    for suffix in ("", "_bf16"):  # f32 weights, then the same held in bf16
        name = f"decode{suffix.replace('_', '-')}"
        rep = maybe(f"{raw}/r{r}-engine-{name}.json")
        if not rep:
            errors.append(f"round {r}: engine {name}: no report (see raw/r{r}-engine-{name}.log)")
            continue
        for row in rep["results"].get("decode", []):
            c.add(f"decode_b{row['batch_size']}{suffix}", "engine", r, row["decode_tokens_per_s"]["median"],
                  rep["machine"]["loadavg_start"])


def hf_round(c, raw, r, errors, versions):
    rep = maybe(f"{raw}/r{r}-transformers.json")
    if not rep:
        errors.append(f"round {r}: transformers: no report (see raw/r{r}-transformers.json.err / .err)")
        return
    versions["transformers"] = rep["versions"]
    versions["transformers_vision_layers_run"] = rep["vision_layers_run"]
    for k, f in rep["figures"].items():
        c.add(k, "transformers", r, f["median"], statistics.median(x["loadavg"] for x in f["runs"]))


def llama_round(c, raw, r, errors, versions):
    for t in ("f32", "f16"):
        prog, base = f"llama_{t}", f"{raw}/r{r}-llama-{t}"
        for name, fig in (("prefill", "llm_prefill"), ("decode1", "decode_b1")):
            rep = maybe(f"{base}-{name}.json")
            if not rep:
                errors.append(f"round {r}: llama.cpp {t} {name}: no output (see raw/r{r}-llama-{t}-{name}.err)")
                continue
            x = rep[-1]
            versions["llama.cpp"] = x.get("build_commit")
            versions["llama.cpp_flash_attn"] = x.get("flash_attn")
            versions["llama.cpp_kv_type"] = x.get("type_k")
            c.add(fig, prog, r, statistics.median(x["samples_ts"]), side_load(f"{base}-{name}.json"))
        try:
            with open(f"{base}-batched.jsonl") as f:
                rows = [json.loads(l) for l in f if l.strip().startswith("{")]
        except OSError:
            rows = []
        if not rows:
            errors.append(f"round {r}: llama.cpp {t} batched: no output (see raw/r{r}-llama-{t}-batched.err)")
        for row in rows:
            if row["pl"] == 8:
                c.add("decode_b8", prog, r, row["speed_tg"], side_load(f"{base}-batched.jsonl"),
                      tool="llama-batched-bench")
            elif row["pl"] == 1:
                c.add("decode_b1_batched_bench", prog, r, row["speed_tg"], side_load(f"{base}-batched.jsonl"),
                      tool="llama-batched-bench")


def model_costs(cfg, positions, new_tokens):
    """flops and bytes per unit of each figure, for f32 weights."""
    t, v = cfg["text_config"], cfg["vision_config"]
    d, L, f, V = t["hidden_size"], t["num_hidden_layers"], t["intermediate_size"], t["vocab_size"]
    dv, fv, p, img = v["hidden_size"], v["intermediate_size"], v["patch_size"], v["image_size"]
    sel = cfg.get("vision_feature_layer", -2)
    Lv = v["num_hidden_layers"] + sel + 1 if sel < 0 else sel
    P = (img // p) ** 2
    S = P + 1
    blk = L * (4 * d * d + 3 * d * f)  # LLM block weights
    head = d * V
    vis_w = Lv * (4 * dv * dv + 2 * dv * fv) + 3 * p * p * dv
    proj_w = dv * d + d * d
    n = positions

    def prefill_flops(n):
        return 2 * n * blk + 2 * d * L * n * (n + 1) + 2 * head

    vision_flops = 2 * P * 3 * p * p * dv + Lv * (2 * S * (4 * dv * dv + 2 * dv * fv) + 4 * S * S * dv) \
        + 2 * P * proj_w
    ctx = n + new_tokens // 2

    def decode_step(b):  # one step of b samples: flops, bytes
        return (b * (2 * (blk + head) + 4 * d * L * ctx), 4 * (blk + head) + b * 4 * 2 * L * d * ctx)

    fl1, by1 = decode_step(1)
    fl8, by8 = decode_step(8)
    llm_w = 4 * (blk + head)
    return {
        "pope_b1": (vision_flops + prefill_flops(n) + fl1, 4 * (vis_w + proj_w) + llm_w + by1),
        "pope_b8": (vision_flops + prefill_flops(n) + fl1, (4 * (vis_w + proj_w) + llm_w + by8) / 8),
        "llm_prefill": (prefill_flops(n) / n, llm_w / n),
        "decode_b1": (fl1, by1),
        "decode_b8": (fl8 / 8, by8 / 8),
        "decode_b1_bf16": (fl1, by1 - 2 * (blk + head)),
        "decode_b8_bf16": (fl8 / 8, (by8 - 2 * (blk + head)) / 8),
        "vision_b8": (vision_flops, 4 * (vis_w + proj_w) / 8),
    }, {"llm_params": blk + 2 * head + 2 * d, "vision_layers_run": Lv, "image_tokens": P}


def fmt(x):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def main(argv):
    if len(argv) != 1:
        sys.exit("usage: report.py OUT_DIR")
    out = argv[0]
    raw = os.path.join(out, "raw")
    run = load(os.path.join(out, "run.json"))
    cfg = load(os.path.join(out, "model-config.json"))
    rounds = sorted({int(os.path.basename(p)[1:].split("-")[0]) for p in glob.glob(f"{raw}/r*-*")})
    c, errors, versions = Collect(), [], {}
    limits, waits = [], {}
    for r in rounds:
        lim = maybe(f"{raw}/r{r}-limits.json")
        if lim:
            lim["load_start"] = side_load(f"{raw}/r{r}-limits.json")
            limits.append(lim)
        else:
            errors.append(f"round {r}: limits: no output")
        for p in glob.glob(f"{raw}/r{r}-*.wait.json"):
            waits[os.path.basename(p)[:-len(".wait.json")]] = load(p)
        engine_round(c, raw, r, errors, versions)
        hf_round(c, raw, r, errors, versions)
        llama_round(c, raw, r, errors, versions)

    # the bf16 rows compare with the peers' own decode figures
    for b in (1, 8):
        for prog, _ in PROGRAMS[1:]:
            if (f"decode_b{b}", prog) in c.v:
                c.v[(f"decode_b{b}_bf16", prog)] = c.v[(f"decode_b{b}", prog)]
    positions = 576 + run["text_tokens"]
    for (fig, prog), vals in c.v.items():
        if fig.startswith("pope") and prog == "engine":
            positions = vals[0].get("positions", positions)
    costs, model_info = model_costs(cfg, positions, run["new_tokens"])
    med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    peak = med([x["fma_peak_gflops"][-1] for x in limits])
    peak1 = med([x["fma_peak_gflops"][0] for x in limits])
    readbw = med([x["read_gbps"][-1] for x in limits])
    copybw = med([x["copy_gbps"][-1] for x in limits])
    machine = {"fma_peak_gflops": {"1": peak1, str(run["threads"]): peak},
               "read_gbps": {"1": med([x["read_gbps"][0] for x in limits]), str(run["threads"]): readbw},
               "copy_gbps": {"1": med([x["copy_gbps"][0] for x in limits]), str(run["threads"]): copybw},
               "per_round": limits}

    figures = {}
    for key, label, unit in FIGURES + [("vision_b1", "vision images/s, batch 1", "images/s"),
                                       ("decode_b1_batched_bench", "decode tokens/s, batch 1 (batched-bench)",
                                        "tokens/s")]:
        row = {"label": label, "unit": unit, "programs": {}}
        for prog, _ in PROGRAMS:
            vals = c.v.get((key, prog))
            if vals:
                row["programs"][prog] = {"median": med([v["value"] for v in vals]), "rounds": vals,
                                         "load_1min_max": max((v["load"] for v in vals if v["load"] is not None),
                                                              default=None)}
        if key in costs and peak and readbw:
            fl, by = costs[key]
            lim = min(peak * 1e9 / fl, readbw * 1e9 / by)
            row["limit"] = {"value": lim, "flops_per_unit": fl, "bytes_per_unit": by,
                            "bound": "compute" if peak * 1e9 / fl < readbw * 1e9 / by else "memory"}
        e = row["programs"].get("engine", {}).get("median")
        if e is not None:
            if "limit" in row:
                row["engine_fraction_of_limit"] = e / row["limit"]["value"]
            row["engine_ratio"] = {p: e / row["programs"][p]["median"] for p, _ in PROGRAMS[1:]
                                   if p in row["programs"] and row["programs"][p]["median"]}
        if row["programs"]:
            figures[key] = row

    result = {"run": run, "finished": (open(os.path.join(out, "finished")).read().strip()
                                       if os.path.exists(os.path.join(out, "finished")) else None),
              "model": {"config": cfg, **model_info, "positions": positions}, "machine_limits": machine,
              "versions": versions, "load_waits": waits, "figures": figures, "errors": errors}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(result, f, indent=2)

    t, v = cfg["text_config"], cfg["vision_config"]
    lines = [
        f"# bench/peers: engine beside transformers and llama.cpp{' (--quick)' if run['quick'] else ''}",
        "",
        f"- **machine**: {run['host']}, {run['cpu_model']}, {run['cpus_online']} CPUs online, "
        f"{run['mem_total_kib'] // 1024} MiB; flags {run['cpu_flags']}",
        f"- **date**: {run['started']} to {result['finished']}; repository at {run['commit']}"
        f"{' (uncommitted changes)' if run['dirty'] else ''}; engine binary {run['engine_bin']}, built from "
        f"{versions.get('engine', '?')} (its own report)",
        f"- **peers**: torch {versions.get('transformers', {}).get('torch', '?')}, transformers "
        f"{versions.get('transformers', {}).get('transformers', '?')} (sdpa, fp32); llama.cpp "
        f"{versions.get('llama.cpp', '?')} from {run['llama_cpp_source']} (KV cache "
        f"{versions.get('llama.cpp_kv_type', '?')}, flash_attn {versions.get('llama.cpp_flash_attn', '?')})",
        f"- **model**: CLIP {v['hidden_size']} wide, {model_info['vision_layers_run']} of "
        f"{v['num_hidden_layers']} layers run, {v['num_attention_heads']} heads, MLP {v['intermediate_size']}, "
        f"{v['image_size']} px / patch {v['patch_size']} ({model_info['image_tokens']} image tokens); LLaMA "
        f"{t['hidden_size']} wide, {t['num_hidden_layers']} layers, {t['num_attention_heads']} heads, MLP "
        f"{t['intermediate_size']}, vocabulary {t['vocab_size']}; random weights, fp32",
        f"- **work**: {positions} positions in; pope 2 tokens out; decode {run['new_tokens']} tokens out "
        f"after {positions} positions; {run['threads']} threads everywhere; {len(rounds)} round(s), "
        f"{run['warmup']} warm-up + {run['repeat']} timed pass(es) per figure and round; medians over rounds",
        f"- **load**: waited for a 1-minute load average below {run['load_max']} before each program"
        f"{'' if run['wait'] else ' (waiting was off)'}; the load column is the highest 1-minute load at "
        f"the start of the figure, over programs and rounds (it includes this run's previous program)",
        "- **load after waiting**, per program (median over rounds): " + ", ".join(
            f"{name} {fmt(statistics.median(w['load_1min'] for k, w in waits.items() if k.endswith('-' + tag)))}"
            for tag, name in (("limits", "limits"), ("engine", "engine"), ("transformers", "transformers"),
                              ("llama-f32", "llama.cpp f32"), ("llama-f16", "llama.cpp f16"))
            if any(k.endswith("-" + tag) for k in waits)),
        f"- **machine limits** (limits.c, same run, median of rounds): FMA fp32 "
        f"{fmt(peak1)} GFLOP/s on 1 thread, {fmt(peak)} on {run['threads']}; memory read "
        f"{fmt(machine['read_gbps']['1'])} / {fmt(readbw)} GB/s, copy "
        f"{fmt(machine['copy_gbps']['1'])} / {fmt(copybw)} GB/s (1 / {run['threads']} threads)",
        "",
        "| figure | engine | transformers | llama.cpp f32 | llama.cpp f16 | limit (f32) | engine / limit | "
        "engine / transformers | engine / llama.cpp f32 | engine / llama.cpp f16 | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label, unit in FIGURES:
        row = figures.get(key)
        if not row:
            continue
        if key == "llm_prefill":
            label = f"LLM prefill tokens/s ({positions})"
        pm = {p: row["programs"].get(p, {}).get("median") for p, _ in PROGRAMS}
        ratio = row.get("engine_ratio", {})
        loads = [row["programs"][p]["load_1min_max"] for p in row["programs"]
                 if row["programs"][p]["load_1min_max"] is not None]
        lim = row.get("limit")
        frac = row.get("engine_fraction_of_limit")
        lines.append("| " + " | ".join([
            label, fmt(pm["engine"]), fmt(pm["transformers"]), fmt(pm["llama_f32"]), fmt(pm["llama_f16"]),
            f"{fmt(lim['value'])} ({lim['bound']})" if lim else "–",
            f"{100 * frac:.1f} %" if frac is not None else "–",
            *[(f"{ratio[p]:.2f}×" if p in ratio else "–") for p, _ in PROGRAMS[1:]],
            fmt(max(loads)) if loads else "–"]) + " |")
    lines += ["", "Engine: `hyperllava bench`; LLM prefill is its pope batch-1 prefill minus the vision "
              "tower's share (from `--metrics`), vision images/s is images / vision_s of the pope batch-8 run. "
              "transformers: bench/peers/hf_peer.py. llama.cpp: `llama-bench -p N -n 0` (prefill), "
              "`llama-bench -p 0 -n T -d N` (decode batch 1), `llama-batched-bench -npp N -ntg T -npl 1,8` "
              "(decode batch 8, S_TG). The limit is a roofline for f32 weights (report.py's docstring)."]
    if errors:
        lines += ["", "Missing:", ""] + [f"- {e}" for e in errors]
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
