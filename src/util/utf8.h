/* UTF-8 decoding with Unicode's well-formedness rules (no overlong forms, no
 * surrogates, nothing above U+10FFFF), shared by the tokenizer and the
 * Python-text helpers. */
#ifndef HL_UTF8_H
#define HL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s (n bytes left); *len = bytes used. Invalid or
 * truncated sequences decode as U+FFFD, as long as their maximal valid prefix
 * (at least one byte), the rule of Python's decode(errors="replace"). */
uint32_t utf8_decode(const char *s, size_t n, size_t *len);
/* Bytes of the well-formed character at s, 0 when s starts none. */
int utf8_char_len(const char *s, size_t n);
int utf8_valid(const char *s, size_t n);
/* s with each ill-formed sequence replaced by U+FFFD, as Python's
 * bytes.decode("utf-8", errors="replace") does (new string). */
char *utf8_sanitize(const char *s);

#endif
