#include "kernels/matmul.h"

#include <stddef.h>

/* 8-lane vectors as plain values inside this file; no ABI crosses it. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v8 __attribute__((vector_size(32)));

static inline v8 load8(const float *p) {
    v8 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

/* The fixed reduction tree of the 8 lanes. */
static inline float reduce8(v8 a) {
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

float dot_fixed(const float *a, const float *b, int n) {
    v8 acc = {0};
    int k = 0;
    for (; k + 8 <= n; k += 8) acc += load8(a + k) * load8(b + k);
    float s = reduce8(acc);
    for (; k < n; k++) s += a[k] * b[k];
    return s;
}

/* Four rows against one weight row: the same per-element operations as
 * dot_fixed, sharing the weight loads. */
static inline void dot4(const float *x, size_t ldx, const float *w, int K, float out[4]) {
    v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        v8 wv = load8(w + k);
        a0 += load8(x + k) * wv;
        a1 += load8(x + ldx + k) * wv;
        a2 += load8(x + 2 * ldx + k) * wv;
        a3 += load8(x + 3 * ldx + k) * wv;
    }
    float s0 = reduce8(a0), s1 = reduce8(a1), s2 = reduce8(a2), s3 = reduce8(a3);
    for (; k < K; k++) {
        s0 += x[k] * w[k];
        s1 += x[ldx + k] * w[k];
        s2 += x[2 * ldx + k] * w[k];
        s3 += x[3 * ldx + k] * w[k];
    }
    out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

static void matmul_impl(float *y, const float *x, const float *w, const float *b, int M, int K,
                        int N, int acc) {
    const size_t ldx = (size_t)K;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *wr = w + (size_t)n * K;
        float bias = b ? b[n] : 0.0f;
        int m = 0;
        for (; m + 4 <= M; m += 4) {
            float s[4];
            dot4(x + (size_t)m * ldx, ldx, wr, K, s);
            for (int i = 0; i < 4; i++) {
                float *yp = y + (size_t)(m + i) * N + n;
                *yp = acc ? *yp + s[i] : s[i] + bias;
            }
        }
        for (; m < M; m++) {
            float s = dot_fixed(x + (size_t)m * ldx, wr, K);
            float *yp = y + (size_t)m * N + n;
            *yp = acc ? *yp + s : s + bias;
        }
    }
}

void matmul(float *y, const float *x, const float *w, const float *b, int M, int K, int N) {
    matmul_impl(y, x, w, b, M, K, N, 0);
}

void matmul_acc(float *y, const float *x, const float *w, int M, int K, int N) {
    matmul_impl(y, x, w, NULL, M, K, N, 1);
}
