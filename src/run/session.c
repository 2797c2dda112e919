#include "run/session.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/jsonio.h"
#include "run/model_file.h"
#include "text/prompt.h"
#include "kernels/ctx.h"
#include "util/check.h"
#include "util/dtype.h"

/* Every rank takes its GPU (local rank % GPUs on the node). When one cannot,
 * the lowest such rank's reason is the job's one error line. */
static void open_cuda(Session *s, Ctx *ctx) {
    char err[256] = "";
    int bad = ctx_cuda(ctx, s->comm.local_rank, err, sizeof err) != 0;
    if (!comm_any(&s->comm, bad)) return;
    double first = bad ? -(double)s->comm.rank : -1e18;
    group_allreduce_max_double(&s->comm.world, &first, 1);
    group_bcast(&s->comm.world, err, sizeof err, (int)-first);
    char m[400];
    if (s->cfg.path)
        snprintf(m, sizeof m, "%s: backend cuda: %s", s->cfg.path, err);
    else
        snprintf(m, sizeof m, "backend cuda: %s", err);
    comm_fail_all(&s->comm, m);
}

/* Reading the weights: the ranks that wait for this one are told it works. */
static void answer_watchdog(void *comm) {
    comm_alive(comm);
}

void session_open(Session *s, int *argc, char ***argv, const RunConfig *cfg,
                  const GenSettings *gen) {
    memset(s, 0, sizeof *s);
    run_config_copy(&s->cfg, cfg);
    if (!s->cfg.model) hl_fail("no model given (--model FILE or a run config with 'model')");
    /* the file's attributes are read once and are identical on every rank:
     * fail before MPI so only rank 0 speaks */
    WeightFile wf;
    wf_open(&wf, s->cfg.model);
    ModelConfig mc;
    model_config_read(&wf, &mc);
    ModelShape shape = run_model_shape(&mc);
    comm_init(argc, argv, &s->comm);
    comm_watchdog(&s->comm, s->cfg.watchdog_s);
    s->t_open = comm_wtime();
    if (getloadavg(&s->loadavg_start, 1) < 1) s->loadavg_start = -1;
    char *msg = run_config_check_layout(&s->cfg, &shape, s->comm.size);
    if (msg) comm_fail_all(&s->comm, msg);
    omp_set_num_threads(s->cfg.threads > 0 ? s->cfg.threads : 1);
    /* HL_KERNEL picks the CPU kernel variant (default: the best this CPU has);
     * every variant gives the same bits, so it only changes speed */
    const char *kname = getenv("HL_KERNEL"), *why;
    Isa isa;
    if ((why = isa_choose(kname, &isa))) {
        char m[256];
        snprintf(m, sizeof m, "HL_KERNEL=%s: %s", kname, why);
        comm_fail_all(&s->comm, m);
    }
    Ctx ctx = ctx_cpu(s->cfg.threads, isa);
    if (!strcmp(s->cfg.backend, "cuda")) open_cuda(s, &ctx);
    CHECK(dtype_parse(s->cfg.dtype, &wf.hold) == 0); /* validated with the config */
    s->layout = run_config_layout(&s->cfg);
    comm_grid(&s->comm, s->cfg.dp, s->cfg.pp, s->cfg.tp);
    int *counts = hl_malloc((size_t)s->cfg.pp * sizeof *counts);
    run_config_stages(&s->cfg, &shape, counts);
    wf.place = &ctx; /* parameters go straight to the backend's memory */
    wf.alive = answer_watchdog, wf.alive_arg = &s->comm;
    engine_init(&s->engine, &s->comm, &wf, &mc, counts, &ctx);
    wf.place = NULL, wf.alive = NULL;
    free(counts);
    s->engine.micro_batches = s->cfg.micro_batches;
    if (gen) s->engine.gen = *gen;
    s->model = &s->engine.model.cfg;
    s->rank = s->comm.rank, s->is_root = s->rank == 0;
    s->is_first = s->engine.is_first;
    if (s->is_first) s->tok = model_file_tokenizer(&wf);
    wf_close(&wf);
    s->writer = s->engine.is_first && s->comm.tp_rank == 0;
    s->load_s = comm_wtime() - s->t_open;
}

void session_close(Session *s) {
    if (s->tok) tokenizer_free(s->tok);
    ctx_release(&s->engine.ctx);
    run_config_free(&s->cfg);
    comm_finalize(&s->comm);
}

