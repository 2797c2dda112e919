/* The rank layout as arithmetic, with no MPI: the one place that knows how
 * world ranks map to (replica, stage, tensor rank), how the LLM blocks split
 * over the pipeline stages, which stage holds the guidance layer and how a
 * batch splits into micro-batches. comm builds its groups from it, the
 * engine runs it and `plan` prints it, so the three cannot disagree.
 *
 * Rank numbering: tp varies fastest, then the stage, then the replica:
 *     rank = (d * pp + p) * tp + t
 * so the ranks of one tensor-parallel group are neighbours and land on the
 * same node under SLURM's default block distribution. */
#ifndef HL_LAYOUT_H
#define HL_LAYOUT_H

typedef struct {
    int dp, pp, tp; /* data-parallel replicas, pipeline stages, tensor-parallel ranks */
} Layout;

/* A rank's place in the grid. */
typedef struct {
    int d, p, t;
} LayoutCoords;

static inline int layout_world(Layout l) {
    return l.dp * l.pp * l.tp;
}
int layout_rank_of(Layout l, LayoutCoords c);
LayoutCoords layout_coords(Layout l, int rank);

/* Blocks of each stage: `explicit_blocks` (pp entries) when given, else an
 * even split of `layers` where earlier stages take the remainder. */
/* A split for pipeline stages whose first one also carries work worth
 * first_extra blocks (the vision tower): the stage costs as even as whole
 * blocks allow, every stage at least one block. */
void layout_balanced_blocks(int layers, int pp, double first_extra, int *counts);
void layout_stage_blocks(int layers, int pp, const int *explicit_blocks, int *counts);
/* First block of stage p. */
int layout_first_block(const int *counts, int p);
/* Stage owning block b. */
int layout_stage_of_block(const int *counts, int pp, int b);
/* Stage owning block guide_layer-1, whose output guides the later blocks;
 * -1 when the model has no language expert (guide_layer <= 0). */
int layout_guide_stage(const int *counts, int pp, int guide_layer);

/* Micro-batch m of a batch of n split into M: [*lo, *lo + size), earlier
 * micro-batches take the remainder. M is clamped to [1, n]; returns it. */
int layout_micro_count(int n, int M);
int layout_micro_batch(int n, int M, int m, int *lo);

#endif
