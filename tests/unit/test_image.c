/* Image decoding and CLIP preprocessing against Pillow + transformers, bit
 * for bit: every line of tests/fixtures/pillow/goldens.txt (written by
 * tests/reference/make_pillow_goldens.py) is one check. Broken files are
 * decoded in a forked child, which must exit 1 with one error line naming
 * the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/clip_image.h"
#include "io/image.h"
#include "io/resample.h"
#include "pillow_golden.h"
#include "test.h"
#include "util/sha256.h"

/* ----------------------------------------------------------------- helpers */

/* The byte stream of make_pillow_goldens.lcg_bytes. */
static void lcg_bytes(uint32_t seed, uint8_t *out, size_t n) {
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        out[i] = (uint8_t)(s >> 24);
    }
}

/* What run_child runs: image_load, or image_decode of the file's bytes. */
static void load_file(const char *path) {
    Image img;
    image_load(path, &img);
}

static void decode_from_memory(const char *path) {
    size_t n = 0;
    uint8_t *d = test_read_file(path, &n);
    Image img;
    image_decode(d ? d : (const uint8_t *)"", d ? n : 0, "memory:item-7", &img);
}

/* Decodes path in a child (from_memory: through image_decode); returns its
 * exit status and its stderr. */
static int run_child(const char *path, int from_memory, char *err, size_t errcap) {
    return test_child(from_memory ? decode_from_memory : load_file, path, err, errcap);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* A failed decode: status 1, exactly one "hyperllava: error:" line naming
 * `name`, containing `want` when given. */
static void expect_failure(const char *path, int from_memory, const char *name, const char *want) {
    char err[4096];
    int st = run_child(path, from_memory, err, sizeof err);
    EXPECT(st == 1, "%s: child exit status %d, stderr: %s", path, st, err);
    EXPECT(count_lines(err) == 1 && !strncmp(err, "hyperllava: error: ", 19),
           "%s: want one error line, got: %s", path, err);
    EXPECT(strstr(err, name) != NULL, "%s: error does not name '%s': %s", path, name, err);
    if (want) EXPECT(strstr(err, want) != NULL, "%s: error lacks '%s': %s", path, want, err);
}

/* Whether `path` decodes (in a child, so that an unexpected hl_fail is a
 * reported failure, not the end of the test); cached by path. */
static int decodes(const char *path) {
    static char names[256][128];
    static int ok[256], n;
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], path)) return ok[i];
    char err[4096];
    int st = run_child(path, 0, err, sizeof err);
    EXPECT(st == 0, "%s: decoding failed where Pillow succeeds: %s", path, err);
    EXPECT(st != 0 || err[0] == 0, "%s: decoding printed: %s", path,
           err); /* libraries stay quiet */
    if (n < 256) {
        snprintf(names[n], sizeof names[n], "%s", path);
        ok[n++] = st == 0;
    }
    return st == 0;
}

/* First difference against a raw golden, to locate a mismatch. */
static void compare_raw(const char *what, const void *got, size_t n, const char *rawfile,
                        int is_f32) {
    char p[512];
    snprintf(p, sizeof p, PILLOW_FIX "/%s", rawfile);
    size_t rn = 0;
    uint8_t *want = test_read_file(p, &rn);
    EXPECT(want && rn == n, "%s: raw golden %s missing or %zu bytes, want %zu", what, p, rn, n);
    if (!want || rn != n) {
        free(want);
        return;
    }
    size_t bad = 0, first = n;
    double maxd = 0;
    size_t unit = is_f32 ? 4 : 1;
    for (size_t i = 0; i < n / unit; i++) {
        double a, b;
        if (is_f32) {
            float fa, fb;
            memcpy(&fa, (const uint8_t *)got + 4 * i, 4);
            memcpy(&fb, want + 4 * i, 4);
            a = fa, b = fb;
        } else {
            a = ((const uint8_t *)got)[i], b = want[i];
        }
        if (memcmp((const uint8_t *)got + unit * i, want + unit * i, unit)) {
            if (!bad) first = i;
            bad++;
            if (fabs(a - b) > maxd) maxd = fabs(a - b);
        }
    }
    EXPECT(bad == 0, "%s: %zu of %zu values differ (first at %zu, max |diff| %g)", what, bad,
           n / unit, first, maxd);
    free(want);
}

/* -------------------------------------------------------------------- main */

