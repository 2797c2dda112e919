#include "run/suite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/answers.h"
#include "eval/jsonio.h"
#include "eval/scores.h"
#include "run/progress.h"
#include "run/record.h"
#include "text/prompt.h"
#include "util/check.h"
#include "util/atomic.h"
#include "util/path.h"
#include "util/strbuf.h"

static int atomic_write_json(const char *path, const json_t *j) {
    char *txt = json_dumps(j, JSON_INDENT(2));
    int rc = txt ? atomic_write(path, txt, strlen(txt)) : -1;
    int saved = errno;
    free(txt);
    errno = saved;
    return rc;
}

/* Byte offset after the first `lines` complete lines of path (its size when shorter). */
static long line_offset(const char *path, long lines) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    long n = 0, off = 0, pos = 0;
    int ch;
    while (n < lines && (ch = fgetc(f)) != EOF) {
        pos++;
        if (ch == '\n') n++, off = pos;
    }
    fclose(f);
    return off;
}

/* How many leading lines of samples.jsonl are complete and carry the
 * question_id of the same question of the set, at most `upto`; *bytes: their size. */
static long samples_good(const char *path, const EvalSet *set, long upto, long *bytes) {
    *bytes = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    long good = 0;
    while (good < upto && (len = getline(&buf, &cap, f)) > 0) {
        if (buf[len - 1] != '\n') break;
        json_t *o = json_loadb(buf, (size_t)len, 0, NULL);
        json_t *qid = json_is_object(o) ? json_object_get(o, "question_id") : NULL;
        int same = qid && json_equal(qid, set->items[good].question_id);
        json_decref(o);
        if (!same) break;
        good++, *bytes += (long)len;
    }
    free(buf);
    fclose(f);
    return good;
}

char *suite_resume_point(const char *dir, const json_t *record, const EvalSet *set, int resume,
                         long *start, json_t **resumed) {
    *start = 0;
    if (resumed) *resumed = NULL;
    char *ans = path_os_join(dir, "answers.jsonl"), *rec = path_os_join(dir, "run.json");
    char *smp = path_os_join(dir, "samples.jsonl"), *err = NULL;
    struct stat st;
    if (!(stat(ans, &st) == 0 && st.st_size > 0)) {
        /* nothing answered: samples of an earlier start are stale */
        if (stat(smp, &st) == 0 && st.st_size > 0 && truncate(smp, 0) != 0)
            err = hl_strdupf("%s: cannot truncate: %s", smp, strerror(errno));
        goto done;
    }
    if (!resume) {
        err = hl_strdupf("%s: answers exist; pass --resume to continue them or remove the folder",
                         ans);
        goto done;
    }
    char *why = NULL;
    json_t *old = record_load(rec, &why);
    if (old && !why) why = record_mismatch(old, record);
    if (why) {
        json_decref(old);
        err = hl_strdupf("%s: cannot resume: %s", rec, why);
        free(why);
        goto done;
    }
    AnswersResume ar;
    answers_resume(ans, &ar);
    long n_ans = (long)answers_resume_check(&ar, set, ans);
    answers_resume_free(&ar);
    /* samples.jsonl follows answers.jsonl line for line: line i of both is
     * question i. Samples are written before the answers of a round, so a
     * kill leaves at least as many samples; extra ones are cut. Fewer (a
     * file from elsewhere, a full disk) move the start back: those
     * questions are answered again, to the same bytes. */
    long sbytes = 0, good = samples_good(smp, set, n_ans, &sbytes);
    if (good < n_ans) {
        hl_warn("%s: %ld of %ld answered questions have their sample line; answering from "
                "question %ld again",
                smp, good, n_ans, good + 1);
        if (truncate(ans, line_offset(ans, good)) != 0) {
            err = hl_strdupf("%s: cannot truncate: %s", ans, strerror(errno));
            json_decref(old);
            goto done;
        }
    }
    *start = good;
    if (stat(smp, &st) == 0 && st.st_size != sbytes && truncate(smp, sbytes) != 0)
        err = hl_strdupf("%s: cannot truncate: %s", smp, strerror(errno));
    if (resumed) *resumed = record_resumed(old, record, good);
    json_decref(old);
done:
    free(ans), free(rec), free(smp);
    return err;
}

/* One benchmark's run on rank 0: where its answers and samples go. */
typedef struct {
    const Session *s;
    const Job *job;
    const BenchSpec *b;
    EvalSet *set;
    AnswersWriter *aw;
    FILE *sf;
    char *smp_path;
    StrBuf pending; /* this round's answer lines: written once its samples are synced */
    Progress pg;
} BenchRun;

static void bench_item(void *ctx, int i, SessionItem *out) {
    BenchRun *br = ctx;
    const EvalItem *it = &br->set->items[i];
    out->prompt = prompt_vicuna_v1(it->question, eval_item_has_image(it));
    out->image = (ImageRef){.path = it->image,
                            .data = it->image_data,
                            .size = it->image_size,
                            .name = br->b->questions,
                            .raw = it->image_raw};
    char *qid = json_id_str(it->question_id);
    size_t n = strlen(br->b->questions) + strlen(qid) + 32;
    out->label = hl_malloc(n);
    snprintf(out->label, n, "%s: question_id %s", br->b->questions, qid);
    free(qid);
}

