#!/usr/bin/env python3
"""Summarises `hyperllava bench --json` reports as Markdown tables.

    bench/summarise.py out/bench/*.json

One table per model: a row per (layout, threads, workload, batch size) with
the median throughput of the timed runs and its ratio to the same workload
and batch size on the model's baseline run (the one with the fewest cores in
use: 1 rank x 1 thread when present). Only the standard library is used.
"""
import json
import sys
from collections import OrderedDict


def load(paths):
    reports = []
    for p in paths:
        try:
            with open(p) as f:
                r = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"summarise.py: {p}: {e}")
        if r.get("command") != "bench":
            sys.exit(f"summarise.py: {p}: not a hyperllava bench report")
        r["_path"] = p
        reports.append(r)
    return reports


def cores(r):
    return r["layout"]["world"] * r["threads"]


def layout(r):
    l = r["layout"]
    return f"{l['dp']}x{l['pp']}x{l['tp']}"


def threads(r):
    pol = r.get("environment", {}).get("OMP_WAIT_POLICY")
    return f"{r['threads']} ({pol})" if pol else str(r["threads"])


def mib(n):
    return n / 2**20


def table(model, runs):
    runs = sorted(runs, key=lambda r: (cores(r), r["layout"]["world"], layout(r), threads(r)))
    base = runs[0]
    m = base["model"]
    st = base["settings"]
    lines = [f"### {model}", "",
             f"LLaMA d={m['llm']['hidden']}, {m['llm']['layers']} blocks, vocab {m['llm']['vocab']}; "
             f"CLIP {m['vision']['hidden']} wide, {m['vision']['layers_run']} layers run, "
             f"{m['vision']['image_tokens']} image tokens; experts: visual {m['experts']['visual']}, "
             f"language {'yes' if m['experts']['language'] else 'no'}. Prompt {st['image_tokens']} image + "
             f"{st['text_tokens']} text tokens. Host {base['machine']['host']}, "
             f"{base['machine']['cpu_model']}, {base['machine']['cpus_online']} CPUs online.", "",
             "| layout | threads/rank | load avg | workload | batch | samples/s | decode tok/s | prefill s | decode s | "
             "peak RSS MiB (max rank) | vs " + f"{layout(base)} x{threads(base)} |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    ref = {}
    for wl, rows in base["results"].items():
        for row in rows:
            ref[(wl, row["batch_size"])] = row
    for r in runs:
        load = f"{r['machine'].get('loadavg_start', -1):.1f}"
        for wl, rows in r["results"].items():
            for row in rows:
                sps = row["samples_per_s"]["median"]
                dts = row["decode_tokens_per_s"]["median"]
                b = ref.get((wl, row["batch_size"]))
                key, val = ("samples_per_s", sps) if wl == "pope" else ("decode_tokens_per_s", dts)
                ratio = f"{val / b[key]['median']:.2f}x" if b and b[key]["median"] > 0 else "-"
                lines.append(
                    f"| {layout(r)} | {threads(r)} | {load} | {wl} ({row['new_tokens']} new) | {row['batch_size']} | "
                    f"{sps:.3g} | {dts:.3g} | {row['prefill_s']['median']:.3g} | {row['decode_s']['median']:.3g} | "
                    f"{mib(max(row['peak_rss_bytes'])):.0f} | {ratio} |")
    lines.append("")
    return "\n".join(lines)


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    by_model = OrderedDict()
    for r in load(argv):
        by_model.setdefault(r["model"]["name"], []).append(r)
    print("\n".join(table(k, v) for k, v in by_model.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
