/* CLIP ViT vision tower (docs/model.md §2), tensor-parallel over heads and MLP
 * width: q/k/v and fc1 keep output rows, out_proj and fc2 input columns, and
 * each block's two partial sums are all-reduced over the TP group. */
#ifndef HL_VISION_H
#define HL_VISION_H

#include "comm/comm.h"
#include "io/weights.h"
#include "kernels/ctx.h"
#include "kernels/weight.h"
#include "model/config.h"

typedef struct {
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    Weight q_w, k_w, v_w;   /* [C_l, C] */
    float *q_b, *k_b, *v_b; /* [C_l] */
    Weight o_w;             /* [C, C_l] */
    float *o_b;             /* [C] (added after the reduce) */
    Weight fc1_w;           /* [I_l, C] */
    float *fc1_b;           /* [I_l] */
    Weight fc2_w;           /* [C, I_l] */
    float *fc2_b;           /* [C] */
} VisionLayer;

typedef struct {
    int C, heads_l, head_dim, C_l, I_l, P, S, grid, n_patches, n_layers;
    float eps;
    Weight patch_w; /* [C, 3*P*P] */
    float *class_emb, *pos_emb, *pre_w, *pre_b;
    VisionLayer *layers;
} Vision;

void vision_load(Vision *v, WeightFile *wf, const ModelConfig *c, int tp_rank, int tp_size);
/* pixels [n_img, 3, S, S] → feats [n_img, n_patches, C]: the selected hidden
 * state, class token dropped. Both in context memory (kernels/ctx.h). */
void vision_forward(const Ctx *ctx, const Vision *v, const float *pixels, int n_img, float *feats,
                    Group *tp);

#endif