/* A result on the wire: this header, then n_tokens token ids, then
 * n_tokens * k top-k ids and as many top-k values. */
typedef struct {
    double seconds;
    int32_t index, n_tokens, prompt_rows, img_w, img_h, k;
    char img_mode[8];
} ResultHeader;

static size_t result_bytes(const GenResult *r, int k) {
    return sizeof(ResultHeader) + (size_t)r->n_tokens * (1 + 2 * (size_t)k) * 4;
}

/* Results of this rank's replica for round items [lo, hi) (writer ranks;
 * others pass NULL) gathered to world rank 0: returns n results in round
 * order there, NULL elsewhere. Collective over the world. */
static GenResult *gather_results(Session *s, const GenResult *mine, int lo, int hi, int n) {
    int k = s->engine.trace_k;
    size_t total = 0;
    if (s->writer)
        for (int i = lo; i < hi; i++) total += result_bytes(&mine[i - lo], k);
    char *buf = hl_malloc(total + 1), *o = buf;
    if (s->writer) {
        for (int i = lo; i < hi; i++) {
            const GenResult *r = &mine[i - lo];
            ResultHeader h = {.seconds = r->seconds,
                              .index = i,
                              .n_tokens = r->n_tokens,
                              .prompt_rows = r->prompt_rows,
                              .img_w = r->img_w,
                              .img_h = r->img_h,
                              .k = k};
            memcpy(h.img_mode, r->img_mode, sizeof h.img_mode);
            memcpy(o, &h, sizeof h), o += sizeof h;
            size_t nt = (size_t)r->n_tokens;
            memcpy(o, r->tokens, nt * 4), o += nt * 4;
            if (k) {
                memcpy(o, r->topk_ids, nt * k * 4), o += nt * k * 4;
                memcpy(o, r->topk_vals, nt * k * 4), o += nt * k * 4;
            }
        }
    }
    size_t *sizes = NULL;
    char *all = group_gatherv(&s->comm.world, buf, (size_t)(o - buf), 0, &sizes);
    free(buf);
    if (!s->is_root) {
        free(all);
        return NULL;
    }
    GenResult *out = hl_calloc((size_t)(n ? n : 1), sizeof(GenResult));
    const char *p = all;
    for (int src = 0; src < s->comm.size; src++) {
        const char *end = p + sizes[src];
        while (p < end) {
            ResultHeader h;
            memcpy(&h, p, sizeof h), p += sizeof h;
            CHECK(h.index >= 0 && h.index < n);
            GenResult *r = &out[h.index];
            *r = (GenResult){.n_tokens = h.n_tokens,
                             .prompt_rows = h.prompt_rows,
                             .img_w = h.img_w,
                             .img_h = h.img_h,
                             .seconds = h.seconds,
                             .rank = src};
            memcpy(r->img_mode, h.img_mode, sizeof r->img_mode);
            r->img_mode[7] = 0;
            size_t nt = (size_t)h.n_tokens;
            r->tokens = hl_malloc((nt + 1) * sizeof(int));
            memcpy(r->tokens, p, nt * 4), p += nt * 4;
            if (h.k) {
                r->topk_ids = hl_malloc(nt * h.k * sizeof(int) + 1);
                r->topk_vals = hl_malloc(nt * h.k * sizeof(float) + 1);
                memcpy(r->topk_ids, p, nt * h.k * 4), p += nt * h.k * 4;
                memcpy(r->topk_vals, p, nt * h.k * 4), p += nt * h.k * 4;
            }
        }
    }
    free(all);
    free(sizes);
    return out;
}

