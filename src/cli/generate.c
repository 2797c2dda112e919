/* hyperllava generate: answer one or many image+question pairs on any
 * layout (run it under mpirun/srun with the world size the layout needs). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
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
    "  --dtype D              weights held as f32, bf16 or f16 (compute is f32)\n"
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

int cmd_generate(int argc, char **argv) {
    const char *C = "generate";
    const char *model = NULL, *config = NULL, *jsonl = NULL, *trace = NULL, *metrics = NULL;
    RunOverrides ov = {0};
    char **images = NULL, **prompts = NULL;
    int n_img = 0, n_prompt = 0, raw = 0, print_ids = 0;
    int max_new = 128, top_k = 5;
    GenSettings gs = {.temperature = 0, .top_p = 1, .seed = 0};
    /* an --image applies to the prompts after it */
    int *img_of = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (arg_is_help(a)) {
            fputs(help, stdout);
            return 0;
        } else if (!strcmp(a, "--model"))
            model = arg_value(C, argc, argv, &i);
        else if (!strcmp(a, "--config"))
            config = arg_value(C, argc, argv, &i);
        else if (!strcmp(a, "--image")) {
            images = hl_realloc(images, (size_t)(n_img + 1) * sizeof(char *));
            images[n_img++] = (char *)arg_value(C, argc, argv, &i);
        } else if (!strcmp(a, "--prompt")) {
            prompts = hl_realloc(prompts, (size_t)(n_prompt + 1) * sizeof(char *));
            img_of = hl_realloc(img_of, (size_t)(n_prompt + 1) * sizeof(int));
            img_of[n_prompt] = n_img - 1;
            prompts[n_prompt++] = (char *)arg_value(C, argc, argv, &i);
        } else if (!strcmp(a, "--jsonl"))
            jsonl = arg_value(C, argc, argv, &i);
        else if (!strcmp(a, "--raw"))
            raw = 1;
        else if (!strcmp(a, "--ids"))
            print_ids = 1;
        else if (!strcmp(a, "--max-new-tokens"))
            max_new = arg_int(C, a, arg_value(C, argc, argv, &i), 1);
        else if (!strcmp(a, "--temperature"))
            gs.temperature = arg_real(C, a, arg_value(C, argc, argv, &i));
        else if (!strcmp(a, "--top-p"))
            gs.top_p = arg_real(C, a, arg_value(C, argc, argv, &i));
        else if (!strcmp(a, "--seed"))
            gs.seed = (uint64_t)arg_int(C, a, arg_value(C, argc, argv, &i), 0);
        else if (!strcmp(a, "--trace"))
            trace = arg_value(C, argc, argv, &i);
        else if (!strcmp(a, "--trace-top-k"))
            top_k = arg_int(C, a, arg_value(C, argc, argv, &i), 1);
        else if (!strcmp(a, "--metrics"))
            metrics = arg_value(C, argc, argv, &i);
        else if (!arg_run_override(C, argc, argv, &i, &ov))
            hl_fail("generate: unknown option '%s' (see hyperllava generate --help)", a);
    }
    if (gs.temperature < 0 || gs.top_p <= 0 || gs.top_p > 1)
        hl_fail("generate: --temperature must be >= 0 and --top-p in (0, 1]");
    Req *reqs = NULL;
    int n = 0;
    if (jsonl) {
        if (n_prompt || n_img)
            hl_fail("generate: give either --jsonl or --image/--prompt pairs, not both");
        read_jsonl(jsonl, &reqs, &n);
    } else {
        if (n_prompt == 0) hl_fail("generate: no --prompt given");
        reqs = hl_calloc((size_t)n_prompt, sizeof(Req));
        for (int i = 0; i < n_prompt; i++) {
            if (!prompts[i][0]) hl_fail("generate: --prompt %d is empty", i + 1);
            reqs[i].text = hl_strdup(prompts[i]);
            int im = img_of[i] >= 0 ? img_of[i] : (n_img ? 0 : -1);
            reqs[i].image = im >= 0 ? hl_strdup(images[im]) : NULL;
            reqs[i].qid = json_integer(i);
        }
        n = n_prompt;
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
    int lo, hi;
    session_share(&s, n, &lo, &hi);
    int bs = s.cfg.batch_size > 0 ? s.cfg.batch_size : 1;
    GenResult *mine = hl_calloc((size_t)(hi - lo + 1), sizeof(GenResult));
    int **ids = hl_calloc((size_t)n, sizeof(int *));
    int *n_ids = hl_calloc((size_t)n, sizeof(int));
    for (int b = lo; b < hi; b += bs) {
        int cnt = hi - b < bs ? hi - b : bs;
        GenRequest *gr = hl_calloc((size_t)cnt, sizeof(GenRequest));
        for (int j = 0; j < cnt; j++) {
            Req *q = &reqs[b + j];
            gr[j].id = b + j;
            gr[j].max_new = max_new;
            if (s.engine.is_first) {
                char *p = raw ? hl_strdup(q->text) : prompt_vicuna_v1(q->text, q->image != NULL);
                n_ids[b + j] = prompt_tokenize(s.tok, p, &ids[b + j]);
                free(p);
                gr[j].ids = ids[b + j], gr[j].n_ids = n_ids[b + j];
                gr[j].image_path = q->image;
            }
        }
        engine_generate(&s.engine, gr, cnt, mine + (b - lo));
        free(gr);
    }
    GenResult *all = session_gather(&s, mine, lo, hi, n);
    if (s.comm.rank == 0) {
        FILE *tf = trace ? hl_fopen(trace, "w") : NULL;
        for (int i = 0; i < n; i++) {
            GenResult *r = &all[i];
            if (print_ids) {
                for (int t = 0; t < r->n_tokens; t++) printf("%s%d", t ? " " : "", r->tokens[t]);
                printf("\n");
            } else {
                char *text = prompt_answer(s.tok, r->tokens, r->n_tokens), *a = text;
                if (jsonl) {
                    json_t *o = json_pack("{s:O, s:s}", "question_id", reqs[i].qid, "text", a);
                    char *js = json_dumps(o, JSON_COMPACT);
                    printf("%s\n", js);
                    free(js);
                    json_decref(o);
                } else {
                    printf("%s\n", a);
                }
                free(text);
            }
            if (tf) {
                /* rank 0 is a first-stage rank: it tokenized every prompt of its replica;
                 * the other replicas' prompts are re-tokenized here for the trace */
                if (!ids[i]) {
                    char *p = raw ? hl_strdup(reqs[i].text)
                                  : prompt_vicuna_v1(reqs[i].text, reqs[i].image != NULL);
                    n_ids[i] = prompt_tokenize(s.tok, p, &ids[i]);
                    free(p);
                }
                write_trace(tf, s.tok, i, ids[i], n_ids[i], r, top_k);
            }
            gen_result_free(r);
        }
        if (tf) fclose(tf);
        fflush(stdout);
        free(all);
    }
    if (metrics) session_write_metrics(&s, metrics, NULL);
    for (int i = 0; i < hi - lo; i++) gen_result_free(&mine[i]);
    for (int i = 0; i < n; i++) {
        free(ids[i]), free(reqs[i].text), free(reqs[i].image);
        json_decref(reqs[i].qid);
    }
    free(mine), free(ids), free(n_ids), free(reqs), free(images), free(prompts), free(img_of);
    session_close(&s);
    return 0;
}
