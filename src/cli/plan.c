/* `hyperllava plan`: validates a run config or a job before anything is
 * launched and prints the rank grid, the blocks each stage owns and, for a
 * job, its benchmarks and sweep. Needs no MPI: the launchers call it on a
 * login node to learn the world size (--print-world, --print-shell). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/questions.h"
#include "kernels/ctx.h"
#include "model/config.h"
#include "model/hf_config.h"
#include "run/config.h"
#include "run/cost.h"
#include "run/job.h"
#include "util/check.h"
#include "util/path.h"

static const char *usage =
    "usage: hyperllava plan (--job FILE | --config FILE) [options]\n"
    "\n"
    "Checks a run config, or a job and its run config, without starting any rank:\n"
    "every key and value, the layout against the model's numbers (read from the\n"
    "weight file's attributes, no tensors), that the model and benchmark files\n"
    "exist, that the binary has the backend, and that the output folder holds no\n"
    "answers (unless --resume). Prints the rank grid, the blocks each pipeline stage\n"
    "owns, the ranks, for a job its benchmarks and sweep runs, the memory of every\n"
    "rank, and the cost of every benchmark: FLOPs and bytes, the pipeline bubble and,\n"
    "with a calibration file, the wall time (docs/plan.md). Exit status 1 on any\n"
    "problem.\n"
    "\n"
    "  --job FILE        an evaluation job (YAML, docs/config.md)\n"
    "  --config FILE     a run config (YAML)\n"
    "  --world N         the number of ranks that will be started (checked against dp*pp*tp)\n"
    "  --layout DxPxT    override parallel.dp/pp/tp, as `eval --layout` does\n"
    "  --batch-size N    override batch_size, as `eval --batch-size` does\n"
    "  --node-memory GB  memory of one node in GiB for the fits / does not fit verdict\n"
    "  --gpu-memory GB   memory of each rank's GPU in GiB with backend cuda (default 80)\n"
    "                    (default: this machine's)\n"
    "  --model-config F  the model's numbers from a HuggingFace checkpoint's config.json\n"
    "                    instead of the weight file (cost a model before converting it)\n"
    "  --resume          the run continues answers already in the output folder\n"
    "  --calibration F   rates of the target node, from `hyperllava bench --calibrate`:\n"
    "                    adds wall-time estimates\n"
    "  --time-limit T    an array task's time limit (SLURM format: MM, HH:MM:SS,\n"
    "                    D-HH:MM...): warns when a task's estimate exceeds it\n"
    "  --text-tokens N   text tokens of a prompt for the cost (default 64)\n"
    "  --answer-tokens N tokens of an answer for the time estimate (default: the kind's\n"
    "                    typical: 4 for short answers, max_new_tokens for open ones)\n"
    "  --questions N     with --config: the cost of N image questions\n"
    "  --print-world     print only the world size dp*pp*tp (for launchers)\n"
    "  --print-shell     print shell variable assignments for the launchers\n"
    "                    (HL_WORLD, HL_THREADS, HL_OUTPUT, HL_SWEEP, ...)\n"
    "  -h, --help        this text\n";

/* Model facts when the weight file could be read. */
typedef struct {
    int have;
    const char *hf; /* the config.json the numbers came from, or NULL */
    ModelShape m;
    ModelConfig c;
} Model;

static char *answers_path(const Job *job, const BenchSpec *b) {
    char *dir = path_os_join(job->output, b->name), *p = path_os_join(dir, "answers.jsonl");
    free(dir);
    return p;
}

/* Lines of OUTPUT/<bench>/answers.jsonl; 0 when there is none. */
static long answer_lines(const Job *job, const BenchSpec *b) {
    char *p = answers_path(job, b);
    FILE *f = fopen(p, "r");
    free(p);
    if (!f) return 0;
    long n = 0;
    int ch, last = '\n';
    while ((ch = getc(f)) != EOF) {
        if (ch == '\n') n++;
        last = ch;
    }
    if (last != '\n') n++;
    fclose(f);
    return n;
}

/* Bytes of weights one rank holds: the formula of docs/parallel.md ("Memory per
 * rank"): matrices at mat_bytes (4 for f32, 2 for bf16 / f16), vectors f32. */
