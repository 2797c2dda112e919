/* String-keyed hash map (see strmap.h). FNV-1a hash, linear probing, load <= 1/2. */
#include "eval/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/check.h"

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t find(const StrMap *m, const char *key) {
    size_t i = (size_t)hash(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key)) i = (i + 1) & (m->cap - 1);
    return i;
}

static void grow(StrMap *m) {
    StrMap g = {hl_calloc(m->cap ? 2 * m->cap : 64, sizeof(char *)),
                hl_calloc(m->cap ? 2 * m->cap : 64, sizeof(void *)), m->cap ? 2 * m->cap : 64,
                m->n};
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = find(&g, m->keys[i]);
        g.keys[j] = m->keys[i];
        g.vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    *m = g;
}

void **smap_slot(StrMap *m, const char *key) {
    if (2 * (m->n + 1) > m->cap) grow(m);
    size_t i = find(m, key);
    if (!m->keys[i]) {
        m->keys[i] = hl_strdup(key);
        m->vals[i] = NULL;
        m->n++;
    }
    return &m->vals[i];
}

void *smap_get(const StrMap *m, const char *key) {
    if (!m->cap) return NULL;
    size_t i = find(m, key);
    return m->keys[i] ? m->vals[i] : NULL;
}

int smap_has(const StrMap *m, const char *key) {
    return m->cap && m->keys[find(m, key)] != NULL;
}

void smap_free(StrMap *m, void (*free_val)(void *)) {
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        free(m->keys[i]);
        if (free_val) free_val(m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
