/* An evaluation job (YAML, docs/config.md): the run config (a file or an
 * inline map), the output folder, generation settings, the benchmarks with
 * their data paths, and optionally a scaling sweep. Read strictly, like the
 * run config: every problem is one line naming the file, the line and the key.
 *
 * All relative paths in a job resolve against the job file's folder, except
 * the benchmarks' data paths, which resolve against data_root when it is set. */
#ifndef HL_JOB_H
#define HL_JOB_H

#include <stdint.h>

#include "eval/bench.h"
#include "run/config.h"

typedef struct {
    RunLayout *layouts; /* n_layouts >= 1 when the job has a sweep */
    int n_layouts;
    int *batch_sizes; /* n_batch_sizes >= 1 when the job has a sweep */
    int n_batch_sizes;
} JobSweep;

typedef struct {
    char *path;         /* the job file as given */
    RunConfig run;      /* from `run:` (file or inline map) */
    char *output;       /* output folder, resolved */
    char *model_id;     /* answers' model_id: `model_id:` or the model file's stem */
    double temperature; /* 0 = greedy (the default) */
    double top_p;       /* 1.0 by default */
    uint64_t seed;      /* sampling seed, 0 by default */
    char *data_root;    /* resolved data_root, NULL when not given */
    BenchSpec *benches; /* at least one; names are unique */
    int n_benches;
    int has_sweep;  /* 1 when the job has a `sweep:` map */
    JobSweep sweep; /* missing lists default to the run's layout / batch size */
} Job;

/* Loads a job and its run config; hl_fail on any problem. */
void job_load(const char *path, Job *job);
void job_free(Job *job);
/* The index of the benchmark named sel, or sel as an index from 0; fails
 * naming the job when there is none. */
int job_find_bench(const Job *job, const char *sel);

#endif
