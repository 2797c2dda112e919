#include "run/session.h"

#include <jansson.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/ctx.h"
#include "run/model_file.h"
#include "util/dtype.h"
#include "util/check.h"

void session_open(Session *s, int *argc, char ***argv, const RunConfig *cfg,
                  const GenSettings *gen) {
    memset(s, 0, sizeof *s);
    run_config_copy(&s->cfg, cfg);
    if (!s->cfg.model) hl_fail("no model given (--model FILE or a run config with 'model')");
    /* identical on every rank: fail before MPI so only rank 0 speaks */
    ModelShape shape;
    run_model_shape_load(s->cfg.model, &shape);
    comm_init(argc, argv, &s->comm);
    s->t_open = comm_wtime();
    char *msg = run_config_check_layout(&s->cfg, &shape, s->comm.size);
    if (msg) comm_fail_all(&s->comm, msg);
    if (strcmp(s->cfg.backend, "cpu") != 0) {
        char m[256];
        snprintf(m, sizeof m, "%s: backend '%s' is not built into this binary (cpu only)",
                 s->cfg.path ? s->cfg.path : "run config", s->cfg.backend);
        comm_fail_all(&s->comm, m);
    }
    omp_set_num_threads(s->cfg.threads > 0 ? s->cfg.threads : 1);
    /* HL_KERNEL picks the CPU kernel variant (default: the best this CPU has);
     * every variant gives the same bits, so it only changes speed */
    const char *kname = getenv("HL_KERNEL");
    Isa isa = isa_detect();
    if (kname && *kname) {
        int rc = isa_parse(kname, &isa);
        if (rc) {
            char m[256];
            snprintf(m, sizeof m, "HL_KERNEL=%s: %s", kname,
                     rc == -1 ? "unknown kernel (expected auto, avx512, avx2 or generic)"
                              : "this CPU cannot run it");
            comm_fail_all(&s->comm, m);
        }
    }
    Ctx ctx = ctx_cpu(s->cfg.threads, isa);
    Dtype hold = DT_F32;
    if (dtype_parse(s->cfg.dtype, &hold)) CHECK(0); /* validated with the config */
    comm_grid(&s->comm, s->cfg.dp, s->cfg.pp, s->cfg.tp);
    int *blocks = hl_malloc((size_t)s->cfg.pp * sizeof(int));
    run_config_stage_blocks(&s->cfg, shape.layers, blocks);
    engine_init(&s->engine, &s->comm, s->cfg.model, blocks, &ctx, hold);
    free(blocks);
    s->engine.micro_batches = s->cfg.micro_batches;
    if (gen) s->engine.gen = *gen;
    if (s->engine.is_first) s->tok = model_file_load_tokenizer(s->cfg.model);
    s->writer = s->engine.is_first && s->comm.tp_rank == 0;
    s->load_s = comm_wtime() - s->t_open;
}

void session_close(Session *s) {
    if (s->tok) tokenizer_free(s->tok);
    run_config_free(&s->cfg);
    comm_finalize(&s->comm);
}

void session_share(const Session *s, int n, int *lo, int *hi) {
    int dp = s->comm.dp, d = s->comm.dp_rank;
    *lo = (int)((long)n * d / dp);
    *hi = (int)((long)n * (d + 1) / dp);
}

/* Serialised result: ints, then tokens, top-k ids, top-k values (as bits). */
enum { RES_INTS = 8 };

static size_t result_ints(const GenResult *r, int k) {
    return RES_INTS + 2 + (size_t)r->n_tokens * (1 + 2 * (size_t)k);
}

