#include "kernels/attention.h"

#include <math.h>
#include <string.h>

#include "kernels/cuda.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "util/check.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void kv_store(const Ctx *ctx, float *kc, float *vc, int cap, int n_heads, int head_dim, int t0,
              int n, const float *k_rows, const float *v_rows, int ld) {
    CUDA_TWIN(ctx,
              cuda_kv_store(ctx->dev, kc, vc, cap, n_heads, head_dim, t0, n, k_rows, v_rows, ld));
    for (int r = 0; r < n; r++) {
        const float *k_row = k_rows + (size_t)r * ld, *v_row = v_rows + (size_t)r * ld;
        for (int h = 0; h < n_heads; h++)
            for (int d = 0; d < head_dim; d++) {
                kc[kv_key_index(cap, head_dim, h, t0 + r, d)] = k_row[h * head_dim + d];
                vc[kv_value_index(cap, head_dim, h, t0 + r, d)] = v_row[h * head_dim + d];
            }
    }
}

void kv_copy(const Ctx *ctx, float *kc1, float *vc1, int cap1, const float *kc0, const float *vc0,
             int cap0, int n_heads, int head_dim, int len) {
    CUDA_TWIN(ctx, cuda_kv_copy(ctx->dev, kc1, vc1, cap1, kc0, vc0, cap0, n_heads, head_dim, len));
    for (int h = 0; h < n_heads; h++)
        for (int t = 0; t < len; t++)
            for (int d = 0; d < head_dim; d++) {
                kc1[kv_key_index(cap1, head_dim, h, t, d)] =
                    kc0[kv_key_index(cap0, head_dim, h, t, d)];
                vc1[kv_value_index(cap1, head_dim, h, t, d)] =
                    vc0[kv_value_index(cap0, head_dim, h, t, d)];
            }
}

void rope_spans(const Ctx *ctx, float *x, int ld, const KvSpan *sp, int n_spans, int n_heads,
                int head_dim, float theta) {
    float inv_freq[ROPE_MAX_HALF];
    rope_freqs(head_dim, theta, inv_freq);
    CUDA_TWIN(ctx, cuda_rope_spans(ctx->dev, x, ld, sp, n_spans, n_heads, head_dim, inv_freq));
    for (int s = 0; s < n_spans; s++)
        rope(ctx, x + (size_t)sp[s].row0 * ld, sp[s].n, ld, sp[s].pos0, n_heads, head_dim,
             inv_freq);
}

void kv_store_spans(const Ctx *ctx, const KvSpan *sp, int n_spans, int n_heads, int head_dim,
                    const float *k_rows, const float *v_rows, int ld) {
    CUDA_TWIN(ctx,
              cuda_kv_store_spans(ctx->dev, sp, n_spans, n_heads, head_dim, k_rows, v_rows, ld));
    for (int s = 0; s < n_spans; s++)
        kv_store(ctx, sp[s].kc, sp[s].vc, sp[s].cap, n_heads, head_dim, sp[s].pos0, sp[s].n,
                 k_rows + (size_t)sp[s].row0 * ld, v_rows + (size_t)sp[s].row0 * ld, ld);
}

void attention_spans(const Ctx *ctx, float *out, int ldo, const float *q, int ldq, const KvSpan *sp,
                     int n_spans, int n_heads, int head_dim, int causal, float *work) {
    CUDA_TWIN(ctx, cuda_attention_spans(ctx->dev, out, ldo, q, ldq, sp, n_spans, n_heads, head_dim,
                                        causal));
    for (int s = 0; s < n_spans; s++)
        attention(ctx, out + (size_t)sp[s].row0 * ldo, ldo, q + (size_t)sp[s].row0 * ldq, ldq,
                  sp[s].n, sp[s].pos0, sp[s].kc, sp[s].vc, sp[s].cap, sp[s].pos0 + sp[s].n, n_heads,
                  head_dim, causal, work);
}

/* Scores of a row tile are computed for whole key panels. */
static int padded(int n) {
    return (n + WEIGHT_PANEL - 1) / WEIGHT_PANEL * WEIGHT_PANEL;
}

size_t attention_workspace(const Ctx *ctx, int n_kv) {
    if (ctx->backend != BACKEND_CPU) return 0;
    int threads = ctx->threads > 0 ? ctx->threads : 1;
    return (size_t)threads * gemm_tile_rows(ctx->isa) * padded(n_kv);
}

void attention(const Ctx *ctx, float *out, int ldo, const float *q, int ldq, int n_q, int q_pos0,
               const float *kc, const float *vc, int cap, int n_kv, int n_heads, int head_dim,
               int causal, float *work) {
    if (n_q <= 0) return;
    CHECK(n_kv <= cap && (!causal || q_pos0 + n_q <= n_kv));
    CUDA_TWIN(ctx, cuda_attention(ctx->dev, out, ldo, q, ldq, n_q, q_pos0, kc, vc, cap, n_kv,
                                  n_heads, head_dim, causal));
    const float scale = 1.0f / sqrtf((float)head_dim);
    const int MR = gemm_tile_rows(ctx->isa), lds = padded(n_kv);
    const int tiles = (n_q + MR - 1) / MR, tasks = tiles * n_heads;
    int threads = ctx->threads > 0 ? ctx->threads : 1;
    if (threads > tasks) threads = tasks;
#pragma omp parallel num_threads(threads)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        float *s = work + (size_t)tid * MR * lds;
#pragma omp for schedule(static)
        for (int task = 0; task < tasks; task++) {
            const int h = task / tiles, i0 = (task % tiles) * MR;
            const int mr = n_q - i0 < MR ? n_q - i0 : MR;
            int len[16];
            for (int i = 0; i < mr; i++) len[i] = causal ? q_pos0 + i0 + i + 1 : n_kv;
            const int lmin = len[0], lmax = len[mr - 1];
            const float *kh = kc + (size_t)h * cap * head_dim;
            const float *vh = vc + (size_t)h * cap * head_dim;
            /* scores: q . k over head_dim, for every key panel the tile needs */
            gemm_block(ctx->isa, mr, q + (size_t)i0 * ldq + (size_t)h * head_dim, ldq, kh, DT_F32,
                       cap, head_dim, 0, (lmax + WEIGHT_PANEL - 1) / WEIGHT_PANEL, 0, head_dim, s,
                       lds, 1, NULL);
            for (int i = 0; i < mr; i++) softmax(s + (size_t)i * lds, len[i], scale);
            /* out = p . v: the keys every row sees as one tile, then each row's own */
            float *o = out + (size_t)i0 * ldo + (size_t)h * head_dim;
            const int vp = (head_dim + WEIGHT_PANEL - 1) / WEIGHT_PANEL;
            gemm_block(ctx->isa, mr, s, lds, vh, DT_F32, head_dim, cap, 0, vp, 0, lmin, o, ldo, 1,
                       NULL);
            for (int i = 1; i < mr; i++)
                if (len[i] > lmin)
                    gemm_block(ctx->isa, 1, s + (size_t)i * lds, lds, vh, DT_F32, head_dim, cap, 0,
                               vp, lmin, len[i] - lmin, o + (size_t)i * ldo, ldo, 0, NULL);
        }
    }
}
