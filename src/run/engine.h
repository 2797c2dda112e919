/* The engine of one rank: its shard of the model and the batched, pipelined
 * generation loop (DESIGN §4).
 *
 * Every rank of a data-parallel replica calls engine_generate with the same
 * batch size; only the first stage reads the requests (images, prompt ids).
 * The batch splits into micro-batches that flow through the stages as
 * activation messages; the last stage chooses tokens (MAXLOC over TP) and
 * sends them back to the first, which embeds them for the next step. The
 * stage owning block guide_layer-1 broadcasts each sample's language guidance
 * to the later stages as soon as it has it, so they make their adapters
 * before the activations arrive. */
#ifndef HL_ENGINE_H
#define HL_ENGINE_H

#include <stdint.h>

#include "comm/comm.h"
#include "io/weights.h"
#include "kernels/ctx.h"
#include "model/config.h"
#include "model/llm.h"
#include "model/projector.h"
#include "model/vision.h"
#include "run/sampler.h"

typedef struct {
    int64_t id;                /* the question's index: orders results, keys sampling */
    const char *image_path;    /* image file, or */
    const uint8_t *image_data; /* encoded image bytes (MMBench), with */
    size_t image_size;
    const char *image_name; /* name used in errors for image_data */
    int image_raw;          /* LLaVA pads before converting to RGB (ScienceQA, MMBench) */
    const int *ids;         /* spliced prompt ids; HL_IMAGE_TOKEN marks the image */
    int n_ids;
    int max_new;
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

typedef struct {
    double compute_s; /* model math on this rank */
    double vision_s;  /* part of compute_s: vision tower + projector */
    double wait_s;    /* blocked waiting for activations/tokens (bubble) */
    double guidance_wait_s;
    uint64_t bytes_sent, messages;
    uint64_t prefill_rows, decode_rows;
    double prefill_s, decode_s;
} EngineStats;

typedef struct {
    Comm *comm;
    Ctx ctx; /* where this rank's kernels run */
    ModelConfig cfg;
    int stage, n_stages, first_block, n_blocks;
    int is_first, is_last;
    int prev, next, first, last; /* world ranks of neighbouring stages (same dp, tp) */
    Vision vision;
    Projector proj;
    Llm llm;
    Group guide;     /* stages from the guidance stage to the end (same dp, tp) */
    int guide_stage; /* stage owning block guide_layer-1; -1 without language expert */
    int micro_batches;
    GenSettings gen;
    int trace_k; /* top-k kept per step (0: none) */
    uint64_t weight_bytes, bytes_read;
    EngineStats stats;
} Engine;

/* stage_blocks: blocks per stage (n_stages entries) or NULL for an even split. */
/* hold: the precision the rank keeps its weight matrices at. */
void engine_init(Engine *e, Comm *comm, const char *model_path, const int *stage_blocks,
                 const Ctx *ctx, Dtype hold);
/* Collective over the replica. results: n entries, filled on the first stage. */
void engine_generate(Engine *e, const GenRequest *reqs, int n, GenResult *results);
void gen_result_free(GenResult *r);
/* Blocks per stage for an even split: earlier stages take the remainder. */
void engine_even_split(int layers, int stages, int *blocks);

#endif
