/* LLaVA's ScienceQA/MMBench image sequence (expand2square on the image as
 * opened, before convert("RGB")) and the native pixels it pads, against
 * Pillow + transformers bit for bit: every line of
 * tests/fixtures/pillow/goldens_unconverted.txt (written by
 * tests/reference/make_pillow_goldens.py) is one check. The files
 * themselves decode as Pillow decodes them (test_image checks that). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/clip_image.h"
#include "io/image.h"
#include "pillow_golden.h"
#include "test.h"
#include "util/sha256.h"

static void load(const char *file, Image *img) {
    char path[512];
    pillow_image_path(path, sizeof path, file);
    image_load(path, img);
}

static const double HALF[3] = {0.5, 0.5, 0.5};

/* The normalisation a golden names: clip (OpenAI CLIP) or half (0.5/0.5). */
static int norm_of(const char *name, const double **mean, const double **std) {
    if (!strcmp(name, "clip")) {
        *mean = CLIP_OPENAI_MEAN, *std = CLIP_OPENAI_STD;
        return 1;
    }
    if (!strcmp(name, "half")) {
        *mean = HALF, *std = HALF;
        return 1;
    }
    return 0;
}

/* Modes seen per kind of check, to require that every mode was covered. */
static const char *MODES[] = {"RGB", "RGBA", "CMYK", "P", "L", "LA", "1", "I;16"};
enum { N_MODES = sizeof MODES / sizeof MODES[0] };
static int seen_raw_wide[N_MODES], seen_raw_tall[N_MODES], seen_raw_square[N_MODES],
    seen_fail[N_MODES];

static int mode_index(const char *m) {
    for (int i = 0; i < N_MODES; i++)
        if (!strcmp(MODES[i], m)) return i;
    return -1;
}

static void check_native(const char *line) {
    char file[256], mode[16], want[65], want_pal[65], hex[65];
    int w, h, npal;
    if (sscanf(line, "%*s %255s %15s %d %d %64s %d %64s", file, mode, &w, &h, want, &npal,
               want_pal) != 7) {
        EXPECT(0, "bad line: %s", line);
        return;
    }
    Image img;
    load(file, &img);
    int bpp = image_native_bpp(img.mode);
    EXPECT(!strcmp(img.mode, mode) && img.w == w && img.h == h && bpp > 0,
           "%s: %s %dx%d, want %s %dx%d", file, img.mode, img.w, img.h, mode, w, h);
    if (img.w != w || img.h != h || bpp == 0) {
        image_free(&img);
        return;
    }
    size_t n = (size_t)w * (size_t)h;
    EXPECT((img.native == NULL) == (bpp == 3), "%s: native pixels %s for mode %s", file,
           img.native ? "kept" : "missing", img.mode);
    sha256_hex(image_native(&img), n * (size_t)bpp, hex);
    EXPECT(!strcmp(hex, want), "%s: native %s pixels differ from Pillow's", file, mode);
    EXPECT(img.palette_size == npal, "%s: palette of %d entries, want %d", file, img.palette_size,
           npal);
    if (npal > 0 && img.palette_size == npal) {
        sha256_hex(img.palette, (size_t)npal * 3, hex);
        EXPECT(!strcmp(hex, want_pal), "%s: palette differs from Pillow's", file);
    }
    /* convert("RGB") of the native pixels is the decoded RGB */
    uint8_t *rgb = malloc(n * 3);
    image_native_to_rgb(img.mode, image_native(&img), n, (const uint8_t(*)[3])img.palette, rgb);
    EXPECT(!memcmp(rgb, img.rgb, n * 3), "%s: image_native_to_rgb differs from the decoded RGB",
           file);
    /* the in-memory decoder keeps the same native pixels */
    char path[512];
    pillow_image_path(path, sizeof path, file);
    size_t len = 0;
    uint8_t *data = test_read_file(path, &len);
    Image m;
    image_decode(data, len, file, &m);
    EXPECT(m.palette_size == img.palette_size &&
               !memcmp(image_native(&m), image_native(&img), n * (size_t)bpp) &&
               !memcmp(m.palette, img.palette, sizeof m.palette),
           "%s: image_decode keeps other native pixels than image_load", file);
    image_free(&m);
    free(data);
    free(rgb);
    image_free(&img);
}

static void check_rawsq(const char *line) {
    char file[256], norm[16], want[65], hex[65];
    const double *mean, *std;
    if (sscanf(line, "%*s %255s %15s %64s", file, norm, want) != 3 || !norm_of(norm, &mean, &std)) {
        EXPECT(0, "bad line: %s", line);
        return;
    }
    Image img, sq;
    load(file, &img);
    uint8_t fill[3];
    clip_pad_color(mean, fill);
    const char *err = clip_expand2square_unconverted(&img, fill, &sq);
    EXPECT(err == NULL, "%s: expand2square failed (%s) where Pillow pads", file, err);
    int s = img.w > img.h ? img.w : img.h;
    if (!err) {
        EXPECT(sq.w == s && sq.h == s && !strcmp(sq.mode, img.mode), "%s: padded to %dx%d %s", file,
               sq.w, sq.h, sq.mode);
        sha256_hex(sq.rgb, (size_t)s * (size_t)s * 3, hex);
        EXPECT(!strcmp(hex, want), "%s %s: padded RGB differs from Pillow's", file, norm);
    }
    image_free(&sq);
    image_free(&img);
}

