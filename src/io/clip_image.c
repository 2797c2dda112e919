/* LLaVA-1.5 / CLIPImageProcessor preprocessing. See clip_image.h. */
#include "io/clip_image.h"

#include <string.h>

#include "io/resample.h"
#include "util/check.h"

const double CLIP_OPENAI_MEAN[3] = {0.48145466, 0.4578275, 0.40821073};
const double CLIP_OPENAI_STD[3] = {0.26862954, 0.26130258, 0.27577711};

void clip_pad_color(const double mean[3], uint8_t fill[3]) {
    for (int c = 0; c < 3; c++) {
        CHECK(mean[c] >= 0.0 && mean[c] <= 1.0);
        fill[c] = (uint8_t)(int)(mean[c] * 255); /* Python int(): truncation */
    }
}

void clip_expand2square(const Image *in, const uint8_t fill[3], Image *out) {
    int s = in->w > in->h ? in->w : in->h;
    image_alloc(out, s, s);
    if (in->w == in->h) {
        memcpy(out->rgb, in->rgb, (size_t)s * (size_t)s * 3);
        return;
    }
    for (size_t i = 0; i < (size_t)s * (size_t)s; i++) memcpy(out->rgb + 3 * i, fill, 3);
    int x0 = (s - in->w) / 2, y0 = (s - in->h) / 2;
    for (int y = 0; y < in->h; y++)
        memcpy(out->rgb + ((size_t)(y + y0) * (size_t)s + (size_t)x0) * 3,
               in->rgb + (size_t)y * (size_t)in->w * 3, (size_t)in->w * 3);
}

void clip_resize_size(int w, int h, int shortest, int *out_w, int *out_h) {
    CHECK(w > 0 && h > 0 && shortest > 0);
    int sh = w <= h ? w : h, lo = w <= h ? h : w;
    /* Python: int(size * long / short); the int product and both operands
     * are exact doubles, so the IEEE quotient equals Python's. */
    double q = (double)((long long)shortest * lo) / (double)sh;
    CHECKF(q < 1 << 30, "resize of a %dx%d image to shortest edge %d is too large", w, h, shortest);
    int nl = (int)q;
    if (w <= h) {
        *out_w = shortest;
        *out_h = nl;
    } else {
        *out_w = nl;
        *out_h = shortest;
    }
}

static int floordiv(int a, int b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* One axis of HF center_crop: source size n, crop c -> first output index
 * in the (zero-padded) source coordinates and the output length. */
static void crop_axis(int n, int c, int *first, int *len) {
    int top = floordiv(n - c, 2);
    if (top >= 0 && top + c <= n) { /* fits: a plain slice */
        *first = top;
        *len = c;
        return;
    }
    /* HF pads to max(n, c) with the image at (new - n) // 2, shifts the
     * window by that and clips it to the padded frame: for an odd
     * difference the result is one shorter than the crop. */
    int nn = n > c ? n : c, pad = (nn - n) / 2;
    int t = top + pad, b = t + c;
    int s = t > 0 ? t : 0, e = b < nn ? b : nn;
    *first = s - pad;
    *len = e - s;
}

void clip_center_crop(const Image *in, int crop_w, int crop_h, Image *out) {
    CHECK(crop_w > 0 && crop_h > 0);
    /* HF image_transforms.center_crop (4.37.2), axis by axis; pixels of the
     * window outside the source are the zero padding. */
    int y0, oh, x0, ow;
    crop_axis(in->h, crop_h, &y0, &oh);
    crop_axis(in->w, crop_w, &x0, &ow);
    image_alloc(out, ow, oh);
    memset(out->rgb, 0, (size_t)ow * (size_t)oh * 3);
    for (int y = 0; y < oh; y++) {
        int sy = y + y0;
        if (sy < 0 || sy >= in->h) continue;
        for (int x = 0; x < ow; x++) {
            int sx = x + x0;
            if (sx < 0 || sx >= in->w) continue;
            memcpy(out->rgb + ((size_t)y * (size_t)ow + (size_t)x) * 3,
                   in->rgb + ((size_t)sy * (size_t)in->w + (size_t)sx) * 3, 3);
        }
    }
}

void clip_normalize(const Image *in, const double mean[3], const double std[3], float *out) {
    /* rescale: uint8 * (1/255) in float64 (numpy promotes to the Python
     * float), then astype(float32); normalize: float32 (x - mean) / std with
     * mean and std cast to float32. Exact per byte value, so a table. */
    float lut[3][256];
    for (int c = 0; c < 3; c++) {
        float m = (float)mean[c], s = (float)std[c];
        for (int v = 0; v < 256; v++) {
            float x = (float)((double)v * (1.0 / 255));
            lut[c][v] = (x - m) / s;
        }
    }
    size_t plane = (size_t)in->w * (size_t)in->h;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) out[(size_t)c * plane + i] = lut[c][in->rgb[3 * i + (size_t)c]];
}

