/* hyperllava compare OUT_A OUT_B: two runs' scores side by side, benchmark by
 * benchmark, with the difference's 95 % confidence interval from a paired bootstrap
 * over questions, McNemar's exact test where questions are right or wrong, and the
 * questions whose score changed (from OUTPUT/<bench>/results.jsonl; docs/benchmarks.md). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/jsonio.h"
#include "eval/stats.h"
#include "eval/strmap.h"
#include "util/check.h"
#include "util/path.h"

static const char *help =
    "usage: hyperllava compare OUT_A OUT_B [--bench NAME] [--csv FILE] [--changed FILE]\n"
    "                          [--seed N] [--resamples N] [--show N]\n"
    "Compares two output folders of the same suite (run or scored), benchmark by\n"
    "benchmark: both headline scores (OUTPUT/<bench>/scores.json) and, from\n"
    "OUTPUT/<bench>/results.jsonl, the questions both scored (paired by question_id and\n"
    "occurrence): each run's question-level accuracy (mean per-question score, in %),\n"
    "the difference B - A in points with a 95 % confidence interval from a paired\n"
    "bootstrap over questions (--resamples, default 10000; --seed, default 1: the same\n"
    "seed gives the same interval), McNemar's exact test where every question is right\n"
    "or wrong (A only / B only right, two-sided p), and the number of questions whose\n"
    "score changed, of which --show (default 10) are listed per benchmark.\n"
    "--csv FILE writes the table as CSV; --changed FILE every changed question as CSV.\n"
    "The question-level accuracy is the headline for the accuracy benchmarks (GQA,\n"
    "SEED, TextVQA, VQAv2, VizWiz); for POPE (F1), MME (score), ScienceQA (IMG-accuracy)\n"
    "and MMBench (circular) it is the accuracy over the questions (rows) scored.\n";

typedef struct {
    json_t *qid;
    const char *category, *prediction;
    double score;
    int correct; /* -1: no "correct" */
} Rec;

typedef struct {
    Rec *r;
    size_t n;
    json_t *lines; /* keeps the strings alive */
} Results;

static int load_results(const char *path, Results *out) {
    struct stat st;
    memset(out, 0, sizeof *out);
    if (stat(path, &st) != 0) return 0;
    out->lines = json_array();
    JsonlReader rd;
    jsonl_open(&rd, path);
    json_t *o;
    while ((o = jsonl_next(&rd))) {
        json_t *s = json_object_get(o, "score");
        if (!json_is_number(s)) hl_fail("%s:%ld: no number 'score'", rd.path, rd.line);
        json_t *c = json_object_get(o, "correct");
        out->r = hl_realloc(out->r, (out->n + 1) * sizeof *out->r);
        out->r[out->n++] = (Rec){json_req(o, "question_id", rd.path, rd.line),
                                 json_string_value(json_object_get(o, "category")),
                                 json_string_value(json_object_get(o, "prediction")),
                                 json_number_value(s), json_is_boolean(c) ? json_is_true(c) : -1};
        json_array_append_new(out->lines, o);
    }
    jsonl_close(&rd);
    return 1;
}

static void results_free(Results *r) {
    free(r->r);
    json_decref(r->lines);
}

/* question_id as compact JSON, then "#occurrence" (MME and TextVQA repeat ids) */
static char *rec_key(json_t *qid, StrMap *seen) {
    char *id = json_dumps(qid, JSON_COMPACT | JSON_ENCODE_ANY);
    void **slot = smap_slot(seen, id);
    uintptr_t k = (uintptr_t)*slot;
    *slot = (void *)(k + 1);
    char buf[32];
    snprintf(buf, sizeof buf, "#%lu", (unsigned long)k);
    size_t n = strlen(id);
    char *key = hl_malloc(n + strlen(buf) + 1);
    memcpy(key, id, n);
    strcpy(key + n, buf);
    free(id);
    return key;
}

