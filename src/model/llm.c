#include "model/llm.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "model/param.h"
#include "model/shard.h"
#include "util/check.h"

void llm_load(Llm *m, WeightFile *wf, const ModelConfig *c, const LlmPart *part) {
    memset(m, 0, sizeof *m);
    int tp = part->tp_size, t = part->tp_rank;
    m->d = c->hidden, m->head_dim = c->hidden / c->heads, m->heads_l = c->heads / tp;
    m->d_l = m->heads_l * m->head_dim, m->I_l = c->inter / tp;
    m->vocab = c->vocab, m->vocab_l = c->vocab / tp, m->vocab0 = t * m->vocab_l;
    m->max_pos = c->max_pos, m->layers = c->layers;
    m->guide_layer = c->guide_layer, m->lang_expert = c->expert_lang;
    m->eps = (float)c->rms_eps, m->theta = (float)c->rope_theta;
    m->block0 = part->block0, m->n_blocks = part->n_blocks;
    m->has_embed = part->has_embed, m->has_head = part->has_head;
    const int d = m->d, d_l = m->d_l, I = c->inter, I_l = m->I_l;
    const int64_t c0 = (int64_t)t * d_l, i0 = (int64_t)t * I_l;
    if (m->has_embed)
        m->embed = param_mat_rows(wf, m->vocab, d, 0, m->vocab, "llm.embed_tokens.weight");
    int posterior = 0;
    for (int b = m->block0; b < m->block0 + m->n_blocks; b++)
        posterior |= m->lang_expert && b >= m->guide_layer;
    if (posterior) {
        m->has_hyper = 1;
        hypernet_load(&m->hyper, wf, "expert.lang", c->e_embed, c->e_hidden, c->e_rank, d, d,
                      t * (d / tp), d / tp);
    }
    m->blocks = hl_calloc((size_t)(m->n_blocks ? m->n_blocks : 1), sizeof(LlmBlock));
    for (int i = 0; i < m->n_blocks; i++) {
        int b = m->block0 + i;
        LlmBlock *B = &m->blocks[i];
        const char *p = "llm.layers";
        B->ln1 = param_vec(wf, d, "%s.%d.input_layernorm.weight", p, b);
        B->ln2 = param_vec(wf, d, "%s.%d.post_attention_layernorm.weight", p, b);
        B->q = param_mat_rows(wf, d, d, c0, d_l, "%s.%d.self_attn.q_proj.weight", p, b);
        B->k = param_mat_rows(wf, d, d, c0, d_l, "%s.%d.self_attn.k_proj.weight", p, b);
        B->v = param_mat_rows(wf, d, d, c0, d_l, "%s.%d.self_attn.v_proj.weight", p, b);
        B->o = param_mat_cols(wf, d, d, c0, d_l, "%s.%d.self_attn.o_proj.weight", p, b);
        B->gate = param_mat_rows(wf, I, d, i0, I_l, "%s.%d.mlp.gate_proj.weight", p, b);
        B->up = param_mat_rows(wf, I, d, i0, I_l, "%s.%d.mlp.up_proj.weight", p, b);
        B->down = param_mat_cols(wf, d, I, i0, I_l, "%s.%d.mlp.down_proj.weight", p, b);
        if (m->lang_expert && b >= m->guide_layer) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "expert.lang.layers.%d", b);
            B->prior = hl_calloc(1, sizeof(PriorEncoder));
            prior_load(B->prior, wf, prefix, d, &m->hyper);
        }
    }
    if (m->has_head) {
        m->norm = param_vec(wf, d, "llm.norm.weight");
        m->lm_head = param_mat_rows(wf, m->vocab, d, m->vocab0, m->vocab_l, "llm.lm_head.weight");
    }
}

void seq_state_init(const Ctx *ctx, SeqState *s, const Llm *m, int cap) {
    memset(s, 0, sizeof *s);
    s->cap = cap;
    size_t n = (size_t)(m->n_blocks ? m->n_blocks : 1) * cap * m->d_l;
    s->k = ctx_alloc(ctx, n * sizeof(float));
    s->v = ctx_alloc(ctx, n * sizeof(float));
    s->guidance = hl_calloc((size_t)m->d, sizeof(float));
    s->adapters = hl_calloc((size_t)(m->n_blocks ? m->n_blocks : 1), sizeof(Adapter));
}

