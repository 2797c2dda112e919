/* Fuzz target: the question readers. Each input is read as a question JSON
 * Lines file (POPE), a ScienceQA JSON list and an MMBench TSV (with base64
 * images, one item per rotation too), and as a plain TSV table. */
#include "eval/questions.h"
#include "eval/tsv.h"
#include "fuzz.h"

static void questions(const char *path, BenchKind kind, int all_rounds) {
    BenchSpec spec = {.name = "fuzz", .kind = kind, .questions = (char *)path, .images = "images"};
    EvalReadOpts o = {.mmbench_all_rounds = all_rounds};
    EvalSet *s = eval_read(&spec, &o);
    for (size_t i = 0; i < s->n; i++) {
        free(eval_item_key(&s->items[i]));
        (void)eval_item_has_image(&s->items[i]);
    }
    eval_set_free(s);
}

static void table(const char *path) {
    TsvTable *t = tsv_read(path);
    (void)tsv_col(t, "question");
    tsv_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size, ".txt");
    FUZZ_TRY(questions(path, BENCH_POPE, 0));
    FUZZ_TRY(questions(path, BENCH_SQA, 0));
    FUZZ_TRY(questions(path, BENCH_MMBENCH, size % 2));
    FUZZ_TRY(table(path));
    return 0;
}
