#include "util/utf8.h"

#include <string.h>

#include "util/check.h"
#include "util/strbuf.h"

/* The code point at s, or U+FFFD with *ok = 0 for an ill-formed sequence. */
static uint32_t decode(const char *s, size_t n, size_t *len, int *ok) {
    const unsigned char *u = (const unsigned char *)s;
    *len = 1, *ok = 0;
    if (n == 0) return 0xFFFD;
    if (u[0] < 0x80) {
        *ok = 1;
        return u[0];
    }
    /* expected length and the range of the second byte (no overlongs, no surrogates) */
    int k;
    unsigned char lo = 0x80, hi = 0xBF;
    uint32_t cp;
    if (u[0] >= 0xC2 && u[0] <= 0xDF)
        k = 1, cp = u[0] & 0x1F;
    else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        k = 2, cp = u[0] & 0x0F;
        if (u[0] == 0xE0) lo = 0xA0;
        if (u[0] == 0xED) hi = 0x9F;
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        k = 3, cp = u[0] & 0x07;
        if (u[0] == 0xF0) lo = 0x90;
        if (u[0] == 0xF4) hi = 0x8F;
    } else {
        return 0xFFFD;
    }
    /* an ill-formed sequence is replaced as a whole up to its longest valid prefix
     * (the "maximal subpart" rule Python's decode(errors="replace") follows) */
    for (int i = 1; i <= k; i++) {
        unsigned char a = i == 1 ? lo : 0x80, b = i == 1 ? hi : 0xBF;
        if ((size_t)i >= n || u[i] < a || u[i] > b) {
            *len = (size_t)i;
            return 0xFFFD;
        }
        cp = (cp << 6) | (u[i] & 0x3F);
    }
    *len = (size_t)k + 1, *ok = 1;
    return cp;
}

uint32_t utf8_decode(const char *s, size_t n, size_t *len) {
    int ok;
    return decode(s, n, len, &ok);
}

int utf8_char_len(const char *s, size_t n) {
    size_t len;
    int ok;
    decode(s, n, &len, &ok);
    return ok ? (int)len : 0;
}

char *utf8_sanitize(const char *s) {
    size_t n = strlen(s), i = 0, len;
    if (utf8_valid(s, n)) return hl_strdup(s);
    StrBuf b = {0};
    while (i < n) {
        int ok;
        decode(s + i, n - i, &len, &ok);
        if (!ok)
            sb_put_cp(&b, 0xFFFD);
        else
            sb_putn(&b, s + i, len);
        i += len;
    }
    return sb_take(&b);
}

int utf8_valid(const char *s, size_t n) {
    size_t i = 0, len;
    while (i < n) {
        int ok;
        decode(s + i, n - i, &len, &ok);
        if (!ok) return 0;
        i += len;
    }
    return 1;
}
