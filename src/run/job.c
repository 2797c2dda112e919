/* Job file reading: run config, outputs, generation, benchmarks, sweep. */
#include "run/job.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/path.h"

static const char *const job_keys[] = {"run",       "output",     "model_id", "generation",
                                       "data_root", "benchmarks", "sweep",    NULL};
static const char *const gen_keys[] = {"temperature", "top_p", "seed", NULL};
static const char *const bench_keys[] = {"kind",           "name",        "questions",
                                         "images",         "annotations", "batch_size",
                                         "max_new_tokens", "limit",       NULL};
static const char *const sweep_keys[] = {"layouts", "batch_sizes", NULL};

static void load_run(const YdDoc *doc, const YdNode *n, Job *job) {
    if (n->kind == YD_MAP) {
        run_config_parse(doc, n, "run", &job->run);
        return;
    }
    if (n->kind != YD_SCALAR || yd_is_null(n)) {
        char got[96];
        yd_fail(doc, yd_line(n), "run", "expected a run config file name or a map, got %s",
                yd_describe(n, got, sizeof got));
    }
    char *path = yd_path(doc, n, "run", NULL);
    FILE *f = fopen(path, "rb");
    if (!f) yd_fail(doc, yd_line(n), "run", "cannot open %s: %s", path, strerror(errno));
    fclose(f);
    run_config_load(path, &job->run);
    free(path);
}

static void load_generation(const YdDoc *doc, const YdNode *g, Job *job) {
    yd_expect_map(doc, g, "generation");
    yd_check_keys(doc, g, "generation", gen_keys);
    const YdNode *v;
    if ((v = yd_get(g, "temperature")))
        job->temperature = yd_real(doc, v, "generation.temperature", 0, 100);
    if ((v = yd_get(g, "top_p"))) {
        job->top_p = yd_real(doc, v, "generation.top_p", 0, 1);
        if (job->top_p <= 0)
            yd_fail(doc, yd_line(v), "generation.top_p", "must be > 0 (1.0 keeps every token)");
    }
    if ((v = yd_get(g, "seed"))) job->seed = yd_u64(doc, v, "generation.seed");
}

/* Output files are named after benchmark names, so keep them to safe characters. */
static int valid_name(const char *s) {
    if (!*s || *s == '.' || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
            !strchr("._-", *s))
            return 0;
    return 1;
}

