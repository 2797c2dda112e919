#include "kernels/ops.h"

#include <math.h>
#include <string.h>

#include "kernels/cuda.h"
#include "util/check.h"

/* 16-lane vectors as plain values inside this file; the compiler maps them
 * to whatever registers the target has. Only IEEE add, mul, div and compares
 * (never contracted: -ffp-contract=off), so the lanes compute exactly what
 * scalar code would. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

static inline v16 load16(const float *p) {
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void store16(float *p, v16 v) {
    memcpy(p, &v, sizeof v);
}
static inline v16 splat(float f) {
    return (v16){f, f, f, f, f, f, f, f, f, f, f, f, f, f, f, f};
}
static inline v16 select16(v16i m, v16 a, v16 b) { /* m ? a : b */
    return (v16)((m & (v16i)a) | (~m & (v16i)b));
}

/* Hot loops are built for three x86-64 levels and picked when the program
 * starts; the lanes do the same IEEE operations at every level, so the
 * choice changes speed only. */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

/* The fixed tree of the 16 lanes. */
static inline float reduce16(v16 a) {
    float s[8];
    for (int i = 0; i < 8; i++) s[i] = a[i] + a[i + 8];
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

/* Sum of x[i] * y[i] (y == NULL: of x[i]) in the lane order of this file. */
static inline float lane_sum(const float *x, const float *y, int n) {
    v16 acc = splat(0.0f);
    int i = 0;
    for (; i + 16 <= n; i += 16) acc += y ? load16(x + i) * load16(y + i) : load16(x + i);
    for (int j = 0; i < n; i++, j++) acc[j] += y ? x[i] * y[i] : x[i];
    return reduce16(acc);
}

/* exp by Cody-Waite reduction to r in [-ln2/2, ln2/2] and a degree-7
 * polynomial (Cephes' expf coefficients); 0 below -87.33, inf above 88.3. */
static inline __attribute__((always_inline)) v16 exp16(v16 x) {
    v16i hi = x > splat(88.3f), lo = x < splat(-87.33f), nan = x != x;
    v16 xc = select16(hi, splat(88.3f), select16(lo, splat(-87.33f), x));
    v16 fx = xc * splat(1.44269504088896341f) + splat(0.5f);
    v16 fl = __builtin_convertvector(__builtin_convertvector(fx, v16i), v16);
    fl -= select16(fl > fx, splat(1.0f), splat(0.0f)); /* floor */
    v16 r = xc - fl * splat(0.693359375f);
    r = r - fl * splat(-2.12194440e-4f);
    v16 p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    v16 y = p * (r * r) + r + splat(1.0f);
    v16i e = (__builtin_convertvector(fl, v16i) + 127) << 23;
    y = y * (v16)e;
    y = select16(hi, splat(INFINITY), select16(lo, splat(0.0f), y));
    return select16(nan, x, y);
}

float exp_kernel(float x) {
    return exp16(splat(x))[0];
}

/* f(x[i..i+16)) in place, the tail through a padded vector. */
#define MAP16(x, n, f)                                                                             \
    do {                                                                                           \
        long i_ = 0;                                                                               \
        for (; i_ + 16 <= (n); i_ += 16) store16((x) + i_, f(load16((x) + i_)));                   \
        if (i_ < (n)) {                                                                            \
            float t_[16] = {0};                                                                    \
            memcpy(t_, (x) + i_, (size_t)((n)-i_) * sizeof(float));                                \
            store16(t_, f(load16(t_)));                                                            \
            memcpy((x) + i_, t_, (size_t)((n)-i_) * sizeof(float));                                \
        }                                                                                          \
    } while (0)

static inline v16 silu16(v16 x) {
    return x / (splat(1.0f) + exp16(-x));
}
static inline v16 qgelu16(v16 x) {
    return x / (splat(1.0f) + exp16(splat(-1.702f) * x));
}

/* Element-wise work over threads in chunks of whole vectors. */
static int chunks(const Ctx *ctx, long n) {
    int t = ctx && ctx->threads > 0 ? ctx->threads : 1;
    return n < 65536 ? 1 : t;
}

void layernorm(const Ctx *ctx, float *out, const float *x, const float *w, const float *b, int M,
               int N, float eps) {
    CUDA_TWIN(ctx, cuda_layernorm(ctx->dev, out, x, w, b, M, N, eps));
#pragma omp parallel for schedule(static) num_threads(chunks(ctx, (long)M *N))
    for (int m = 0; m < M; m++) {
        const float *r = x + (long)m * N;
        float *o = out + (long)m * N;
        float mu = lane_sum(r, NULL, N) / (float)N;
        v16 acc = splat(0.0f);
        int i = 0;
        for (; i + 16 <= N; i += 16) {
            v16 dv = load16(r + i) - splat(mu);
            acc += dv * dv;
        }
        for (int j = 0; i < N; i++, j++) acc[j] += (r[i] - mu) * (r[i] - mu);
        float var = reduce16(acc) / (float)N;
        float rstd = 1.0f / sqrtf(var + eps);
        for (i = 0; i < N; i++) o[i] = (r[i] - mu) * rstd * w[i] + b[i];
    }
}

void rmsnorm(const Ctx *ctx, float *out, const float *x, const float *w, int M, int N, float eps) {
    CUDA_TWIN(ctx, cuda_rmsnorm(ctx->dev, out, x, w, M, N, eps));
#pragma omp parallel for schedule(static) num_threads(chunks(ctx, (long)M *N))
    for (int m = 0; m < M; m++) {
        const float *r = x + (long)m * N;
        float *o = out + (long)m * N;
        float scale = 1.0f / sqrtf(lane_sum(r, r, N) / (float)N + eps);
        for (int i = 0; i < N; i++) o[i] = w[i] * (r[i] * scale);
    }
}

void gelu_erf(const Ctx *ctx, float *x, long n) {
    CUDA_TWIN(ctx, cuda_activation(ctx->dev, CUDA_GELU_ERF, x, n));
    for (long i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

CLONES static void qgelu_rows(float *x, long n) {
    MAP16(x, n, qgelu16);
}

CLONES static void silu_rows(float *x, long n) {
    MAP16(x, n, silu16);
}

void quick_gelu(const Ctx *ctx, float *x, long n) {
    CUDA_TWIN(ctx, cuda_activation(ctx->dev, CUDA_QUICK_GELU, x, n));
    int t = chunks(ctx, n);
    long step = (n / t + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(t)
    for (int c = 0; c < t; c++) {
        long a = c * step, e = a + step < n ? a + step : n;
        if (a < e) qgelu_rows(x + a, e - a);
    }
}

void silu(const Ctx *ctx, float *x, long n) {
    CUDA_TWIN(ctx, cuda_activation(ctx->dev, CUDA_SILU, x, n));
    silu_rows(x, n);
}

void swiglu(const Ctx *ctx, float *gate, const float *up, long n) {
    CUDA_TWIN(ctx, cuda_swiglu(ctx->dev, gate, up, n));
    int t = chunks(ctx, n);
    long step = (n / t + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(t)
    for (int c = 0; c < t; c++) {
        long a = c * step, e = a + step < n ? a + step : n;
        if (a >= e) continue;
        silu_rows(gate + a, e - a);
        for (long i = a; i < e; i++) gate[i] *= up[i];
    }
}

void add_inplace(const Ctx *ctx, float *y, const float *x, long n) {
    CUDA_TWIN(ctx, cuda_add(ctx->dev, y, x, n));
    for (long i = 0; i < n; i++) y[i] += x[i];
}

void add_rows(const Ctx *ctx, float *y, const float *b, int M, int N) {
    CUDA_TWIN(ctx, cuda_add_rows(ctx->dev, y, b, M, N));
    for (int m = 0; m < M; m++)
        for (int j = 0; j < N; j++) y[(long)m * N + j] += b[j];
}

void add_block(const Ctx *ctx, float *y, int ldy, const float *x, int ldx, int M, int N) {
    CUDA_TWIN(ctx, cuda_add_block(ctx->dev, y, ldy, x, ldx, M, N));
    for (int m = 0; m < M; m++)
        for (int j = 0; j < N; j++) y[(long)m * ldy + j] += x[(long)m * ldx + j];
}

void mean_rms(const Ctx *ctx, const float *rows, int n_rows, int dim, float eps, float *g) {
    CUDA_TWIN(ctx, cuda_mean_rms(ctx->dev, rows, n_rows, dim, eps, g));
    for (int j = 0; j < dim; j++) {
        float s = 0;
        for (int i = 0; i < n_rows; i++) s += rows[(long)i * dim + j];
        g[j] = s / (float)n_rows;
    }
    float ms = 0;
    for (int j = 0; j < dim; j++) ms += g[j] * g[j];
    float inv = 1.0f / sqrtf(ms / (float)dim + eps);
    for (int j = 0; j < dim; j++) g[j] *= inv;
}

void patch_rows(const Ctx *ctx, float *cols, const float *px, int S, int P, int G) {
    CUDA_TWIN(ctx, cuda_patch_rows(ctx->dev, cols, px, S, P, G));
    const int K = 3 * P * P;
    for (int p = 0; p < G * G; p++)
        for (int c = 0; c < K; c += P) /* one run of P pixels per (channel, y) */
            memcpy(cols + (size_t)p * K + c, px + patch_src_index(S, P, G, p, c),
                   (size_t)P * sizeof(float));
}

/* Lanes below k set. */
static inline __attribute__((always_inline)) v16i first_lanes(int k) {
    const v16i idx = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    return idx < (v16i){k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k};
}

/* In whole vectors over the padded row. The maximum is exact in any order
 * (a NaN at x[0] stays, one elsewhere is never taken, as in a scalar loop);
 * the lanes past n take part as x[0] in the maximum and as +0 in the sum,
 * which changes neither, so the sum is lane_sum's. */
CLONES void softmax(float *x, int n, float scale) {
    const int np = (n + 15) & ~15;
    const v16 sc = splat(scale), x0 = splat(x[0] * scale);
    v16 m16 = x0;
    for (int i = 0; i < np; i += 16) {
        v16 v = select16(first_lanes(n - i), load16(x + i) * sc, x0);
        m16 = select16(v > m16, v, m16);
        store16(x + i, v);
    }
    float mx = x[0];
    for (int j = 0; j < 16; j++) mx = m16[j] > mx ? m16[j] : mx;
    v16 acc = splat(0.0f);
    for (int i = 0; i < np; i += 16) {
        v16 e = select16(first_lanes(n - i), exp16(load16(x + i) - splat(mx)), splat(0.0f));
        store16(x + i, e);
        acc += e;
    }
    const v16 inv = splat(1.0f / reduce16(acc));
    for (int i = 0; i < np; i += 16) store16(x + i, load16(x + i) * inv);
}

void rope_freqs(int head_dim, float theta, float *inv_freq) {
    CHECK(head_dim / 2 <= ROPE_MAX_HALF);
    /* float32 as transformers computes inv_freq (and then the angle) */
    for (int i = 0; i < head_dim / 2; i++)
        inv_freq[i] = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
}

void rope(const Ctx *ctx, float *x, int n_rows, int ld, int pos0, int n_heads, int head_dim,
          const float *inv_freq) {
    const int half = head_dim / 2;
    CUDA_TWIN(ctx, cuda_rope(ctx->dev, x, n_rows, ld, pos0, n_heads, head_dim, inv_freq));
#pragma omp parallel for schedule(static) num_threads(chunks(ctx, (long)n_rows *ld))
    for (int r = 0; r < n_rows; r++) {
        float *row = x + (long)r * ld;
        for (int i = 0; i < half; i++) {
            float ang = (float)(pos0 + r) * inv_freq[i];
            float c = cosf(ang), s = sinf(ang);
            for (int h = 0; h < n_heads; h++) {
                float *p = row + (long)h * head_dim;
                float a = p[i], b = p[i + half];
                p[i] = a * c - b * s;
                p[i + half] = b * c + a * s;
            }
        }
    }
}

int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}
