/* HyperLLaVA experts (docs/model.md §4): a hypernetwork turns a guidance vector
 * into an adapter W_u · SiLU(W_d · x) that is then applied to every token of
 * the sample.
 *
 *   g   = normalise(mean of the guidance rows)       guidance_pool
 *   e   = Enc_n g                                    PriorEncoder (per layer)
 *   K_n = W2 (W1 e + B1) + B2 + k_n                  Hypernet + static k_n
 *   W_d = K_n[:r*N_in] as [r, N_in], W_u = rest as [N_out, r]
 *
 * Tensor parallelism: every rank generates all of W_d but only its rows
 * [out0, out0+out_n) of W_u, and adds its part of E(x) into the columns of
 * the row-parallel partial sum, so the existing all-reduce completes it. */
#ifndef HL_EXPERT_H
#define HL_EXPERT_H

#include "io/weights.h"
#include "kernels/ctx.h"
#include "kernels/weight.h"

typedef struct {
    int d_e, h, r, n_in, n_out; /* n_out: the full output width */
    int out0, out_n;            /* W_u rows generated on this rank */
    Weight w0;                  /* hyper.0: [h, d_e] */
    float *b0;                  /* [h] */
    Weight w1d;                 /* hyper.1 rows of W_d: [r*n_in, h] */
    float *b1d;                 /* [r*n_in] */
    Weight w1u;                 /* hyper.1 rows of local W_u: [out_n*r, h] */
    float *b1u;                 /* [out_n*r] */
} Hypernet;

typedef struct {
    int g_dim;
    Weight enc_w;       /* [d_e, g_dim] */
    float *enc_b;       /* [d_e] */
    float *st_d, *st_u; /* static k_n, the W_d part and the local W_u part */
} PriorEncoder;

typedef struct {
    int r, n_in, out_n;
    float *w_d;    /* [r, n_in] (context memory) */
    float *w_u;    /* [out_n, r] (context memory) */
    Weight pd, pu; /* the same, packed for the GEMM */
} Adapter;

/* prefix: "expert.v1", "expert.v2" or "expert.lang". */
void hypernet_load(Hypernet *hn, WeightFile *wf, const char *prefix, int d_e, int h, int r,
                   int n_in, int n_out, int out0, int out_n);
/* prefix: "expert.v1" or "expert.lang.layers.{n}" (holds .enc.* and .static). */
void prior_load(PriorEncoder *pe, WeightFile *wf, const char *prefix, int g_dim,
                const Hypernet *hn);
/* g = normalise(mean of n_rows rows of width dim). Pointers here and below
 * are context memory (kernels/ctx.h). */
void guidance_pool(const Ctx *ctx, const float *rows, int n_rows, int dim, float *g);
void adapter_generate(const Ctx *ctx, const Hypernet *hn, const PriorEncoder *pe, const float *g,
                      Adapter *a);
void adapter_free(const Ctx *ctx, Adapter *a);
/* y[m][out0 + j] += E(x_m)_j for the rank's W_u rows; y has row stride ldy. */
void adapter_apply(const Ctx *ctx, const Adapter *a, int out0, const float *x, int M, float *y,
                   int ldy);

#endif
