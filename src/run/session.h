/* A run of the engine on this rank, and the one request path every command
 * that generates goes through.
 *
 * session_open checks the model file and the layout (before MPI: a bad file
 * or layout is one line from rank 0 and exit 1 on every rank), starts MPI,
 * builds the grid and loads this rank's part, reading the weight file's
 * attributes once. session_run answers a list of items: it splits them over
 * the data-parallel replicas round by round, batches them, tokenizes the
 * prompts, calls engine_generate and gathers the results to rank 0 in item
 * order. The commands never see MPI: what they need of it is here. */
#ifndef HL_SESSION_H
#define HL_SESSION_H

#include <jansson.h>
#include <stdint.h>

#include "comm/comm.h"
#include "run/config.h"
#include "run/engine.h"
#include "text/tokenizer.h"
#include "util/check.h"

typedef struct {
    Comm comm;
    RunConfig cfg;
    Engine engine;
    const ModelConfig *model; /* the model's numbers (every rank) */
    Tokenizer *tok;           /* on first-stage ranks */
    int rank, is_root;        /* world rank; rank 0 prints and writes files */
    int is_first;             /* first pipeline stage: reads requests, holds the tokenizer */
    Layout layout;
    int writer; /* first stage, tp rank 0: holds its replica's results */
    double t_open, load_s;
    double loadavg_start; /* the node's 1-minute load average when the run opened (-1: unknown) */
} Session;

void session_open(Session *s, int *argc, char ***argv, const RunConfig *cfg,
                  const GenSettings *gen);
void session_close(Session *s);

/* One item of a run, described on first-stage ranks. */
typedef struct {
    char *prompt;   /* malloc'd text to tokenize (template applied; session_run frees it), or */
    const int *ids; /* prompt ids as they are (HL_IMAGE_TOKEN marks the image) */
    int n_ids;
    ImageRef image;
    char *label; /* malloc'd name for messages ("questions.jsonl: question_id 42"), or NULL */
} SessionItem;

typedef struct {
    int n;          /* items 0..n-1 */
    int start;      /* first item to answer (a resumed run) */
    int batch_size; /* per replica; 0: the run config's */
    int max_new;
    /* first-stage ranks: describe item i */
    void (*item)(void *ctx, int i, SessionItem *out);
    /* rank 0: the result of item i, in item order; NULL: results are only
     * counted, never gathered (throughput runs) */
    void (*result)(void *ctx, int i, const GenResult *r);
    /* rank 0: items [start, done) are answered (after each round); may be NULL */
    void (*round)(void *ctx, int done);
    void *ctx;
} SessionJob;

typedef struct {
    double wall_s, prefill_s, decode_s; /* the slowest rank's */
    long samples, tokens, prompt_rows;  /* answered, over all replicas */
} SessionTotals;

/* Answers items [start, n) in rounds of batch_size per replica: replica d
 * takes the d-th contiguous share of each round. Timed from a world barrier
 * to a world barrier. Collective over the world. */
SessionTotals session_run(Session *s, const SessionJob *job);

/* Rank 0's bytes to every rank. Collective. */
void session_bcast(Session *s, void *buf, size_t bytes);
/* 1 if any rank passed a non-zero flag. Collective. */
int session_any(Session *s, int flag);
/* Every rank calls this with the same decision: rank 0 prints msg, all exit(1). */
HL_NORETURN void session_fail_all(Session *s, const char *msg);

/* Peak RSS of every world rank on rank 0 (NULL elsewhere). Collective. */
uint64_t *session_gather_rss(Session *s);
/* Per-rank place, host, blocks, weights and peak RSS as a JSON array on rank
 * 0 (NULL elsewhere). Collective. */
json_t *session_gather_ranks(Session *s);
/* First line of the MPI library's version string. */
void session_mpi_version(char *buf, size_t n);
double session_wtime(void);

/* This rank's counters at one point of a run, so that metrics can cover
 * what happened after it (one benchmark of a suite). */
typedef struct {
    EngineStats stats;
    double t, p2p_s, tp_s, guidance_s;
    uint64_t p2p_bytes, tp_bytes, guidance_bytes;
} SessionMark;
void session_mark(const Session *s, SessionMark *m);

/* Per-rank metrics gathered to rank 0 and written as JSON (path on rank 0;
 * collective). extra: a JSON object text merged at the top level, or NULL.
 * since: NULL for the whole run (load_s and wall_s from session_open), or a
 * mark: every time and count is then the difference from it, wall_s is the
 * time since it and load_s is left out. */
void session_write_metrics(Session *s, const char *path, const char *extra,
                           const SessionMark *since);

#endif