int main(void) {
    /* Read into memory first: a forked child that exits through exit()
     * would move the shared file offset of an open FILE under our feet. */
    char *gtext = pillow_goldens_read("goldens.txt");
    if (!gtext) return test_done("test_image");
    int n_decode = 0, n_fail = 0, n_unsup = 0, n_clip = 0, n_clipcrop = 0, n_resample = 0;
    int n_crop = 0, n_rsize = 0, n_raw = 0, ok_decode = 0, ok_clip = 0, ok_resample = 0;
    for (char *cur = gtext, *line; (line = pillow_goldens_next(&cur));) {
        char kind[16], a[256], b[256], c[256], hex[65];
        char path[512];
        int before = test_failures;
        if (sscanf(line, "%15s", kind) != 1) continue;
        if (!strcmp(kind, "decode")) {
            char mode[16], want[65];
            int w, h;
            EXPECT(sscanf(line, "%*s %255s %15s %d %d %64s", a, mode, &w, &h, want) == 5,
                   "bad line: %s", line);
            pillow_image_path(path, sizeof path, a);
            n_decode++;
            if (!decodes(path)) continue;
            Image img;
            image_load(path, &img);
            EXPECT(img.w == w && img.h == h, "%s: size %dx%d, want %dx%d", a, img.w, img.h, w, h);
            EXPECT(!strcmp(img.mode, mode), "%s: mode '%s', want '%s'", a, img.mode, mode);
            if (img.w == w && img.h == h) {
                sha256_hex(img.rgb, (size_t)w * (size_t)h * 3, hex);
                EXPECT(!strcmp(hex, want), "%s: decoded RGB differs from Pillow's", a);
            }
            /* the in-memory path gives the same pixels */
            size_t n = 0;
            uint8_t *d = test_read_file(path, &n);
            Image m;
            image_decode(d, n, "mem", &m);
            EXPECT(m.w == img.w && m.h == img.h && !strcmp(m.mode, img.mode) &&
                       !memcmp(m.rgb, img.rgb, (size_t)m.w * (size_t)m.h * 3),
                   "%s: image_decode differs from image_load", a);
            free(d);
            image_free(&m);
            image_free(&img);
            ok_decode += test_failures == before;
        } else if (!strcmp(kind, "fail") || !strcmp(kind, "unsupported")) {
            EXPECT(sscanf(line, "%*s %255s", a) == 1, "bad line: %s", line);
            pillow_image_path(path, sizeof path, a);
            int unsup = !strcmp(kind, "unsupported");
            expect_failure(path, 0, path, unsup ? "unsupported" : NULL);
            expect_failure(path, 1, "memory:item-7", unsup ? "unsupported" : NULL);
            if (unsup)
                n_unsup++;
            else
                n_fail++;
        } else if (!strcmp(kind, "clip") || !strcmp(kind, "clipcrop")) {
            int s;
            char want[65];
            EXPECT(sscanf(line, "%*s %255s %d %64s", a, &s, want) == 3, "bad line: %s", line);
            pillow_image_path(path, sizeof path, a);
            if (!strcmp(kind, "clip"))
                n_clip++;
            else
                n_clipcrop++;
            if (!decodes(path)) continue;
            Image img;
            image_load(path, &img);
            float *t = malloc(sizeof(float) * 3 * (size_t)s * (size_t)s);
            if (!strcmp(kind, "clip"))
                clip_preprocess(&img, s, CLIP_OPENAI_MEAN, CLIP_OPENAI_STD, t);
            else
                clip_preprocess_crop(&img, s, CLIP_OPENAI_MEAN, CLIP_OPENAI_STD, t);
            sha256_hex(t, sizeof(float) * 3 * (size_t)s * (size_t)s, hex);
            EXPECT(!strcmp(hex, want), "%s %s S=%d: tensor differs from transformers'", kind, a, s);
            free(t);
            image_free(&img);
            ok_clip += test_failures == before;
        } else if (!strcmp(kind, "resample")) {
            unsigned seed;
            int ch, w, h, ow, oh;
            char want[65];
            EXPECT(sscanf(line, "%*s %u %d %d %d %d %d %255s %64s", &seed, &ch, &w, &h, &ow, &oh, b,
                          want) == 8,
                   "bad line: %s", line);
            ResampleFilter f = !strcmp(b, "bicubic")    ? RESAMPLE_BICUBIC
                               : !strcmp(b, "bilinear") ? RESAMPLE_BILINEAR
                                                        : RESAMPLE_NEAREST;
            uint8_t *in = malloc((size_t)w * h * ch), *out = malloc((size_t)ow * oh * ch);
            lcg_bytes(seed, in, (size_t)w * h * ch);
            resample_u8(in, w, h, ch, out, ow, oh, f);
            sha256_hex(out, (size_t)ow * oh * ch, hex);
            EXPECT(!strcmp(hex, want), "resample seed %u %dx%dx%d -> %dx%d %s differs from Pillow",
                   seed, w, h, ch, ow, oh, b);
            free(in);
            free(out);
            n_resample++;
            ok_resample += test_failures == before;
        } else if (!strcmp(kind, "crop")) {
            unsigned seed;
            int w, h, cw, chh, ow, oh;
            char want[65];
            EXPECT(sscanf(line, "%*s %u %d %d %d %d %d %d %64s", &seed, &w, &h, &cw, &chh, &ow, &oh,
                          want) == 8,
                   "bad line: %s", line);
            Image img, out;
            image_alloc(&img, w, h);
            lcg_bytes(seed, img.rgb, (size_t)w * h * 3);
            clip_center_crop(&img, cw, chh, &out);
            EXPECT(out.w == ow && out.h == oh, "crop %dx%d -> %dx%d: got %dx%d, want %dx%d", w, h,
                   cw, chh, out.w, out.h, ow, oh);
            if (out.w == ow && out.h == oh) {
                sha256_hex(out.rgb, (size_t)ow * oh * 3, hex);
                EXPECT(!strcmp(hex, want), "crop %dx%d -> %dx%d differs from transformers'", w, h,
                       cw, chh);
            }
            image_free(&img);
            image_free(&out);
            n_crop++;
        } else if (!strcmp(kind, "rsize")) {
            int w, h, s, ow, oh, gw, gh;
            EXPECT(sscanf(line, "%*s %d %d %d %d %d", &w, &h, &s, &ow, &oh) == 5, "bad line: %s",
                   line);
            clip_resize_size(w, h, s, &gw, &gh);
            EXPECT(gw == ow && gh == oh, "resize size %dx%d S=%d: got %dx%d, want %dx%d", w, h, s,
                   gw, gh, ow, oh);
            n_rsize++;
        } else if (!strcmp(kind, "raw")) {
            int s;
            EXPECT(sscanf(line, "%*s %255s %255s %d %255s", a, b, &s, c) == 4, "bad line: %s",
                   line);
            pillow_image_path(path, sizeof path, b);
            n_raw++;
            if (!decodes(path)) continue;
            Image img;
            image_load(path, &img);
            if (!strcmp(a, "rgb")) {
                compare_raw(b, img.rgb, (size_t)img.w * img.h * 3, c, 0);
            } else {
                float *t = malloc(sizeof(float) * 3 * (size_t)s * s);
                clip_preprocess(&img, s, CLIP_OPENAI_MEAN, CLIP_OPENAI_STD, t);
                compare_raw(b, t, sizeof(float) * 3 * (size_t)s * s, c, 1);
                free(t);
            }
            image_free(&img);
        } else {
            EXPECT(0, "unknown golden kind '%s'", kind);
        }
    }
    free(gtext);

    /* Inputs with no golden line: a missing file, a directory. */
    expect_failure(PILLOW_FIX "/img/no_such_file.jpg", 0, PILLOW_FIX "/img/no_such_file.jpg", NULL);
    expect_failure(PILLOW_FIX "/img", 0, PILLOW_FIX "/img", NULL);

    /* The pad colour and the LLaVA defaults. */
    uint8_t fill[3];
    clip_pad_color(CLIP_OPENAI_MEAN, fill);
    EXPECT(fill[0] == 122 && fill[1] == 116 && fill[2] == 104, "pad colour %d %d %d", fill[0],
           fill[1], fill[2]);

    printf("decode: %d/%d match Pillow; failures: %d broken files and %d unsupported formats fail "
           "as expected (file and memory paths)\n",
           ok_decode, n_decode, n_fail, n_unsup);
    printf("clip: %d/%d tensors match transformers (%d padded, %d crop-only); resample: %d/%d; "
           "crop: %d; resize sizes: %d; raw debug cases: %d\n",
           ok_clip, n_clip + n_clipcrop, n_clip, n_clipcrop, ok_resample, n_resample, n_crop,
           n_rsize, n_raw);
    EXPECT(n_decode >= 50 && n_clip >= 90 && n_resample >= 15 && n_fail >= 10,
           "too few goldens read (%d decode, %d clip, %d resample, %d fail)", n_decode, n_clip,
           n_resample, n_fail);
    return test_done("test_image");
}
