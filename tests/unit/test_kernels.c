/* The CPU kernels against plain reference loops, and the determinism
 * contract held on them directly: the GEMM gives each output element the
 * value of one fused multiply-add chain over k (checked bit for bit against
 * a scalar fmaf loop), for every instruction-set variant this CPU runs,
 * every held precision, odd shapes (narrow last panel, edge row tiles, k
 * blocks), strides, thread counts, and whatever rows come with it. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/ctx.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "kernels/weight.h"
#include "test.h"
#include "util/check.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static int bits_equal(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof(float)) == 0;
}

/* The contract's definition of one output element. */
static float chain(const float *x, const float *wrow, int K, float bias, int has_bias) {
    float acc = 0.0f;
    for (int k = 0; k < K; k++) acc = fmaf(x[k], wrow[k], acc);
    return has_bias ? acc + bias : acc;
}

static void check_gemm(Isa isa, Dtype dt, int M, int K, int N, int threads, int use_bias) {
    float *x = hl_malloc((size_t)M * K * sizeof(float) + 4);
    float *w = hl_malloc((size_t)N * K * sizeof(float) + 4);
    float *wr = hl_malloc((size_t)N * K * sizeof(float) + 4); /* w rounded to dt */
    float *b = hl_malloc((size_t)N * sizeof(float) + 4);
    float *y = hl_malloc((size_t)M * N * sizeof(float) + 4);
    float *y1 = hl_malloc((size_t)(N > K ? N : K) * sizeof(float) + 4);
    for (long i = 0; i < (long)M * K; i++) x[i] = frand();
    for (long i = 0; i < (long)N * K; i++) {
        w[i] = frand();
        uint16_t h = dt == DT_BF16 ? hl_float_to_bf16(w[i]) : hl_float_to_half(w[i]);
        wr[i] = dt == DT_F32 ? w[i] : dt == DT_BF16 ? hl_bf16_to_float(h) : hl_half_to_float(h);
    }
    for (int j = 0; j < N; j++) b[j] = frand();
    Weight W;
    weight_pack(&W, dt, w, N, K, (size_t)K);
    Ctx ctx = ctx_cpu(threads, isa);
    gemm(&ctx, y, x, &W, use_bias ? b : NULL, M);
    int bad = 0;
    for (int m = 0; m < M && !bad; m++)
        for (int j = 0; j < N && !bad; j++) {
            float want = chain(x + (size_t)m * K, wr + (size_t)j * K, K, b[j], use_bias);
            float got = y[(size_t)m * N + j];
            if (memcmp(&want, &got, sizeof got)) {
                bad = 1;
                EXPECT(0, "%s %s M=%d K=%d N=%d t=%d: y[%d][%d] = %.9g, chain %.9g", isa_name(isa),
                       dtype_name(dt), M, K, N, threads, m, j, got, want);
            }
        }
    if (!bad) EXPECT(1, "ok");
    /* the last row alone gives the same bits as inside the batch */
    gemm(&ctx, y1, x + (size_t)(M - 1) * K, &W, use_bias ? b : NULL, 1);
    EXPECT(bits_equal(y1, y + (size_t)(M - 1) * N, (size_t)N),
           "%s %s M=%d K=%d N=%d: row alone differs", isa_name(isa), dtype_name(dt), M, K, N);
    /* every row of W comes back from the panels */
    int rows_ok = 1;
    for (int j = 0; j < N && rows_ok; j++) {
        weight_rows(&ctx, &W, &j, 1, y1);
        rows_ok = bits_equal(y1, wr + (size_t)j * K, (size_t)K);
    }
    EXPECT(rows_ok, "%s M=%d K=%d N=%d: weight_rows differs", dtype_name(dt), M, K, N);
    weight_free(&ctx, &W);
    free(x), free(w), free(wr), free(b), free(y), free(y1);
}

/* Row strides wider than the matrix: a sub-block of a wider buffer. */
static void check_strided(Isa isa) {
    const int M = 7, K = 40, N = 37, ldx = 53, ldy = 61;
    float *x = hl_calloc((size_t)M * ldx, sizeof(float)), *w = hl_malloc((size_t)N * K * 4);
    float *y = hl_malloc((size_t)M * ldy * 4), *yd = hl_malloc((size_t)M * N * 4);
    float *xd = hl_malloc((size_t)M * K * 4);
    for (int i = 0; i < M * ldx; i++) x[i] = frand();
    for (int i = 0; i < N * K; i++) w[i] = frand();
    for (int m = 0; m < M; m++) memcpy(xd + m * K, x + m * ldx, (size_t)K * 4);
    for (int i = 0; i < M * ldy; i++) y[i] = 12345.0f;
    Weight W;
    weight_pack(&W, DT_F32, w, N, K, (size_t)K);
    Ctx ctx = ctx_cpu(2, isa);
    gemm_strided(&ctx, y, ldy, x, ldx, &W, NULL, M);
    gemm(&ctx, yd, xd, &W, NULL, M);
    int ok = 1;
    for (int m = 0; m < M; m++) {
        ok &= bits_equal(y + m * ldy, yd + m * N, (size_t)N);
        for (int j = N; j < ldy; j++) ok &= y[m * ldy + j] == 12345.0f;
    }
    EXPECT(ok, "%s: strided product differs or writes outside its columns", isa_name(isa));
    weight_free(&ctx, &W);
    free(x), free(w), free(y), free(yd), free(xd);
}

