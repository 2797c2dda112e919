/* MMBench and MMBench-CN: the submission xlsx of LLaVA's
 * scripts/convert_mmbench_for_submission.py, and a local circular evaluation when the
 * TSV has an "answer" column (the dev split).
 *
 * Submission: the TSV's rows with the columns hint, category, source, image, comment,
 * l2-category dropped and "prediction" inserted as the 7th column (the answer text of
 * the question whose index matches; empty when unanswered); numeric columns stay
 * numbers, missing values stay empty, as pandas writes them.
 *
 * Circular evaluation: the TSV already holds every question once per rotation of its
 * options (index, index + 1e6, index + 2e6, ...); a question counts right only when
 * all its rotations are answered right. An answer's option comes from VLMEvalKit's
 * rule-based matching (can_infer): a single option letter standing alone among the
 * words (after .()[],:;!*#{} become spaces), else the single option whose text occurs
 * in the answer (case-insensitive). The evaluation server asks GPT to match answers
 * these rules cannot; here they count wrong and are reported as "unmatched", so the
 * local number is a lower bound of the server's. */
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#include "eval/jsonio.h"
#include "eval/score_internal.h"
#include "eval/strmap.h"
#include "eval/tsv.h"
#include "util/check.h"

static int count_in(char *const *splits, size_t n, const char *const *letters, int nl) {
    int cnt = 0;
    for (int k = 0; k < nl; k++) cnt += strv_contains(splits, n, letters[k]);
    return cnt;
}

char mmbench_infer(const char *pred, const char *const *opts, int nopt) {
    static const char *const letters[] = {"A", "B", "C", "D", "E", "F", "G", "H", "I"};
    static const char *const refusals[] = {
        "Sorry, I can't help with images of people yet.", "I can't process this file.",
        "I'm sorry, but without the image provided", "Cannot determine the answer"};
    if (nopt > 9) nopt = 9;
    if (!strstr(pred, "Failed to obtain answer via API")) {
        for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
            if (strstr(pred, refusals[i])) return 'Z';
        char *mod = hl_strdup(pred);
        for (char *p = mod; *p; p++)
            if (strchr(".()[],:;!*#{}", *p)) *p = ' ';
        size_t n;
        char **splits = py_split_ws(mod, &n);
        free(mod);
        int cnt = count_in(splits, n, letters, nopt);
        char r = 0;
        if (cnt == 1) {
            for (int k = 0; k < nopt && !r; k++)
                if (strv_contains(splits, n, letters[k])) r = letters[k][0];
        } else if (cnt == 0 && strv_contains(splits, n, "Z")) {
            r = 'Z';
        }
        strv_free(splits, n);
        if (r) return r;
    }
    /* option text inside the answer, case-insensitive */
    char *low = py_lower(pred);
    int found = -1, cands = 0;
    for (int k = 0; k < nopt; k++) {
        char *o = py_lower(opts[k]);
        if (strstr(low, o)) found = k, cands++;
        free(o);
    }
    free(low);
    return cands == 1 ? letters[found][0] : 0;
}

/* OpenCompass tools/eval_mmbench.py, can_infer_option then can_infer_text. */
static int oc_count(char *const *splits, size_t n, const char *pre, const char *suf, char *first) {
    int cnt = 0;
    *first = 0;
    for (const char *c = "ABCDE"; *c; c++) {
        StrBuf b = {0};
        sb_printf(&b, "%s%c%s", pre, *c, suf);
        if (strv_contains(splits, n, b.s)) {
            cnt++;
            if (!*first) *first = *c;
        }
        sb_free(&b);
    }
    return cnt;
}

char mmbench_infer_opencompass(const char *pred, const char *const *opts) {
    static const char *const tups[][2] = {{"", "."},  {"", ","},  {"", ":"},   {"", ")"},
                                          {"", ")."}, {"(", ")"}, {"(", ")."}, {":", ""},
                                          {":", ","}, {":", "."}, {":", ")"},  {":", ")."}};
    char r = 0, first;
    if (!strstr(pred, "Failed to obtain answer via API")) {
        size_t n;
        char **splits = py_split_ws(pred, &n);
        /* one bare letter, unless the answer also holds the word "A" and has more than
         * three words ("A" may be the article) */
        if (oc_count(splits, n, "", "", &first) == 1 && !(strv_contains(splits, n, "A") && n > 3))
            r = first;
        for (size_t t = 0; !r && t < sizeof tups / sizeof tups[0]; t++)
            if (oc_count(splits, n, tups[t][0], tups[t][1], &first) == 1) r = first;
        strv_free(splits, n);
        if (r) return r;
    }
    /* the one option (A-D, present) whose lower-cased text is inside the lower-cased answer */
    char *low = py_lower(pred);
    int found = -1, cands = 0;
    for (int k = 0; k < 4; k++) {
        if (!opts[k]) continue;
        char *o = py_lower(opts[k]);
        if (strstr(low, o)) found = k, cands++;
        free(o);
    }
    free(low);
    return cands == 1 ? (char)('A' + found) : 0;
}

