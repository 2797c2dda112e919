/* Image files: JPEG and PNG decoded to 8-bit RGB exactly as Pillow's
 * Image.open(path).convert("RGB") does, the first step of LLaVA's image
 * pipeline (clip_image.h does the rest).
 *
 * JPEG goes through libjpeg(-turbo) with Pillow's settings (accurate integer
 * IDCT, fancy upsampling, the library's own colour conversion); CMYK/YCCK
 * files are read as Adobe-inverted CMYK and converted with Pillow's formula.
 * PNG goes through libpng, read raw and unpacked with Pillow's rules for
 * every bit depth and colour type (grey scaled, palette expanded, alpha
 * dropped without compositing, 16-bit reduced the way Pillow reduces it).
 * EXIF orientation and gamma chunks are ignored, as Pillow ignores them.
 *
 * Every failure (missing, empty, truncated, corrupt, unsupported file) is one
 * hl_fail line that names the file; the libraries never print or exit.
 * docs/images.md lists the rules and the Pillow version they were checked
 * against. */
#ifndef HL_IMAGE_H
#define HL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int w, h;
    uint8_t *rgb; /* h*w*3 bytes, row-major, RGB interleaved */
    char mode[8]; /* Pillow's mode of the file before convert("RGB"):
                     "RGB", "L", "P", "RGBA", "LA", "CMYK", "I;16" or "1";
                     "" for images not made by a decoder */
} Image;

/* Reads and decodes a JPEG or PNG file into *img (overwritten, not freed;
 * release with image_free). hl_fail on any error. */
void image_load(const char *path, Image *img);
/* Decodes a JPEG or PNG held in memory (e.g. a base64 image from a TSV);
 * `name` is what error messages call it. hl_fail on any error. */
void image_decode(const uint8_t *data, size_t n, const char *name, Image *img);
/* Allocates an uninitialised w x h RGB image with an empty mode. */
void image_alloc(Image *img, int w, int h);
/* Frees the pixels and zeroes the struct; safe on a zeroed Image. */
void image_free(Image *img);

/* Pillow's decompression-bomb limit: images of more pixels are refused
 * (Pillow raises DecompressionBombError above 2 * MAX_IMAGE_PIXELS). */
#define IMAGE_MAX_PIXELS 178956970LL

#endif
