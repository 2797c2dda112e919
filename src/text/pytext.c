/* Python str semantics on UTF-8 strings (see pytext.h). */
#include "text/pytext.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"

size_t py_len(const char *s) {
    size_t n = strlen(s), i = 0, len, count = 0;
    while (i < n) utf8_decode(s + i, n - i, &len), i += len, count++;
    return count;
}

int py_isspace(uint32_t cp) {
    if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

int py_isdigit(uint32_t cp) {
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    int lo = 0, hi = py_digit_nranges - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < py_digit_ranges[mid][0])
            hi = mid - 1;
        else if (cp > py_digit_ranges[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

uint32_t py_lower_cp(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    int lo = 0, hi = py_lower_nruns - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const PyLowerRun *r = &py_lower_runs[mid];
        if (cp < r->first)
            hi = mid - 1;
        else if (cp > r->last)
            lo = mid + 1;
        else
            return ((cp - r->first) % (uint32_t)r->step == 0) ? (uint32_t)((int32_t)cp + r->delta)
                                                              : cp;
    }
    return cp;
}

char *py_lower(const char *s) {
    StrBuf b = {0};
    size_t n = strlen(s), i = 0, len;
    while (i < n) {
        uint32_t cp = utf8_decode(s + i, n - i, &len);
        if (cp == 0x130) { /* the one character whose lower case is two: i + combining dot */
            sb_putc(&b, 'i');
            sb_put_cp(&b, 0x307);
        } else if (cp < 0x80) {
            sb_putc(&b, (char)py_lower_cp(cp));
        } else if (cp == 0xFFFD && !(len == 3 && !memcmp(s + i, "\xEF\xBF\xBD", 3))) {
            sb_putn(&b, s + i, len); /* keep ill-formed bytes as they are */
        } else {
            sb_put_cp(&b, py_lower_cp(cp));
        }
        i += len;
    }
    return sb_take(&b);
}

/* Byte range [*a, *b) of s without leading/trailing characters for which drop() holds. */
static void trim_range(const char *s, size_t n, int left, int right,
                       int (*drop)(uint32_t, const void *), const void *ctx, size_t *a, size_t *b) {
    size_t i = 0, len, end = n;
    if (left) {
        while (i < n) {
            uint32_t cp = utf8_decode(s + i, n - i, &len);
            if (!drop(cp, ctx)) break;
            i += len;
        }
    }
    if (right) {
        /* walk forward remembering where the last kept character ends */
        size_t j = i, keep_end = i;
        while (j < n) {
            uint32_t cp = utf8_decode(s + j, n - j, &len);
            j += len;
            if (!drop(cp, ctx)) keep_end = j;
        }
        end = keep_end;
    }
    *a = i, *b = end;
}

static int drop_space(uint32_t cp, const void *ctx) {
    (void)ctx;
    return py_isspace(cp);
}

static int drop_chars(uint32_t cp, const void *ctx) {
    const char *chars = ctx;
    size_t n = strlen(chars), i = 0, len;
    while (i < n) {
        if (utf8_decode(chars + i, n - i, &len) == cp) return 1;
        i += len;
    }
    return 0;
}

static char *dup_range(const char *s, size_t a, size_t b) {
    char *r = hl_malloc(b - a + 1);
    memcpy(r, s + a, b - a);
    r[b - a] = 0;
    return r;
}

char *py_strip(const char *s) {
    size_t a, b;
    trim_range(s, strlen(s), 1, 1, drop_space, NULL, &a, &b);
    return dup_range(s, a, b);
}

char *py_strip_chars(const char *s, const char *chars, int left, int right) {
    size_t a, b;
    trim_range(s, strlen(s), left, right, drop_chars, chars, &a, &b);
    return dup_range(s, a, b);
}

char *py_slice(const char *s, size_t start, size_t stop) {
    size_t n = strlen(s), i = 0, len, k = 0, a = n, b = n;
    while (i < n) {
        if (k == start) a = i;
        if (k == stop) {
            b = i;
            break;
        }
        utf8_decode(s + i, n - i, &len);
        i += len, k++;
    }
    if (a > b) a = b;
    return dup_range(s, a, b);
}

char *str_replace(const char *s, const char *from, const char *to) {
    size_t fn = strlen(from), tn = strlen(to);
    CHECK(fn > 0);
    StrBuf b = {0};
    const char *p = s, *q;
    while ((q = strstr(p, from))) {
        sb_putn(&b, p, (size_t)(q - p));
        sb_putn(&b, to, tn);
        p = q + fn;
    }
    sb_puts(&b, p);
    return sb_take(&b);
}

char *str_join(char *const *v, size_t n, const char *sep) {
    StrBuf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i) sb_puts(&b, sep);
        sb_puts(&b, v[i]);
    }
    return sb_take(&b);
}

static void strv_push(char ***v, size_t *n, size_t *cap, char *s) {
    if (*n == *cap) *cap = *cap ? 2 * *cap : 8, *v = hl_realloc(*v, *cap * sizeof **v);
    (*v)[(*n)++] = s;
}

char **py_split_ws(const char *s, size_t *n) {
    char **v = NULL;
    size_t cap = 0, len, i = 0, m = strlen(s);
    *n = 0;
    while (i < m) {
        while (i < m) { /* skip whitespace */
            uint32_t cp = utf8_decode(s + i, m - i, &len);
            if (!py_isspace(cp)) break;
            i += len;
        }
        if (i >= m) break;
        size_t a = i;
        while (i < m) {
            uint32_t cp = utf8_decode(s + i, m - i, &len);
            if (py_isspace(cp)) break;
            i += len;
        }
        strv_push(&v, n, &cap, dup_range(s, a, i));
    }
    if (!v) v = hl_malloc(sizeof *v);
    return v;
}

char **str_split(const char *s, const char *sep, size_t *n) {
    size_t sn = strlen(sep), cap = 0;
    CHECK(sn > 0);
    char **v = NULL;
    *n = 0;
    const char *p = s, *q;
    while ((q = strstr(p, sep))) {
        strv_push(&v, n, &cap, dup_range(p, 0, (size_t)(q - p)));
        p = q + sn;
    }
    strv_push(&v, n, &cap, hl_strdup(p));
    return v;
}

void strv_free(char **v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

int strv_contains(char *const *v, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return 1;
    return 0;
}

int str_startswith(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int str_endswith(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}
