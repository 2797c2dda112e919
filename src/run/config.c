/* Run config reading and layout validation. */
#include "run/config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Counts larger than this are typos, not configs (and keep products in range). */
#define MAX_COUNT (1 << 20)

void run_config_defaults(RunConfig *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->dp = cfg->pp = cfg->tp = 1;
    snprintf(cfg->backend, sizeof cfg->backend, "cpu");
    snprintf(cfg->dtype, sizeof cfg->dtype, "f32");
    cfg->threads = 1;
    cfg->batch_size = 1;
    cfg->micro_batches = 1;
    cfg->watchdog_s = RUN_WATCHDOG_S;
}

void run_config_free(RunConfig *cfg) {
    free(cfg->path);
    free(cfg->model);
    free(cfg->stage_blocks);
    memset(cfg, 0, sizeof *cfg);
}

void run_config_copy(RunConfig *dst, const RunConfig *src) {
    *dst = *src;
    dst->path = src->path ? hl_strdup(src->path) : NULL;
    dst->model = src->model ? hl_strdup(src->model) : NULL;
    if (src->stage_blocks) {
        dst->stage_blocks = hl_malloc((size_t)src->n_stage_blocks * sizeof(int));
        memcpy(dst->stage_blocks, src->stage_blocks, (size_t)src->n_stage_blocks * sizeof(int));
    }
}

static const char *keypath(char *buf, size_t cap, const char *prefix, const char *key) {
    snprintf(buf, cap, "%s%s%s", prefix, *prefix ? "." : "", key);
    return buf;
}

static int count_value(const YdDoc *doc, const YdNode *n, const char *key) {
    long long v = yd_int(doc, n, key, 1, LLONG_MAX);
    if (v > MAX_COUNT)
        yd_fail(doc, yd_line(n), key, "%lld is too large (at most %d)", v, MAX_COUNT);
    return (int)v;
}

static int valid_backend(const char *s) {
    return !strcmp(s, "cpu") || !strcmp(s, "cuda");
}

void run_config_parse(const YdDoc *doc, const YdNode *map, const char *prefix, RunConfig *cfg) {
    static const char *const keys[] = {
        "model",         "parallel", "stages", "backend",    "threads", "batch_size",
        "micro_batches", "dtype",    "nodes",  "watchdog_s", NULL};
    static const char *const par_keys[] = {"dp", "pp", "tp", NULL};
    char k[512];
    run_config_defaults(cfg);
    yd_expect_map(doc, map, prefix);
    yd_check_keys(doc, map, prefix, keys);
    cfg->path = hl_strdup(doc->path);
    cfg->model = yd_path(doc, yd_require(doc, map, prefix, "model"),
                         keypath(k, sizeof k, prefix, "model"), NULL);

    const YdNode *par = yd_get(map, "parallel");
    if (par) {
        char pk[200];
        keypath(pk, sizeof pk, prefix, "parallel");
        yd_expect_map(doc, par, pk);
        yd_check_keys(doc, par, pk, par_keys);
        int *dst[3] = {&cfg->dp, &cfg->pp, &cfg->tp};
        for (int i = 0; i < 3; i++) {
            const YdNode *v = yd_get(par, par_keys[i]);
            if (v) *dst[i] = count_value(doc, v, keypath(k, sizeof k, pk, par_keys[i]));
        }
    }
    const YdNode *v;
    if ((v = yd_get(map, "threads")))
        cfg->threads = count_value(doc, v, keypath(k, sizeof k, prefix, "threads"));
    if ((v = yd_get(map, "batch_size")))
        cfg->batch_size = count_value(doc, v, keypath(k, sizeof k, prefix, "batch_size"));
    if ((v = yd_get(map, "micro_batches"))) {
        cfg->micro_batches = count_value(doc, v, keypath(k, sizeof k, prefix, "micro_batches"));
        if (cfg->micro_batches > cfg->batch_size)
            yd_fail(doc, yd_line(v), k, "%d micro-batches but batch_size is %d", cfg->micro_batches,
                    cfg->batch_size);
    }
    if ((v = yd_get(map, "watchdog_s")))
        cfg->watchdog_s =
            (int)yd_int(doc, v, keypath(k, sizeof k, prefix, "watchdog_s"), 0, RUN_WATCHDOG_MAX);
    if ((v = yd_get(map, "nodes")))
        cfg->nodes = count_value(doc, v, keypath(k, sizeof k, prefix, "nodes"));
    if ((v = yd_get(map, "backend"))) {
        const char *s = yd_str(doc, v, keypath(k, sizeof k, prefix, "backend"));
        if (!valid_backend(s)) yd_fail(doc, yd_line(v), k, "expected cpu or cuda, got \"%s\"", s);
        snprintf(cfg->backend, sizeof cfg->backend, "%s", s);
    }
    if ((v = yd_get(map, "dtype"))) {
        const char *s = yd_str(doc, v, keypath(k, sizeof k, prefix, "dtype"));
        if (dtype_parse(s, &(Dtype){0}))
            yd_fail(doc, yd_line(v), k, "expected f32, bf16 or f16, got \"%s\"", s);
        snprintf(cfg->dtype, sizeof cfg->dtype, "%s", s);
    }
    if ((v = yd_get(map, "stages"))) {
        char sk[200];
        keypath(sk, sizeof sk, prefix, "stages");
        if (v->kind == YD_SCALAR) {
            const char *s = yd_str(doc, v, sk);
            if (strcmp(s, "balanced"))
                yd_fail(doc, yd_line(v), sk,
                        "expected a list of blocks per stage or balanced, got \"%s\"", s);
            cfg->stages_balanced = 1;
        } else {
            yd_expect_seq(doc, v, sk);
            if (v->n != cfg->pp)
                yd_fail(doc, yd_line(v), sk, "%d entries but parallel.pp is %d", v->n, cfg->pp);
            cfg->n_stage_blocks = v->n;
            cfg->stage_blocks = hl_malloc((size_t)v->n * sizeof(int));
            for (int i = 0; i < v->n; i++) {
                snprintf(k, sizeof k, "%s[%d]", sk, i);
                cfg->stage_blocks[i] = count_value(doc, v->items[i], k);
            }
        }
    }
}

