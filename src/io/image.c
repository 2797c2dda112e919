/* JPEG/PNG decoding to RGB8 with Pillow's semantics. See image.h. */
#include "io/image.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <zlib.h>

#include "util/check.h"

void image_alloc(Image *img, int w, int h) {
    CHECK(w > 0 && h > 0);
    memset(img, 0, sizeof *img);
    img->w = w;
    img->h = h;
    img->rgb = hl_malloc((size_t)w * (size_t)h * 3);
}

void image_free(Image *img) {
    free(img->rgb);
    free(img->native);
    memset(img, 0, sizeof *img);
}

static void check_size(const char *name, long long w, long long h) {
    if (w <= 0 || h <= 0) hl_fail("%s: corrupt image: size %lldx%lld", name, w, h);
    if (w * h > IMAGE_MAX_PIXELS)
        hl_fail("%s: image of %lldx%lld pixels exceeds the limit of %lld pixels", name, w, h,
                IMAGE_MAX_PIXELS);
}

/* Pillow's CMYK -> RGB (Convert.c cmyk2rgb): each ink scaled by the
 * remaining white, MULDIV255 being a rounded division by 255. */
static inline uint8_t muldiv255(int a, int b) {
    int t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

int image_native_bpp(const char *mode) {
    static const struct {
        const char *mode;
        int bpp;
    } t[] = {{"1", 1},   {"L", 1}, {"P", 1},    {"LA", 2},  {"I;16", 2},
             {"RGB", 3}, {"", 3},  {"RGBA", 4}, {"CMYK", 4}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(mode, t[i].mode)) return t[i].bpp;
    return 0;
}

const uint8_t *image_native(const Image *img) {
    return img->native ? img->native : img->rgb;
}

void image_native_to_rgb(const char *mode, const uint8_t *px, size_t n, const uint8_t (*palette)[3],
                         uint8_t *rgb) {
    int bpp = image_native_bpp(mode);
    CHECKF(bpp > 0, "no conversion from mode '%s' to RGB", mode);
    if (bpp == 3) {
        memcpy(rgb, px, n * 3);
        return;
    }
    int is_p = !strcmp(mode, "P"), is_i16 = !strcmp(mode, "I;16"), is_cmyk = !strcmp(mode, "CMYK");
    CHECK(!is_p || palette);
    for (size_t i = 0; i < n; i++, px += bpp, rgb += 3) {
        if (is_p) {
            memcpy(rgb, palette[px[0]], 3);
        } else if (is_i16) {
            /* Convert.c I16_RGB: values above 255 saturate */
            rgb[0] = rgb[1] = rgb[2] = px[1] ? 255 : px[0];
        } else if (is_cmyk) {
            int nk = 255 - px[3];
            for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)(nk - muldiv255(px[c], nk));
        } else if (bpp == 4) { /* RGBA: alpha dropped, no compositing */
            memcpy(rgb, px, 3);
        } else { /* 1 (0/255), L, LA: the grey replicated */
            rgb[0] = rgb[1] = rgb[2] = px[0];
        }
    }
}

/* ------------------------------------------------------------------ JPEG */

typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg casts to it */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    int truncated;        /* the data ended before the last scanline */
    int rows, rows_total; /* scanlines delivered / expected (0 = header) */
} JpegErr;