static void load_bench(const YdDoc *doc, const YdNode *n, int index, const char *data_dir,
                       BenchSpec *b) {
    char prefix[64], k[128];
    snprintf(prefix, sizeof prefix, "benchmarks[%d]", index);
    yd_expect_map(doc, n, prefix);
    yd_check_keys(doc, n, prefix, bench_keys);
    memset(b, 0, sizeof *b);

    const YdNode *kind = yd_require(doc, n, prefix, "kind");
    snprintf(k, sizeof k, "%s.kind", prefix);
    const char *ks = yd_str(doc, kind, k);
    if (!bench_kind_parse(ks, &b->kind)) {
        char list[256];
        size_t len = 0;
        for (int i = 0; i < BENCH_COUNT; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                    bench_kind_name((BenchKind)i));
        yd_fail(doc, yd_line(kind), k, "unknown benchmark kind \"%s\" (expected one of %s)", ks,
                list);
    }
    const char *kname = bench_kind_name(b->kind);
    const YdNode *v;
    if ((v = yd_get(n, "name"))) {
        snprintf(k, sizeof k, "%s.name", prefix);
        const char *s = yd_str(doc, v, k);
        if (!valid_name(s))
            yd_fail(doc, yd_line(v), k,
                    "\"%s\" is not a usable name (letters, digits, '.', '_', '-'; at most 64; "
                    "output files are named after it)",
                    s);
        b->name = hl_strdup(s);
    }
    static const struct {
        const char *key;
        int need, use;
    } paths[] = {
        {"questions", BENCH_NEEDS_QUESTIONS, BENCH_NEEDS_QUESTIONS},
        {"images", BENCH_NEEDS_IMAGES, BENCH_NEEDS_IMAGES},
        {"annotations", 0, BENCH_USES_ANNOTATIONS},
    };
    char **dst[3] = {&b->questions, &b->images, &b->annotations};
    int kp = bench_kind_paths(b->kind);
    for (int i = 0; i < 3; i++) {
        snprintf(k, sizeof k, "%s.%s", prefix, paths[i].key);
        v = yd_get(n, paths[i].key);
        if (!v && (kp & paths[i].need))
            yd_fail(doc, n->line, k, "missing required key (kind %s)", kname);
        if (!v) continue;
        if (!(kp & paths[i].use))
            yd_fail(doc, yd_line(v), k, "not used by kind %s (see docs/benchmarks.md)", kname);
        *dst[i] = yd_path(doc, v, k, data_dir);
    }
    if ((v = yd_get(n, "batch_size"))) {
        snprintf(k, sizeof k, "%s.batch_size", prefix);
        b->batch_size = (int)yd_int(doc, v, k, 1, INT_MAX);
    }
    if ((v = yd_get(n, "max_new_tokens"))) {
        snprintf(k, sizeof k, "%s.max_new_tokens", prefix);
        b->max_new_tokens = (int)yd_int(doc, v, k, 1, INT_MAX);
    }
    if ((v = yd_get(n, "limit"))) {
        snprintf(k, sizeof k, "%s.limit", prefix);
        b->limit = (int)yd_int(doc, v, k, 0, INT_MAX);
    }
    bench_spec_finish(b);
}

static void load_benches(const YdDoc *doc, const YdNode *list, Job *job) {
    yd_expect_seq(doc, list, "benchmarks");
    if (list->n == 0) yd_fail(doc, yd_line(list), "benchmarks", "the list is empty");
    const char *data_dir = job->data_root ? job->data_root : doc->dir;
    job->benches = hl_calloc((size_t)list->n, sizeof *job->benches);
    for (int i = 0; i < list->n; i++) {
        load_bench(doc, list->items[i], i, data_dir, &job->benches[i]);
        job->n_benches = i + 1;
        for (int j = 0; j < i; j++)
            if (!strcmp(job->benches[j].name, job->benches[i].name)) {
                char k[64];
                snprintf(k, sizeof k, "benchmarks[%d]", i);
                yd_fail(doc, list->items[i]->line, k,
                        "benchmark name \"%s\" is already used by benchmarks[%d] (give each a "
                        "distinct 'name')",
                        job->benches[i].name, j);
            }
    }
}

