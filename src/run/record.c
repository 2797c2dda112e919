#define _XOPEN_SOURCE 700 /* nftw */
#include "run/record.h"

#include <hdf5.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <png.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
    json_object_set_new(j, "engine_compat", json_string(HL_ANSWER_COMPAT));
    json_object_set_new(j, "tokenizer",
                        json_pack("{s:s, s:s}", "source", "model file", "rule", HL_TOKENIZER_RULE));
    json_object_set_new(j, "images",
                        json_pack("{s:s, s:I, s:s}", "path",
                                  in->bench->images ? in->bench->images : "", "files",
                                  (json_int_t)in->images_files, "sha256",
                                  in->images_sha256 ? in->images_sha256 : ""));
    return j;
}

/* The fields a resumed run must share with the run it continues. */
static const char *const binding[][2] = {
    {"engine_compat", NULL},
    {"model", "sha256"},
    {"tokenizer", "rule"},
    {"questions", "sha256"},
    {"images", "sha256"},
    {"model_id", NULL},
    {"prompt_rule", NULL},
    {"generation", "temperature"},
    {"generation", "top_p"},
    {"generation", "seed"},
    {"generation", "max_new_tokens"},
    {"benchmark", "kind"},
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
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        hl_fail("%s: SHA-256 unavailable", path);
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

static const char *recover =
    "to recover, restore run.json from a copy, or remove answers.jsonl and samples.jsonl "
    "to answer this benchmark again";

json_t *record_load(const char *path, char **why) {
    char m[1024];
    *why = NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(m, sizeof m, "no run record (run.json) beside the answers; %s", recover);
        *why = hl_strdup(m);
        return NULL;
    }
    if (st.st_size == 0) {
        snprintf(m, sizeof m, "the run record is empty (a write cut by a kill or a full disk); %s",
                 recover);
        *why = hl_strdup(m);
        return NULL;
    }
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j || !json_is_object(j) || !json_is_string(json_object_get(j, "engine"))) {
        if (j)
            snprintf(m, sizeof m, "not a run record (no 'engine' key); %s", recover);
        else
            snprintf(m, sizeof m, "the run record is damaged (line %d: %s); %s", err.line, err.text,
                     recover);
        json_decref(j);
        *why = hl_strdup(m);
        return NULL;
    }
    return j;
}

json_t *record_resumed(const json_t *old, const json_t *cur, long kept) {
    json_t *rec = json_deep_copy(old);
    json_t *list = json_object_get(rec, "resumes");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(rec, "resumes", list);
    }
    char when[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *e = json_pack("{s:s, s:I}", "time", when, "answers_kept", (json_int_t)kept);
    const char *keep[] = {"engine", "engine_compat", "run", "libraries", "model", "images"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
        json_t *v = json_object_get(cur, keep[i]);
        if (v) json_object_set(e, keep[i], v);
    }
    json_array_append_new(list, e);
    return rec;
}

/* ---- images folder digest ---- */

typedef struct {
    char **paths;
    size_t n, cap;
} PathList;

static PathList *walk_list;
static size_t walk_root;

static int walk_fn(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)ftw;
    if (type != FTW_F || !S_ISREG(st->st_mode)) return 0;
    PathList *l = walk_list;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->paths = hl_realloc(l->paths, l->cap * sizeof *l->paths);
    }
    l->paths[l->n++] = hl_strdup(path);
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void record_folder_digest(const char *dir, char out[65], long *files) {
    PathList l = {0};
    if (dir && *dir) {
        walk_list = &l, walk_root = strlen(dir);
        /* a folder that cannot be listed is recorded as empty: the images
         * themselves fail with their own message when read */
        (void)nftw(dir, walk_fn, 32, FTW_PHYS);
        qsort(l.paths, l.n, sizeof *l.paths, cmp_str);
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) hl_fail("SHA-256 unavailable");
    uint8_t head[4096];
    for (size_t i = 0; i < l.n; i++) {
        const char *rel = l.paths[i] + walk_root;
        FILE *f = fopen(l.paths[i], "rb");
        size_t got = f ? fread(head, 1, sizeof head, f) : 0;
        long size = -1;
        if (f && fseek(f, 0, SEEK_END) == 0) size = ftell(f);
        if (f) fclose(f);
        char sz[32];
        int szn = snprintf(sz, sizeof sz, "%ld", size);
        EVP_DigestUpdate(md, rel, strlen(rel) + 1);
        EVP_DigestUpdate(md, sz, (size_t)szn + 1);
        EVP_DigestUpdate(md, head, got);
        free(l.paths[i]);
    }
    free(l.paths);
    uint8_t dg[32];
    unsigned len = 0;
    if (EVP_DigestFinal_ex(md, dg, &len) != 1 || len != 32) hl_fail("SHA-256 failed");
    EVP_MD_CTX_free(md);
    sha256_to_hex(dg, out);
    *files = (long)l.n;
}
