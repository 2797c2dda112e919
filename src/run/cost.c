#include "run/cost.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/jsonio.h"
#include "util/check.h"
#include "util/layout.h"

/* One rank's share of a model for the cost of a pass. */
typedef struct {
    const ModelConfig *c;
    int tp;
    double mat; /* bytes per held matrix element */
} Part;

/* a += times b */
static void add_times(Cost *a, Cost b, double times) {
    a->flops += times * b.flops, a->bytes += times * b.bytes;
    a->attn += times * b.attn, a->scores += times * b.scores, a->pairs += times * b.pairs;
    a->elems += times * b.elems, a->rows += times * b.rows;
}

static void add(Cost *a, Cost b) {
    add_times(a, b, 1);
}

/* Attention of `pairs` query rows x heads over keys: `scores` = rows x keys
 * x heads, each two head_dim-long chains. */
static void attend(Cost *k, double pairs, double scores, double head_dim) {
    k->flops += 4 * head_dim * scores, k->attn += 4 * head_dim * scores;
    k->scores += scores, k->pairs += pairs;
}

/* Adapter generation (one sample, one expert): the prior encoder, then the
 * hypernetwork's two layers, each a one-row product (expert.h). */
static Cost adapter_gen(const Part *p, double g_dim, double n_in, double out_n) {
    const ModelConfig *c = p->c;
    double de = c->e_embed, h = c->e_hidden, r = c->e_rank;
    double w = de * g_dim + h * de + h * (r * n_in + out_n * r);
    return (Cost){.flops = 2 * w, .bytes = p->mat * w, .elems = r * (n_in + out_n)};
}

/* The vision tower and projector on n images (stage 0; the tower's layers
 * split over tp, the patch embedding, projector and experts replicated). */
static Cost vision_pass(const Part *p, double n) {
    const ModelConfig *c = p->c;
    double C = c->v_hidden, Cl = C / p->tp, Ivl = (double)c->v_inter / p->tp;
    double NP = c->n_patches, T = NP + 1, P = c->patch_size, d = c->hidden;
    double used = c->v_layers_used, hd = (double)C / c->v_heads;
    Cost k = {0};
    k.flops += n * 2 * NP * 3 * P * P * C;
    k.bytes += p->mat * 3 * P * P * C;
    k.elems += n * T * 2 * C; /* position embedding, pre-norm */
    /* q, k, v (C -> C/tp), out (C/tp -> C), fc1 and fc2; attention over T keys */
    k.flops += used * n * 2 * T * (4 * C * Cl + 2 * C * Ivl);
    k.bytes += used * (p->mat * (4 * C * Cl + 2 * C * Ivl) + n * 2 * T * Cl * 4);
    attend(&k, used * n * T * (Cl / hd), used * n * T * T * (Cl / hd), hd);
    /* two norms, two biases and two residual adds of C, the KV writes, GELU */
    k.elems += used * n * T * (6 * C + 2 * Cl + Ivl);
    k.rows += used * n * T;
    /* projector, one image at a time */
    k.flops += n * 2 * NP * (C * d + d * d);
    k.bytes += n * p->mat * (C * d + d * d);
    k.elems += n * NP * d;
    const int on[2] = {c->expert_v1, c->expert_v2};
    const double n_in[2] = {C, d};
    for (int e = 0; e < 2; e++) {
        if (!on[e]) continue;
        add_times(&k, adapter_gen(p, C, n_in[e], d), n);
        double K = c->e_rank * (n_in[e] + d);
        k.flops += n * 2 * NP * K;
        k.bytes += n * 4 * K;
        k.elems += n * NP * (c->e_rank + d);
    }
    return k;
}

/* LLM blocks [b0, b1) on n samples of `rows` rows each, the first at position
 * pos0 (attention reads pos0 + rows keys); prefill generates the language
 * expert's adapters. */
static Cost blocks_pass(const Part *p, int b0, int b1, double n, double rows, double pos0,
                        int prefill) {
    const ModelConfig *c = p->c;
    double d = c->hidden, dl = d / p->tp, Il = (double)c->inter / p->tp, r = c->e_rank;
    double R = n * rows, hd = d / c->heads;
    /* keys read by the rows of one sample, summed: row i sees pos0 + i + 1 */
    double keys = rows * pos0 + rows * (rows + 1) / 2;
    Cost k = {0};
    for (int b = b0; b < b1; b++) {
        double w = 4 * d * dl + 3 * d * Il;
        k.flops += 2 * R * w;
        k.bytes += p->mat * w + n * 2 * (pos0 + rows) * dl * 4;
        attend(&k, R * (dl / hd), n * keys * (dl / hd), hd);
        /* two norms and two residual adds of d, RoPE on q and k, the KV writes, SwiGLU */
        k.elems += R * (4 * d + 4 * dl + Il);
        k.rows += R;
        if (c->expert_lang && b >= c->guide_layer) {
            double K = r * d + dl * r;
            k.flops += 2 * R * K;
            k.bytes += n * 4 * K;
            k.elems += R * (r + dl);
            if (prefill) add_times(&k, adapter_gen(p, d, d, dl), n);
        }
    }
    return k;
}

