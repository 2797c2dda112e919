/* What the engine is asked and what it answers, one sample each. */
#ifndef HL_REQUEST_H
#define HL_REQUEST_H

#include <stdint.h>

#include "io/image.h"

typedef struct {
    int64_t id;     /* the question's index: orders results, keys sampling */
    ImageRef image; /* none when the prompt has no image marker */
    const int *ids; /* spliced prompt ids; HL_IMAGE_TOKEN marks the image */
    int n_ids;
    int max_new;
    const char *label; /* names the request in messages; NULL: "request <id>" */
} GenRequest;

typedef struct {
    int *tokens; /* generated ids (EOS included when produced) */
    int n_tokens;
    int prompt_rows; /* prompt positions: text ids + visual tokens */
    int img_w, img_h;
    char img_mode[8];
    double seconds; /* batch start to this sample's last token */
    int rank;       /* world rank that answered (its replica's first-stage writer) */
    int *topk_ids;  /* [n_tokens][trace_k] when tracing */
    float *topk_vals;
} GenResult;

void gen_result_free(GenResult *r);

#endif
