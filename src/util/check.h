/* Error handling: every failure is one line on stderr and a non-zero exit.
 *
 * Two kinds of failure:
 *   CHECK(cond)          an internal invariant; reports the source file:line.
 *   hl_fail(fmt, ...)    bad input from the user; the message must name the
 *                        file, line or key and the problem ("model.h5: no
 *                        tensor 'llm.norm.weight'").
 * Both print "hyperllava: error: ..." and call exit(1). Under MPI the comm
 * module registers an atexit handler that aborts the other ranks, so a rank
 * that fails never leaves the others hanging. */
#ifndef HL_CHECK_H
#define HL_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__GNUC__)
#define HL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define HL_NORETURN __attribute__((noreturn))
#else
#define HL_PRINTF(a, b)
#define HL_NORETURN
#endif

/* Prints "hyperllava: error: <message>" and exits with status 1. */
HL_NORETURN void hl_fail(const char *fmt, ...) HL_PRINTF(1, 2);
/* Prints "hyperllava: internal error at file:line: <message>" and exits. */
HL_NORETURN void hl_fail_at(const char *file, int line, const char *fmt, ...) HL_PRINTF(3, 4);
/* Before MPI is up every rank of a launch parses the same arguments and would
 * print the same error: until hl_report_all_ranks() is called only the rank
 * the launcher numbers 0 prints (the others exit silently with status 1).
 * The comm module calls it once MPI is up, when errors can be rank-local. */
void hl_report_all_ranks(void);
/* Prints "hyperllava: warning: <message>". */
void hl_warn(const char *fmt, ...) HL_PRINTF(1, 2);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) hl_fail_at(__FILE__, __LINE__, "check failed: %s", #cond);                    \
    } while (0)

#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) hl_fail_at(__FILE__, __LINE__, __VA_ARGS__);                                  \
    } while (0)

/* Allocation that cannot return NULL. */
void *hl_malloc_at(size_t n, const char *file, int line);
void *hl_calloc_at(size_t count, size_t size, const char *file, int line);
void *hl_realloc_at(void *p, size_t n, const char *file, int line);
char *hl_strdup_at(const char *s, const char *file, int line);
#define hl_malloc(n) hl_malloc_at((n), __FILE__, __LINE__)
#define hl_calloc(c, s) hl_calloc_at((c), (s), __FILE__, __LINE__)
#define hl_realloc(p, n) hl_realloc_at((p), (n), __FILE__, __LINE__)
#define hl_strdup(s) hl_strdup_at((s), __FILE__, __LINE__)
/* A formatted message in a fresh string (at most 1023 characters). */
char *hl_strdupf(const char *fmt, ...) HL_PRINTF(1, 2);

/* Crash-test hooks: with HL_TEST_KILL_AT=NAME[:N] in the environment the
 * process kills itself (SIGKILL) the N-th time (default 1) it reaches the
 * point NAME; with HL_TEST_STOP_AT=NAME[:N] it stops itself (SIGSTOP) there;
 * with HL_TEST_SLEEP_AT=NAME:MS it sleeps MS milliseconds every time. The
 * tests use them to stop a run between two writes and to freeze or slow one
 * rank; see docs/errors.md for the points. Costs three getenvs a call. */
void hl_test_point(const char *name);

/* fopen that fails with "path: strerror" (hl_fail) instead of returning NULL. */
FILE *hl_fopen(const char *path, const char *mode);

#endif