/* Final norm and LM head on the last row of n samples. */
static Cost head_pass(const Part *p, double n) {
    double w = (double)p->c->hidden * p->c->vocab / p->tp;
    return (Cost){.flops = 2 * n * w, .bytes = p->mat * w, .elems = n * p->c->hidden};
}

/* gbps: the weight-streaming rate of a rank (stream_rate). */
static double seconds(Cost k, const Calibration *cal, double gbps) {
    double t =
        k.bytes / (gbps * 1e9) + (k.elems * cal->rowop_ns + k.rows * cal->rowop_row_ns) * 1e-9;
    if (cal->attn_gflops <= 0) return t + k.flops / (cal->gemm_gflops * 1e9);
    return t + (k.flops - k.attn) / (cal->gemm_gflops * 1e9) + k.attn / (cal->attn_gflops * 1e9) +
           (k.scores * cal->attn_score_ns + k.pairs * cal->attn_row_ns) * 1e-9;
}

/* Ring all-reduce of `bytes` over tp ranks. */
static double allreduce_s(double bytes, int tp, const Calibration *cal) {
    if (tp <= 1 || cal->p2p_gbps <= 0) return 0;
    return 2.0 * (tp - 1) * (cal->p2p_latency_s + bytes / tp / (cal->p2p_gbps * 1e9));
}

static double message_s(double bytes, const Calibration *cal) {
    if (cal->p2p_gbps <= 0) return 0;
    return cal->p2p_latency_s + bytes / (cal->p2p_gbps * 1e9);
}

/* A batch of one replica: n samples in the run's micro-batches. */
typedef struct {
    const ModelConfig *c;
    const RunConfig *cfg;
    const int *counts; /* blocks per stage */
    double img_frac, text;
    int new_tokens;
    const Calibration *cal;
    double gbps; /* a rank's streaming rate in this batch (stream_rate) */
} Sim;

typedef struct {
    Cost vision, prefill, decode; /* model work (tp = 1) */
    double time_s, vision_s, prefill_s, decode_s, comm_s;
} BatchCost;

/* A rank's streaming rate when a share `busy` of the node's ranks stream at
 * once (a pipeline of pp stages with m < pp micro-batches in flight keeps
 * m/pp of them busy): the node's total rate shared among the busy ones,
 * never above what one rank alone gets. */
static double stream_rate(const Calibration *cal, double busy) {
    if (cal->stream_alone_gbps <= 0 || busy >= 1) return cal->stream_gbps;
    double shared = cal->stream_gbps / busy;
    return shared < cal->stream_alone_gbps ? shared : cal->stream_alone_gbps;
}

/* Per-rank time of stage s on a micro-batch of n samples: vision (stage 0,
 * prefill), blocks, head (last stage), tp all-reduces and the hand-over. */
static double stage_time(const Sim *S, int s, double n, double rows, double pos0, int prefill,
                         double *vis_s, double *comm_s) {
    const ModelConfig *c = S->c;
    const RunConfig *cfg = S->cfg;
    Part rp = {c, cfg->tp, strcmp(cfg->dtype, "f32") ? 2 : 4};
    int b0 = layout_first_block(S->counts, s), b1 = b0 + S->counts[s];
    double t = 0, comm = 0, d = c->hidden, R = n * rows;
    if (s == 0 && prefill && S->img_frac > 0) {
        double v = seconds(vision_pass(&rp, n * S->img_frac), S->cal, S->gbps);
        double vr = n * S->img_frac * (c->n_patches + 1);
        v += 2.0 * c->v_layers_used * allreduce_s(vr * c->v_hidden * 4, cfg->tp, S->cal);
        t += v;
        if (vis_s) *vis_s += v;
    }
    t += seconds(blocks_pass(&rp, b0, b1, n, rows, pos0, prefill), S->cal, S->gbps);
    comm += 2.0 * (b1 - b0) * allreduce_s(R * d * 4, cfg->tp, S->cal);
    if (s == cfg->pp - 1) {
        t += seconds(head_pass(&rp, n), S->cal, S->gbps);
        if (cfg->pp > 1) comm += message_s(n * 16, S->cal); /* the tokens back to stage 0 */
    } else {
        comm += message_s(R * d * 4, S->cal);
    }
    if (comm_s) *comm_s += comm;
    return t + comm;
}

