/* YAML to a line-numbered tree with libyaml's event parser. */
#include "run/yaml_doc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "util/path.h"
#include "util/strbuf.h"

#define MAX_DEPTH 64

typedef struct {
    yaml_parser_t parser;
    const char *path;
} Reader;

static HL_NORETURN void syntax_fail(Reader *r) {
    yaml_parser_t *p = &r->parser;
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_READER_ERROR)
        hl_fail("%s: YAML read error at byte %zu: %s", r->path, p->problem_offset, problem);
    if (p->context)
        hl_fail("%s:%zu:%zu: YAML syntax error: %s (%s, line %zu)", r->path,
                p->problem_mark.line + 1, p->problem_mark.column + 1, problem, p->context,
                p->context_mark.line + 1);
    hl_fail("%s:%zu:%zu: YAML syntax error: %s", r->path, p->problem_mark.line + 1,
            p->problem_mark.column + 1, problem);
}

static void next_event(Reader *r, yaml_event_t *ev) {
    if (!yaml_parser_parse(&r->parser, ev)) syntax_fail(r);
}

static int ev_line(const yaml_event_t *ev) {
    return (int)ev->start_mark.line + 1;
}

/* Fails "path:line: key: message" where key is the dotted path built so far. */
static HL_NORETURN void reader_fail(Reader *r, int line, const char *key, const char *msg) {
    if (key && *key) hl_fail("%s:%d: %s: %s", r->path, line, key, msg);
    hl_fail("%s:%d: %s", r->path, line, msg);
}

static char *dup_len(const unsigned char *s, size_t n) {
    char *p = hl_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static int tag_is(const yaml_char_t *tag, const char *name) {
    return tag && !strcmp((const char *)tag, name);
}

static YdNode *parse_node(Reader *r, yaml_event_t *ev, const char *keypath, int depth);

static YdNode *new_node(YdKind kind, int line) {
    YdNode *n = hl_calloc(1, sizeof *n);
    n->kind = kind;
    n->line = line;
    return n;
}

static YdNode *parse_scalar(Reader *r, yaml_event_t *ev, const char *keypath) {
    const yaml_char_t *tag = ev->data.scalar.tag;
    if (tag && !tag_is(tag, YAML_STR_TAG) && !tag_is(tag, "!"))
        reader_fail(r, ev_line(ev), keypath, "YAML tags other than !!str are not supported");
    YdNode *n = new_node(YD_SCALAR, ev_line(ev));
    n->value = dup_len(ev->data.scalar.value, ev->data.scalar.length);
    if (strlen(n->value) != ev->data.scalar.length)
        reader_fail(r, n->line, keypath, "value contains a NUL character");
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag;
    return n;
}

static YdNode *parse_seq(Reader *r, yaml_event_t *start, const char *keypath, int depth) {
    if (start->data.sequence_start.tag && !tag_is(start->data.sequence_start.tag, YAML_SEQ_TAG))
        reader_fail(r, ev_line(start), keypath, "YAML tags are not supported");
    YdNode *n = new_node(YD_SEQ, ev_line(start));
    int cap = 0;
    char sub[512];
    for (;;) {
        yaml_event_t ev;
        next_event(r, &ev);
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        snprintf(sub, sizeof sub, "%s[%d]", keypath, n->n);
        if (n->n == cap) {
            cap = cap ? 2 * cap : 4;
            n->items = hl_realloc(n->items, (size_t)cap * sizeof *n->items);
        }
        n->items[n->n++] = parse_node(r, &ev, sub, depth + 1);
        yaml_event_delete(&ev);
    }
    return n;
}

static YdNode *parse_map(Reader *r, yaml_event_t *start, const char *keypath, int depth) {
    if (start->data.mapping_start.tag && !tag_is(start->data.mapping_start.tag, YAML_MAP_TAG))
        reader_fail(r, ev_line(start), keypath, "YAML tags are not supported");
    YdNode *n = new_node(YD_MAP, ev_line(start));
    int cap = 0;
    char sub[512];
    for (;;) {
        yaml_event_t kev;
        next_event(r, &kev);
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            break;
        }
        int kline = ev_line(&kev);
        if (kev.type != YAML_SCALAR_EVENT)
            reader_fail(r, kline, keypath, "map keys must be plain strings");
        char *key = dup_len(kev.data.scalar.value, kev.data.scalar.length);
        yaml_event_delete(&kev);
        snprintf(sub, sizeof sub, "%s%s%s", keypath, *keypath ? "." : "", key);
        for (int i = 0; i < n->n; i++)
            if (!strcmp(n->keys[i], key)) {
                char msg[64];
                snprintf(msg, sizeof msg, "duplicate key (first at line %d)",
                         n->items[i]->key_line);
                reader_fail(r, kline, sub, msg);
            }
        if (n->n == cap) {
            cap = cap ? 2 * cap : 8;
            n->keys = hl_realloc(n->keys, (size_t)cap * sizeof *n->keys);
            n->items = hl_realloc(n->items, (size_t)cap * sizeof *n->items);
        }
        yaml_event_t vev;
        next_event(r, &vev);
        YdNode *v = parse_node(r, &vev, sub, depth + 1);
        yaml_event_delete(&vev);
        v->key_line = kline;
        n->keys[n->n] = key;
        n->items[n->n++] = v;
    }
    return n;
}

