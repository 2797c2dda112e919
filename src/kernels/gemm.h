/* The matrix product of every Linear layer: y[M, n] = x[M, k] · W^T (+ b).
 *
 * Determinism contract (docs/determinism.md): each output element is one
 * chain of fused multiply-adds over k = 0, 1, ..., k-1 starting from zero,
 * then one addition of the bias. The order depends on k only, never on M,
 * on the row's place in the batch, on the tile it falls in, on the thread
 * count or on the instruction set (every variant does the same fused
 * operations), so a sample's result is bit-identical whatever else is
 * computed with it.
 *
 * Speed: a register-tiled microkernel (AVX-512: 8 rows x 32 columns, AVX2:
 * 6 x 16) reads the packed weight panels as sequential streams; k is cut
 * into blocks visited in order (the partial sums wait in y between blocks)
 * so a block of panels stays in cache while every row passes over it; the
 * threads split the columns, never k. */
#ifndef HL_GEMM_H
#define HL_GEMM_H

#include "kernels/ctx.h"
#include "kernels/weight.h"

/* y = x W^T + b (b may be NULL). x: M rows of stride w->k; y: M rows of
 * stride w->n. */
void gemm(const Ctx *ctx, float *y, const float *x, const Weight *w, const float *b, int M);
/* The same with explicit row strides (ldx >= w->k, ldy >= w->n). */
void gemm_strided(const Ctx *ctx, float *y, int ldy, const float *x, int ldx, const Weight *w,
                  const float *b, int M);

/* The building block under gemm, for kernels whose operands are laid out
 * as weight panels (attention's key and value caches). For mr rows of a
 * (mr <= gemm_tile_rows), row stride lda, over k steps [k0, k0 + kc):
 * c[i][j] (j in panels [p0, p1) of a panel-packed [n, kdim] matrix at wdata)
 * = the chain from zero (first) or continued from c, then + bias[j] when
 * bias is not NULL. c and bias point at column 0. */
void gemm_block(Isa isa, int mr, const float *a, int lda, const void *wdata, Dtype dt, int n,
                int kdim, int p0, int p1, int k0, int kc, float *c, int ldc, int first,
                const float *bias);
int gemm_tile_rows(Isa isa);

#endif
