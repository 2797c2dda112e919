#include "run/record.h"

#include <hdf5.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "comm/comm.h"
#include "util/check.h"
#include "util/sha256.h"

json_t *record_build(const RecordInput *in) {
    const RunConfig *r = in->run;
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    char hdf5[32], mpi[256];
    snprintf(hdf5, sizeof hdf5, "%u.%u.%u", maj, min, rel);
    comm_library_version(mpi, sizeof mpi);
    json_t *j = json_pack(
        "{s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:s, s:{s:f, s:f, s:I, s:i, s:s}, "
        "s:{s:s, s:s, s:s}, s:{s:i, s:i, s:i, s:i, s:i, s:s, s:i}, s:{s:s, s:s, s:s, s:s, s:s}}",
        "engine", HL_VERSION, "model", "path", in->model_path, "sha256", in->model_sha256,
        "questions", "path", in->bench->questions, "sha256", in->questions_sha256, "model_id",
        in->model_id, "prompt_rule", HL_PROMPT_RULE, "generation", "temperature",
        in->gen->temperature, "top_p", in->gen->top_p, "seed", (json_int_t)in->gen->seed,
        "max_new_tokens", in->max_new_tokens, "decoding",
        in->gen->temperature > 0 ? "sample" : "greedy", "benchmark", "name", in->bench->name,
        "kind", bench_kind_name(in->bench->kind), "images",
        in->bench->images ? in->bench->images : "", "run", "dp", r->dp, "pp", r->pp, "tp", r->tp,
        "batch_size", r->batch_size, "micro_batches", r->micro_batches, "backend", r->backend,
        "threads", r->threads, "libraries", "hdf5", hdf5, "mpi", mpi, "jansson", JANSSON_VERSION,
        "yaml", yaml_get_version_string(), "libpng", PNG_LIBPNG_VER_STRING);
    CHECK(j);
    return j;
}

/* The fields a resumed run must share with the run it continues. */
static const char *const binding[][2] = {
    {"model", "sha256"},    {"questions", "sha256"},          {"model_id", NULL},
    {"prompt_rule", NULL},  {"generation", "temperature"},    {"generation", "top_p"},
    {"generation", "seed"}, {"generation", "max_new_tokens"}, {"benchmark", "kind"},
};

char *record_mismatch(const json_t *old, const json_t *cur) {
    for (size_t i = 0; i < sizeof binding / sizeof *binding; i++) {
        const json_t *a = json_object_get(old, binding[i][0]),
                     *b = json_object_get(cur, binding[i][0]);
        if (binding[i][1]) {
            a = a ? json_object_get(a, binding[i][1]) : NULL;
            b = b ? json_object_get(b, binding[i][1]) : NULL;
        }
        if (a && b && json_equal(a, b)) continue;
        char *sa = a ? json_dumps(a, JSON_ENCODE_ANY) : hl_strdup("(missing)");
        char *sb = b ? json_dumps(b, JSON_ENCODE_ANY) : hl_strdup("(missing)");
        char buf[1024];
        snprintf(buf, sizeof buf, "%s%s%s: %s before, %s now", binding[i][0],
                 binding[i][1] ? "." : "", binding[i][1] ? binding[i][1] : "", sa, sb);
        free(sa), free(sb);
        return hl_strdup(buf);
    }
    return NULL;
}

/* OpenSSL's SHA-256 uses the CPU's SHA instructions (about 2 GB/s where
 * they exist, against ~0.1 GB/s for the portable code): a 14 GB model is
 * hashed in seconds. */
void record_file_sha256(const char *path, char out[65]) {
    FILE *f = hl_fopen(path, "rb");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) hl_fail("%s: SHA-256 unavailable", path);
    size_t cap = 4 << 20, n;
    uint8_t *buf = hl_malloc(cap);
    while ((n = fread(buf, 1, cap, f)) > 0)
        if (EVP_DigestUpdate(md, buf, n) != 1) hl_fail("%s: SHA-256 failed", path);
    if (ferror(f)) hl_fail("%s: read error", path);
    fclose(f);
    free(buf);
    uint8_t dg[32];
    unsigned len = 0;
    if (EVP_DigestFinal_ex(md, dg, &len) != 1 || len != 32) hl_fail("%s: SHA-256 failed", path);
    EVP_MD_CTX_free(md);
    sha256_to_hex(dg, out);
}
