/* JSON input with file:line errors, and Python-identical JSON output (see jsonio.h). */
#include "eval/jsonio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/atomic.h"
#include "util/check.h"

json_t *json_read_file(const char *path) {
    FILE *f = hl_fopen(path, "rb");
    json_error_t err;
    json_t *v = json_loadf(f, JSON_ALLOW_NUL, &err);
    fclose(f);
    if (!v) hl_fail("%s: line %d: bad JSON: %s", path, err.line, err.text);
    return v;
}

void jsonl_open(JsonlReader *r, const char *path) {
    memset(r, 0, sizeof *r);
    r->f = hl_fopen(path, "rb");
    r->path = hl_strdup(path);
}

json_t *jsonl_next(JsonlReader *r) {
    for (;;) {
        ssize_t n = getline(&r->buf, &r->cap, r->f);
        if (n < 0) return NULL;
        r->line++;
        size_t i = 0;
        while (i < (size_t)n && strchr(" \t\r\n", r->buf[i])) i++;
        if (i == (size_t)n) continue; /* blank line */
        json_error_t err;
        json_t *v = json_loadb(r->buf, (size_t)n, JSON_ALLOW_NUL, &err);
        if (!v) hl_fail("%s:%ld: bad JSON: %s", r->path, r->line, err.text);
        if (!json_is_object(v)) hl_fail("%s:%ld: expected a JSON object", r->path, r->line);
        return v;
    }
}

void jsonl_close(JsonlReader *r) {
    if (r->f) fclose(r->f);
    free(r->path);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

json_t *json_req(json_t *obj, const char *key, const char *path, long line) {
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!v) {
        if (line > 0) hl_fail("%s:%ld: missing key '%s'", path, line, key);
        hl_fail("%s: missing key '%s'", path, key);
    }
    return v;
}

const char *json_req_str(json_t *obj, const char *key, const char *path, long line) {
    json_t *v = json_req(obj, key, path, line);
    if (!json_is_string(v)) {
        if (line > 0) hl_fail("%s:%ld: key '%s' is not a string", path, line, key);
        hl_fail("%s: key '%s' is not a string", path, key);
    }
    return json_string_value(v);
}

/* ---- Python-compatible output ---- */

static void dump_string(StrBuf *b, const char *s, size_t n) {
    sb_putc(b, '"');
    size_t i = 0, len;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            sb_putc(b, (char)c);
            i++;
            continue;
        }
        uint32_t cp = utf8_decode(s + i, n - i, &len);
        i += len;
        switch (cp) {
        case '"':
            sb_puts(b, "\\\"");
            break;
        case '\\':
            sb_puts(b, "\\\\");
            break;
        case '\n':
            sb_puts(b, "\\n");
            break;
        case '\r':
            sb_puts(b, "\\r");
            break;
        case '\t':
            sb_puts(b, "\\t");
            break;
        case '\b':
            sb_puts(b, "\\b");
            break;
        case '\f':
            sb_puts(b, "\\f");
            break;
        default:
            if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000;
                sb_printf(b, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            } else {
                sb_printf(b, "\\u%04x", cp);
            }
        }
    }
    sb_putc(b, '"');
}

