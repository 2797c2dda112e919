/* hyperllava bench: throughput of the engine on synthetic work of a fixed
 * shape, on any layout (run it under mpirun/srun like generate).
 *
 * Two workloads, each at several batch sizes (docs/benchmarking.md):
 *   pope    one image + a question of about --text-tokens text tokens in,
 *           2 tokens out, greedy: prefill-bound, reported as samples/s;
 *   decode  the same prompt, --new-tokens out: reported as decode tokens/s
 *           with the prefill time apart (the engine's prefill_s / decode_s).
 * The weights are loaded once; every batch size gets warm-up runs and then
 * timed runs, each timed from a world barrier to a world barrier. Output
 * lengths are fixed: the engine's stop id is disabled (as min_new_tokens does
 * in transformers), and the tokens actually generated are counted anyway.
 * Rank 0 prints a table and writes the JSON report. */
#include <jansson.h>
#include <png.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "run/job.h"
#include "run/session.h"
#include "text/prompt.h"
#include "util/check.h"

static const char *help =
    "usage: hyperllava bench (--model FILE | --config RUN.yaml | --job JOB.yaml) [options]\n"
    "Measures throughput on synthetic requests of a fixed shape (docs/benchmarking.md).\n"
    "  --model FILE          HDF5 weight file (or 'model' of --config / the job's run)\n"
    "  --config FILE         run config YAML (layout, micro-batches, threads)\n"
    "  --job FILE            an evaluation job: its run config is used (its data is not)\n"
    "  --workload W          pope, decode or both (default both)\n"
    "  --batch-sizes LIST    comma-separated batch sizes per replica (default 1,8,32)\n"
    "  --samples N           samples per timed run (default: one batch per replica);\n"
    "                        rounded up to whole batches on every replica\n"
    "  --text-tokens N       text tokens of each prompt, template included (default 64)\n"
    "  --new-tokens N        tokens generated per sample by the decode workload (default 128)\n"
    "  --image FILE          the image of every sample (default: a synthetic PNG of the\n"
    "                        model's input size, made in memory)\n"
    "  --stop-at-eos         let EOS end a sample early (default: outputs have a fixed length)\n"
    "  --layout DxPxT        override the config's dp x pp x tp\n"
    "  --micro-batches M     pipeline micro-batches per batch\n"
    "  --threads N           compute threads per rank\n"
    "  --dtype D             weights held as f32, bf16 or f16 (compute is f32)\n"
    "  --warmup N            untimed runs per batch size before the timed ones (default 1)\n"
    "  --repeat N            timed runs per batch size (default 3)\n"
    "  --json FILE           write the report as JSON\n"
    "  --metrics FILE        per-rank metrics of the whole run, as generate --metrics writes\n"
    "Output: a table per workload (min and median over the timed runs); rank 0 prints.\n";

/* Words that pad the question to the asked number of tokens. */
static const char *const filler[] = {
    "please", "look",  "closely", "at",     "the",    "picture", "and",      "think",
    "about",  "every", "object",  "person", "animal", "colour",  "shape",    "or",
    "sign",   "you",   "can",     "see",    "in",     "it",      "before",   "you",
    "give",   "a",     "short",   "answer", "to",     "this",    "question", "now"};
enum { N_FILLER = sizeof filler / sizeof *filler };

static const char *const question = "Is there a dog in the image?";
static const char *const pope_suffix = "\nAnswer the question using a single word or phrase.";

typedef struct {
    const char *model, *config, *job, *layout, *json, *metrics, *image, *dtype;
    int pope, decode;
    int *bs, n_bs;
    int samples, text_tokens, new_tokens, micro, threads, warmup, repeat, stop_eos;
} Opts;

/* What every sample of a run is made of (the same for all). */
typedef struct {
    int *ids, n_ids; /* spliced prompt ids (first-stage ranks) */
    int text_tokens; /* ids that are text (all but the image marker) */
    int rows;        /* prompt positions: text + visual tokens */
    uint8_t *png;    /* synthetic image (first-stage ranks), or */
    size_t png_size;
    const char *image;   /* --image */
    char image_desc[96]; /* for the report */
} Work;

