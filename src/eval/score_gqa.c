/* GQA testdev-balanced, as LLaVA's scripts/convert_gqa_for_eval.py and GQA's eval.py
 * (the version LLaVA points to) score it.
 *
 * Prediction = answer text with trailing '.' stripped, lower-cased; written as
 * [{"questionId", "prediction"}] for eval.py. Over the questions of the ground-truth
 * file with isBalanced: accuracy = exact match with "answer"; binary / open by
 * types.structural ("query" = open); accuracy per structural and semantic type; the
 * distribution score (chi-square of predicted vs gold answers per global group / 100).
 * eval.py refuses to run when a balanced question has no prediction; here those are
 * left out and the score is marked incomplete. It never reads the predictions of
 * questions that are not balanced. */
#include <stdlib.h>
#include <string.h>

#include "eval/jsonio.h"
#include "eval/score_internal.h"
#include "eval/strmap.h"
#include "util/check.h"

char *gqa_prediction(const char *text) {
    char *t = py_strip_chars(text, ".", 0, 1);
    char *low = py_lower(t);
    free(t);
    return low;
}

/* eval.py's getStepsNum: the operations of the semantic program whose
 * "operation: argument" holds none of "exist", "query: name", "choose name". */
static int gqa_steps(json_t *q) {
    json_t *sem = json_object_get(q, "semantic"), *op;
    size_t i;
    int n = 0;
    json_array_foreach(sem, i, op) {
        StrBuf b = {0};
        const char *o = json_string_value(json_object_get(op, "operation"));
        const char *a = json_string_value(json_object_get(op, "argument"));
        sb_printf(&b, "%s: %s", o ? o : "None", a ? a : "None");
        n += !strstr(b.s, "exist") && !strstr(b.s, "query: name") && !strstr(b.s, "choose name");
        sb_free(&b);
    }
    return n;
}

/* Running sums per named group, in first-seen order. */
typedef struct {
    StrMap index;
    char **names;
    double *sum;
    size_t *count, n;
} Groups;

static void groups_add(Groups *g, const char *name, double v) {
    size_t i;
    if (!smap_get_index(&g->index, name, &i)) {
        i = g->n++;
        smap_put_index(&g->index, name, i);
        g->names = hl_realloc(g->names, g->n * sizeof *g->names);
        g->sum = hl_realloc(g->sum, g->n * sizeof *g->sum);
        g->count = hl_realloc(g->count, g->n * sizeof *g->count);
        g->names[i] = hl_strdup(name), g->sum[i] = 0, g->count[i] = 0;
    }
    g->sum[i] += v;
    g->count[i]++;
}

static json_t *groups_json(const Groups *g) {
    json_t *o = json_object();
    for (size_t i = 0; i < g->n; i++) {
        json_t *e = json_object();
        set_num(e, "accuracy", g->sum[i] / (double)g->count[i] * 100); /* avg(l) * 100 */
        set_int(e, "questions", (long long)g->count[i]);
        json_object_set_new(o, g->names[i], e);
    }
    return o;
}

static void groups_free(Groups *g) {
    smap_free(&g->index, NULL);
    strv_free(g->names, g->n);
    free(g->sum);
    free(g->count);
}

