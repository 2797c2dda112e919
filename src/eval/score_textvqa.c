/* TextVQA val, as LLaVA's llava/eval/eval_textvqa.py + m4c_evaluator score it.
 *
 * Each answer finds its annotation by (question_id = image_id, question), the question
 * being taken back out of the prompt (the line before "Reference OCR token: ..." or
 * the first of two lines) and lower-cased. Prediction and the 10 human answers go
 * through EvalAI's normalisation; the score is the VQA soft accuracy (mean over the
 * 10 leave-one-out subsets of min(1, matches / 3)); accuracy = mean over answers. */
#include <stdlib.h>
#include <string.h>

#include "eval/jsonio.h"
#include "eval/score_internal.h"
#include "eval/strmap.h"
#include "eval/vqa_norm.h"
#include "util/check.h"

char *textvqa_prompt_question(const char *prompt) {
    char *q = NULL;
    size_t n;
    char **lines = str_split(prompt, "\n", &n);
    if (str_startswith(prompt, "OCR tokens: ")) {
        /* re.search(r"Question: (.*?) Short answer:", prompt, re.DOTALL) */
        const char *a = strstr(prompt, "Question: ");
        const char *b = a ? strstr(a + 10, " Short answer:") : NULL;
        if (b) {
            q = hl_malloc((size_t)(b - a - 10) + 1);
            memcpy(q, a + 10, (size_t)(b - a - 10));
            q[b - a - 10] = 0;
        }
    } else if (strstr(prompt, "Reference OCR token: ") && n == 3) {
        q = hl_strdup(str_startswith(prompt, "Reference OCR token:") ? lines[1] : lines[0]);
    } else if (n == 2) {
        q = hl_strdup(lines[0]);
    }
    strv_free(lines, n);
    if (!q) return NULL;
    char *low = py_lower(q);
    free(q);
    return low;
}

typedef struct {
    char **answers;
    size_t n;
} Gts;

static void gts_free(void *p) {
    Gts *g = p;
    strv_free(g->answers, g->n);
    free(g);
}

void score_textvqa(ScoreCtx *c) {
    const char *ann = c->spec->annotations;
    if (!ann) {
        score_note(c, "no annotations (TextVQA_0.5.1_val.json): not scored");
        return;
    }
    json_t *doc = json_read_file(ann);
    json_t *data = json_object_get(doc, "data");
    if (!json_is_array(data)) hl_fail("%s: missing key 'data'", ann);
    StrMap gt = {0}; /* "image_id key \x1f lower(question)" -> processed answers */
    size_t i;
    json_t *e;
    json_array_foreach(data, i, e) {
        json_t *img = json_object_get(e, "image_id");
        const char *question = json_string_value(json_object_get(e, "question"));
        json_t *answers = json_object_get(e, "answers");
        if (!img || !question || !json_is_array(answers))
            hl_fail("%s: data[%zu]: missing key 'image_id', 'question' or 'answers'", ann, i);
        char *idk = json_id_key(img), *ql = py_lower(question);
        StrBuf k = {0};
        sb_printf(&k, "%s\x1f%s", idk, ql);
        Gts *g = hl_calloc(1, sizeof *g);
        g->n = json_array_size(answers);
        g->answers = hl_malloc((g->n + 1) * sizeof *g->answers);
        for (size_t j = 0; j < g->n; j++) {
            const char *s = json_string_value(json_array_get(answers, j));
            g->answers[j] = vqa_evalai_normalize(s ? s : "");
        }
        void **slot = smap_slot(&gt, k.s);
        if (*slot) gts_free(*slot);
        *slot = g;
        sb_free(&k);
        free(idk), free(ql);
    }
    json_decref(doc);
    double sum = 0;
    size_t odd = 0;
    for (i = 0; i < c->answers->n; i++) {
        const Answer *a = &c->answers->a[i];
        char *q = textvqa_prompt_question(a->prompt);
        if (!q)
            hl_fail("%s:%ld: prompt has no recognisable question line", c->answers->path, a->line);
        char *idk = json_id_key(a->question_id);
        StrBuf k = {0};
        sb_printf(&k, "%s\x1f%s", idk, q);
        Gts *g = smap_get(&gt, k.s);
        if (!g) {
            char *id = json_id_str(a->question_id);
            hl_fail("%s:%ld: no annotation for image %s, question '%s'", c->answers->path, a->line,
                    id, q);
        }
        odd += g->n != 10;
        char *p = vqa_evalai_normalize(a->text);
        double qs = vqa_leave_one_out(p, g->answers, g->n);
        sum += qs;
        json_t *gts = json_array();
        for (size_t j = 0; j < g->n; j++) json_array_append_new(gts, json_text(g->answers[j]));
        score_result_score(score_result(c, a->question_id, NULL, a->text, json_text(p), gts), qs);
        free(p), free(q), free(idk);
        sb_free(&k);
    }
    if (odd) score_incomplete(c, "%zu questions do not have 10 answers (m4c asserts 10)", odd);
    double acc = c->answers->n ? sum / (double)c->answers->n : 0;
    set_num(c->scores, "accuracy", 100 * acc);
    set_int(c->scores, "samples", (long long)c->answers->n);
    sb_printf(&c->summary, "  accuracy %.2f (%zu samples)\n", 100 * acc, c->answers->n);
    score_headline(c, "accuracy (%)", 100 * acc);
    smap_free(&gt, gts_free);
}