static YdNode *parse_node(Reader *r, yaml_event_t *ev, const char *keypath, int depth) {
    if (depth > MAX_DEPTH) reader_fail(r, ev_line(ev), keypath, "nesting too deep");
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return parse_scalar(r, ev, keypath);
    case YAML_SEQUENCE_START_EVENT:
        return parse_seq(r, ev, keypath, depth);
    case YAML_MAPPING_START_EVENT:
        return parse_map(r, ev, keypath, depth);
    case YAML_ALIAS_EVENT:
        reader_fail(r, ev_line(ev), keypath, "YAML aliases (*name) are not supported");
    default:
        reader_fail(r, ev_line(ev), keypath, "unexpected YAML event");
    }
}

void yd_load(const char *path, YdDoc *doc) {
    memset(doc, 0, sizeof *doc);
    FILE *f = hl_fopen(path, "rb");
    Reader r = {.path = path};
    if (!yaml_parser_initialize(&r.parser)) hl_fail("%s: cannot initialise the YAML parser", path);
    yaml_parser_set_input_file(&r.parser, f);
    yaml_event_t ev;
    next_event(&r, &ev); /* stream start */
    yaml_event_delete(&ev);
    next_event(&r, &ev);
    if (ev.type == YAML_DOCUMENT_START_EVENT) {
        yaml_event_delete(&ev);
        next_event(&r, &ev);
        doc->root = parse_node(&r, &ev, "", 0);
        yaml_event_delete(&ev);
        next_event(&r, &ev); /* document end */
        yaml_event_delete(&ev);
        next_event(&r, &ev);
        if (ev.type != YAML_STREAM_END_EVENT)
            reader_fail(&r, ev_line(&ev), "", "only one YAML document is allowed per file");
    }
    yaml_event_delete(&ev);
    yaml_parser_delete(&r.parser);
    fclose(f);
    doc->path = hl_strdup(path);
    doc->dir = path_dirname(path);
}

static void free_node(YdNode *n) {
    if (!n) return;
    for (int i = 0; i < n->n; i++) {
        free_node(n->items[i]);
        if (n->keys) free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->value);
    free(n);
}

void yd_free(YdDoc *doc) {
    free_node(doc->root);
    free(doc->path);
    free(doc->dir);
    memset(doc, 0, sizeof *doc);
}

int yd_line(const YdNode *n) {
    return n->key_line ? n->key_line : n->line;
}

void yd_fail(const YdDoc *doc, int line, const char *key, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key && *key) hl_fail("%s:%d: %s: %s", doc->path, line, key, msg);
    hl_fail("%s:%d: %s", doc->path, line, msg);
}

