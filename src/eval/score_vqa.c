/* VQAv2 and VizWiz: the submission files of LLaVA's convert_vqav2_for_submission.py and
 * convert_vizwiz_for_submission.py, and, given the public annotations, the accuracy the
 * evaluation server's code gives them.
 *
 * Submission: answers go through EvalAI's normalisation. VQAv2 lists every question of
 * the split file ([{"question_id", "answer"}], "" for questions without an answer): the
 * annotations key when it names a .jsonl file (LLaVA uses llava_vqav2_mscoco_test2015.jsonl
 * so that a test-dev run covers the full test set), else the question file. VizWiz lists
 * every question of the question file ([{"image", "answer"}]).
 *
 * Local accuracy (annotations = a VQA annotations json with "annotations", e.g.
 * v2_mscoco_val2014_annotations.json; or VizWiz's val.json list): the submitted answer
 * is processed once more as the server does (punctuation, digits, articles) and scored
 * with the VQA soft accuracy; VQAv2 strips punctuation from the human answers when they
 * disagree, VizWiz uses them as they are. Overall and per answer type, in percent. */
#include <stdlib.h>
#include <string.h>

#include "eval/jsonio.h"
#include "eval/score_internal.h"
#include "eval/strmap.h"
#include "eval/vqa_norm.h"
#include "util/check.h"

/* question_id key -> index of the (last) answer for it */
static void index_answers(const AnswerList *al, StrMap *m) {
    for (size_t i = 0; i < al->n; i++) {
        char *k = json_id_key(al->a[i].question_id);
        smap_put_index(m, k, i);
        free(k);
    }
}

typedef struct {
    double sum;
    size_t n;
    json_t *types; /* answer_type -> [sum, n] as a 2-array of reals */
} Acc;

static void acc_add(Acc *a, const char *type, double v) {
    a->sum += v, a->n++;
    if (!type) return;
    if (!a->types) a->types = json_object();
    json_t *t = json_object_get(a->types, type);
    if (!t) {
        t = json_pack("[f,i]", 0.0, 0);
        json_object_set_new(a->types, type, t);
    }
    json_array_set_new(t, 0, json_real(json_real_value(json_array_get(t, 0)) + v));
    json_array_set_new(t, 1, json_integer(json_integer_value(json_array_get(t, 1)) + 1));
}

static void acc_report(ScoreCtx *c, Acc *a) {
    double acc = a->n ? 100 * a->sum / (double)a->n : 0;
    set_num(c->scores, "accuracy", acc);
    set_int(c->scores, "scored", (long long)a->n);
    sb_printf(&c->summary, "  accuracy %.2f (%zu questions)", acc, a->n);
    json_t *per = json_object();
    const char *k;
    json_t *t;
    json_object_foreach(a->types, k, t) {
        double v = 100 * json_real_value(json_array_get(t, 0)) /
                   (double)json_integer_value(json_array_get(t, 1));
        set_num(per, k, v);
        sb_printf(&c->summary, "  %s %.2f", k, v);
    }
    sb_putc(&c->summary, '\n');
    json_object_set_new(c->scores, "per_answer_type", per);
    json_decref(a->types);
    score_headline(c, "accuracy (%)", acc);
}

static json_t *strv_json(char **v, size_t n) {
    json_t *a = json_array();
    for (size_t j = 0; j < n; j++) json_array_append_new(a, json_text(v[j]));
    return a;
}

static char **answer_strings(json_t *answers, size_t *n) {
    *n = json_array_size(answers);
    char **v = hl_malloc((*n + 1) * sizeof *v);
    for (size_t j = 0; j < *n; j++) {
        json_t *a = json_array_get(answers, j);
        const char *s = json_string_value(json_is_object(a) ? json_object_get(a, "answer") : a);
        v[j] = hl_strdup(s ? s : "");
    }
    return v;
}

