#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"
#include "util/dtype.h"

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
    if (!isfinite(v)) hl_fail("%s: %s expects a finite number, got '%s'", cmd, opt, s);
    return v;
}

static const Opt *find(const Opt *opts, const char *a, size_t n) {
    for (const Opt *o = opts; o->name || o->dst || o->fn; o++)
        if (o->name && strlen(o->name) == n && !strncmp(o->name, a, n)) return o;
    return NULL;
}

static const Opt *positional(const Opt *opts) {
    for (const Opt *o = opts; o->name || o->dst || o->fn; o++)
        if (!o->name) return o;
    return NULL;
}

static void unknown(const ArgsCmd *cmd, const char *a) {
    if (cmd->unknown) {
        char m[512];
        snprintf(m, sizeof m, cmd->unknown, a);
        hl_fail("%s", m);
    }
    hl_fail("%s: unknown option '%s' (see hyperllava %s --help)", cmd->name, a, cmd->name);
}

void args_parse(const ArgsCmd *cmd, const Opt *opts, int argc, char **argv) {
    const Opt *pos = positional(opts);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(cmd->help, stdout);
            exit(0);
        }
        if (a[0] != '-' || !a[1]) {
            if (!pos) unknown(cmd, a);
            pos->fn(cmd->ctx, a);
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        const Opt *o = find(opts, a, n);
        if (!o) unknown(cmd, a);
        const char *v = NULL;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)n, a);
        if (o->kind == OPT_FLAG) {
            if (eq) hl_fail("%s: %s takes no value", cmd->name, name);
            *(int *)o->dst = 1;
            continue;
        }
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else
            hl_fail("%s: %s needs a value", cmd->name, name);
        switch (o->kind) {
        case OPT_STR:
            *(const char **)o->dst = v;
            break;
        case OPT_INT:
            *(int *)o->dst = arg_int(cmd->name, name, v, o->min);
            break;
        case OPT_REAL:
            *(double *)o->dst = arg_real(cmd->name, name, v);
            break;
        case OPT_FN:
            o->fn(cmd->ctx, v);
            break;
        case OPT_FLAG:
            break;
        }
    }
}

void run_overrides_apply(const char *cmd, const RunOverrides *o, RunConfig *cfg) {
    if (o->layout) {
        Layout l;
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
    if (o->backend) {
        if (strcmp(o->backend, "cpu") && strcmp(o->backend, "cuda"))
            hl_fail("%s: --backend expects cpu or cuda, got '%s'", cmd, o->backend);
        snprintf(cfg->backend, sizeof cfg->backend, "%s", o->backend);
    }
    if (o->watchdog) {
        cfg->watchdog_s = arg_int(cmd, "--watchdog", o->watchdog, 0);
        if (cfg->watchdog_s > RUN_WATCHDOG_MAX)
            hl_fail("%s: --watchdog expects at most %d seconds, got '%s'", cmd, RUN_WATCHDOG_MAX,
                    o->watchdog);
    }
}
