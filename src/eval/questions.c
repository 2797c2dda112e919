/* Benchmark question readers (see questions.h). */
#include "eval/questions.h"

#include <stdlib.h>
#include <string.h>

#include "eval/jsonio.h"
#include "text/pytext.h"
#include "eval/tsv.h"
#include "util/check.h"
#include "util/path.h"

static EvalItem *push_item(EvalSet *s, size_t *cap) {
    if (s->n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        s->items = hl_realloc(s->items, *cap * sizeof *s->items);
    }
    EvalItem *it = &s->items[s->n++];
    memset(it, 0, sizeof *it);
    return it;
}

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "a list";
    case JSON_NULL:
        return "null";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "a number or string";
    }
}

static int full(const EvalSet *s, const BenchSpec *spec) {
    return spec->limit > 0 && s->n >= (size_t)spec->limit;
}

/* {question_id, image, text, ...}: text is the question with its suffix already in it. */
static void read_jsonl(EvalSet *s, const BenchSpec *spec) {
    JsonlReader r;
    jsonl_open(&r, spec->questions);
    size_t cap = 0;
    json_t *line;
    while (!full(s, spec) && (line = jsonl_next(&r))) {
        json_t *qid = json_req(line, "question_id", r.path, r.line);
        if (!json_is_string(qid) && !json_is_number(qid))
            hl_fail("%s:%ld: question_id must be a number or a string, got %s", r.path, r.line,
                    json_type_name(qid));
        const char *image = json_req_str(line, "image", r.path, r.line);
        const char *text = json_req_str(line, "text", r.path, r.line);
        EvalItem *it = push_item(s, &cap);
        it->question_id = json_incref(qid);
        it->image = path_os_join(spec->images, image);
        it->question = hl_strdup(text);
        it->prompt_text = hl_strdup(text);
        it->meta = json_deep_copy(line);
        json_object_del(it->meta, "question_id");
        json_object_del(it->meta, "image");
        json_object_del(it->meta, "text");
        json_decref(line);
    }
    jsonl_close(&r);
}

/* model_vqa_science.py --single-pred-prompt: the first human turn with "<image>"
 * removed and stripped; "<image>\n" in front of the written prompt when there is an
 * image; the option-letter instruction appended to both. */
static void read_sqa(EvalSet *s, const BenchSpec *spec) {
    const char *path = spec->questions;
    json_t *doc = json_read_file(path);
    if (!json_is_array(doc)) hl_fail("%s: expected a JSON list of questions", path);
    size_t cap = 0, i;
    json_t *e;
    json_array_foreach(doc, i, e) {
        if (full(s, spec)) break;
        if (!json_is_object(e)) hl_fail("%s: entry %zu: not an object", path, i);
        json_t *id = json_object_get(e, "id");
        json_t *conv = json_object_get(e, "conversations");
        if (!id) hl_fail("%s: entry %zu: missing key 'id'", path, i);
        if (!json_is_string(id) && !json_is_number(id))
            hl_fail("%s: entry %zu: id must be a number or a string, got %s", path, i,
                    json_type_name(id));
        if (!json_is_array(conv) || json_array_size(conv) == 0)
            hl_fail("%s: entry %zu: missing key 'conversations' (a non-empty list)", path, i);
        json_t *value = json_object_get(json_array_get(conv, 0), "value");
        if (!json_is_string(value))
            hl_fail("%s: entry %zu: missing key 'conversations[0].value'", path, i);
        json_t *image = json_object_get(e, "image");
        if (image && !json_is_string(image))
            hl_fail("%s: entry %zu: key 'image' is not a string", path, i);
        char *no_token = str_replace(json_string_value(value), "<image>", "");
        char *qs = py_strip(no_token);
        free(no_token);
        EvalItem *it = push_item(s, &cap);
        it->question_id = json_incref(id);
        it->image_raw = 1;
        StrBuf q = {0}, p = {0};
        sb_puts(&q, qs);
        sb_puts(&q, SUFFIX_OPTION);
        if (image) {
            it->image = path_os_join(spec->images, json_string_value(image));
            sb_puts(&p, "<image>\n");
        }
        sb_puts(&p, qs);
        sb_puts(&p, SUFFIX_OPTION);
        it->question = sb_take(&q);
        it->prompt_text = sb_take(&p);
        it->meta = json_object();
        free(qs);
    }
    json_decref(doc);
}

/* LLaVA's is_none() on a pandas cell: pandas' missing values, or "nan"/"none" in any case. */
static int cell_is_none(const char *cell) {
    if (tsv_is_na(cell)) return 1;
    char *low = py_lower(cell);
    int none = !strcmp(low, "nan") || !strcmp(low, "none");
    free(low);
    return none;
}

static json_t *index_value(const char *cell) {
    char *end;
    long long v = strtoll(cell, &end, 10);
    if (*cell && !*end) return json_integer(v);
    return json_text(cell);
}

static const char *cell(const TsvTable *t, size_t r, int c) {
    return c >= 0 ? t->rows[r][c] : "";
}

/* model_vqa_mmbench.py: hint (when present) + "\n" + question, then "\nA. opt" lines for
 * the options up to the first missing one, then the option-letter instruction. */
