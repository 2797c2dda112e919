#include "kernels/weight.h"

#include <stdlib.h>

#include "util/check.h"

void weight_pack(Weight *w, Dtype dt, const float *src, int n, int k, size_t ld) {
    CHECK(n >= 0 && k >= 0);
    *w = (Weight){.dtype = dt, .n = n, .k = k};
    size_t bytes = (size_t)n * k * dtype_size(dt);
    w->data = hl_malloc(bytes ? bytes : 1);
    int panels = (n + WEIGHT_PANEL - 1) / WEIGHT_PANEL;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < panels; p++)
        for (int j = p * WEIGHT_PANEL; j < n && j < (p + 1) * WEIGHT_PANEL; j++)
            for (int kk = 0; kk < k; kk++)
                dtype_put(w->data, dt, weight_index(n, k, j, kk), src[(size_t)j * ld + kk]);
}

void weight_free(Weight *w) {
    free(w->data);
    w->data = NULL;
}

void weight_row(const Weight *w, int j, float *out) {
    CHECK(j >= 0 && j < w->n);
    for (int kk = 0; kk < w->k; kk++)
        out[kk] = dtype_get(w->data, w->dtype, weight_index(w->n, w->k, j, kk));
}
