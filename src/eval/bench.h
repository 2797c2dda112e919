/* Benchmark kinds and one benchmark entry of an evaluation job.
 *
 * A job YAML lists benchmarks; the job parser fills one BenchSpec per entry.
 * The kind decides the question format, the prompt rule, the answers file's
 * extra keys and the scorer (see docs/benchmarks.md for the data layout each
 * kind expects, in LLaVA-1.5's playground/data/eval/<benchmark> layout). */
#ifndef HL_BENCH_H
#define HL_BENCH_H

typedef enum {
    BENCH_VQAV2,
    BENCH_GQA,
    BENCH_VIZWIZ,
    BENCH_TEXTVQA,
    BENCH_POPE,
    BENCH_MME,
    BENCH_SEED,
    BENCH_SQA,
    BENCH_MMBENCH,
    BENCH_MMBENCH_CN,
    BENCH_LLAVA_BENCH,
    BENCH_MMVET,
    BENCH_COUNT
} BenchKind;

typedef struct { /* one benchmark entry of a job */
    char *name;  /* user's label, default = kind name; output files are named after it */
    BenchKind kind;
    char *questions; /* question file (jsonl / json / tsv) */
    char *images;    /* image folder (NULL for MMBench) */
    char
        *annotations; /* ground truth for local scoring (file or folder; kind-specific; optional) */
    int batch_size;   /* 0 = job default */
    int max_new_tokens; /* 0 = LLaVA-1.5 default for the kind (bench_default_max_new_tokens) */
    int limit;          /* 0 = all questions; else the first N (smoke runs) */
} BenchSpec;

/* Canonical lower-case name of a kind: "vqav2", "gqa", "vizwiz", "textvqa", "pope",
 * "mme", "seed", "sqa", "mmbench", "mmbench_cn", "llava_bench", "mmvet". */
const char *bench_kind_name(BenchKind k);
/* Parses a kind name (case-insensitive; '-' and '_' are the same; a few aliases such as
 * "scienceqa", "seed_bench", "llava-bench-in-the-wild", "mm-vet" are accepted).
 * Returns 1 and sets *k on success, 0 for an unknown name. */
int bench_kind_parse(const char *s, BenchKind *k);
/* LLaVA-1.5's max_new_tokens for the kind: 128, or 1024 for SQA, MMBench(-CN),
 * LLaVA-Bench and MM-Vet. */
int bench_default_max_new_tokens(BenchKind k);
/* Which BenchSpec paths the kind needs: bit 0 questions, bit 1 images (0 for MMBench:
 * images are inside the TSV), bit 2 annotations are used by the local scorer. */
enum { BENCH_NEEDS_QUESTIONS = 1, BENCH_NEEDS_IMAGES = 2, BENCH_USES_ANNOTATIONS = 4 };
int bench_kind_paths(BenchKind k);
/* Checks a filled spec: the paths its kind needs are set (one-line hl_fail naming
 * the benchmark and the missing key); fills name (kind name) and max_new_tokens
 * (kind default) when they are unset. */
void bench_spec_finish(BenchSpec *s);
/* Frees the strings of a spec (not the struct). */
void bench_spec_free(BenchSpec *s);

#endif