static void read_mmbench(EvalSet *s, const BenchSpec *spec, const EvalReadOpts *opts) {
    TsvTable *t = tsv_read(spec->questions);
    const char *path = spec->questions;
    int c_index = tsv_col(t, "index"), c_question = tsv_col(t, "question"),
        c_hint = tsv_col(t, "hint"), c_image = tsv_col(t, "image");
    if (c_index < 0) hl_fail("%s: missing column 'index'", path);
    if (c_question < 0) hl_fail("%s: missing column 'question'", path);
    if (c_image < 0) hl_fail("%s: missing column 'image'", path);
    static const char *const letters[] = {"A", "B", "C", "D"};
    static const char *const extra[] = {"answer", "category", "l2-category", "split"};
    int c_opt[4];
    for (int k = 0; k < 4; k++) c_opt[k] = tsv_col(t, letters[k]);
    const char *suffix = spec->kind == BENCH_MMBENCH_CN ? SUFFIX_OPTION_CN : SUFFIX_OPTION;
    size_t cap = 0;
    for (size_t r = 0; r < t->nrows && !full(s, spec); r++) {
        const char *opt[4];
        int nopt = 0;
        while (nopt < 4 && !cell_is_none(cell(t, r, c_opt[nopt]))) {
            opt[nopt] = cell(t, r, c_opt[nopt]);
            nopt++;
        }
        const char *img = cell(t, r, c_image);
        /* Newer MMBench files give a circular copy's image as the index of its first row. */
        if (strlen(img) < 16 && *img && strspn(img, "0123456789") == strlen(img)) {
            for (size_t q = 0; q < t->nrows; q++)
                if (!strcmp(cell(t, q, c_index), img)) {
                    img = cell(t, q, c_image);
                    break;
                }
        }
        int order[4] = {0, 1, 2, 3}; /* option shown as A, B, ... in this round */
        int rounds = opts && opts->mmbench_all_rounds ? nopt : 1;
        for (int round = 0; round < rounds && !full(s, spec); round++) {
            StrBuf q = {0};
            const char *hint = cell(t, r, c_hint);
            if (!cell_is_none(hint)) sb_puts(&q, hint), sb_putc(&q, '\n');
            sb_puts(&q, cell(t, r, c_question));
            json_t *options = json_array(), *chars = json_array();
            for (int k = 0; k < nopt; k++) {
                sb_printf(&q, "\n%s. %s", letters[k], opt[order[k]]);
                json_array_append_new(options, json_text(opt[order[k]]));
                json_array_append_new(chars, json_string(letters[order[k]]));
            }
            EvalItem *it = push_item(s, &cap);
            it->question_id = index_value(cell(t, r, c_index));
            it->image_raw = 1;
            it->prompt_text = hl_strdup(q.s ? q.s : "");
            sb_puts(&q, suffix);
            it->question = sb_take(&q);
            it->image_data = base64_decode(img, &it->image_size);
            if (!it->image_data || it->image_size == 0)
                hl_fail("%s:%ld: column 'image': not base64 image data", path, t->lines[r]);
            it->meta = json_object();
            json_object_set(it->meta, "index", it->question_id);
            json_object_set_new(it->meta, "round_id", json_integer(round));
            json_object_set_new(it->meta, "options", options);
            json_object_set_new(it->meta, "option_char", chars);
            for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
                int c = tsv_col(t, extra[k]);
                if (c >= 0 && !tsv_is_na(cell(t, r, c)))
                    json_object_set_new(it->meta, extra[k], json_text(cell(t, r, c)));
            }
            if (nopt > 1) { /* rotate: options[1:] + options[:1] */
                int first = order[0];
                memmove(order, order + 1, (size_t)(nopt - 1) * sizeof *order);
                order[nopt - 1] = first;
            }
        }
    }
    tsv_free(t);
}

EvalSet *eval_read(const BenchSpec *spec, const EvalReadOpts *opts) {
    if (!spec->questions)
        hl_fail("benchmark '%s': no question file",
                spec->name ? spec->name : bench_kind_name(spec->kind));
    EvalSet *s = hl_calloc(1, sizeof *s);
    s->kind = spec->kind;
    s->path = hl_strdup(spec->questions);
    switch (spec->kind) {
    case BENCH_SQA:
        read_sqa(s, spec);
        break;
    case BENCH_MMBENCH:
    case BENCH_MMBENCH_CN:
        read_mmbench(s, spec, opts);
        break;
    default:
        read_jsonl(s, spec);
    }
    if (s->n == 0) hl_fail("%s: no questions (an empty question set)", spec->questions);
    return s;
}

void eval_set_free(EvalSet *set) {
    if (!set) return;
    for (size_t i = 0; i < set->n; i++) {
        EvalItem *it = &set->items[i];
        json_decref(it->question_id);
        json_decref(it->meta);
        free(it->image);
        free(it->image_data);
        free(it->question);
        free(it->prompt_text);
    }
    free(set->items);
    free(set->path);
    free(set);
}

int eval_item_has_image(const EvalItem *it) {
    return it->image || it->image_data;
}

char *eval_item_key(const EvalItem *it) {
    char *k = json_id_key(it->question_id);
    json_t *round = it->meta ? json_object_get(it->meta, "round_id") : NULL;
    if (!json_is_integer(round)) return k;
    StrBuf b = {0};
    sb_printf(&b, "%s#%" JSON_INTEGER_FORMAT, k, json_integer_value(round));
    free(k);
    return sb_take(&b);
}