void run_config_load(const char *path, RunConfig *cfg) {
    YdDoc doc;
    yd_load(path, &doc);
    if (!doc.root) hl_fail("%s: empty file (a run config needs at least 'model')", path);
    run_config_parse(&doc, doc.root, "", cfg);
    yd_free(&doc);
}

char *run_config_check_layout(const RunConfig *cfg, const ModelShape *m, int world_size) {
    const char *f = cfg->path ? cfg->path : "run config";
    if (cfg->dp < 1 || cfg->pp < 1 || cfg->tp < 1)
        return hl_strdupf("%s: parallel: dp, pp and tp must be positive (dp %d, pp %d, tp %d)", f,
                          cfg->dp, cfg->pp, cfg->tp);
    long long world = (long long)cfg->dp * cfg->pp * cfg->tp;
    if (world_size > 0 && world != world_size)
        return hl_strdupf("%s: parallel: world size %d != dp*pp*tp = %lld", f, world_size, world);
    if (world > INT_MAX) return hl_strdupf("%s: parallel: dp*pp*tp = %lld is too large", f, world);
    if (!valid_backend(cfg->backend))
        return hl_strdupf("%s: backend: expected cpu or cuda, got \"%s\"", f, cfg->backend);
    if (dtype_parse(cfg->dtype, &(Dtype){0}))
        return hl_strdupf("%s: dtype: expected f32, bf16 or f16, got \"%s\"", f, cfg->dtype);
    if (cfg->threads < 1)
        return hl_strdupf("%s: threads: must be positive, got %d", f, cfg->threads);
    if (cfg->batch_size < 1)
        return hl_strdupf("%s: batch_size: must be positive, got %d", f, cfg->batch_size);
    if (cfg->micro_batches < 1 || cfg->micro_batches > cfg->batch_size)
        return hl_strdupf("%s: micro_batches: %d is not in [1, batch_size = %d]", f,
                          cfg->micro_batches, cfg->batch_size);
    if (cfg->nodes < 0) return hl_strdupf("%s: nodes: must be positive, got %d", f, cfg->nodes);
    if (cfg->nodes > 0 && world % cfg->nodes)
        return hl_strdupf("%s: nodes: world size %lld is not a multiple of %d nodes", f, world,
                          cfg->nodes);
    long long stage_sum = 0;
    if (cfg->stage_blocks) {
        if (cfg->n_stage_blocks != cfg->pp)
            return hl_strdupf("%s: stages: %d entries but parallel.pp is %d", f,
                              cfg->n_stage_blocks, cfg->pp);
        for (int i = 0; i < cfg->n_stage_blocks; i++) {
            if (cfg->stage_blocks[i] < 1)
                return hl_strdupf("%s: stages[%d]: a stage needs at least one block, got %d", f, i,
                                  cfg->stage_blocks[i]);
            stage_sum += cfg->stage_blocks[i];
        }
    }
    if (!m) return NULL;
    struct {
        const char *what;
        int n;
    } split[] = {
        {"vision heads", m->vision_heads},
        {"LLM heads", m->heads},
        {"vision intermediate size", m->vision_intermediate},
        {"LLM intermediate size", m->intermediate},
        {"vocab", m->vocab},
    };
    for (size_t i = 0; i < sizeof split / sizeof split[0]; i++)
        if (split[i].n % cfg->tp)
            return hl_strdupf("%s: parallel.tp: %s %d is not divisible by tp = %d", f,
                              split[i].what, split[i].n, cfg->tp);
    if (cfg->pp > m->layers)
        return hl_strdupf("%s: parallel.pp: %d pipeline stages but the model has %d blocks", f,
                          cfg->pp, m->layers);
    if (cfg->stage_blocks && stage_sum != m->layers)
        return hl_strdupf("%s: stages: blocks add up to %lld but the model has %d", f, stage_sum,
                          m->layers);
    return NULL;
}

