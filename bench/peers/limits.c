/* The machine's own limits, for bench/peers: fp32 FMA throughput and memory
 * bandwidth on 1 and N threads. Prints one JSON object on stdout.
 *
 *   cc -O2 -march=native -pthread bench/peers/limits.c -o limits
 *   ./limits [--threads 2] [--seconds 0.5] [--mib 128]
 *
 * FMA: each thread runs a loop of independent vector FMAs on registers
 * (AVX-512 where the compiler targets it, AVX2+FMA where it does, and scalar
 * C otherwise), 2 flops per lane per FMA; the best of 3 timed runs.
 * Memory: each thread memcpy()s its own 128 MiB block (copy, counted as bytes
 * read + written, STREAM's convention) and sums another (read); best of 5.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* 12 independent accumulators in registers: enough to cover FMA latency x
 * ports. Named variables, not an array: at -O2 an array stays in memory. */
enum { ACC = 12 };
#define ACC_DECL(T, SET)                                                                           \
    T c0 = SET(0), c1 = SET(1), c2 = SET(2), c3 = SET(3), c4 = SET(4), c5 = SET(5), c6 = SET(6),   \
      c7 = SET(7), c8 = SET(8), c9 = SET(9), c10 = SET(10), c11 = SET(11);
#define ACC_STEP(FMA)                                                                              \
    c0 = FMA(c0, a, b), c1 = FMA(c1, a, b), c2 = FMA(c2, a, b), c3 = FMA(c3, a, b);                \
    c4 = FMA(c4, a, b), c5 = FMA(c5, a, b), c6 = FMA(c6, a, b), c7 = FMA(c7, a, b);                \
    c8 = FMA(c8, a, b), c9 = FMA(c9, a, b), c10 = FMA(c10, a, b), c11 = FMA(c11, a, b);
#define ACC_SUM(ADD)                                                                               \
    c0 = ADD(ADD(ADD(c0, c1), ADD(c2, c3)), ADD(ADD(c4, c5), ADD(c6, c7)));                        \
    c0 = ADD(c0, ADD(ADD(c8, c9), ADD(c10, c11)));
#define SCALAR_FMA(x, y, z) ((x) * (y) + (z))
#define SCALAR_ADD(x, y) ((x) + (y))

typedef struct {
    int kind; /* 0 scalar, 1 avx2, 2 avx512 */
    long iters;
    float sink;
    double flops;
} FmaJob;

static void *fma_thread(void *p) {
    FmaJob *j = p;
    float sink = 0;
    if (j->kind == 2) {
#ifdef __AVX512F__
        __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
        ACC_DECL(__m512, _mm512_set1_ps)
        for (long i = 0; i < j->iters; i++) {
            ACC_STEP(_mm512_fmadd_ps)
        }
        ACC_SUM(_mm512_add_ps)
        sink = _mm512_reduce_add_ps(c0);
        j->flops = 2.0 * 16 * ACC * (double)j->iters;
#endif
    } else if (j->kind == 1) {
#if defined(__AVX2__) && defined(__FMA__)
        __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
        ACC_DECL(__m256, _mm256_set1_ps)
        for (long i = 0; i < j->iters; i++) {
            ACC_STEP(_mm256_fmadd_ps)
        }
        ACC_SUM(_mm256_add_ps)
        float t[8];
        _mm256_storeu_ps(t, c0);
        for (int k = 0; k < 8; k++) sink += t[k];
        j->flops = 2.0 * 8 * ACC * (double)j->iters;
#endif
    } else {
        float a = 0.999999f, b = 1e-7f;
        ACC_DECL(float, (float))
        for (long i = 0; i < j->iters; i++) {
            ACC_STEP(SCALAR_FMA)
        }
        ACC_SUM(SCALAR_ADD)
        sink = c0;
        j->flops = 2.0 * ACC * (double)j->iters;
    }
    j->sink = sink;
    return NULL;
}

/* GFLOP/s of `threads` threads running the loop for `iters` iterations each. */
static double fma_run(int kind, int threads, long iters) {
    pthread_t t[64];
    FmaJob j[64];
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        j[i] = (FmaJob){kind, iters, 0, 0};
        pthread_create(&t[i], NULL, fma_thread, &j[i]);
    }
    double flops = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        flops += j[i].flops;
    }
    double dt = now() - t0;
    if (j[0].sink == 12345.678f) fprintf(stderr, "?");
    return flops / dt * 1e-9;
}