/* Steps 2-4 on an RGB image. */
static void resize_crop_normalize(const Image *img, int size, const double mean[3],
                                  const double std[3], float *out) {
    int rw, rh;
    clip_resize_size(img->w, img->h, size, &rw, &rh);
    Image r, c;
    image_alloc(&r, rw, rh);
    resample_u8(img->rgb, img->w, img->h, 3, r.rgb, rw, rh, RESAMPLE_BICUBIC);
    clip_center_crop(&r, size, size, &c);
    CHECK(c.w == size && c.h == size); /* the resized image covers the crop */
    clip_normalize(&c, mean, std, out);
    image_free(&r);
    image_free(&c);
}

void clip_preprocess(const Image *img, int size, const double mean[3], const double std[3],
                     float *out) {
    CHECK(img->rgb && img->w > 0 && img->h > 0 && size > 0);
    uint8_t fill[3];
    clip_pad_color(mean, fill);
    Image sq;
    clip_expand2square(img, fill, &sq);
    resize_crop_normalize(&sq, size, mean, std, out);
    image_free(&sq);
}

const char *clip_unconverted_error(const Image *img) {
    if (img->w == img->h) return NULL; /* expand2square returns the image itself */
    /* Image.new(mode, size, 3-tuple): Pillow's getink takes a tuple of one
     * element for single-band modes, of one or two for LA, and raises */
    const char *m = img->mode;
    if (!strcmp(m, "1") || !strcmp(m, "L") || !strcmp(m, "I;16"))
        return "TypeError: color must be int or single-element tuple";
    if (!strcmp(m, "LA")) return "TypeError: color must be int, or tuple of one or two elements";
    return NULL;
}

/* A copy of the pixels, native ones included. */
static void image_copy(const Image *in, Image *out) {
    image_alloc(out, in->w, in->h);
    size_t n = (size_t)in->w * (size_t)in->h;
    memcpy(out->rgb, in->rgb, n * 3);
    memcpy(out->mode, in->mode, sizeof out->mode);
    if (in->native) {
        size_t bytes = n * (size_t)image_native_bpp(in->mode);
        out->native = hl_malloc(bytes);
        memcpy(out->native, in->native, bytes);
    }
    out->palette_size = in->palette_size;
    memcpy(out->palette, in->palette, sizeof out->palette);
}

const char *clip_expand2square_unconverted(const Image *in, const uint8_t fill[3], Image *out) {
    CHECK(in->rgb && in->w > 0 && in->h > 0);
    memset(out, 0, sizeof *out);
    const char *err = clip_unconverted_error(in);
    if (err) return err;
    if (in->w == in->h) {
        image_copy(in, out);
        return NULL;
    }
    if (!in->native) { /* RGB: the native pixels are the RGB ones */
        clip_expand2square(in, fill, out);
        memcpy(out->mode, in->mode, sizeof out->mode);
        return NULL;
    }
    int s = in->w > in->h ? in->w : in->h, bpp = image_native_bpp(in->mode);
    /* Image.new's ink: "P" gets a new palette holding only the colour, at
     * index 0 (ImagePalette.getcolor); a 4-band mode takes the 3-tuple with
     * the fourth band 255 (alpha for RGBA, K for CMYK). */
    uint8_t ink[4] = {0, 0, 0, 255};
    image_alloc(out, s, s);
    memcpy(out->mode, in->mode, sizeof out->mode);
    if (!strcmp(in->mode, "P")) {
        memcpy(out->palette[0], fill, 3);
        out->palette_size = 1;
    } else {
        CHECKF(bpp == 4, "expand2square in mode '%s'", in->mode);
        memcpy(ink, fill, 3);
    }
    size_t npx = (size_t)s * (size_t)s, row = (size_t)in->w * (size_t)bpp;
    out->native = hl_malloc(npx * (size_t)bpp);
    for (size_t i = 0; i < npx; i++) memcpy(out->native + i * (size_t)bpp, ink, (size_t)bpp);
    /* paste: same mode, no mask, so the samples (palette indices too) are
     * copied as they are; the source palette is not looked at */
    int x0 = (s - in->w) / 2, y0 = (s - in->h) / 2;
    for (int y = 0; y < in->h; y++)
        memcpy(out->native + ((size_t)(y + y0) * (size_t)s + (size_t)x0) * (size_t)bpp,
               in->native + (size_t)y * row, row);
    image_native_to_rgb(out->mode, out->native, npx, (const uint8_t(*)[3])out->palette, out->rgb);
    return NULL;
}

void clip_preprocess_unconverted(const Image *img, int size, const double mean[3],
                                 const double std[3], float *out) {
    CHECK(img->rgb && img->w > 0 && img->h > 0 && size > 0);
    uint8_t fill[3];
    clip_pad_color(mean, fill);
    Image sq;
    if (clip_expand2square_unconverted(img, fill, &sq)) {
        clip_preprocess(img, size, mean, std, out); /* LLaVA stops here; see the header */
        return;
    }
    resize_crop_normalize(&sq, size, mean, std, out);
    image_free(&sq);
}

void clip_preprocess_crop(const Image *img, int size, const double mean[3], const double std[3],
                          float *out) {
    CHECK(img->rgb && img->w > 0 && img->h > 0 && size > 0);
    resize_crop_normalize(img, size, mean, std, out);
}