int yd_is_null(const YdNode *n) {
    if (!n || n->kind != YD_SCALAR || !n->plain) return 0;
    const char *v = n->value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* Decimal integer or decimal real, as written in configs. */
static int looks_numeric(const char *s) {
    char *end;
    errno = 0;
    if (!*s || isspace((unsigned char)*s)) return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p)) return 0;
    double v = strtod(s, &end);
    return !*end && isfinite(v);
}

const char *yd_describe(const YdNode *n, char *buf, size_t cap) {
    if (!n)
        snprintf(buf, cap, "nothing");
    else if (n->kind == YD_MAP)
        snprintf(buf, cap, "a map");
    else if (n->kind == YD_SEQ)
        snprintf(buf, cap, "a list");
    else if (yd_is_null(n))
        snprintf(buf, cap, "null");
    else {
        char text[48];
        size_t len = strlen(n->value), k = 0;
        for (size_t i = 0; i < len && k < 40; i++)
            text[k++] = (unsigned char)n->value[i] < 32 ? '?' : n->value[i];
        text[k] = 0;
        snprintf(buf, cap, "\"%s%s\"%s", text, len > 40 ? "..." : "",
                 !n->plain && looks_numeric(n->value) ? " (quoted, so a string)" : "");
    }
    return buf;
}

const YdNode *yd_get(const YdNode *map, const char *key) {
    if (!map || map->kind != YD_MAP) return NULL;
    for (int i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i], key)) return map->items[i];
    return NULL;
}

static int node_line(const YdNode *n) {
    return n ? yd_line(n) : 1;
}

static void expect_kind(const YdDoc *doc, const YdNode *n, const char *keypath, YdKind kind,
                        const char *what) {
    if (n && n->kind == kind) return;
    char got[96];
    yd_describe(n, got, sizeof got);
    if (!keypath || !*keypath)
        yd_fail(doc, node_line(n), NULL, "expected %s at the top level, got %s", what, got);
    yd_fail(doc, node_line(n), keypath, "expected %s, got %s", what, got);
}

void yd_expect_map(const YdDoc *doc, const YdNode *n, const char *keypath) {
    expect_kind(doc, n, keypath, YD_MAP, "a map");
}

void yd_expect_seq(const YdDoc *doc, const YdNode *n, const char *keypath) {
    expect_kind(doc, n, keypath, YD_SEQ, "a list");
}

void yd_check_keys(const YdDoc *doc, const YdNode *map, const char *prefix,
                   const char *const *allowed) {
    for (int i = 0; i < map->n; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(*a, map->keys[i]);
        if (ok) continue;
        char list[512] = "", key[256];
        size_t len = 0;
        for (const char *const *a = allowed; *a; a++)
            len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0, "%s%s",
                                    a == allowed ? "" : ", ", *a);
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", map->keys[i]);
        yd_fail(doc, map->items[i]->key_line, key, "unknown key (expected one of %s)", list);
    }
}

const YdNode *yd_require(const YdDoc *doc, const YdNode *map, const char *prefix, const char *key) {
    const YdNode *v = yd_get(map, key);
    if (v) return v;
    char full[256];
    snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", key);
    yd_fail(doc, map->key_line ? map->key_line : map->line, full, "missing required key");
}

static const char *int_expectation(long long min, long long max, char *buf, size_t cap) {
    /* Bounds at the int range are limits of the machine, not of the key. */
    if (min == 1 && max >= INT_MAX) return "a positive integer";
    if (min == 0 && max >= INT_MAX) return "a non-negative integer";
    if (max >= INT_MAX)
        snprintf(buf, cap, "an integer >= %lld", min);
    else
        snprintf(buf, cap, "an integer in [%lld, %lld]", min, max);
    return buf;
}

