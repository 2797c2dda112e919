/* Reading a model parameter (or this rank's shard of it). Vectors (norms,
 * biases, embeddings of positions) come back as float32 arrays; matrices
 * come back as packed Weights held at the file's hold precision (wf->hold:
 * the run config's dtype), ready for the GEMM. Both are placed in the memory
 * of wf->place (device memory for a CUDA context; host when NULL). Column-parallel layers keep
 * a block of output rows of the [out, in] matrix, row-parallel layers a
 * block of input columns. */
#ifndef HL_PARAM_H
#define HL_PARAM_H

#include <stdint.h>

#include "io/weights.h"
#include "kernels/weight.h"

/* Whole 1-D vector of length n. */
float *param_vec(WeightFile *wf, int64_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Elements [s, s+n) of a 1-D vector of length total. */
float *param_slice(WeightFile *wf, int64_t total, int64_t s, int64_t n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Rows [r0, r0+nr) of a [rows, cols] matrix as float32 (nr = rows: whole). */
float *param_rows(WeightFile *wf, int64_t rows, int64_t cols, int64_t r0, int64_t nr,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Rows [r0, r0+nr) of a [rows, cols] matrix, packed (column-parallel). */
Weight param_mat_rows(WeightFile *wf, int64_t rows, int64_t cols, int64_t r0, int64_t nr,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Columns [c0, c0+nc) of a [rows, cols] matrix, packed (row-parallel). */
Weight param_mat_cols(WeightFile *wf, int64_t rows, int64_t cols, int64_t c0, int64_t nc,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A tensor of any rank read whole and packed as [shape[0], product of the rest]. */
Weight param_mat_nd(WeightFile *wf, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Bytes of parameters handed out through this module since the file was
 * opened (what a rank holds in memory for its shard). */
uint64_t param_bytes_held(const WeightFile *wf);

#endif
