/* Pillow's Image.resize on 8-bit images, bit for bit.
 *
 * Reproduces Image.resize((out_w, out_h), filter) with box=None and
 * reducing_gap=None (what Hugging Face's image processors call) for images
 * whose channels Pillow treats independently (L, RGB, CMYK; Pillow
 * premultiplies RGBA/LA by alpha first, which this does not do).
 *
 * BILINEAR/BICUBIC follow libImaging/Resample.c: per output pixel a window
 * of support * max(1, in/out) source pixels, weights from the filter (Keys
 * cubic a = -0.5 for BICUBIC) normalised to sum 1 and rounded to 22-bit
 * fixed point; a horizontal pass over only the source rows the vertical
 * pass needs, rounded and clipped to uint8, then the vertical pass -- or,
 * as Pillow 13 does when the height loses more than twice as many pixels
 * as the width (in_h - out_h > 2 * (in_w - out_w), out_h < in_h), the
 * vertical pass first. A pass whose size does not change is skipped; equal
 * sizes copy. Square-to-square resizes (LLaVA's) are horizontal-first in
 * every Pillow version. NEAREST follows
 * Pillow's affine scaler (libImaging/Geometry.c), including its accumulated
 * source coordinate.
 *
 * Pure: no I/O, no errors but CHECK on the arguments. */
#ifndef HL_RESAMPLE_H
#define HL_RESAMPLE_H

#include <stdint.h>

/* Values are Pillow's Image.Resampling numbers. */
typedef enum {
    RESAMPLE_NEAREST = 0,
    RESAMPLE_BILINEAR = 2,
    RESAMPLE_BICUBIC = 3,
} ResampleFilter;

/* in: in_h rows of in_w pixels of `channels` (1..4) interleaved bytes;
 * out: out_h * out_w * channels bytes, not overlapping in. */
void resample_u8(const uint8_t *in, int in_w, int in_h, int channels, uint8_t *out, int out_w,
                 int out_h, ResampleFilter filter);

#endif
