#include "kernels/gemm.h"

#include "kernels/cuda.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define AINLINE inline __attribute__((always_inline))

/* One call of a microkernel: rows [0, mr) of A against np panels over kc
 * steps of k, into the C tile. */
typedef struct {
    const float *a; /* A[0][k0]; row i at a + i * lda */
    int lda;
    const void *b;  /* first panel at step k0 */
    size_t bstride; /* elements from one panel to the next */
    Dtype dt;
    float *c; /* C[0][column of the first panel]; row i at c + i * ldc */
    int ldc;
    int mr, np, kc;
    int first;         /* start from zero (first k block), else from C */
    const float *bias; /* added after the last k block (NULL: none) */
} Tile;

/* Any panel width (the narrow last panel, and the generic variant). fmaf is
 * the same correctly rounded operation as the vector FMA instructions. */
static AINLINE void ukr_generic_t(const Tile *t, int width) {
    CHECK(t->np == 1); /* the generic variant's tile is one panel wide */
    float c[16];
    for (int i = 0; i < t->mr; i++) {
        float *cp = t->c + (size_t)i * t->ldc;
        for (int j = 0; j < width; j++) c[j] = t->first ? 0.0f : cp[j];
        const float *a = t->a + (size_t)i * t->lda;
        for (int k = 0; k < t->kc; k++) {
            float ak = a[k];
            for (int j = 0; j < width; j++)
                c[j] = fmaf(ak, dtype_get(t->b, t->dt, (size_t)k * width + j), c[j]);
        }
        if (t->bias)
            for (int j = 0; j < width; j++) c[j] += t->bias[j];
        memcpy(cp, c, (size_t)width * sizeof(float));
    }
}

static void ukr_generic(const Tile *t, int width) {
    ukr_generic_t(t, width);
}

#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define T256 __attribute__((target("avx2,fma,f16c")))

T512 static AINLINE __m512 load16_512(const void *b, Dtype dt, size_t off) {
    if (dt == DT_F32) return _mm512_loadu_ps((const float *)b + off);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)b + off));
    if (dt == DT_BF16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
}

/* MR x (16 * NP) tile; every accumulator lane is one output element. */
T512 static AINLINE void ukr512_t(const Tile *t, const int MR, const int NP, const Dtype dt) {
    __m512 c[8][2];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int p = 0; p < NP; p++)
            c[i][p] = t->first ? _mm512_setzero_ps()
                               : _mm512_loadu_ps(t->c + (size_t)i * t->ldc + 16 * p);
    const float *a = t->a;
    const size_t lda = (size_t)t->lda, bs = t->bstride;
    for (int k = 0; k < t->kc; k++) {
        __m512 b0 = load16_512(t->b, dt, (size_t)k * 16);
        __m512 b1 = NP > 1 ? load16_512(t->b, dt, bs + (size_t)k * 16) : b0;
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i * lda + k]);
            c[i][0] = _mm512_fmadd_ps(ai, b0, c[i][0]);
            if (NP > 1) c[i][1] = _mm512_fmadd_ps(ai, b1, c[i][1]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int p = 0; p < NP; p++) {
            __m512 v = c[i][p];
            if (t->bias) v = _mm512_add_ps(v, _mm512_loadu_ps(t->bias + 16 * p));
            _mm512_storeu_ps(t->c + (size_t)i * t->ldc + 16 * p, v);
        }
}

/* The narrow last panel (width < 16 columns, k-major at stride width):
 * masked loads and stores, the same per-lane FMA chain as the full tiles
 * and ukr_generic, so the same bits. */
T512 static AINLINE __m512 load_narrow_512(const void *b, Dtype dt, size_t off, __mmask16 m) {
    if (dt == DT_F32) return _mm512_maskz_loadu_ps(m, (const float *)b + off);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)b + off);
    if (dt == DT_BF16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
}

