/* Statistics for comparing two runs question by question (hyperllava compare).
 *
 * Paired bootstrap: R resamples of the n per-question differences d[i] (B minus A),
 * each drawing n indices i = splitmix64() % n from one splitmix64 stream seeded with
 * seed; a resample's statistic is (sum of its d in draw order) / n. The 95 % interval
 * is the 2.5th and 97.5th percentiles of the R statistics with linear interpolation
 * between order statistics (numpy.percentile's default: position p (R - 1)).
 *
 * McNemar's exact test: b questions right in A only, c right in B only; two-sided
 * p = min(1, 2 P(X <= min(b, c))) for X ~ Binomial(b + c, 1/2); 1 when b + c = 0. */
#ifndef HL_STATS_H
#define HL_STATS_H

#include <stddef.h>
#include <stdint.h>

uint64_t splitmix64_next(uint64_t *state);
/* d: n >= 1 differences; *lo, *hi: the interval; returns the mean of d. */
double paired_bootstrap_ci(const double *d, size_t n, int resamples, uint64_t seed, double level,
                           double *lo, double *hi);
double mcnemar_exact_p(long b, long c);

#endif
