/* The cost model behind `hyperllava plan` (docs/plan.md): floating-point
 * operations and bytes read from memory of the vision tower, the prefill
 * and the decode of a benchmark on a rank layout, and a wall-time estimate
 * from the rates `hyperllava bench --calibrate` measured on the target node.
 *
 * Counted: every matrix product (2 operations per multiply-add, attention's
 * QK^T and AV included), the weights streamed once per pass of a micro-batch
 * (at the held precision), the KV cache read by attention; for the time,
 * also attention's scores (the softmax) and the elements of the row
 * operations (norms, RoPE, KV writes, residual adds, activations). Not
 * counted: embedding lookups, sampling, image decoding. */
#ifndef HL_COST_H
#define HL_COST_H

#include "model/config.h"
#include "run/config.h"

typedef struct {
    double flops, bytes; /* operations (attn included) and bytes read */
    double attn;         /* attention's QK^T and AV operations (4 head_dim per score) */
    double scores;       /* attention scores (one per query row, key and head) */
    double pairs;        /* attention's query rows x heads */
    double elems;        /* elements of the row operations */
    double rows;         /* rows through a block's (or layer's) row operations */
} Cost;

/* What a benchmark asks of the model. */
typedef struct {
    long questions;  /* prompts */
    long images;     /* prompts with an image (<= questions) */
    int text_tokens; /* text positions of each prompt (template included) */
    int new_tokens;  /* tokens generated per answer (>= 1; the first ends the prefill) */
    int batch;       /* samples per replica batch */
} CostWork;

/* Rates of one rank with every rank of the node busy (bench --calibrate). */
typedef struct {
    char path[512], host[128], date[32], backend[8], dtype[8];
    int threads, ranks;
    double gemm_gflops;       /* sustained GEMM rate */
    double stream_gbps;       /* weight streaming (one-row products over matrices beyond cache) */
    double stream_alone_gbps; /* the same with one rank of the node busy (0: not measured) */
    double p2p_latency_s;     /* message latency; 0: not measured (one rank) */
    double p2p_gbps;          /* message bandwidth; 0: not measured */
    /* 0 where a file lacks them: attention at the GEMM rate, the rest free */
    double attn_gflops;   /* attention's products per score (4 head_dim operations) */
    double attn_score_ns; /* per score besides them (the softmax) */
    double attn_row_ns;   /* per query row and head */
    double rowop_ns;      /* per element of the row operations */
    double rowop_row_ns;  /* per row through a block's row operations */
} Calibration;

typedef struct {
    Cost vision, prefill, decode; /* the model's work (as on one rank), all replicas */
    double bubble;                /* (p-1)/(m+p-1) for a full batch's m micro-batches */
    /* With rates: wall time of the busiest replica and its parts. */
    double time_s, vision_s, prefill_s, decode_s, comm_s;
} CostEstimate;

/* Estimates a benchmark on cfg's layout (dp, pp, tp, stages, micro-batches,
 * dtype). cal may be NULL (no times). */
void cost_estimate(const ModelConfig *c, const RunConfig *cfg, const CostWork *w,
                   const Calibration *cal, CostEstimate *out);

/* Reads a calibration file (hl_fail naming the file and key on a problem). */
void calibration_load(const char *path, Calibration *cal);
/* Writes one (atomically; hl_fail on error). */
void calibration_save(const char *path, const Calibration *cal);

#endif
