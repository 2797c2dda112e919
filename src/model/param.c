#include "model/param.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/check.h"

#define NAME(buf, fmt)                                                                             \
    char buf[256];                                                                                 \
    do {                                                                                           \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        vsnprintf(buf, sizeof buf, fmt, ap);                                                       \
        va_end(ap);                                                                                \
    } while (0)

/* Held bytes are counted on the WeightFile (no global state): every
 * parameter of a rank comes from its one open file. */
static float *alloc_f(WeightFile *wf, int64_t n) {
    wf->bytes_held += (uint64_t)n * sizeof(float);
    return hl_malloc((size_t)(n ? n : 1) * sizeof(float));
}

/* A vector read into host memory, moved to the context's memory. */
static float *place(WeightFile *wf, float *p, int64_t n) {
    if (!wf->place || wf->place->backend == BACKEND_CPU) return p;
    size_t bytes = (size_t)n * sizeof(float);
    float *d = ctx_alloc(wf->place, bytes);
    ctx_upload(wf->place, d, p, bytes);
    free(p);
    return d;
}

/* Packs a float32 block read from the file at the hold precision. */
static Weight pack(WeightFile *wf, float *tmp, int64_t n, int64_t k) {
    CHECK(n <= INT32_MAX && k <= INT32_MAX);
    Weight w;
    weight_pack(&w, wf->hold, tmp, (int)n, (int)k, (size_t)k);
    wf->bytes_held += weight_bytes(&w);
    free(tmp);
    if (wf->place) weight_place(wf->place, &w);
    return w;
}

float *param_vec(WeightFile *wf, int64_t n, const char *fmt, ...) {
    NAME(name, fmt);
    float *p = alloc_f(wf, n);
    wf_read(wf, name, 1, (int64_t[]){n}, -1, 0, 0, p);
    return place(wf, p, n);
}

float *param_slice(WeightFile *wf, int64_t total, int64_t s, int64_t n, const char *fmt, ...) {
    NAME(name, fmt);
    float *p = alloc_f(wf, n);
    wf_read(wf, name, 1, (int64_t[]){total}, 0, s, n, p);
    return place(wf, p, n);
}

float *param_rows(WeightFile *wf, int64_t rows, int64_t cols, int64_t r0, int64_t nr,
                  const char *fmt, ...) {
    NAME(name, fmt);
    float *p = alloc_f(wf, nr * cols);
    wf_read(wf, name, 2, (int64_t[]){rows, cols}, 0, r0, nr, p);
    return place(wf, p, nr * cols);
}

Weight param_mat_rows(WeightFile *wf, int64_t rows, int64_t cols, int64_t r0, int64_t nr,
                      const char *fmt, ...) {
    NAME(name, fmt);
    float *p = hl_malloc((size_t)(nr * cols > 0 ? nr * cols : 1) * sizeof(float));
    wf_read(wf, name, 2, (int64_t[]){rows, cols}, 0, r0, nr, p);
    return pack(wf, p, nr, cols);
}

Weight param_mat_cols(WeightFile *wf, int64_t rows, int64_t cols, int64_t c0, int64_t nc,
                      const char *fmt, ...) {
    NAME(name, fmt);
    float *p = hl_malloc((size_t)(rows * nc > 0 ? rows * nc : 1) * sizeof(float));
    wf_read(wf, name, 2, (int64_t[]){rows, cols}, 1, c0, nc, p);
    return pack(wf, p, rows, nc);
}

Weight param_mat_nd(WeightFile *wf, int ndim, const int64_t *shape, const char *fmt, ...) {
    NAME(name, fmt);
    int64_t k = 1;
    for (int i = 1; i < ndim; i++) k *= shape[i];
    float *p = hl_malloc((size_t)(shape[0] * k > 0 ? shape[0] * k : 1) * sizeof(float));
    wf_read(wf, name, ndim, shape, -1, 0, 0, p);
    return pack(wf, p, shape[0], k);
}

uint64_t param_bytes_held(const WeightFile *wf) {
    return wf->bytes_held;
}
