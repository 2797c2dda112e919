/* Choosing the next token from logits split over the vocabulary across the
 * tensor-parallel group, without gathering them.
 *   greedy  (temperature 0): local argmax, then MPI_MAXLOC over the group.
 *   sample: softmax with temperature, top-p nucleus, one uniform draw; the max,
 *           the normaliser and the nucleus threshold are found with
 *           reductions of scalars. The draw is a hash of (seed, request id,
 *           step), so a sample's tokens do not depend on its batch. */
#ifndef HL_SAMPLER_H
#define HL_SAMPLER_H

#include <stdint.h>

#include "comm/comm.h"

typedef struct {
    double temperature; /* 0 = greedy */
    double top_p;       /* 1 = no nucleus cut */
    uint64_t seed;
    int ignore_eos; /* benchmarks: every sample runs to max_new tokens */
} GenSettings;

/* logits: n rows of vocab_l values (this rank's slice starting at vocab0).
 * keys[i] identifies (request, step) of row i. out[i]: global token id. */
void sampler_choose(const GenSettings *gs, float *logits, int n, int vocab_l, int vocab0,
                    const uint64_t *keys, Group *tp, int *out);
/* Top-k (global ids and values, descending, ties by lower id) of each row. */
void sampler_topk(const float *logits, int n, int vocab_l, int vocab0, int k, Group *tp, int *ids,
                  float *vals);
uint64_t sampler_key(uint64_t request_id, int step);

#endif
