/* The commands' option parsing: one table per command, one parser. Every
 * option taking a value accepts `--opt value` and `--opt=value`; -h and
 * --help print the command's help and exit 0. Errors are one line naming the
 * command and the option. */
#ifndef HL_ARGS_H
#define HL_ARGS_H

#include "run/config.h"

typedef enum {
    OPT_FLAG, /* int *: set to 1 */
    OPT_STR,  /* const char **: the value */
    OPT_INT,  /* int *: an integer >= min */
    OPT_REAL, /* double *: a number */
    OPT_FN,   /* fn(ctx, value): repeated or structured options */
} OptKind;

typedef struct {
    const char *name; /* "--model"; NULL: positional arguments (OPT_FN only) */
    OptKind kind;
    void *dst;
    int min; /* OPT_INT */
    void (*fn)(void *ctx, const char *value);
} Opt;

typedef struct {
    const char *name;    /* "generate": prefixes every message */
    const char *help;    /* printed for --help */
    const char *unknown; /* format of the unknown-option error (one %s), NULL: the usual one */
    void *ctx;           /* passed to the OPT_FN callbacks */
} ArgsCmd;

/* Parses argv[1..argc) with the table opts (ended by an entry with kind
 * OPT_FLAG and a NULL name and dst, written {0}). */
void args_parse(const ArgsCmd *cmd, const Opt *opts, int argc, char **argv);

int arg_int(const char *cmd, const char *opt, const char *s, int min);
double arg_real(const char *cmd, const char *opt, const char *s);

/* The run-config overrides generate, eval and bench share: --layout DxPxT,
 * --batch-size N, --micro-batches M, --threads T, --dtype D, --backend B,
 * --watchdog S (0 / NULL = not given). */
typedef struct {
    const char *layout, *dtype, *backend, *watchdog;
    int batch_size, micro_batches, threads;
} RunOverrides;

/* clang-format off */
#define RUN_OVERRIDE_OPTS(o)                                                                       \
    {"--layout", OPT_STR, &(o).layout, 0, NULL},                                                   \
    {"--batch-size", OPT_INT, &(o).batch_size, 1, NULL},                                           \
    {"--micro-batches", OPT_INT, &(o).micro_batches, 1, NULL},                                     \
    {"--threads", OPT_INT, &(o).threads, 1, NULL},                                                 \
    {"--dtype", OPT_STR, &(o).dtype, 0, NULL},                                                     \
    {"--backend", OPT_STR, &(o).backend, 0, NULL},                                                 \
    {"--watchdog", OPT_STR, &(o).watchdog, 0, NULL}
/* clang-format on */

/* Applies the given overrides to cfg; a malformed layout fails naming cmd. */
void run_overrides_apply(const char *cmd, const RunOverrides *o, RunConfig *cfg);

#endif
