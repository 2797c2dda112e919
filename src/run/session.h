/* A run of the engine on this rank: MPI up, the layout checked on every rank
 * before any weight is read, the grid built, this rank's shard loaded. Also
 * the helpers every command that generates shares: splitting work over the
 * data-parallel replicas, batching, gathering results to rank 0 in input
 * order, and the per-rank metrics. */
#ifndef HL_SESSION_H
#define HL_SESSION_H

#include <stdint.h>

#include "comm/comm.h"
#include "run/config.h"
#include "run/engine.h"
#include "text/tokenizer.h"

typedef struct {
    Comm comm;
    RunConfig cfg;
    Engine engine;
    Tokenizer *tok; /* on first-stage ranks */
    int writer;     /* first stage, tp rank 0: holds its replica's results */
    double t_open, load_s;
} Session;

/* Checks the model file and the layout (before MPI: a bad file or layout is
 * one line from rank 0 and exit 1 on every rank), then starts MPI and loads. */
void session_open(Session *s, int *argc, char ***argv, const RunConfig *cfg,
                  const GenSettings *gen);
void session_close(Session *s);

/* The replica's share [lo, hi) of n items: contiguous blocks, in order. */
void session_share(const Session *s, int n, int *lo, int *hi);

/* Results of this rank's replica for items [lo, hi) (writer ranks; others pass
 * NULL) are gathered to world rank 0: returns n results in input order there,
 * NULL elsewhere. Collective over the world. */
GenResult *session_gather(Session *s, const GenResult *mine, int lo, int hi, int n);

/* Per-rank metrics gathered to rank 0 and written as JSON (path on rank 0;
 * collective). extra: a JSON object text merged at the top level, or NULL. */
void session_write_metrics(Session *s, const char *path, const char *extra);

#endif