/* str() of a cell as pandas hands it over after the xlsx round trip: a numeric
 * column with a missing cell or a fraction holds floats ("3.0"), else ints. */
static char *cell_str(const TsvTable *t, int col, size_t row, const int *numeric,
                      const int *floaty) {
    const char *v = t->rows[row][col];
    double x;
    if (!numeric[col] || !floaty[col]) return hl_strdup(v);
    char *end;
    x = strtod(v, &end);
    StrBuf b = {0};
    py_float_repr(&b, x);
    return sb_take(&b);
}

static int is_number(const char *s, double *v) {
    char *end;
    if (!*s) return 0;
    *v = strtod(s, &end);
    return *end == 0;
}

static void write_xlsx(ScoreCtx *c, const TsvTable *t, char **pred) {
    char *path = score_out_path(c, "_submission.xlsx");
    if (!path) return;
    static const char *const dropped[] = {"hint",  "category", "source",
                                          "image", "comment",  "l2-category"};
    int *cols = hl_malloc((t->ncols + 1) * sizeof *cols); /* -1 = prediction */
    size_t nc = 0;
    for (size_t k = 0; k < t->ncols; k++) {
        int drop = 0;
        for (size_t d = 0; d < sizeof dropped / sizeof dropped[0]; d++)
            drop |= !strcmp(t->cols[k], dropped[d]);
        if (!drop) cols[nc++] = (int)k;
    }
    size_t at = nc < 6 ? nc : 6;
    memmove(cols + at + 1, cols + at, (nc - at) * sizeof *cols);
    cols[at] = -1;
    nc++;
    /* pandas' column types: a column whose non-missing cells are all numbers is numeric */
    int *numeric = hl_calloc(t->ncols + 1, sizeof *numeric);
    for (size_t k = 0; k < t->ncols; k++) {
        int num = 1, any = 0;
        double v;
        for (size_t r = 0; r < t->nrows && num; r++) {
            if (tsv_is_na(t->rows[r][k])) continue;
            any = 1;
            num = is_number(t->rows[r][k], &v);
        }
        numeric[k] = num && any;
    }
    lxw_workbook *wb = workbook_new(path);
    if (!wb) hl_fail("%s: cannot create the workbook", path);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Sheet1");
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    format_set_border(bold, LXW_BORDER_THIN);
    format_set_align(bold, LXW_ALIGN_CENTER);
    for (size_t j = 0; j < nc; j++)
        worksheet_write_string(ws, 0, (lxw_col_t)j, cols[j] < 0 ? "prediction" : t->cols[cols[j]],
                               bold);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t j = 0; j < nc; j++) {
            const char *v = cols[j] < 0 ? pred[r] : t->rows[r][cols[j]];
            lxw_row_t row = (lxw_row_t)(r + 1);
            lxw_col_t col = (lxw_col_t)j;
            lxw_error err = LXW_NO_ERROR;
            double num;
            if (!v || (cols[j] >= 0 && tsv_is_na(v))) continue;
            if (cols[j] >= 0 && numeric[cols[j]] && is_number(v, &num))
                err = worksheet_write_number(ws, row, col, num, NULL);
            else
                err = worksheet_write_string(ws, row, col, v, NULL);
            if (err != LXW_NO_ERROR) hl_fail("%s: row %zu: %s", path, r + 2, lxw_strerror(err));
        }
    }
    lxw_error err = workbook_close(wb);
    if (err != LXW_NO_ERROR) hl_fail("%s: %s", path, lxw_strerror(err));
    score_add_file(c, path);
    free(numeric);
    free(cols);
    free(path);
}

/* The TSV's index as the answers file's question_id: a number when it is one. */
static json_t *json_id_value(const char *ix) {
    char *end;
    long long v = strtoll(ix, &end, 10);
    return *ix && !*end ? json_integer(v) : json_text(ix);
}

typedef struct {
    char *name;
    size_t groups, right;
} Cat;