static void jpeg_on_error(j_common_ptr c) {
    JpegErr *e = (JpegErr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

/* Warnings are ignored as Pillow ignores them (corrupt entropy data decodes
 * the way libjpeg recovers), except running out of data: Pillow's
 * suspending reader raises "image file is truncated" there unless every
 * scanline is already out (data missing only after the last row is fine). */
static void jpeg_on_message(j_common_ptr c, int level) {
    JpegErr *e = (JpegErr *)c->err;
    if (level < 0) {
        if (c->err->msg_code == JWRN_JPEG_EOF && (e->rows_total == 0 || e->rows < e->rows_total)) {
            e->truncated = 1;
            longjmp(e->jb, 1);
        }
        c->err->num_warnings++;
    }
}

static void jpeg_no_output(j_common_ptr c) {
    (void)c;
}

typedef struct {
    struct jpeg_decompress_struct cinfo;
    JpegErr err;
    JSAMPLE *row;
} JpegCtx;

static void decode_jpeg(const uint8_t *data, size_t n, const char *name, Image *img) {
    /* Heap context: nothing that changes after setjmp lives in a register. */
    JpegCtx *ctx = hl_calloc(1, sizeof *ctx);
    struct jpeg_decompress_struct *ci = &ctx->cinfo;
    ci->err = jpeg_std_error(&ctx->err.pub);
    ctx->err.pub.error_exit = jpeg_on_error;
    ctx->err.pub.emit_message = jpeg_on_message;
    ctx->err.pub.output_message = jpeg_no_output;
    if (setjmp(ctx->err.jb)) {
        char msg[JMSG_LENGTH_MAX + 64];
        if (ctx->err.truncated)
            snprintf(msg, sizeof msg, "image file is truncated (JPEG data ends early)");
        else
            snprintf(msg, sizeof msg, "corrupt JPEG data: %s", ctx->err.msg);
        jpeg_destroy_decompress(ci);
        free(ctx->row);
        free(ctx);
        image_free(img);
        hl_fail("%s: %s", name, msg);
    }
    jpeg_create_decompress(ci);
    jpeg_mem_src(ci, data, (unsigned long)n);
    jpeg_read_header(ci, TRUE);
    int nc = ci->num_components;
    check_size(name, ci->image_width, ci->image_height);
    /* Pillow's mapping of the component count to a mode (JpegImagePlugin):
     * 1 -> L, 3 -> RGB, 4 -> CMYK read with inverted ("CMYK;I") samples. */
    if (nc == 1) {
        ci->out_color_space = JCS_GRAYSCALE;
        strcpy(img->mode, "L");
    } else if (nc == 3) {
        ci->out_color_space = JCS_RGB;
        strcpy(img->mode, "RGB");
    } else if (nc == 4) {
        ci->out_color_space = JCS_CMYK;
        strcpy(img->mode, "CMYK");
    } else {
        jpeg_destroy_decompress(ci);
        free(ctx);
        hl_fail("%s: cannot handle %d-component JPEG images", name, nc);
    }
    /* Pillow leaves libjpeg's defaults: JDCT_ISLOW, fancy upsampling on,
     * block smoothing on, no scaling. Set them anyway so a build with other
     * defaults cannot drift. */
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    ci->do_block_smoothing = TRUE;
    ci->scale_num = ci->scale_denom = 1;
    jpeg_start_decompress(ci);
    int w = (int)ci->output_width, h = (int)ci->output_height;
    CHECK(ci->output_components == nc);
    char mode[8];
    memcpy(mode, img->mode, sizeof mode);
    image_alloc(img, w, h);
    memcpy(img->mode, mode, sizeof mode);
    if (nc != 3) img->native = hl_malloc((size_t)w * (size_t)h * (size_t)nc);
    ctx->row = hl_malloc((size_t)w * (size_t)nc);
    ctx->err.rows_total = h;
    while ((int)ci->output_scanline < h) {
        JSAMPROW rp = ctx->row;
        int y = (int)ci->output_scanline;
        if (jpeg_read_scanlines(ci, &rp, 1) != 1) CHECK(0); /* memory source never suspends */
        ctx->err.rows = y + 1;
        const uint8_t *s = ctx->row;
        uint8_t *d = img->rgb + (size_t)y * (size_t)w * 3;
        if (nc == 3) {
            memcpy(d, s, (size_t)w * 3);
            continue;
        }
        uint8_t *nat = img->native + (size_t)y * (size_t)w * (size_t)nc;
        if (nc == 1) {
            memcpy(nat, s, (size_t)w);
        } else {
            /* "CMYK;I": Adobe writes inverted inks, Pillow always un-inverts */
            for (size_t i = 0; i < (size_t)w * 4; i++) nat[i] = (uint8_t)(255 - s[i]);
        }
        image_native_to_rgb(img->mode, nat, (size_t)w, NULL, d);
    }
    jpeg_finish_decompress(ci);
    jpeg_destroy_decompress(ci);
    free(ctx->row);
    free(ctx);
}

/* ------------------------------------------------------------------- PNG */

typedef struct {
    char msg[256];  /* the error that stopped libpng */
    char warn[256]; /* the last warning about the pixel data */
    /* what the reader found, kept here so it survives a longjmp */
    int w, h, depth, ctype;
    uint8_t pal[256][3];
    int pal_size; /* PLTE entries (the rest of pal is black) */
    size_t rowbytes;
    uint8_t *raw; /* the packed rows as stored */
    png_bytep *rows;
    int last_pass, last_row; /* the row whose arrival completes the image */
    int complete;
} PngCtx;

static void png_on_error(png_structp p, png_const_charp msg) {
    PngCtx *c = png_get_error_ptr(p);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(p, 1);
}

/* Benign errors arrive here too; one about IDAT explains rows that never
 * came (libpng stops inflating at corrupt data). */
static void png_on_warning(png_structp p, png_const_charp msg) {
    PngCtx *c = png_get_error_ptr(p);
    if (strstr(msg, "IDAT")) snprintf(c->warn, sizeof c->warn, "%s", msg);
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Pillow checks the CRC of every chunk before the first IDAT (and fails on a
 * chunk cut short) but never checks IDAT's or later ones; libpng is told to
 * use data whatever its CRC, and this walk does Pillow's checks. */
static void png_prescan(const uint8_t *d, size_t n, const char *name) {
    size_t pos = 8;
    for (;;) {
        if (n - pos < 8)
            hl_fail("%s: image file is truncated (PNG ends before its image data)", name);
        uint32_t len = be32(d + pos);
        const uint8_t *type = d + pos + 4;
        for (int i = 0; i < 4; i++) {
            int ch = type[i];
            if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
                hl_fail("%s: corrupt PNG: bad chunk type at byte %zu", name, pos + 4);
        }
        if (!memcmp(type, "IDAT", 4)) return;
        if (len > 0x7FFFFFFFu || (size_t)len + 12 > n - pos)
            hl_fail("%s: image file is truncated (PNG chunk %.4s cut short)", name,
                    (const char *)type);
        if (crc32(0, type, (uInt)len + 4) != be32(d + pos + 8 + len))
            hl_fail("%s: corrupt PNG: bad CRC in chunk %.4s", name, (const char *)type);
        pos += (size_t)len + 12;
    }
}

/* One stored row (packed samples) to Pillow's own pixels by its unpackers
 * for (colour type, bit depth) (PngImagePlugin._MODES, Unpack.c): the
 * native form of png_mode(), or RGB for colour type 2. */
static void png_row_unpack(const uint8_t *s, uint8_t *d, int w, int ctype, int depth) {
    if (ctype == 0 || ctype == 3) {
        for (int x = 0; x < w; x++) {
            int v;
            if (depth == 16) { /* I;16 held little-endian */
                d[2 * x] = s[2 * x + 1];
                d[2 * x + 1] = s[2 * x];
                continue;
            }
            if (depth == 8) {
                v = s[x];
            } else {
                int per = 8 / depth, shift = 8 - depth * (x % per + 1);
                v = (s[x / per] >> shift) & ((1 << depth) - 1);
            }
            /* a palette index as is; "1": a set bit is 255; L;2 and L;4
             * scale to 0..255 */
            if (ctype == 0 && depth == 1)
                v = v ? 255 : 0;
            else if (ctype == 0 && depth == 2)
                v *= 0x55;
            else if (ctype == 0 && depth == 4)
                v *= 0x11;
            d[x] = (uint8_t)v;
        }
        return;
    }
    /* 16-bit samples keep their most significant byte ("RGB;16B" etc.) */
    int ch = ctype == 2 ? 3 : ctype == 4 ? 2 : 4, bps = depth / 8;
    for (int x = 0; x < w; x++, s += ch * bps) {
        if (ctype == 4 && depth == 8) { /* LA */
            *d++ = s[0];
            *d++ = s[1];
        } else if (ctype == 4) { /* "LA;16B" is read as RGBA */
            *d++ = s[0];
            *d++ = s[0];
            *d++ = s[0];
            *d++ = s[2];
        } else {
            for (int c = 0; c < ch; c++) *d++ = s[c * bps];
        }
    }
}

static const char *png_mode(int ctype, int depth) {
    switch (ctype) {
    case 0:
        return depth == 1 ? "1" : depth == 16 ? "I;16" : "L";
    case 2:
        return "RGB";
    case 3:
        return "P";
    case 4:
        return depth == 16 ? "RGBA" : "LA"; /* Pillow reads 16-bit LA as RGBA */
    default:
        return "RGBA";
    }
}

static void png_on_info(png_structp p, png_infop info) {
    PngCtx *c = png_get_progressive_ptr(p);
    png_uint_32 w, h;
    int interlace;
    png_get_IHDR(p, info, &w, &h, &c->depth, &c->ctype, &interlace, NULL, NULL);
    if (w == 0 || h == 0 || (long long)w * h > IMAGE_MAX_PIXELS)
        png_error(p, "image size out of range");
    c->w = (int)w;
    c->h = (int)h;
    /* Pillow's palette: the PLTE entries, the rest of the 256 black. */
    if (c->ctype == PNG_COLOR_TYPE_PALETTE) {
        png_colorp plte;
        int np = 0;
        if (png_get_PLTE(p, info, &plte, &np) & PNG_INFO_PLTE) {
            c->pal_size = np < 256 ? np : 256;
            for (int i = 0; i < c->pal_size; i++) {
                c->pal[i][0] = plte[i].red;
                c->pal[i][1] = plte[i].green;
                c->pal[i][2] = plte[i].blue;
            }
        }
    }
    png_set_interlace_handling(p);
    png_start_read_image(p);
    c->rowbytes = png_get_rowbytes(p, info);
    CHECK(c->rowbytes >= ((size_t)w * png_get_channels(p, info) * (size_t)c->depth + 7) / 8);
    c->raw = hl_calloc(c->rowbytes, h);
    c->rows = hl_malloc(sizeof(png_bytep) * h);
    for (png_uint_32 y = 0; y < h; y++) c->rows[y] = c->raw + c->rowbytes * y;
    /* The image is complete when the last row of the last non-empty
     * Adam7 pass (or of the only pass) has arrived. */
    c->last_pass = 0;
    c->last_row = (int)h - 1;
    if (interlace != PNG_INTERLACE_NONE)
        for (int pass = 0; pass < 7; pass++)
            if (PNG_PASS_COLS(w, pass) > 0 && PNG_PASS_ROWS(h, pass) > 0) {
                c->last_pass = pass;
                c->last_row = (int)PNG_ROW_FROM_PASS_ROW(PNG_PASS_ROWS(h, pass) - 1, pass);
            }
}

static void png_on_row(png_structp p, png_bytep row, png_uint_32 y, int pass) {
    PngCtx *c = png_get_progressive_ptr(p);
    if (!row || (int)y >= c->h) return;
    png_progressive_combine_row(p, c->rows[y], row);
    if (pass == c->last_pass && (int)y == c->last_row) c->complete = 1;
}

/* Reads the stored rows into ctx->raw with libpng's progressive reader,
 * which, like Pillow, inflates whatever data there is: the image is good
 * once every row has arrived, whatever follows (a missing or damaged zlib
 * trailer, IEND or later chunks), and truncated if the data ends before.
 * A zlib checksum error while rows are still due stops the rows, as it
 * stops Pillow. Returns 0 when complete. */
static int png_read_pixels(PngCtx *ctx, const uint8_t *data, size_t n) {
    png_structp p =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, png_on_error, png_on_warning);
    CHECK(p);
    png_infop info = png_create_info_struct(p);
    CHECK(info);
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_read_struct(&p, &info, NULL);
        return !ctx->complete;
    }
    png_set_crc_action(p, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
    png_set_benign_errors(p, 1);
    png_set_progressive_read_fn(p, ctx, png_on_info, png_on_row, NULL);
    png_process_data(p, info, (png_bytep)data, n);
    png_destroy_read_struct(&p, &info, NULL);
    return !ctx->complete;
}

static void decode_png(const uint8_t *data, size_t n, const char *name, Image *img) {
    png_prescan(data, n, name);
    PngCtx *ctx = hl_calloc(1, sizeof *ctx);
    if (png_read_pixels(ctx, data, n)) {
        char msg[320];
        if (ctx->msg[0] || ctx->warn[0])
            snprintf(msg, sizeof msg, "corrupt PNG data: %s", ctx->msg[0] ? ctx->msg : ctx->warn);
        else
            snprintf(msg, sizeof msg, "image file is truncated (PNG data ends early)");
        free(ctx->raw);
        free(ctx->rows);
        free(ctx);
        hl_fail("%s: %s", name, msg);
    }
    image_alloc(img, ctx->w, ctx->h);
    strcpy(img->mode, png_mode(ctx->ctype, ctx->depth));
    size_t npx = (size_t)ctx->w * (size_t)ctx->h, bpp = (size_t)image_native_bpp(img->mode);
    CHECK(bpp > 0);
    if (ctx->ctype != PNG_COLOR_TYPE_RGB) img->native = hl_malloc(npx * bpp);
    uint8_t *dst = img->native ? img->native : img->rgb;
    for (int y = 0; y < ctx->h; y++)
        png_row_unpack(ctx->rows[y], dst + (size_t)y * (size_t)ctx->w * bpp, ctx->w, ctx->ctype,
                       ctx->depth);
    if (img->native) {
        if (ctx->ctype == PNG_COLOR_TYPE_PALETTE) {
            img->palette_size = ctx->pal_size;
            memcpy(img->palette, ctx->pal, sizeof img->palette);
        }
        image_native_to_rgb(img->mode, img->native, npx, (const uint8_t(*)[3])img->palette,
                            img->rgb);
    }
    free(ctx->raw);
    free(ctx->rows);
    free(ctx);
}

/* ---------------------------------------------------------------- public */

static const char *sniff_other(const uint8_t *d, size_t n) {
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "GIF";
    if (n >= 2 && !memcmp(d, "BM", 2)) return "BMP";
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "WebP";
    if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) return "TIFF";
    if (n >= 12 && !memcmp(d + 4, "ftyp", 4)) return "HEIF/AVIF";
    return NULL;
}

void image_decode(const uint8_t *data, size_t n, const char *name, Image *img) {
    memset(img, 0, sizeof *img);
    if (n == 0) hl_fail("%s: empty file", name);
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        decode_jpeg(data, n, name, img);
    } else if (n >= 8 && !memcmp(data, png_sig, 8)) {
        decode_png(data, n, name, img);
    } else {
        const char *other = sniff_other(data, n);
        if (other) hl_fail("%s: unsupported image format %s (supported: JPEG, PNG)", name, other);
        hl_fail("%s: not a JPEG or PNG file (unknown image format)", name);
    }
}

void image_load(const char *path, Image *img) {
    /* a named pipe or a device would block open() or read for ever */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        hl_fail("%s: not a regular file (%s)", path,
                S_ISDIR(st.st_mode)    ? "a folder"
                : S_ISFIFO(st.st_mode) ? "a named pipe"
                                       : "a device or socket");
    FILE *f = hl_fopen(path, "rb");
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = hl_malloc(cap);
    for (;;) {
        if (n == cap) buf = hl_realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) hl_fail("%s: read error: %s", path, strerror(errno));
    fclose(f);
    image_decode(buf, n, path, img);
    free(buf);
}

void image_ref_load(const ImageRef *r, Image *img) {
    if (r->path)
        image_load(r->path, img);
    else
        image_decode(r->data, r->size, r->name ? r->name : "image", img);
}
