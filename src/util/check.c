#include "util/check.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int report_all; /* set once MPI is up; see hl_report_all_ranks */

void hl_report_all_ranks(void) {
    report_all = 1;
}

/* The launcher's rank of this process, 0 when not launched under MPI. */
static int launch_rank(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v);
    }
    return 0;
}

static void vreport(const char *prefix, const char *fmt, va_list ap) {
    if (!report_all && launch_rank() != 0) return;
    /* Build the whole line first so ranks writing at once do not interleave. */
    char line[2048];
    int n = snprintf(line, sizeof line, "hyperllava: %s", prefix);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

/* One error, printed once: when several ranks hit the same error (a missing
 * question file on every first-stage rank), the lowest failing rank prints
 * and its exit aborts the others before they print. Rank r > 0 waits a
 * little longer the higher it is; a rank that fails alone still prints. */
static void stagger(void) {
    if (!report_all) return;
    int r = launch_rank();
    if (r <= 0) return;
    struct timespec ts = {0, 0};
    long ms = 300 + 100L * (r < 20 ? r : 20);
    ts.tv_sec = ms / 1000, ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

void hl_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    stagger();
    vreport("error: ", fmt, ap);
    va_end(ap);
    exit(1);
}

void hl_fail_at(const char *file, int line, const char *fmt, ...) {
    char prefix[512];
    snprintf(prefix, sizeof prefix, "internal error at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    stagger();
    vreport(prefix, fmt, ap);
    va_end(ap);
    exit(1);
}

void hl_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport("warning: ", fmt, ap);
    va_end(ap);
}

void *hl_malloc_at(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) hl_fail_at(file, line, "out of memory allocating %zu bytes", n);
    return p;
}

void *hl_calloc_at(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) hl_fail_at(file, line, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *hl_realloc_at(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) hl_fail_at(file, line, "out of memory reallocating %zu bytes", n);
    return q;
}

char *hl_strdup_at(const char *s, const char *file, int line) {
    size_t n = strlen(s) + 1;
    char *p = hl_malloc_at(n, file, line);
    memcpy(p, s, n);
    return p;
}

char *hl_strdupf(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return hl_strdup(buf);
}

FILE *hl_fopen(const char *path, const char *mode) {
    struct stat st;
    if (mode[0] == 'r' && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        hl_fail("%s: is a folder, not a file", path);
    FILE *f = fopen(path, mode);
    if (!f) hl_fail("%s: %s", path, strerror(errno));
    return f;
}

/* Whether the test point variable `var` (NAME[:N]) names `name`; *n gets N
 * (def when not given). */
static int point_named(const char *var, const char *name, long def, long *n) {
    const char *v = getenv(var);
    if (!v || !*v) return 0;
    size_t len = strlen(name);
    if (strncmp(v, name, len) != 0 || (v[len] != 0 && v[len] != ':')) return 0;
    *n = v[len] == ':' ? atol(v + len + 1) : def;
    return 1;
}

void hl_test_point(const char *name) {
    static long killed, stopped;
    long n;
    if (point_named("HL_TEST_KILL_AT", name, 1, &n) && ++killed >= n)
        raise(SIGKILL); /* as a real kill: stdio buffers are lost */
    if (point_named("HL_TEST_STOP_AT", name, 1, &n) && ++stopped == n)
        raise(SIGSTOP); /* a frozen process, as `kill -STOP` makes one */
    if (point_named("HL_TEST_SLEEP_AT", name, 0, &n) && n > 0) {
        struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* a slow computation */
    }
}
