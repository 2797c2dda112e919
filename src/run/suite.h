/* A benchmark suite job on every rank: per benchmark, questions in, LLaVA-
 * format answers out (written in question order round by round, flushed and
 * synced), a per-sample log (samples.jsonl), a run record (run.json), then
 * the local score; for the whole suite scores.json, a summary table and
 * metrics.json. A killed job loses at most the round in flight and --resume
 * repeats none of what was written. */
#ifndef HL_SUITE_H
#define HL_SUITE_H

#include <jansson.h>

#include "eval/questions.h"
#include "run/job.h"
#include "run/session.h"

typedef struct {
    int b0, b1;          /* the benchmarks to run: job->benches[b0, b1) */
    int one;             /* a single benchmark was selected (--bench): no suite summary */
    int resume, score;   /* --resume; score each benchmark after answering it */
    const char *metrics; /* metrics.json path, NULL: the default place */
} SuiteOptions;

/* Runs the selected benchmarks and writes the suite's summary. Collective. */
void suite_run(Session *s, const Job *job, const SuiteOptions *o);

/* Where a benchmark's answering starts, decided from its folder alone
 * (rank-local; rank 0 calls it): the answers file, the run record beside it
 * and samples.jsonl together. Without answers: 0. With answers: an error
 * unless resume is set and the old record matches `record`; else the count
 * of answers that match the questions' order and have their line in
 * samples.jsonl (line i of both files is question i), and both files are cut
 * to as many lines. Returns NULL and sets *start (and *resumed, when given
 * and answers are kept: the old record with a resume entry appended), or a
 * malloc'd one-line error. */
char *suite_resume_point(const char *dir, const json_t *record, const EvalSet *set, int resume,
                         long *start, json_t **resumed);

#endif