static long long rank_weight_bytes(const ModelConfig *c, int stage, int pp, int tp, int b0, int b1,
                                   int mat_bytes) {
    long long C = c->v_hidden, Iv = c->v_inter, P = c->patch_size, NP = c->n_patches;
    long long d = c->hidden, I = c->inter, V = c->vocab, used = c->v_layers_used;
    long long de = c->e_embed, h = c->e_hidden, r = c->e_rank;
    long long w = 0, n = 0;
    if (stage == 0) {
        w += C * 3 * P * P, n += C + (1 + NP) * C + 2 * C;
        w += used * (3 * (C / tp) * C + C * (C / tp) + (Iv / tp) * C + C * (Iv / tp));
        n += used * (4 * C + 3 * (C / tp) + C + (Iv / tp) + C);
        w += d * C + d * d, n += d + d;
        const int on[2] = {c->expert_v1, c->expert_v2};
        const long long n_in[2] = {C, d};
        for (int k = 0; k < 2; k++)
            if (on[k]) {
                long long K = r * n_in[k] + d * r;
                w += h * de + K * h + de * C, n += h + K + de + K;
            }
        w += V * d;
    }
    w += (long long)(b1 - b0) * (4 * d * d / tp + 3 * I * d / tp),
        n += (long long)(b1 - b0) * 2 * d;
    long long post = 0;
    for (int b = b0; b < b1; b++) post += c->expert_lang && b >= c->guide_layer;
    if (post) {
        w += h * de + (r * d + (d / tp) * r) * h, n += h + r * d + (d / tp) * r;
        w += post * de * d, n += post * (de + r * d + (d / tp) * r);
    }
    if (stage == pp - 1) w += (V / tp) * d, n += d;
    return 4 * n + (long long)mat_bytes * w;
}

static double gib(long long b) {
    return (double)b / (1024.0 * 1024.0 * 1024.0);
}

/* "1.23 GiB" or "4.5 MiB" (static buffer per call site slot) */
static const char *human(long long b, int slot) {
    static char buf[6][32];
    if (b >= 1024LL * 1024 * 1024)
        snprintf(buf[slot], sizeof buf[slot], "%.2f GiB", gib(b));
    else
        snprintf(buf[slot], sizeof buf[slot], "%.1f MiB", (double)b / (1024.0 * 1024.0));
    return buf[slot];
}

static int file_exists(const char *path) {
    return access(path, F_OK) == 0;
}

static void check_or_fail(const RunConfig *cfg, const Model *model, int world) {
    char *err = run_config_check_layout(cfg, model->have ? &model->m : NULL, world);
    if (err) hl_fail("%s", err);
}

/* 'value' with embedded single quotes escaped, for `eval` in bash. */
static void shell_var(const char *name, const char *value) {
    printf("%s='", name);
    for (const char *c = value; *c; c++) {
        if (*c == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*c);
    }
    printf("'\n");
}

static void shell_int(const char *name, long long v) {
    printf("%s=%lld\n", name, v);
}

static int world_of(const RunConfig *c) {
    return layout_world(run_config_layout(c));
}

/* Every sweep run as a config copy; checks each against the model. */
static void sweep_config(const Job *job, int li, int bi, RunConfig *out) {
    run_config_copy(out, &job->run);
    run_config_set_layout(out, job->sweep.layouts[li]);
    run_config_set_batch_size(out, job->sweep.batch_sizes[bi]);
}

/* Why a sweep run cannot run, without the run config's path in front (the
 * run is named by its layout instead), or NULL when it is valid. */
static char *sweep_invalid(const RunConfig *c, const Model *model) {
    char *err = run_config_check_layout(c, model->have ? &model->m : NULL, 0);
    if (!err || !c->path) return err;
    size_t n = strlen(c->path);
    if (strncmp(err, c->path, n) || strncmp(err + n, ": ", 2)) return err;
    char *why = hl_strdup(err + n + 2);
    free(err);
    return why;
}

/* Appends text to *s after sep (nothing before the first). */
static void append(char **s, const char *sep, const char *text) {
    char *t = hl_strdupf("%s%s%s", *s ? *s : "", *s ? sep : "", text);
    free(*s);
    *s = t;
}

static void print_shell(const RunConfig *cfg, const Job *job, const Model *model) {
    shell_int("HL_WORLD", world_of(cfg));
    shell_int("HL_DP", cfg->dp);
    shell_int("HL_PP", cfg->pp);
    shell_int("HL_TP", cfg->tp);
    shell_int("HL_THREADS", cfg->threads);
    shell_int("HL_NODES", cfg->nodes);
    shell_int("HL_BATCH_SIZE", cfg->batch_size);
    shell_var("HL_BACKEND", cfg->backend);
    shell_var("HL_MODEL", cfg->model);
    if (!job) return;
    char *name = path_stem(job->path);
    shell_var("HL_JOB_NAME", name);
    free(name);
    shell_var("HL_OUTPUT", job->output);
    shell_int("HL_N_BENCHES", job->n_benches);
    size_t cap = 1, len = 0;
    for (int i = 0; i < job->n_benches; i++) cap += strlen(job->benches[i].name) + 1;
    char *names = hl_calloc(cap, 1);
    for (int i = 0; i < job->n_benches; i++)
        len += (size_t)snprintf(names + len, cap - len, "%s%s", i ? " " : "", job->benches[i].name);
    shell_var("HL_BENCH_NAMES", names);
    free(names);
    /* HL_SWEEP: the runs to start; HL_SWEEP_ALL: every run in the sweep's
     * order; HL_SWEEP_SKIPPED: one line per invalid run, "RUN reason". */
    int max_world = world_of(cfg);
    char *sweep = NULL, *all = NULL, *skipped = NULL;
    if (job->has_sweep) {
        max_world = 0;
        for (int li = 0; li < job->sweep.n_layouts; li++)
            for (int bi = 0; bi < job->sweep.n_batch_sizes; bi++) {
                RunConfig c;
                sweep_config(job, li, bi, &c);
                char item[96];
                snprintf(item, sizeof item, "%dx%dx%d:%d:%d", c.dp, c.pp, c.tp, c.batch_size,
                         world_of(&c));
                append(&all, " ", item);
                char *why = sweep_invalid(&c, model);
                if (why) {
                    char *line = hl_strdupf("%s %s", item, why);
                    append(&skipped, "\n", line);
                    free(line);
                } else {
                    append(&sweep, " ", item);
                    if (world_of(&c) > max_world) max_world = world_of(&c);
                }
                free(why);
                run_config_free(&c);
            }
    }
    shell_var("HL_SWEEP", sweep ? sweep : "");
    shell_var("HL_SWEEP_ALL", all ? all : "");
    shell_var("HL_SWEEP_SKIPPED", skipped ? skipped : "");
    free(sweep), free(all), free(skipped);
    shell_int("HL_MAX_WORLD", max_world);
}

