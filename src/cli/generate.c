/* hyperllava generate: answer one or many image+question pairs on any
 * layout (run it under mpirun/srun with the world size the layout needs). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "run/progress.h"
#include "run/session.h"
#include "text/prompt.h"
#include "util/check.h"

static const char *help =
    "usage: hyperllava generate (--model FILE | --config RUN.yaml) [options]\n"
    "       (--image IMG --prompt QUESTION)... | --jsonl FILE\n"
    "Answers questions about images with greedy decoding (or sampling), as LLaVA-1.5's\n"
    "evaluation does: the question goes into the vicuna_v1 template with <image>.\n"
    "  --model FILE           HDF5 weight file (or 'model' of --config)\n"
    "  --config FILE          run config YAML (layout, batch size, micro-batches, threads)\n"
    "  --image IMG            image for the next --prompt (one --image may serve all prompts)\n"
    "  --prompt TEXT          a question; repeat the pair for several requests\n"
    "  --jsonl FILE           requests, one JSON object a line: {\"image\", \"text\", "
    "\"question_id\"}\n"
    "  --raw                  use the prompt text as it is (no template; <image> still splices)\n"
    "  --max-new-tokens N     tokens to generate at most (default 128)\n"
    "  --temperature T        0 = greedy (default); > 0 samples\n"
    "  --top-p P              nucleus for sampling (default 1)\n"
    "  --seed S               sampling seed (default 0)\n"
    "  --layout DxPxT         override the config's dp x pp x tp\n"
    "  --batch-size N         samples per batch per replica\n"
    "  --micro-batches M      pipeline micro-batches per batch\n"
    "  --threads N            compute threads per rank\n"
    "  --watchdog S           end the job when a rank waits S s on a silent one (0 = off)\n"
    "  --dtype D              weights held as f32, bf16 or f16 (compute is f32)\n"
    "  --backend B            cpu or cuda (one GPU per rank: local rank % GPUs)\n"
    "  --trace FILE.jsonl     per step: chosen id, piece, top-k ids and logits\n"
    "  --trace-top-k K        top-k kept in the trace (default 5)\n"
    "  --metrics FILE.json    per-rank timing, communication and memory\n"
    "  --ids                  print the generated token ids instead of the text\n"
    "Output: the answer (one line per request, in input order); with --jsonl, JSON lines\n"
    "{\"question_id\", \"text\"}.\n";

typedef struct {
    char *image, *text;
    json_t *qid;
} Req;

static void read_jsonl(const char *path, Req **reqs, int *n) {
    FILE *f = hl_fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len) continue;
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        if (!o || !json_is_object(o))
            hl_fail("%s:%d: not a JSON object (%s)", path, lineno, o ? "" : err.text);
        json_t *t = json_object_get(o, "text");
        if (!t) t = json_object_get(o, "question");
        if (!json_is_string(t)) hl_fail("%s:%d: missing string key 'text'", path, lineno);
        json_t *im = json_object_get(o, "image");
        if (im && !json_is_string(im)) hl_fail("%s:%d: key 'image' must be a string", path, lineno);
        *reqs = hl_realloc(*reqs, (size_t)(*n + 1) * sizeof(Req));
        Req *r = &(*reqs)[(*n)++];
        r->text = hl_strdup(json_string_value(t));
        r->image = im ? hl_strdup(json_string_value(im)) : NULL;
        r->qid = json_incref(json_object_get(o, "question_id"));
        if (!r->qid) r->qid = json_integer(*n - 1);
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (*n == 0) hl_fail("%s: no requests", path);
}

static void write_trace(FILE *f, const Tokenizer *tok, int i, const int *ids, int n_ids,
                        const GenResult *r, int k) {
    json_t *head = json_pack("{s:i, s:o, s:i, s:i}", "request", i, "prompt_ids", json_array(),
                             "prompt_len", r->prompt_rows, "n_ids", n_ids);
    json_t *arr = json_object_get(head, "prompt_ids");
    for (int j = 0; j < n_ids; j++) json_array_append_new(arr, json_integer(ids[j]));
    char *s = json_dumps(head, JSON_COMPACT);
    fprintf(f, "%s\n", s);
    free(s);
    json_decref(head);
    for (int t = 0; t < r->n_tokens; t++) {
        int plen = 0;
        const char *piece = tokenizer_piece(tok, r->tokens[t], &plen);
        json_t *ti = json_array(), *tv = json_array();
        for (int j = 0; j < k; j++) {
            json_array_append_new(ti, json_integer(r->topk_ids[(long)t * k + j]));
            json_array_append_new(tv, json_real(r->topk_vals[(long)t * k + j]));
        }
        json_t *o = json_pack("{s:i, s:i, s:i, s:s%, s:o, s:o}", "request", i, "step", t, "id",
                              r->tokens[t], "piece", piece ? piece : "", (size_t)(piece ? plen : 0),
                              "top_ids", ti, "top_logits", tv);
        s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
        fprintf(f, "%s\n", s);
        free(s);
        json_decref(o);
    }
}

/* The --image/--prompt pairs as given: an --image applies to the prompts after it. */
typedef struct {
    const char **images, **prompts;
    int *img_of;
    int n_img, n_prompt;
} Pairs;

