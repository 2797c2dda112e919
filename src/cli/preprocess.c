/* hyperllava preprocess: the pixel tensor exactly as it enters the vision
 * tower, to hold against LLaVA's process_images (image_aspect_ratio pad):
 * a .npy file for numpy and a SHA-256 of its float32 bytes for a quick check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "model/llava.h"
#include "io/npy.h"
#include "util/check.h"
#include "util/sha256.h"

static const char *help =
    "usage: hyperllava preprocess --model FILE --image IMG [--out PIXELS.npy]\n"
    "Decodes an image and preprocesses it as generate does before the vision tower\n"
    "(pad to a square with the mean colour, bicubic resize, centre crop, normalise with\n"
    "the model's image size, mean and std).\n"
    "  --model FILE      HDF5 weight file (only its configuration is read)\n"
    "  --image IMG       JPEG or PNG file\n"
    "  --out FILE.npy    write the float32 [3, S, S] tensor as a NumPy .npy file\n"
    "Output: the decoded size and Pillow mode of the image, the tensor's shape and the\n"
    "SHA-256 of its little-endian float32 bytes (C order), e.g.\n"
    "  image: 640x480 RGB\n"
    "  tensor: float32 [3, 336, 336]\n"
    "  sha256: 3f1c...\n";

int cmd_preprocess(int argc, char **argv) {
    const char *C = "preprocess";
    const char *model = NULL, *image = NULL, *out = NULL;
    const Opt opts[] = {{"--model", OPT_STR, &model, 0, NULL},
                        {"--image", OPT_STR, &image, 0, NULL},
                        {"--out", OPT_STR, &out, 0, NULL},
                        {0}};
    args_parse(&(ArgsCmd){.name = C, .help = help}, opts, argc, argv);
    if (!model) hl_fail("preprocess: no --model given");
    if (!image) hl_fail("preprocess: no --image given");

    ModelConfig c;
    model_config_load(model, &c);
    const int S = c.image_size;
    const size_t n = (size_t)3 * S * S;
    float *pix = hl_malloc(n * sizeof(float));
    ImageInfo img; /* what generate feeds the vision tower */
    llava_pixels(&c, &(ImageRef){.path = image}, pix, &img);

    uint8_t *bytes = hl_malloc(4 * n);
    npy_f32_to_le(pix, n, bytes);
    char hex[65];
    sha256_hex(bytes, 4 * n, hex);
    if (out) {
        int64_t shape[3] = {3, S, S};
        npy_write_f32(out, pix, shape, 3);
    }
    printf("image: %dx%d %s\n", img.w, img.h, img.mode[0] ? img.mode : "?");
    printf("tensor: float32 [3, %d, %d]\n", S, S);
    printf("sha256: %s\n", hex);
    if (out) printf("wrote: %s\n", out);
    free(bytes), free(pix);
    return 0;
}