typedef struct {
    double wall, prefill, decode, tokens, samples;
} Timing;

typedef struct { /* one (workload, batch size) */
    int batch, samples, micro, new_tokens;
    Timing *runs; /* repeat entries */
    Timing min, med;
    uint64_t *rss; /* peak RSS per world rank after this batch size (rank 0) */
} Row;

static void parse_batch_sizes(const char *s, Opts *o) {
    const char *p = s;
    while (1) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1000000 || (*end && *end != ','))
            hl_fail("bench: --batch-sizes expects positive integers separated by commas, got '%s'",
                    s);
        o->bs = hl_realloc(o->bs, (size_t)(o->n_bs + 1) * sizeof(int));
        o->bs[o->n_bs++] = (int)v;
        if (!*end) break;
        p = end + 1;
    }
}

static void on_workload(void *ctx, const char *w) {
    Opts *o = ctx;
    if (!strcmp(w, "pope"))
        o->pope = 1, o->decode = 0;
    else if (!strcmp(w, "decode"))
        o->pope = 0, o->decode = 1;
    else if (!strcmp(w, "both"))
        o->pope = 1, o->decode = 1;
    else
        hl_fail("bench: --workload expects pope, decode or both, got '%s'", w);
}

static void parse_opts(int argc, char **argv, Opts *o) {
    *o = (Opts){
        .pope = 1, .decode = 1, .text_tokens = 64, .new_tokens = 128, .warmup = 1, .repeat = 3};
    const char *bs = "1,8,32";
    const Opt opts[] = {{"--model", OPT_STR, &o->model, 0, NULL},
                        {"--config", OPT_STR, &o->config, 0, NULL},
                        {"--job", OPT_STR, &o->job, 0, NULL},
                        {"--workload", OPT_FN, NULL, 0, on_workload},
                        {"--batch-sizes", OPT_STR, &bs, 0, NULL},
                        {"--samples", OPT_INT, &o->samples, 1, NULL},
                        {"--text-tokens", OPT_INT, &o->text_tokens, 1, NULL},
                        {"--new-tokens", OPT_INT, &o->new_tokens, 2, NULL},
                        {"--image", OPT_STR, &o->image, 0, NULL},
                        {"--stop-at-eos", OPT_FLAG, &o->stop_eos, 0, NULL},
                        {"--layout", OPT_STR, &o->layout, 0, NULL},
                        {"--micro-batches", OPT_INT, &o->micro, 1, NULL},
                        {"--threads", OPT_INT, &o->threads, 1, NULL},
                        {"--dtype", OPT_STR, &o->dtype, 0, NULL},
                        {"--warmup", OPT_INT, &o->warmup, 0, NULL},
                        {"--repeat", OPT_INT, &o->repeat, 1, NULL},
                        {"--json", OPT_STR, &o->json, 0, NULL},
                        {"--metrics", OPT_STR, &o->metrics, 0, NULL},
                        {0}};
    args_parse(&(ArgsCmd){.name = "bench", .help = help, .ctx = o}, opts, argc, argv);
    if (o->config && o->job) hl_fail("bench: give --config or --job, not both");
    if (!o->model && !o->config && !o->job)
        hl_fail("bench: no model given (--model FILE, --config RUN.yaml or --job JOB.yaml)");
    parse_batch_sizes(bs, o);
    if (o->image && access(o->image, R_OK) != 0)
        hl_fail("%s: cannot read the --image file", o->image);
}

/* The prompt ids of candidate k: k = -1 is the bare question; k >= 0 is k
 * filler words, the question and POPE's answer-format suffix. Returns the
 * id count; *text = the ids that are text (all but the image marker). */