static void print_range(const char *what, int first, int count) {
    if (count == 1)
        printf("%s %d", what, first);
    else
        printf("%ss %d-%d", what, first, first + count - 1);
}

/* Per rank: weights (exact), KV cache, generated adapters and activations (estimates)
 * against the node's memory, or with backend cuda against each rank's GPU.
 * Returns 1 when every node's ranks (every rank's GPU) fit. */
static int print_memory(const RunConfig *cfg, const Job *job, const Model *model, double node_gib,
                        double gpu_gib) {
    if (!model->have) return 1;
    const ModelConfig *c = &model->c;
    int world = world_of(cfg), tp = cfg->tp;
    int mat = strcmp(cfg->dtype, "f32") ? 2 : 4;
    int *counts = hl_malloc((size_t)cfg->pp * sizeof *counts);
    run_config_stages(cfg, &model->m, counts);
    int batch = cfg->batch_size, max_new = 0;
    for (int i = 0; job && i < job->n_benches; i++) {
        const BenchSpec *b = &job->benches[i];
        if (b->batch_size > batch) batch = b->batch_size;
        if (b->max_new_tokens > max_new) max_new = b->max_new_tokens;
    }
    if (!max_new) max_new = 128;
    long long ctx = (long long)c->n_patches + 64 + max_new; /* image + text estimate + answer */
    long long d = c->hidden, dl = d / tp, r = c->e_rank;
    int per_node = cfg->nodes > 0 ? world / cfg->nodes : world;
    long long node_sum = 0, worst = 0, worst_rank = 0;
    const int gpu = !strcmp(cfg->backend, "cuda");
    printf(
        "memory:     per rank%s (weights exact; KV cache, adapters and activations estimated for\n"
        "            batch %d at context %lld = %d image positions + 64 text + %d new tokens)\n",
        gpu ? ", in the memory of its GPU" : "", batch, ctx, c->n_patches, max_new);
    for (int rk = 0; rk < world; rk++) {
        LayoutCoords rc = layout_coords(run_config_layout(cfg), rk);
        int b0 = layout_first_block(counts, rc.p), b1 = b0 + counts[rc.p];
        long long wb = rank_weight_bytes(c, rc.p, cfg->pp, tp, b0, b1, mat);
        long long kv = 2LL * (b1 - b0) * batch * ctx * dl * 4;
        long long post = 0;
        for (int b = b0; b < b1; b++) post += c->expert_lang && b >= c->guide_layer;
        long long adapters = (long long)batch * post * (r * d + dl * r) * 4;
        long long widest = d > c->inter / tp ? d : c->inter / tp;
        if (rc.p == 0 && c->v_inter / tp > widest) widest = c->v_inter / tp;
        long long act = 4LL * batch * ctx * widest * 4;
        if (rc.p == cfg->pp - 1) act += (long long)batch * (c->vocab / tp) * 4;
        long long total = wb + kv + adapters + act;
        printf("  rank %d: weights %lld bytes (%s), kv %s, adapters %s, activations %s, "
               "total %s\n",
               rk, wb, human(wb, 0), human(kv, 1), human(adapters, 2), human(act, 3),
               human(total, 4));
        node_sum += total;
        if (total > worst_rank) worst_rank = total;
        if ((rk + 1) % per_node == 0 || rk == world - 1) {
            if (node_sum > worst) worst = node_sum;
            node_sum = 0;
        }
    }
    free(counts);
    if (gpu) {
        /* one GPU per rank; the host keeps only the engine's buffers */
        int fits = gib(worst_rank) <= gpu_gib;
        printf("gpu:        the largest rank needs %s of its GPU's %.2f GiB (--gpu-memory): %s\n",
               human(worst_rank, 5), gpu_gib, fits ? "fits" : "does not fit");
        return fits;
    }
    int fits = gib(worst) <= node_gib;
    printf("node:       %d rank%s per node need %s of %.2f GiB: %s\n", per_node,
           per_node == 1 ? "" : "s", human(worst, 5), node_gib, fits ? "fits" : "does not fit");
    return fits;
}