static void csv_field(FILE *f, const char *s, int last) {
    if (!s) s = "";
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static void csv_num(FILE *f, double v, int ok, int last) {
    char b[40] = "";
    if (ok) snprintf(b, sizeof b, "%.6g", v);
    csv_field(f, b, last);
}

static void fmt(char *b, size_t n, double v, int ok, const char *spec) {
    if (ok)
        snprintf(b, n, spec, v);
    else
        snprintf(b, n, "-");
}

static json_t *headline(json_t *scores, const char **metric) {
    json_t *h = json_object_get(scores, "headline");
    if (metric && json_is_object(h) && !*metric)
        *metric = json_string_value(json_object_get(h, "metric"));
    json_t *v = json_is_object(h) ? json_object_get(h, "value") : NULL;
    return json_is_number(v) ? v : NULL;
}

/* The benchmark folders of dir that hold scores.json, in the order of dir/scores.json
 * when there is one, else in name order. */
static char **bench_names(const char *dir, size_t *n) {
    char **v = NULL;
    *n = 0;
    char *sp = path_os_join(dir, "scores.json");
    json_t *all = json_load_file(sp, 0, NULL);
    free(sp);
    if (json_is_object(all)) {
        const char *k;
        json_t *x;
        json_object_foreach(all, k, x) {
            v = hl_realloc(v, (*n + 1) * sizeof *v);
            v[(*n)++] = hl_strdup(k);
        }
    }
    json_decref(all);
    DIR *d = opendir(dir);
    if (!d) hl_fail("compare: %s: cannot open folder: %s", dir, strerror(errno));
    struct dirent *e;
    char **extra = NULL;
    size_t ne = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        int have = 0;
        for (size_t i = 0; i < *n; i++) have |= !strcmp(v[i], e->d_name);
        char *b = path_os_join(dir, e->d_name), *s = path_os_join(b, "scores.json");
        struct stat st;
        if (!have && stat(s, &st) == 0) {
            extra = hl_realloc(extra, (ne + 1) * sizeof *extra);
            extra[ne++] = hl_strdup(e->d_name);
        }
        free(b), free(s);
    }
    closedir(d);
    for (size_t i = 1; i < ne; i++) /* insertion sort: a handful of names */
        for (size_t j = i; j > 0 && strcmp(extra[j - 1], extra[j]) > 0; j--) {
            char *t = extra[j];
            extra[j] = extra[j - 1], extra[j - 1] = t;
        }
    for (size_t i = 0; i < ne; i++) {
        v = hl_realloc(v, (*n + 1) * sizeof *v);
        v[(*n)++] = extra[i];
    }
    free(extra);
    return v;
}

static json_t *load_scores(const char *out, const char *bench) {
    char *b = path_os_join(out, bench), *s = path_os_join(b, "scores.json");
    json_error_t err;
    json_t *j = json_load_file(s, 0, &err);
    struct stat st;
    if (!j && stat(s, &st) == 0) hl_fail("%s: line %d: %s", s, err.line, err.text);
    free(b), free(s);
    return j;
}

static void show_pred(StrBuf *b, const char *p) {
    if (!p) {
        sb_puts(b, "(no answer)");
        return;
    }
    sb_putc(b, '"');
    int i = 0;
    for (; p[i] && i < 40; i++) sb_putc(b, p[i] == '\n' ? ' ' : p[i]);
    sb_printf(b, "%s\"", p[i] ? "..." : "");
}

typedef struct {
    const char *dirs[2];
    int n;
} Positional;

static void add_dir(void *ctx, const char *v) {
    Positional *p = ctx;
    if (p->n >= 2) hl_fail("compare: more than two output folders given ('%s')", v);
    p->dirs[p->n++] = v;
}

static FILE *open_csv(const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) hl_fail("compare: %s: cannot write: %s", path, strerror(errno));
    return f;
}

static void close_csv(FILE *f, const char *path) {
    if (f && fclose(f) != 0) hl_fail("compare: %s: write failed", path);
}

