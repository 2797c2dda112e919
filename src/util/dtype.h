/* The element types a tensor can be stored and held in, and the exact
 * conversions between them. Widening (f16/bf16 -> f32) is exact; narrowing
 * rounds to nearest, ties to even, as PyTorch's .to(dtype) does. */
#ifndef HL_DTYPE_H
#define HL_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { DT_F32, DT_F16, DT_BF16 } Dtype;

static inline size_t dtype_size(Dtype t) {
    return t == DT_F32 ? 4 : 2;
}
const char *dtype_name(Dtype t);
/* "f32", "f16", "bf16" -> 0 and *t set; -1 for anything else. */
int dtype_parse(const char *s, Dtype *t);

float hl_half_to_float(uint16_t h);
float hl_bf16_to_float(uint16_t h);
uint16_t hl_float_to_half(float f);
uint16_t hl_float_to_bf16(float f);

/* Element i of an array of type t, widened to float. */
static inline float dtype_get(const void *p, Dtype t, size_t i) {
    if (t == DT_F32) return ((const float *)p)[i];
    uint16_t h = ((const uint16_t *)p)[i];
    return t == DT_BF16 ? hl_bf16_to_float(h) : hl_half_to_float(h);
}
/* Stores v (rounded to t) as element i. */
static inline void dtype_put(void *p, Dtype t, size_t i, float v) {
    if (t == DT_F32)
        ((float *)p)[i] = v;
    else
        ((uint16_t *)p)[i] = t == DT_BF16 ? hl_float_to_bf16(v) : hl_float_to_half(v);
}

#endif
