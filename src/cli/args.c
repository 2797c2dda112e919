#include "cli/args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"

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