static void cat_add(Cat **v, size_t *n, const char *name, int right) {
    size_t i = 0;
    while (i < *n && strcmp((*v)[i].name, name)) i++;
    if (i == *n) {
        *v = hl_realloc(*v, (*n + 1) * sizeof **v);
        (*v)[(*n)++] = (Cat){hl_strdup(name), 0, 0};
    }
    (*v)[i].groups++;
    (*v)[i].right += (size_t)right;
}

static json_t *cats_json(Cat *v, size_t n) {
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        set_num(o, v[i].name, 100.0 * (double)v[i].right / (double)v[i].groups);
        free(v[i].name);
    }
    free(v);
    return o;
}

void score_mmbench(ScoreCtx *c) {
    TsvTable *t = tsv_read(c->spec->questions);
    int c_index = tsv_col(t, "index"), c_answer = tsv_col(t, "answer"),
        c_cat = tsv_col(t, "category"), c_l2 = tsv_col(t, "l2-category");
    if (c_index < 0) hl_fail("%s: missing column 'index'", t->path);
    StrMap rowof = {0}; /* index key -> rows (first row; duplicates handled below) */
    char **pred = hl_calloc(t->nrows + 1, sizeof *pred);
    for (size_t r = 0; r < t->nrows; r++) {
        const char *ix = t->rows[r][c_index];
        char *end;
        long long v = strtoll(ix, &end, 10);
        json_t *id = *ix && !*end ? json_integer(v) : json_text(ix);
        char *k = json_id_key(id);
        json_decref(id);
        if (!smap_has(&rowof, k)) smap_put_index(&rowof, k, r);
        free(k);
    }
    size_t unknown = 0;
    for (size_t i = 0; i < c->answers->n; i++) { /* df.loc[df.index == qid, 'prediction'] = text */
        char *k = json_id_key(c->answers->a[i].question_id);
        size_t r;
        if (smap_get_index(&rowof, k, &r)) {
            for (size_t q = r; q < t->nrows; q++) /* every row with that index */
                if (!strcmp(t->rows[q][c_index], t->rows[r][c_index]))
                    pred[q] = (char *)c->answers->a[i].text;
        } else {
            unknown++;
        }
        free(k);
    }
    if (unknown) score_incomplete(c, "%zu answers match no index of the TSV", unknown);
    write_xlsx(c, t, pred);
    size_t with_answer = 0;
    for (size_t r = 0; c_answer >= 0 && r < t->nrows; r++)
        with_answer += !tsv_is_na(t->rows[r][c_answer]);
    if (!with_answer) {
        score_note(c, "the TSV has no answers (test split): submission only");
    } else {
        static const char *const letters[] = {"A", "B", "C", "D"};
        int c_opt[4];
        for (int k = 0; k < 4; k++) c_opt[k] = tsv_col(t, letters[k]);
        /* pandas' type of each option column after the xlsx round trip */
        int *numeric = hl_calloc(t->ncols + 1, sizeof *numeric),
            *floaty = hl_calloc(t->ncols + 1, sizeof *floaty);
        for (int k = 0; k < 4; k++) {
            if (c_opt[k] < 0) continue;
            int num = 1, any = 0, fl = 0;
            for (size_t r = 0; r < t->nrows && num; r++) {
                double v;
                if (tsv_is_na(t->rows[r][c_opt[k]])) {
                    fl = 1;
                    continue;
                }
                any = 1;
                num = is_number(t->rows[r][c_opt[k]], &v);
                if (num && (v != (double)(long long)v || strpbrk(t->rows[r][c_opt[k]], ".eE")))
                    fl = 1;
            }
            numeric[c_opt[k]] = num && any, floaty[c_opt[k]] = fl;
        }
        /* groups: index % 1e6, in first-seen order; a question counts when its main
         * row (index < 1e6) is in the TSV, as eval_mmbench.py iterates those */
        StrMap gidx = {0};
        size_t ng = 0;
        size_t *g_main = hl_calloc(t->nrows + 1, sizeof *g_main);
        int *g_wrong = hl_calloc(t->nrows + 1, sizeof *g_wrong),
            *g_gpt = hl_calloc(t->nrows + 1, sizeof *g_gpt),
            *g_done = hl_calloc(t->nrows + 1, sizeof *g_done),
            *g_has_main = hl_calloc(t->nrows + 1, sizeof *g_has_main);
        size_t rows_answered = 0, rows_right = 0, unmatched = 0;
        for (size_t r = 0; r < t->nrows; r++) {
            const char *ix = t->rows[r][c_index];
            char *end;
            long long v = strtoll(ix, &end, 10);
            int numeric_ix = *ix && !*end;
            StrBuf k = {0};
            if (numeric_ix)
                sb_printf(&k, "%lld", v % 1000000);
            else
                sb_puts(&k, ix);
            size_t g;
            if (!smap_get_index(&gidx, k.s, &g)) {
                g = ng++;
                smap_put_index(&gidx, k.s, g);
                g_main[g] = r, g_done[g] = 1;
            }
            sb_free(&k);
            if (!numeric_ix || v < 1000000) {
                if (!g_has_main[g]) g_main[g] = r;
                g_has_main[g] = 1;
            }
            if (!pred[r]) {
                g_done[g] = 0;
                continue;
            }
            /* build_choices: each of A-D with a value */
            const char *opts[4] = {0};
            char *own[4] = {0};
            for (int o = 0; o < 4; o++)
                if (c_opt[o] >= 0 && !tsv_is_na(t->rows[r][c_opt[o]]))
                    opts[o] = own[o] = cell_str(t, c_opt[o], r, numeric, floaty);
            /* str(prediction) after pandas read the xlsx back: a missing-value string
             * reads as NaN, "nan" */
            char got = mmbench_infer_opencompass(tsv_is_na(pred[r]) ? "nan" : pred[r], opts);
            for (int o = 0; o < 4; o++) free(own[o]);
            const char *gt = c_answer >= 0 ? t->rows[r][c_answer] : "";
            int ok = got && gt[0] == got && gt[1] == 0;
            {
                char gl[2] = {got, 0};
                json_t *id = json_id_value(ix);
                score_result_correct(score_result(c, id, c_cat >= 0 ? t->rows[r][c_cat] : NULL,
                                                  pred[r], got ? json_string(gl) : NULL,
                                                  json_text(gt)),
                                     ok);
                json_decref(id);
            }
            unmatched += got == 0;
            rows_answered++, rows_right += ok;
            if (got && !ok) g_wrong[g] = 1; /* eval_sub_data returns 0 before any GPT call */
            if (!got) g_gpt[g] = 1;
        }
        size_t groups = 0, right = 0, partial = 0, need_gpt = 0;
        Cat *cats = NULL, *l2 = NULL;
        size_t ncats = 0, nl2 = 0;
        for (size_t g = 0; g < ng; g++) {
            if (!g_has_main[g]) continue;
            if (!g_done[g]) {
                partial++;
                continue;
            }
            int ok = !g_wrong[g] && !g_gpt[g];
            groups++, right += (size_t)ok;
            need_gpt += !g_wrong[g] && g_gpt[g];
            if (c_cat >= 0) cat_add(&cats, &ncats, t->rows[g_main[g]][c_cat], ok);
            if (c_l2 >= 0) cat_add(&l2, &nl2, t->rows[g_main[g]][c_l2], ok);
        }
        if (partial)
            score_incomplete(c, "%zu questions lack answers for some rotations (left out)",
                             partial);
        double circ = groups ? 100.0 * (double)right / (double)groups : 0;
        double upper = groups ? 100.0 * (double)(right + need_gpt) / (double)groups : 0;
        double single = rows_answered ? 100.0 * (double)rows_right / (double)rows_answered : 0;
        set_num(c->scores, "circular_accuracy", circ);
        set_num(c->scores, "circular_accuracy_upper", upper);
        set_int(c->scores, "questions", (long long)groups);
        set_int(c->scores, "questions_needing_gpt", (long long)need_gpt);
        set_num(c->scores, "single_accuracy", single);
        set_int(c->scores, "rows_answered", (long long)rows_answered);
        set_int(c->scores, "unmatched", (long long)unmatched);
        json_object_set_new(c->scores, "per_category", cats_json(cats, ncats));
        json_object_set_new(c->scores, "per_l2_category", cats_json(l2, nl2));
        sb_printf(&c->summary,
                  "  circular %.2f (%zu questions; %.2f if the %zu that need GPT were right)"
                  "  single-pass %.2f (%zu rows)  unmatched %zu\n",
                  circ, groups, upper, need_gpt, single, rows_answered, unmatched);
        score_headline(c, "circular accuracy (%, rule-based matching)", circ);
        free(numeric), free(floaty), free(g_wrong), free(g_gpt), free(g_has_main);
        smap_free(&gidx, NULL);
        free(g_main), free(g_done);
    }
    free(pred);
    smap_free(&rowof, NULL);
    tsv_free(t);
}