static void on_image(void *ctx, const char *v) {
    Pairs *p = ctx;
    p->images = hl_realloc(p->images, (size_t)(p->n_img + 1) * sizeof(char *));
    p->images[p->n_img++] = v;
}

static void on_prompt(void *ctx, const char *v) {
    Pairs *p = ctx;
    p->prompts = hl_realloc(p->prompts, (size_t)(p->n_prompt + 1) * sizeof(char *));
    p->img_of = hl_realloc(p->img_of, (size_t)(p->n_prompt + 1) * sizeof(int));
    p->img_of[p->n_prompt] = p->n_img - 1;
    p->prompts[p->n_prompt++] = v;
}

typedef struct {
    Req *reqs;
    int raw, print_ids, jsonl, top_k;
    const Tokenizer *tok;
    FILE *trace;
    const char *trace_path;
    Progress pg; /* --jsonl: on stderr, rank 0 */
} Gen;

/* Every output write is checked: a full disk or a closed pipe is one line
 * naming the output and a non-zero exit, never a silent loss. */
static void check_out(FILE *f, const char *name) {
    if (ferror(f) || fflush(f) != 0) hl_fail("%s: write failed: %s", name, strerror(errno));
}

static char *prompt_of(const Gen *g, int i) {
    const Req *q = &g->reqs[i];
    return g->raw ? hl_strdup(q->text) : prompt_vicuna_v1(q->text, q->image != NULL);
}

static void gen_item(void *ctx, int i, SessionItem *out) {
    Gen *g = ctx;
    out->prompt = prompt_of(g, i);
    out->image = (ImageRef){.path = g->reqs[i].image};
}

static void gen_result(void *ctx, int i, const GenResult *r) {
    Gen *g = ctx;
    progress_clear(&g->pg); /* the answers may go to the same terminal */
    if (g->print_ids) {
        for (int t = 0; t < r->n_tokens; t++) printf("%s%d", t ? " " : "", r->tokens[t]);
        printf("\n");
    } else {
        char *text = prompt_answer(g->tok, r->tokens, r->n_tokens);
        if (g->jsonl) {
            json_t *o = json_pack("{s:O, s:s}", "question_id", g->reqs[i].qid, "text", text);
            char *js = json_dumps(o, JSON_COMPACT);
            printf("%s\n", js);
            free(js);
            json_decref(o);
        } else {
            printf("%s\n", text);
        }
        free(text);
    }
    if (ferror(stdout)) check_out(stdout, "standard output");
    if (g->trace) {
        /* rank 0 is a first-stage rank: it has the tokenizer */
        char *p = prompt_of(g, i);
        int *ids, n_ids = prompt_tokenize(g->tok, p, &ids);
        write_trace(g->trace, g->tok, i, ids, n_ids, r, g->top_k);
        if (ferror(g->trace)) check_out(g->trace, g->trace_path);
        free(p), free(ids);
    }
}

static void gen_round(void *ctx, int done) {
    Gen *g = ctx;
    progress_update(&g->pg, (size_t)done, session_wtime());
}

