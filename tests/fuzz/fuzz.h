/* Shared by the fuzz targets. Each target defines LLVMFuzzerTestOneInput and
 * is built two ways (Makefile, docs/errors.md "Fuzzing"):
 *  - with clang -fsanitize=fuzzer,address,undefined: a libFuzzer binary;
 *  - with the project's compiler and ASan + UBSan, linked with driver.c: a
 *    main() that runs every file of the given corpus folders through the
 *    target once (the replay CI runs).
 * A refusal of bad input (hl_fail) ends in exit(1): the link wraps exit so
 * that, inside a target, it jumps back here instead, and the next input runs.
 * An internal error (hl_fail_at: a failed CHECK) aborts: that is a bug. */
#ifndef HL_FUZZ_H
#define HL_FUZZ_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static jmp_buf fuzz_jmp;
static volatile int fuzz_armed;

void __real_exit(int status);
void __wrap_exit(int status) {
    if (fuzz_armed) {
        fuzz_armed = 0;
        longjmp(fuzz_jmp, 1);
    }
    __real_exit(status);
}

void __wrap_hl_fail_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hyperllava: internal error at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* Closes the descriptors a refusal left open (a reader's FILE): every one
 * above the highest open when first called. */
static inline void fuzz_close_leaked_fds(void) {
    static int base = -1;
    int top = -1;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    int own = dirfd(d);
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && atoi(e->d_name) != own && atoi(e->d_name) > top)
            top = atoi(e->d_name);
    closedir(d);
    if (base < 0) base = top;
    for (int fd = base + 1; fd <= top; fd++) close(fd);
}

/* Runs stmt; a refusal (exit) inside it returns here. `cleanup` then closes
 * what the refusal left open in a library (an HDF5 file) before the leaked
 * descriptors are closed: closing a library's descriptor under it first
 * leaves it a file it can no longer close. The memory a refusal leaves
 * behind is not reclaimed (run with detect_leaks=0). */
#define FUZZ_TRY_THEN(stmt, cleanup)                                                               \
    do {                                                                                           \
        fuzz_close_leaked_fds();                                                                   \
        if (setjmp(fuzz_jmp) == 0) {                                                               \
            fuzz_armed = 1;                                                                        \
            stmt;                                                                                  \
        }                                                                                          \
        fuzz_armed = 0;                                                                            \
        cleanup;                                                                                   \
        fuzz_close_leaked_fds();                                                                   \
    } while (0)
#define FUZZ_TRY(stmt) FUZZ_TRY_THEN(stmt, (void)0)

static char fuzz_path[256];
static inline void fuzz_file_remove(void) {
    unlink(fuzz_path);
}

/* The path of this process's scratch file (named with `suffix`), made
 * unique by mkstemps on first use (a pid is not unique where several PID
 * namespaces share the temporary folder) and removed at exit. */
static inline const char *fuzz_temp_path(const char *suffix) {
    if (!fuzz_path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(fuzz_path, sizeof fuzz_path, "%s/hl-fuzz-XXXXXX%s", dir && *dir ? dir : "/tmp",
                 suffix);
        int fd = mkstemps(fuzz_path, (int)strlen(suffix));
        if (fd < 0) {
            perror(fuzz_path);
            abort();
        }
        close(fd);
        atexit(fuzz_file_remove);
    }
    return fuzz_path;
}

/* A file holding data, rewritten for each input; the readers that take a
 * path read it. */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix) {
    const char *path = fuzz_temp_path(suffix);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

#endif
