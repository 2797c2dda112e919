/* The rates plan's cost model needs
 * (docs/plan.md), measured on the node in a few seconds with every rank busy
 * at once, as in a run:
 *   GEMM       a 512-row product with a 2048 x 2048 weight, the shape of a
 *              prefill, repeated for about a second: GFLOP/s per rank;
 *   streaming  one-row products over 256 MiB of f32 weights (128 MiB at
 *              bf16 / f16), far beyond the caches, as a decode step reads
 *              them: GB/s of weight bytes per rank, with every rank
 *              streaming and (two ranks or more) with rank 0 alone, as a
 *              pipeline's decode has only some stages busy;
 *   attention  causal attention, 4 heads, of 256 rows over their 256 keys
 *              at head_dim 16 and 128, and of 32 rows at 16: the products'
 *              rate (4 head_dim operations per score), and the rest (the
 *              softmax) per score and per query row and head;
 *   row ops    RMS norms, RoPE, KV writes, residual adds and SwiGLU on 64
 *              rows of 1024 and 1024 rows of 64: per element and per row;
 *   messages   (two ranks or more) ranks 0 and 1 exchange 8-byte and 4 MiB
 *              messages through the engine's own point-to-point calls:
 *              latency (half a round trip) and bandwidth.
 * The slowest rank's rates are written, since it paces the pipeline. */
#include "run/calibrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comm/comm.h"
#include "kernels/attention.h"
#include "kernels/ctx.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "kernels/weight.h"
#include "run/cost.h"
#include "util/check.h"

/* Deterministic values in [-0.5, 0.5). */
static void fill(float *v, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)(seed >> 8) / (float)(1u << 24) - 0.5f;
    }
}

/* Calls f until at least `budget` seconds have passed (and at least twice);
 * returns seconds per call. */
typedef void (*Work)(void *ctx);
static double per_call(Work f, void *ctx, double budget) {
    f(ctx); /* warm-up */
    double t0 = comm_wtime(), t;
    int n = 0;
    do {
        f(ctx);
        n++;
        t = comm_wtime() - t0;
    } while (t < budget || n < 2);
    return t / n;
}

typedef struct {
    Ctx ctx;
    Weight *w;
    int n_w;
    float *x, *y;
    int M;
} Gemm;

static void run_gemm(void *p) {
    Gemm *g = p;
    for (int i = 0; i < g->n_w; i++) gemm(&g->ctx, g->y, g->x, &g->w[i], NULL, g->M);
    ctx_sync(&g->ctx); /* a device runs the products after the calls return */
}

typedef struct {
    Ctx *ctx;
    int n, heads, hd;
    float *q, *kc, *vc, *out, *work;
} Attn;

static void run_attention(void *p) {
    Attn *a = p;
    int w = a->heads * a->hd;
    attention(a->ctx, a->out, w, a->q, w, a->n, 0, a->kc, a->vc, a->n, a->n, a->heads, a->hd, 1,
              a->work);
    ctx_sync(a->ctx);
}

/* Seconds per call of run_attention: n causal rows over their n keys, 4
 * heads of hd. */
static double attention_call_s(Ctx *ctx, int n, int hd, double budget) {
    Attn a = {.ctx = ctx, .n = n, .heads = 4, .hd = hd};
    size_t rows = (size_t)a.n * a.heads * hd, f = sizeof(float);
    float *h = hl_malloc(rows * f);
    fill(h, rows, 99u + (uint32_t)hd);
    a.q = ctx_alloc(ctx, rows * f), a.kc = ctx_alloc(ctx, rows * f);
    a.vc = ctx_alloc(ctx, rows * f), a.out = ctx_alloc(ctx, rows * f);
    a.work = ctx_alloc(ctx, attention_workspace(ctx, a.n) * f + f);
    ctx_upload(ctx, a.q, h, rows * f);
    kv_store(ctx, a.kc, a.vc, a.n, a.heads, hd, 0, a.n, a.q, a.q, a.heads * hd);
    free(h);
    double t = per_call(run_attention, &a, budget);
    ctx_free(ctx, a.q), ctx_free(ctx, a.kc), ctx_free(ctx, a.vc), ctx_free(ctx, a.out);
    ctx_free(ctx, a.work);
    return t;
}

