/* Answers files: LLaVA's line format, durable appends, resume, loading (see answers.h). */
#include "eval/answers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/jsonio.h"
#include "text/pytext.h"
#include "util/check.h"
#include "util/hash.h"
#include "util/path.h"

/* ---- answer_id ---- */

static uint64_t fnv1a(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

void answers_id(const EvalItem *it, const char *text, const char *model_id, char out[23]) {
    static const char alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    StrBuf b = {0};
    char *key = eval_item_key(it);
    /* fields separated by a byte that cannot occur in UTF-8 text */
    sb_puts(&b, key);
    sb_putc(&b, '\xff');
    sb_puts(&b, it->prompt_text ? it->prompt_text : "");
    sb_putc(&b, '\xff');
    sb_puts(&b, text);
    sb_putc(&b, '\xff');
    sb_puts(&b, model_id);
    uint64_t hi = mix64(fnv1a(14695981039346656037ull, b.s, b.n));
    uint64_t lo = mix64(fnv1a(0x9e3779b97f4a7c15ull, b.s, b.n) ^ hi);
    free(key);
    sb_free(&b);
    /* 128-bit number in four 32-bit limbs, most significant first; 22 base-57 digits */
    uint32_t limb[4] = {(uint32_t)(hi >> 32), (uint32_t)hi, (uint32_t)(lo >> 32), (uint32_t)lo};
    for (int d = 21; d >= 0; d--) {
        uint64_t rem = 0;
        for (int k = 0; k < 4; k++) {
            uint64_t cur = (rem << 32) | limb[k];
            limb[k] = (uint32_t)(cur / 57);
            rem = cur % 57;
        }
        out[d] = alphabet[rem];
    }
    out[22] = 0;
}

char *answers_format(BenchKind kind, const EvalItem *it, const char *text, const char *model_id) {
    char id[23];
    answers_id(it, text, model_id, id);
    json_t *o = json_object();
    json_object_set(o, "question_id", it->question_id);
    int mmb = kind == BENCH_MMBENCH || kind == BENCH_MMBENCH_CN;
    json_t *meta = it->meta ? it->meta : NULL;
    if (mmb) {
        json_t *round = meta ? json_object_get(meta, "round_id") : NULL;
        json_object_set_new(o, "round_id", round ? json_incref(round) : json_integer(0));
    }
    json_object_set_new(o, "prompt", json_text(it->prompt_text ? it->prompt_text : ""));
    json_object_set_new(o, "text", json_text(text));
    if (mmb) {
        json_t *options = meta ? json_object_get(meta, "options") : NULL;
        json_t *chars = meta ? json_object_get(meta, "option_char") : NULL;
        json_object_set_new(o, "options", options ? json_incref(options) : json_array());
        json_object_set_new(o, "option_char", chars ? json_incref(chars) : json_array());
    }
    json_object_set_new(o, "answer_id", json_string(id));
    json_object_set_new(o, "model_id", json_text(model_id));
    json_object_set_new(o, "metadata", json_object());
    StrBuf b = {0};
    pyjson_dump(&b, o, -1);
    sb_putc(&b, '\n');
    json_decref(o);
    return sb_take(&b);
}

/* ---- writing ---- */

struct AnswersWriter {
    FILE *f;
    char *path;
};

AnswersWriter *answers_open(const char *path, int append) {
    path_make_parents(path);
    AnswersWriter *w = hl_calloc(1, sizeof *w);
    w->f = hl_fopen(path, append ? "ab" : "wb");
    w->path = hl_strdup(path);
    return w;
}

void answers_write(AnswersWriter *w, const char *line) {
    size_t n = strlen(line);
    if (fwrite(line, 1, n, w->f) != n) hl_fail("%s: write failed: %s", w->path, strerror(errno));
}

void answers_sync(AnswersWriter *w) {
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
        hl_fail("%s: flush failed: %s", w->path, strerror(errno));
}

void answers_close(AnswersWriter *w) {
    if (!w) return;
    answers_sync(w);
    if (fclose(w->f) != 0) hl_fail("%s: close failed: %s", w->path, strerror(errno));
    free(w->path);
    free(w);
}

/* ---- reading ---- */

static char *key_of(json_t *obj) {
    char *k = json_id_key(json_object_get(obj, "question_id"));
    json_t *round = json_object_get(obj, "round_id");
    if (!json_is_integer(round)) return k;
    StrBuf b = {0};
    sb_printf(&b, "%s#%" JSON_INTEGER_FORMAT, k, json_integer_value(round));
    free(k);
    return sb_take(&b);
}

char *answer_key(const Answer *a) {
    return key_of(a->obj);
}

static int json_loadb_ok(const char *buf, size_t n) {
    json_error_t err;
    json_t *v = json_loadb(buf, n, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
    json_decref(v);
    return v != NULL;
}

/* Calls fn(obj, line, ctx) for each answer line. A final line without its newline was
 * cut by a crash: with accept_cut it is still passed on when it parses as a whole
 * object, else it is left out. Returns the byte offset after the last line passed on
 * and sets *size to the file size. */
static long scan_lines(const char *path, FILE *f, int accept_cut,
                       void (*fn)(json_t *, long, void *), void *ctx, long *size,
                       size_t *bad_lines) {
    char *buf = NULL;
    size_t cap = 0;
    long line = 0, end = 0;
    ssize_t n;
    while ((n = getline(&buf, &cap, f)) > 0) {
        line++;
        int cut = buf[n - 1] != '\n';
        size_t i = 0;
        while (i < (size_t)n && strchr(" \t\r\n", buf[i])) i++;
        if (bad_lines && (i == (size_t)n || !json_loadb_ok(buf, (size_t)n))) {
            /* json.loads fails on it: the converters count it and go on */
            (*bad_lines)++;
            end = ftell(f);
            continue;
        }
        if (i < (size_t)n) {
            json_error_t err;
            json_t *v = json_loadb(buf, (size_t)n, JSON_ALLOW_NUL, &err);
            int ok = v && json_is_object(v) && json_object_get(v, "question_id");
            if (cut && (!accept_cut || !ok)) {
                json_decref(v);
                break;
            }
            if (!v) hl_fail("%s:%ld: bad JSON: %s", path, line, err.text);
            if (!ok) hl_fail("%s:%ld: missing key 'question_id'", path, line);
            fn(v, line, ctx);
            json_decref(v);
        } else if (cut) {
            break;
        }
        end = ftell(f);
    }
    free(buf);
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    return end;
}

static void resume_line(json_t *obj, long line, void *ctx) {
    (void)line;
    AnswersResume *r = ctx;
    r->keys = hl_realloc(r->keys, (r->n + 1) * sizeof *r->keys);
    r->keys[r->n++] = key_of(obj);
}

void answers_resume(const char *path, AnswersResume *r) {
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return;
        hl_fail("%s: %s", path, strerror(errno));
    }
    long size, end = scan_lines(path, f, 0, resume_line, r, &size, NULL);
    fclose(f);
    if (end < size) { /* a line without its newline is never trusted: it is answered again */
        if (truncate(path, end) != 0) hl_fail("%s: cannot truncate: %s", path, strerror(errno));
        r->dropped = (size_t)(size - end);
        hl_warn("%s: dropped a cut final line (%zu bytes) to resume", path, r->dropped);
    }
}

size_t answers_resume_check(const AnswersResume *r, const EvalSet *set, const char *path) {
    if (r->n > set->n)
        hl_fail("%s: has %zu answers but the question set has %zu questions", path, r->n, set->n);
    for (size_t i = 0; i < r->n; i++) {
        char *k = eval_item_key(&set->items[i]);
        int same = !strcmp(k, r->keys[i]);
        free(k);
        if (same) continue;
        char *want = json_id_str(set->items[i].question_id), msg[512];
        snprintf(msg, sizeof msg, "%s:%zu: answers question %s but question %zu of %s is %s", path,
                 i + 1, r->keys[i] + 2, i + 1, set->path, want);
        free(want);
        hl_fail("%s", msg);
    }
    return r->n;
}

void answers_resume_free(AnswersResume *r) {
    strv_free(r->keys, r->n);
    memset(r, 0, sizeof *r);
}

typedef struct {
    AnswerList *l;
    size_t cap;
} LoadCtx;

static void load_line(json_t *obj, long line, void *ctx) {
    LoadCtx *c = ctx;
    json_t *text = json_object_get(obj, "text");
    if (!json_is_string(text)) hl_fail("%s:%ld: missing key 'text'", c->l->path, line);
    if (c->l->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->l->a = hl_realloc(c->l->a, c->cap * sizeof *c->l->a);
    }
    Answer *a = &c->l->a[c->l->n++];
    a->obj = json_incref(obj);
    a->question_id = json_object_get(obj, "question_id");
    json_t *prompt = json_object_get(obj, "prompt");
    a->prompt = json_is_string(prompt) ? json_string_value(prompt) : "";
    a->text = json_string_value(text);
    a->line = line;
}

static AnswerList *load(const char *path, int tolerant) {
    AnswerList *l = hl_calloc(1, sizeof *l);
    l->path = hl_strdup(path);
    LoadCtx c = {l, 0};
    FILE *f = hl_fopen(path, "rb");
    long size, end = scan_lines(path, f, 1, load_line, &c, &size, tolerant ? &l->bad_lines : NULL);
    fclose(f);
    if (end < size) hl_warn("%s: skipped a cut final line", path);
    return l;
}

AnswerList *answers_load(const char *path) {
    return load(path, 0);
}

AnswerList *answers_load_tolerant(const char *path) {
    return load(path, 1);
}

void answers_free(AnswerList *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) json_decref(l->a[i].obj);
    free(l->a);
    free(l->path);
    free(l);
}
