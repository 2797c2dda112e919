/* POPE, as LLaVA's llava/eval/eval_pope.py scores it.
 *
 * Answers are split by the category of their question (looked up in the question
 * file by question_id) and matched by order with the labels of
 * coco_pope_<category>.json in the annotations folder (zip: the shorter list decides).
 * An answer is "no" when its first sentence (text before the first '.'), with commas
 * removed and split on single spaces, has the word "No", "not" or "no"; else "yes". */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "eval/jsonio.h"
#include "eval/score_internal.h"
#include "eval/strmap.h"
#include "util/check.h"
#include "util/path.h"

int pope_answer_is_yes(const char *text) {
    char *first = hl_strdup(text);
    char *dot = strchr(first, '.');
    if (dot) *dot = 0;
    char *nocomma = str_replace(first, ",", "");
    size_t n;
    char **words = str_split(nocomma, " ", &n);
    int no = strv_contains(words, n, "No") || strv_contains(words, n, "not") ||
             strv_contains(words, n, "no");
    strv_free(words, n);
    free(nocomma);
    free(first);
    return !no;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void score_pope(ScoreCtx *c) {
    const BenchSpec *s = c->spec;
    if (!s->annotations) {
        score_note(c, "no annotations folder (coco_pope_*.json labels): not scored");
        return;
    }
    /* question_id -> category, from the question file (later lines win, as a dict) */
    StrMap cat = {0};
    JsonlReader r;
    jsonl_open(&r, s->questions);
    json_t *q;
    while ((q = jsonl_next(&r))) {
        char *k = json_id_key(json_req(q, "question_id", r.path, r.line));
        void **slot = smap_slot(&cat, k);
        free(*slot);
        *slot = hl_strdup(json_req_str(q, "category", r.path, r.line));
        free(k);
        json_decref(q);
    }
    jsonl_close(&r);
    const char **acat = hl_malloc((c->answers->n + 1) * sizeof *acat);
    for (size_t i = 0; i < c->answers->n; i++) {
        char *k = json_id_key(c->answers->a[i].question_id);
        acat[i] = smap_get(&cat, k);
        if (!acat[i]) {
            char *id = json_id_str(c->answers->a[i].question_id);
            hl_fail("%s:%ld: question_id %s is not in %s", c->answers->path, c->answers->a[i].line,
                    id, s->questions);
        }
        free(k);
    }
    /* the label files, in name order */
    DIR *d = opendir(s->annotations);
    if (!d) hl_fail("%s: cannot open the POPE annotations folder", s->annotations);
    char **files = NULL;
    size_t nf = 0;
    struct dirent *e;
    size_t others = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, ".."))) continue;
        if (!str_startswith(e->d_name, "coco_pope_") || !str_endswith(e->d_name, ".json")) {
            others++;
            continue;
        }
        files = hl_realloc(files, (nf + 1) * sizeof *files);
        files[nf++] = hl_strdup(e->d_name);
    }
    closedir(d);
    if (!nf) hl_fail("%s: no coco_pope_<category>.json label files", s->annotations);
    qsort(files, nf, sizeof *files, cmp_str);
    if (others)
        score_incomplete(c,
                         "%s: %zu files not named coco_pope_<category>.json; eval_pope.py "
                         "asserts that every file there is one and stops (AssertionError)",
                         s->annotations, others);
    json_t *cats = json_object();
    double f1_sum = 0;
    size_t scored = 0, matched = 0;
    sb_printf(&c->summary, "  %-12s %6s %6s %6s %6s %6s %6s\n", "category", "n", "acc", "prec",
              "recall", "f1", "yes%");
    for (size_t f = 0; f < nf; f++) {
        char *category = py_slice(files[f], 10, strlen(files[f]) - 5);
        char *path = path_os_join(s->annotations, files[f]);
        int *labels = NULL;
        size_t nl = 0;
        jsonl_open(&r, path);
        json_t *l;
        while ((l = jsonl_next(&r))) {
            labels = hl_realloc(labels, (nl + 1) * sizeof *labels);
            labels[nl++] = strcmp(json_req_str(l, "label", r.path, r.line), "no") != 0;
            json_decref(l);
        }
        jsonl_close(&r);
        long tp = 0, fp = 0, tn = 0, fn = 0, yes = 0, n = 0, k = 0;
        for (size_t i = 0; i < c->answers->n; i++) {
            if (strcmp(acat[i], category)) continue;
            int pred = pope_answer_is_yes(c->answers->a[i].text);
            n++;
            yes += pred;
            json_t *rec =
                score_result(c, c->answers->a[i].question_id, category, c->answers->a[i].text,
                             json_string(pred ? "yes" : "no"),
                             (size_t)k < nl ? json_string(labels[k] ? "yes" : "no") : NULL);
            if ((size_t)k < nl) {
                int lab = labels[k];
                tp += pred && lab, fp += pred && !lab, tn += !pred && !lab, fn += !pred && lab;
                score_result_correct(rec, pred == lab);
            }
            k++;
        }
        free(labels);
        if (n == 0) {
            free(category), free(path);
            continue;
        }
        if ((size_t)n != nl) score_incomplete(c, "%s: %ld answers for %zu labels", category, n, nl);
        if (tp + fp == 0 || tp + fn == 0 || tp == 0)
            score_incomplete(c,
                             "%s: no yes answer, no yes label or no true positive: eval_pope.py "
                             "stops with ZeroDivisionError (precision, recall or F1 is 0 / 0); "
                             "0 is given here instead",
                             category);
        double precision = safe_div((double)tp, (double)(tp + fp));
        double recall = safe_div((double)tp, (double)(tp + fn));
        double f1 = safe_div(2 * precision * recall, precision + recall);
        double acc = safe_div((double)(tp + tn), (double)(tp + tn + fp + fn));
        double yes_ratio = (double)yes / (double)n;
        json_t *o = json_object();
        set_int(o, "answers", n);
        set_int(o, "labels", (long long)nl);
        set_int(o, "TP", tp), set_int(o, "FP", fp), set_int(o, "TN", tn), set_int(o, "FN", fn);
        set_num(o, "accuracy", acc);
        set_num(o, "precision", precision);
        set_num(o, "recall", recall);
        set_num(o, "f1", f1);
        set_num(o, "yes_ratio", yes_ratio);
        json_object_set_new(cats, category, o);
        sb_printf(&c->summary, "  %-12s %6ld %6.2f %6.2f %6.2f %6.2f %6.2f\n", category, n,
                  100 * acc, 100 * precision, 100 * recall, 100 * f1, 100 * yes_ratio);
        f1_sum += f1;
        scored++;
        matched += (size_t)n;
        free(category);
        free(path);
    }
    if (scored < nf)
        score_incomplete(c,
                         "no answers for %zu of %zu categories with a label file: eval_pope.py "
                         "stops with ZeroDivisionError (the yes ratio of no answers); those "
                         "categories are left out here",
                         nf - scored, nf);
    strv_free(files, nf);
    json_object_set_new(c->scores, "categories", cats);
    if (matched < c->answers->n)
        score_incomplete(c, "%zu answers in categories without a label file",
                         c->answers->n - matched);
    if (scored) {
        set_num(c->scores, "f1_mean", f1_sum / (double)scored);
        score_headline(c, "mean F1 (%)", 100 * f1_sum / (double)scored);
    }
    free(acat);
    smap_free(&cat, free);
}