T512 static AINLINE void ukr512_narrow_t(const Tile *t, int width, const Dtype dt) {
    const __mmask16 m = (__mmask16)((1u << width) - 1);
    const size_t lda = (size_t)t->lda, ldc = (size_t)t->ldc, w = (size_t)width;
    __m512 bias = t->bias ? _mm512_maskz_loadu_ps(m, t->bias) : _mm512_setzero_ps();
    for (int i0 = 0; i0 < t->mr; i0 += 4) {
        const int rows = t->mr - i0 < 4 ? t->mr - i0 : 4;
        __m512 c[4];
        for (int i = 0; i < rows; i++)
            c[i] = t->first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, t->c + (i0 + i) * ldc);
        const float *a = t->a + i0 * lda;
        for (int k = 0; k < t->kc; k++) {
            __m512 bk = load_narrow_512(t->b, dt, (size_t)k * w, m);
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                if (i < rows) c[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i * lda + k]), bk, c[i]);
        }
        for (int i = 0; i < rows; i++) {
            __m512 v = t->bias ? _mm512_add_ps(c[i], bias) : c[i];
            _mm512_mask_storeu_ps(t->c + (i0 + i) * ldc, m, v);
        }
    }
}

T512 static void ukr512_narrow(const Tile *t, int width) {
    if (t->dt == DT_F32)
        ukr512_narrow_t(t, width, DT_F32);
    else if (t->dt == DT_BF16)
        ukr512_narrow_t(t, width, DT_BF16);
    else
        ukr512_narrow_t(t, width, DT_F16);
}

#define UKR512_DT(MR, NP)                                                                          \
    T512 static void ukr512_##MR##_##NP(const Tile *t) {                                           \
        if (t->dt == DT_F32)                                                                       \
            ukr512_t(t, MR, NP, DT_F32);                                                           \
        else if (t->dt == DT_BF16)                                                                 \
            ukr512_t(t, MR, NP, DT_BF16);                                                          \
        else                                                                                       \
            ukr512_t(t, MR, NP, DT_F16);                                                           \
    }
#define UKR512_NP(MR) UKR512_DT(MR, 1) UKR512_DT(MR, 2)
UKR512_NP(1)
UKR512_NP(2)
UKR512_NP(3)
UKR512_NP(4)
UKR512_NP(5)
UKR512_NP(6)
UKR512_NP(7)
UKR512_NP(8)

static void (*const ukr512_table[8][2])(const Tile *) = {
    {ukr512_1_1, ukr512_1_2}, {ukr512_2_1, ukr512_2_2}, {ukr512_3_1, ukr512_3_2},
    {ukr512_4_1, ukr512_4_2}, {ukr512_5_1, ukr512_5_2}, {ukr512_6_1, ukr512_6_2},
    {ukr512_7_1, ukr512_7_2}, {ukr512_8_1, ukr512_8_2}};

static void ukr512(const Tile *t) {
    ukr512_table[t->mr - 1][t->np - 1](t);
}

T256 static AINLINE void load16_256(const void *b, Dtype dt, size_t off, __m256 *lo, __m256 *hi) {
    if (dt == DT_F32) {
        *lo = _mm256_loadu_ps((const float *)b + off);
        *hi = _mm256_loadu_ps((const float *)b + off + 8);
        return;
    }
    const __m128i *p = (const __m128i *)((const uint16_t *)b + off);
    __m128i h0 = _mm_loadu_si128(p), h1 = _mm_loadu_si128(p + 1);
    if (dt == DT_BF16) {
        *lo = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h0), 16));
        *hi = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h1), 16));
    } else {
        *lo = _mm256_cvtph_ps(h0);
        *hi = _mm256_cvtph_ps(h1);
    }
}

/* MR x 16 tile of two 8-lane halves. */
T256 static AINLINE void ukr256_t(const Tile *t, const int MR, const Dtype dt) {
    __m256 c[6][2];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int h = 0; h < 2; h++)
            c[i][h] =
                t->first ? _mm256_setzero_ps() : _mm256_loadu_ps(t->c + (size_t)i * t->ldc + 8 * h);
    const float *a = t->a;
    const size_t lda = (size_t)t->lda;
    for (int k = 0; k < t->kc; k++) {
        __m256 b0, b1;
        load16_256(t->b, dt, (size_t)k * 16, &b0, &b1);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i * lda + k);
            c[i][0] = _mm256_fmadd_ps(ai, b0, c[i][0]);
            c[i][1] = _mm256_fmadd_ps(ai, b1, c[i][1]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int h = 0; h < 2; h++) {
            __m256 v = c[i][h];
            if (t->bias) v = _mm256_add_ps(v, _mm256_loadu_ps(t->bias + 8 * h));
            _mm256_storeu_ps(t->c + (size_t)i * t->ldc + 8 * h, v);
        }
}

