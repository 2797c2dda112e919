/* Matrix multiply for Linear layers: y[M,N] = x[M,K] · W[N,K]^T (+ b[N]).
 *
 * Determinism contract (DESIGN §4): every output element is one dot product
 * over K whose summation order depends on K only — 8 interleaved partial sums
 * combined by a fixed tree, then the tail — never on M, N, the row's place in
 * a batch or the thread count. So a sample's result is bit-identical whatever
 * else is computed with it. */
#ifndef HL_MATMUL_H
#define HL_MATMUL_H

/* y = x W^T + b (b may be NULL). */
void matmul(float *y, const float *x, const float *w, const float *b, int M, int K, int N);
/* y += x W^T (accumulate into y; no bias). */
void matmul_acc(float *y, const float *x, const float *w, int M, int K, int N);
/* The dot product every matmul element uses. */
float dot_fixed(const float *a, const float *b, int n);

#endif