static void print_plan(const RunConfig *cfg, const Job *job, const Model *model, int *missing,
                       int *answered, int *invalid, int *sweep_runs) {
    int world = world_of(cfg);
    if (job) printf("job:        %s\n", job->path);
    printf("run config: %s\n", cfg->path);
    printf("model:      %s", cfg->model);
    if (model->have) {
        const ModelShape *m = &model->m;
        printf(" (%d blocks, hidden %d, %d heads, intermediate %d, vocab %d; vision hidden %d, "
               "%d heads",
               m->layers, m->hidden, m->heads, m->intermediate, m->vocab, m->vision_hidden,
               m->vision_heads);
        if (m->guide_layer > 0) printf("; language expert from block %d", m->guide_layer);
        printf(")");
        if (model->hf) printf("\n            numbers from %s (not converted yet)", model->hf);
        printf("\n");
    } else {
        printf("  MISSING (model-dependent checks skipped)\n");
        (*missing)++;
    }
    if (job) {
        printf("output:     %s\n", job->output);
        printf("model_id:   %s\n", job->model_id);
        if (job->temperature > 0)
            printf("generation: temperature %g, top_p %g, seed %llu\n", job->temperature,
                   job->top_p, (unsigned long long)job->seed);
        else
            printf("generation: greedy\n");
    }
    printf("grid:       dp %d x pp %d x tp %d = world %d\n", cfg->dp, cfg->pp, cfg->tp, world);
    if (cfg->nodes > 0)
        printf("nodes:      %d (%d ranks per node)\n", cfg->nodes, world / cfg->nodes);
    printf("backend:    %s, %s, %d thread%s per rank\n", cfg->backend, cfg->dtype, cfg->threads,
           cfg->threads == 1 ? "" : "s");
    printf("batching:   %d samples per replica batch in %d micro-batch%s (", cfg->batch_size,
           cfg->micro_batches, cfg->micro_batches == 1 ? "" : "es");
    int n_micro = layout_micro_count(cfg->batch_size, cfg->micro_batches);
    for (int i = 0, lo; i < n_micro; i++)
        printf("%s%d", i ? ", " : "", layout_micro_batch(cfg->batch_size, n_micro, i, &lo));
    printf(")\n");

    printf("stages:\n");
    int *counts = NULL;
    if (model->have) {
        counts = hl_malloc((size_t)cfg->pp * sizeof *counts);
        run_config_stages(cfg, &model->m, counts);
    } else if (cfg->stage_blocks) {
        counts = hl_malloc((size_t)cfg->pp * sizeof *counts);
        memcpy(counts, cfg->stage_blocks, (size_t)cfg->pp * sizeof *counts);
    }
    /* the engine's own split and guidance stage (util/layout.h) */
    int guide_stage =
        model->have && counts ? layout_guide_stage(counts, cfg->pp, model->m.guide_layer) : -1;
    for (int p = 0; p < cfg->pp; p++) {
        printf("  stage %d: ", p);
        if (counts) {
            print_range("block", layout_first_block(counts, p), counts[p]);
            printf(" (%d)", counts[p]);
        } else {
            printf("blocks: %s split (needs the model's block count)",
                   cfg->stages_balanced ? "balanced" : "even");
        }
        if (p == 0) printf(" + vision tower + projector");
        if (p == cfg->pp - 1) printf(" + final norm + LM head");
        printf("\n");
    }
    if (guide_stage >= 0) {
        int g = model->m.guide_layer, last = model->m.layers - 1;
        printf("guidance:   output of block %d (stage %d) is broadcast to the stages owning "
               "blocks %d-%d\n",
               g - 1, guide_stage, g, last);
    }
    free(counts);

    printf("ranks:\n");
    for (int r = 0; r < world; r++) {
        LayoutCoords rc = layout_coords(run_config_layout(cfg), r);
        printf("  rank %d: replica %d, stage %d, tp %d", r, rc.d, rc.p, rc.t);
        if (cfg->nodes > 0) printf(", node %d", r / (world / cfg->nodes));
        printf("\n");
    }
    if (cfg->nodes > 0 && (world / cfg->nodes) % cfg->tp)
        printf("note:       %d ranks per node is not a multiple of tp %d: some tensor-parallel "
               "groups span nodes\n",
               world / cfg->nodes, cfg->tp);
    if (!job) return;

    printf("benchmarks:\n");
    for (int i = 0; i < job->n_benches; i++) {
        const BenchSpec *b = &job->benches[i];
        printf("  [%d] %s (kind %s): max_new_tokens %d, batch %d, ", i, b->name,
               bench_kind_name(b->kind), b->max_new_tokens,
               b->batch_size ? b->batch_size : cfg->batch_size);
        if (b->limit)
            printf("first %d questions\n", b->limit);
        else
            printf("all questions\n");
        const char *labels[3] = {"questions", "images", "annotations"};
        const char *paths[3] = {b->questions, b->images, b->annotations};
        for (int k = 0; k < 3; k++) {
            if (!paths[k]) continue;
            int ok = file_exists(paths[k]);
            printf("      %-11s %s%s\n", labels[k], paths[k], ok ? "" : "  MISSING");
            if (!ok) (*missing)++;
        }
        long lines = answer_lines(job, b);
        if (lines > 0) {
            char *ans = answers_path(job, b);
            printf("      answers     %s: %ld line%s  ANSWERS\n", ans, lines,
                   lines == 1 ? "" : "s");
            free(ans);
            (*answered)++;
        }
    }
    if (job->has_sweep) {
        int total = job->sweep.n_layouts * job->sweep.n_batch_sizes, bad = 0;
        for (int li = 0; li < job->sweep.n_layouts; li++)
            for (int bi = 0; bi < job->sweep.n_batch_sizes; bi++) {
                RunConfig c;
                sweep_config(job, li, bi, &c);
                char *why = sweep_invalid(&c, model);
                bad += why != NULL;
                free(why);
                run_config_free(&c);
            }
        printf("sweep:      %d layout%s x %d batch size%s: %d run%s", job->sweep.n_layouts,
               job->sweep.n_layouts == 1 ? "" : "s", job->sweep.n_batch_sizes,
               job->sweep.n_batch_sizes == 1 ? "" : "s", total - bad, total - bad == 1 ? "" : "s");
        if (bad) printf(", %d invalid and skipped", bad);
        printf("\n");
        for (int li = 0; li < job->sweep.n_layouts; li++)
            for (int bi = 0; bi < job->sweep.n_batch_sizes; bi++) {
                RunConfig c;
                sweep_config(job, li, bi, &c);
                char *why = sweep_invalid(&c, model);
                printf("  %dx%dx%d batch %d: world %d, %d micro-batch%s%s%s\n", c.dp, c.pp, c.tp,
                       c.batch_size, world_of(&c), c.micro_batches,
                       c.micro_batches == 1 ? "" : "es", why ? "  SKIPPED: " : "", why ? why : "");
                free(why);
                run_config_free(&c);
            }
        *sweep_runs = total;
        *invalid = bad;
    }
}