int cmd_compare(int argc, char **argv) {
    const char *bench_sel = NULL, *csv = NULL, *changed_csv = NULL;
    int seed = 1, resamples = 10000, show = 10;
    Positional pos = {{0}, 0};
    const Opt opts[] = {{"--bench", OPT_STR, &bench_sel, 0, NULL},
                        {"--csv", OPT_STR, &csv, 0, NULL},
                        {"--changed", OPT_STR, &changed_csv, 0, NULL},
                        {"--seed", OPT_INT, &seed, 0, NULL},
                        {"--resamples", OPT_INT, &resamples, 1, NULL},
                        {"--show", OPT_INT, &show, 0, NULL},
                        {NULL, OPT_FN, NULL, 0, add_dir},
                        {0}};
    args_parse(&(ArgsCmd){.name = "compare", .help = help, .ctx = &pos}, opts, argc, argv);
    if (pos.n != 2) hl_fail("compare: two output folders needed (hyperllava compare OUT_A OUT_B)");
    const char *A = pos.dirs[0], *B = pos.dirs[1];
    size_t na, nb;
    char **names = bench_names(A, &na), **names_b = bench_names(B, &nb);
    FILE *cf = csv ? open_csv(csv) : NULL, *chf = changed_csv ? open_csv(changed_csv) : NULL;
    if (cf)
        fputs("benchmark,kind,metric,score_a,score_b,score_diff,paired_questions,accuracy_a,"
              "accuracy_b,accuracy_diff,ci95_low,ci95_high,right_a_only,right_b_only,"
              "mcnemar_p,changed,unpaired_a,unpaired_b\n",
              cf);
    if (chf)
        fputs("benchmark,question_id,category,prediction_a,prediction_b,score_a,score_b\n", chf);
    printf("A = %s\nB = %s\n", A, B);
    printf("%-12s %-20s %8s %8s %7s | %6s %7s %7s %7s %-17s %5s %5s %8s %7s\n", "benchmark",
           "headline metric", "A", "B", "B-A", "paired", "acc A", "acc B", "B-A", "95% CI", "A>B",
           "B>A", "McNemar", "changed");
    int compared = 0;
    StrBuf lists = {0};
    for (size_t bi = 0; bi < na; bi++) {
        const char *name = names[bi];
        if (bench_sel && strcmp(bench_sel, name)) continue;
        int in_b = 0;
        for (size_t j = 0; j < nb; j++) in_b |= !strcmp(names_b[j], name);
        if (!in_b) {
            hl_warn("compare: %s: not scored in %s", name, B);
            continue;
        }
        json_t *sa = load_scores(A, name), *sb = load_scores(B, name);
        if (!sa || !sb) {
            hl_warn("compare: %s: not scored in %s", name, sa ? B : A);
            json_decref(sa), json_decref(sb);
            continue;
        }
        compared++;
        const char *metric = NULL, *kind = json_string_value(json_object_get(sa, "kind"));
        json_t *ha = headline(sa, &metric), *hb = headline(sb, &metric);
        char *da = path_os_join(A, name), *db = path_os_join(B, name);
        char *pa = path_os_join(da, "results.jsonl"), *pb = path_os_join(db, "results.jsonl");
        Results ra, rb;
        int have = load_results(pa, &ra) & load_results(pb, &rb);
        size_t paired = 0, changed = 0, un_a = 0, un_b = 0;
        long only_a = 0, only_b = 0;
        int binary = 1;
        double acc_a = 0, acc_b = 0, diff = 0, lo = 0, hi = 0, p = 1;
        if (have) {
            StrMap idx = {0}, seen_b = {0}, seen_a = {0};
            for (size_t i = 0; i < rb.n; i++) {
                char *k = rec_key(rb.r[i].qid, &seen_b);
                smap_put_index(&idx, k, i);
                free(k);
            }
            double *d = hl_malloc((ra.n + 1) * sizeof *d);
            char *used = hl_calloc(rb.n + 1, 1);
            size_t listed = 0;
            for (size_t i = 0; i < ra.n; i++) {
                char *k = rec_key(ra.r[i].qid, &seen_a);
                size_t j;
                int found = smap_get_index(&idx, k, &j);
                free(k);
                if (!found) {
                    un_a++;
                    continue;
                }
                used[j] = 1;
                const Rec *x = &ra.r[i], *y = &rb.r[j];
                d[paired++] = y->score - x->score;
                acc_a += x->score, acc_b += y->score;
                if (x->correct < 0 || y->correct < 0) binary = 0;
                only_a += x->correct == 1 && y->correct == 0;
                only_b += x->correct == 0 && y->correct == 1;
                if (x->score == y->score) continue;
                changed++;
                char *id = json_id_str(x->qid);
                if (listed < (size_t)show) {
                    if (!listed)
                        sb_printf(&lists, "\n%s: questions whose score changed (score B - A):\n",
                                  name);
                    sb_printf(&lists, "  %-20s %-16.16s %+6.3g  A ", id,
                              x->category ? x->category : "", y->score - x->score);
                    show_pred(&lists, x->prediction);
                    sb_puts(&lists, "  B ");
                    show_pred(&lists, y->prediction);
                    sb_putc(&lists, '\n');
                    listed++;
                }
                if (chf) {
                    csv_field(chf, name, 0), csv_field(chf, id, 0), csv_field(chf, x->category, 0);
                    csv_field(chf, x->prediction, 0), csv_field(chf, y->prediction, 0);
                    csv_num(chf, x->score, 1, 0), csv_num(chf, y->score, 1, 1);
                }
                free(id);
            }
            if (changed > listed) sb_printf(&lists, "  ... and %zu more\n", changed - listed);
            for (size_t j = 0; j < rb.n; j++) un_b += !used[j];
            if (paired) {
                acc_a = 100 * acc_a / (double)paired, acc_b = 100 * acc_b / (double)paired;
                diff =
                    100 * paired_bootstrap_ci(d, paired, resamples, (uint64_t)seed, 0.95, &lo, &hi);
                lo *= 100, hi *= 100;
                p = mcnemar_exact_p(only_a, only_b);
            }
            free(d), free(used);
            smap_free(&idx, NULL), smap_free(&seen_a, NULL), smap_free(&seen_b, NULL);
            results_free(&ra), results_free(&rb);
            if (un_a || un_b)
                hl_warn(
                    "compare: %s: %zu questions only in A's results, %zu only in B's (left out)",
                    name, un_a, un_b);
        } else {
            if (ra.lines) results_free(&ra);
        }
        int q = have && paired > 0, mc = q && binary;
        double va = ha ? json_number_value(ha) : 0, vb = hb ? json_number_value(hb) : 0;
        char s1[24], s2[24], s3[24], s4[24], s5[24], s6[24], ci[40], s7[24];
        fmt(s1, sizeof s1, va, ha != NULL, "%.2f");
        fmt(s2, sizeof s2, vb, hb != NULL, "%.2f");
        fmt(s3, sizeof s3, vb - va, ha && hb, "%+.2f");
        fmt(s4, sizeof s4, acc_a, q, "%.2f");
        fmt(s5, sizeof s5, acc_b, q, "%.2f");
        fmt(s6, sizeof s6, diff, q, "%+.2f");
        fmt(s7, sizeof s7, p, mc, "%.3g");
        if (q)
            snprintf(ci, sizeof ci, "[%+.2f, %+.2f]", lo, hi);
        else
            snprintf(ci, sizeof ci, "-");
        char mname[21], ca[24], cb[24];
        snprintf(mname, sizeof mname, "%s", metric ? metric : "(server/GPT scored)");
        fmt(ca, sizeof ca, (double)only_a, mc, "%.0f");
        fmt(cb, sizeof cb, (double)only_b, mc, "%.0f");
        char nq[24] = "-", nc[24] = "-";
        if (have) snprintf(nq, sizeof nq, "%zu", paired), snprintf(nc, sizeof nc, "%zu", changed);
        printf("%-12s %-20s %8s %8s %7s | %6s %7s %7s %7s %-17s %5s %5s %8s %7s\n", name, mname, s1,
               s2, s3, nq, s4, s5, s6, ci, ca, cb, s7, nc);
        if (cf) {
            csv_field(cf, name, 0), csv_field(cf, kind, 0), csv_field(cf, metric, 0);
            csv_num(cf, va, ha != NULL, 0), csv_num(cf, vb, hb != NULL, 0);
            csv_num(cf, vb - va, ha && hb, 0);
            csv_num(cf, (double)paired, have, 0);
            csv_num(cf, acc_a, q, 0), csv_num(cf, acc_b, q, 0), csv_num(cf, diff, q, 0);
            csv_num(cf, lo, q, 0), csv_num(cf, hi, q, 0);
            csv_num(cf, (double)only_a, mc, 0), csv_num(cf, (double)only_b, mc, 0);
            csv_num(cf, p, mc, 0);
            csv_num(cf, (double)changed, have, 0);
            csv_num(cf, (double)un_a, have, 0), csv_num(cf, (double)un_b, have, 1);
        }
        free(da), free(db), free(pa), free(pb);
        json_decref(sa), json_decref(sb);
    }
    for (size_t j = 0; j < nb; j++) {
        int in_a = 0;
        for (size_t i = 0; i < na; i++) in_a |= !strcmp(names[i], names_b[j]);
        if (!in_a && (!bench_sel || !strcmp(bench_sel, names_b[j])))
            hl_warn("compare: %s: not scored in %s", names_b[j], A);
    }
    if (lists.s) fputs(lists.s, stdout);
    printf("\nheadline: scores.json; paired: questions in both results.jsonl; acc: mean "
           "per-question score (%%); CI: paired bootstrap, %d resamples, seed %d; A>B / B>A: "
           "questions right in one run only; McNemar: exact two-sided p\n",
           resamples, seed);
    sb_free(&lists);
    close_csv(cf, csv), close_csv(chf, changed_csv);
    strv_free(names, na), strv_free(names_b, nb);
    if (!compared) {
        hl_warn("compare: no benchmark scored in both %s and %s%s%s", A, B,
                bench_sel ? " named " : "", bench_sel ? bench_sel : "");
        return 1;
    }
    return 0;
}
