/* Pillow-exact 8-bit resampling. See resample.h; the comments name the
 * libImaging function each step reproduces. */
#include "io/resample.h"

#include <math.h>
#include <string.h>

#include "util/check.h"

/* 32 bits of accumulator: 8 for the value, 2 of headroom for filters with
 * negative lobes, the rest fraction. */
#define PRECISION_BITS (32 - 8 - 2)

static double bilinear_filter(double x) {
    if (x < 0.0) x = -x;
    if (x < 1.0) return 1.0 - x;
    return 0.0;
}

/* Keys cubic convolution with a = -0.5, written in Pillow's operation order. */
static double bicubic_filter(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

typedef struct {
    int ksize;      /* coefficients per output pixel */
    int *bounds;    /* per output pixel: first source index, count */
    int32_t *coefs; /* per output pixel: ksize fixed-point weights */
} Coefs;

/* precompute_coeffs + normalize_coeffs_8bpc for box (0, in_size). The box
 * edges are floats in Pillow; 0 and in_size are exact in float. */
static void coefs_make(Coefs *c, int in_size, int out_size, ResampleFilter filter) {
    double (*fn)(double) = filter == RESAMPLE_BICUBIC ? bicubic_filter : bilinear_filter;
    double base_support = filter == RESAMPLE_BICUBIC ? 2.0 : 1.0;
    float in0 = 0.0f, in1 = (float)in_size;
    double scale = (double)(in1 - in0) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = base_support * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *k = hl_malloc(sizeof(double) * (size_t)ksize);
    c->ksize = ksize;
    c->bounds = hl_malloc(sizeof(int) * 2 * (size_t)out_size);
    c->coefs = hl_malloc(sizeof(int32_t) * (size_t)ksize * (size_t)out_size);
    double inv_filterscale = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0;
        int xmin = (int)(center - support + 0.5); /* truncation, as Pillow */
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        int x = 0;
        for (; x < xmax; x++) {
            double w = fn((x + xmin - center + 0.5) * inv_filterscale);
            k[x] = w;
            ww += w;
        }
        if (ww != 0.0)
            for (x = 0; x < xmax; x++) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0;
        int32_t *o = c->coefs + (size_t)xx * (size_t)ksize;
        for (x = 0; x < ksize; x++)
            o[x] = k[x] < 0 ? (int32_t)(-0.5 + k[x] * (1 << PRECISION_BITS))
                            : (int32_t)(0.5 + k[x] * (1 << PRECISION_BITS));
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    free(k);
}

static void coefs_free(Coefs *c) {
    free(c->bounds);
    free(c->coefs);
}

/* clip8: the accumulator's integer part clamped to 0..255 (Pillow's lookup
 * table covers -640..639, all an accumulator of these filters reaches). */
static inline uint8_t clip8(int32_t ss) {
    if (ss < 0) return 0;
    ss >>= PRECISION_BITS;
    return (uint8_t)(ss > 255 ? 255 : ss);
}

/* _ImagingResampleHorizontal_8bpc over source rows [y0, y0 + rows). */
static void pass_horizontal(const uint8_t *in, int in_w, int y0, int rows, int ch, uint8_t *out,
                            int out_w, const Coefs *c) {
    for (int yy = 0; yy < rows; yy++) {
        const uint8_t *line = in + (size_t)(yy + y0) * (size_t)in_w * (size_t)ch;
        uint8_t *o = out + (size_t)yy * (size_t)out_w * (size_t)ch;
        for (int xx = 0; xx < out_w; xx++) {
            int xmin = c->bounds[2 * xx], xmax = c->bounds[2 * xx + 1];
            const int32_t *k = c->coefs + (size_t)xx * (size_t)c->ksize;
            const uint8_t *src = line + (size_t)xmin * (size_t)ch;
            if (ch == 3) { /* the common case, unrolled */
                int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                for (int x = 0; x < xmax; x++, src += 3) {
                    s0 += src[0] * k[x];
                    s1 += src[1] * k[x];
                    s2 += src[2] * k[x];
                }
                o[3 * xx] = clip8(s0);
                o[3 * xx + 1] = clip8(s1);
                o[3 * xx + 2] = clip8(s2);
                continue;
            }
            int32_t ss[4];
            for (int b = 0; b < ch; b++) ss[b] = 1 << (PRECISION_BITS - 1);
            for (int x = 0; x < xmax; x++, src += ch)
                for (int b = 0; b < ch; b++) ss[b] += src[b] * k[x];
            for (int b = 0; b < ch; b++) o[xx * ch + b] = clip8(ss[b]);
        }
    }
}

/* _ImagingResampleVertical_8bpc; y_shift is subtracted from the bounds
 * when the input holds only the rows from y_shift on. Pillow sums each
 * pixel's column in turn; summing whole rows into an accumulator row adds
 * the same integer products, so the result is identical. */
static void pass_vertical(const uint8_t *in, int w, int ch, uint8_t *out, int out_h, int y_shift,
                          const Coefs *c) {
    size_t stride = (size_t)w * (size_t)ch;
    int32_t *acc = hl_malloc(sizeof(int32_t) * stride);
    for (int yy = 0; yy < out_h; yy++) {
        int ymin = c->bounds[2 * yy] - y_shift, ymax = c->bounds[2 * yy + 1];
        const int32_t *k = c->coefs + (size_t)yy * (size_t)c->ksize;
        for (size_t i = 0; i < stride; i++) acc[i] = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < ymax; y++) {
            const uint8_t *row = in + (size_t)(y + ymin) * stride;
            int32_t ky = k[y];
            for (size_t i = 0; i < stride; i++) acc[i] += row[i] * ky;
        }
        uint8_t *o = out + (size_t)yy * stride;
        for (size_t i = 0; i < stride; i++) o[i] = clip8(acc[i]);
    }
    free(acc);
}

