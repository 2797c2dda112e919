#include "util/dtype.h"

#include <string.h>

const char *dtype_name(Dtype t) {
    return t == DT_F32 ? "f32" : t == DT_F16 ? "f16" : "bf16";
}

int dtype_parse(const char *s, Dtype *t) {
    if (!strcmp(s, "f32"))
        *t = DT_F32;
    else if (!strcmp(s, "f16"))
        *t = DT_F16;
    else if (!strcmp(s, "bf16"))
        *t = DT_BF16;
    else
        return -1;
    return 0;
}

float hl_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0)
            bits = sign;
        else { /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31)
        bits = sign | 0x7f800000u | (man << 13);
    else
        bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float hl_bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t hl_float_to_bf16(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40); /* quiet NaN */
    b += 0x7fffu + ((b >> 16) & 1);                                           /* nearest even */
    return (uint16_t)(b >> 16);
}

uint16_t hl_float_to_half(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t sign = (b >> 16) & 0x8000, a = b & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00);  /* NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to inf */
    if (a < 0x38800000u) {                          /* subnormal half (or zero): units of 2^-24 */
        if (a < 0x33000000u) return (uint16_t)sign; /* below half the smallest subnormal */
        uint32_t man = (a & 0x7fffff) | 0x800000, e = a >> 23; /* value = man * 2^(e-150) */
        uint32_t shift = 126 - e;                              /* to units of 2^-24 */
        uint32_t q = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t q = ((a >> 13) - (112u << 10)), rem = a & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return (uint16_t)(sign | q);
}