static int candidate(const Tokenizer *tok, int k, int **ids, int *text) {
    size_t cap = strlen(question) + strlen(pope_suffix) + 16;
    for (int j = 0; j < k; j++) cap += strlen(filler[j % N_FILLER]) + 1;
    char *q = hl_malloc(cap), *p = q;
    for (int j = 0; j < k; j++) p += sprintf(p, "%s ", filler[j % N_FILLER]);
    sprintf(p, "%s%s", question, k >= 0 ? pope_suffix : "");
    char *prompt = prompt_vicuna_v1(q, 1);
    int n = prompt_tokenize(tok, prompt, ids);
    free(prompt), free(q);
    *text = n - prompt_image_count(*ids, n);
    return n;
}

/* The vicuna_v1 prompt with <image> and a question padded with filler words
 * so the text (template and BOS included) has the token count closest to
 * `target`. The count grows with k, so the first k reaching target is found
 * by doubling and bisection, then compared with k-1. A template longer than
 * target gives the bare question; the count actually used is reported. */
static void build_prompt(const Tokenizer *tok, int target, Work *w) {
    int *ids, t, lo = -1, hi = 0; /* t(lo) < target <= t(hi) once bracketed */
    candidate(tok, -1, &ids, &t);
    free(ids);
    if (t >= target) {
        w->n_ids = candidate(tok, -1, &w->ids, &w->text_tokens);
        return;
    }
    while (candidate(tok, hi, &ids, &t), free(ids), t < target) {
        CHECK(hi < (1 << 24));
        lo = hi, hi = hi ? 2 * hi : 1;
    }
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        candidate(tok, mid, &ids, &t);
        free(ids);
        if (t >= target)
            hi = mid;
        else
            lo = mid;
    }
    int t_lo, t_hi, *ids_lo, *ids_hi;
    int n_lo = candidate(tok, lo, &ids_lo, &t_lo), n_hi = candidate(tok, hi, &ids_hi, &t_hi);
    int take_hi = t_hi - target <= target - t_lo;
    w->ids = take_hi ? ids_hi : ids_lo, w->n_ids = take_hi ? n_hi : n_lo;
    w->text_tokens = take_hi ? t_hi : t_lo;
    free(take_hi ? ids_lo : ids_hi);
}

/* A deterministic, textured S x S RGB picture, PNG-encoded in memory. */
static uint8_t *synthetic_png(int S, size_t *size) {
    uint8_t *px = hl_malloc((size_t)S * S * 3);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++) {
                uint32_t h = (uint32_t)(x * 73856093u) ^ (uint32_t)(y * 19349663u) ^
                             (uint32_t)(c * 83492791u);
                h = (h ^ (h >> 13)) * 0x5bd1e995u;
                px[((size_t)y * S + x) * 3 + c] =
                    (uint8_t)((x * 255 / S + y * 128 / S + c * 64) / 2 + (h >> 27));
            }
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)S, im.height = (png_uint_32)S;
    im.format = PNG_FORMAT_RGB;
    png_alloc_size_t n = 0;
    if (!png_image_write_to_memory(&im, NULL, &n, 0, px, 0, NULL))
        hl_fail("bench: cannot encode the synthetic image (%s)", im.message);
    uint8_t *buf = hl_malloc(n);
    if (!png_image_write_to_memory(&im, buf, &n, 0, px, 0, NULL))
        hl_fail("bench: cannot encode the synthetic image (%s)", im.message);
    png_image_free(&im);
    free(px);
    *size = n;
    return buf;
}

static void work_item(void *ctx, int i, SessionItem *out) {
    const Work *w = ctx;
    (void)i;
    out->ids = w->ids, out->n_ids = w->n_ids;
    /* --image, or the synthetic PNG */
    out->image = w->image
                     ? (ImageRef){.path = w->image}
                     : (ImageRef){.data = w->png, .size = w->png_size, .name = "synthetic image"};
}

