#include "io/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"

/* numpy.lib.format: the data starts at a multiple of ARRAY_ALIGN, and the
 * header leaves room for the first axis to grow to this many digits. */
#define NPY_ALIGN 64
#define NPY_GROWTH_DIGITS 21
#define NPY_PREAMBLE 10 /* magic (6) + version (2) + header length (2) */

size_t npy_header_f32(const int64_t *shape, int ndim, char *buf, size_t cap) {
    CHECK(ndim >= 0 && ndim <= 8 && cap >= 512);
    char dict[400];
    int o = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        o += snprintf(dict + o, sizeof dict - (size_t)o, "%s%lld", i ? ", " : "",
                      (long long)shape[i]);
    /* Python's repr of a 1-tuple keeps its comma: (5,) */
    o += snprintf(dict + o, sizeof dict - (size_t)o, "%s), }", ndim == 1 ? "," : "");
    if (ndim > 0) {
        int digits = snprintf(NULL, 0, "%lld", (long long)shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++) dict[o++] = ' ';
    }
    /* header text + '\n', padded with spaces; numpy pads a full 64 when aligned */
    size_t hlen = (size_t)o + 1;
    size_t pad = NPY_ALIGN - (NPY_PREAMBLE + hlen) % NPY_ALIGN;
    size_t total = NPY_PREAMBLE + hlen + pad;
    CHECK(total <= cap && hlen + pad <= 65535);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((hlen + pad) & 0xff);
    buf[9] = (char)((hlen + pad) >> 8);
    memcpy(buf + NPY_PREAMBLE, dict, (size_t)o);
    memset(buf + NPY_PREAMBLE + o, ' ', pad);
    buf[total - 1] = '\n';
    return total;
}

void npy_f32_to_le(const float *x, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        out[4 * i] = (uint8_t)u, out[4 * i + 1] = (uint8_t)(u >> 8);
        out[4 * i + 2] = (uint8_t)(u >> 16), out[4 * i + 3] = (uint8_t)(u >> 24);
    }
}

void npy_write_f32(const char *path, const float *data, const int64_t *shape, int ndim) {
    char head[512];
    size_t hn = npy_header_f32(shape, ndim, head, sizeof head);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    uint8_t *bytes = hl_malloc(4 * n + 1);
    npy_f32_to_le(data, n, bytes);
    FILE *f = hl_fopen(path, "wb");
    int ok = fwrite(head, 1, hn, f) == hn && fwrite(bytes, 1, 4 * n, f) == 4 * n;
    ok &= fclose(f) == 0;
    free(bytes);
    if (!ok) hl_fail("%s: write failed: %s", path, strerror(errno));
}
