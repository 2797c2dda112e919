#include "model/expert.h"

#include <math.h>
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

void guidance_pool(const float *rows, int n_rows, int dim, float *g) {
    CHECK(n_rows > 0);
    for (int j = 0; j < dim; j++) {
        float s = 0;
        for (int i = 0; i < n_rows; i++) s += rows[(long)i * dim + j];
        g[j] = s / (float)n_rows;
    }
    float ms = 0;
    for (int j = 0; j < dim; j++) ms += g[j] * g[j];
    float inv = 1.0f / sqrtf(ms / (float)dim + 1e-6f);
    for (int j = 0; j < dim; j++) g[j] *= inv;
}

void adapter_generate(const Ctx *ctx, const Hypernet *hn, const PriorEncoder *pe, const float *g,
                      Adapter *a) {
    float *e = hl_malloc((size_t)hn->d_e * sizeof(float));
    float *z = hl_malloc((size_t)hn->h * sizeof(float));
    gemm(ctx, e, g, &pe->enc_w, pe->enc_b, 1);
    gemm(ctx, z, e, &hn->w0, hn->b0, 1);
    int nd = hn->r * hn->n_in, nu = hn->out_n * hn->r;
    a->r = hn->r, a->n_in = hn->n_in, a->out_n = hn->out_n;
    a->w_d = hl_malloc((size_t)nd * sizeof(float));
    a->w_u = hl_malloc((size_t)(nu ? nu : 1) * sizeof(float));
    gemm(ctx, a->w_d, z, &hn->w1d, hn->b1d, 1);
    add_inplace(a->w_d, pe->st_d, nd);
    weight_pack(&a->pd, DT_F32, a->w_d, a->r, a->n_in, (size_t)a->n_in);
    if (nu) {
        gemm(ctx, a->w_u, z, &hn->w1u, hn->b1u, 1);
        add_inplace(a->w_u, pe->st_u, nu);
        weight_pack(&a->pu, DT_F32, a->w_u, a->out_n, a->r, (size_t)a->r);
    }
    free(e);
    free(z);
}

void adapter_free(Adapter *a) {
    free(a->w_d);
    free(a->w_u);
    a->w_d = a->w_u = NULL;
    weight_free(&a->pd);
    weight_free(&a->pu);
}

void adapter_apply(const Ctx *ctx, const Adapter *a, int out0, const float *x, int M, float *y,
                   int ldy) {
    if (a->out_n == 0 || M == 0) return;
    float *t = hl_malloc((size_t)M * a->r * sizeof(float));
    float *o = hl_malloc((size_t)M * a->out_n * sizeof(float));
    gemm(ctx, t, x, &a->pd, NULL, M);
    silu(t, (long)M * a->r);
    gemm(ctx, o, t, &a->pu, NULL, M);
    for (int m = 0; m < M; m++)
        for (int j = 0; j < a->out_n; j++) y[(long)m * ldy + out0 + j] += o[(long)m * a->out_n + j];
    free(t);
    free(o);
}
