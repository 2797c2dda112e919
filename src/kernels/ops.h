/* Row-wise and element-wise kernels of the transformer math. Pure functions
 * of their arguments; per-row results never depend on other rows. */
#ifndef HL_OPS_H
#define HL_OPS_H

/* LayerNorm over each of M rows of width N (CLIP). out may alias x. */
void layernorm(float *out, const float *x, const float *w, const float *b, int M, int N, float eps);
/* RMSNorm (LLaMA): out = w * x / sqrt(mean(x^2) + eps). out may alias x. */
void rmsnorm(float *out, const float *x, const float *w, int M, int N, float eps);
void gelu_erf(float *x, long n);   /* projector GELU: 0.5 x (1 + erf(x/sqrt 2)) */
void quick_gelu(float *x, long n); /* CLIP: x * sigmoid(1.702 x) */
void silu(float *x, long n);
/* gate[i] = silu(gate[i]) * up[i] (SwiGLU). */
void swiglu(float *gate, const float *up, long n);
void add_inplace(float *y, const float *x, long n);
/* In-place softmax of n values. */
void softmax(float *x, int n);
/* Rotary embedding (HF rotate_half form) of one row holding n_heads heads of
 * head_dim at position pos. */
void rope_row(float *x, int n_heads, int head_dim, int pos, float theta);
/* Index of the largest value; the lowest index among equals. */
int argmax(const float *x, int n);

#endif