void seq_state_reserve(const Ctx *ctx, SeqState *s, const Llm *m, int cap) {
    if (cap <= s->cap) return;
    int nb = m->n_blocks ? m->n_blocks : 1;
    float *k = ctx_alloc(ctx, (size_t)nb * cap * m->d_l * sizeof(float));
    float *v = ctx_alloc(ctx, (size_t)nb * cap * m->d_l * sizeof(float));
    for (int b = 0; b < nb && s->len > 0; b++)
        kv_copy(ctx, k + (size_t)b * cap * m->d_l, v + (size_t)b * cap * m->d_l, cap,
                s->k + (size_t)b * s->cap * m->d_l, s->v + (size_t)b * s->cap * m->d_l, s->cap,
                m->heads_l, m->head_dim, s->len);
    ctx_free(ctx, s->k), ctx_free(ctx, s->v);
    s->k = k, s->v = v, s->cap = cap;
}

void seq_state_free(const Ctx *ctx, SeqState *s, const Llm *m) {
    for (int i = 0; i < m->n_blocks; i++) adapter_free(ctx, &s->adapters[i]);
    ctx_free(ctx, s->k), ctx_free(ctx, s->v);
    free(s->guidance), free(s->adapters);
    memset(s, 0, sizeof *s);
}

void llm_embed(const Ctx *ctx, const Llm *m, const int *ids, int n, float *x) {
    CHECK(m->has_embed);
    for (int i = 0; i < n;) {
        if (ids[i] < 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < n && ids[j] >= 0) CHECK(ids[j++] < m->vocab);
        size_t bytes = (size_t)(j - i) * m->d * sizeof(float);
        float *rows = ctx_view(ctx, x + (long)i * m->d, 0, bytes);
        weight_rows(ctx, &m->embed, ids + i, j - i, rows);
        ctx_view_end(ctx, x + (long)i * m->d, rows, bytes);
        i = j;
    }
}

void llm_make_adapters(const Ctx *ctx, const Llm *m, SeqState *st) {
    CHECK(st->has_guidance);
    float *g = NULL;
    for (int i = 0; i < m->n_blocks; i++) {
        const LlmBlock *B = &m->blocks[i];
        if (!B->prior || st->adapters[i].w_d) continue;
        if (!g)
            g = ctx_view(ctx, st->guidance, (size_t)m->d * sizeof(float),
                         (size_t)m->d * sizeof(float));
        adapter_generate(ctx, &m->hyper, B->prior, g, &st->adapters[i]);
    }
    if (g) ctx_view_end(ctx, st->guidance, g, 0);
}

