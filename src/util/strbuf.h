/* A growable NUL-terminated string: the one string builder of the project. */
#ifndef HL_STRBUF_H
#define HL_STRBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *s;  /* NUL-terminated once anything was written */
    size_t n; /* length in bytes */
    size_t cap;
} StrBuf;

void sb_putn(StrBuf *b, const char *s, size_t n);
void sb_puts(StrBuf *b, const char *s);
void sb_putc(StrBuf *b, char c);
void sb_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_put_cp(StrBuf *b, uint32_t cp); /* UTF-8 encoding of one code point */
/* Empties b, keeping its memory. */
void sb_clear(StrBuf *b);
/* Returns the text (never NULL; "" when empty) and leaves b empty. */
char *sb_take(StrBuf *b);
void sb_free(StrBuf *b);

#endif