static void bench_result(void *ctx, int i, const GenResult *r) {
    BenchRun *br = ctx;
    const EvalItem *it = &br->set->items[i];
    char *text = prompt_answer(br->s->tok, r->tokens, r->n_tokens);
    char *line = answers_format(br->b->kind, it, text, br->job->model_id);
    sb_puts(&br->pending, line);
    json_t *toks = json_array();
    for (int t = 0; t < r->n_tokens; t++) json_array_append_new(toks, json_integer(r->tokens[t]));
    json_t *o =
        json_pack("{s:O, s:i, s:[i,i], s:s, s:o, s:f, s:i}", "question_id", it->question_id,
                  "prompt_tokens", r->prompt_rows, "image_size", r->img_w, r->img_h, "image_mode",
                  r->img_mode, "tokens", toks, "seconds", r->seconds, "rank", r->rank);
    char *js = json_dumps(o, JSON_COMPACT);
    if (fprintf(br->sf, "%s\n", js) < 0)
        hl_fail("%s: write failed: %s", br->smp_path, strerror(errno));
    hl_test_point("samples.line");
    free(js), json_decref(o), free(line), free(text);
}

/* The end of a round: samples first (synced), then the answers (synced).
 * The answers file is the commit: a kill anywhere leaves no answer without
 * its sample line (see suite_resume_point). */
static void bench_round(void *ctx, int done) {
    BenchRun *br = ctx;
    if (fflush(br->sf) != 0 || fsync(fileno(br->sf)) != 0)
        hl_fail("%s: write failed: %s", br->smp_path, strerror(errno));
    hl_test_point("samples.synced");
    if (br->pending.n) answers_write(br->aw, br->pending.s);
    sb_clear(&br->pending);
    hl_test_point("answers.written");
    answers_sync(br->aw);
    hl_test_point("answers.synced");
    progress_update(&br->pg, (size_t)done, session_wtime());
}

/* The throughput numbers of one benchmark or of the suite (rank 0). */
static json_t *totals_json(const SessionTotals *t) {
    double sec = t->wall_s;
    return json_pack("{s:f, s:I, s:I, s:f, s:f, s:f}", "eval_s", sec, "samples",
                     (json_int_t)t->samples, "generated_tokens", (json_int_t)t->tokens,
                     "samples_per_s", sec > 0 ? t->samples / sec : 0.0, "tokens_per_s",
                     sec > 0 ? t->tokens / sec : 0.0, "prompt_positions_per_s",
                     sec > 0 ? t->prompt_rows / sec : 0.0);
}

/* One benchmark on every rank; returns its score object on rank 0 (or NULL).
 * Its own metrics (OUTPUT/<bench>/metrics.json: its samples/s and tokens/s,
 * the per-rank times of its rounds only) are written here unless it runs
 * alone (--bench); per gets its totals under its name (rank 0). */