void llm_blocks(const Ctx *ctx, const Llm *m, float *x_host, const SeqSpan *spans, int n_spans,
                Group *tp) {
    int R = 0;
    for (int s = 0; s < n_spans; s++) R += spans[s].n_rows;
    if (R == 0) return;
    const int d = m->d, d_l = m->d_l, I_l = m->I_l;
    const size_t f = sizeof(float), xb = (size_t)R * d * f;
    float *x = ctx_view(ctx, x_host, xb, xb);
    float *h = ctx_alloc(ctx, (size_t)R * d * f);
    float *q = ctx_alloc(ctx, (size_t)R * d_l * f);
    float *kk = ctx_alloc(ctx, (size_t)R * d_l * f);
    float *vv = ctx_alloc(ctx, (size_t)R * d_l * f);
    float *a = ctx_alloc(ctx, (size_t)R * d_l * f);
    float *g = ctx_alloc(ctx, (size_t)R * I_l * f);
    float *u = ctx_alloc(ctx, (size_t)R * I_l * f);
    int max_kv = 0;
    for (int s = 0; s < n_spans; s++) {
        int end = spans[s].pos0 + spans[s].n_rows;
        max_kv = end > max_kv ? end : max_kv;
    }
    float *work = ctx_alloc(ctx, attention_workspace(ctx, max_kv) * f);
    /* the spans' rows and positions; their caches are set per block */
    KvSpan *kvs = hl_malloc((size_t)n_spans * sizeof *kvs);
    for (int s = 0, row = 0; s < n_spans; s++) {
        const SeqSpan *sp = &spans[s];
        CHECKF(sp->pos0 + sp->n_rows <= sp->st->cap, "KV cache overflow (%d + %d > %d)", sp->pos0,
               sp->n_rows, sp->st->cap);
        kvs[s] = (KvSpan){.cap = sp->st->cap, .pos0 = sp->pos0, .n = sp->n_rows, .row0 = row};
        row += sp->n_rows;
    }
    int row;
    for (int i = 0; i < m->n_blocks; i++) {
        const int b = m->block0 + i;
        const LlmBlock *B = &m->blocks[i];
        rmsnorm(ctx, h, x, B->ln1, R, d, m->eps);
        gemm(ctx, q, h, &B->q, NULL, R);
        gemm(ctx, kk, h, &B->k, NULL, R);
        gemm(ctx, vv, h, &B->v, NULL, R);
        for (int s = 0; s < n_spans; s++) {
            SeqState *st = spans[s].st;
            kvs[s].kc = st->k + (long)i * st->cap * d_l,
            kvs[s].vc = st->v + (long)i * st->cap * d_l;
        }
        rope_spans(ctx, q, d_l, kvs, n_spans, m->heads_l, m->head_dim, m->theta);
        rope_spans(ctx, kk, d_l, kvs, n_spans, m->heads_l, m->head_dim, m->theta);
        kv_store_spans(ctx, kvs, n_spans, m->heads_l, m->head_dim, kk, vv, d_l);
        attention_spans(ctx, a, d_l, q, d_l, kvs, n_spans, m->heads_l, m->head_dim, 1, work);
        gemm(ctx, h, a, &B->o, NULL, R);
        shard_sum(ctx, tp, h, (long)R * d);
        add_inplace(ctx, x, h, (long)R * d);
        /* x is now h of docs/model.md §5: the expert reads it */
        rmsnorm(ctx, h, x, B->ln2, R, d, m->eps);
        gemm(ctx, g, h, &B->gate, NULL, R);
        gemm(ctx, u, h, &B->up, NULL, R);
        swiglu(ctx, g, u, (long)R * I_l);
        gemm(ctx, h, g, &B->down, NULL, R);
        if (B->prior) {
            row = 0;
            for (int s = 0; s < n_spans; s++) {
                SeqState *st = spans[s].st;
                if (!st->adapters[i].w_d) llm_make_adapters(ctx, m, st);
                adapter_apply(ctx, &st->adapters[i], m->hyper.out0, x + (long)row * d,
                              spans[s].n_rows, h + (long)row * d, d);
                row += spans[s].n_rows;
            }
        }
        shard_sum(ctx, tp, h, (long)R * d);
        add_inplace(ctx, x, h, (long)R * d);
        if (m->lang_expert && b == m->guide_layer - 1) {
            row = 0;
            for (int s = 0; s < n_spans; s++) {
                if (spans[s].prefill) {
                    SeqState *st = spans[s].st;
                    size_t gb = (size_t)d * f;
                    float *gv = ctx_view(ctx, st->guidance, 0, gb);
                    guidance_pool(ctx, x + (long)row * d, spans[s].n_rows, d, gv);
                    ctx_view_end(ctx, st->guidance, gv, gb);
                    st->has_guidance = 1;
                }
                row += spans[s].n_rows;
            }
        }
    }
    for (int s = 0; s < n_spans; s++) {
        int end = spans[s].pos0 + spans[s].n_rows;
        if (end > spans[s].st->len) spans[s].st->len = end;
    }
    ctx_view_end(ctx, x_host, x, xb);
    free(kvs);
    void *bufs[] = {h, q, kk, vv, a, g, u, work};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) ctx_free(ctx, bufs[i]);
}

void llm_logits(const Ctx *ctx, const Llm *m, const float *x_host, int R, float *logits_host) {
    CHECK(m->has_head);
    const size_t xb = (size_t)R * m->d * sizeof(float), lb = (size_t)R * m->vocab_l * sizeof(float);
    float *x = ctx_view(ctx, x_host, xb, xb);
    float *logits = ctx_view(ctx, logits_host, 0, lb);
    float *h = ctx_alloc(ctx, xb);
    rmsnorm(ctx, h, x, m->norm, R, m->d, m->eps);
    gemm(ctx, logits, h, &m->lm_head, NULL, R);
    ctx_free(ctx, h);
    ctx_view_end(ctx, logits_host, logits, lb);
    ctx_view_end(ctx, (void *)x_host, x, 0);
}
