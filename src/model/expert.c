#include "model/expert.h"

#include <stdlib.h>

#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "model/param.h"
#include "util/check.h"

void hypernet_load(Hypernet *hn, WeightFile *wf, const char *prefix, int d_e, int h, int r,
                   int n_in, int n_out, int out0, int out_n) {
    *hn = (Hypernet){
        .d_e = d_e, .h = h, .r = r, .n_in = n_in, .n_out = n_out, .out0 = out0, .out_n = out_n};
    int64_t K = (int64_t)r * n_in + (int64_t)n_out * r, nd = (int64_t)r * n_in;
    hn->w0 = param_mat_rows(wf, h, d_e, 0, h, "%s.hyper.0.weight", prefix);
    hn->b0 = param_vec(wf, h, "%s.hyper.0.bias", prefix);
    hn->w1d = param_mat_rows(wf, K, h, 0, nd, "%s.hyper.1.weight", prefix);
    hn->b1d = param_slice(wf, K, 0, nd, "%s.hyper.1.bias", prefix);
    int64_t u0 = nd + (int64_t)out0 * r, un = (int64_t)out_n * r;
    hn->w1u = param_mat_rows(wf, K, h, u0, un, "%s.hyper.1.weight", prefix);
    hn->b1u = param_slice(wf, K, u0, un, "%s.hyper.1.bias", prefix);
}

void prior_load(PriorEncoder *pe, WeightFile *wf, const char *prefix, int g_dim,
                const Hypernet *hn) {
    pe->g_dim = g_dim;
    pe->enc_w = param_mat_rows(wf, hn->d_e, g_dim, 0, hn->d_e, "%s.enc.weight", prefix);
    pe->enc_b = param_vec(wf, hn->d_e, "%s.enc.bias", prefix);
    int64_t K = (int64_t)hn->r * hn->n_in + (int64_t)hn->n_out * hn->r,
            nd = (int64_t)hn->r * hn->n_in;
    pe->st_d = param_slice(wf, K, 0, nd, "%s.static", prefix);
    pe->st_u = param_slice(wf, K, nd + (int64_t)hn->out0 * hn->r, (int64_t)hn->out_n * hn->r,
                           "%s.static", prefix);
}

void guidance_pool(const Ctx *ctx, const float *rows, int n_rows, int dim, float *g) {
    CHECK(n_rows > 0);
    mean_rms(ctx, rows, n_rows, dim, 1e-6f, g);
}

void adapter_generate(const Ctx *ctx, const Hypernet *hn, const PriorEncoder *pe, const float *g,
                      Adapter *a) {
    float *e = ctx_alloc(ctx, (size_t)hn->d_e * sizeof(float));
    float *z = ctx_alloc(ctx, (size_t)hn->h * sizeof(float));
    gemm(ctx, e, g, &pe->enc_w, pe->enc_b, 1);
    gemm(ctx, z, e, &hn->w0, hn->b0, 1);
    int nd = hn->r * hn->n_in, nu = hn->out_n * hn->r;
    a->r = hn->r, a->n_in = hn->n_in, a->out_n = hn->out_n;
    a->w_d = ctx_alloc(ctx, (size_t)nd * sizeof(float));
    a->w_u = ctx_alloc(ctx, (size_t)(nu ? nu : 1) * sizeof(float));
    gemm(ctx, a->w_d, z, &hn->w1d, hn->b1d, 1);
    add_inplace(ctx, a->w_d, pe->st_d, nd);
    weight_pack_f32(ctx, &a->pd, a->w_d, a->r, a->n_in, (size_t)a->n_in);
    if (nu) {
        gemm(ctx, a->w_u, z, &hn->w1u, hn->b1u, 1);
        add_inplace(ctx, a->w_u, pe->st_u, nu);
        weight_pack_f32(ctx, &a->pu, a->w_u, a->out_n, a->r, (size_t)a->r);
    }
    ctx_free(ctx, e);
    ctx_free(ctx, z);
}

void adapter_free(const Ctx *ctx, Adapter *a) {
    ctx_free(ctx, a->w_d);
    ctx_free(ctx, a->w_u);
    a->w_d = a->w_u = NULL;
    weight_free(ctx, &a->pd);
    weight_free(ctx, &a->pu);
}

void adapter_apply(const Ctx *ctx, const Adapter *a, int out0, const float *x, int M, float *y,
                   int ldy) {
    if (a->out_n == 0 || M == 0) return;
    float *t = ctx_alloc(ctx, (size_t)M * a->r * sizeof(float));
    float *o = ctx_alloc(ctx, (size_t)M * a->out_n * sizeof(float));
    gemm(ctx, t, x, &a->pd, NULL, M);
    silu(ctx, t, (long)M * a->r);
    gemm(ctx, o, t, &a->pu, NULL, M);
    add_block(ctx, y + out0, ldy, o, a->out_n, M, a->out_n);
    ctx_free(ctx, t);
    ctx_free(ctx, o);
}
