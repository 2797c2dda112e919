#include "model/projector.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "model/param.h"
#include "util/check.h"

void projector_load(Projector *p, WeightFile *wf, const ModelConfig *c) {
    memset(p, 0, sizeof *p);
    p->C = c->v_hidden, p->d = c->hidden;
    p->w1 = param_mat_rows(wf, p->d, p->C, 0, p->d, "projector.0.weight");
    p->b1 = param_vec(wf, p->d, "projector.0.bias");
    p->w2 = param_mat_rows(wf, p->d, p->d, 0, p->d, "projector.2.weight");
    p->b2 = param_vec(wf, p->d, "projector.2.bias");
    p->has_v1 = c->expert_v1, p->has_v2 = c->expert_v2;
    if (p->has_v1) {
        hypernet_load(&p->hn1, wf, "expert.v1", c->e_embed, c->e_hidden, c->e_rank, p->C, p->d, 0,
                      p->d);
        prior_load(&p->pe1, wf, "expert.v1", p->C, &p->hn1);
    }
    if (p->has_v2) {
        hypernet_load(&p->hn2, wf, "expert.v2", c->e_embed, c->e_hidden, c->e_rank, p->d, p->d, 0,
                      p->d);
        prior_load(&p->pe2, wf, "expert.v2", p->C, &p->hn2);
    }
}

void projector_forward(const Ctx *ctx, const Projector *p, const float *feats, int n_tok,
                       float *out, ProjectorTrace *trace) {
    const int d = p->d;
    float *h1 = ctx_alloc(ctx, (size_t)n_tok * d * sizeof(float));
    float *g = NULL;
    Adapter a1 = {0}, a2 = {0};
    if (p->has_v1 || p->has_v2) {
        g = ctx_alloc(ctx, (size_t)p->C * sizeof(float));
        guidance_pool(ctx, feats, n_tok, p->C, g);
        if (p->has_v1) adapter_generate(ctx, &p->hn1, &p->pe1, g, &a1);
        if (p->has_v2) adapter_generate(ctx, &p->hn2, &p->pe2, g, &a2);
    }
    gemm(ctx, h1, feats, &p->w1, p->b1, n_tok);
    gelu_erf(ctx, h1, (long)n_tok * d);
    if (p->has_v2) {
        /* E_V2 reads L1(f) before E_V1 is added to it */
        float *e2 = ctx_alloc(ctx, (size_t)n_tok * d * sizeof(float));
        adapter_apply(ctx, &a2, 0, h1, n_tok, e2, d);
        if (p->has_v1) adapter_apply(ctx, &a1, 0, feats, n_tok, h1, d);
        gemm(ctx, out, h1, &p->w2, p->b2, n_tok);
        add_inplace(ctx, out, e2, (long)n_tok * d);
        ctx_free(ctx, e2);
    } else {
        if (p->has_v1) adapter_apply(ctx, &a1, 0, feats, n_tok, h1, d);
        gemm(ctx, out, h1, &p->w2, p->b2, n_tok);
    }
    ctx_free(ctx, h1);
    if (trace) {
        trace->guidance = g;
        trace->a1 = a1, trace->a2 = a2;
    } else {
        ctx_free(ctx, g);
        adapter_free(ctx, &a1);
        adapter_free(ctx, &a2);
    }
}

void projector_trace_free(const Ctx *ctx, ProjectorTrace *t) {
    ctx_free(ctx, t->guidance);
    adapter_free(ctx, &t->a1);
    adapter_free(ctx, &t->a2);
    memset(t, 0, sizeof *t);
}
