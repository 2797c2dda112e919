/* Benchmark kind names, defaults and spec validation. */
#include "eval/bench.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"

static const char *const kind_names[BENCH_COUNT] = {
    "vqav2", "gqa", "vizwiz",  "textvqa",    "pope",        "mme",
    "seed",  "sqa", "mmbench", "mmbench_cn", "llava_bench", "mmvet",
};

const char *bench_kind_name(BenchKind k) {
    CHECK(k >= 0 && k < BENCH_COUNT);
    return kind_names[k];
}

/* Lower-case, '-' -> '_', into a fixed buffer; returns 0 when too long. */
static int canon(const char *s, char *out, size_t cap) {
    size_t n = strlen(s);
    if (n + 1 > cap) return 0;
    for (size_t i = 0; i <= n; i++) {
        char c = (char)tolower((unsigned char)s[i]);
        out[i] = c == '-' ? '_' : c;
    }
    return 1;
}

int bench_kind_parse(const char *s, BenchKind *k) {
    static const struct {
        const char *alias;
        BenchKind kind;
    } aliases[] = {
        {"vqa_v2", BENCH_VQAV2},
        {"scienceqa", BENCH_SQA},
        {"scienceqa_img", BENCH_SQA},
        {"sqa_img", BENCH_SQA},
        {"seed_bench", BENCH_SEED},
        {"seedbench", BENCH_SEED},
        {"mmbench_en", BENCH_MMBENCH},
        {"mmbenchcn", BENCH_MMBENCH_CN},
        {"llava_bench_in_the_wild", BENCH_LLAVA_BENCH},
        {"llavabench", BENCH_LLAVA_BENCH},
        {"llava_in_the_wild", BENCH_LLAVA_BENCH},
        {"mm_vet", BENCH_MMVET},
    };
    char c[64];
    if (!s || !canon(s, c, sizeof c)) return 0;
    for (int i = 0; i < BENCH_COUNT; i++)
        if (!strcmp(c, kind_names[i])) return *k = (BenchKind)i, 1;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(c, aliases[i].alias)) return *k = aliases[i].kind, 1;
    return 0;
}

int bench_default_max_new_tokens(BenchKind k) {
    switch (k) {
    case BENCH_SQA:
    case BENCH_MMBENCH:
    case BENCH_MMBENCH_CN:
    case BENCH_LLAVA_BENCH:
    case BENCH_MMVET:
        return 1024;
    default:
        return 128;
    }
}

int bench_kind_paths(BenchKind k) {
    switch (k) {
    case BENCH_MMBENCH:
    case BENCH_MMBENCH_CN:
        return BENCH_NEEDS_QUESTIONS; /* answers come from the TSV itself */
    case BENCH_VQAV2:
    case BENCH_VIZWIZ:
    case BENCH_GQA:
    case BENCH_TEXTVQA:
    case BENCH_POPE:
    case BENCH_MME:
    case BENCH_SEED:
    case BENCH_SQA:
        return BENCH_NEEDS_QUESTIONS | BENCH_NEEDS_IMAGES | BENCH_USES_ANNOTATIONS;
    default:
        return BENCH_NEEDS_QUESTIONS | BENCH_NEEDS_IMAGES;
    }
}

void bench_spec_finish(BenchSpec *s) {
    CHECK(s->kind >= 0 && s->kind < BENCH_COUNT);
    const char *label = s->name ? s->name : kind_names[s->kind];
    int need = bench_kind_paths(s->kind);
    if ((need & BENCH_NEEDS_QUESTIONS) && !s->questions)
        hl_fail("benchmark '%s': missing key 'questions'", label);
    if ((need & BENCH_NEEDS_IMAGES) && !s->images)
        hl_fail("benchmark '%s': missing key 'images'", label);
    if (s->batch_size < 0) hl_fail("benchmark '%s': batch_size must be >= 0", label);
    if (s->max_new_tokens < 0) hl_fail("benchmark '%s': max_new_tokens must be >= 0", label);
    if (s->limit < 0) hl_fail("benchmark '%s': limit must be >= 0", label);
    if (!s->name) s->name = hl_strdup(kind_names[s->kind]);
    if (!s->max_new_tokens) s->max_new_tokens = bench_default_max_new_tokens(s->kind);
}

void bench_spec_free(BenchSpec *s) {
    free(s->name);
    free(s->questions);
    free(s->images);
    free(s->annotations);
    s->name = s->questions = s->images = s->annotations = NULL;
}