int cmd_generate(int argc, char **argv) {
    const char *C = "generate";
    const char *model = NULL, *config = NULL, *jsonl = NULL, *trace = NULL, *metrics = NULL;
    RunOverrides ov = {0};
    Pairs pairs = {0};
    int raw = 0, print_ids = 0, max_new = 128, top_k = 5, seed = 0;
    GenSettings gs = {.temperature = 0, .top_p = 1, .seed = 0};
    const Opt opts[] = {{"--model", OPT_STR, &model, 0, NULL},
                        {"--config", OPT_STR, &config, 0, NULL},
                        {"--image", OPT_FN, NULL, 0, on_image},
                        {"--prompt", OPT_FN, NULL, 0, on_prompt},
                        {"--jsonl", OPT_STR, &jsonl, 0, NULL},
                        {"--raw", OPT_FLAG, &raw, 0, NULL},
                        {"--ids", OPT_FLAG, &print_ids, 0, NULL},
                        {"--max-new-tokens", OPT_INT, &max_new, 1, NULL},
                        {"--temperature", OPT_REAL, &gs.temperature, 0, NULL},
                        {"--top-p", OPT_REAL, &gs.top_p, 0, NULL},
                        {"--seed", OPT_INT, &seed, 0, NULL},
                        {"--trace", OPT_STR, &trace, 0, NULL},
                        {"--trace-top-k", OPT_INT, &top_k, 1, NULL},
                        {"--metrics", OPT_STR, &metrics, 0, NULL},
                        RUN_OVERRIDE_OPTS(ov),
                        {0}};
    args_parse(&(ArgsCmd){.name = C, .help = help, .ctx = &pairs}, opts, argc, argv);
    gs.seed = (uint64_t)seed;
    if (gs.temperature < 0 || gs.top_p <= 0 || gs.top_p > 1)
        hl_fail("generate: --temperature must be >= 0 and --top-p in (0, 1]");
    Req *reqs = NULL;
    int n = 0;
    if (jsonl) {
        if (pairs.n_prompt || pairs.n_img)
            hl_fail("generate: give either --jsonl or --image/--prompt pairs, not both");
        read_jsonl(jsonl, &reqs, &n);
    } else {
        if (pairs.n_prompt == 0) hl_fail("generate: no --prompt given");
        reqs = hl_calloc((size_t)pairs.n_prompt, sizeof(Req));
        for (int i = 0; i < pairs.n_prompt; i++) {
            if (!pairs.prompts[i][0]) hl_fail("generate: --prompt %d is empty", i + 1);
            reqs[i].text = hl_strdup(pairs.prompts[i]);
            int im = pairs.img_of[i] >= 0 ? pairs.img_of[i] : (pairs.n_img ? 0 : -1);
            reqs[i].image = im >= 0 ? hl_strdup(pairs.images[im]) : NULL;
            reqs[i].qid = json_integer(i);
        }
        n = pairs.n_prompt;
    }
    RunConfig cfg;
    if (config)
        run_config_load(config, &cfg);
    else
        run_config_defaults(&cfg);
    if (model) {
        free(cfg.model);
        cfg.model = hl_strdup(model);
    }
    run_overrides_apply(C, &ov, &cfg);

    Session s;
    session_open(&s, &argc, &argv, &cfg, &gs);
    run_config_free(&cfg);
    s.engine.trace_k = trace ? top_k : 0;
    Gen g = {.reqs = reqs,
             .raw = raw,
             .print_ids = print_ids,
             .jsonl = jsonl != NULL,
             .top_k = top_k,
             .tok = s.tok,
             .trace = s.is_root && trace ? hl_fopen(trace, "w") : NULL,
             .trace_path = trace};
    progress_init(&g.pg, "generate", "answered", "q/s", (size_t)n, 0, session_wtime(), isatty(2));
    SessionJob job = {.n = n,
                      .max_new = max_new,
                      .item = gen_item,
                      .result = gen_result,
                      .round = jsonl ? gen_round : NULL,
                      .ctx = &g};
    session_run(&s, &job);
    if (g.trace) {
        check_out(g.trace, trace);
        if (fclose(g.trace) != 0) hl_fail("%s: close failed: %s", trace, strerror(errno));
    }
    if (s.is_root) check_out(stdout, "standard output");
    if (metrics) session_write_metrics(&s, metrics, NULL, NULL);
    for (int i = 0; i < n; i++) {
        free(reqs[i].text), free(reqs[i].image);
        json_decref(reqs[i].qid);
    }
    free(reqs), free(pairs.images), free(pairs.prompts), free(pairs.img_of);
    session_close(&s);
    return 0;
}
