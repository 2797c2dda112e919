/* LLaVA-1.5 projector (mlp2x_gelu) with the visual experts (docs/model.md §3):
 *   none    V = L2(L1(f))
 *   layer1  V = L2(L1(f) + E_V1(f))
 *   layer2  V = L2(L1(f)) + E_V2(L1(f))
 *   both    V = L2(L1(f) + E_V1(f)) + E_V2(L1(f))
 * with L1 = GELU(Linear1). Both experts take the guidance f (pooled). The
 * projector is small and replicated on the ranks of stage 0. */
#ifndef HL_PROJECTOR_H
#define HL_PROJECTOR_H

#include "io/weights.h"
#include "kernels/ctx.h"
#include "model/config.h"
#include "model/expert.h"

typedef struct {
    int C, d;
    Weight w1, w2; /* [d, C], [d, d] */
    float *b1, *b2;
    int has_v1, has_v2;
    Hypernet hn1, hn2;
    PriorEncoder pe1, pe2;
} Projector;

/* What the experts made for one image (for golden tests and the trace). */
typedef struct {
    float *guidance; /* [C] normalised, when an expert exists */
    Adapter a1, a2;
} ProjectorTrace;

void projector_load(Projector *p, WeightFile *wf, const ModelConfig *c);
/* feats [n_tok, C] of one image → out [n_tok, d], both in context memory
 * (kernels/ctx.h), as the trace is. trace may be NULL. */
void projector_forward(const Ctx *ctx, const Projector *p, const float *feats, int n_tok,
                       float *out, ProjectorTrace *trace);
void projector_trace_free(const Ctx *ctx, ProjectorTrace *t);

#endif