static void check_raw(const char *line) {
    char file[256], norm[16], want[65], hex[65];
    const double *mean, *std;
    int S;
    if (sscanf(line, "%*s %255s %d %15s %64s", file, &S, norm, want) != 4 ||
        !norm_of(norm, &mean, &std)) {
        EXPECT(0, "bad line: %s", line);
        return;
    }
    Image img;
    load(file, &img);
    size_t nf = (size_t)3 * (size_t)S * (size_t)S;
    float *t = malloc(nf * sizeof(float)), *c = malloc(nf * sizeof(float));
    clip_preprocess_unconverted(&img, S, mean, std, t);
    sha256_hex(t, nf * sizeof(float), hex);
    EXPECT(!strcmp(hex, want), "%s S=%d %s: tensor differs from transformers'", file, S, norm);
    /* RGB, RGBA and square images: exactly clip_preprocess's output */
    int same = !strcmp(img.mode, "RGB") || !strcmp(img.mode, "RGBA") || img.w == img.h;
    clip_preprocess(&img, S, mean, std, c);
    if (same)
        EXPECT(!memcmp(t, c, nf * sizeof(float)), "%s S=%d: differs from clip_preprocess", file, S);
    int k = mode_index(img.mode);
    if (k >= 0) {
        if (img.w > img.h) seen_raw_wide[k]++;
        if (img.w < img.h) seen_raw_tall[k]++;
        if (img.w == img.h) seen_raw_square[k]++;
    }
    free(t);
    free(c);
    image_free(&img);
}

static void check_rawfail(const char *line) {
    char file[256], norm[16];
    const double *mean, *std;
    int off = 0;
    if (sscanf(line, "%*s %255s %15s %n", file, norm, &off) != 2 || !off ||
        !norm_of(norm, &mean, &std)) {
        EXPECT(0, "bad line: %s", line);
        return;
    }
    const char *want = line + off;
    Image img, sq;
    load(file, &img);
    const char *err = clip_unconverted_error(&img);
    EXPECT(err && !strcmp(err, want), "%s: error '%s', want '%s'", file, err ? err : "(none)",
           want);
    uint8_t fill[3];
    clip_pad_color(mean, fill);
    const char *err2 = clip_expand2square_unconverted(&img, fill, &sq);
    EXPECT(err2 == err && sq.rgb == NULL && sq.native == NULL,
           "%s: clip_expand2square_unconverted does not fail as Pillow does", file);
    /* what the engine does where LLaVA stops: the converted path */
    const int S = 30;
    size_t nf = (size_t)3 * S * S;
    float *t = malloc(nf * sizeof(float)), *c = malloc(nf * sizeof(float));
    clip_preprocess_unconverted(&img, S, mean, std, t);
    clip_preprocess(&img, S, mean, std, c);
    EXPECT(!memcmp(t, c, nf * sizeof(float)), "%s: fallback differs from clip_preprocess", file);
    int k = mode_index(img.mode);
    if (k >= 0) seen_fail[k]++;
    free(t);
    free(c);
    image_free(&sq);
    image_free(&img);
}

int main(void) {
    char *text = pillow_goldens_read("goldens_unconverted.txt");
    if (!text) return test_done("test_image_raw");
    int n_native = 0, n_rawsq = 0, n_raw = 0, n_fail = 0;
    for (char *cur = text, *line; (line = pillow_goldens_next(&cur));) {
        if (!strncmp(line, "native ", 7)) {
            check_native(line);
            n_native++;
        } else if (!strncmp(line, "rawsq ", 6)) {
            check_rawsq(line);
            n_rawsq++;
        } else if (!strncmp(line, "raw ", 4)) {
            check_raw(line);
            n_raw++;
        } else if (!strncmp(line, "rawfail ", 8)) {
            check_rawfail(line);
            n_fail++;
        } else {
            EXPECT(0, "unknown golden line: %s", line);
        }
    }
    free(text);

    /* Every mode Pillow opens from PNG/JPEG went through: the padding ones
     * tall and wide, the raising ones as failures, all of them square. */
    for (int k = 0; k < N_MODES; k++) {
        int raises = seen_fail[k] > 0;
        if (!raises)
            EXPECT(seen_raw_wide[k] && seen_raw_tall[k], "mode %s: no tall and wide raw golden",
                   MODES[k]);
        else
            EXPECT(!seen_raw_wide[k] && !seen_raw_tall[k] && seen_fail[k] >= 2,
                   "mode %s: fails on some non-square images only", MODES[k]);
        if (strcmp(MODES[k], "RGBA")) /* no square RGBA fixture: it pads like RGB */
            EXPECT(seen_raw_square[k], "mode %s: no square raw golden", MODES[k]);
    }
    EXPECT(seen_fail[mode_index("L")] && seen_fail[mode_index("LA")] &&
               seen_fail[mode_index("1")] && seen_fail[mode_index("I;16")],
           "the grey modes should raise in Pillow 13");
    printf("native pixels: %d files; padded RGB: %d; tensors: %d; LLaVA errors: %d\n", n_native,
           n_rawsq, n_raw, n_fail);
    EXPECT(n_native >= 70 && n_raw >= 100 && n_fail >= 10, "too few goldens read");
    return test_done("test_image_raw");
}
