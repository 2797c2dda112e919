/* Minimal test harness: EXPECT records a failure with file:line and goes on;
 * test_done() prints a summary and returns the exit status. Below it, what
 * several tests need: running code that may hl_fail (it exits) in a child,
 * whole files, scratch folders. */
#ifndef HL_TEST_H
#define HL_TEST_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int test_checks, test_failures;

#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

/* Relative closeness with an absolute floor for values near zero. */
static inline int test_close(double a, double b, double rel, double abs_floor) {
    double d = fabs(a - b), m = fmax(fabs(a), fabs(b));
    return d <= rel * m || d <= abs_floor;
}

static inline int test_done(const char *name) {
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

/* Runs fn(arg) in a forked child with its stderr captured: returns the
 * child's exit status (128 + the signal if one ended it) and puts what it
 * wrote to stderr in err, NUL-terminated and cut to cap - 1 bytes (the rest
 * is read and dropped, so a talkative child never blocks). */
static inline int test_child(void (*fn)(const char *), const char *arg, char *err, size_t cap) {
    int fd[2];
    pid_t pid;
    fflush(NULL); /* or the child's exit writes our buffered output again */
    if (pipe(fd) || (pid = fork()) < 0) {
        perror("test_child");
        exit(2);
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        fn(arg);
        _exit(0); /* not exit(): leave the parent's open streams alone */
    }
    close(fd[1]);
    size_t used = 0;
    char spill[512];
    for (;;) {
        int keep = used + 1 < cap;
        ssize_t got = read(fd[0], keep ? err + used : spill, keep ? cap - 1 - used : sizeof spill);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (keep) used += (size_t)got;
    }
    err[used] = 0;
    close(fd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            perror("test_child: waitpid");
            exit(2);
        }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The whole file plus a NUL (so text can be used as a string); *n = its size
 * when n is not NULL. NULL if it cannot be read (missing, a folder). */
static inline void *test_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - 1 - len, f)) > 0)
        if ((len += got) + 1 == cap) buf = realloc(buf, cap *= 2);
    int failed = ferror(f);
    fclose(f);
    if (!buf) {
        perror(path);
        exit(2);
    }
    if (failed) {
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    if (n) *n = len;
    return buf;
}

/* Writes text to dir/name; returns the path (a static buffer, valid until
 * the next call). */
static inline const char *test_write_file(const char *dir, const char *name, const char *text) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f)) {
        perror(path);
        exit(2);
    }
    return path;
}

/* A fresh folder from a mkdtemp template ("/tmp/name-XXXXXX"), changed in
 * place; test_rmdir removes it with all it holds. */
static inline void test_tmpdir(char *tmpl) {
    if (!mkdtemp(tmpl)) {
        perror(tmpl);
        exit(2);
    }
}

static inline void test_rmdir(const char *dir) {
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Fixture paths are relative to the repository root: when probe is not
 * there, move to the root from the binary's place (build/tests/). */
static inline void test_enter_root(const char *argv0, const char *probe) {
    if (!access(probe, F_OK)) return;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", argv0);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    if (chdir(dir) || chdir("../..")) perror("chdir");
}

#endif
