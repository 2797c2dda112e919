/* hyperllava eval --job FILE [--resume]: a benchmark suite end to end.
 *
 * Per benchmark: questions in, LLaVA-format answers out (written in question
 * order, batch by batch, flushed and synced), a per-sample log, a run record,
 * then the local score. Data-parallel replicas take consecutive batches of
 * each round; rank 0 writes a round once every replica has answered it, so
 * a killed job loses at most the round in flight and --resume repeats none
 * of what was written. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/answers.h"
#include "eval/questions.h"
#include "eval/scores.h"
#include "run/job.h"
#include "run/record.h"
#include "run/session.h"
#include "text/prompt.h"
#include "util/check.h"

static const char *help =
    "usage: hyperllava eval --job JOB.yaml [options]\n"
    "Runs every benchmark of the job (or one: --bench) and scores it. Launch it with the\n"
    "world size of the job's layout (launcher/hyperllava-run does).\n"
    "  --resume            continue answers files of an interrupted run (same run record)\n"
    "  --bench I|NAME      only this benchmark (index from 0, or its name): SLURM arrays\n"
    "  --layout DxPxT      override the run config's layout\n"
    "  --batch-size N      override the batch size\n"
    "  --micro-batches M   override the micro-batch count\n"
    "  --threads N         override threads per rank\n"
    "  --dtype D           override the held weight precision (f32, bf16, f16)\n"
    "  --limit N           only the first N questions of each benchmark (smoke runs)\n"
    "  --no-score          write answers only\n"
    "  --output DIR        override the job's output folder\n"
    "  --metrics FILE      where metrics go (default OUTPUT/metrics.json, or\n"
    "                      OUTPUT/<bench>/metrics.json with --bench)\n"
    "Outputs in the job's output folder, per benchmark NAME: NAME/answers.jsonl (LLaVA's\n"
    "format), NAME/samples.jsonl, NAME/run.json, NAME/scores.json and the server files;\n"
    "then scores.json, metrics.json and a summary table for the suite.\n";

static void mkdirs(const char *path) {
    char *p = hl_strdup(path);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        mkdir(p, 0777);
        *q = '/';
    }
    if (mkdir(p, 0777) != 0) {
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) hl_fail("%s: cannot create folder", p);
    }
    free(p);
}

/* Progress on rank 0: a bar with ETA on a terminal, a log line every 10 %
 * (and at least every 60 s) otherwise. */
typedef struct {
    const char *name;
    size_t total, done, start;
    double t0, last;
    int tty, last_decile;
} Progress;

static void progress(Progress *p, double now) {
    size_t n = p->done - p->start, todo = p->total - p->start;
    double el = now - p->t0, rate = el > 0 ? n / el : 0, eta = rate > 0 ? (todo - n) / rate : 0;
    if (p->tty) {
        int w = 30, f = todo ? (int)(w * n / todo) : w;
        fprintf(stderr, "\r%-12.12s [%.*s%*s] %zu/%zu  %.2f q/s  ETA %02d:%02d:%02d ", p->name, f,
                "##############################", w - f, "", p->done, p->total, rate,
                (int)eta / 3600, (int)eta / 60 % 60, (int)eta % 60);
        if (p->done == p->total) fputc('\n', stderr);
    } else {
        int dec = todo ? (int)(10 * n / todo) : 10;
        if (dec == p->last_decile && now - p->last < 60 && p->done != p->total) return;
        p->last_decile = dec, p->last = now;
        fprintf(stderr, "hyperllava: %s: %zu/%zu answered, %.2f q/s, ETA %.0f s\n", p->name,
                p->done, p->total, rate, eta);
    }
    fflush(stderr);
}

typedef struct {
    double seconds;
    long samples, tokens, prompt_rows;
} Throughput;

