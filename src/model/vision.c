#include "model/vision.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "model/param.h"
#include "model/shard.h"
#include "util/check.h"

void vision_load(Vision *v, WeightFile *wf, const ModelConfig *c, int tp_rank, int tp_size) {
    memset(v, 0, sizeof *v);
    v->C = c->v_hidden, v->P = c->patch_size, v->S = c->image_size, v->grid = c->grid;
    v->n_patches = c->n_patches, v->n_layers = c->v_layers_used, v->eps = (float)c->v_eps;
    v->head_dim = c->v_hidden / c->v_heads;
    v->heads_l = c->v_heads / tp_size;
    v->C_l = v->heads_l * v->head_dim;
    v->I_l = c->v_inter / tp_size;
    int C = v->C, C_l = v->C_l, I = c->v_inter, I_l = v->I_l, P = v->P;
    int64_t c0 = (int64_t)tp_rank * C_l, i0 = (int64_t)tp_rank * I_l;
    v->patch_w = param_mat_nd(wf, 4, (int64_t[]){C, 3, P, P}, "vision.patch_embedding.weight");
    v->class_emb = param_vec(wf, C, "vision.class_embedding");
    v->pos_emb = param_rows(wf, 1 + v->n_patches, C, 0, 1 + v->n_patches,
                            "vision.position_embedding.weight");
    v->pre_w = param_vec(wf, C, "vision.pre_layrnorm.weight");
    v->pre_b = param_vec(wf, C, "vision.pre_layrnorm.bias");
    v->layers = hl_calloc((size_t)v->n_layers, sizeof(VisionLayer));
    for (int l = 0; l < v->n_layers; l++) {
        VisionLayer *L = &v->layers[l];
        const char *p = "vision.layers";
        L->ln1_w = param_vec(wf, C, "%s.%d.layer_norm1.weight", p, l);
        L->ln1_b = param_vec(wf, C, "%s.%d.layer_norm1.bias", p, l);
        L->ln2_w = param_vec(wf, C, "%s.%d.layer_norm2.weight", p, l);
        L->ln2_b = param_vec(wf, C, "%s.%d.layer_norm2.bias", p, l);
        L->q_w = param_mat_rows(wf, C, C, c0, C_l, "%s.%d.self_attn.q_proj.weight", p, l);
        L->q_b = param_slice(wf, C, c0, C_l, "%s.%d.self_attn.q_proj.bias", p, l);
        L->k_w = param_mat_rows(wf, C, C, c0, C_l, "%s.%d.self_attn.k_proj.weight", p, l);
        L->k_b = param_slice(wf, C, c0, C_l, "%s.%d.self_attn.k_proj.bias", p, l);
        L->v_w = param_mat_rows(wf, C, C, c0, C_l, "%s.%d.self_attn.v_proj.weight", p, l);
        L->v_b = param_slice(wf, C, c0, C_l, "%s.%d.self_attn.v_proj.bias", p, l);
        L->o_w = param_mat_cols(wf, C, C, c0, C_l, "%s.%d.self_attn.out_proj.weight", p, l);
        L->o_b = param_vec(wf, C, "%s.%d.self_attn.out_proj.bias", p, l);
        L->fc1_w = param_mat_rows(wf, I, C, i0, I_l, "%s.%d.mlp.fc1.weight", p, l);
        L->fc1_b = param_slice(wf, I, i0, I_l, "%s.%d.mlp.fc1.bias", p, l);
        L->fc2_w = param_mat_cols(wf, C, I, i0, I_l, "%s.%d.mlp.fc2.weight", p, l);
        L->fc2_b = param_vec(wf, C, "%s.%d.mlp.fc2.bias", p, l);
    }
}

