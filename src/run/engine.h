/* The engine of one rank: its part of the model and the pipeline scheduler
 * of batched generation (docs/parallel.md, docs/determinism.md); the model's
 * math is model/llava.h (docs/model.md).
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
#include "model/llava.h"
#include "run/request.h"
#include "run/sampler.h"

typedef struct {
    double compute_s; /* model math on this rank */
    double vision_s;  /* part of compute_s: vision tower + projector */
    double wait_s;    /* blocked waiting for activations/tokens (bubble) */
    double guidance_wait_s;
    uint64_t messages;
    uint64_t prefill_rows;
    double prefill_s, decode_s;
} EngineStats;

typedef struct {
    Comm *comm;
    Ctx ctx; /* where this rank's kernels run */
    Llava model;
    int stage, first_block, n_blocks;
    int is_first, is_last;
    int prev, next, first, last; /* world ranks of neighbouring stages (same dp, tp) */
    Group guide;                 /* stages from the guidance stage to the end (same dp, tp) */
    int guide_stage;             /* stage owning block guide_layer-1; -1 without language expert */
    int micro_batches;
    GenSettings gen;
    int trace_k; /* top-k kept per step (0: none) */
    uint64_t weight_bytes, bytes_read;
    EngineStats stats;
} Engine;

/* Loads this rank's part of the model from an open weight file whose config
 * c was read from it. stage_blocks: blocks per stage (comm->pp entries) or
 * NULL for layout_stage_blocks' even split. Collective over the world. */
void engine_init(Engine *e, Comm *comm, WeightFile *wf, const ModelConfig *c,
                 const int *stage_blocks, const Ctx *ctx);
/* Collective over the replica. results: n entries, filled on the first stage. */
void engine_generate(Engine *e, const GenRequest *reqs, int n, GenResult *results);

#endif
