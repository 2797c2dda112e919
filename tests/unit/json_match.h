/* Comparing a scorer's JSON output with the expected values of a fixture. */
#ifndef HL_JSON_MATCH_H
#define HL_JSON_MATCH_H

#include <jansson.h>
#include <stdio.h>

#include "test.h"

/* Every key of want must be in got with the same value (numbers to 1e-12). */
static inline int json_match(json_t *want, json_t *got, const char *where) {
    if (json_is_number(want)) {
        if (!json_is_number(got)) return fprintf(stderr, "%s: missing number\n", where), 0;
        double a = json_number_value(want), b = json_number_value(got);
        if (!test_close(a, b, 1e-12, 1e-12))
            return fprintf(stderr, "%s: %.17g, expected %.17g\n", where, b, a), 0;
        return 1;
    }
    if (json_is_object(want)) {
        if (!json_is_object(got)) return fprintf(stderr, "%s: missing object\n", where), 0;
        const char *k;
        json_t *v;
        int ok = 1;
        json_object_foreach(want, k, v) {
            char w[512];
            snprintf(w, sizeof w, "%s.%s", where, k);
            ok &= json_match(v, json_object_get(got, k), w);
        }
        return ok;
    }
    if (!json_equal(want, got)) return fprintf(stderr, "%s: value differs\n", where), 0;
    return 1;
}

#endif
