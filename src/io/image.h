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
 * Decoding unpacks into Pillow's own form of the pixels first (its mode,
 * samples and palette, kept in the Image for LLaVA's paths that pad before
 * converting) and converts that to RGB as Pillow's convert("RGB") does.
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
    /* The pixels as Pillow holds them before convert("RGB"), in the order
     * numpy.asarray(Image.open(f)) gives them, image_native_bpp(mode) bytes
     * per pixel: "1" one byte 0 or 255, "L" grey, "P" palette index, "LA"
     * grey and alpha, "I;16" little-endian uint16, "RGBA" and "CMYK" four
     * bytes. NULL when mode is "RGB" or "" (rgb is then the native data).
     * LLaVA's unconverted path (clip_image.h) pads in this form. */
    uint8_t *native;
    /* Mode "P": Pillow's palette, palette_size entries (the PLTE's); the
     * other entries stay black, which is what Pillow shows for indices past
     * the palette. 0 for other modes. */
    int palette_size;
    uint8_t palette[256][3];
} Image;

/* Reads and decodes a JPEG or PNG file into *img (overwritten, not freed;
 * release with image_free). hl_fail on any error. */
void image_load(const char *path, Image *img);
/* Decodes a JPEG or PNG held in memory (e.g. a base64 image from a TSV);
 * `name` is what error messages call it. hl_fail on any error. */
void image_decode(const uint8_t *data, size_t n, const char *name, Image *img);
/* Where an image comes from: a file, or encoded bytes in memory (MMBench's
 * base64 TSV cells) with the name errors call them by. raw: LLaVA pads the
 * image before converting it to RGB (ScienceQA, MMBench; clip_image.h). */
typedef struct {
    const char *path;
    const uint8_t *data;
    size_t size;
    const char *name;
    int raw;
} ImageRef;

static inline int image_ref_given(const ImageRef *r) {
    return r->path || r->data;
}
/* image_load or image_decode, whichever the reference names. */
void image_ref_load(const ImageRef *r, Image *img);

/* Allocates an uninitialised w x h RGB image with an empty mode and no
 * native pixels. */
void image_alloc(Image *img, int w, int h);
/* Frees the pixels (RGB and native) and zeroes the struct; safe on a zeroed
 * Image. */
void image_free(Image *img);

/* Bytes per pixel of a mode's native pixels (see Image.native): 1 for "1",
 * "L", "P"; 2 for "LA", "I;16"; 3 for "RGB" and ""; 4 for "RGBA", "CMYK";
 * 0 for any other mode. */
int image_native_bpp(const char *mode);
/* The native pixels of img: img->native, or img->rgb for RGB images. */
const uint8_t *image_native(const Image *img);
/* Pillow's convert("RGB") of n native pixels of `mode` (Convert.c): grey
 * modes replicated ("I;16" saturating at 255), alpha dropped without
 * compositing, "P" through `palette` (256 entries, only read for "P"), "CMYK" by
 * cmyk2rgb. rgb: n * 3 bytes. */
void image_native_to_rgb(const char *mode, const uint8_t *px, size_t n, const uint8_t (*palette)[3],
                         uint8_t *rgb);

/* Pillow's decompression-bomb limit: images of more pixels are refused
 * (Pillow raises DecompressionBombError above 2 * MAX_IMAGE_PIXELS). */
#define IMAGE_MAX_PIXELS 178956970LL

#endif