static BatchCost batch_cost(const Sim *S, int n) {
    const ModelConfig *c = S->c;
    const RunConfig *cfg = S->cfg;
    Part one = {c, 1, strcmp(cfg->dtype, "f32") ? 2 : 4};
    BatchCost bc = {0};
    if (n <= 0) return bc;
    int M = layout_micro_count(n, cfg->micro_batches), lo;
    double rows = S->text + S->img_frac * c->n_patches;
    /* the model's work over the actual micro-batch sizes */
    for (int m = 0; m < M; m++) {
        double s = layout_micro_batch(n, M, m, &lo);
        add(&bc.vision, vision_pass(&one, s * S->img_frac));
        add(&bc.prefill, blocks_pass(&one, 0, c->layers, s, rows, 0, 1));
        add(&bc.prefill, head_pass(&one, s));
        for (int j = 1; j < S->new_tokens; j++) {
            add(&bc.decode, blocks_pass(&one, 0, c->layers, s, 1, rows + j - 1, 0));
            add(&bc.decode, head_pass(&one, s));
        }
    }
    if (!S->cal) return bc;
    /* min(M, pp) of the pp stages stream at once */
    Sim busy = *S;
    busy.gbps = stream_rate(S->cal, (double)(M < cfg->pp ? M : cfg->pp) / cfg->pp);
    /* time: the largest micro-batch paces the pipeline */
    double mb = layout_micro_batch(n, M, 0, &lo), sum = 0, mx = 0;
    for (int s = 0; s < cfg->pp; s++) {
        double t = stage_time(&busy, s, mb, rows, 0, 1, &bc.vision_s, &bc.comm_s);
        sum += t, mx = t > mx ? t : mx;
    }
    bc.prefill_s = sum + (M - 1) * mx; /* fill, then one micro-batch per slowest stage */
    bc.vision_s *= M, bc.comm_s *= M;
    for (int j = 1; j < S->new_tokens; j++) {
        double dsum = 0, dmx = 0, comm = 0;
        for (int s = 0; s < cfg->pp; s++) {
            double t = stage_time(&busy, s, mb, 1, rows + j - 1, 0, NULL, &comm);
            dsum += t, dmx = t > dmx ? t : dmx;
        }
        /* a micro-batch's token goes round the ring; each stage serves M of them */
        bc.decode_s += dsum > M * dmx ? dsum : M * dmx;
        bc.comm_s += comm * M;
    }
    bc.time_s = bc.prefill_s + bc.decode_s;
    return bc;
}

static void accumulate(CostEstimate *e, const BatchCost *b, double times) {
    const Cost *src[3] = {&b->vision, &b->prefill, &b->decode};
    Cost *dst[3] = {&e->vision, &e->prefill, &e->decode};
    for (int i = 0; i < 3; i++) add_times(dst[i], *src[i], times);
}

void cost_estimate(const ModelConfig *c, const RunConfig *cfg, const CostWork *w,
                   const Calibration *cal, CostEstimate *out) {
    memset(out, 0, sizeof *out);
    ModelShape shape = run_model_shape(c);
    int *counts = hl_malloc((size_t)cfg->pp * sizeof *counts);
    run_config_stages(cfg, &shape, counts);
    Sim S = {.c = c,
             .cfg = cfg,
             .counts = counts,
             .img_frac = w->questions > 0 ? (double)w->images / (double)w->questions : 0,
             .text = w->text_tokens,
             .new_tokens = w->new_tokens,
             .cal = cal};
    int B = w->batch > 0 ? w->batch : 1, dp = cfg->dp;
    int Mfull = layout_micro_count(B, cfg->micro_batches);
    out->bubble = (double)(cfg->pp - 1) / (Mfull + cfg->pp - 1);
    /* rounds of B per replica; replica d takes the d-th contiguous share */
    long per_round = (long)B * dp, full = w->questions / per_round;
    long rest = w->questions % per_round;
    BatchCost fb = batch_cost(&S, B);
    accumulate(out, &fb, (double)full * dp);
    out->time_s = full * fb.time_s, out->vision_s = full * fb.vision_s;
    out->prefill_s = full * fb.prefill_s, out->decode_s = full * fb.decode_s;
    out->comm_s = full * fb.comm_s;
    if (rest) {
        BatchCost worst = {0};
        for (int d = 0; d < dp; d++) {
            int cnt = (int)(rest * (d + 1) / dp - rest * d / dp);
            BatchCost bc = batch_cost(&S, cnt);
            accumulate(out, &bc, 1);
            if (bc.time_s > worst.time_s) worst = bc;
        }
        out->time_s += worst.time_s, out->vision_s += worst.vision_s;
        out->prefill_s += worst.prefill_s, out->decode_s += worst.decode_s;
        out->comm_s += worst.comm_s;
    }
    free(counts);
}

