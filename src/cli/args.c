#include "cli/args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"
#include "util/dtype.h"

const char *arg_value(const char *cmd, int argc, char **argv, int *i) {
    if (*i + 1 >= argc) hl_fail("%s: %s needs a value", cmd, argv[*i]);
    return argv[++*i];
}

int arg_int(const char *cmd, const char *opt, const char *s, int min) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > 1000000000)
        hl_fail("%s: %s expects an integer >= %d, got '%s'", cmd, opt, min, s);
    return (int)v;
}

double arg_real(const char *cmd, const char *opt, const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s) hl_fail("%s: %s expects a number, got '%s'", cmd, opt, s);
    return v;
}

int arg_is_help(const char *s) {
    return !strcmp(s, "--help") || !strcmp(s, "-h");
}

int arg_run_override(const char *cmd, int argc, char **argv, int *i, RunOverrides *o) {
    const char *a = argv[*i];
    if (!strcmp(a, "--layout"))
        o->layout = arg_value(cmd, argc, argv, i);
    else if (!strcmp(a, "--batch-size"))
        o->batch_size = arg_int(cmd, a, arg_value(cmd, argc, argv, i), 1);
    else if (!strcmp(a, "--micro-batches"))
        o->micro_batches = arg_int(cmd, a, arg_value(cmd, argc, argv, i), 1);
    else if (!strcmp(a, "--threads"))
        o->threads = arg_int(cmd, a, arg_value(cmd, argc, argv, i), 1);
    else if (!strcmp(a, "--dtype"))
        o->dtype = arg_value(cmd, argc, argv, i);
    else
        return 0;
    return 1;
}

void run_overrides_apply(const char *cmd, const RunOverrides *o, RunConfig *cfg) {
    if (o->layout) {
        RunLayout l;
        if (!run_layout_parse(o->layout, &l))
            hl_fail("%s: --layout '%s' is not DxPxT (e.g. 1x2x2)", cmd, o->layout);
        run_config_set_layout(cfg, l);
    }
    if (o->batch_size) run_config_set_batch_size(cfg, o->batch_size);
    if (o->micro_batches) cfg->micro_batches = o->micro_batches;
    if (o->threads) cfg->threads = o->threads;
    if (o->dtype) {
        Dtype t;
        if (dtype_parse(o->dtype, &t))
            hl_fail("%s: --dtype expects f32, bf16 or f16, got '%s'", cmd, o->dtype);
        snprintf(cfg->dtype, sizeof cfg->dtype, "%s", o->dtype);
    }
}
