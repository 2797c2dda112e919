/* Completing a tensor-parallel layer: the sum over the TP group of each
 * rank's partial result, for rows held in a context's memory. On the CPU the
 * rows go to MPI as they are. On a GPU, when the MPI library takes device
 * pointers (CUDA-aware), they go through a device exchange buffer MPI can
 * share between processes (stream-ordered pool memory cannot be); otherwise
 * they are staged through a page-locked host buffer (download, all-reduce,
 * upload). The sum's order is the MPI library's, fixed for a given group,
 * so neither path changes a bit. */
#ifndef HL_SHARD_H
#define HL_SHARD_H

#include "comm/comm.h"
#include "kernels/ctx.h"

void shard_sum(const Ctx *ctx, Group *tp, float *buf, long n);

#endif