static double fma_best(int kind, int threads, double seconds) {
    long iters = 1 << 16;
    for (;;) { /* calibrate on one thread: about `seconds` per run */
        double t0 = now();
        fma_run(kind, 1, iters);
        double dt = now() - t0;
        if (dt > seconds / 4 || iters > (1L << 40)) {
            iters = (long)((double)iters * seconds / (dt > 0 ? dt : 1e-9));
            break;
        }
        iters *= 4;
    }
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double g = fma_run(kind, threads, iters);
        if (g > best) best = g;
    }
    return best;
}

typedef struct {
    int op; /* 0 copy, 1 read */
    char *src, *dst;
    size_t bytes;
    double sum;
} MemJob;

static void *mem_thread(void *p) {
    MemJob *j = p;
    if (j->op == 0) {
        memcpy(j->dst, j->src, j->bytes);
    } else {
        const double *s = (const double *)j->src;
        size_t n = j->bytes / sizeof(double);
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        for (size_t i = 0; i + 8 <= n; i += 8) {
            a0 += s[i];
            a1 += s[i + 1];
            a2 += s[i + 2];
            a3 += s[i + 3];
            a4 += s[i + 4];
            a5 += s[i + 5];
            a6 += s[i + 6];
            a7 += s[i + 7];
        }
        j->sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    }
    return NULL;
}

/* GB/s (1e9 bytes) of `threads` threads, best of 5; copy counts read + write. */
static double mem_best(int op, int threads, char **src, char **dst, size_t bytes) {
    double best = 0;
    for (int r = 0; r < 5; r++) {
        pthread_t t[64];
        MemJob j[64];
        double t0 = now();
        for (int i = 0; i < threads; i++) {
            j[i] = (MemJob){op, src[i], dst[i], bytes, 0};
            pthread_create(&t[i], NULL, mem_thread, &j[i]);
        }
        for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
        double dt = now() - t0;
        double moved = (double)bytes * threads * (op == 0 ? 2 : 1);
        if (j[0].sum == 12345.678) fprintf(stderr, "?");
        if (moved / dt * 1e-9 > best) best = moved / dt * 1e-9;
    }
    return best;
}

int main(int argc, char **argv) {
    int threads = 2;
    double seconds = 0.5;
    size_t mib = 128;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--threads N] [--seconds S] [--mib M]\n", argv[0]);
            return 2;
        }
    }
    if (threads < 1 || threads > 64) threads = 2;
    int kinds[3], nk = 0;
    const char *names[3] = {"scalar", "avx2_fma", "avx512f"};
    kinds[nk++] = 0;
#if defined(__AVX2__) && defined(__FMA__)
    kinds[nk++] = 1;
#endif
#ifdef __AVX512F__
    kinds[nk++] = 2;
#endif
    printf("{\n  \"threads\": [1, %d],\n  \"fma_gflops\": {", threads);
    double peak1 = 0, peakn = 0;
    for (int k = 0; k < nk; k++) {
        double g1 = fma_best(kinds[k], 1, seconds), gn = fma_best(kinds[k], threads, seconds);
        if (g1 > peak1) peak1 = g1;
        if (gn > peakn) peakn = gn;
        printf("%s\n    \"%s\": [%.2f, %.2f]", k ? "," : "", names[kinds[k]], g1, gn);
    }
    printf("\n  },\n  \"fma_peak_gflops\": [%.2f, %.2f],\n", peak1, peakn);

    size_t bytes = mib << 20;
    char *src[64], *dst[64];
    for (int i = 0; i < threads; i++) {
        src[i] = aligned_alloc(4096, bytes);
        dst[i] = aligned_alloc(4096, bytes);
        if (!src[i] || !dst[i]) {
            fprintf(stderr, "limits: out of memory\n");
            return 1;
        }
        memset(src[i], 1, bytes);
        memset(dst[i], 2, bytes);
    }
    double c1 = mem_best(0, 1, src, dst, bytes), cn = mem_best(0, threads, src, dst, bytes);
    double r1 = mem_best(1, 1, src, dst, bytes), rn = mem_best(1, threads, src, dst, bytes);
    printf("  \"copy_gbps\": [%.2f, %.2f],\n  \"read_gbps\": [%.2f, %.2f],\n", c1, cn, r1, rn);
    printf("  \"block_mib\": %zu\n}\n", mib);
    for (int i = 0; i < threads; i++) {
        free(src[i]);
        free(dst[i]);
    }
    return 0;
}