/* One benchmark on every rank; returns its score object on rank 0 (or NULL). */
static json_t *run_bench(Session *s, Job *job, BenchSpec *b, int resume, int do_score,
                         Throughput *tp) {
    int r0 = s->comm.rank == 0;
    /* only the first stage reads the questions (images, base64 TSVs); the
     * other stages need the count, which rank 0 (always a first stage) sends */
    EvalSet *set = s->engine.is_first ? eval_read(b, NULL) : NULL;
    long n_items = set ? (long)set->n : 0;
    group_bcast(&s->comm.world, &n_items, sizeof n_items, 0);
    int n = (int)n_items;
    char *dir = path_join(job->output, b->name);
    char *ans_path = path_join(dir, "answers.jsonl"), *smp_path = path_join(dir, "samples.jsonl");
    char *rec_path = path_join(dir, "run.json");
    int max_new = b->max_new_tokens > 0 ? b->max_new_tokens : bench_default_max_new_tokens(b->kind);
    GenSettings gen = s->engine.gen;
    /* rank 0 decides where to start; every rank learns it (or fails with everyone) */
    long start = 0;
    char msg[1024] = "";
    if (r0) {
        mkdirs(dir);
        char msha[65], qsha[65];
        record_file_sha256(s->cfg.model, msha);
        record_file_sha256(b->questions, qsha);
        RecordInput ri = {.model_path = s->cfg.model,
                          .model_sha256 = msha,
                          .questions_sha256 = qsha,
                          .model_id = job->model_id,
                          .run = &s->cfg,
                          .bench = b,
                          .gen = &gen,
                          .max_new_tokens = max_new};
        json_t *rec = record_build(&ri);
        struct stat st;
        int have = stat(ans_path, &st) == 0 && st.st_size > 0;
        if (have && !resume) {
            snprintf(msg, sizeof msg,
                     "%s: answers exist; pass --resume to continue them or remove the folder",
                     ans_path);
        } else if (have) {
            json_error_t err;
            json_t *old = json_load_file(rec_path, 0, &err);
            char *why = old ? record_mismatch(old, rec)
                            : hl_strdup("no run record (run.json) beside the answers");
            if (why) snprintf(msg, sizeof msg, "%s: cannot resume: %s", rec_path, why);
            free(why);
            json_decref(old);
            if (!msg[0]) {
                AnswersResume ar;
                answers_resume(ans_path, &ar);
                start = (long)answers_resume_check(&ar, set, ans_path);
                answers_resume_free(&ar);
                /* samples.jsonl follows answers.jsonl line for line */
                FILE *f = fopen(smp_path, "r");
                long lines = 0, good = 0;
                if (f) {
                    int ch, prev = '\n';
                    long off = 0;
                    while ((ch = fgetc(f)) != EOF) {
                        off++;
                        if (ch == '\n' && lines < start) lines++, good = off;
                        prev = ch;
                    }
                    (void)prev;
                    fclose(f);
                    if (truncate(smp_path, good) != 0) hl_warn("%s: cannot truncate", smp_path);
                }
            }
        }
        if (!msg[0] && json_dump_file(rec, rec_path, JSON_INDENT(2)) != 0)
            snprintf(msg, sizeof msg, "%s: cannot write the run record", rec_path);
        json_decref(rec);
    }
    group_bcast(&s->comm.world, msg, sizeof msg, 0);
    if (msg[0]) comm_fail_all(&s->comm, msg);
    group_bcast(&s->comm.world, &start, sizeof start, 0);

    AnswersWriter *aw = NULL;
    FILE *sf = NULL;
    if (r0) {
        aw = answers_open(ans_path, 1);
        sf = fopen(smp_path, "a");
        if (!sf) hl_fail("%s: cannot open for writing", smp_path);
    }
    int bs = b->batch_size > 0 ? b->batch_size : (s->cfg.batch_size > 0 ? s->cfg.batch_size : 1);
    int dp = s->comm.dp;
    Progress pg = {.name = b->name,
                   .total = (size_t)n,
                   .done = (size_t)start,
                   .start = (size_t)start,
                   .t0 = comm_wtime(),
                   .tty = isatty(2),
                   .last_decile = -1};
    pg.last = pg.t0;
    double t0 = comm_wtime();
    long tokens = 0, rows = 0;
    for (long w0 = start; w0 < n; w0 += (long)bs * dp) {
        long wn = n - w0 < (long)bs * dp ? n - w0 : (long)bs * dp;
        /* this replica's share of the round */
        int lo = (int)(wn * s->comm.dp_rank / dp), hi = (int)(wn * (s->comm.dp_rank + 1) / dp);
        int cnt = hi - lo;
        GenRequest *rq = hl_calloc((size_t)(cnt ? cnt : 1), sizeof(GenRequest));
        GenResult *rs = hl_calloc((size_t)(cnt ? cnt : 1), sizeof(GenResult));
        int **ids = hl_calloc((size_t)(cnt ? cnt : 1), sizeof(int *));
        for (int j = 0; j < cnt; j++) {
            rq[j].id = w0 + lo + j;
            rq[j].max_new = max_new;
            if (s->engine.is_first) {
                EvalItem *it = &set->items[w0 + lo + j];
                char *p = prompt_vicuna_v1(it->question, eval_item_has_image(it));
                rq[j].n_ids = prompt_tokenize(s->tok, p, &ids[j]);
                rq[j].ids = ids[j];
                free(p);
                rq[j].image_path = it->image;
                rq[j].image_data = it->image_data, rq[j].image_size = it->image_size;
                rq[j].image_name = b->questions;
                rq[j].image_raw = it->image_raw;
            }
        }
        if (cnt) engine_generate(&s->engine, rq, cnt, rs);
        GenResult *all = session_gather(s, rs, lo, hi, (int)wn);
        if (r0) {
            for (long i = 0; i < wn; i++) {
                EvalItem *it = &set->items[w0 + i];
                GenResult *r = &all[i];
                char *text = prompt_answer(s->tok, r->tokens, r->n_tokens);
                char *line = answers_format(b->kind, it, text, job->model_id);
                answers_write(aw, line);
                json_t *toks = json_array();
                for (int t = 0; t < r->n_tokens; t++)
                    json_array_append_new(toks, json_integer(r->tokens[t]));
                json_t *o = json_pack("{s:O, s:i, s:[i,i], s:s, s:o, s:f, s:i}", "question_id",
                                      it->question_id, "prompt_tokens", r->prompt_rows,
                                      "image_size", r->img_w, r->img_h, "image_mode", r->img_mode,
                                      "tokens", toks, "seconds", r->seconds, "rank", r->rank);
                char *js = json_dumps(o, JSON_COMPACT);
                fprintf(sf, "%s\n", js);
                free(js), json_decref(o), free(line), free(text);
                tokens += r->n_tokens, rows += r->prompt_rows;
                gen_result_free(r);
            }
            answers_sync(aw);
            fflush(sf);
            fsync(fileno(sf));
            free(all);
            pg.done = (size_t)(w0 + wn);
            progress(&pg, comm_wtime());
        }
        for (int j = 0; j < cnt; j++) gen_result_free(&rs[j]), free(ids[j]);
        free(rq), free(rs), free(ids);
    }
    tp->seconds += comm_wtime() - t0;
    tp->samples += n - start, tp->tokens += tokens, tp->prompt_rows += rows;
    json_t *score = NULL;
    if (r0) {
        answers_close(aw);
        fclose(sf);
        if (do_score) {
            ScoreReport rep = score_answers(b, ans_path, dir);
            score = json_incref(rep.scores);
            char *sp = path_join(dir, "scores.json");
            json_dump_file(rep.scores, sp, JSON_INDENT(2));
            free(sp);
            if (rep.summary) printf("%s\n", rep.summary);
            score_report_free(&rep);
        } else {
            score = json_pack("{s:s, s:s}", "benchmark", b->name, "kind", bench_kind_name(b->kind));
        }
    }
    eval_set_free(set);
    free(dir), free(ans_path), free(smp_path), free(rec_path);
    return score;
}

