/* Reading the reference's golden outputs (tests/fixtures/models/<name>/golden.h5)
 * and comparing tensors with the stated tolerance: for every compared tensor,
 * max |c - g| <= tol * max(|g|), tol = 1e-4 for the fp32 reference. */
#ifndef HL_TEST_GOLDEN_H
#define HL_TEST_GOLDEN_H

#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/ctx.h"
#include "model/config.h"
#include "model/llm.h"
#include "model/projector.h"
#include "model/vision.h"
#include "run/model_file.h"
#include "util/check.h"

#define GOLDEN_TOL 1e-4

static inline int golden_has(hid_t f, const char *name) {
    return H5Lexists(f, name, H5P_DEFAULT) > 0;
}

/* Reads a whole dataset as the memory type `type` of `size` bytes an
 * element; *n = element count. */
static inline void *golden_read_as(hid_t f, const char *name, hid_t type, size_t size, long *n) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    CHECKF(d >= 0, "golden: no dataset %s", name);
    hid_t s = H5Dget_space(d);
    *n = (long)H5Sget_simple_extent_npoints(s);
    void *p = hl_malloc((size_t)*n * size + 4);
    CHECK(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, p) >= 0);
    H5Sclose(s), H5Dclose(d);
    return p;
}

/* Reads a float dataset; *n = element count. */
static inline float *golden_f32(hid_t f, const char *name, long *n) {
    return golden_read_as(f, name, H5T_NATIVE_FLOAT, sizeof(float), n);
}

static inline int *golden_i32(hid_t f, const char *name, long *n) {
    return golden_read_as(f, name, H5T_NATIVE_INT, sizeof(int), n);
}

static inline long golden_attr_int(hid_t obj, const char *name) {
    long v = 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    CHECKF(a >= 0, "golden: no attribute %s", name);
    H5Aread(a, H5T_NATIVE_LONG, &v);
    H5Aclose(a);
    return v;
}

static inline char *golden_attr_str(hid_t obj, const char *name) {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    CHECKF(a >= 0, "golden: no attribute %s", name);
    hid_t t = H5Aget_type(a);
    char *res;
    if (H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5T_CSET_UTF8);
        char *p = NULL;
        H5Aread(a, mt, &p);
        res = hl_strdup(p ? p : "");
        H5free_memory(p);
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        res = hl_calloc(n + 1, 1);
        H5Aread(a, t, res);
    }
    H5Tclose(t), H5Aclose(a);
    return res;
}

/* The kernels the tests run on: the variant HL_KERNEL names (default: the
 * best this CPU has), one thread unless HL_THREADS says otherwise. */
static inline Ctx golden_ctx(void) {
    Isa isa;
    const char *k = getenv("HL_KERNEL"), *t = getenv("HL_THREADS"), *why = isa_choose(k, &isa);
    if (why) {
        fprintf(stderr, "HL_KERNEL=%s: %s\n", k, why);
        exit(2);
    }
    return ctx_cpu(t && *t ? atoi(t) : 1, isa);
}

/* Opens a fixture's weight file with the held precision HL_HOLD names
 * (f32 by default; bf16 or f16). */
static inline void golden_open(WeightFile *wf, const char *path) {
    wf_open(wf, path);
    const char *hold = getenv("HL_HOLD");
    if (hold && *hold && dtype_parse(hold, &wf->hold)) {
        fprintf(stderr, "HL_HOLD=%s: expected f32, bf16 or f16\n", hold);
        exit(2);
    }
}

/* The model of a fixture file loaded whole on one rank (no tensor or
 * pipeline split); *tok gets the file's tokenizer when tok is not NULL. */
static inline void golden_load_model(const char *path, ModelConfig *c, Vision *vis, Projector *proj,
                                     Llm *llm, Tokenizer **tok) {
    WeightFile wf;
    golden_open(&wf, path);
    model_config_read(&wf, c);
    vision_load(vis, &wf, c, 0, 1);
    projector_load(proj, &wf, c);
    LlmPart part = {.tp_rank = 0,
                    .tp_size = 1,
                    .block0 = 0,
                    .n_blocks = c->layers,
                    .has_embed = 1,
                    .has_head = 1};
    llm_load(llm, &wf, c, &part);
    if (tok) *tok = model_file_tokenizer(&wf);
    wf_close(&wf);
}

/* max |c - g| / max |g| (0 when both are all zero). */
static inline double golden_rel_err(const float *c, const float *g, long n) {
    double md = 0, mg = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)c[i] - g[i]);
        if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
        if (fabs(g[i]) > mg) mg = fabs(g[i]);
    }
    return mg > 0 ? md / mg : md;
}

#endif
