#include "eval/stats.h"

#include <math.h>
#include <stdlib.h>

#include "util/check.h"

uint64_t splitmix64_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double p) {
    double pos = p * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    if (i + 1 >= n) return sorted[n - 1];
    double f = pos - (double)i;
    return sorted[i] + (sorted[i + 1] - sorted[i]) * f;
}

double paired_bootstrap_ci(const double *d, size_t n, int resamples, uint64_t seed, double level,
                           double *lo, double *hi) {
    CHECK(n > 0 && resamples > 0);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += d[i];
    double *stat = hl_malloc((size_t)resamples * sizeof *stat);
    uint64_t s = seed;
    for (int r = 0; r < resamples; r++) {
        double t = 0;
        for (size_t k = 0; k < n; k++) t += d[splitmix64_next(&s) % n];
        stat[r] = t / (double)n;
    }
    qsort(stat, (size_t)resamples, sizeof *stat, cmp_double);
    double alpha = (1 - level) / 2;
    *lo = percentile(stat, (size_t)resamples, alpha);
    *hi = percentile(stat, (size_t)resamples, 1 - alpha);
    free(stat);
    return sum / (double)n;
}

double mcnemar_exact_p(long b, long c) {
    long n = b + c, k = b < c ? b : c;
    if (n == 0) return 1.0;
    double p = 0, lfn = lgamma((double)n + 1);
    for (long i = 0; i <= k; i++)
        p += exp(lfn - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - (double)n * log(2.0));
    p *= 2;
    return p < 1 ? p : 1.0;
}
