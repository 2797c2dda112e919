#include "util/path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util/check.h"

/* Removes "." components, repeated slashes and "name/.." pairs in place,
 * but only where "name" is a real directory: through a symbolic link ".."
 * leads elsewhere than the lexical parent, so such pairs stay for the kernel. */
static void tidy_path(char *path) {
    int absolute = path[0] == '/';
    size_t len = strlen(path);
    char *out = hl_malloc(len + 2), *src = hl_strdup(path);
    size_t n = 0;
    size_t starts[512]; /* start of each component kept in out */
    int kept = 0;
    if (absolute) out[n++] = '/';
    for (char *save = NULL, *c = strtok_r(src, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, ".")) continue;
        if (!strcmp(c, "..") && kept > 0) {
            const char *last = out + starts[kept - 1];
            size_t last_len = n - starts[kept - 1];
            struct stat st;
            out[n] = 0;
            if (!(last_len == 2 && !strncmp(last, "..", 2)) && lstat(out, &st) == 0 &&
                S_ISDIR(st.st_mode)) {
                n = starts[--kept];
                if (n > (size_t)absolute) n--; /* the slash before it */
                continue;
            }
        }
        if (kept == (int)(sizeof starts / sizeof starts[0])) { /* absurdly deep: leave it */
            free(out);
            free(src);
            return;
        }
        if (n > (size_t)absolute) out[n++] = '/';
        starts[kept++] = n;
        size_t cl = strlen(c);
        memcpy(out + n, c, cl);
        n += cl;
    }
    if (n == 0) out[n++] = '.';
    out[n] = 0;
    memcpy(path, out, n + 1); /* never longer than the input */
    free(out);
    free(src);
}

char *path_resolve(const char *dir, const char *p) {
    if (p[0] == '/') return hl_strdup(p);
    size_t a = strlen(dir), b = strlen(p);
    char *out = hl_malloc(a + b + 2);
    memcpy(out, dir, a);
    out[a++] = '/';
    memcpy(out + a, p, b + 1);
    tidy_path(out);
    return out;
}

char *path_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return hl_strdup(".");
    if (slash == path) return hl_strdup("/");
    size_t n = (size_t)(slash - path);
    char *d = hl_malloc(n + 1);
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

char *path_os_join(const char *dir, const char *name) {
    if (!dir || !*dir || name[0] == '/') return hl_strdup(name);
    size_t a = strlen(dir), b = strlen(name);
    char *out = hl_malloc(a + b + 2);
    memcpy(out, dir, a);
    if (dir[a - 1] != '/') out[a++] = '/';
    memcpy(out + a, name, b + 1);
    return out;
}

char *path_stem(const char *path) {
    const char *base = strrchr(path, '/');
    char *s = hl_strdup(base ? base + 1 : path);
    char *dot = strrchr(s, '.');
    if (dot && dot != s) *dot = 0;
    return s;
}

void path_mkdirs(const char *dir) {
    char *p = hl_strdup(dir);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        mkdir(p, 0777);
        *q = '/';
    }
    if (mkdir(p, 0777) != 0) {
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) hl_fail("%s: cannot create folder", p);
    }
    free(p);
}

void path_make_parents(const char *path) {
    char *d = path_dirname(path);
    path_mkdirs(d);
    free(d);
}