/* One timed pass over n samples in batches of B per replica. Collective. */
static Timing run_once(Session *s, const Work *w, int B, int n, int max_new) {
    SessionJob job = {
        .n = n, .batch_size = B, .max_new = max_new, .item = work_item, .ctx = (void *)w};
    SessionTotals t = session_run(s, &job);
    return (Timing){.wall = t.wall_s,
                    .prefill = t.prefill_s,
                    .decode = t.decode_s,
                    .tokens = (double)t.tokens,
                    .samples = (double)t.samples};
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Min and median (mean of the middle two for an even count) of one field. */
static void min_median(const Timing *runs, int n, size_t field, double *mn, double *md) {
    double *v = hl_malloc((size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) memcpy(&v[i], (const char *)&runs[i] + field, sizeof(double));
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    *mn = v[0];
    *md = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
}

static void summarise(Row *r, int repeat) {
    const size_t f[] = {offsetof(Timing, wall), offsetof(Timing, prefill), offsetof(Timing, decode),
                        offsetof(Timing, tokens), offsetof(Timing, samples)};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        double mn, md;
        min_median(r->runs, repeat, f[i], &mn, &md);
        memcpy((char *)&r->min + f[i], &mn, sizeof mn);
        memcpy((char *)&r->med + f[i], &md, sizeof md);
    }
}

static double max_rss_mib(const Row *r, int world) {
    uint64_t m = 0;
    for (int i = 0; i < world; i++)
        if (r->rss[i] > m) m = r->rss[i];
    return (double)m / (1024.0 * 1024.0);
}

static double rate(double amount, double seconds) {
    return seconds > 0 ? amount / seconds : 0;
}

static void print_header(const char *workload, int new_tokens) {
    printf("\n%s: %d new tokens per sample\n", workload, new_tokens);
    if (!strcmp(workload, "pope"))
        printf("%5s  %7s  %5s  %21s  %21s  %9s  %9s  %8s\n", "batch", "samples", "micro",
               "wall s (min / med)", "samples/s (best/med)", "prefill s", "decode s", "RSS MiB");
    else {
        printf("(decode tok/s = (generated - samples) / decode s: a sample's first token comes "
               "with its prefill)\n");
        printf("%5s  %7s  %5s  %21s  %21s  %23s  %9s  %8s\n", "batch", "samples", "micro",
               "prefill s (min / med)", "decode s (min / med)", "decode tok/s (best/med)",
               "tokens/s", "RSS MiB");
    }
}

static void print_row(const char *workload, const Row *r, int world) {
    if (!strcmp(workload, "pope"))
        printf("%5d  %7d  %5d  %10.4f / %8.4f  %10.2f / %8.2f  %9.4f  %9.4f  %8.1f\n", r->batch,
               r->samples, r->micro, r->min.wall, r->med.wall, rate(r->samples, r->min.wall),
               rate(r->samples, r->med.wall), r->med.prefill, r->med.decode, max_rss_mib(r, world));
    else
        printf("%5d  %7d  %5d  %10.4f / %8.4f  %10.4f / %8.4f  %11.2f / %9.2f  %9.2f  %8.1f\n",
               r->batch, r->samples, r->micro, r->min.prefill, r->med.prefill, r->min.decode,
               r->med.decode, rate(r->med.tokens - r->samples, r->min.decode),
               rate(r->med.tokens - r->samples, r->med.decode), rate(r->med.tokens, r->med.wall),
               max_rss_mib(r, world));
    fflush(stdout);
}

static json_t *pair(const char *a, double x, const char *b, double y) {
    return json_pack("{s:f, s:f}", a, x, b, y);
}

static json_t *row_json(const Row *r, int repeat, int world, int rows) {
    json_t *runs = json_array();
    for (int i = 0; i < repeat; i++) {
        const Timing *t = &r->runs[i];
        json_array_append_new(runs, json_pack("{s:f, s:f, s:f, s:I}", "wall_s", t->wall,
                                              "prefill_s", t->prefill, "decode_s", t->decode,
                                              "generated_tokens", (json_int_t)t->tokens));
    }
    json_t *rss = json_array();
    for (int i = 0; i < world; i++) json_array_append_new(rss, json_integer((json_int_t)r->rss[i]));
    double dec_tokens =
        r->med.tokens - r->samples; /* the first token of a sample ends its prefill */
    json_t *o = json_pack("{s:i, s:i, s:i, s:i, s:I}", "batch_size", r->batch, "samples",
                          r->samples, "micro_batches", r->micro, "new_tokens", r->new_tokens,
                          "generated_tokens", (json_int_t)r->med.tokens);
    json_object_set_new(o, "wall_s", pair("min", r->min.wall, "median", r->med.wall));
    json_object_set_new(
        o, "samples_per_s",
        pair("best", rate(r->samples, r->min.wall), "median", rate(r->samples, r->med.wall)));
    json_object_set_new(
        o, "tokens_per_s",
        pair("best", rate(r->med.tokens, r->min.wall), "median", rate(r->med.tokens, r->med.wall)));
    json_object_set_new(o, "prefill_s", pair("min", r->min.prefill, "median", r->med.prefill));
    json_object_set_new(o, "decode_s", pair("min", r->min.decode, "median", r->med.decode));
    json_object_set_new(
        o, "decode_tokens_per_s",
        pair("best", rate(dec_tokens, r->min.decode), "median", rate(dec_tokens, r->med.decode)));
    json_object_set_new(o, "prefill_positions_per_s",
                        pair("best", rate((double)r->samples * rows, r->min.prefill), "median",
                             rate((double)r->samples * rows, r->med.prefill)));
    json_object_set_new(o, "peak_rss_bytes", rss);
    json_object_set_new(o, "runs", runs);
    return o;
}

static void cpu_model(char *buf, size_t n) {
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) && strncmp(line, "Model", 5)) continue;
        char *v = strchr(line, ':');
        if (!v) continue;
        v++;
        while (*v == ' ' || *v == '\t') v++;
        v[strcspn(v, "\n")] = 0;
        snprintf(buf, n, "%s", v);
        break;
    }
    fclose(f);
}

