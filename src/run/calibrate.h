/* The node rates plan's cost model needs (docs/plan.md), measured with every
 * rank busy at once, as in a run: the GEMM's GFLOP/s on a prefill-shaped
 * product, the weight-streaming GB/s of one-row products over weights far
 * beyond the caches, and with two ranks or more the message latency and
 * bandwidth between ranks 0 and 1. The slowest rank's rates are written to
 * json (run/cost.h: calibration_save), since it paces the pipeline. */
#ifndef HL_CALIBRATE_H
#define HL_CALIBRATE_H

#include "util/dtype.h"

/* Starts MPI (argc, argv as main has them), measures for about `budget`
 * seconds per rate with `threads` threads per rank (or, cuda set, on each
 * rank's GPU) and weights held as dt, writes json on rank 0 and prints what
 * it found; finalizes MPI. */
void run_calibrate(int *argc, char ***argv, const char *json, int threads, Dtype dt, double budget,
                   int cuda);

#endif
