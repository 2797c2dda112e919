#include "kernels/weight.h"

#include <stdlib.h>
#include <sys/mman.h>

#include "kernels/cuda.h"
#include "util/check.h"

/* Large weights on 2 MiB pages where the kernel allows it (THP "madvise"):
 * decoding streams every weight once per token, and huge pages spare the
 * TLB misses of 4 KiB ones. */
static void *weight_alloc(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    if (bytes < huge) return hl_malloc(bytes ? bytes : 1);
    void *p = NULL;
    if (posix_memalign(&p, huge, bytes) != 0 || !p) return hl_malloc(bytes);
#ifdef MADV_HUGEPAGE
    madvise(p, bytes / huge * huge, MADV_HUGEPAGE); /* whole huge pages only; a hint */
#endif
    return p;
}

void weight_pack(Weight *w, Dtype dt, const float *src, int n, int k, size_t ld) {
    CHECK(n >= 0 && k >= 0);
    *w = (Weight){.dtype = dt, .n = n, .k = k};
    w->data = weight_alloc((size_t)n * k * dtype_size(dt));
    int panels = (n + WEIGHT_PANEL - 1) / WEIGHT_PANEL;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < panels; p++)
        for (int j = p * WEIGHT_PANEL; j < n && j < (p + 1) * WEIGHT_PANEL; j++)
            for (int kk = 0; kk < k; kk++)
                dtype_put(w->data, dt, weight_index(n, k, j, kk), src[(size_t)j * ld + kk]);
}

void weight_place(const Ctx *ctx, Weight *w) {
    if (ctx->backend == BACKEND_CPU) return;
    size_t bytes = weight_bytes(w);
    void *d = ctx_alloc(ctx, bytes);
    ctx_upload(ctx, d, w->data, bytes);
    free(w->data);
    w->data = d;
}

void weight_pack_f32(const Ctx *ctx, Weight *w, const float *src, int n, int k, size_t ld) {
    CHECK(n >= 0 && k >= 0);
#ifdef HL_CUDA
    if (ctx->backend == BACKEND_CUDA) {
        *w = (Weight){.dtype = DT_F32, .n = n, .k = k};
        w->data = ctx_alloc(ctx, (size_t)n * k * sizeof(float));
        cuda_weight_pack(ctx->dev, w, src, n, k, ld);
        return;
    }
#endif
    (void)ctx;
    weight_pack(w, DT_F32, src, n, k, ld);
}

void weight_free(const Ctx *ctx, Weight *w) {
    ctx_free(ctx, w->data);
    w->data = NULL;
}

void weight_rows(const Ctx *ctx, const Weight *w, const int *ids, int n, float *out) {
    for (int i = 0; i < n; i++) CHECK(ids[i] >= 0 && ids[i] < w->n);
    CUDA_TWIN(ctx, cuda_weight_rows(ctx->dev, w, ids, n, out));
    for (int i = 0; i < n; i++)
        for (int kk = 0; kk < w->k; kk++)
            out[(size_t)i * w->k + kk] =
                dtype_get(w->data, w->dtype, weight_index(w->n, w->k, ids[i], kk));
}
