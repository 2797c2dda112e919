/* Row-wise and element-wise kernels of the transformer math. Per-row
 * results never depend on other rows or on the thread count: sums over a
 * row use 16 interleaved partial sums (element i goes to lane i % 16)
 * combined by one fixed tree, and exp is one polynomial evaluated with the
 * same IEEE operations on every lane, so every instruction set gives the
 * same bits. */
#ifndef HL_OPS_H
#define HL_OPS_H

#include "kernels/ctx.h"

/* LayerNorm over each of M rows of width N (CLIP). out may alias x. */
void layernorm(const Ctx *ctx, float *out, const float *x, const float *w, const float *b, int M,
               int N, float eps);
/* RMSNorm (LLaMA): out = w * (x / sqrt(mean(x^2) + eps)). out may alias x. */
void rmsnorm(const Ctx *ctx, float *out, const float *x, const float *w, int M, int N, float eps);
void gelu_erf(float *x, long n);                   /* projector GELU: 0.5 x (1 + erf(x/sqrt 2)) */
void quick_gelu(const Ctx *ctx, float *x, long n); /* CLIP: x * sigmoid(1.702 x) */
void silu(float *x, long n);
/* gate[i] = silu(gate[i]) * up[i] (SwiGLU). */
void swiglu(const Ctx *ctx, float *gate, const float *up, long n);
void add_inplace(float *y, const float *x, long n);
/* y[m][j] += b[j] for M rows of width N. */
void add_rows(float *y, const float *b, int M, int N);
/* In-place softmax of n values. */
void softmax(float *x, int n);
/* exp as the kernels compute it (within 2 ulp of the true value). */
float exp_kernel(float x);
/* Rotary embedding (HF rotate_half form) of n_rows rows (stride ld) holding
 * n_heads heads of head_dim; row r sits at position pos0 + r. */
void rope(const Ctx *ctx, float *x, int n_rows, int ld, int pos0, int n_heads, int head_dim,
          float theta);
/* Index of the largest value; the lowest index among equals. */
int argmax(const float *x, int n);

#endif
