/* LLaMA decoder with the HyperLLaVA language expert (docs/model.md §5).
 *
 * One Llm holds what one rank owns: the blocks [block0, block0+n_blocks) of
 * its pipeline stage, tensor-parallel shards of each (q/k/v and gate/up keep
 * output rows, o and down keep input columns; one all-reduce after each),
 * the token embedding on the first stage and the final norm + a vocabulary
 * slice of the LM head on the last. Rows of many sequences are computed
 * together; each sequence's rows are contiguous and described by a SeqSpan,
 * and nothing a row computes depends on the other rows. */
#ifndef HL_LLM_H
#define HL_LLM_H

#include "comm/comm.h"
#include "io/weights.h"
#include "kernels/ctx.h"
#include "kernels/weight.h"
#include "model/config.h"
#include "model/expert.h"

typedef struct {
    float *ln1, *ln2;    /* [d] */
    Weight q, k, v;      /* [d_l, d] */
    Weight o;            /* [d, d_l] */
    Weight gate, up;     /* [I_l, d] */
    Weight down;         /* [d, I_l] */
    PriorEncoder *prior; /* posterior blocks of a model with the language expert */
} LlmBlock;

typedef struct {
    int d, heads_l, head_dim, d_l, I_l, vocab, vocab0, vocab_l, max_pos;
    int layers, guide_layer, lang_expert;
    float eps, theta;
    int block0, n_blocks;
    int has_embed, has_head;
    Weight embed; /* [vocab, d] */
    LlmBlock *blocks;
    float *norm;    /* [d] */
    Weight lm_head; /* [vocab_l, d] */
    Hypernet hyper; /* language hypernetwork (when this rank owns a posterior block) */
    int has_hyper;
} Llm;

/* Per-sequence state on one rank: KV cache of the rank's blocks, the
 * language guidance and the adapters of its posterior blocks. */
typedef struct {
    int cap, len;    /* positions allocated / filled */
    float *k, *v;    /* [n_blocks][cap * d_l], kernels/attention.h layout (context memory) */
    float *guidance; /* [d], valid when has_guidance */
    int has_guidance;
    Adapter *adapters; /* [n_blocks]; w_d == NULL until generated */
} SeqState;

/* Rows of one sequence inside a batch of rows. */
typedef struct {
    SeqState *st;
    int n_rows;  /* rows in this pass */
    int pos0;    /* position of the first row */
    int prefill; /* 1: these rows are the whole prompt (guidance is pooled from them) */
} SeqSpan;

typedef struct {
    int tp_rank, tp_size;
    int block0, n_blocks;
    int has_embed, has_head;
} LlmPart;

void llm_load(Llm *m, WeightFile *wf, const ModelConfig *c, const LlmPart *part);
/* The caches and adapters live in the context's memory; the guidance on the
 * host (it is what the guidance broadcast carries). */
void seq_state_init(const Ctx *ctx, SeqState *s, const Llm *m, int cap);
/* Grows the KV cache to cap positions (keeps what is there). */
void seq_state_reserve(const Ctx *ctx, SeqState *s, const Llm *m, int cap);
void seq_state_free(const Ctx *ctx, SeqState *s, const Llm *m);

/* Rows cross into the context's memory at the functions below: x and logits
 * are host memory, whatever the backend. */

/* x[row] = embedding of ids[row] for rows with ids >= 0 (others untouched). */
void llm_embed(const Ctx *ctx, const Llm *m, const int *ids, int n, float *x);
/* Runs the rank's blocks over rows x [R, d] in place. When the rank owns
 * block guide_layer-1, prefill spans get their guidance pooled; posterior
 * blocks generate a span's adapters from its guidance when missing. */
void llm_blocks(const Ctx *ctx, const Llm *m, float *x, const SeqSpan *spans, int n_spans,
                Group *tp);
/* Generates the adapters of the rank's posterior blocks from st->guidance. */
void llm_make_adapters(const Ctx *ctx, const Llm *m, SeqState *st);
/* logits [R, vocab_l] of the rank's vocabulary slice for rows x [R, d]. */
void llm_logits(const Ctx *ctx, const Llm *m, const float *x, int R, float *logits);

#endif