int cmd_eval(int argc, char **argv) {
    const char *C = "eval";
    const char *job_path = NULL, *bench_sel = NULL, *metrics = NULL, *output = NULL;
    RunOverrides ov = {0};
    int resume = 0, do_score = 1, limit = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (arg_is_help(a)) {
            fputs(help, stdout);
            return 0;
        } else if (!strcmp(a, "--job"))
            job_path = arg_value(C, argc, argv, &i);
        else if (!strcmp(a, "--resume"))
            resume = 1;
        else if (!strcmp(a, "--no-score"))
            do_score = 0;
        else if (!strcmp(a, "--bench"))
            bench_sel = arg_value(C, argc, argv, &i);
        else if (!strcmp(a, "--limit"))
            limit = arg_int(C, a, arg_value(C, argc, argv, &i), 0);
        else if (!strcmp(a, "--metrics"))
            metrics = arg_value(C, argc, argv, &i);
        else if (!strcmp(a, "--output"))
            output = arg_value(C, argc, argv, &i);
        else if (!arg_run_override(C, argc, argv, &i, &ov))
            hl_fail("eval: unknown option '%s' (see hyperllava eval --help)", a);
    }
    if (!job_path) hl_fail("eval: no job given (hyperllava eval --job JOB.yaml)");
    Job job;
    job_load(job_path, &job);
    if (output) {
        free(job.output);
        job.output = hl_strdup(output);
    }
    int b0 = 0, b1 = job.n_benches;
    if (bench_sel) {
        int found = -1;
        for (int i = 0; i < job.n_benches; i++)
            if (!strcmp(job.benches[i].name, bench_sel)) found = i;
        if (found < 0) {
            char *end;
            long v = strtol(bench_sel, &end, 10);
            if (!*end && end != bench_sel && v >= 0 && v < job.n_benches) found = (int)v;
        }
        if (found < 0)
            hl_fail("%s: no benchmark '%s' (names or indices 0..%d)", job_path, bench_sel,
                    job.n_benches - 1);
        b0 = found, b1 = found + 1;
    }
    run_overrides_apply(C, &ov, &job.run);
    if (limit >= 0)
        for (int i = 0; i < job.n_benches; i++) job.benches[i].limit = limit;
    GenSettings gen = {.temperature = job.temperature, .top_p = job.top_p, .seed = job.seed};
    Session s;
    session_open(&s, &argc, &argv, &job.run, &gen);
    json_t *scores = s.comm.rank == 0 ? json_object() : NULL;
    Throughput tp = {0};
    for (int i = b0; i < b1; i++) {
        json_t *sc = run_bench(&s, &job, &job.benches[i], resume, do_score, &tp);
        if (scores && sc) json_object_set_new(scores, job.benches[i].name, sc);
    }
    char *extra = NULL;
    if (s.comm.rank == 0) {
        if (!bench_sel) {
            char *sp = path_join(job.output, "scores.json");
            json_dump_file(scores, sp, JSON_INDENT(2));
            free(sp);
            printf("\n");
            score_table_header(stdout);
            const char *key;
            json_t *v;
            json_object_foreach(scores, key, v) score_table_row(stdout, key, v);
        }
        json_t *x =
            json_pack("{s:s, s:f, s:I, s:I, s:f, s:f, s:f}", "job", job_path, "eval_s", tp.seconds,
                      "samples", (json_int_t)tp.samples, "generated_tokens", (json_int_t)tp.tokens,
                      "samples_per_s", tp.seconds > 0 ? tp.samples / tp.seconds : 0.0,
                      "tokens_per_s", tp.seconds > 0 ? tp.tokens / tp.seconds : 0.0,
                      "prompt_positions_per_s", tp.seconds > 0 ? tp.prompt_rows / tp.seconds : 0.0);
        extra = json_dumps(x, JSON_COMPACT);
        json_decref(x);
        json_decref(scores);
    }
    char *mpath = metrics ? hl_strdup(metrics) : NULL;
    if (!mpath) {
        char *d = bench_sel ? path_join(job.output, job.benches[b0].name) : hl_strdup(job.output);
        mpath = path_join(d, "metrics.json");
        free(d);
    }
    session_write_metrics(&s, mpath, extra);
    free(mpath), free(extra);
    job_free(&job);
    session_close(&s);
    return 0;
}
