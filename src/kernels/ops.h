/* Row-wise and element-wise kernels of the transformer math. Pointers are
 * context memory (kernels/ctx.h) unless a function says host memory. Per-row
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
void gelu_erf(const Ctx *ctx, float *x, long n);   /* projector GELU: 0.5 x (1 + erf(x/sqrt 2)) */
void quick_gelu(const Ctx *ctx, float *x, long n); /* CLIP: x * sigmoid(1.702 x) */
void silu(const Ctx *ctx, float *x, long n);
/* gate[i] = silu(gate[i]) * up[i] (SwiGLU). */
void swiglu(const Ctx *ctx, float *gate, const float *up, long n);
void add_inplace(const Ctx *ctx, float *y, const float *x, long n);
/* y[m][j] += b[j] for M rows of width N. */
void add_rows(const Ctx *ctx, float *y, const float *b, int M, int N);
/* y[m][j] += x[m][j] for M rows of width N with row strides ldy and ldx. */
void add_block(const Ctx *ctx, float *y, int ldy, const float *x, int ldx, int M, int N);
/* g = the mean of n_rows rows of width dim, then divided by its root mean
 * square (+ eps): each mean is one sum over the rows in order, the square
 * sum one chain over j in order. */
void mean_rms(const Ctx *ctx, const float *rows, int n_rows, int dim, float eps, float *g);
/* Offset in an image [3, S, S] of column c = (channel, y, x) of patch p in a
 * G x G grid of P x P patches. */
HL_HD static inline size_t patch_src_index(int S, int P, int G, int p, int c) {
    int ch = c / (P * P), ky = (c / P) % P, kx = c % P;
    return ((size_t)ch * S + (size_t)(p / G) * P + ky) * S + (size_t)(p % G) * P + kx;
}
/* The G*G patches of one image px [3, S, S] as rows of cols [G*G, 3*P*P],
 * columns in (channel, y, x) order: the patch convolution as a matmul. */
void patch_rows(const Ctx *ctx, float *cols, const float *px, int S, int P, int G);
/* In-place softmax of scale * x over n values (host memory). x holds room
 * for n rounded up to a multiple of 16 values; those past n are set to 0. */
void softmax(float *x, int n, float scale);
/* exp as the kernels compute it (within 2 ulp of the true value). */
float exp_kernel(float x);
/* Rotary embedding: pairs (i, i + head_dim/2) of each head turn by the
 * angle pos * theta^(-2i/head_dim); head_dim/2 <= ROPE_MAX_HALF. */
#define ROPE_MAX_HALF 256
/* inv_freq[i] = theta^(-2i/head_dim) for i < head_dim/2 (host memory). */
void rope_freqs(int head_dim, float theta, float *inv_freq);
/* Rotary embedding (HF rotate_half form) of n_rows rows (stride ld) holding
 * n_heads heads of head_dim; row r sits at position pos0 + r. inv_freq from
 * rope_freqs (host memory), computed once for all the rows a caller turns. */
void rope(const Ctx *ctx, float *x, int n_rows, int ld, int pos0, int n_heads, int head_dim,
          const float *inv_freq);
/* Index of the largest value; the lowest index among equals (host memory). */
int argmax(const float *x, int n);

#endif
