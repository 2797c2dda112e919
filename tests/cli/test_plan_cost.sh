#!/usr/bin/env bash
# plan's cost model (docs/plan.md): the FLOPs and bytes of vision, prefill
# and decode for the fixture model against the formulas written out here from
# the model's numbers; the pipeline bubble; the wall time from a hand-written
# calibration file and the warning past the time limit; the counts behind the
# attention and row-operation terms; that bench --calibrate
# writes a file plan reads; the same numbers from
# the checkpoint's config.json (--model-config); and the one-line refusals.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
MODEL=$(pwd)/tests/fixtures/models/all/model.h5
[ -f "$MODEL" ] || { echo "skip: $MODEL not present"; exit 77; }
mkdir -p "$TMP/data/pope/val2014" "$TMP/data/pope/coco"
head -n 3 tests/fixtures/bench/pope/llava_pope_test.jsonl >"$TMP/data/pope/q3.jsonl"
cat >"$TMP/job.yaml" <<EOF
run: {model: $MODEL, batch_size: 2}
output: $TMP/out
data_root: $TMP/data
benchmarks:
  - {kind: pope, questions: pope/q3.jsonl, images: pope/val2014, annotations: pope/coco, max_new_tokens: 5}
EOF
# 1 GFLOP/s would be 1e9; these rates make times of whole seconds easy to check
cat >"$TMP/cal.json" <<EOF
{"format": "hyperllava-calibration-1", "host": "n1", "date": "2026-01-01", "backend": "cpu",
 "dtype": "f32", "threads": 1, "ranks": 1, "gemm_gflops": 0.001, "stream_gbps": 0.002}
EOF

# ---- FLOPs and bytes on one rank: 3 POPE questions, batches of 2 and 1 ------
$HL_BIN plan --job "$TMP/job.yaml" --text-tokens 10 >"$TMP/plan" 2>"$TMP/err" ||
    { fail "plan: $(cat "$TMP/err")"; pass_or_fail; }
