/* Base64 as Python's base64.b64decode decodes it by default. */
#ifndef HL_BASE64_H
#define HL_BASE64_H

#include <stddef.h>

/* Characters outside the alphabet are skipped. Returns a malloc'd buffer and
 * sets *n; NULL when the padding is wrong. */
unsigned char *base64_decode(const char *s, size_t *n);

#endif