static json_t *run_bench(Session *s, const Job *job, const BenchSpec *b, const SuiteOptions *o,
                         SessionTotals *sum, json_t *per) {
    /* only the first stage reads the questions (images, base64 TSVs); the
     * other stages need the count, which rank 0 (always a first stage) sends */
    EvalSet *set = s->is_first ? eval_read(b, NULL) : NULL;
    long n = set ? (long)set->n : 0;
    session_bcast(s, &n, sizeof n);
    char *dir = path_os_join(job->output, b->name);
    int max_new = b->max_new_tokens > 0 ? b->max_new_tokens : bench_default_max_new_tokens(b->kind);
    /* rank 0 decides where to start; every rank learns it (or fails with everyone) */
    long start = 0;
    char msg[1024] = "";
    if (s->is_root) {
        path_mkdirs(dir);
        char msha[65], qsha[65], isha[65];
        long ifiles = 0;
        record_file_sha256(s->cfg.model, msha);
        record_file_sha256(b->questions, qsha);
        record_folder_digest(b->images, isha, &ifiles);
        RecordInput ri = {.model_path = s->cfg.model,
                          .model_sha256 = msha,
                          .questions_sha256 = qsha,
                          .images_sha256 = isha,
                          .images_files = ifiles,
                          .model_id = job->model_id,
                          .run = &s->cfg,
                          .bench = b,
                          .gen = &s->engine.gen,
                          .max_new_tokens = max_new};
        json_t *rec = record_build(&ri), *resumed = NULL;
        char *err = suite_resume_point(dir, rec, set, o->resume, &start, &resumed);
        char *rec_path = path_os_join(dir, "run.json");
        /* a fresh start writes the record; a resumption keeps it and appends an entry */
        if (err)
            snprintf(msg, sizeof msg, "%s", err);
        else if (atomic_write_json(rec_path, resumed ? resumed : rec) != 0)
            snprintf(msg, sizeof msg, "%s: cannot write: %s", rec_path, strerror(errno));
        free(err), free(rec_path);
        json_decref(rec), json_decref(resumed);
    }
    session_bcast(s, msg, sizeof msg);
    if (msg[0]) session_fail_all(s, msg);
    session_bcast(s, &start, sizeof start);

    char *ans_path = path_os_join(dir, "answers.jsonl");
    BenchRun br = {.s = s, .job = job, .b = b, .set = set};
    if (s->is_root) {
        br.aw = answers_open(ans_path, 1);
        br.smp_path = path_os_join(dir, "samples.jsonl");
        br.sf = fopen(br.smp_path, "a");
        if (!br.sf) hl_fail("%s: cannot open for writing: %s", br.smp_path, strerror(errno));
    }
    progress_init(&br.pg, b->name, "answered", "q/s", (size_t)n, (size_t)start, session_wtime(),
                  isatty(2));
    SessionJob sj = {.n = (int)n,
                     .start = (int)start,
                     .batch_size = b->batch_size,
                     .max_new = max_new,
                     .item = bench_item,
                     .result = bench_result,
                     .round = bench_round,
                     .ctx = &br};
    SessionMark mark;
    session_mark(s, &mark);
    SessionTotals t = session_run(s, &sj);
    char *extra = NULL;
    if (s->is_root) {
        json_t *x = totals_json(&t);
        json_object_set_new(x, "benchmark", json_string(b->name));
        json_object_set_new(x, "batch_size",
                            json_integer(sj.batch_size > 0 ? sj.batch_size : s->cfg.batch_size));
        json_object_set_new(per, b->name, json_deep_copy(x));
        json_object_set_new(x, "job", json_string(job->path));
        extra = json_dumps(x, JSON_COMPACT);
        json_decref(x);
    }
    /* a resumed benchmark with nothing left keeps the metrics of its run */
    if (!o->one && start < n) {
        char *mp = path_os_join(dir, "metrics.json");
        session_write_metrics(s, mp, extra, &mark);
        free(mp);
    }
    free(extra);
    sum->wall_s += t.wall_s;
    sum->samples += t.samples, sum->tokens += t.tokens, sum->prompt_rows += t.prompt_rows;
    json_t *score = NULL;
    if (s->is_root) {
        answers_close(br.aw);
        if (fclose(br.sf) != 0) hl_fail("%s: close failed: %s", br.smp_path, strerror(errno));
        free(br.smp_path);
        sb_free(&br.pending);
        if (o->score) {
            ScoreReport rep = score_answers(b, ans_path, dir);
            score = json_incref(rep.scores);
            char *sp = path_os_join(dir, "scores.json");
            json_write_atomic(sp, rep.scores, JSON_INDENT(2));
            free(sp);
            if (rep.summary) printf("%s\n", rep.summary);
            score_report_free(&rep);
        } else {
            score = json_pack("{s:s, s:s}", "benchmark", b->name, "kind", bench_kind_name(b->kind));
        }
    }
    eval_set_free(set);
    free(dir), free(ans_path);
    return score;
}

void suite_run(Session *s, const Job *job, const SuiteOptions *o) {
    json_t *scores = s->is_root ? json_object() : NULL;
    json_t *per = s->is_root ? json_object() : NULL;
    SessionTotals tp = {0};
    for (int i = o->b0; i < o->b1; i++) {
        json_t *sc = run_bench(s, job, &job->benches[i], o, &tp, per);
        if (scores && sc) json_object_set_new(scores, job->benches[i].name, sc);
    }
    char *extra = NULL;
    if (s->is_root) {
        if (!o->one) {
            char *sp = path_os_join(job->output, "scores.json");
            json_write_atomic(sp, scores, JSON_INDENT(2));
            free(sp);
            printf("\n");
            score_table_header(stdout);
            const char *key;
            json_t *v;
            json_object_foreach(scores, key, v) score_table_row(stdout, key, v);
            if (fflush(stdout) != 0 || ferror(stdout))
                hl_fail("standard output: write failed: %s", strerror(errno));
        }
        json_t *x = totals_json(&tp);
        json_object_set_new(x, "job", json_string(job->path));
        if (o->one) {
            /* one benchmark: its metrics are the run's */
            const BenchSpec *b = &job->benches[o->b0];
            json_object_set_new(x, "benchmark", json_string(b->name));
            json_object_set(x, "batch_size",
                            json_object_get(json_object_get(per, b->name), "batch_size"));
        } else {
            json_object_set(x, "benchmarks", per);
        }
        extra = json_dumps(x, JSON_COMPACT);
        json_decref(x);
        json_decref(scores);
        json_decref(per);
    }
    char *mpath = o->metrics ? hl_strdup(o->metrics) : NULL;
    if (!mpath) {
        char *d =
            o->one ? path_os_join(job->output, job->benches[o->b0].name) : hl_strdup(job->output);
        mpath = path_os_join(d, "metrics.json");
        free(d);
    }
    session_write_metrics(s, mpath, extra, NULL);
    free(mpath), free(extra);
}