static const char *visual_expert_name(const ModelConfig *c) {
    if (c->expert_v1 && c->expert_v2) return "both";
    if (c->expert_v1) return "layer1";
    if (c->expert_v2) return "layer2";
    return "none";
}

static json_t *model_json(const Session *s) {
    const ModelConfig *c = s->model;
    return json_pack(
        "{s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}, s:{s:i, s:i, s:i, s:i, s:i, s:i},"
        " s:{s:s, s:b, s:i, s:i, s:i, s:i}}",
        "name", c->model_name, "file", s->cfg.model, "vision", "hidden", c->v_hidden, "heads",
        c->v_heads, "intermediate", c->v_inter, "layers", c->v_layers, "layers_run",
        c->v_layers_used, "image_size", c->image_size, "patch_size", c->patch_size, "image_tokens",
        c->n_patches, "llm", "hidden", c->hidden, "heads", c->heads, "intermediate", c->inter,
        "layers", c->layers, "vocab", c->vocab, "context", c->max_pos, "experts", "visual",
        visual_expert_name(c), "language", c->expert_lang, "guide_layer", c->guide_layer, "embed",
        c->e_embed, "hidden", c->e_hidden, "rank", c->e_rank);
}

int cmd_bench(int argc, char **argv) {
    Opts o;
    parse_opts(argc, argv, &o);
    RunConfig cfg;
    if (o.job) {
        Job job;
        job_load(o.job, &job);
        run_config_copy(&cfg, &job.run);
        job_free(&job);
    } else if (o.config) {
        run_config_load(o.config, &cfg);
    } else {
        run_config_defaults(&cfg);
    }
    if (o.model) {
        free(cfg.model);
        cfg.model = hl_strdup(o.model);
    }
    RunOverrides ov = {
        .layout = o.layout, .micro_batches = o.micro, .threads = o.threads, .dtype = o.dtype};
    run_overrides_apply("bench", &ov, &cfg);
    int max_bs = 0;
    for (int i = 0; i < o.n_bs; i++)
        if (o.bs[i] > max_bs) max_bs = o.bs[i];
    run_config_set_batch_size(&cfg, max_bs);

    GenSettings gs = {.temperature = 0, .top_p = 1, .seed = 0};
    Session s;
    session_open(&s, &argc, &argv, &cfg, &gs);
    run_config_free(&cfg);
    Engine *e = &s.engine;
    const Layout L = s.layout;
    const int world = layout_world(L);
    const ModelConfig *mc = s.model;
    /* fixed output lengths unless --stop-at-eos */
    e->gen.ignore_eos = !o.stop_eos;

    Work w = {.image = o.image};
    if (s.is_first) {
        build_prompt(s.tok, o.text_tokens, &w);
        if (!o.image) w.png = synthetic_png(mc->image_size, &w.png_size);
    }
    /* rank 0 (a first-stage rank) tells everyone the prompt's size */
    int shape[2] = {w.n_ids, w.text_tokens};
    session_bcast(&s, shape, sizeof shape);
    w.text_tokens = shape[1];
    w.rows = shape[0] - 1 + mc->n_patches; /* the marker becomes the visual tokens */
    if (o.image)
        snprintf(w.image_desc, sizeof w.image_desc, "%s", o.image);
    else
        snprintf(w.image_desc, sizeof w.image_desc, "synthetic %dx%d PNG", mc->image_size,
                 mc->image_size);
    int longest = o.decode ? o.new_tokens : 2;
    if (w.rows + longest - 1 > mc->max_pos) {
        char m[320];
        snprintf(m, sizeof m,
                 "bench: a prompt of %d positions (%d image + %d text tokens) and %d new tokens "
                 "exceed the model's context of %d; lower --text-tokens or --new-tokens",
                 w.rows, mc->n_patches, w.text_tokens, longest, mc->max_pos);
        session_fail_all(&s, m);
    }

    char host[256] = "", cpu[256], mpi[256];
    gethostname(host, sizeof host - 1);
    cpu_model(cpu, sizeof cpu);
    session_mpi_version(mpi, sizeof mpi);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double load0[3] = {-1, -1, -1}, load1[3] = {-1, -1, -1};
    if (getloadavg(load0, 3) < 0) load0[0] = -1;
    int threads = s.cfg.threads > 0 ? s.cfg.threads : 1;
    /* open the report now: a bad path fails before the runs, not after them */
    FILE *jf = NULL;
    if (s.is_root && o.json) jf = fopen(o.json, "w");
    if (session_any(&s, s.is_root && o.json && !jf)) {
        char m[600];
        snprintf(m, sizeof m, "%s: cannot write the JSON report", o.json);
        session_fail_all(&s, m);
    }
    if (s.is_root) {
        printf("hyperllava bench: %s (%s)\n", mc->model_name, s.cfg.model);
        printf(
            "  host %s, cpu %s (%ld online), layout %dx%dx%d (%d rank%s), %d thread%s per rank\n",
            host, cpu, cpus, L.dp, L.pp, L.tp, world, world == 1 ? "" : "s", threads,
            threads == 1 ? "" : "s");
        printf("  cpu kernels %s, weights held as %s, compute f32\n", isa_name(e->ctx.isa),
               s.cfg.dtype);
        printf("  load average %.2f (1 min) when starting\n", load0[0]);
        printf("  prompt: %d image + %d text tokens = %d positions; image: %s\n", mc->n_patches,
               w.text_tokens, w.rows, w.image_desc);
        if (w.text_tokens != o.text_tokens)
            printf("  (asked for %d text tokens; the closest prompt has %d)\n", o.text_tokens,
                   w.text_tokens);
        printf("  greedy, %s; per batch size %d warm-up and %d timed run%s (min / median); "
               "weights loaded in %.2f s\n",
               o.stop_eos ? "EOS ends a sample" : "fixed output length (EOS ignored)", o.warmup,
               o.repeat, o.repeat == 1 ? "" : "s", s.load_s);
        fflush(stdout);
    }

    const char *names[2] = {"pope", "decode"};
    int on[2] = {o.pope, o.decode}, newt[2] = {2, o.new_tokens};
    Row *rows[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        if (!on[k]) continue;
        rows[k] = hl_calloc((size_t)o.n_bs, sizeof(Row));
        if (s.is_root) print_header(names[k], newt[k]);
        for (int i = 0; i < o.n_bs; i++) {
            Row *r = &rows[k][i];
            int B = o.bs[i], per_round = B * L.dp;
            int want = o.samples > 0 ? o.samples : per_round;
            r->batch = B, r->new_tokens = newt[k];
            r->samples = (want + per_round - 1) / per_round * per_round;
            r->micro = e->micro_batches < B ? e->micro_batches : B;
            if (r->micro < 1) r->micro = 1;
            r->runs = hl_calloc((size_t)o.repeat, sizeof(Timing));
            for (int j = 0; j < o.warmup; j++) run_once(&s, &w, B, r->samples, newt[k]);
            for (int j = 0; j < o.repeat; j++)
                r->runs[j] = run_once(&s, &w, B, r->samples, newt[k]);
            summarise(r, o.repeat);
            CHECK((int)r->med.samples == r->samples);
            r->rss = session_gather_rss(&s);
            if (s.is_root) print_row(names[k], r, world);
        }
    }
    json_t *ranks = session_gather_ranks(&s);
    if (s.is_root) {
        if (getloadavg(load1, 3) < 0) load1[0] = -1;
        printf("\nload average %.2f (1 min) when done\n", load1[0]);
        if (jf) {
            char date[32];
            time_t now = time(NULL);
            strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
            json_t *root = json_pack(
                "{s:s, s:s, s:s, s:{s:s, s:s, s:I, s:s, s:f, s:f}, s:{s:i, s:i, s:i, s:i}, s:i, "
                "s:s, "
                "s:f}",
                "command", "bench", "engine", HL_VERSION, "date", date, "machine", "host", host,
                "cpu_model", cpu, "cpus_online", (json_int_t)cpus, "mpi", mpi, "loadavg_start",
                load0[0], "loadavg_end", load1[0], "layout", "dp", L.dp, "pp", L.pp, "tp", L.tp,
                "world", world, "threads", threads, "backend", s.cfg.backend, "load_s", s.load_s);
            json_object_set_new(root, "model", model_json(&s));
            json_object_set_new(root, "cpu_kernel", json_string(isa_name(e->ctx.isa)));
            json_object_set_new(root, "dtype", json_string(s.cfg.dtype));
            /* settings outside the command line that change CPU timings */
            json_t *env = json_object();
            const char *vars[] = {"OMP_WAIT_POLICY", "OMP_PROC_BIND", "OMP_PLACES",
                                  "GOMP_SPINCOUNT", "OMP_NUM_THREADS"};
            for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
                if (getenv(vars[i]))
                    json_object_set_new(env, vars[i], json_string(getenv(vars[i])));
            json_object_set_new(root, "environment", env);
            json_object_set_new(
                root, "settings",
                json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:b}", "warmup", o.warmup,
                          "repeat", o.repeat, "text_tokens_asked", o.text_tokens, "text_tokens",
                          w.text_tokens, "image_tokens", mc->n_patches, "prompt_positions", w.rows,
                          "micro_batches", e->micro_batches, "image", w.image_desc, "decoding",
                          "greedy", "stop_at_eos", o.stop_eos));
            json_t *res = json_object();
            for (int k = 0; k < 2; k++) {
                if (!on[k]) continue;
                json_t *arr = json_array();
                for (int i = 0; i < o.n_bs; i++)
                    json_array_append_new(arr, row_json(&rows[k][i], o.repeat, world, w.rows));
                json_object_set_new(res, names[k], arr);
            }
            json_object_set_new(root, "results", res);
            json_object_set_new(root, "ranks", ranks);
            ranks = NULL;
            if (json_dumpf(root, jf, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) != 0 ||
                fputc('\n', jf) == EOF || fclose(jf) != 0)
                hl_fail("%s: cannot write the JSON report", o.json);
            json_decref(root);
        }
        json_decref(ranks);
    }
    if (o.metrics) session_write_metrics(&s, o.metrics, NULL);
    for (int k = 0; k < 2; k++) {
        if (!rows[k]) continue;
        for (int i = 0; i < o.n_bs; i++) free(rows[k][i].runs), free(rows[k][i].rss);
        free(rows[k]);
    }
    free(w.ids), free(w.png), free(o.bs);
    session_close(&s);
    return 0;
}