void score_vqav2(ScoreCtx *c) {
    const BenchSpec *s = c->spec;
    StrMap idx = {0};
    index_answers(c->answers, &idx);
    int split_file = s->annotations && str_endswith(s->annotations, ".jsonl");
    const char *split = split_file ? s->annotations : s->questions;
    /* submission over the split */
    json_t *sub = json_array();
    JsonlReader r;
    jsonl_open(&r, split);
    json_t *q;
    size_t n = 0, missing = 0;
    while ((q = jsonl_next(&r))) {
        json_t *qid = json_req(q, "question_id", r.path, r.line);
        char *k = json_id_key(qid);
        size_t ai;
        json_t *e = json_object();
        json_object_set(e, "question_id", qid);
        if (smap_get_index(&idx, k, &ai)) {
            char *norm = vqa_evalai_normalize(c->answers->a[ai].text);
            json_object_set_new(e, "answer", json_string(norm));
            free(norm);
        } else {
            json_object_set_new(e, "answer", json_string(""));
            missing++;
        }
        json_array_append_new(sub, e);
        free(k);
        json_decref(q);
        n++;
    }
    jsonl_close(&r);
    set_int(c->scores, "split_questions", (long long)n);
    set_int(c->scores, "unanswered", (long long)missing);
    sb_printf(&c->summary,
              "  submission covers %zu questions of %s (%zu without an answer: \"\")\n", n, split,
              missing);
    if (split_file) {
        /* a test-dev run is complete when every question of its own question file is
         * answered; the rest of test2015 is "" in the upload, as the converter writes it */
        size_t nq = 0, q_missing = 0;
        jsonl_open(&r, s->questions);
        while ((q = jsonl_next(&r))) {
            char *k = json_id_key(json_req(q, "question_id", r.path, r.line));
            size_t ai;
            q_missing += !smap_get_index(&idx, k, &ai);
            nq++;
            free(k);
            json_decref(q);
        }
        jsonl_close(&r);
        set_int(c->scores, "questions", (long long)nq);
        set_int(c->scores, "questions_unanswered", (long long)q_missing);
        if (q_missing)
            score_incomplete(c, "%zu questions of %s have no answer", q_missing, s->questions);
    } else if (missing) {
        score_incomplete(c, "%zu questions of the split have no answer", missing);
    }
    char *path = score_out_path(c, "_submission.json");
    if (path) pyjson_write_file(path, sub, -1), score_add_file(c, path);
    free(path);
    json_decref(sub);
    if (!s->annotations || split_file) {
        smap_free(&idx, NULL);
        return; /* server-scored */
    }
    json_t *doc = json_read_file(s->annotations);
    json_t *anns = json_object_get(doc, "annotations");
    if (!json_is_array(anns))
        hl_fail("%s: expected a VQA annotations file (key 'annotations') or a .jsonl split",
                s->annotations);
    StrMap gt = {0};
    size_t i;
    json_t *e;
    json_array_foreach(anns, i, e) {
        char *k = json_id_key(json_req(e, "question_id", s->annotations, 0));
        *smap_slot(&gt, k) = e;
        free(k);
    }
    Acc acc = {0};
    size_t not_found = 0;
    for (i = 0; i < c->answers->n; i++) {
        char *k = json_id_key(c->answers->a[i].question_id);
        json_t *ann = smap_get(&gt, k);
        free(k);
        if (!ann) {
            not_found++;
            continue;
        }
        size_t ng;
        char **gts = answer_strings(json_object_get(ann, "answers"), &ng);
        int differ = 0;
        for (size_t j = 1; j < ng; j++) differ |= strcmp(gts[j], gts[0]) != 0;
        if (differ)
            for (size_t j = 0; j < ng; j++) {
                char *p = vqa_process_punctuation(gts[j], VQA_COMMA_SINGLE);
                free(gts[j]);
                gts[j] = p;
            }
        char *sub_ans = vqa_evalai_normalize(c->answers->a[i].text);
        char *res = vqa_server_normalize(sub_ans);
        const char *type = json_string_value(json_object_get(ann, "answer_type"));
        double qs = vqa_leave_one_out(res, gts, ng);
        acc_add(&acc, type, qs);
        score_result_score(score_result(c, c->answers->a[i].question_id, type,
                                        c->answers->a[i].text, json_text(res), strv_json(gts, ng)),
                           qs);
        free(sub_ans), free(res);
        strv_free(gts, ng);
    }
    if (not_found)
        score_incomplete(c, "%zu answered questions are not in the annotations", not_found);
    acc_report(c, &acc);
    smap_free(&gt, NULL);
    smap_free(&idx, NULL);
    json_decref(doc);
}