void score_gqa(ScoreCtx *c) {
    AnswerList *al = c->answers;
    StrMap pred = {0};       /* str(question_id) -> prediction */
    StrMap pred_index = {0}; /* str(question_id) -> its (last) answer */
    json_t *out = json_array();
    for (size_t i = 0; i < al->n; i++) {
        char *p = gqa_prediction(al->a[i].text);
        json_t *e = json_object();
        json_object_set(e, "questionId", al->a[i].question_id);
        json_object_set_new(e, "prediction", json_string(p));
        json_array_append_new(out, e);
        char *k = json_id_str(al->a[i].question_id);
        void **slot = smap_slot(&pred, k);
        free(*slot);
        *slot = p;
        smap_put_index(&pred_index, k, i);
        free(k);
    }
    char *path = score_out_path(c, "_predictions.json");
    if (path) pyjson_write_file(path, out, -1), score_add_file(c, path);
    free(path);
    json_decref(out);
    if (!c->spec->annotations) {
        score_note(c, "no annotations (testdev_balanced_questions.json): predictions only");
        smap_free(&pred, free);
        smap_free(&pred_index, NULL);
        return;
    }
    json_t *qs = json_read_file(c->spec->annotations);
    if (!json_is_object(qs)) hl_fail("%s: expected an object of questions", c->spec->annotations);
    double acc_sum = 0, bin_sum = 0, open_sum = 0;
    size_t n = 0, nbin = 0, nopen = 0, missing = 0;
    Groups structural = {0}, semantic = {0};
    /* distribution: gold and predicted answer counts per global group */
    StrMap gold_count = {0}, pred_count = {0}, group_seen = {0};
    char **group_names = NULL, **gold_keys = NULL;
    size_t ngroups = 0, ngold = 0;
    const char *qid;
    json_t *q;
    Groups steps = {0}, words = {0};
    json_object_foreach(qs, qid, q) {
        /* eval.py (LLaVA's) reads the predictions of balanced questions only */
        if (!json_is_true(json_object_get(q, "isBalanced"))) continue;
        const char *gold = json_req_str(q, "answer", c->spec->annotations, 0);
        const char *p = smap_get(&pred, qid);
        if (!p) {
            missing++;
            continue;
        }
        {
            char key[32];
            size_t nw;
            char **w = py_split_ws(json_string_value(json_object_get(q, "question"))
                                       ? json_string_value(json_object_get(q, "question"))
                                       : "",
                                   &nw);
            strv_free(w, nw);
            snprintf(key, sizeof key, "%zu", nw);
            groups_add(&words, key, !strcmp(p, gold) ? 1.0 : 0.0);
            snprintf(key, sizeof key, "%d", gqa_steps(q));
            groups_add(&steps, key, !strcmp(p, gold) ? 1.0 : 0.0);
        }
        double score = !strcmp(p, gold) ? 1.0 : 0.0;
        acc_sum += score, n++;
        json_t *types = json_object_get(q, "types");
        const char *st = json_string_value(json_object_get(types, "structural"));
        {
            size_t ai = 0;
            smap_get_index(&pred_index, qid, &ai);
            json_t *qj = json_string(qid);
            score_result_correct(
                score_result(c, json_is_string(al->a[ai].question_id) ? al->a[ai].question_id : qj,
                             st, al->a[ai].text, json_string(p), json_string(gold)),
                score == 1.0);
            json_decref(qj);
        }
        const char *se = json_string_value(json_object_get(types, "semantic"));
        if (st) groups_add(&structural, st, score);
        if (se) groups_add(&semantic, se, score);
        if (st && !strcmp(st, "query"))
            open_sum += score, nopen++;
        else
            bin_sum += score, nbin++;
        const char *global =
            json_string_value(json_object_get(json_object_get(q, "groups"), "global"));
        if (global) {
            if (!smap_has(&group_seen, global)) {
                *smap_slot(&group_seen, global) = (void *)1;
                group_names = hl_realloc(group_names, (ngroups + 1) * sizeof *group_names);
                group_names[ngroups++] = hl_strdup(global);
            }
            StrBuf k = {0};
            sb_printf(&k, "%s\x1f%s", global, gold);
            void **g = smap_slot(&gold_count, k.s);
            if (!*g) {
                gold_keys = hl_realloc(gold_keys, (ngold + 1) * sizeof *gold_keys);
                gold_keys[ngold++] = hl_strdup(k.s);
            }
            *g = (void *)((uintptr_t)*g + 1);
            sb_free(&k);
            sb_printf(&k, "%s\x1f%s", global, p);
            void **pc = smap_slot(&pred_count, k.s);
            *pc = (void *)((uintptr_t)*pc + 1);
            sb_free(&k);
        }
    }
    /* chi-square per group, weighted by the group's size */
    double sum_score = 0, sum_overall = 0;
    for (size_t gi = 0; gi < ngroups; gi++) {
        double score = 0, overall = 0;
        size_t len = strlen(group_names[gi]);
        for (size_t k = 0; k < ngold; k++) {
            if (strncmp(gold_keys[k], group_names[gi], len) || gold_keys[k][len] != '\x1f')
                continue;
            double e = (double)(uintptr_t)smap_get(&gold_count, gold_keys[k]);
            double o = (double)(uintptr_t)smap_get(&pred_count, gold_keys[k]);
            score += (o - e) * (o - e) / e;
            overall += e;
        }
        sum_score += score * overall;
        sum_overall += overall;
    }
    if (missing)
        score_incomplete(c,
                         "%zu balanced questions have no prediction: eval.py stops with "
                         "Exception('missing predictions'); they are left out here",
                         missing);
    if (sum_overall == 0)
        score_incomplete(c, "no balanced question has a global group: eval.py's distribution "
                            "score divides 0 by 0 and it stops (ZeroDivisionError); the "
                            "distribution is given as 0 here");
    /* convert_gqa_for_eval.py keeps the answers' question_id as it is; eval.py looks the
     * questions' string ids up among them, so a numeric id never matches */
    size_t numeric_ids = 0;
    for (size_t i = 0; i < al->n; i++) numeric_ids += !json_is_string(al->a[i].question_id);
    if (numeric_ids)
        score_incomplete(c,
                         "%zu answers have a non-string question_id; GQA's questions are keyed "
                         "by strings, so eval.py finds no prediction for them and stops with "
                         "Exception('missing predictions') (matched here by value)",
                         numeric_ids);
    /* avg(l) * 100, as eval.py computes it (not 100 * sum / n: the last digit can differ) */
    double acc = n ? acc_sum / (double)n * 100 : 0;
    set_num(c->scores, "accuracy", acc);
    set_num(c->scores, "binary", nbin ? bin_sum / (double)nbin * 100 : 0);
    set_num(c->scores, "open", nopen ? open_sum / (double)nopen * 100 : 0);
    json_object_set_new(c->scores, "per_steps", groups_json(&steps));
    json_object_set_new(c->scores, "per_words", groups_json(&words));
    groups_free(&steps);
    groups_free(&words);
    set_num(c->scores, "distribution", safe_div(sum_score, sum_overall) / 100);
    set_int(c->scores, "questions", (long long)n);
    set_int(c->scores, "missing", (long long)missing);
    json_object_set_new(c->scores, "per_structural_type", groups_json(&structural));
    json_object_set_new(c->scores, "per_semantic_type", groups_json(&semantic));
    sb_printf(&c->summary, "  accuracy %.2f  binary %.2f  open %.2f  (%zu questions)\n", acc,
              nbin ? bin_sum / (double)nbin * 100 : 0, nopen ? open_sum / (double)nopen * 100 : 0,
              n);
    score_headline(c, "accuracy (%)", acc);
    groups_free(&structural);
    groups_free(&semantic);
    smap_free(&gold_count, NULL);
    smap_free(&pred_count, NULL);
    smap_free(&group_seen, NULL);
    strv_free(group_names, ngroups);
    strv_free(gold_keys, ngold);
    smap_free(&pred, free);
    smap_free(&pred_index, NULL);
    json_decref(qs);
}
