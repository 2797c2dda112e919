/* LLaVA-Bench-in-the-Wild and MM-Vet: GPT-judged, so there is no local score.
 * LLaVA-Bench's answers file is what llava/eval/eval_gpt_review_bench.py reads as is;
 * MM-Vet's grader reads {"v1_<question_id>": answer text} (scripts/convert_mmvet_for_eval.py,
 * json.dump with indent=2), written as <name>_mmvet.json. */
#include <stdlib.h>

#include "eval/jsonio.h"
#include "eval/score_internal.h"

void score_llava_bench(ScoreCtx *c) {
    score_note(c, "GPT-judged: review the answers file with LLaVA's eval_gpt_review_bench.py");
}

void score_mmvet(ScoreCtx *c) {
    json_t *o = json_object();
    for (size_t i = 0; i < c->answers->n; i++) {
        char *id = json_id_str(c->answers->a[i].question_id);
        StrBuf k = {0};
        sb_printf(&k, "v1_%s", id);
        json_object_set_new(o, k.s, json_string(c->answers->a[i].text));
        sb_free(&k);
        free(id);
    }
    char *path = score_out_path(c, "_mmvet.json");
    if (path) pyjson_write_file(path, o, 2), score_add_file(c, path);
    json_decref(o);
    score_note(c, "GPT-judged: grade %s with MM-Vet's evaluator",
               path ? path : "the conversion json (give an output folder)");
    free(path);
}
