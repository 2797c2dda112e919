/* Reading a model parameter (or this rank's shard of it) into a fresh
 * float32 array. Column-parallel layers keep a block of output rows of the
 * [out, in] matrix, row-parallel layers a block of input columns. */
#ifndef HL_PARAM_H
#define HL_PARAM_H

#include <stdint.h>

#include "io/weights.h"

/* Whole 1-D vector of length n. */
float *param_vec(WeightFile *wf, int64_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Rows [r0, r0+nr) of a [rows, cols] matrix (nr = rows: whole matrix). */
float *param_rows(WeightFile *wf, int64_t rows, int64_t cols, int64_t r0, int64_t nr,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Columns [c0, c0+nc) of a [rows, cols] matrix. */
float *param_cols(WeightFile *wf, int64_t rows, int64_t cols, int64_t c0, int64_t nc,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Elements [s, s+n) of a 1-D vector of length total. */
float *param_slice(WeightFile *wf, int64_t total, int64_t s, int64_t n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Bytes of float32 parameters allocated through this module since start
 * (what a rank holds in memory for its shard). */
uint64_t param_bytes_held(const WeightFile *wf);

#endif