/* ImagingScaleAffine with a = (in/out, 0, 0, 0, in/out, 0): the source
 * coordinate starts at half a step and is accumulated, not recomputed. */
static void resample_nearest(const uint8_t *in, int in_w, int in_h, int ch, uint8_t *out, int out_w,
                             int out_h) {
    double ax = (double)(float)in_w / out_w, ay = (double)(float)in_h / out_h;
    int *xin = hl_malloc(sizeof(int) * (size_t)out_w);
    double xo = 0.0 + ax * 0.5;
    for (int x = 0; x < out_w; x++) {
        int xi = xo < 0.0 ? -1 : (int)xo;
        xin[x] = xi < in_w ? xi : -1;
        xo += ax;
    }
    double yo = 0.0 + ay * 0.5;
    for (int y = 0; y < out_h; y++) {
        int yi = yo < 0.0 ? -1 : (int)yo;
        uint8_t *o = out + (size_t)y * (size_t)out_w * (size_t)ch;
        for (int x = 0; x < out_w; x++) {
            if (yi >= 0 && yi < in_h && xin[x] >= 0)
                memcpy(o + x * ch, in + ((size_t)yi * (size_t)in_w + (size_t)xin[x]) * (size_t)ch,
                       (size_t)ch);
            else
                memset(o + x * ch, 0, (size_t)ch); /* Pillow's fill for outside */
        }
        yo += ay;
    }
    free(xin);
}

void resample_u8(const uint8_t *in, int in_w, int in_h, int ch, uint8_t *out, int out_w, int out_h,
                 ResampleFilter filter) {
    CHECK(in_w > 0 && in_h > 0 && out_w > 0 && out_h > 0 && ch >= 1 && ch <= 4);
    CHECK(filter == RESAMPLE_NEAREST || filter == RESAMPLE_BILINEAR || filter == RESAMPLE_BICUBIC);
    if (in_w == out_w && in_h == out_h) { /* Image.resize returns a copy */
        memcpy(out, in, (size_t)in_w * (size_t)in_h * (size_t)ch);
        return;
    }
    if (filter == RESAMPLE_NEAREST) {
        resample_nearest(in, in_w, in_h, ch, out, out_w, out_h);
        return;
    }
    int need_h = out_w != in_w, need_v = out_h != in_h;
    Coefs cv = {0, NULL, NULL}, chz = {0, NULL, NULL};
    if (need_v) coefs_make(&cv, in_h, out_h, filter);
    if (need_h) coefs_make(&chz, in_w, out_w, filter);
    if (need_h && need_v && out_h < in_h && in_h - out_h > 2 * (in_w - out_w)) {
        /* Pillow 13: when the height shrinks by more than twice as many
         * pixels as the width, the vertical pass runs first. */
        uint8_t *tmp = hl_malloc((size_t)in_w * (size_t)out_h * (size_t)ch);
        pass_vertical(in, in_w, ch, tmp, out_h, 0, &cv);
        pass_horizontal(tmp, in_w, 0, out_h, ch, out, out_w, &chz);
        free(tmp);
    } else if (need_h && need_v) {
        /* Only the source rows some output row reads go through the
         * horizontal pass (with a full box that is every row). */
        int y_first = cv.bounds[0];
        int y_last = cv.bounds[2 * out_h - 2] + cv.bounds[2 * out_h - 1];
        uint8_t *tmp = hl_malloc((size_t)out_w * (size_t)(y_last - y_first) * (size_t)ch);
        pass_horizontal(in, in_w, y_first, y_last - y_first, ch, tmp, out_w, &chz);
        pass_vertical(tmp, out_w, ch, out, out_h, y_first, &cv);
        free(tmp);
    } else if (need_h) {
        pass_horizontal(in, in_w, 0, in_h, ch, out, out_w, &chz);
    } else {
        pass_vertical(in, in_w, ch, out, out_h, 0, &cv);
    }
    if (need_v) coefs_free(&cv);
    if (need_h) coefs_free(&chz);
}
