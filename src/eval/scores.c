/* Scoring dispatch and shared helpers (see scores.h). */
#include "eval/scores.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eval/jsonio.h"
#include "eval/score_internal.h"
#include "util/check.h"
#include "util/path.h"

char *score_out_path(ScoreCtx *c, const char *suffix) {
    if (!c->out_dir) return NULL;
    if (mkdir(c->out_dir, 0777) != 0 && errno != EEXIST)
        hl_fail("%s: cannot create folder: %s", c->out_dir, strerror(errno));
    StrBuf b = {0};
    sb_printf(&b, "%s%s%s%s", c->out_dir, str_endswith(c->out_dir, "/") ? "" : "/", c->name,
              suffix);
    return sb_take(&b);
}

void score_add_file(ScoreCtx *c, const char *path) {
    json_t *files = json_object_get(c->scores, "files");
    if (!files) json_object_set_new(c->scores, "files", files = json_array());
    json_array_append_new(files, json_text(path));
}

void score_headline(ScoreCtx *c, const char *metric, double value) {
    json_t *h = json_object();
    json_object_set_new(h, "metric", json_text(metric));
    json_object_set_new(h, "value", json_real(value));
    json_object_set_new(c->scores, "headline", h);
}

void score_incomplete(ScoreCtx *c, const char *fmt, ...) {
    StrBuf b = {0};
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_puts(&b, tmp);
    c->complete = 0;
    json_t *w = json_object_get(c->scores, "warnings");
    if (!w) json_object_set_new(c->scores, "warnings", w = json_array());
    json_array_append_new(w, json_text(b.s));
    hl_warn("%s: %s", c->name, b.s);
    sb_free(&b);
}

void score_note(ScoreCtx *c, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    json_object_set_new(c->scores, "note", json_text(tmp));
    sb_printf(&c->summary, "  %s\n", tmp);
}

json_t *score_result(ScoreCtx *c, json_t *qid, const char *category, const char *prediction,
                     json_t *parsed, json_t *ground_truth) {
    if (!c->results) c->results = json_array();
    json_t *r = json_object();
    json_object_set(r, "question_id", qid ? qid : json_null());
    json_object_set_new(r, "category", category ? json_text(category) : json_null());
    json_object_set_new(r, "prediction", prediction ? json_text(prediction) : json_null());
    json_object_set_new(r, "parsed", parsed ? parsed : json_null());
    json_object_set_new(r, "ground_truth", ground_truth ? ground_truth : json_null());
    json_array_append_new(c->results, r);
    return r;
}

void score_result_correct(json_t *rec, int ok) {
    json_object_set_new(rec, "correct", json_boolean(ok));
    json_object_set_new(rec, "score", json_real(ok ? 1.0 : 0.0));
}

void score_result_score(json_t *rec, double score) {
    json_object_set_new(rec, "score", json_real(score));
}

/* results.jsonl: one record a line, written to a temporary file and renamed into place;
 * a benchmark scored without per-question records removes a stale one. */