/* A block's row operations on R rows of d (heads of 64): 9 R d elements a
 * call. Every buffer stays bounded: h is x normalised, q and k only turn. */
typedef struct {
    Ctx *ctx;
    int R, d, hd;
    float *x, *h, *q, *k, *ln, *kc, *vc;
    float inv_freq[ROPE_MAX_HALF];
} Rows;

static void run_rows(void *p) {
    Rows *r = p;
    Ctx *ctx = r->ctx;
    long n = (long)r->R * r->d;
    int heads = r->d / r->hd;
    rmsnorm(ctx, r->h, r->x, r->ln, r->R, r->d, 1e-5f);
    rope(ctx, r->q, r->R, r->d, 0, heads, r->hd, r->inv_freq);
    rope(ctx, r->k, r->R, r->d, 0, heads, r->hd, r->inv_freq);
    kv_store(ctx, r->kc, r->vc, r->R, heads, r->hd, 0, r->R, r->k, r->q, r->d);
    add_inplace(ctx, r->x, r->h, n);
    rmsnorm(ctx, r->h, r->x, r->ln, r->R, r->d, 1e-5f);
    swiglu(ctx, r->h, r->q, n);
    add_inplace(ctx, r->x, r->h, n);
    ctx_sync(ctx);
}

/* Seconds per call of run_rows. */
static double rows_call_s(Ctx *ctx, int R, int d, double budget) {
    Rows r = {.ctx = ctx, .R = R, .d = d, .hd = 64};
    size_t n = (size_t)r.R * r.d, f = sizeof(float);
    float *h = hl_malloc(n * f);
    rope_freqs(r.hd, 10000.0f, r.inv_freq);
    float **bufs[] = {&r.x, &r.h, &r.q, &r.k, &r.kc, &r.vc};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        fill(h, n, 5u + (uint32_t)i);
        *bufs[i] = ctx_alloc(ctx, n * f);
        ctx_upload(ctx, *bufs[i], h, n * f);
    }
    for (int i = 0; i < r.d; i++) h[i] = 1.0f;
    r.ln = ctx_alloc(ctx, (size_t)r.d * f);
    ctx_upload(ctx, r.ln, h, (size_t)r.d * f);
    free(h);
    double t = per_call(run_rows, &r, budget);
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) ctx_free(ctx, *bufs[i]);
    ctx_free(ctx, r.ln);
    return t;
}

/* The costs that fit measured times t[k] = rows[k] a + units[k] b, from two
 * measurements, neither negative. */
static void fit2(const double t[2], const double rows[2], const double units[2], double *a,
                 double *b) {
    double det = rows[0] * units[1] - rows[1] * units[0];
    *a = (t[0] * units[1] - t[1] * units[0]) / det;
    *b = (rows[0] * t[1] - rows[1] * t[0]) / det;
    if (*a < 0) *a = 0, *b = t[0] / units[0];
    if (*b < 0) *b = 0, *a = t[0] / rows[0];
}

typedef struct {
    Comm *comm;
    size_t bytes;
    int reps;
} Ping;

static void ping_pong(void *p) {
    Ping *q = p;
    int me = q->comm->rank, peer = 1 - me, tag;
    size_t got;
    for (int i = 0; i < q->reps; i++) {
        CommRequest r;
        if (me == 0) {
            comm_isend_owned(q->comm, peer, 7, hl_calloc(q->bytes, 1), q->bytes, &r);
            comm_wait(&r);
            free(comm_recv_any(q->comm, peer, &tag, &got, NULL));
        } else {
            free(comm_recv_any(q->comm, peer, &tag, &got, NULL));
            comm_isend_owned(q->comm, peer, 7, hl_calloc(q->bytes, 1), q->bytes, &r);
            comm_wait(&r);
        }
    }
}