/* ---- calibration file ---------------------------------------------------- */

static double rate_of(json_t *o, const char *key, const char *path, int required) {
    json_t *v = json_object_get(o, key);
    if (!v) {
        if (required) hl_fail("%s: calibration: missing key '%s'", path, key);
        return 0;
    }
    if (!json_is_number(v) || json_number_value(v) < 0 || (required && json_number_value(v) <= 0))
        hl_fail("%s: calibration: '%s' must be a positive number", path, key);
    return json_number_value(v);
}

static void str_of(json_t *o, const char *key, char *dst, size_t n) {
    json_t *v = json_object_get(o, key);
    snprintf(dst, n, "%s", json_is_string(v) ? json_string_value(v) : "");
}

void calibration_load(const char *path, Calibration *cal) {
    memset(cal, 0, sizeof *cal);
    json_error_t err;
    json_t *o = json_load_file(path, 0, &err);
    if (!o) hl_fail("%s:%d: calibration: %s", path, err.line, err.text);
    if (!json_is_object(o)) hl_fail("%s: calibration: expected a JSON object", path);
    json_t *fmt = json_object_get(o, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "hyperllava-calibration-1"))
        hl_fail("%s: calibration: 'format' is not \"hyperllava-calibration-1\" (write it with "
                "`hyperllava bench --calibrate`)",
                path);
    snprintf(cal->path, sizeof cal->path, "%s", path);
    str_of(o, "host", cal->host, sizeof cal->host);
    str_of(o, "date", cal->date, sizeof cal->date);
    str_of(o, "backend", cal->backend, sizeof cal->backend);
    str_of(o, "dtype", cal->dtype, sizeof cal->dtype);
    cal->threads = (int)rate_of(o, "threads", path, 1);
    cal->ranks = (int)rate_of(o, "ranks", path, 1);
    cal->gemm_gflops = rate_of(o, "gemm_gflops", path, 1);
    cal->stream_gbps = rate_of(o, "stream_gbps", path, 1);
    cal->stream_alone_gbps = rate_of(o, "stream_alone_gbps", path, 0);
    cal->p2p_latency_s = rate_of(o, "p2p_latency_us", path, 0) * 1e-6;
    cal->p2p_gbps = rate_of(o, "p2p_gbps", path, 0);
    cal->attn_gflops = rate_of(o, "attention_gflops", path, 0);
    cal->attn_score_ns = rate_of(o, "attention_score_ns", path, 0);
    cal->attn_row_ns = rate_of(o, "attention_row_ns", path, 0);
    cal->rowop_ns = rate_of(o, "rowop_ns", path, 0);
    cal->rowop_row_ns = rate_of(o, "rowop_row_ns", path, 0);
    json_decref(o);
}

void calibration_save(const char *path, const Calibration *cal) {
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:f, s:f}", "format",
                  "hyperllava-calibration-1", "host", cal->host, "date", cal->date, "backend",
                  cal->backend, "dtype", cal->dtype, "threads", cal->threads, "ranks", cal->ranks,
                  "gemm_gflops", cal->gemm_gflops, "stream_gbps", cal->stream_gbps);
    if (cal->p2p_gbps > 0) {
        json_object_set_new(o, "p2p_latency_us", json_real(cal->p2p_latency_s * 1e6));
        json_object_set_new(o, "p2p_gbps", json_real(cal->p2p_gbps));
    }
    if (cal->attn_gflops > 0) {
        json_object_set_new(o, "attention_gflops", json_real(cal->attn_gflops));
        json_object_set_new(o, "attention_score_ns", json_real(cal->attn_score_ns));
        json_object_set_new(o, "attention_row_ns", json_real(cal->attn_row_ns));
        json_object_set_new(o, "rowop_ns", json_real(cal->rowop_ns));
        json_object_set_new(o, "rowop_row_ns", json_real(cal->rowop_row_ns));
    }
    if (cal->stream_alone_gbps > 0 && cal->ranks > 1)
        json_object_set_new(o, "stream_alone_gbps", json_real(cal->stream_alone_gbps));
    json_write_atomic(path, o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(o);
}
