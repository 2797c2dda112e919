/* SEED-Bench, as LLaVA's scripts/convert_seed_for_submission.py scores it.
 *
 * Over every question of SEED-Bench.json: right when the answer text equals the
 * question's "answer" letter exactly; accuracy per question type (its name from
 * "question_type"), for image questions, video questions and all. A question without
 * an answer counts wrong. Answers are found by question_id: int(question_id) when the
 * annotation's id is a number ("101669" -> 101669), else the string ("v0"). Writes the
 * leaderboard file [{"question_id", "prediction"}] (one JSON object a line). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "eval/jsonio.h"
#include "eval/score_internal.h"
#include "eval/strmap.h"
#include "util/check.h"

/* Python int(s) for a decimal string: optional whitespace and sign, digits with single
 * underscores between them. Returns 1 and sets *v when s is such a number. */
static int py_int(const char *s, long long *v) {
    while (isspace((unsigned char)*s)) s++;
    int neg = *s == '-';
    if (*s == '+' || *s == '-') s++;
    if (!isdigit((unsigned char)*s)) return 0;
    long long x = 0;
    for (; *s; s++) {
        if (*s == '_' && isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[-1])) continue;
        if (!isdigit((unsigned char)*s)) break;
        x = x * 10 + (*s - '0');
    }
    while (isspace((unsigned char)*s)) s++;
    if (*s) return 0;
    *v = neg ? -x : x;
    return 1;
}

/* per question type: all questions, then image and video questions ([1], [2]) */
typedef struct {
    long long id;
    size_t count, correct, missing;
    size_t n[3], counted[3]; /* counted: right or unanswered (the script's correct_counts key) */
} TypeAcc;

static TypeAcc *type_get(TypeAcc **t, size_t *n, long long id) {
    for (size_t i = 0; i < *n; i++)
        if ((*t)[i].id == id) return &(*t)[i];
    *t = hl_realloc(*t, (*n + 1) * sizeof **t);
    (*t)[*n] = (TypeAcc){.id = id};
    return &(*t)[(*n)++];
}

static int cmp_type(const void *a, const void *b) {
    long long x = ((const TypeAcc *)a)->id, y = ((const TypeAcc *)b)->id;
    return (x > y) - (x < y);
}

