/* The statistics of `compare`: splitmix64's reference stream, McNemar's exact test
 * and the paired bootstrap interval, against values computed independently in Python
 * (math.comb for the binomial tail; a plain re-implementation of the documented
 * resampling for the interval). */
#include "eval/stats.h"
#include "test.h"

int main(void) {
    uint64_t s = 0;
    EXPECT(splitmix64_next(&s) == 0xe220a8397b1dcdafULL, "splitmix64(0) first output");
    EXPECT(splitmix64_next(&s) == 0x6e789e6aa1b965f4ULL, "second output");
    EXPECT(splitmix64_next(&s) == 0x06c45d188009454fULL, "third output");
    EXPECT(mcnemar_exact_p(0, 0) == 1.0, "no discordant pairs");
    EXPECT(test_close(mcnemar_exact_p(1, 3), 0.625, 1e-12, 0), "%.17g", mcnemar_exact_p(1, 3));
    EXPECT(test_close(mcnemar_exact_p(0, 10), 0.001953125, 1e-12, 0), "%.17g",
           mcnemar_exact_p(0, 10));
    EXPECT(test_close(mcnemar_exact_p(5, 20), 0.004077315330505371, 1e-12, 0), "%.17g",
           mcnemar_exact_p(5, 20));
    EXPECT(mcnemar_exact_p(20, 5) == mcnemar_exact_p(5, 20), "symmetric");
    EXPECT(test_close(mcnemar_exact_p(10, 10), 1.0, 1e-12, 0), "equal counts: p = 1");
    EXPECT(test_close(mcnemar_exact_p(300, 360), 0.02157234823197102, 1e-9, 0), "%.17g",
           mcnemar_exact_p(300, 360));
    const double d[] = {0.5, -0.25, 1, 0, 0.3, -1, 0.7};
    double lo, hi;
    double mean = paired_bootstrap_ci(d, 7, 500, 42, 0.95, &lo, &hi);
    EXPECT(test_close(mean, 1.25 / 7, 1e-15, 0), "mean %.17g", mean);
    EXPECT(test_close(lo, -0.3180357142857143, 1e-12, 1e-15), "lo %.17g", lo);
    EXPECT(test_close(hi, 0.6142857142857142, 1e-12, 1e-15), "hi %.17g", hi);
    double lo2, hi2;
    paired_bootstrap_ci(d, 7, 500, 42, 0.95, &lo2, &hi2);
    EXPECT(lo2 == lo && hi2 == hi, "same seed, same interval");
    paired_bootstrap_ci(d, 7, 500, 43, 0.95, &lo2, &hi2);
    EXPECT(lo2 != lo || hi2 != hi, "another seed, another interval");
    const double same[] = {0, 0, 0};
    paired_bootstrap_ci(same, 3, 100, 1, 0.95, &lo, &hi);
    EXPECT(lo == 0 && hi == 0, "no change: [0, 0]");
    return test_done("test_stats");
}