void run_calibrate(int *argc, char ***argv, const char *json, int threads, Dtype dt, double budget,
                   int cuda) {
    Comm comm;
    comm_init(argc, argv, &comm);
    FILE *f = comm.rank == 0 ? fopen(json, "w") : NULL;
    if (comm_any(&comm, comm.rank == 0 && !f)) {
        char m[600];
        snprintf(m, sizeof m, "%s: cannot write the calibration file", json);
        comm_fail_all(&comm, m);
    }
    if (f) fclose(f);
    Gemm g = {.ctx = ctx_cpu(threads, isa_detect())};
    char err[256] = "";
    if (comm_any(&comm, cuda && ctx_cuda(&g.ctx, comm.local_rank, err, sizeof err) != 0)) {
        char m[400];
        snprintf(m, sizeof m, "bench --calibrate --backend cuda: %s",
                 *err ? err : "another rank has no usable GPU");
        comm_fail_all(&comm, m);
    }

    /* GEMM: 512 x 2048 rows times a 2048 x 2048 weight */
    const int K = 2048, N = 2048;
    float *src = hl_malloc((size_t)4096 * 1024 * sizeof(float));
    fill(src, (size_t)4096 * 1024, 12345u + (uint32_t)comm.rank);
    g.w = hl_calloc(16, sizeof(Weight));
    weight_pack(&g.w[0], dt, src, N, K, (size_t)K);
    weight_place(&g.ctx, &g.w[0]);
    g.n_w = 1, g.M = 512;
    float *xh = hl_malloc((size_t)g.M * K * sizeof(float));
    fill(xh, (size_t)g.M * K, 777u);
    g.x = ctx_alloc(&g.ctx, (size_t)g.M * K * sizeof(float));
    ctx_upload(&g.ctx, g.x, xh, (size_t)g.M * K * sizeof(float));
    free(xh);
    g.y = ctx_alloc(&g.ctx, (size_t)g.M * 4096 * sizeof(float));
    group_barrier(&comm.world);
    double t = per_call(run_gemm, &g, budget);
    double s_per_gflop[2] = {t / (2.0 * g.M * N * K / 1e9), 0};
    weight_free(&g.ctx, &g.w[0]);

    /* streaming: 16 matrices of 4096 x 1024, one row through each */
    for (int i = 0; i < 16; i++) {
        weight_pack(&g.w[i], dt, src, 4096, 1024, 1024);
        weight_place(&g.ctx, &g.w[i]);
    }
    g.n_w = 16, g.M = 1;
    double bytes = 16.0 * 4096 * 1024 * dtype_size(dt);
    group_barrier(&comm.world);
    t = per_call(run_gemm, &g, budget);
    s_per_gflop[1] = t / (bytes / 1e9);
    double alone_gbps = bytes / 1e9 / t;
    if (comm.size > 1) {
        group_barrier(&comm.world);
        if (comm.rank == 0) alone_gbps = bytes / 1e9 / per_call(run_gemm, &g, budget / 2);
        group_barrier(&comm.world);
    }
    for (int i = 0; i < 16; i++) weight_free(&g.ctx, &g.w[i]);
    free(src), free(g.w);
    ctx_free(&g.ctx, g.x), ctx_free(&g.ctx, g.y);

    /* Attention: t = pairs a + scores b + 4 hd scores / rate (pairs: query
     * rows x heads); three shapes give the three. Row operations: t = rows a
     * + elements b; two shapes of as many elements give the two. */
    enum { A_N = 256, A_SHORT = 32, R_LONG = 64, R_WIDE = 1024 };
    double per[5];
    group_barrier(&comm.world);
    per[0] = attention_call_s(&g.ctx, A_N, 16, budget / 3);
    per[1] = attention_call_s(&g.ctx, A_N, 128, budget / 3);
    per[2] = attention_call_s(&g.ctx, A_SHORT, 16, budget / 3);
    per[3] = rows_call_s(&g.ctx, R_LONG, R_WIDE, budget / 2);
    per[4] = rows_call_s(&g.ctx, R_WIDE, R_LONG, budget / 2);
    group_allreduce_max_double(&comm.world, s_per_gflop, 2); /* the slowest rank */
    group_allreduce_max_double(&comm.world, per, 5);
    const double scores[2] = {4.0 * A_N * (A_N + 1) / 2, 4.0 * A_SHORT * (A_SHORT + 1) / 2};
    const double pairs[2] = {4.0 * A_N, 4.0 * A_SHORT};
    /* a noisy pair that gives no positive rate charges it all to the products */
    double s_per_flop = (per[1] - per[0]) / (4.0 * (128 - 16) * scores[0]);
    if (s_per_flop <= 0) s_per_flop = per[1] / (4.0 * 128 * scores[0]);
    double rest[2] = {per[0] - 4.0 * 16 * scores[0] * s_per_flop,
                      per[2] - 4.0 * 16 * scores[1] * s_per_flop};
    for (int k = 0; k < 2; k++) rest[k] = rest[k] > 0 ? rest[k] : 0;
    double pair_s, score_s, row_s, elem_s;
    fit2(rest, pairs, scores, &pair_s, &score_s);
    const double rrows[2] = {R_LONG, R_WIDE}, elem = 9.0 * R_LONG * R_WIDE, elems[2] = {elem, elem};
    fit2(per + 3, rrows, elems, &row_s, &elem_s);

    double lat = 0, gbps = 0;
    if (comm.size > 1) {
        group_barrier(&comm.world);
        if (comm.rank < 2) {
            /* fixed counts: both ranks must make the same calls */
            Ping warm = {&comm, (size_t)4 << 20, 2}, small = {&comm, 8, 1000},
                 big = {&comm, (size_t)4 << 20, 20};
            ping_pong(&warm);
            double t0 = comm_wtime();
            ping_pong(&small);
            lat = (comm_wtime() - t0) / (2.0 * small.reps);
            t0 = comm_wtime();
            ping_pong(&big);
            double tb = (comm_wtime() - t0) / (2.0 * big.reps);
            gbps = (double)big.bytes / (tb > lat ? tb - lat : tb) / 1e9;
        }
        group_barrier(&comm.world);
    }
    if (comm.rank == 0) {
        Calibration cal = {.threads = g.ctx.threads,
                           .ranks = comm.size,
                           .gemm_gflops = 1.0 / s_per_gflop[0],
                           .stream_gbps = 1.0 / s_per_gflop[1],
                           .stream_alone_gbps = alone_gbps,
                           .p2p_latency_s = lat,
                           .p2p_gbps = gbps,
                           .attn_gflops = 1e-9 / s_per_flop,
                           .attn_score_ns = score_s * 1e9,
                           .attn_row_ns = pair_s * 1e9,
                           .rowop_ns = elem_s * 1e9,
                           .rowop_row_ns = row_s * 1e9};
        gethostname(cal.host, sizeof cal.host - 1);
        time_t now = time(NULL);
        strftime(cal.date, sizeof cal.date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        snprintf(cal.backend, sizeof cal.backend, "%s", cuda ? "cuda" : "cpu");
        snprintf(cal.dtype, sizeof cal.dtype, "%s", dtype_name(dt));
        calibration_save(json, &cal);
        if (cuda)
            printf("calibration: %d rank%s, one GPU each (%s), weights %s\n", comm.size,
                   comm.size == 1 ? "" : "s", ctx_device_name(&g.ctx), cal.dtype);
        else
            printf("calibration: %d rank%s x %d thread%s, weights %s (cpu kernels %s)\n", comm.size,
                   comm.size == 1 ? "" : "s", g.ctx.threads, g.ctx.threads == 1 ? "" : "s",
                   cal.dtype, isa_name(g.ctx.isa));
        printf("  GEMM %.1f GFLOP/s per rank, weight streaming %.2f GB/s per rank", cal.gemm_gflops,
               cal.stream_gbps);
        if (comm.size > 1) printf(" (%.2f GB/s with rank 0 alone)", alone_gbps);
        printf("\n");
        printf("  attention %.1f GFLOP/s + %.2f ns per score + %.1f ns per query row and head\n",
               cal.attn_gflops, cal.attn_score_ns, cal.attn_row_ns);
        printf("  row operations %.3f ns per element + %.1f ns per row and block\n", cal.rowop_ns,
               cal.rowop_row_ns);
        if (comm.size > 1)
            printf("  messages (ranks 0 and 1): latency %.1f us, bandwidth %.2f GB/s\n", lat * 1e6,
                   gbps);
        printf("  written to %s (hyperllava plan --calibration %s)\n", json, json);
    }
    ctx_release(&g.ctx);
    comm_finalize(&comm);
}
