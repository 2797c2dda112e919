/* Fuzz target: the image decoders (JPEG, PNG in every colour type, bit depth,
 * palette and interlacing) and the CLIP preprocessing of what they decode,
 * converted and unconverted (LLaVA's ScienceQA/MMBench path). */
#include "fuzz.h"
#include "io/clip_image.h"
#include "io/image.h"

static void image(const uint8_t *data, size_t size) {
    Image img;
    image_decode(data, size, "fuzz", &img);
    /* LLaVA pads to a square of the longer side: a 20000x1 image is a 400M
     * pixel square, correct but too slow for fuzzing */
    int side = img.w > img.h ? img.w : img.h;
    if (side > 2048) {
        image_free(&img);
        return;
    }
    const double mean[3] = {0.48, 0.46, 0.41}, std[3] = {0.27, 0.26, 0.28};
    float out[3 * 14 * 14];
    clip_preprocess(&img, 14, mean, std, out);
    if (!clip_unconverted_error(&img)) clip_preprocess_unconverted(&img, 14, mean, std, out);
    clip_preprocess_crop(&img, 14, mean, std, out);
    image_free(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FUZZ_TRY(image(data, size));
    return 0;
}