GenResult *session_gather(Session *s, const GenResult *mine, int lo, int hi, int n) {
    int k = s->engine.trace_k;
    size_t total = 0;
    if (s->writer)
        for (int i = lo; i < hi; i++) total += result_ints(&mine[i - lo], k);
    int *buf = hl_malloc((total + 1) * sizeof(int));
    size_t o = 0;
    if (s->writer) {
        for (int i = lo; i < hi; i++) {
            const GenResult *r = &mine[i - lo];
            float secs = (float)r->seconds;
            int sb;
            memcpy(&sb, &secs, 4);
            int head[RES_INTS] = {i, r->n_tokens, r->prompt_rows, r->img_w, r->img_h, sb, 0, 0};
            memcpy(head + 6, r->img_mode, 8);
            memcpy(buf + o, head, sizeof head);
            o += RES_INTS;
            buf[o++] = k;
            buf[o++] = 0;
            memcpy(buf + o, r->tokens, (size_t)r->n_tokens * sizeof(int));
            o += (size_t)r->n_tokens;
            if (k) {
                memcpy(buf + o, r->topk_ids, (size_t)r->n_tokens * k * sizeof(int));
                o += (size_t)r->n_tokens * k;
                memcpy(buf + o, r->topk_vals, (size_t)r->n_tokens * k * sizeof(float));
                o += (size_t)r->n_tokens * k;
            }
        }
    }
    size_t *sizes = NULL;
    int *all = (int *)group_gatherv(&s->comm.world, buf, o * sizeof(int), 0, &sizes);
    free(buf);
    if (s->comm.rank != 0) {
        free(all);
        return NULL;
    }
    size_t bytes = 0;
    for (int r = 0; r < s->comm.size; r++) bytes += sizes[r];
    GenResult *out = hl_calloc((size_t)(n ? n : 1), sizeof(GenResult));
    size_t p = 0, end = bytes / sizeof(int), rank_end = 0;
    int src = -1;
    while (p < end) {
        while (p >= rank_end && src + 1 < s->comm.size) rank_end += sizes[++src] / sizeof(int);
        int *h = all + p;
        int i = h[0];
        CHECK(i >= 0 && i < n);
        GenResult *r = &out[i];
        r->rank = src;
        r->n_tokens = h[1], r->prompt_rows = h[2], r->img_w = h[3], r->img_h = h[4];
        float secs;
        memcpy(&secs, &h[5], 4);
        r->seconds = secs;
        memcpy(r->img_mode, h + 6, 8);
        r->img_mode[7] = 0;
        p += RES_INTS;
        int kk = all[p];
        p += 2;
        r->tokens = hl_malloc((size_t)(r->n_tokens + 1) * sizeof(int));
        memcpy(r->tokens, all + p, (size_t)r->n_tokens * sizeof(int));
        p += (size_t)r->n_tokens;
        if (kk) {
            r->topk_ids = hl_malloc((size_t)r->n_tokens * kk * sizeof(int) + 1);
            r->topk_vals = hl_malloc((size_t)r->n_tokens * kk * sizeof(float) + 1);
            memcpy(r->topk_ids, all + p, (size_t)r->n_tokens * kk * sizeof(int));
            p += (size_t)r->n_tokens * kk;
            memcpy(r->topk_vals, all + p, (size_t)r->n_tokens * kk * sizeof(float));
            p += (size_t)r->n_tokens * kk;
        }
    }
    free(all);
    free(sizes);
    return out;
}

void session_write_metrics(Session *s, const char *path, const char *extra) {
    Engine *e = &s->engine;
    Comm *c = &s->comm;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    json_t *me = json_pack(
        "{s:i, s:i, s:i, s:i, s:s, s:[i,i], s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, "
        "s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:f}",
        "rank", c->rank, "dp_rank", c->dp_rank, "stage", c->pp_rank, "tp_rank", c->tp_rank, "host",
        host, "blocks", e->first_block, e->first_block + e->n_blocks, "load_s", s->load_s,
        "compute_s", e->stats.compute_s, "vision_s", e->stats.vision_s, "idle_wait_s",
        e->stats.wait_s, "guidance_wait_s", e->stats.guidance_wait_s, "prefill_s",
        e->stats.prefill_s, "decode_s", e->stats.decode_s, "p2p_s", c->p2p_time_s, "tp_allreduce_s",
        c->tp_group.time_s, "bytes_sent", (json_int_t)c->p2p_bytes, "messages",
        (json_int_t)e->stats.messages, "tp_allreduce_bytes", (json_int_t)c->tp_group.bytes,
        "guidance_bytes", (json_int_t)e->guide.bytes, "weight_bytes", (json_int_t)e->weight_bytes,
        "weight_bytes_read", (json_int_t)e->bytes_read, "peak_rss_bytes",
        (json_int_t)comm_peak_rss_bytes(), "wall_s", comm_wtime() - s->t_open, "prefill_rows",
        (json_int_t)e->stats.prefill_rows, "guidance_s", e->guide.time_s);
    char *txt = json_dumps(me, JSON_COMPACT);
    json_decref(me);
    size_t *sizes = NULL;
    char *all = group_gatherv(&c->world, txt, strlen(txt) + 1, 0, &sizes);
    free(txt);
    if (c->rank == 0) {
        json_t *root = extra ? json_loads(extra, 0, NULL) : json_object();
        if (!root) root = json_object();
        json_object_set_new(root, "layout",
                            json_pack("{s:i,s:i,s:i,s:i}", "dp", c->dp, "pp", c->pp, "tp", c->tp,
                                      "world", c->size));
        json_t *ranks = json_array();
        size_t off = 0;
        for (int r = 0; r < c->size; r++) {
            json_t *j = json_loads(all + off, 0, NULL);
            if (j) json_array_append_new(ranks, j);
            off += sizes[r];
        }
        json_object_set_new(root, "ranks", ranks);
        if (json_dump_file(root, path, JSON_INDENT(2)) != 0)
            hl_fail("%s: cannot write metrics", path);
        json_decref(root);
        free(sizes);
    }
    free(all);
}
