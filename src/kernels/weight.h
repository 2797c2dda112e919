/* A weight matrix W [n, k] (PyTorch's [out, in]) held for the GEMM.
 *
 * Packed once at load into panels of WEIGHT_PANEL rows of W, k-major inside
 * a panel: panel p holds rows [16p, 16p + w_p) with element (j, kk) at
 * p * 16 * k + kk * w_p + (j - 16p), where w_p = 16 except for a last,
 * narrower panel when n is not a multiple of 16. So the kernel reads each
 * panel as one sequential stream, 16 output columns per k step, and the
 * memory held is exactly n * k elements. Elements stay at the held
 * precision (f32, f16 or bf16) and are widened to f32 inside the kernels. */
#ifndef HL_WEIGHT_H
#define HL_WEIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/ctx.h"
#include "util/dtype.h"

#define WEIGHT_PANEL 16

typedef struct {
    Dtype dtype;
    int n, k;
    void *data; /* panels, in the memory of the context that placed them */
} Weight;

/* Rows in panel p of an n-row matrix: 16, or fewer in the last. */
HL_HD static inline int weight_panel_width(int n, int p) {
    int w = n - p * WEIGHT_PANEL;
    return w < WEIGHT_PANEL ? w : WEIGHT_PANEL;
}

/* Element offset of W[j][kk] in the packed data. */
HL_HD static inline size_t weight_index(int n, int k, int j, int kk) {
    int p = j / WEIGHT_PANEL, w = weight_panel_width(n, p);
    return (size_t)p * WEIGHT_PANEL * k + (size_t)kk * w + (size_t)(j - p * WEIGHT_PANEL);
}

static inline size_t weight_bytes(const Weight *w) {
    return (size_t)w->n * w->k * dtype_size(w->dtype);
}

/* Packs src (n rows of k floats in host memory, row stride ld) into w at
 * precision dt, in host memory. */
void weight_pack(Weight *w, Dtype dt, const float *src, int n, int k, size_t ld);
/* Moves a host-packed w into the context's memory (no-op on the CPU). */
void weight_place(const Ctx *ctx, Weight *w);
/* weight_pack at f32 for src in context memory, packed in context memory
 * (the adapters a hypernetwork generates). */
void weight_pack_f32(const Ctx *ctx, Weight *w, const float *src, int n, int k, size_t ld);
void weight_free(const Ctx *ctx, Weight *w);
/* Rows ids[0..n) of W widened to f32 into out [n, k] (context memory); ids
 * in host memory (an embedding lookup). */
void weight_rows(const Ctx *ctx, const Weight *w, const int *ids, int n, float *out);

#endif
