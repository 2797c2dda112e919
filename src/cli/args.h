/* Small helpers for the commands' option parsing. */
#ifndef HL_ARGS_H
#define HL_ARGS_H

#include "run/config.h"

/* argv[*i] is an option taking a value: returns argv[++*i] or fails with
 * "<cmd>: <option> needs a value". */
const char *arg_value(const char *cmd, int argc, char **argv, int *i);
int arg_int(const char *cmd, const char *opt, const char *s, int min);
double arg_real(const char *cmd, const char *opt, const char *s);
int arg_is_help(const char *s);

/* The run-config overrides generate and eval share: --layout DxPxT,
 * --batch-size N, --micro-batches M, --threads T, --dtype D (0 / NULL = not
 * given). */
typedef struct {
    const char *layout, *dtype;
    int batch_size, micro_batches, threads;
} RunOverrides;

/* Consumes argv[*i] (and its value) when it is one of the overrides. */
int arg_run_override(const char *cmd, int argc, char **argv, int *i, RunOverrides *o);
/* Applies the given overrides to cfg; a malformed layout fails naming cmd. */
void run_overrides_apply(const char *cmd, const RunOverrides *o, RunConfig *cfg);

#endif