static void check_dtype_round_trip(void) {
    /* narrowing is round-to-nearest-even; widening is exact */
    EXPECT(hl_float_to_bf16(1.0f) == 0x3f80, "bf16(1)");
    EXPECT(hl_float_to_bf16(hl_bf16_to_float(0x3f81)) == 0x3f81, "bf16 round trip");
    uint32_t tie = 0x3f808000u; /* halfway between 0x3f80 and 0x3f81: to even */
    float f;
    memcpy(&f, &tie, 4);
    EXPECT(hl_float_to_bf16(f) == 0x3f80, "bf16 tie to even");
    int ok = 1;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaN payloads */
        ok &= hl_float_to_half(hl_half_to_float((uint16_t)h)) == h;
    }
    EXPECT(ok, "every f16 value survives f16 -> f32 -> f16");
    EXPECT(hl_float_to_half(65520.0f) == 0x7c00 && hl_float_to_half(65519.0f) == 0x7bff,
           "f16 overflow boundary");
    EXPECT(hl_float_to_half(5.9604645e-08f) == 0x0001 && hl_float_to_half(2.9802322e-08f) == 0,
           "f16 smallest subnormal and the tie below it");
}

/* What the CUDA GEMM assumes of the panel layout: in a full panel, k chunk
 * [k0, k0 + 16) is a row-major [16 k][16 columns] block at
 * weight_index(n, k, 16p, 0) + 16 k0 (tensor-core tiles load it as is). */
static void check_panel_chunks(void) {
    const int shapes[][2] = {{16, 16}, {48, 64}, {40, 48}, {33, 32}, {64, 4096}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int n = shapes[s][0], k = shapes[s][1], ok = 1;
        for (int p = 0; p < n / WEIGHT_PANEL; p++)
            for (int k0 = 0; k0 + 16 <= k; k0 += 16)
                for (int r = 0; r < 16; r++)
                    for (int c = 0; c < 16; c++)
                        ok &= weight_index(n, k, 16 * p + c, k0 + r) ==
                              weight_index(n, k, 16 * p, 0) + (size_t)16 * k0 + (size_t)16 * r + c;
        EXPECT(ok, "n=%d k=%d: a full panel's k chunks are not row-major 16x16 blocks", n, k);
    }
}

/* patch_rows against the convolution's own reading of the image. */
static void check_patch_rows(void) {
    const int S = 12, P = 4, G = 3, K = 3 * P * P;
    float px[3 * 12 * 12], cols[9 * 48];
    for (int i = 0; i < 3 * S * S; i++) px[i] = (float)i;
    Ctx ctx = ctx_cpu(1, ISA_GENERIC);
    patch_rows(&ctx, cols, px, S, P, G);
    int ok = 1;
    for (int gy = 0; gy < G; gy++)
        for (int gx = 0; gx < G; gx++)
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < P; y++)
                    for (int x = 0; x < P; x++)
                        ok &= cols[(gy * G + gx) * K + (ch * P + y) * P + x] ==
                              px[(ch * S + gy * P + y) * S + gx * P + x];
    EXPECT(ok, "patch_rows does not gather the patches in (channel, y, x) order");
}

int main(void) {
    check_dtype_round_trip();
    check_panel_chunks();
    check_patch_rows();
    Isa isas[3] = {ISA_GENERIC, ISA_AVX2, ISA_AVX512}, tmp;
    const int shapes[][3] = {{1, 1, 1},     {1, 8, 16},   {3, 24, 24},   {8, 36, 36}, {9, 40, 50},
                             {13, 300, 33}, {1, 520, 80}, {17, 257, 64}, {6, 64, 17}, {25, 600, 48},
                             {2, 1000, 31}, {64, 96, 40}, {300, 520, 50}};
    for (int i = 0; i < 3; i++) {
        if (isa_parse(isa_name(isas[i]), &tmp) != 0) {
            printf("%s: not supported by this CPU, skipped\n", isa_name(isas[i]));
            continue;
        }
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int d = 0; d < 3; d++)
                check_gemm(isas[i], (Dtype)d, shapes[s][0], shapes[s][1], shapes[s][2],
                           1 + (int)(s % 3), (int)(s % 2));
        check_strided(isas[i]);
    }
    return test_done("test_kernels");
}