SessionTotals session_run(Session *s, const SessionJob *job) {
    Engine *e = &s->engine;
    const int dp = s->layout.dp, d = s->comm.dp_rank;
    const int bs =
        job->batch_size > 0 ? job->batch_size : (s->cfg.batch_size > 0 ? s->cfg.batch_size : 1);
    GenRequest *rq = hl_calloc((size_t)bs, sizeof(GenRequest));
    GenResult *rs = hl_calloc((size_t)bs, sizeof(GenResult));
    int **ids = hl_calloc((size_t)bs, sizeof(int *));
    char **labels = hl_calloc((size_t)bs, sizeof(char *));
    double mine[3] = {0, 0, 0}; /* samples, tokens, prompt rows answered by this writer */
    group_barrier(&s->comm.world);
    EngineStats st0 = e->stats;
    double t0 = comm_wtime();
    for (long w0 = job->start; w0 < job->n; w0 += (long)bs * dp) {
        long wn = job->n - w0 < (long)bs * dp ? job->n - w0 : (long)bs * dp;
        /* this replica's share of the round */
        int lo = (int)(wn * d / dp), hi = (int)(wn * (d + 1) / dp), cnt = hi - lo;
        for (int j = 0; j < cnt; j++) {
            int i = (int)(w0 + lo + j);
            rq[j] = (GenRequest){.id = i, .max_new = job->max_new};
            if (!s->is_first) continue;
            SessionItem it = {0};
            job->item(job->ctx, i, &it);
            if (!it.ids) {
                rq[j].n_ids = prompt_tokenize(s->tok, it.prompt, &ids[j]);
                rq[j].ids = ids[j];
                free(it.prompt);
            } else {
                rq[j].ids = it.ids, rq[j].n_ids = it.n_ids;
            }
            rq[j].image = it.image;
            rq[j].label = labels[j] = it.label;
        }
        if (cnt) engine_generate(e, rq, cnt, rs);
        if (s->writer)
            for (int j = 0; j < cnt; j++)
                mine[0] += 1, mine[1] += rs[j].n_tokens, mine[2] += rs[j].prompt_rows;
        if (job->result) {
            GenResult *all = gather_results(s, rs, lo, hi, (int)wn);
            if (s->is_root) {
                for (long i = 0; i < wn; i++) {
                    job->result(job->ctx, (int)(w0 + i), &all[i]);
                    gen_result_free(&all[i]);
                }
                free(all);
                if (job->round) job->round(job->ctx, (int)(w0 + wn));
            }
        }
        for (int j = 0; j < cnt; j++) {
            gen_result_free(&rs[j]), free(ids[j]), free(labels[j]);
            ids[j] = NULL, labels[j] = NULL;
        }
    }
    group_barrier(&s->comm.world);
    double mx[3] = {comm_wtime() - t0, e->stats.prefill_s - st0.prefill_s,
                    e->stats.decode_s - st0.decode_s};
    group_allreduce_max_double(&s->comm.world, mx, 3);
    group_allreduce_sum_double(&s->comm.world, mine, 3);
    free(rq), free(rs), free(ids), free(labels);
    return (SessionTotals){.wall_s = mx[0],
                           .prefill_s = mx[1],
                           .decode_s = mx[2],
                           .samples = (long)mine[0],
                           .tokens = (long)mine[1],
                           .prompt_rows = (long)mine[2]};
}

void session_bcast(Session *s, void *buf, size_t bytes) {
    group_bcast(&s->comm.world, buf, bytes, 0);
}

int session_any(Session *s, int flag) {
    return comm_any(&s->comm, flag);
}

void session_fail_all(Session *s, const char *msg) {
    comm_fail_all(&s->comm, msg);
    exit(1); /* not reached */
}

uint64_t *session_gather_rss(Session *s) {
    uint64_t me = comm_peak_rss_bytes();
    size_t *sizes = NULL;
    uint64_t *all = (uint64_t *)group_gatherv(&s->comm.world, &me, sizeof me, 0, &sizes);
    free(sizes);
    return all;
}

/* Each rank's JSON object text gathered to rank 0 as an array (NULL elsewhere). */
static json_t *gather_json(Session *s, json_t *me) {
    char *txt = json_dumps(me, JSON_COMPACT);
    json_decref(me);
    size_t *sizes = NULL;
    char *all = group_gatherv(&s->comm.world, txt, strlen(txt) + 1, 0, &sizes);
    free(txt);
    if (!s->is_root) return NULL;
    json_t *arr = json_array();
    size_t off = 0;
    for (int r = 0; r < s->comm.size; r++) {
        json_t *j = json_loads(all + off, 0, NULL);
        if (j) json_array_append_new(arr, j);
        off += sizes[r];
    }
    free(all), free(sizes);
    return arr;
}

json_t *session_gather_ranks(Session *s) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    Comm *c = &s->comm;
    Engine *e = &s->engine;
    return gather_json(s, json_pack("{s:i, s:i, s:i, s:i, s:s, s:[i,i], s:I, s:I}", "rank", c->rank,
                                    "dp_rank", c->dp_rank, "stage", c->pp_rank, "tp_rank",
                                    c->tp_rank, "host", host, "blocks", e->first_block,
                                    e->first_block + e->n_blocks, "weight_bytes",
                                    (json_int_t)e->weight_bytes, "peak_rss_bytes",
                                    (json_int_t)comm_peak_rss_bytes()));
}

