/* The HDF5 weight file (docs/weight-file.md): configuration attributes,
 * tokenizer arrays and tensors. Tensors are read whole or as a hyperslab along
 * one dimension (a tensor-parallel shard) and converted to float32, whatever
 * the stored dtype (f32, f16, bf16). Every failure is a one-line error naming
 * the file and the attribute or tensor. */
#ifndef HL_WEIGHTS_H
#define HL_WEIGHTS_H

#include <stdint.h>

#include "kernels/ctx.h"
#include "util/dtype.h"

typedef struct {
    char *path;
    int64_t file;        /* hid_t */
    uint64_t bytes_read; /* tensor bytes read from disk so far */
    uint64_t bytes_held; /* parameter bytes handed out to the model (see model/param.h) */
    Dtype hold;          /* precision the model holds its matrices at (model/param.h) */
    const Ctx *place;    /* context whose memory parameters go to (model/param.h); NULL: host */
    void (*alive)(void *arg); /* called before each tensor read (the watchdog), or NULL */
    void *alive_arg;
} WeightFile;

typedef struct {
    int ndim;
    int64_t shape[4];
    Dtype dtype;
} TensorInfo;

void wf_open(WeightFile *wf, const char *path);
void wf_close(WeightFile *wf);

int wf_has_attr(const WeightFile *wf, const char *name);
int64_t wf_attr_int(const WeightFile *wf, const char *name);
double wf_attr_real(const WeightFile *wf, const char *name);
void wf_attr_reals(const WeightFile *wf, const char *name, double *out, int n);
char *wf_attr_str(const WeightFile *wf, const char *name); /* malloc'd */

int wf_has(const WeightFile *wf, const char *name);
/* Fails unless the tensor exists. */
TensorInfo wf_info(const WeightFile *wf, const char *name);

/* Reads a tensor whose shape must equal shape[0..ndim). Along dimension `dim`
 * only [start, start+count) is read (dim = -1: everything). out is a dense
 * float32 array of the selected block, row-major. A NaN or infinity in the
 * block is an error naming the file, the tensor, the value and its index. */
void wf_read(WeightFile *wf, const char *name, int ndim, const int64_t *shape, int dim,
             int64_t start, int64_t count, float *out);
/* Reads a whole tensor in slices and counts its NaN and infinite values;
 * first gets "nan at [3, 17]" for the first one ("" when none). */
int64_t wf_count_nonfinite(WeightFile *wf, const char *name, char *first, size_t first_cap);

/* Lists every dataset name in the root group (for inspect); returns count. */
int wf_list(const WeightFile *wf, char ***names);

/* Raw reads of the tokenizer group. */
void *wf_read_raw(const WeightFile *wf, const char *name, int64_t *n, int elem_size);
int64_t wf_group_attr_int(const WeightFile *wf, const char *group, const char *name,
                          int64_t fallback);

#endif
