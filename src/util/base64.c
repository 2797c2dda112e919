#include "util/base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

unsigned char *base64_decode(const char *s, size_t *n) {
    size_t len = strlen(s), k = 0, pads = 0;
    unsigned char *out = hl_malloc(len / 4 * 3 + 4);
    uint32_t acc = 0;
    int bits = 0, quad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=') {
            pads++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0) continue;
        if (pads) break; /* data after padding: stop as binascii does at a complete quad */
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        quad++;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* a dangling quad needs its padding: 2 chars + "==" or 3 chars + "=" */
    int rem = quad % 4;
    if (rem == 1 || (rem == 2 && pads < 2) || (rem == 3 && pads < 1)) {
        free(out);
        return NULL;
    }
    *n = k;
    return out;
}
