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
