#include "model/param.h"

#include <stdarg.h>
#include <stdio.h>

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
    wf->floats_held += (uint64_t)n;
    return hl_malloc((size_t)n * sizeof(float));
}

float *param_vec(WeightFile *wf, int64_t n, const char *fmt, ...) {
    NAME(name, fmt);
    float *p = alloc_f(wf, n);
    wf_read(wf, name, 1, (int64_t[]){n}, -1, 0, 0, p);
    return p;
}

float *param_slice(WeightFile *wf, int64_t total, int64_t s, int64_t n, const char *fmt, ...) {
    NAME(name, fmt);
    float *p = alloc_f(wf, n);
    wf_read(wf, name, 1, (int64_t[]){total}, 0, s, n, p);
    return p;
}

float *param_rows(WeightFile *wf, int64_t rows, int64_t cols, int64_t r0, int64_t nr,
                  const char *fmt, ...) {
    NAME(name, fmt);
    float *p = alloc_f(wf, nr * cols);
    wf_read(wf, name, 2, (int64_t[]){rows, cols}, 0, r0, nr, p);
    return p;
}

float *param_cols(WeightFile *wf, int64_t rows, int64_t cols, int64_t c0, int64_t nc,
                  const char *fmt, ...) {
    NAME(name, fmt);
    float *p = alloc_f(wf, rows * nc);
    wf_read(wf, name, 2, (int64_t[]){rows, cols}, 1, c0, nc, p);
    return p;
}

uint64_t param_bytes_held(const WeightFile *wf) {
    return wf->floats_held * sizeof(float);
}
