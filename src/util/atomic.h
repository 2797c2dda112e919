/* Files the project rewrites (run.json, scores.json, metrics.json, server
 * files) are replaced atomically: the new content goes to PATH.tmp, is
 * synced, and renamed over PATH; then the folder is synced. A kill or a full
 * disk at any moment leaves either the old file or the new one, never an
 * empty or half-written one (a stale PATH.tmp at most). */
#ifndef HL_ATOMIC_H
#define HL_ATOMIC_H

#include <stddef.h>

/* Returns 0, or -1 with errno set (the temporary file is removed). */
int atomic_write(const char *path, const void *data, size_t n);
/* atomic_write, failing with "PATH: cannot write: <reason>". */
void atomic_write_or_fail(const char *path, const void *data, size_t n);

#endif