typedef struct {
    const char *model_config, *calibration, *time_limit;
    int text_tokens, answer_tokens, questions, resume;
    double limit_s; /* 0: no limit given */
} PlanOpts;

/* SLURM's time formats: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
 * Returns 1 and the seconds (0 for UNLIMITED), or 0 when malformed. */
static int parse_time_limit(const char *s, double *sec) {
    if (!strcasecmp(s, "unlimited") || !strcasecmp(s, "infinite")) return *sec = 0, 1;
    long days = 0, v[3];
    int n = 0;
    const char *p = s, *dash = strchr(s, '-');
    char *end;
    if (dash) {
        days = strtol(s, &end, 10);
        if (end != dash || end == s || days < 0) return 0;
        p = dash + 1;
    }
    while (n < 3) {
        if (*p < '0' || *p > '9') return 0;
        v[n++] = strtol(p, &end, 10);
        if (!*end) break;
        if (*end != ':') return 0;
        p = end + 1;
    }
    if (*end) return 0;
    double h = 0, m = 0, sc = 0;
    if (dash) /* D-HH[:MM[:SS]] */
        h = (double)v[0], m = n > 1 ? (double)v[1] : 0, sc = n > 2 ? (double)v[2] : 0;
    else if (n == 1)
        m = (double)v[0];
    else if (n == 2)
        m = (double)v[0], sc = (double)v[1];
    else
        h = (double)v[0], m = (double)v[1], sc = (double)v[2];
    *sec = days * 86400.0 + h * 3600 + m * 60 + sc;
    return *sec > 0;
}