void score_vizwiz(ScoreCtx *c) {
    const BenchSpec *s = c->spec;
    StrMap idx = {0};
    index_answers(c->answers, &idx);
    json_t *sub = json_array();
    StrMap by_image = {0};     /* image -> submitted answer */
    StrMap ans_of_image = {0}; /* image -> its answer (borrowed) */
    JsonlReader r;
    jsonl_open(&r, s->questions);
    json_t *q;
    size_t n = 0, missing = 0;
    while ((q = jsonl_next(&r))) {
        json_t *qid = json_req(q, "question_id", r.path, r.line);
        const char *image = json_req_str(q, "image", r.path, r.line);
        char *k = json_id_key(qid);
        size_t ai;
        char *norm = NULL;
        if (smap_get_index(&idx, k, &ai))
            norm = vqa_evalai_normalize(c->answers->a[ai].text);
        else
            missing++;
        json_t *e = json_object();
        json_object_set_new(e, "image", json_string(image));
        json_object_set_new(e, "answer", json_string(norm ? norm : ""));
        json_array_append_new(sub, e);
        if (norm) {
            void **slot = smap_slot(&by_image, image);
            free(*slot);
            *slot = norm;
            *smap_slot(&ans_of_image, image) = &c->answers->a[ai];
        }
        free(k);
        json_decref(q);
        n++;
    }
    jsonl_close(&r);
    set_int(c->scores, "split_questions", (long long)n);
    set_int(c->scores, "unanswered", (long long)missing);
    sb_printf(&c->summary, "  submission covers %zu questions (%zu without an answer)\n", n,
              missing);
    if (missing)
        score_incomplete(c, "%zu questions have no answer (the official converter asserts)",
                         missing);
    char *path = score_out_path(c, "_submission.json");
    if (path) pyjson_write_file(path, sub, -1), score_add_file(c, path);
    free(path);
    json_decref(sub);
    if (s->annotations) {
        json_t *doc = json_read_file(s->annotations);
        if (!json_is_array(doc))
            hl_fail("%s: expected VizWiz annotations (a list of {image, answers, ...})",
                    s->annotations);
        Acc acc = {0};
        size_t i;
        json_t *e;
        json_array_foreach(doc, i, e) {
            const char *image = json_string_value(json_object_get(e, "image"));
            const char *sub_ans = image ? smap_get(&by_image, image) : NULL;
            if (!sub_ans) continue;
            size_t ng;
            char **gts = answer_strings(json_object_get(e, "answers"), &ng);
            char *res = vqa_server_normalize(sub_ans);
            const char *type = json_string_value(json_object_get(e, "answer_type"));
            double qs = vqa_leave_one_out(res, gts, ng);
            acc_add(&acc, type, qs);
            const Answer *a = smap_get(&ans_of_image, image);
            score_result_score(score_result(c, a ? a->question_id : NULL, type, a ? a->text : NULL,
                                            json_text(res), strv_json(gts, ng)),
                               qs);
            free(res);
            strv_free(gts, ng);
        }
        acc_report(c, &acc);
        json_decref(doc);
    }
    smap_free(&by_image, free);
    smap_free(&ans_of_image, NULL);
    smap_free(&idx, NULL);
}
