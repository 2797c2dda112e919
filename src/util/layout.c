#include "util/layout.h"

#include "util/check.h"

int layout_rank_of(Layout l, LayoutCoords c) {
    CHECK(c.d >= 0 && c.d < l.dp && c.p >= 0 && c.p < l.pp && c.t >= 0 && c.t < l.tp);
    return (c.d * l.pp + c.p) * l.tp + c.t;
}

LayoutCoords layout_coords(Layout l, int rank) {
    CHECK(rank >= 0 && rank < layout_world(l));
    return (LayoutCoords){.d = rank / (l.tp * l.pp), .p = rank / l.tp % l.pp, .t = rank % l.tp};
}

void layout_stage_blocks(int layers, int pp, const int *explicit_blocks, int *counts) {
    if (explicit_blocks) {
        for (int s = 0; s < pp; s++) counts[s] = explicit_blocks[s];
        return;
    }
    CHECK(pp >= 1 && pp <= layers);
    for (int s = 0; s < pp; s++) counts[s] = layers / pp + (s < layers % pp);
}

void layout_balanced_blocks(int layers, int pp, double first_extra, int *counts) {
    CHECK(pp >= 1 && pp <= layers);
    int best = 1;
    double best_max = -1;
    for (int c0 = 1; c0 <= layers - (pp - 1); c0++) { /* stage 0's share; the rest even */
        int rest = layers - c0, others = pp - 1;
        double mx = c0 + first_extra;
        if (others > 0) {
            int big = rest / others + (rest % others != 0);
            if (big > mx) mx = big;
        } else if (rest) {
            continue;
        }
        if (best_max < 0 || mx < best_max - 1e-9) {
            best = c0, best_max = mx;
        } else if (mx <= best_max + 1e-9) {
            best = c0; /* an equal maximum: the larger share, closer to even when decoding */
        }
    }
    counts[0] = best;
    for (int s = 1; s < pp; s++)
        counts[s] = (layers - best) / (pp - 1) + (s - 1 < (layers - best) % (pp - 1));
}

int layout_first_block(const int *counts, int p) {
    int first = 0;
    for (int s = 0; s < p; s++) first += counts[s];
    return first;
}

int layout_stage_of_block(const int *counts, int pp, int b) {
    for (int s = 0, first = 0; s < pp; first += counts[s], s++)
        if (b < first + counts[s]) return s;
    return pp - 1;
}

int layout_guide_stage(const int *counts, int pp, int guide_layer) {
    return guide_layer > 0 ? layout_stage_of_block(counts, pp, guide_layer - 1) : -1;
}

int layout_micro_count(int n, int M) {
    if (M > n) M = n;
    return M < 1 ? 1 : M;
}

int layout_micro_batch(int n, int M, int m, int *lo) {
    *lo = m * (n / M) + (m < n % M ? m : n % M);
    return n / M + (m < n % M);
}