#define UKR256(MR)                                                                                 \
    T256 static void ukr256_##MR(const Tile *t) {                                                  \
        if (t->dt == DT_F32)                                                                       \
            ukr256_t(t, MR, DT_F32);                                                               \
        else if (t->dt == DT_BF16)                                                                 \
            ukr256_t(t, MR, DT_BF16);                                                              \
        else                                                                                       \
            ukr256_t(t, MR, DT_F16);                                                               \
    }
UKR256(1)
UKR256(2)
UKR256(3)
UKR256(4)
UKR256(5)
UKR256(6)

static void (*const ukr256_table[6])(const Tile *) = {ukr256_1, ukr256_2, ukr256_3,
                                                      ukr256_4, ukr256_5, ukr256_6};

/* One panel at a time: the tile loop hands AVX2 np = 1. */
static void ukr256(const Tile *t) {
    ukr256_table[t->mr - 1](t);
}

/* The narrow last panel on AVX2: ukr_generic compiled for FMA (fmaf inline,
 * not a library call). */
T256 static void ukr256_narrow(const Tile *t, int width) {
    ukr_generic_t(t, width);
}
#endif

static void ukr_generic_full(const Tile *t) {
    ukr_generic(t, WEIGHT_PANEL);
}

typedef struct {
    void (*ukr)(const Tile *);           /* full-width panels */
    void (*narrow)(const Tile *, int w); /* the narrow last panel, w columns */
    int mr, np;                          /* tile: rows, panels */
} Variant;

static Variant variant(Isa isa) {
#if defined(__x86_64__)
    if (isa == ISA_AVX512) return (Variant){ukr512, ukr512_narrow, 8, 2};
    if (isa == ISA_AVX2) return (Variant){ukr256, ukr256_narrow, 6, 1};
#endif
    (void)isa;
    return (Variant){ukr_generic_full, ukr_generic, 4, 1};
}

int gemm_tile_rows(Isa isa) {
    return variant(isa).mr;
}

void gemm_block(Isa isa, int mr, const float *a, int lda, const void *wdata, Dtype dt, int n,
                int kdim, int p0, int p1, int k0, int kc, float *c, int ldc, int first,
                const float *bias) {
    const Variant v = variant(isa);
    CHECK(mr >= 1 && mr <= v.mr && k0 >= 0 && kc >= 0 && k0 + kc <= kdim);
    const int full = n / WEIGHT_PANEL;
    const size_t es = dtype_size(dt), pstride = (size_t)WEIGHT_PANEL * kdim;
    Tile t = {.a = a + k0,
              .lda = lda,
              .bstride = pstride,
              .dt = dt,
              .ldc = ldc,
              .mr = mr,
              .kc = kc,
              .first = first};
    for (int p = p0; p < p1;) {
        int np = p1 - p < v.np ? p1 - p : v.np;
        if (p + np > full) np = p < full ? full - p : 0; /* full panels first */
        t.c = c + (size_t)p * WEIGHT_PANEL;
        t.bias = bias ? bias + (size_t)p * WEIGHT_PANEL : NULL;
        if (np == 0) { /* the narrow last panel */
            int width = weight_panel_width(n, p);
            t.np = 1;
            t.b = (const char *)wdata + ((size_t)p * pstride + (size_t)k0 * width) * es;
            v.narrow(&t, width);
            p++;
            continue;
        }
        t.np = np;
        t.b = (const char *)wdata + ((size_t)p * pstride + (size_t)k0 * WEIGHT_PANEL) * es;
        v.ukr(&t);
        p += np;
    }
}

/* dst[i] = src[off + i] widened to f32, for n elements (exact). */
static void widen_run(float *dst, const void *src, Dtype dt, size_t off, size_t n) {
    const uint16_t *h = (const uint16_t *)src + off;
    if (dt == DT_BF16)
        for (size_t i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)h[i] << 16;
            memcpy(dst + i, &bits, 4);
        }
    else
        for (size_t i = 0; i < n; i++) dst[i] = hl_half_to_float(h[i]);
}

/* Cache blocking: a k block of KC steps over a group of NB panels (KC * NB
 * * 16 elements, 256 KiB in f32) stays in L2 while the row tiles of an MC-row
 * block of x (256 KiB) pass over it; the x block stays in L2 while the panel
 * groups pass. */
enum { KC = 256, NB = 16, MC = 256 };

