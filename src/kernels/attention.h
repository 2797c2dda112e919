/* Scaled dot-product attention of one sequence, head by head.
 * q: n_q rows of stride q_stride (heads side by side, head_dim each);
 * k, v: n_kv rows of stride kv_stride; out: n_q rows of stride q_stride.
 * Query row i sits at position q_pos0 + i; with causal set it sees keys
 * [0, q_pos0 + i], else all n_kv keys. The summation order depends only on the
 * positions, so a row's output does not depend on how many rows come with it. */
#ifndef HL_ATTENTION_H
#define HL_ATTENTION_H

void attention(float *out, const float *q, const float *k, const float *v, int n_q, int q_pos0,
               int n_kv, int n_heads, int head_dim, int q_stride, int kv_stride, int causal);

#endif