void vision_forward(const Ctx *ctx, const Vision *v, const float *pixels, int n_img, float *feats,
                    Group *tp) {
    const int C = v->C, P = v->P, S = v->S, G = v->grid, NP = v->n_patches, T = NP + 1;
    const int R = n_img * T, K = 3 * P * P;
    const size_t f = sizeof(float);
    float *x = ctx_alloc(ctx, (size_t)R * C * f);
    float *h = ctx_alloc(ctx, (size_t)R * C * f);
    float *q = ctx_alloc(ctx, (size_t)R * v->C_l * f);
    float *k = ctx_alloc(ctx, (size_t)R * v->C_l * f);
    float *vv = ctx_alloc(ctx, (size_t)R * v->C_l * f);
    float *a = ctx_alloc(ctx, (size_t)R * v->C_l * f);
    float *ff = ctx_alloc(ctx, (size_t)R * (v->I_l ? v->I_l : 1) * f);
    float *cols = ctx_alloc(ctx, (size_t)NP * K * f);
    /* keys and values of each image in the attention kernel's panel layout */
    const int cap = (T + WEIGHT_PANEL - 1) / WEIGHT_PANEL * WEIGHT_PANEL;
    float *kc = ctx_alloc(ctx, (size_t)n_img * cap * v->C_l * f);
    float *vc = ctx_alloc(ctx, (size_t)n_img * cap * v->C_l * f);
    float *work = ctx_alloc(ctx, attention_workspace(ctx, T) * f);
    KvSpan *sp = hl_malloc((size_t)(n_img ? n_img : 1) * sizeof *sp);
    for (int i = 0; i < n_img; i++)
        sp[i] = (KvSpan){.kc = kc + (size_t)i * cap * v->C_l,
                         .vc = vc + (size_t)i * cap * v->C_l,
                         .cap = cap,
                         .pos0 = 0,
                         .n = T,
                         .row0 = i * T};
    for (int i = 0; i < n_img; i++) {
        /* patch conv as a matmul: row = patch, columns in the weight's (c, ky, kx) order */
        patch_rows(ctx, cols, pixels + (long)i * 3 * S * S, S, P, G);
        float *xi = x + (long)i * T * C;
        gemm(ctx, xi + C, cols, &v->patch_w, NULL, NP);
        ctx_copy(ctx, xi, v->class_emb, (size_t)C * f);
        add_inplace(ctx, xi, v->pos_emb, (long)T * C);
    }
    layernorm(ctx, x, x, v->pre_w, v->pre_b, R, C, v->eps);
    for (int l = 0; l < v->n_layers; l++) {
        const VisionLayer *L = &v->layers[l];
        layernorm(ctx, h, x, L->ln1_w, L->ln1_b, R, C, v->eps);
        gemm(ctx, q, h, &L->q_w, L->q_b, R);
        gemm(ctx, k, h, &L->k_w, L->k_b, R);
        gemm(ctx, vv, h, &L->v_w, L->v_b, R);
        kv_store_spans(ctx, sp, n_img, v->heads_l, v->head_dim, k, vv, v->C_l);
        attention_spans(ctx, a, v->C_l, q, v->C_l, sp, n_img, v->heads_l, v->head_dim, 0, work);
        gemm(ctx, h, a, &L->o_w, NULL, R);
        shard_sum(ctx, tp, h, (long)R * C);
        add_rows(ctx, h, L->o_b, R, C);
        add_inplace(ctx, x, h, (long)R * C);
        layernorm(ctx, h, x, L->ln2_w, L->ln2_b, R, C, v->eps);
        gemm(ctx, ff, h, &L->fc1_w, L->fc1_b, R);
        quick_gelu(ctx, ff, (long)R * v->I_l);
        gemm(ctx, h, ff, &L->fc2_w, NULL, R);
        shard_sum(ctx, tp, h, (long)R * C);
        add_rows(ctx, h, L->fc2_b, R, C);
        add_inplace(ctx, x, h, (long)R * C);
    }
    for (int i = 0; i < n_img; i++)
        ctx_copy(ctx, feats + (long)i * NP * C, x + ((long)i * T + 1) * C, (size_t)NP * C * f);
    free(sp);
    void *bufs[] = {x, h, q, k, vv, a, ff, cols, kc, vc, work};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) ctx_free(ctx, bufs[i]);
}