void score_seed(ScoreCtx *c) {
    const char *ann = c->spec->annotations;
    if (!ann) {
        score_note(c, "no annotations (SEED-Bench.json): not scored");
        return;
    }
    json_t *doc = json_read_file(ann);
    json_t *questions = json_object_get(doc, "questions");
    json_t *qtypes = json_object_get(doc, "question_type");
    if (!json_is_array(questions) || !json_is_object(qtypes))
        hl_fail("%s: missing key 'questions' or 'question_type'", ann);
    StrMap res = {0}; /* answer key -> answer index (later lines win) */
    for (size_t i = 0; i < c->answers->n; i++) {
        char *k = json_id_key(c->answers->a[i].question_id);
        smap_put_index(&res, k, i);
        free(k);
    }
    TypeAcc *types = NULL;
    size_t ntypes = 0, img_n = 0, img_ok = 0, vid_n = 0, vid_ok = 0, missing = 0;
    json_t *upload = json_array();
    int upload_ok = 1;
    size_t i;
    json_t *q;
    json_array_foreach(questions, i, q) {
        json_t *qid = json_req(q, "question_id", ann, 0);
        const char *answer = json_req_str(q, "answer", ann, 0);
        const char *dtype = json_req_str(q, "data_type", ann, 0);
        json_t *tid = json_req(q, "question_type_id", ann, 0);
        /* key as the script looks it up: int(question_id) when possible */
        char *k;
        long long v;
        if (json_is_string(qid) && py_int(json_string_value(qid), &v)) {
            json_t *iv = json_integer(v);
            k = json_id_key(iv);
            json_decref(iv);
        } else {
            k = json_id_key(qid);
        }
        size_t ai = 0;
        int found = smap_get_index(&res, k, &ai);
        free(k);
        int ok = found && !strcmp(c->answers->a[ai].text, answer);
        missing += !found;
        {
            const char *tname = NULL, *tk;
            json_t *tv;
            json_object_foreach(qtypes, tk, tv) if (json_equal(tv, tid)) tname = tk;
            score_result_correct(score_result(c, qid, tname, found ? c->answers->a[ai].text : NULL,
                                              found ? json_text(c->answers->a[ai].text) : NULL,
                                              json_string(answer)),
                                 ok);
        }
        TypeAcc *t = type_get(&types, &ntypes, json_integer_value(tid));
        t->count++, t->correct += ok, t->missing += !found;
        int pass = !strcmp(dtype, "image") ? 1 : !strcmp(dtype, "video") ? 2 : 0;
        t->n[0]++, t->counted[0] += ok || !found;
        if (pass) t->n[pass]++, t->counted[pass] += ok || !found;
        if (!strcmp(dtype, "image"))
            img_n++, img_ok += ok;
        else if (!strcmp(dtype, "video"))
            vid_n++, vid_ok += ok;
        /* upload: results[qid] (the string itself) else results[int(qid)] */
        char *ks = json_id_key(qid);
        size_t ui = ai;
        int uf = smap_get_index(&res, ks, &ui) || found;
        free(ks);
        if (!uf) {
            upload_ok = 0;
            continue;
        }
        json_t *e = json_object();
        json_object_set(e, "question_id", qid);
        json_object_set_new(e, "prediction", json_string(c->answers->a[ui].text));
        json_array_append_new(upload, e);
    }
    qsort(types, ntypes, sizeof *types, cmp_type);
    json_t *per = json_object();
    size_t tot_n = 0, tot_ok = 0;
    for (size_t t = 0; t < ntypes; t++) {
        const char *name = NULL, *k;
        json_t *v;
        json_object_foreach(qtypes, k, v) if (json_integer_value(v) == types[t].id) name = k;
        char fallback[32];
        if (!name) {
            snprintf(fallback, sizeof fallback, "%lld", types[t].id), name = fallback;
            score_incomplete(c,
                             "question type id %lld is not in question_type: "
                             "convert_seed_for_submission.py stops looking its name up "
                             "(KeyError); named by its id here",
                             types[t].id);
        }
        /* convert_seed_for_submission.py sets a type's correct count on its first right
         * or unanswered question, in each of its three passes (all questions, image,
         * video); a type answered throughout and never right in a pass has none and
         * the script stops with a KeyError */
        static const char *const pass_name[] = {"", " among the image questions",
                                                " among the video questions"};
        for (int ps = 0; ps < 3; ps++)
            if (types[t].n[ps] && !types[t].counted[ps]) {
                score_incomplete(c,
                                 "question type %s: no question right and none unanswered%s; "
                                 "convert_seed_for_submission.py stops there (KeyError)",
                                 name, pass_name[ps]);
                break;
            }
        double a = (double)types[t].correct / (double)types[t].count * 100;
        set_num(per, name, a);
        sb_printf(&c->summary, "  %-30s %6.2f\n", name, a);
        tot_n += types[t].count, tot_ok += types[t].correct;
    }
    json_object_set_new(c->scores, "per_type", per);
    double total = safe_div((double)tot_ok, (double)tot_n) * 100;
    double image = safe_div((double)img_ok, (double)img_n) * 100;
    double video = safe_div((double)vid_ok, (double)vid_n) * 100;
    set_num(c->scores, "accuracy", total);
    /* the script's image and video passes divide by their question counts */
    if (img_n)
        set_num(c->scores, "image_accuracy", image);
    else
        score_incomplete(c, "no image question: convert_seed_for_submission.py's image pass "
                            "divides 0 by 0 and it stops (ZeroDivisionError); image_accuracy "
                            "is left out");
    if (vid_n)
        set_num(c->scores, "video_accuracy", video);
    else
        score_incomplete(c, "no video question: convert_seed_for_submission.py's video pass "
                            "divides 0 by 0 and it stops (ZeroDivisionError); video_accuracy "
                            "is left out");
    set_int(c->scores, "questions", (long long)tot_n);
    set_int(c->scores, "unanswered", (long long)missing);
    char img_s[32] = "-", vid_s[32] = "-";
    if (img_n) snprintf(img_s, sizeof img_s, "%.2f", image);
    if (vid_n) snprintf(vid_s, sizeof vid_s, "%.2f", video);
    sb_printf(&c->summary, "  total %.2f  image %s  video %s  (%zu questions, %zu unanswered)\n",
              total, img_s, vid_s, tot_n, missing);
    if (missing) score_incomplete(c, "%zu questions have no answer (counted wrong)", missing);
    char *path = score_out_path(c, "_submission.jsonl");
    if (path && upload_ok) {
        StrBuf b = {0};
        json_array_foreach(upload, i, q) pyjson_dump(&b, q, -1), sb_putc(&b, '\n');
        FILE *f = hl_fopen(path, "wb");
        if (fwrite(b.s ? b.s : "", 1, b.n, f) != b.n || fclose(f) != 0)
            hl_fail("%s: write failed", path);
        sb_free(&b);
        score_add_file(c, path);
    } else if (path) {
        hl_warn("%s: not written: some questions have no answer", path);
    }
    free(path);
    score_headline(c, "accuracy (%)", total);
    json_decref(upload);
    free(types);
    smap_free(&res, NULL);
    json_decref(doc);
}
