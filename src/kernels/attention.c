#include "kernels/attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "util/check.h"

void attention(float *out, const float *q, const float *k, const float *v, int n_q, int q_pos0,
               int n_kv, int n_heads, int head_dim, int q_stride, int kv_stride, int causal) {
    const float scale = 1.0f / sqrtf((float)head_dim);
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < n_q; i++) {
        for (int h = 0; h < n_heads; h++) {
            int len = causal ? q_pos0 + i + 1 : n_kv;
            float *att = hl_malloc((size_t)len * sizeof(float));
            const float *qh = q + (long)i * q_stride + (long)h * head_dim;
            for (int t = 0; t < len; t++)
                att[t] =
                    dot_fixed(qh, k + (long)t * kv_stride + (long)h * head_dim, head_dim) * scale;
            softmax(att, len);
            float *oh = out + (long)i * q_stride + (long)h * head_dim;
            memset(oh, 0, (size_t)head_dim * sizeof(float));
            for (int t = 0; t < len; t++) {
                const float *vh = v + (long)t * kv_stride + (long)h * head_dim;
                float a = att[t];
                for (int d = 0; d < head_dim; d++) oh[d] += a * vh[d];
            }
            free(att);
        }
    }
}
