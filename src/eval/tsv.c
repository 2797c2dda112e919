/* TSV tables as pandas reads them (see tsv.h). */
#include "eval/tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/pytext.h"
#include "util/check.h"

static char *read_all(const char *path, size_t *n) {
    FILE *f = hl_fopen(path, "rb");
    StrBuf b = {0};
    char chunk[1 << 16];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) sb_putn(&b, chunk, k);
    if (ferror(f)) hl_fail("%s: read error", path);
    fclose(f);
    *n = b.n;
    return sb_take(&b);
}

/* Parses one record starting at *pos; returns its fields, or NULL at end of data. */
static char **parse_record(const char *path, const char *s, size_t n, size_t *pos, long *line,
                           size_t *nfields) {
    size_t i = *pos, cap = 0;
    /* skip blank lines */
    while (i < n && (s[i] == '\n' || (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))) {
        i += s[i] == '\r' ? 2 : 1;
        (*line)++;
    }
    if (i >= n) return NULL;
    char **f = NULL;
    *nfields = 0;
    for (;;) {
        StrBuf b = {0};
        if (s[i] == '"') {
            long start = *line;
            i++;
            for (;;) {
                if (i >= n) hl_fail("%s:%ld: unterminated quoted field", path, start);
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        sb_putc(&b, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (s[i] == '\n') (*line)++;
                sb_putc(&b, s[i++]);
            }
        }
        /* unquoted part (or what follows a closing quote) up to tab or line end */
        while (i < n && s[i] != '\t' && s[i] != '\n' &&
               !(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))
            sb_putc(&b, s[i++]);
        if (*nfields == cap) cap = cap ? 2 * cap : 16, f = hl_realloc(f, cap * sizeof *f);
        f[(*nfields)++] = sb_take(&b);
        if (i < n && s[i] == '\t') {
            i++;
            continue;
        }
        if (i < n) i += s[i] == '\r' ? 2 : 1, (*line)++;
        break;
    }
    *pos = i;
    return f;
}

TsvTable *tsv_read(const char *path) {
    size_t n, pos = 0, nf;
    char *s = read_all(path, &n);
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) pos = 3;
    TsvTable *t = hl_calloc(1, sizeof *t);
    t->path = hl_strdup(path);
    long line = 1;
    t->cols = parse_record(path, s, n, &pos, &line, &t->ncols);
    if (!t->cols) hl_fail("%s: empty file (no header row)", path);
    size_t cap = 0;
    for (;;) {
        long start = line;
        char **f = parse_record(path, s, n, &pos, &line, &nf);
        if (!f) break;
        /* skip_blank_lines: parse_record skipped them; a record starting after them
         * begins on the current line */
        if (nf > t->ncols) hl_fail("%s:%ld: %zu fields, header has %zu", path, start, nf, t->ncols);
        if (nf < t->ncols) {
            f = hl_realloc(f, t->ncols * sizeof *f);
            for (size_t c = nf; c < t->ncols; c++) f[c] = hl_strdup("");
        }
        if (t->nrows == cap) {
            cap = cap ? 2 * cap : 64;
            t->rows = hl_realloc(t->rows, cap * sizeof *t->rows);
            t->lines = hl_realloc(t->lines, cap * sizeof *t->lines);
        }
        t->lines[t->nrows] = start;
        t->rows[t->nrows++] = f;
    }
    free(s);
    return t;
}

int tsv_col(const TsvTable *t, const char *name) {
    for (size_t c = 0; c < t->ncols; c++)
        if (!strcmp(t->cols[c], name)) return (int)c;
    return -1;
}

void tsv_free(TsvTable *t) {
    if (!t) return;
    for (size_t r = 0; r < t->nrows; r++) strv_free(t->rows[r], t->ncols);
    strv_free(t->cols, t->ncols);
    free(t->rows);
    free(t->lines);
    free(t->path);
    free(t);
}

int tsv_is_na(const char *cell) {
    static const char *const na[] = {"",         "#N/A", "#N/A N/A", "#NA",    "-1.#IND",
                                     "-1.#QNAN", "-NaN", "-nan",     "1.#IND", "1.#QNAN",
                                     "<NA>",     "N/A",  "NA",       "NULL",   "NaN",
                                     "None",     "n/a",  "nan",      "null"};
    for (size_t i = 0; i < sizeof na / sizeof na[0]; i++)
        if (!strcmp(cell, na[i])) return 1;
    return 0;
}