void run_config_stage_blocks(const RunConfig *cfg, int layers, int *counts) {
    CHECK(!cfg->stage_blocks || cfg->n_stage_blocks == cfg->pp);
    layout_stage_blocks(layers, cfg->pp, cfg->stage_blocks, counts);
}

void run_config_stages(const RunConfig *cfg, const ModelShape *m, int *counts) {
    if (cfg->stages_balanced && !cfg->stage_blocks)
        layout_balanced_blocks(m->layers, cfg->pp, m->vision_cost, counts);
    else
        run_config_stage_blocks(cfg, m->layers, counts);
}

void run_rank_coords(const RunConfig *cfg, int rank, int *d, int *p, int *t) {
    LayoutCoords c = layout_coords(run_config_layout(cfg), rank);
    *d = c.d, *p = c.p, *t = c.t;
}

int run_rank_of(const RunConfig *cfg, int d, int p, int t) {
    return layout_rank_of(run_config_layout(cfg), (LayoutCoords){d, p, t});
}

int run_layout_parse(const char *s, RunLayout *out) {
    int v[3];
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        if (*p < '0' || *p > '9') return 0;
        long x = 0;
        while (*p >= '0' && *p <= '9') {
            x = x * 10 + (*p++ - '0');
            if (x > MAX_COUNT) return 0;
        }
        if (x < 1) return 0;
        v[i] = (int)x;
        if (i < 2 && *p++ != 'x') return 0;
    }
    if (*p) return 0;
    out->dp = v[0], out->pp = v[1], out->tp = v[2];
    return 1;
}

void run_config_set_layout(RunConfig *cfg, RunLayout l) {
    /* `nodes` spreads the config's own world; another world size is spread
     * by the launcher over whatever the allocation has. */
    if ((long long)l.dp * l.pp * l.tp != (long long)cfg->dp * cfg->pp * cfg->tp) cfg->nodes = 0;
    if (l.pp != cfg->pp) {
        free(cfg->stage_blocks);
        cfg->stage_blocks = NULL;
        cfg->n_stage_blocks = 0;
    }
    cfg->dp = l.dp, cfg->pp = l.pp, cfg->tp = l.tp;
}

void run_config_set_batch_size(RunConfig *cfg, int batch_size) {
    cfg->batch_size = batch_size;
    if (cfg->micro_batches > batch_size) cfg->micro_batches = batch_size;
}

/* FLOPs of the tower and projector for one image over those of one LLM
 * block's prefill on a LLaVA prompt (the image's tokens + 64 text tokens). */
static double vision_cost(const ModelConfig *c) {
    double T = c->n_patches + 1, C = c->v_hidden, Iv = c->v_inter, Lv = c->v_layers_used;
    double P = c->patch_size, np = c->n_patches, d = c->hidden, I = c->inter;
    double vis = 2 * T * Lv * (4 * C * C + 2 * C * Iv) + 4 * T * T * C * Lv +
                 2 * np * 3 * P * P * C + 2 * np * (C * d + d * d);
    double n = np + 64, block = 2 * n * (4 * d * d + 3 * d * I) + 2 * n * n * d;
    return block > 0 ? vis / block : 0;
}

ModelShape run_model_shape(const ModelConfig *c) {
    return (ModelShape){.vision_heads = c->v_heads,
                        .vision_hidden = c->v_hidden,
                        .vision_intermediate = c->v_inter,
                        .heads = c->heads,
                        .hidden = c->hidden,
                        .intermediate = c->inter,
                        .layers = c->layers,
                        .vocab = c->vocab,
                        .guide_layer = c->expert_lang ? c->guide_layer : 0,
                        .vision_cost = vision_cost(c)};
}

void run_model_shape_load(const char *model_path, ModelShape *m) {
    ModelConfig c;
    model_config_load(model_path, &c);
    *m = run_model_shape(&c);
}
