/* Scaled dot-product attention of one sequence, head by head, over keys and
 * values held in weight-panel layout (kernels/weight.h) so that both
 * products run on the GEMM's microkernel:
 *   keys of head h:   a [cap, head_dim] matrix (panels of 16 positions),
 *   values of head h: a [head_dim, cap] matrix (panels of 16 dimensions),
 * each head's block at h * cap * head_dim. A KV cache is kept in this layout
 * (kv_store writes one position); the vision tower packs its keys and values
 * the same way.
 *
 * Query row i (of n_q, row stride ldq, heads side by side) sits at position
 * q_pos0 + i; with causal set it sees keys [0, q_pos0 + i], else all n_kv.
 * Every score is one FMA chain over head_dim, the softmax sums in a fixed
 * lane order over the row's own keys, and each output element is one chain
 * over exactly those keys in position order: nothing depends on how many
 * rows come together or on the thread count. */
#ifndef HL_ATTENTION_H
#define HL_ATTENTION_H

#include <stddef.h>

#include "kernels/ctx.h"
#include "kernels/weight.h"

HL_HD static inline size_t kv_key_index(int cap, int head_dim, int h, int t, int d) {
    return (size_t)h * cap * head_dim + weight_index(cap, head_dim, t, d);
}
HL_HD static inline size_t kv_value_index(int cap, int head_dim, int h, int t, int d) {
    return (size_t)h * cap * head_dim + weight_index(head_dim, cap, d, t);
}

/* Writes the key and value rows of positions [t0, t0 + n) (n_heads *
 * head_dim each; row r of k_rows and v_rows at r * ld). */
void kv_store(const Ctx *ctx, float *kc, float *vc, int cap, int n_heads, int head_dim, int t0,
              int n, const float *k_rows, const float *v_rows, int ld);
/* Copies positions [0, len) from caches of capacity cap0 to ones of cap1. */
void kv_copy(const Ctx *ctx, float *kc1, float *vc1, int cap1, const float *kc0, const float *vc0,
             int cap0, int n_heads, int head_dim, int len);

/* The rows of one sequence in a batch of rows: rows [row0, row0 + n) sit at
 * positions [pos0, pos0 + n) and their keys and values go to caches kc, vc
 * of capacity cap (context memory). The _spans functions below do for every
 * span what their single-sequence forms do, in one call (one launch per
 * call on a device, however many sequences a batch holds). */
typedef struct {
    float *kc, *vc;
    int cap, pos0, n, row0;
} KvSpan;

/* Rotary embedding of each span's rows at its positions (ops.h: rope). */
void rope_spans(const Ctx *ctx, float *x, int ld, const KvSpan *sp, int n_spans, int n_heads,
                int head_dim, float theta);
/* kv_store of each span's rows. */
void kv_store_spans(const Ctx *ctx, const KvSpan *sp, int n_spans, int n_heads, int head_dim,
                    const float *k_rows, const float *v_rows, int ld);
/* attention of each span's rows over its cache: query row i of a span at
 * position pos0 + i; causal: keys [0, pos0 + i], else all pos0 + n. */
void attention_spans(const Ctx *ctx, float *out, int ldo, const float *q, int ldq, const KvSpan *sp,
                     int n_spans, int n_heads, int head_dim, int causal, float *work);

/* Floats of workspace attention() needs (a device backend needs none). */
size_t attention_workspace(const Ctx *ctx, int n_kv);
void attention(const Ctx *ctx, float *out, int ldo, const float *q, int ldq, int n_q, int q_pos0,
               const float *kc, const float *vc, int cap, int n_kv, int n_heads, int head_dim,
               int causal, float *work);

#endif
