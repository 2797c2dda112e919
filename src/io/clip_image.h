/* CLIP image preprocessing as LLaVA-1.5 does it (image_aspect_ratio: pad),
 * bit for bit equal to Pillow + transformers' CLIPImageProcessor (4.37.2):
 *
 *   1. expand2square: paste the RGB image centred, at ((s-w)//2, (s-h)//2),
 *      on an s x s square (s = max(w, h)) of colour int(mean * 255);
 *   2. resize the shortest edge to `size` (the longer one to
 *      int(size * long / short)) with Pillow's bicubic (resample.h);
 *   3. centre crop size x size (HF's floor rounding of the offsets);
 *   4. x * (1/255) in float64, cast to float32, then (x - mean) / std in
 *      float32; output float32 CHW [3, size, size].
 *
 * Step 4 is a function of the byte value alone, so it is exact per value;
 * docs/images.md has the details and the checks.
 *
 * ScienceQA and MMBench (model_vqa_science.py, model_vqa_mmbench.py) open
 * the image without convert("RGB"), so step 1 runs in the file's own mode
 * and transformers converts afterwards: clip_preprocess_unconverted. */
#ifndef HL_CLIP_IMAGE_H
#define HL_CLIP_IMAGE_H

#include <stdint.h>

#include "io/image.h"

/* OpenAI CLIP's normalisation (transformers' OPENAI_CLIP_MEAN/STD). */
extern const double CLIP_OPENAI_MEAN[3];
extern const double CLIP_OPENAI_STD[3];

/* LLaVA's pad colour: int(mean[c] * 255) per channel; (122, 116, 104) for
 * CLIP's mean. */
void clip_pad_color(const double mean[3], uint8_t fill[3]);

/* expand2square into a new image `out` (a copy when already square). */
void clip_expand2square(const Image *in, const uint8_t fill[3], Image *out);

/* HF get_resize_output_image_size(default_to_square=False): the shortest
 * edge becomes `shortest`, the other int(shortest * long / short). */
void clip_resize_size(int w, int h, int shortest, int *out_w, int *out_h);

/* HF center_crop to crop_w x crop_h into a new image `out`. An image
 * smaller than the crop is zero-padded the way HF pads it, which for an odd
 * size difference yields one row/column less than asked (out->w/h say). */
void clip_center_crop(const Image *in, int crop_w, int crop_h, Image *out);

/* HF rescale(1/255) + normalize: RGB8 image -> float32 CHW [3, h, w]. */
void clip_normalize(const Image *in, const double mean[3], const double std[3], float *out);

/* The LLaVA-1.5 pipeline (steps 1-4); out: 3 * size * size floats. */
void clip_preprocess(const Image *img, int size, const double mean[3], const double std[3],
                     float *out);

/* CLIPImageProcessor alone (steps 2-4, no padding): what LLaVA does when
 * image_aspect_ratio is not "pad". out: 3 * size * size floats. */
void clip_preprocess_crop(const Image *img, int size, const double mean[3], const double std[3],
                          float *out);

/* LLaVA's sequence for an image opened without convert("RGB"):
 * expand2square in the image's own mode (Pillow's Image.new(mode, (s, s),
 * fill) + paste), then convert("RGB"), into a new image `out` (its rgb, and
 * its mode, native pixels and palette as Pillow holds the padded image).
 * In Pillow 13 that is: RGB and RGBA as clip_expand2square; CMYK pads with
 * (fill, K = 255), which converts to black; P gets a new palette holding
 * only `fill` (index 0) while the pasted indices are kept, so the image
 * shows `fill` where its index is 0 and black elsewhere. A square image is
 * returned as it is (converted). For a non-square "1", "L", "LA" or "I;16"
 * image Image.new raises: returns that error (the text Python prints) and
 * leaves `out` zeroed; NULL otherwise. */
const char *clip_expand2square_unconverted(const Image *in, const uint8_t fill[3], Image *out);

/* The error LLaVA's sequence stops with for this image (see above), or
 * NULL when it processes it. Depends only on the mode and squareness. */
const char *clip_unconverted_error(const Image *img);

/* LLaVA-1.5's pipeline for an image opened without convert("RGB")
 * (ScienceQA, MMBench; EvalItem.image_raw): clip_expand2square_unconverted
 * then steps 2-4. Equals clip_preprocess for RGB, RGBA and square images.
 * Where LLaVA stops with an error (clip_unconverted_error(img) != NULL),
 * this processes the image as clip_preprocess does (convert first, the
 * later LLaVA-derived code's fix); callers that must report it check
 * clip_unconverted_error first. out: 3 * size * size floats. */
void clip_preprocess_unconverted(const Image *img, int size, const double mean[3],
                                 const double std[3], float *out);

#endif