void gemm_strided(const Ctx *ctx, float *y, int ldy, const float *x, int ldx, const Weight *w,
                  const float *b, int M) {
    const int N = w->n, K = w->k;
    CHECK(ldx >= K && ldy >= N);
    if (M <= 0 || N <= 0) return;
    CUDA_TWIN(ctx, cuda_gemm(ctx->dev, y, ldy, x, ldx, w, b, M));
    if (K == 0) {
        for (int m = 0; m < M; m++)
            for (int j = 0; j < N; j++) y[(size_t)m * ldy + j] = b ? b[j] : 0.0f;
        return;
    }
    const Variant v = variant(ctx->isa);
    const int panels = (N + WEIGHT_PANEL - 1) / WEIGHT_PANEL;
    /* One row tile: no reuse of a weight block, so stream each panel whole. */
    const int kc_max = M <= v.mr ? K : KC;
    int threads = ctx->threads > 0 ? ctx->threads : 1;
    if (threads > panels) threads = panels;
    /* Contiguous panel ranges per thread, whole tiles of v.np panels each. */
    const int units = (panels + v.np - 1) / v.np, per = (units + threads - 1) / threads * v.np;
    /* Half-precision weights with several row tiles: each thread widens its
     * panels once per k block into f32 (exact) and reuses them for every row
     * tile. */
    const int widen = w->dtype != DT_F32 && M > v.mr;
    float *wbuf =
        widen ? hl_malloc((size_t)threads * KC * per * WEIGHT_PANEL * sizeof(float)) : NULL;
#pragma omp parallel num_threads(threads)
    {
        int tid = 0, nt = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num(), nt = omp_get_num_threads();
#endif
        const int u0 = (int)((long)units * tid / nt), u1 = (int)((long)units * (tid + 1) / nt);
        const int p_lo = u0 * v.np, p_hi = u1 * v.np < panels ? u1 * v.np : panels;
        CHECK(p_hi - p_lo <= per); /* OpenMP gave the threads asked for */
        /* widened, the thread's panels are their own [n, kc] panel-packed matrix */
        const int base = widen ? p_lo : 0;
        const int n =
            widen ? (p_hi * WEIGHT_PANEL < N ? p_hi * WEIGHT_PANEL : N) - base * WEIGHT_PANEL : N;
        float *blk = widen ? wbuf + (size_t)tid * KC * per * WEIGHT_PANEL : NULL;
        float *yb = y + (size_t)base * WEIGHT_PANEL;
        for (int k0 = 0; k0 < K && p_lo < p_hi; k0 += kc_max) {
            const int kc = K - k0 < kc_max ? K - k0 : kc_max;
            const float *bb = k0 + kc == K && b ? b + (size_t)base * WEIGHT_PANEL : NULL;
            if (widen)
                for (int p = p_lo; p < p_hi; p++) { /* each panel's k range is one run */
                    int width = weight_panel_width(N, p);
                    widen_run(blk + (size_t)(p - p_lo) * WEIGHT_PANEL * kc, w->data, w->dtype,
                              (size_t)p * WEIGHT_PANEL * K + (size_t)k0 * width,
                              (size_t)kc * width);
                }
            const void *wd = widen ? (const void *)blk : w->data;
            const Dtype dt = widen ? DT_F32 : w->dtype;
            const int kd = widen ? kc : K, kb = widen ? 0 : k0;
            for (int mb = 0; mb < M; mb += MC) {
                const int me = mb + MC < M ? mb + MC : M;
                for (int pb = p_lo; pb < p_hi; pb += NB) {
                    const int pe = pb + NB < p_hi ? pb + NB : p_hi;
                    for (int m0 = mb; m0 < me; m0 += v.mr) {
                        const int mr = me - m0 < v.mr ? me - m0 : v.mr;
                        const float *xa = x + (size_t)m0 * ldx + (widen ? k0 : 0);
                        gemm_block(ctx->isa, mr, xa, ldx, wd, dt, n, kd, pb - base, pe - base, kb,
                                   kc, yb + (size_t)m0 * ldy, ldy, k0 == 0, bb);
                    }
                }
            }
        }
    }
    free(wbuf);
}

void gemm(const Ctx *ctx, float *y, const float *x, const Weight *w, const float *b, int M) {
    gemm_strided(ctx, y, w->n, x, w->k, w, b, M);
}