void py_float_repr(StrBuf *b, double x) {
    if (isnan(x) || isinf(x)) {
        sb_puts(b, isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
        return;
    }
    /* shortest digits that read back as x, as Python's repr */
    char e[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, x);
        if (strtod(e, NULL) == x) break;
    }
    /* e is [-]d[.ddd]e[+-]XX: split into sign, digits, exponent */
    char digits[24];
    int nd = 0, neg = e[0] == '-';
    const char *p = e + neg;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    if (neg) sb_putc(b, '-');
    if (exp10 < -4 || exp10 >= 16) {
        sb_putc(b, digits[0]);
        if (nd > 1) sb_putc(b, '.'), sb_putn(b, digits + 1, (size_t)nd - 1);
        sb_printf(b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (exp10 < 0) {
        sb_puts(b, "0.");
        for (int i = 0; i < -exp10 - 1; i++) sb_putc(b, '0');
        sb_putn(b, digits, (size_t)nd);
    } else {
        for (int i = 0; i <= exp10; i++) sb_putc(b, i < nd ? digits[i] : '0');
        sb_putc(b, '.');
        if (nd > exp10 + 1)
            sb_putn(b, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
        else
            sb_putc(b, '0');
    }
}

static void newline_indent(StrBuf *b, int indent, int depth) {
    sb_putc(b, '\n');
    for (int i = 0; i < indent * depth; i++) sb_putc(b, ' ');
}

static void dump(StrBuf *b, json_t *v, int indent, int depth) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (json_object_size(v) == 0) {
            sb_puts(b, "{}");
            return;
        }
        sb_putc(b, '{');
        const char *k;
        json_t *x;
        int first = 1;
        json_object_foreach(v, k, x) {
            if (!first) sb_putc(b, ',');
            if (indent >= 0)
                newline_indent(b, indent, depth + 1);
            else if (!first)
                sb_putc(b, ' ');
            first = 0;
            dump_string(b, k, strlen(k));
            sb_puts(b, ": ");
            dump(b, x, indent, depth + 1);
        }
        if (indent >= 0) newline_indent(b, indent, depth);
        sb_putc(b, '}');
        break;
    }
    case JSON_ARRAY: {
        if (json_array_size(v) == 0) {
            sb_puts(b, "[]");
            return;
        }
        sb_putc(b, '[');
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (i) sb_putc(b, ',');
            if (indent >= 0)
                newline_indent(b, indent, depth + 1);
            else if (i)
                sb_putc(b, ' ');
            dump(b, x, indent, depth + 1);
        }
        if (indent >= 0) newline_indent(b, indent, depth);
        sb_putc(b, ']');
        break;
    }
    case JSON_STRING:
        dump_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        sb_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        py_float_repr(b, json_real_value(v));
        break;
    case JSON_TRUE:
        sb_puts(b, "true");
        break;
    case JSON_FALSE:
        sb_puts(b, "false");
        break;
    case JSON_NULL:
        sb_puts(b, "null");
        break;
    }
}

void pyjson_dump(StrBuf *b, json_t *v, int indent) {
    dump(b, v, indent, 0);
}

char *pyjson_dumps(json_t *v, int indent) {
    StrBuf b = {0};
    dump(&b, v, indent, 0);
    return sb_take(&b);
}

void pyjson_write_file(const char *path, json_t *v, int indent) {
    char *s = pyjson_dumps(v, indent);
    atomic_write_or_fail(path, s, strlen(s));
    free(s);
}

void json_write_atomic(const char *path, const json_t *v, size_t flags) {
    char *s = json_dumps(v, flags);
    CHECK(s);
    atomic_write_or_fail(path, s, strlen(s));
    free(s);
}

json_t *json_text(const char *s) {
    json_t *v = json_string(s);
    if (v) return v;
    char *clean = utf8_sanitize(s);
    v = json_string(clean);
    free(clean);
    CHECK(v);
    return v;
}

char *json_id_key(json_t *id) {
    StrBuf b = {0};
    switch (json_typeof(id)) {
    case JSON_INTEGER:
        sb_printf(&b, "i:%" JSON_INTEGER_FORMAT, json_integer_value(id));
        break;
    case JSON_REAL: {
        double x = json_real_value(id);
        if (x == floor(x) && fabs(x) < 9e18)
            sb_printf(&b, "i:%lld", (long long)x);
        else
            sb_puts(&b, "f:"), py_float_repr(&b, x);
        break;
    }
    case JSON_STRING:
        sb_puts(&b, "s:"), sb_putn(&b, json_string_value(id), json_string_length(id));
        break;
    case JSON_TRUE:
        sb_puts(&b, "i:1");
        break;
    case JSON_FALSE:
        sb_puts(&b, "i:0");
        break;
    default:
        sb_puts(&b, "j:"), pyjson_dump(&b, id, -1);
    }
    return sb_take(&b);
}

char *json_id_str(json_t *id) {
    StrBuf b = {0};
    switch (json_typeof(id)) {
    case JSON_INTEGER:
        sb_printf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        break;
    case JSON_REAL:
        py_float_repr(&b, json_real_value(id));
        break;
    case JSON_STRING:
        sb_putn(&b, json_string_value(id), json_string_length(id));
        break;
    case JSON_TRUE:
        sb_puts(&b, "True");
        break;
    case JSON_FALSE:
        sb_puts(&b, "False");
        break;
    case JSON_NULL:
        sb_puts(&b, "None");
        break;
    default:
        pyjson_dump(&b, id, -1);
    }
    return sb_take(&b);
}
