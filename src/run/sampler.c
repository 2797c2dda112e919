#include "run/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"
#include "util/hash.h"

uint64_t sampler_key(uint64_t request_id, int step) {
    return splitmix64(request_id * 0x100000001b3ull + (uint64_t)step);
}

static void greedy(float *logits, int n, int vocab_l, int vocab0, Group *tp, int *out) {
    float *best = hl_malloc((size_t)n * sizeof(float));
    for (int i = 0; i < n; i++) {
        const float *r = logits + (long)i * vocab_l;
        int a = 0;
        for (int j = 1; j < vocab_l; j++)
            if (r[j] > r[a]) a = j;
        best[i] = r[a];
        out[i] = vocab0 + a;
    }
    group_allreduce_maxloc(tp, best, out, n);
    free(best);
}

/* Mass of the probabilities >= tau in row r. */
static double mass_at(const float *p, int n, double tau) {
    double s = 0;
    for (int j = 0; j < n; j++)
        if (p[j] >= tau) s += p[j];
    return s;
}

void sampler_choose(const GenSettings *gs, float *logits, int n, int vocab_l, int vocab0,
                    const uint64_t *keys, Group *tp, int *out) {
    if (n == 0) return;
    if (gs->temperature <= 0) {
        greedy(logits, n, vocab_l, vocab0, tp, out);
        return;
    }
    double *mx = hl_malloc((size_t)n * sizeof(double)), *z = hl_malloc((size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) {
        float *r = logits + (long)i * vocab_l;
        double m = -INFINITY;
        for (int j = 0; j < vocab_l; j++) {
            r[j] = (float)(r[j] / gs->temperature);
            if (r[j] > m) m = r[j];
        }
        mx[i] = m;
    }
    group_allreduce_max_double(tp, mx, n);
    for (int i = 0; i < n; i++) {
        float *r = logits + (long)i * vocab_l;
        double s = 0;
        for (int j = 0; j < vocab_l; j++) s += (r[j] = (float)exp(r[j] - mx[i]));
        z[i] = s;
    }
    group_allreduce_sum_double(tp, z, n);
    /* Nucleus: the largest threshold tau whose kept mass still reaches top_p,
     * found by bisection on tau in [0, 1] (probabilities are unnormalised by z). */
    double *lo = hl_calloc((size_t)n, sizeof(double)), *hi = hl_malloc((size_t)n * sizeof(double));
    double *m = hl_malloc((size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) hi[i] = 1.0 + 1e-12; /* exp(0) = 1 is the largest value */
    if (gs->top_p < 1.0) {
        for (int it = 0; it < 48; it++) {
            for (int i = 0; i < n; i++)
                m[i] = mass_at(logits + (long)i * vocab_l, vocab_l, 0.5 * (lo[i] + hi[i]));
            group_allreduce_sum_double(tp, m, n);
            for (int i = 0; i < n; i++) {
                double mid = 0.5 * (lo[i] + hi[i]);
                if (m[i] >= gs->top_p * z[i])
                    lo[i] = mid;
                else
                    hi[i] = mid;
            }
        }
    }
    /* kept mass per rank, laid out so a sum gives every rank's share */
    double *share = hl_calloc((size_t)n * tp->size, sizeof(double));
    for (int i = 0; i < n; i++)
        share[(long)i * tp->size + tp->rank] = mass_at(logits + (long)i * vocab_l, vocab_l, lo[i]);
    group_allreduce_sum_double(tp, share, (long)n * tp->size);
    float *val = hl_malloc((size_t)n * sizeof(float));
    for (int i = 0; i < n; i++) {
        const double *sh = share + (long)i * tp->size;
        double total = 0;
        for (int t = 0; t < tp->size; t++) total += sh[t];
        double u = (double)(splitmix64(gs->seed ^ keys[i]) >> 11) * 0x1.0p-53 * total;
        /* the rank whose slice of the kept mass holds u (rounding: the last non-empty one) */
        int owner = -1;
        double cum = 0, before = 0;
        for (int t = 0; t < tp->size; t++) {
            if (sh[t] <= 0) continue;
            owner = t, before = cum;
            if (u < cum + sh[t]) break;
            cum += sh[t];
        }
        val[i] = -1.0f;
        out[i] = -1;
        if (owner != tp->rank) continue;
        const float *r = logits + (long)i * vocab_l;
        double acc = 0, target = u - before;
        for (int j = 0; j < vocab_l; j++) {
            if (r[j] < lo[i]) continue;
            out[i] = vocab0 + j;
            acc += r[j];
            if (target < acc) break;
        }
        val[i] = 1.0f;
    }
    /* exactly one rank holds the draw */
    group_allreduce_maxloc(tp, val, out, n);
    free(mx), free(z), free(lo), free(hi), free(m), free(share), free(val);
}

void sampler_topk(const float *logits, int n, int vocab_l, int vocab0, int k, Group *tp, int *ids,
                  float *vals) {
    int K = k * tp->size;
    float *v = hl_calloc((size_t)K, sizeof(float));
    float *gi = hl_calloc((size_t)K, sizeof(float)); /* ids as floats: exact below 2^24 */
    for (int i = 0; i < n; i++) {
        const float *r = logits + (long)i * vocab_l;
        memset(v, 0, (size_t)K * sizeof(float));
        memset(gi, 0, (size_t)K * sizeof(float));
        /* local top-k by selection (k is small) */
        for (int s = 0; s < k; s++) {
            int best = -1;
            for (int j = 0; j < vocab_l; j++) {
                int taken = 0;
                for (int t = 0; t < s && !taken; t++)
                    taken = (int)gi[tp->rank * k + t] == vocab0 + j;
                if (!taken && (best < 0 || r[j] > r[best])) best = j;
            }
            v[tp->rank * k + s] = best >= 0 ? r[best] : -INFINITY;
            gi[tp->rank * k + s] = best >= 0 ? (float)(vocab0 + best) : -1.0f;
        }
        group_allreduce_sum(tp, v, K);
        group_allreduce_sum(tp, gi, K);
        for (int s = 0; s < k; s++) {
            int best = -1;
            for (int c = 0; c < K; c++) {
                if (gi[c] < 0) continue;
                if (best < 0 || v[c] > v[best] || (v[c] == v[best] && gi[c] < gi[best])) best = c;
            }
            ids[(long)i * k + s] = best >= 0 ? (int)gi[best] : -1;
            vals[(long)i * k + s] = best >= 0 ? v[best] : -INFINITY;
            if (best >= 0) gi[best] = -1.0f;
        }
    }
    free(v), free(gi);
}
