/* Reading the tokenizer and prompt golden files that
 * tests/reference/make_tokenizer_goldens.py writes: one case per line,
 * tab-separated fields, strings escaped as \\ \n \t \r \xHH, id lists
 * separated by spaces. Lines starting with '#' are comments. The real LLaMA
 * tokenizer's cases run only where ../shared has its model. */
#ifndef HL_TOKENIZER_GOLDEN_H
#define HL_TOKENIZER_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "sp_model.h"
#include "util/check.h"

#define TOKENIZER_FIX "tests/fixtures/tokenizer/"
#define LLAMA_MODEL "../shared/tokenizers/llama/tokenizer.model"

/* Reads every non-comment line; returns the count, -1 when the file is absent. */
static inline int golden_read(const char *path, char ***lines) {
    *lines = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int n = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
        if (line[0] == '#') continue;
        *lines = hl_realloc(*lines, (size_t)(n + 1) * sizeof(char *));
        (*lines)[n++] = hl_strdup(line);
    }
    free(line);
    fclose(f);
    return n;
}

static inline void golden_free(char **lines, int n) {
    for (int i = 0; i < n; i++) free(lines[i]);
    free(lines);
}

/* Splits a line in place at tabs; empty fields are kept. Returns the count. */
static inline int golden_fields(char *line, char **field, int max) {
    int n = 0;
    for (char *p = line; n < max;) {
        field[n++] = p;
        p = strchr(p, '\t');
        if (!p) break;
        *p++ = 0;
    }
    return n;
}

/* Undoes the escapes; malloc'd and NUL-terminated, *len (when not NULL) gets
 * the length, which counts any NUL that \x00 put inside. */
static inline char *golden_unescape(const char *s, size_t *len) {
    char *out = hl_malloc(strlen(s) + 1), *o = out;
    while (*s) {
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        char e = s[1];
        if (e == 'n')
            *o++ = '\n', s += 2;
        else if (e == 't')
            *o++ = '\t', s += 2;
        else if (e == 'r')
            *o++ = '\r', s += 2;
        else if (e == '\\')
            *o++ = '\\', s += 2;
        else if (e == 'x') {
            char hex[3] = {s[2], s[3], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            s += 4;
        } else {
            CHECKF(0, "bad escape \\%c in a golden file", e);
        }
    }
    *o = 0;
    if (len) *len = (size_t)(o - out);
    return out;
}

/* Parses space-separated ids; *ids is malloc'd. */
static inline int golden_ids(const char *s, int **ids) {
    int n = 0, cap = 16;
    *ids = hl_malloc((size_t)cap * sizeof(int));
    char *end;
    for (;;) {
        long v = strtol(s, &end, 10);
        if (end == s) break;
        if (n == cap) *ids = hl_realloc(*ids, (size_t)(cap *= 2) * sizeof(int));
        (*ids)[n++] = (int)v;
        s = end;
    }
    return n;
}

/* Whether a decoded string (with its length) equals the escaped golden field. */
static inline int golden_text_equal(const char *got, size_t got_len, const char *field) {
    size_t want_len;
    char *want = golden_unescape(field, &want_len);
    int eq = got_len == want_len && memcmp(got, want, got_len) == 0;
    free(want);
    return eq;
}

static inline int ids_equal(const int *a, int na, const int *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof(int)) == 0);
}

/* Formats an id list into buf for failure messages. */
static inline const char *ids_text(const int *ids, int n, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < n && used + 16 < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%d", i ? " " : "", ids[i]);
    return buf;
}

/* test_done's status, or 77 (skipped) when every check passed without the
 * LLaMA model, so that only the tiny models were tested. */
static inline int golden_done(const char *name, int have_llama) {
    int rc = test_done(name);
    if (rc == 0 && !have_llama) {
        printf("skip: %s absent (the tiny-model cases passed)\n", LLAMA_MODEL);
        return 77;
    }
    return rc;
}

#endif
