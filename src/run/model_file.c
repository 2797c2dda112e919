#include "run/model_file.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/check.h"

Tokenizer *model_file_tokenizer(WeightFile *wf) {
    if (!wf_has(wf, "tokenizer/pieces"))
        hl_fail("%s: no tokenizer (group /tokenizer missing)", wf->path);
    int64_t nb, no, ns, nt;
    uint8_t *blob = wf_read_raw(wf, "tokenizer/pieces", &nb, 1);
    int64_t *offsets = wf_read_raw(wf, "tokenizer/offsets", &no, 8);
    float *scores = wf_read_raw(wf, "tokenizer/scores", &ns, 4);
    int32_t *types = wf_read_raw(wf, "tokenizer/types", &nt, 4);
    int64_t n = no - 1;
    if (n < 1 || ns != n || nt != n)
        hl_fail("%s: /tokenizer arrays disagree (%lld offsets, %lld scores, %lld types)", wf->path,
                (long long)no, (long long)ns, (long long)nt);
    const char *g = "tokenizer";
    TokenizerFlags fl = {
        .model_type = (int)wf_group_attr_int(wf, g, "model_type", 2),
        .add_dummy_prefix = (int)wf_group_attr_int(wf, g, "add_dummy_prefix", 1),
        .remove_extra_whitespaces = (int)wf_group_attr_int(wf, g, "remove_extra_whitespaces", 0),
        .escape_whitespaces = (int)wf_group_attr_int(wf, g, "escape_whitespaces", 1),
        .byte_fallback = (int)wf_group_attr_int(wf, g, "byte_fallback", 1),
        .unk_id = (int)wf_group_attr_int(wf, g, "unk_id", 0),
        .bos_id = (int)wf_group_attr_int(wf, g, "bos_id", 1),
        .eos_id = (int)wf_group_attr_int(wf, g, "eos_id", 2),
        .pad_id = (int)wf_group_attr_int(wf, g, "pad_id", -1),
    };
    char source[512];
    snprintf(source, sizeof source, "%s:/tokenizer", wf->path);
    Tokenizer *t = tokenizer_create(source, (int)n, blob, nb, offsets, scores, types, &fl);
    free(blob), free(offsets), free(scores), free(types);
    return t;
}

Tokenizer *model_file_load_tokenizer(const char *path) {
    WeightFile wf;
    wf_open(&wf, path);
    Tokenizer *t = model_file_tokenizer(&wf);
    wf_close(&wf);
    return t;
}