static void write_results(ScoreCtx *c, const char *path) {
    if (!c->results) {
        if (unlink(path) != 0 && errno != ENOENT)
            hl_fail("%s: cannot remove: %s", path, strerror(errno));
        return;
    }
    StrBuf tmp = {0};
    sb_printf(&tmp, "%s.tmp", path);
    FILE *f = hl_fopen(tmp.s, "wb");
    size_t i;
    json_t *r;
    json_array_foreach(c->results, i, r) {
        if (json_dumpf(r, f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF)
            hl_fail("%s: write failed", tmp.s);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
        hl_fail("%s: write failed: %s", tmp.s, strerror(errno));
    if (rename(tmp.s, path) != 0)
        hl_fail("%s: cannot rename to %s: %s", tmp.s, path, strerror(errno));
    sb_free(&tmp);
    score_add_file(c, path);
    set_int(c->scores, "results_questions", (long long)json_array_size(c->results));
}

void set_num(json_t *o, const char *key, double v) {
    json_object_set_new(o, key, json_real(v));
}

void set_int(json_t *o, const char *key, long long v) {
    json_object_set_new(o, key, json_integer(v));
}

double safe_div(double a, double b) {
    return b != 0 ? a / b : 0.0;
}

ScoreReport score_answers(const BenchSpec *spec, const char *answers_path, const char *out_dir) {
    char *rp = out_dir ? path_os_join(out_dir, "results.jsonl") : NULL;
    ScoreReport r = score_answers_results(spec, answers_path, out_dir, rp);
    free(rp);
    return r;
}

ScoreReport score_answers_results(const BenchSpec *spec, const char *answers_path,
                                  const char *out_dir, const char *results_path) {
    ScoreCtx c = {0};
    c.spec = spec;
    c.name = spec->name ? spec->name : bench_kind_name(spec->kind);
    c.out_dir = out_dir;
    int tolerant = spec->kind == BENCH_VQAV2 || spec->kind == BENCH_VIZWIZ;
    c.answers = tolerant ? answers_load_tolerant(answers_path) : answers_load(answers_path);
    c.complete = 1;
    c.scores = json_object();
    json_object_set_new(c.scores, "benchmark", json_text(c.name));
    json_object_set_new(c.scores, "kind", json_string(bench_kind_name(spec->kind)));
    set_int(c.scores, "answers", (long long)c.answers->n);
    json_object_set_new(c.scores, "headline", json_null());
    sb_printf(&c.summary, "%s (%s): %zu answers\n", c.name, bench_kind_name(spec->kind),
              c.answers->n);
    if (tolerant) {
        /* the converter prints "error_line: N" and goes on */
        set_int(c.scores, "error_lines", (long long)c.answers->bad_lines);
        if (c.answers->bad_lines)
            hl_warn("%s: %zu answers lines are not JSON; skipped and counted as the official "
                    "converter does",
                    answers_path, c.answers->bad_lines);
    }
    switch (spec->kind) {
    case BENCH_POPE:
        score_pope(&c);
        break;
    case BENCH_MME:
        score_mme(&c);
        break;
    case BENCH_GQA:
        score_gqa(&c);
        break;
    case BENCH_SQA:
        score_sqa(&c);
        break;
    case BENCH_TEXTVQA:
        score_textvqa(&c);
        break;
    case BENCH_VQAV2:
        score_vqav2(&c);
        break;
    case BENCH_VIZWIZ:
        score_vizwiz(&c);
        break;
    case BENCH_SEED:
        score_seed(&c);
        break;
    case BENCH_MMBENCH:
    case BENCH_MMBENCH_CN:
        score_mmbench(&c);
        break;
    case BENCH_LLAVA_BENCH:
        score_llava_bench(&c);
        break;
    case BENCH_MMVET:
        score_mmvet(&c);
        break;
    default:
        CHECK(0);
    }
    if (results_path) {
        if (out_dir && mkdir(out_dir, 0777) != 0 && errno != EEXIST)
            hl_fail("%s: cannot create folder: %s", out_dir, strerror(errno));
        write_results(&c, results_path);
    }
    json_decref(c.results);
    json_object_set_new(c.scores, "complete", json_boolean(c.complete));
    json_t *h = json_object_get(c.scores, "headline");
    if (json_is_object(h))
        sb_printf(&c.summary, "  => %s = %.2f%s\n", json_string_value(json_object_get(h, "metric")),
                  json_real_value(json_object_get(h, "value")),
                  c.complete ? "" : "  (incomplete: see warnings)");
    answers_free(c.answers);
    ScoreReport r = {c.scores, sb_take(&c.summary)};
    return r;
}

void score_report_free(ScoreReport *r) {
    json_decref(r->scores);
    free(r->summary);
    r->scores = NULL;
    r->summary = NULL;
}

void score_table_header(FILE *f) {
    fprintf(f, "%-14s %-12s %-28s %s\n", "benchmark", "kind", "metric", "value");
}

void score_table_row(FILE *f, const char *name, const json_t *scores) {
    const json_t *h = json_object_get(scores, "headline");
    const json_t *m = h ? json_object_get(h, "metric") : NULL,
                 *v = h ? json_object_get(h, "value") : NULL;
    const json_t *k = json_object_get(scores, "kind");
    char num[32] = "-";
    if (json_is_number(v)) snprintf(num, sizeof num, "%.2f", json_number_value(v));
    fprintf(f, "%-14s %-12s %-28s %s\n", name, json_is_string(k) ? json_string_value(k) : "",
            json_is_string(m) ? json_string_value(m) : "(server/GPT scored)", num);
}

int score_answers_isolated(const BenchSpec *spec, const char *answers_path, const char *out_dir,
                           const char *results_path, ScoreReport *out) {
    int fd[2];
    fflush(NULL);
    if (pipe(fd) != 0) hl_fail("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) hl_fail("fork: %s", strerror(errno));
    if (pid == 0) { /* a failure here prints its one line and exits 1 */
        close(fd[0]);
        ScoreReport r = score_answers_results(spec, answers_path, out_dir, results_path);
        json_t *o = json_pack("{s:O, s:s}", "scores", r.scores, "summary", r.summary);
        char *s = json_dumps(o, JSON_COMPACT | JSON_ALLOW_NUL);
        size_t n = strlen(s), done = 0;
        while (done < n) {
            ssize_t w = write(fd[1], s + done, n - done);
            if (w <= 0) _exit(1);
            done += (size_t)w;
        }
        fflush(NULL);
        _exit(0);
    }
    close(fd[1]);
    StrBuf b = {0};
    char buf[65536];
    ssize_t n;
    while ((n = read(fd[0], buf, sizeof buf)) > 0) sb_putn(&b, buf, (size_t)n);
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    json_t *o =
        WIFEXITED(st) && WEXITSTATUS(st) == 0 && b.s ? json_loads(b.s, JSON_ALLOW_NUL, NULL) : NULL;
    sb_free(&b);
    if (!o) return 0;
    out->scores = json_incref(json_object_get(o, "scores"));
    out->summary = hl_strdup(json_string_value(json_object_get(o, "summary")));
    json_decref(o);
    return 1;
}
