/* Minimal test harness: EXPECT records a failure with file:line and goes on;
 * test_done() prints a summary and returns the exit status. */
#ifndef HL_TEST_H
#define HL_TEST_H

#include <math.h>
#include <stdio.h>

static int test_checks, test_failures;

#define EXPECT(cond, ...)                                                 \
    do {                                                                  \
        test_checks++;                                                    \
        if (!(cond)) {                                                    \
            test_failures++;                                              \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
        }                                                                 \
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

#endif