/* "1:02:03", or "2-01:02:03" past a day (static buffer per slot). */
static const char *duration(double s, int slot) {
    static char buf[4][32];
    long t = (long)(s + 0.5), d = t / 86400;
    t %= 86400;
    if (d)
        snprintf(buf[slot], sizeof buf[slot], "%ld-%02ld:%02ld:%02ld", d, t / 3600, t / 60 % 60,
                 t % 60);
    else
        snprintf(buf[slot], sizeof buf[slot], "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    return buf[slot];
}

/* "1.23 TFLOP" style (static buffer per slot). */
static const char *si(double v, const char *unit, int slot) {
    static char buf[4][32];
    const char *pre[] = {"", "k", "M", "G", "T", "P", "E"};
    int i = 0;
    while (v >= 1000 && i < 6) v /= 1000, i++;
    snprintf(buf[slot], sizeof buf[slot], "%.3g %s%s", v, pre[i], unit);
    return buf[slot];
}

static void print_part(const char *what, Cost k) {
    printf("      %-8s flops %.0f (%s), bytes %.0f (%s)\n", what, k.flops, si(k.flops, "FLOP", 0),
           k.bytes, si(k.bytes, "B", 1));
}

/* Tokens of a typical answer: a word, a number or an option letter and the
 * end token for the kinds whose prompt asks for one; open answers may use
 * all of max_new_tokens. */
static int typical_answer(BenchKind k, int max_new) {
    if (k == BENCH_LLAVA_BENCH || k == BENCH_MMVET) return max_new;
    return max_new < 4 ? max_new : 4;
}

static double pct(double part, double whole) {
    return whole > 0 ? 100.0 * part / whole : 0;
}

/* Per benchmark: the model's work (FLOPs, bytes) at max_new_tokens, the
 * bubble, and with rates the wall time; then per array task against the
 * time limit. Returns the number of warnings printed. */
static int print_cost(const RunConfig *cfg, const Job *job, const Model *model, const PlanOpts *po,
                      const Calibration *cal) {
    if (!model->have) return 0;
    int world = world_of(cfg), n = job ? job->n_benches : (po->questions > 0);
    printf("cost:       the model's work with every answer max_new_tokens long: FLOPs and bytes\n"
           "            read (weights once per micro-batch pass, KV cache); prompts of %d text\n"
           "            tokens (--text-tokens)%s\n",
           po->text_tokens, n ? "" : "; --questions N gives the cost of N image questions");
    if (cal) {
        printf("rates:      %s: %.3g GFLOP/s GEMM, %.3g GB/s weight streaming per rank", cal->path,
               cal->gemm_gflops, cal->stream_gbps);
        if (cal->stream_alone_gbps > 0) printf(" (%.3g alone)", cal->stream_alone_gbps);
        if (cal->p2p_gbps > 0)
            printf(", messages %.1f us + %.2f GB/s", cal->p2p_latency_s * 1e6, cal->p2p_gbps);
        if (cal->attn_gflops > 0)
            printf(
                ",\n            attention %.3g GFLOP/s + %.3g ns per score + %.3g ns per query row "
                "and head",
                cal->attn_gflops, cal->attn_score_ns, cal->attn_row_ns);
        if (cal->rowop_ns > 0 || cal->rowop_row_ns > 0)
            printf(",\n            row operations %.3g ns per element + %.3g ns per row and block",
                   cal->rowop_ns, cal->rowop_row_ns);
        printf("\n            (%s, %s, %d rank%s x %d thread%s, %s, %s)\n", cal->host, cal->date,
               cal->ranks, cal->ranks == 1 ? "" : "s", cal->threads, cal->threads == 1 ? "" : "s",
               cal->backend, cal->dtype);
        if (cal->threads != cfg->threads)
            printf("note:       calibrated with %d thread%s per rank, the run uses %d: times are "
                   "off by about that ratio\n",
                   cal->threads, cal->threads == 1 ? "" : "s", cfg->threads);
        if (strcmp(cal->dtype, cfg->dtype))
            printf("note:       calibrated with weights held as %s, the run holds %s\n", cal->dtype,
                   cfg->dtype);
        if (strcmp(cal->backend, cfg->backend))
            printf("note:       calibrated on the %s backend, the run uses %s\n", cal->backend,
                   cfg->backend);
        if (world > 1 && cal->p2p_gbps <= 0)
            printf("note:       the calibration has no message rates: communication "
                   "is not counted\n");
    }
    double *typ = hl_calloc((size_t)(n ? n : 1), sizeof(double));
    double *most = hl_calloc((size_t)(n ? n : 1), sizeof(double));
    int *known = hl_calloc((size_t)(n ? n : 1), sizeof(int));
    for (int i = 0; i < n; i++) {
        const BenchSpec *b = job ? &job->benches[i] : NULL;
        CostWork w = {.text_tokens = po->text_tokens, .batch = cfg->batch_size};
        const char *name = b ? b->name : "questions";
        int max_new = b ? b->max_new_tokens : (po->answer_tokens ? po->answer_tokens : 128);
        if (b) {
            if (b->batch_size) w.batch = b->batch_size;
            if (!file_exists(b->questions)) {
                printf("  [%d] %s: not costed (questions file missing)\n", i, name);
                continue;
            }
            EvalSet *set = eval_read(b, NULL);
            w.questions = (long)set->n;
            for (size_t k = 0; k < set->n; k++) w.images += eval_item_has_image(&set->items[k]);
            eval_set_free(set);
        } else {
            w.questions = w.images = po->questions;
        }
        w.new_tokens = max_new;
        RunConfig run = *cfg;
        run.batch_size = w.batch;
        if (run.micro_batches > w.batch) run.micro_batches = w.batch;
        CostEstimate e;
        cost_estimate(&model->c, &run, &w, cal, &e);
        int M = layout_micro_count(w.batch, run.micro_batches);
        printf("  [%d] %s: %ld questions (%ld with an image), batch %d, up to %d new tokens; "
               "pipeline bubble %.3f = (%d-1)/(%d+%d-1)\n",
               i, name, w.questions, w.images, w.batch, max_new, e.bubble, cfg->pp, M, cfg->pp);
        print_part("vision", e.vision);
        print_part("prefill", e.prefill);
        print_part("decode", e.decode);
        print_part("total", (Cost){.flops = e.vision.flops + e.prefill.flops + e.decode.flops,
                                   .bytes = e.vision.bytes + e.prefill.bytes + e.decode.bytes});
        if (!cal) continue;
        int ta = po->answer_tokens ? po->answer_tokens
                                   : (b ? typical_answer(b->kind, max_new) : max_new);
        if (ta > max_new) ta = max_new;
        CostEstimate et = e;
        if (ta != max_new) {
            w.new_tokens = ta;
            cost_estimate(&model->c, &run, &w, cal, &et);
        }
        known[i] = 1, typ[i] = et.time_s, most[i] = e.time_s;
        printf("      time     ~%s with %d-token answers, at most %s (max_new_tokens)\n",
               duration(et.time_s, 0), ta, duration(e.time_s, 1));
        printf("               %.3f s estimated: vision %.0f%%, prefill %.0f%%, decode %.0f%%; "
               "communication %.0f%%\n",
               et.time_s, pct(et.vision_s, et.time_s), pct(et.prefill_s - et.vision_s, et.time_s),
               pct(et.decode_s, et.time_s), pct(et.comm_s, et.time_s));
    }
    int warnings = 0;
    if (!cal) {
        printf("time:       no calibration file: measure a node of the target kind with\n"
               "            `hyperllava bench --calibrate --json FILE` (under mpirun/srun with "
               "%d rank%s,\n"
               "            as this layout runs) and pass --calibration FILE for wall times\n",
               world, world == 1 ? "" : "s");
    } else if (job) {
        double sum_t = 0, sum_m = 0;
        printf("array:      one task per benchmark (hyperllava-submit), weight loading not "
               "counted; ");
        if (po->limit_s > 0)
            printf("time limit %s\n", duration(po->limit_s, 0));
        else
            printf("no time limit given (--time-limit)\n");
        for (int i = 0; i < n; i++) {
            if (!known[i]) continue;
            sum_t += typ[i], sum_m += most[i];
            printf("  task %d (%s): ~%s, at most %s\n", i, job->benches[i].name,
                   duration(typ[i], 0), duration(most[i], 1));
        }
        printf("one allocation (--mode throughput): ~%s, at most %s\n", duration(sum_t, 0),
               duration(sum_m, 1));
        for (int i = 0; i < n && po->limit_s > 0; i++) {
            if (!known[i]) continue;
            if (typ[i] > po->limit_s) {
                printf("warning: array task %d (%s): estimated %s exceeds the time limit %s\n", i,
                       job->benches[i].name, duration(typ[i], 0), duration(po->limit_s, 1));
                warnings++;
            } else if (most[i] > po->limit_s) {
                printf("note:       array task %d (%s): at most %s if every answer runs to "
                       "max_new_tokens, more than the time limit %s\n",
                       i, job->benches[i].name, duration(most[i], 0), duration(po->limit_s, 1));
            }
        }
    }
    free(typ), free(most), free(known);
    return warnings;
}

/* Appends a problem to a "; "-joined list. */
static void problem(char **list, const char *text) {
    char *s = hl_strdupf("%s%s%s", *list ? *list : "", *list ? "; " : "", text);
    free(*list);
    *list = s;
}

int cmd_plan(int argc, char **argv) {
    const char *job_path = NULL, *config_path = NULL, *layout = NULL;
    int world = 0, batch = 0, print_world = 0, shell = 0;
    double node_gb = 0, gpu_gb = 80;
    PlanOpts po = {.text_tokens = 64};
    const Opt opts[] = {{"--job", OPT_STR, &job_path, 0, NULL},
                        {"--config", OPT_STR, &config_path, 0, NULL},
                        {"--world", OPT_INT, &world, 1, NULL},
                        {"--layout", OPT_STR, &layout, 0, NULL},
                        {"--batch-size", OPT_INT, &batch, 1, NULL},
                        {"--node-memory", OPT_REAL, &node_gb, 0, NULL},
                        {"--gpu-memory", OPT_REAL, &gpu_gb, 0, NULL},
                        {"--model-config", OPT_STR, &po.model_config, 0, NULL},
                        {"--resume", OPT_FLAG, &po.resume, 0, NULL},
                        {"--calibration", OPT_STR, &po.calibration, 0, NULL},
                        {"--time-limit", OPT_STR, &po.time_limit, 0, NULL},
                        {"--text-tokens", OPT_INT, &po.text_tokens, 1, NULL},
                        {"--answer-tokens", OPT_INT, &po.answer_tokens, 1, NULL},
                        {"--questions", OPT_INT, &po.questions, 1, NULL},
                        {"--print-world", OPT_FLAG, &print_world, 0, NULL},
                        {"--print-shell", OPT_FLAG, &shell, 0, NULL},
                        {0}};
    args_parse(&(ArgsCmd){.name = "plan",
                          .help = usage,
                          .unknown = "plan: unknown argument '%s' (see --help)"},
               opts, argc, argv);
    if (!job_path == !config_path)
        hl_fail("plan: give exactly one of --job FILE or --config FILE (see --help)");
    if (print_world && shell) hl_fail("plan: --print-world and --print-shell exclude each other");
    if (po.questions && job_path)
        hl_fail("plan: --questions is for --config (a job's benchmarks have their own)");
    if (po.time_limit && !parse_time_limit(po.time_limit, &po.limit_s))
        hl_fail("plan: --time-limit expects a SLURM time such as 04:00:00, 90 or 1-12:00, "
                "got '%s'",
                po.time_limit);
    Calibration cal;
    if (po.calibration) calibration_load(po.calibration, &cal);

    Job job;
    RunConfig own;
    RunConfig *cfg = &own;
    if (job_path) {
        job_load(job_path, &job);
        cfg = &job.run; /* overrides apply to the job's own run config */
    } else {
        run_config_load(config_path, &own);
    }
    if (layout) {
        RunLayout l;
        if (!run_layout_parse(layout, &l))
            hl_fail("plan: --layout expects DPxPPxTP such as 2x1x4, got '%s'", layout);
        run_config_set_layout(cfg, l);
    }
    if (batch) run_config_set_batch_size(cfg, batch);

    /* The model's numbers make the layout checks complete; they come from the
     * attributes only (or the checkpoint's config.json), so this stays cheap
     * even for a 13B file. */
    Model model = {0};
    if (po.model_config) {
        model_config_from_hf(po.model_config, &model.c);
        model.hf = po.model_config;
    } else if (file_exists(cfg->model)) {
        model_config_load(cfg->model, &model.c);
    }
    if (po.model_config || file_exists(cfg->model)) {
        model.m = run_model_shape(&model.c);
        model.have = 1;
    }
    check_or_fail(cfg, &model, world);

    int missing = 0, answered = 0, too_big = 0, invalid = 0, sweep_runs = 0;
    if (print_world)
        printf("%d\n", world_of(cfg));
    else if (shell)
        print_shell(cfg, job_path ? &job : NULL, &model);
    else {
        print_plan(cfg, job_path ? &job : NULL, &model, &missing, &answered, &invalid, &sweep_runs);
        if (node_gb <= 0)
            node_gb = gib((long long)sysconf(_SC_PHYS_PAGES) * (long long)sysconf(_SC_PAGESIZE));
        if (!print_memory(cfg, job_path ? &job : NULL, &model, node_gb, gpu_gb)) too_big = 1;
        print_cost(cfg, job_path ? &job : NULL, &model, &po, po.calibration ? &cal : NULL);
    }
    fflush(stdout);

    char *problems = NULL;
    if (!print_world && !shell) {
        if (!strcmp(cfg->backend, "cuda") && !backend_cuda_built()) {
            char *t = hl_strdupf("backend: cuda, but this binary has only the %s backend "
                                 "(hyperllava --version lists them; build it where nvcc is found)",
                                 backends_built());
            problem(&problems, t);
            free(t);
        }
        if (too_big)
            problem(&problems,
                    strcmp(cfg->backend, "cuda")
                        ? "the ranks of a node need more memory than it has (see "
                          "memory above)"
                        : "a rank needs more memory than its GPU has (see memory above)");
        if (missing) {
            char *t = hl_strdupf("%d file%s named by it %s missing (marked MISSING above)", missing,
                                 missing == 1 ? "" : "s", missing == 1 ? "is" : "are");
            problem(&problems, t);
            free(t);
        }
        if (sweep_runs && invalid == sweep_runs) {
            /* some invalid runs are skipped; a sweep with none to run is refused */
            char *t = hl_strdupf("sweep: none of its %d run%s is valid for the model (marked "
                                 "SKIPPED above)",
                                 sweep_runs, sweep_runs == 1 ? "" : "s");
            problem(&problems, t);
            free(t);
        }
        if (answered && !po.resume) {
            char *t = hl_strdupf("%d benchmark%s already %s answers in %s (marked ANSWERS above): "
                                 "pass --resume to continue them, or remove them",
                                 answered, answered == 1 ? "" : "s", answered == 1 ? "has" : "have",
                                 job.output);
            problem(&problems, t);
            free(t);
        }
    }
    char *what = hl_strdup(job_path ? job_path : config_path);
    if (job_path)
        job_free(&job);
    else
        run_config_free(&own);
    if (problems) hl_fail("%s: %s", what, problems);
    free(what);
    return 0;
}