static void load_sweep(const YdDoc *doc, const YdNode *s, Job *job) {
    yd_expect_map(doc, s, "sweep");
    yd_check_keys(doc, s, "sweep", sweep_keys);
    const YdNode *lay = yd_get(s, "layouts"), *bs = yd_get(s, "batch_sizes");
    if (!lay && !bs) yd_fail(doc, yd_line(s), "sweep", "needs layouts, batch_sizes or both");
    JobSweep *w = &job->sweep;
    char k[64];
    if (lay) {
        yd_expect_seq(doc, lay, "sweep.layouts");
        if (!lay->n) yd_fail(doc, yd_line(lay), "sweep.layouts", "the list is empty");
        w->layouts = hl_malloc((size_t)lay->n * sizeof *w->layouts);
        for (int i = 0; i < lay->n; i++) {
            snprintf(k, sizeof k, "sweep.layouts[%d]", i);
            const YdNode *it = lay->items[i];
            const char *str = it->kind == YD_SCALAR ? it->value : "";
            if (it->kind != YD_SCALAR || !run_layout_parse(str, &w->layouts[i])) {
                char got[96];
                yd_fail(doc, yd_line(it), k, "expected a layout DPxPPxTP such as \"2x1x4\", got %s",
                        yd_describe(it, got, sizeof got));
            }
            for (int j = 0; j < i; j++)
                if (!memcmp(&w->layouts[j], &w->layouts[i], sizeof w->layouts[i]))
                    yd_fail(doc, yd_line(it), k, "layout %s is listed twice", str);
            w->n_layouts = i + 1;
        }
    } else {
        w->layouts = hl_malloc(sizeof *w->layouts);
        w->layouts[0] = (RunLayout){job->run.dp, job->run.pp, job->run.tp};
        w->n_layouts = 1;
    }
    if (bs) {
        yd_expect_seq(doc, bs, "sweep.batch_sizes");
        if (!bs->n) yd_fail(doc, yd_line(bs), "sweep.batch_sizes", "the list is empty");
        w->batch_sizes = hl_malloc((size_t)bs->n * sizeof *w->batch_sizes);
        for (int i = 0; i < bs->n; i++) {
            snprintf(k, sizeof k, "sweep.batch_sizes[%d]", i);
            w->batch_sizes[i] = (int)yd_int(doc, bs->items[i], k, 1, INT_MAX);
            for (int j = 0; j < i; j++)
                if (w->batch_sizes[j] == w->batch_sizes[i])
                    yd_fail(doc, yd_line(bs->items[i]), k, "batch size %d is listed twice",
                            w->batch_sizes[i]);
            w->n_batch_sizes = i + 1;
        }
    } else {
        w->batch_sizes = hl_malloc(sizeof *w->batch_sizes);
        w->batch_sizes[0] = job->run.batch_size;
        w->n_batch_sizes = 1;
    }
    job->has_sweep = 1;
}

void job_load(const char *path, Job *job) {
    memset(job, 0, sizeof *job);
    job->top_p = 1.0;
    YdDoc doc;
    yd_load(path, &doc);
    if (!doc.root) hl_fail("%s: empty file (a job needs run, output and benchmarks)", path);
    yd_expect_map(&doc, doc.root, "");
    yd_check_keys(&doc, doc.root, "", job_keys);
    job->path = hl_strdup(path);

    load_run(&doc, yd_require(&doc, doc.root, "", "run"), job);
    job->output = yd_path(&doc, yd_require(&doc, doc.root, "", "output"), "output", NULL);
    const YdNode *v;
    if ((v = yd_get(doc.root, "model_id"))) {
        const char *s = yd_str(&doc, v, "model_id");
        for (const char *c = s; *c; c++)
            if ((unsigned char)*c < 32)
                yd_fail(&doc, yd_line(v), "model_id", "control characters are not allowed");
        job->model_id = hl_strdup(s);
    } else {
        job->model_id = path_stem(job->run.model);
    }
    if ((v = yd_get(doc.root, "generation"))) load_generation(&doc, v, job);
    if ((v = yd_get(doc.root, "data_root"))) job->data_root = yd_path(&doc, v, "data_root", NULL);
    load_benches(&doc, yd_require(&doc, doc.root, "", "benchmarks"), job);
    if ((v = yd_get(doc.root, "sweep"))) load_sweep(&doc, v, job);
    yd_free(&doc);
}

void job_free(Job *job) {
    free(job->path);
    run_config_free(&job->run);
    free(job->output);
    free(job->model_id);
    free(job->data_root);
    for (int i = 0; i < job->n_benches; i++) bench_spec_free(&job->benches[i]);
    free(job->benches);
    free(job->sweep.layouts);
    free(job->sweep.batch_sizes);
    memset(job, 0, sizeof *job);
}

int job_find_bench(const Job *job, const char *sel) {
    for (int i = 0; i < job->n_benches; i++)
        if (!strcmp(job->benches[i].name, sel)) return i;
    char *end;
    long v = strtol(sel, &end, 10);
    if (!*end && end != sel && v >= 0 && v < job->n_benches) return (int)v;
    hl_fail("%s: no benchmark '%s' (names or indices 0..%d)", job->path, sel, job->n_benches - 1);
}
