/* A string-keyed hash map (open addressing) for question-id and ground-truth lookups.
 * Keys are copied; values are opaque pointers (an index is stored as index + 1). */
#ifndef HL_STRMAP_H
#define HL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **keys;
    void **vals;
    size_t cap, n;
} StrMap;

/* Slot of key's value, inserting key with value NULL when absent. */
void **smap_slot(StrMap *m, const char *key);
void *smap_get(const StrMap *m, const char *key); /* NULL when absent */
int smap_has(const StrMap *m, const char *key);
void smap_free(StrMap *m, void (*free_val)(void *)); /* free_val may be NULL */

/* Index helpers: values stored as index + 1 so that 0 means absent. */
static inline void smap_put_index(StrMap *m, const char *key, size_t i) {
    *smap_slot(m, key) = (void *)(uintptr_t)(i + 1);
}
/* Returns 1 and sets *i when present. */
static inline int smap_get_index(const StrMap *m, const char *key, size_t *i) {
    uintptr_t v = (uintptr_t)smap_get(m, key);
    if (!v) return 0;
    *i = (size_t)(v - 1);
    return 1;
}

#endif