/usr/bin/python3 - "$TMP/plan" "$MODEL" <<'PY' || fail "FLOPs / bytes differ from the formulas"
import re, sys, h5py
out = open(sys.argv[1]).read()
a = dict(h5py.File(sys.argv[2], "r").attrs)
C, Iv, P, img = a["vision_hidden"], a["vision_intermediate"], a["vision_patch_size"], a["vision_image_size"]
used = a["vision_layers"] + 1 + a["vision_select_layer"]           # layers run: 2 of 3
NP = (img // P) ** 2; T = NP + 1                                     # patches, + class token
d, I, L, V = a["hidden"], a["intermediate"], a["layers"], a["vocab"]
de, h, r, g = a["expert_embed"], a["expert_hidden"], a["expert_rank"], a["guide_layer"]
text, K, f32 = 10, 5, 4
S = NP + text                                                        # prompt positions
W = 4 * d * d + 3 * d * I                                            # one block's matrices
post = L - g                                                         # blocks with the language expert
gen_w = lambda g_dim, n_in: de * g_dim + h * de + h * (r * n_in + d * r)  # prior + hypernetwork
flops = {"vision": 0, "prefill": 0, "decode": 0}
bytes_ = {"vision": 0, "prefill": 0, "decode": 0}
for n in (2, 1):                                                     # the two batches
    # vision: patch embedding, `used` CLIP layers (attention T x T), projector, two visual experts
    flops["vision"] += n * (2 * NP * 3 * P * P * C + used * (2 * T * (4 * C * C + 2 * C * Iv) + 4 * T * T * C)
                            + 2 * NP * (C * d + d * d)
                            + 2 * gen_w(C, C) + 2 * NP * r * (C + d) + 2 * gen_w(C, d) + 2 * NP * r * 2 * d)
    bytes_["vision"] += f32 * (3 * P * P * C + used * (4 * C * C + 2 * C * Iv)) + n * used * 2 * T * C * f32 \
        + n * f32 * (C * d + d * d) + n * f32 * (gen_w(C, C) + r * (C + d) + gen_w(C, d) + r * 2 * d)
    # prefill: S rows through L blocks (causal attention: S(S+1)/2 keys), adapters, LM head on the last row
    flops["prefill"] += L * (2 * n * S * W + 4 * d * n * S * (S + 1) // 2) \
        + post * n * (2 * S * 2 * r * d + 2 * gen_w(d, d)) + 2 * n * d * V
    bytes_["prefill"] += L * (f32 * W + n * 2 * S * d * f32) + post * n * f32 * (2 * r * d + gen_w(d, d)) + f32 * d * V
    # decode: K-1 steps of one row, step j attends to S + j keys
    for j in range(1, K):
        flops["decode"] += L * (2 * n * W + 4 * d * n * (S + j)) + post * 2 * n * 2 * r * d + 2 * n * d * V
        bytes_["decode"] += L * (f32 * W + n * 2 * (S + j) * d * f32) + post * n * f32 * 2 * r * d + f32 * d * V
bad = 0
for part in ("vision", "prefill", "decode"):
    m = re.search(r"^      %s +flops (\d+) \(.*\), bytes (\d+) " % part, out, re.M)
    got = (int(m.group(1)), int(m.group(2))) if m else None
    if got != (flops[part], bytes_[part]):
        print(part, "plan", got, "formula", (flops[part], bytes_[part])); bad = 1
m = re.search(r"^      total +flops (\d+) ", out, re.M)
if not m or int(m.group(1)) != sum(flops.values()): print("total", m and m.group(1)); bad = 1
open(sys.argv[1] + ".expect", "w").write("%d %d\n" % (sum(flops.values()), sum(bytes_.values())))
sys.exit(bad)
PY
grep -q "^  \[0\] pope: 3 questions (3 with an image), batch 2, up to 5 new tokens; pipeline bubble 0.000 = (1-1)/(1+1-1)$" "$TMP/plan" ||
    fail "benchmark line: $(grep '^  \[0\]' "$TMP/plan")"
grep -q "^time:       no calibration file: measure a node" "$TMP/plan" || fail "no hint how to get times"
grep -q "^      time " "$TMP/plan" && fail "a time without a calibration file"

# ---- the pipeline bubble (p-1)/(m+p-1) ---------------------------------------
bubble() { # layout, batch, micro-batches -> the bubble printed
    printf 'model: %s\nparallel: {pp: %d}\nbatch_size: %d\nmicro_batches: %d\n' "$MODEL" "$1" "$2" "$3" >"$TMP/b.yaml"
    $HL_BIN plan --config "$TMP/b.yaml" --questions 4 2>/dev/null | sed -n 's/.*pipeline bubble \([0-9.]*\) = .*/\1/p'
}
[ "$(bubble 2 4 2)" = 0.333 ] || fail "bubble pp 2, 2 micro-batches: $(bubble 2 4 2), want 1/3"
[ "$(bubble 4 8 8)" = 0.273 ] || fail "bubble pp 4, 8 micro-batches: $(bubble 4 8 8), want 3/11"
[ "$(bubble 1 8 4)" = 0.000 ] || fail "bubble pp 1: $(bubble 1 8 4), want 0"

# ---- wall time from the calibration: on one rank with one micro-batch it is
# FLOPs / 1e6 + bytes / 2e6 seconds; the warning appears past the limit only --
read -r tf tb <"$TMP/plan.expect"
want=$(/usr/bin/python3 -c "import sys; s = round($tf / 1e6 + $tb / 2e6); print('%d:%02d:%02d' % (s // 3600, s // 60 % 60, s % 60))")
secs=$(/usr/bin/python3 -c "print(round($tf / 1e6 + $tb / 2e6))")
[ "$secs" -gt 10 ] || fail "the fixture's estimate of $secs s is too short for this check"
$HL_BIN plan --job "$TMP/job.yaml" --text-tokens 10 --answer-tokens 5 --calibration "$TMP/cal.json" \
    --time-limit "$(((secs + 2) / 60)):$(((secs + 2) % 60))" >"$TMP/plan" 2>"$TMP/err" || fail "plan with calibration: $(cat "$TMP/err")"
grep -q "^      time     ~$want with 5-token answers, at most $want " "$TMP/plan" ||
    fail "time: want $want: $(grep '^      time' "$TMP/plan")"
grep -q "^  task 0 (pope): ~$want, at most $want$" "$TMP/plan" || fail "array task line: $(grep '^  task' "$TMP/plan")"
grep -q "^warning:" "$TMP/plan" && fail "warning although the estimate is within the limit"
$HL_BIN plan --job "$TMP/job.yaml" --text-tokens 10 --answer-tokens 5 --calibration "$TMP/cal.json" \
    --time-limit "$(((secs - 2) / 60)):$(((secs - 2) % 60))" >"$TMP/plan" 2>"$TMP/err" || fail "plan past the limit: $(cat "$TMP/err")"
grep -q "^warning: array task 0 (pope): estimated $want exceeds the time limit " "$TMP/plan" ||
    fail "no time-limit warning: $(grep -E '^(warning|array|  task)' "$TMP/plan")"
# short-answer kinds are timed at 4 tokens by default, bounded by max_new_tokens
$HL_BIN plan --job "$TMP/job.yaml" --calibration "$TMP/cal.json" 2>/dev/null | grep -q "with 4-token answers, at most" ||
    fail "default answer length of a POPE benchmark is not 4 tokens"

# ---- the attention and row-operation terms: each key of a calibration file
# adds its count times its cost. With 1e9 ns (one second) per score, per query
# row and head, or per row through a block, the estimate grows by exactly the
# count the formulas give; attention at the GEMM's rate changes nothing ------
estimate() { # extra JSON keys -> plan's "N s estimated"
    sed "s/}\$/, $1}/" "$TMP/cal.json" >"$TMP/cal-x.json"
    $HL_BIN plan --job "$TMP/job.yaml" --text-tokens 10 --answer-tokens 5 --calibration "$TMP/cal-x.json" 2>&1 |
        sed -n 's/^ *\([0-9.]*\) s estimated:.*/\1/p'
}
base=$(estimate '"attention_gflops": 0.001')
/usr/bin/python3 - "$MODEL" "$tf" "$tb" "$base" \
    "$(estimate '"attention_gflops": 0.001, "attention_score_ns": 1e9')" \
    "$(estimate '"attention_gflops": 0.001, "attention_row_ns": 1e9')" \
    "$(estimate '"rowop_row_ns": 1e9')" <<'PY' || fail "attention or row-operation counts differ from the formulas"
import sys, h5py
a = dict(h5py.File(sys.argv[1], "r").attrs)
tf, tb, base, t_score, t_pair, t_row = (float(x) for x in sys.argv[2:])
NP = (a["vision_image_size"] // a["vision_patch_size"]) ** 2; T = NP + 1
used = a["vision_layers"] + 1 + a["vision_select_layer"]
L, hv, hl, S, K = a["layers"], a["vision_heads"], a["heads"], NP + 10, 5
scores = pairs = rows = 0
for n in (2, 1):                                   # the two batches
    scores += n * used * T * T * hv + L * n * hl * S * (S + 1) // 2
    pairs += n * used * T * hv + L * n * S * hl
    rows += n * used * T + L * n * S
    for j in range(1, K):                          # decode step j: one row over S + j keys
        scores += L * n * hl * (S + j); pairs += L * n * hl; rows += L * n
bad = 0
if abs(base - (tf / 1e6 + tb / 2e6)) > 0.002: print("attention at the GEMM rate:", base, tf / 1e6 + tb / 2e6); bad = 1
for name, t, want in (("scores", t_score, scores), ("pairs", t_pair, pairs), ("rows", t_row, rows)):
    if abs(t - base - want) > 0.002: print(name, "plan", t - base, "formula", want); bad = 1
sys.exit(bad)
PY

# ---- --model-config: the checkpoint's config.json gives the same numbers ------
/usr/bin/python3 - "$MODEL" "$TMP/config.json" <<'PY'
import json, sys, h5py
a = dict(h5py.File(sys.argv[1], "r").attrs)
json.dump({"model_type": "llava", "vision_feature_layer": int(a["vision_select_layer"]),
           "text_config": {"model_type": "llama", "vocab_size": int(a["vocab"]), "hidden_size": int(a["hidden"]),
                           "intermediate_size": int(a["intermediate"]), "num_hidden_layers": int(a["layers"]),
                           "num_attention_heads": int(a["heads"]), "max_position_embeddings": int(a["max_positions"])},
           "vision_config": {"hidden_size": int(a["vision_hidden"]), "intermediate_size": int(a["vision_intermediate"]),
                             "num_hidden_layers": int(a["vision_layers"]), "num_attention_heads": int(a["vision_heads"]),
                             "image_size": int(a["vision_image_size"]), "patch_size": int(a["vision_patch_size"])},
           "visual_expert": "both", "language_expert": True, "guide_layer": int(a["guide_layer"]),
           "expert_embed": int(a["expert_embed"]), "expert_hidden": int(a["expert_hidden"]),
           "expert_rank": int(a["expert_rank"])}, open(sys.argv[2], "w"))
PY
printf 'model: %s\nparallel: {pp: 2, tp: 2}\nbatch_size: 4\nmicro_batches: 2\n' "$MODEL" >"$TMP/c.yaml"
printf 'model: %s\nparallel: {pp: 2, tp: 2}\nbatch_size: 4\nmicro_batches: 2\n' "$TMP/not-converted.h5" >"$TMP/c2.yaml"
$HL_BIN plan --config "$TMP/c.yaml" --questions 7 >"$TMP/from-h5" 2>&1 || fail "plan (h5): $(tail -1 "$TMP/from-h5")"
$HL_BIN plan --config "$TMP/c2.yaml" --questions 7 --model-config "$TMP/config.json" >"$TMP/from-json" 2>&1 ||
    fail "plan --model-config: $(tail -1 "$TMP/from-json")"
grep -q "numbers from $TMP/config.json (not converted yet)" "$TMP/from-json" || fail "--model-config not named"
for f in from-h5 from-json; do grep -E "^  rank [0-9]+: weights|^      (vision|prefill|decode|total) " "$TMP/$f" >"$TMP/$f.cost"; done
[ -s "$TMP/from-h5.cost" ] && cmp -s "$TMP/from-h5.cost" "$TMP/from-json.cost" ||
    fail "config.json gives other numbers: $(diff "$TMP/from-h5.cost" "$TMP/from-json.cost" | head -n 4)"
# the original LLaVA-1.5 layout: LLaMA keys at the top, a known tower
printf '{"hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,\n "vocab_size": 32000, "max_position_embeddings": 4096, "mm_vision_tower": "openai/clip-vit-large-patch14-336",\n "mm_vision_select_layer": -2, "mm_hidden_size": 1024, "mm_projector_type": "mlp2x_gelu"}\n' >"$TMP/llava7b.json"
out=$($HL_BIN plan --config "$TMP/c2.yaml" --model-config "$TMP/llava7b.json" --layout 1x2x1 --node-memory 64 2>&1) ||
    fail "7B config.json: $(tail -n 1 <<<"$out")"
grep -q "(32 blocks, hidden 4096, 32 heads, intermediate 11008, vocab 32000; vision hidden 1024, 16 heads)" <<<"$out" ||
    fail "7B numbers: $(grep '^model:' <<<"$out")"

# ---- bench --calibrate writes what plan reads (2 ranks: with message rates; the
# rates themselves are not checked, only that they are there and positive) ----
$MPIRUN -n 2 $HL_BIN bench --calibrate --seconds 0.05 --json "$TMP/node.json" >"$TMP/cal.out" 2>&1 ||
    fail "bench --calibrate: $(tail -n 3 "$TMP/cal.out")"
/usr/bin/python3 - "$TMP/node.json" <<'PY' || fail "calibration file: $(cat "$TMP/node.json")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["format"] == "hyperllava-calibration-1" and c["ranks"] == 2 and c["threads"] == 1, c
assert c["dtype"] == "f32" and c["backend"] == "cpu", c
assert all(c[k] > 0 for k in ("gemm_gflops", "stream_gbps", "stream_alone_gbps", "p2p_latency_us", "p2p_gbps",
                              "attention_gflops")), c
assert all(c[k] >= 0 for k in ("attention_score_ns", "attention_row_ns", "rowop_ns", "rowop_row_ns")), c
PY
$HL_BIN plan --job "$TMP/job.yaml" --calibration "$TMP/node.json" >"$TMP/plan" 2>&1 || fail "plan with the measured calibration: $(tail -n 1 "$TMP/plan")"
grep -q "^rates:      $TMP/node.json: .* GFLOP/s GEMM, .* GB/s weight streaming per rank (.* alone), messages " "$TMP/plan" ||
    fail "rates line: $(grep '^rates' "$TMP/plan")"
grep -q "^      time     ~" "$TMP/plan" || fail "no time with the measured calibration"

# ---- refusals: one line, exit 1 --------------------------------------------------
one_line() { # name, want, command...
    local name=$1 want=$2; shift 2
    local err rc
    err=$("$@" 2>&1 >/dev/null); rc=$?
    [ $rc -eq 1 ] && [ "$err" = "$want" ] || fail "$name: exit $rc, stderr '$err', want '$want'"
}
one_line time-limit "hyperllava: error: plan: --time-limit expects a SLURM time such as 04:00:00, 90 or 1-12:00, got '4h'" \
    $HL_BIN plan --job "$TMP/job.yaml" --time-limit 4h
printf '{"format": "something else"}\n' >"$TMP/badcal.json"
one_line bad-calibration "hyperllava: error: $TMP/badcal.json: calibration: 'format' is not \"hyperllava-calibration-1\" (write it with \`hyperllava bench --calibrate\`)" \
    $HL_BIN plan --job "$TMP/job.yaml" --calibration "$TMP/badcal.json"
sed 's/"gemm_gflops": 0.001/"gemm_gflops": -1/' "$TMP/cal.json" >"$TMP/negcal.json"
one_line neg-calibration "hyperllava: error: $TMP/negcal.json: calibration: 'gemm_gflops' must be a positive number" \
    $HL_BIN plan --job "$TMP/job.yaml" --calibration "$TMP/negcal.json"
printf '{"text_config": {"num_key_value_heads": 8}}\n' >"$TMP/gqa.json"
one_line gqa "hyperllava: error: $TMP/gqa.json: text_config.num_key_value_heads 8 differs from num_attention_heads 32; grouped-query attention is not supported" \
    $HL_BIN plan --config "$TMP/c2.yaml" --model-config "$TMP/gqa.json"
one_line questions-job "hyperllava: error: plan: --questions is for --config (a job's benchmarks have their own)" \
    $HL_BIN plan --job "$TMP/job.yaml" --questions 3
pass_or_fail