void session_mpi_version(char *buf, size_t n) {
    comm_library_version(buf, n);
}

double session_wtime(void) {
    return comm_wtime();
}

void session_mark(const Session *s, SessionMark *m) {
    const Engine *e = &s->engine;
    const Comm *c = &s->comm;
    *m = (SessionMark){.stats = e->stats,
                       .t = comm_wtime(),
                       .p2p_s = c->p2p_time_s,
                       .tp_s = c->tp_group.time_s,
                       .guidance_s = e->guide.time_s,
                       .p2p_bytes = c->p2p_bytes,
                       .tp_bytes = c->tp_group.bytes,
                       .guidance_bytes = e->guide.bytes};
}

/* The CPUs this process may run on, as the kernel lists them ("0-3,8"), or
 * "" where /proc does not say: shows how mpirun or srun bound the rank. */
static void cpus_allowed(char *buf, size_t n) {
    buf[0] = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Cpus_allowed_list:", 18)) continue;
        char *v = line + 18;
        v += strspn(v, " \t");
        v[strcspn(v, "\n")] = 0;
        snprintf(buf, n, "%s", v);
        break;
    }
    fclose(f);
}

void session_write_metrics(Session *s, const char *path, const char *extra,
                           const SessionMark *since) {
    Engine *e = &s->engine;
    Comm *c = &s->comm;
    SessionMark now, zero = {.t = s->t_open};
    session_mark(s, &now);
    const SessionMark *b = since ? since : &zero;
    const EngineStats *st = &now.stats, *st0 = &b->stats;
    char host[256] = "", cpus[256];
    gethostname(host, sizeof host - 1);
    cpus_allowed(cpus, sizeof cpus);
    json_t *me = json_pack(
        "{s:i, s:i, s:i, s:i, s:s, s:[i,i], s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, "
        "s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:f, s:f, s:s, s:i}",
        "rank", c->rank, "dp_rank", c->dp_rank, "stage", c->pp_rank, "tp_rank", c->tp_rank, "host",
        host, "blocks", e->first_block, e->first_block + e->n_blocks, "load_s", s->load_s,
        "compute_s", st->compute_s - st0->compute_s, "vision_s", st->vision_s - st0->vision_s,
        "idle_wait_s", st->wait_s - st0->wait_s, "guidance_wait_s",
        st->guidance_wait_s - st0->guidance_wait_s, "prefill_s", st->prefill_s - st0->prefill_s,
        "decode_s", st->decode_s - st0->decode_s, "p2p_s", now.p2p_s - b->p2p_s, "tp_allreduce_s",
        now.tp_s - b->tp_s, "bytes_sent", (json_int_t)(now.p2p_bytes - b->p2p_bytes), "messages",
        (json_int_t)(st->messages - st0->messages), "tp_allreduce_bytes",
        (json_int_t)(now.tp_bytes - b->tp_bytes), "guidance_bytes",
        (json_int_t)(now.guidance_bytes - b->guidance_bytes), "weight_bytes",
        (json_int_t)e->weight_bytes, "weight_bytes_read", (json_int_t)e->bytes_read,
        "peak_rss_bytes", (json_int_t)comm_peak_rss_bytes(), "wall_s", now.t - b->t, "prefill_rows",
        (json_int_t)(st->prefill_rows - st0->prefill_rows), "guidance_s",
        now.guidance_s - b->guidance_s, "loadavg_start", s->loadavg_start, "cpus_allowed", cpus,
        "threads", s->cfg.threads);
    if (since) json_object_del(me, "load_s");
    json_t *ranks = gather_json(s, me);
    if (!s->is_root) return;
    json_t *root = extra ? json_loads(extra, 0, NULL) : json_object();
    if (!root) root = json_object();
    json_object_set_new(root, "layout",
                        json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "dp", c->dp, "pp", c->pp, "tp",
                                  c->tp, "world", c->size, "threads", s->cfg.threads,
                                  "micro_batches", s->cfg.micro_batches, "batch_size",
                                  s->cfg.batch_size));
    json_object_set_new(root, "ranks", ranks);
    json_write_atomic(path, root, JSON_INDENT(2));
    json_decref(root);
}
