/* Python str semantics on UTF-8 strings.
 *
 * The official scoring scripts are Python; their rules lean on str methods whose
 * meaning is Unicode-wide: lower(), strip() and split() with no argument (Unicode
 * whitespace), slicing by code point, and re's \d (any decimal digit, category Nd).
 * These helpers give the same results on UTF-8 text, so a scorer written with them
 * matches the script character for character. The Unicode facts come from a table
 * generated from Python (pytext_tables.c). One known gap: Python lowers a capital
 * sigma to a final sigma at the end of a word; here it always becomes σ.
 * The string buffer (util/strbuf.h) and UTF-8 decoding (util/utf8.h) come with it. */
#ifndef HL_PYTEXT_H
#define HL_PYTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"
#include "util/utf8.h"

size_t py_len(const char *s); /* len(s): code points */

int py_isspace(uint32_t cp); /* str.isspace() for one character */
int py_isdigit(uint32_t cp); /* re's \d */
uint32_t py_lower_cp(uint32_t cp);

/* All return new strings (free()). */
char *py_lower(const char *s);                                               /* s.lower() */
char *py_strip(const char *s);                                               /* s.strip() */
char *py_strip_chars(const char *s, const char *chars, int left, int right); /* s.strip(chars) */
char *py_slice(const char *s, size_t start, size_t stop);                    /* s[start:stop] */
char *str_replace(const char *s, const char *from, const char *to);          /* s.replace(a, b) */
char *str_join(char *const *v, size_t n, const char *sep);                   /* sep.join(v) */

/* s.split() (Unicode whitespace, no empty parts) and s.split(sep) (sep non-empty,
 * keeps empty parts). Return a malloc'd array of *n new strings. */
char **py_split_ws(const char *s, size_t *n);
char **str_split(const char *s, const char *sep, size_t *n);
void strv_free(char **v, size_t n);
int strv_contains(char *const *v, size_t n, const char *s); /* s in v */

int str_startswith(const char *s, const char *prefix);
int str_endswith(const char *s, const char *suffix);

/* Tables (pytext_tables.c, generated). */
typedef struct {
    uint32_t first, last;
    int32_t delta; /* lower = cp + delta */
    int32_t step;  /* 1: every code point in [first, last]; 2: every other one */
} PyLowerRun;
extern const PyLowerRun py_lower_runs[];
extern const int py_lower_nruns;
extern const uint32_t py_digit_ranges[][2];
extern const int py_digit_nranges;

#endif