long long yd_int(const YdDoc *doc, const YdNode *n, const char *keypath, long long min,
                 long long max) {
    char exp[64], got[96];
    int too_large = 0;
    if (n && n->kind == YD_SCALAR && n->plain && !yd_is_null(n)) {
        const char *s = n->value;
        const char *d = (*s == '+' || *s == '-') ? s + 1 : s;
        int digits = *d != 0;
        for (const char *p = d; *p; p++) digits &= isdigit((unsigned char)*p) != 0;
        if (digits) {
            errno = 0;
            long long v = strtoll(s, NULL, 10);
            if (errno == 0 && v >= min && v <= max) return v;
            too_large = *s != '-' && (errno == ERANGE || v > max);
        }
    }
    yd_fail(doc, node_line(n), keypath, "expected %s, got %s%s",
            int_expectation(min, max, exp, sizeof exp), yd_describe(n, got, sizeof got),
            too_large ? " (too large)" : "");
}

uint64_t yd_u64(const YdDoc *doc, const YdNode *n, const char *keypath) {
    char got[96];
    if (n && n->kind == YD_SCALAR && n->plain && !yd_is_null(n)) {
        const char *s = n->value;
        int digits = 1;
        for (const char *p = s; *p; p++) digits &= isdigit((unsigned char)*p) != 0;
        if (digits) {
            errno = 0;
            unsigned long long v = strtoull(s, NULL, 10);
            if (errno == 0) return (uint64_t)v;
        }
    }
    yd_fail(doc, node_line(n), keypath, "expected a non-negative 64-bit integer, got %s",
            yd_describe(n, got, sizeof got));
}

double yd_real(const YdDoc *doc, const YdNode *n, const char *keypath, double min, double max) {
    char got[96];
    if (n && n->kind == YD_SCALAR && n->plain && looks_numeric(n->value)) {
        double v = strtod(n->value, NULL);
        if (v >= min && v <= max) return v;
    }
    yd_fail(doc, node_line(n), keypath, "expected a number in [%g, %g], got %s", min, max,
            yd_describe(n, got, sizeof got));
}

const char *yd_str(const YdDoc *doc, const YdNode *n, const char *keypath) {
    if (n && n->kind == YD_SCALAR && !yd_is_null(n) && *n->value) return n->value;
    char got[96];
    yd_fail(doc, node_line(n), keypath, "expected a non-empty string, got %s",
            n && n->kind == YD_SCALAR && !*n->value ? "an empty string"
                                                    : yd_describe(n, got, sizeof got));
}

char *yd_path(const YdDoc *doc, const YdNode *n, const char *keypath, const char *base_dir) {
    const char *s = yd_str(doc, n, keypath);
    StrBuf b = {0};
    sb_puts(&b, "");
    while (*s) {
        const char *dollar = strstr(s, "${");
        if (!dollar) {
            sb_putn(&b, s, strlen(s));
            break;
        }
        sb_putn(&b, s, (size_t)(dollar - s));
        const char *close = strchr(dollar, '}');
        if (!close) yd_fail(doc, yd_line(n), keypath, "unterminated ${ in \"%s\"", n->value);
        const char *name = dollar + 2, *def = NULL;
        size_t name_len = (size_t)(close - name);
        const char *colon = strstr(name, ":-");
        if (colon && colon < close) {
            def = colon + 2;
            name_len = (size_t)(colon - name);
        }
        char var[128];
        int valid = name_len > 0 && name_len < sizeof var &&
                    (isalpha((unsigned char)name[0]) || name[0] == '_');
        for (size_t i = 0; valid && i < name_len; i++)
            valid = isalnum((unsigned char)name[i]) || name[i] == '_';
        if (!valid) yd_fail(doc, yd_line(n), keypath, "bad variable name in \"%s\"", n->value);
        memcpy(var, name, name_len);
        var[name_len] = 0;
        const char *val = getenv(var);
        if (def && (!val || !*val))
            sb_putn(&b, def, (size_t)(close - def));
        else if (val)
            sb_putn(&b, val, strlen(val));
        else
            yd_fail(doc, yd_line(n), keypath, "environment variable %s is not set", var);
        s = close + 1;
    }
    char *out = sb_take(&b);
    if (!*out) yd_fail(doc, yd_line(n), keypath, "path is empty after expanding \"%s\"", n->value);
    char *joined = path_resolve(base_dir ? base_dir : doc->dir, out);
    free(out);
    return joined;
}
