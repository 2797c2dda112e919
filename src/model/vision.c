#include "model/vision.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "model/param.h"
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
    float *x = hl_malloc((size_t)R * C * sizeof(float));
    float *h = hl_malloc((size_t)R * C * sizeof(float));
    float *q = hl_malloc((size_t)R * v->C_l * sizeof(float));
    float *k = hl_malloc((size_t)R * v->C_l * sizeof(float));
    float *vv = hl_malloc((size_t)R * v->C_l * sizeof(float));
    float *a = hl_malloc((size_t)R * v->C_l * sizeof(float));
    float *f = hl_malloc((size_t)R * (v->I_l ? v->I_l : 1) * sizeof(float));
    float *cols = hl_malloc((size_t)NP * K * sizeof(float));
    float *emb = hl_malloc((size_t)NP * C * sizeof(float));
    /* keys and values of one image in the attention kernel's panel layout */
    const int cap = (T + WEIGHT_PANEL - 1) / WEIGHT_PANEL * WEIGHT_PANEL;
    float *kc = hl_calloc((size_t)cap * v->C_l, sizeof(float));
    float *vc = hl_calloc((size_t)cap * v->C_l, sizeof(float));
    float *work = hl_malloc(attention_workspace(ctx, T) * sizeof(float));
    /* patch conv as a matmul: row = patch, columns in the weight's (c, ky, kx) order */
    for (int i = 0; i < n_img; i++) {
        const float *px = pixels + (long)i * 3 * S * S;
        for (int gy = 0; gy < G; gy++)
            for (int gx = 0; gx < G; gx++) {
                float *row = cols + (long)(gy * G + gx) * K;
                for (int ch = 0; ch < 3; ch++)
                    for (int ky = 0; ky < P; ky++)
                        memcpy(row + (ch * P + ky) * P,
                               px + ((long)ch * S + gy * P + ky) * S + gx * P,
                               (size_t)P * sizeof(float));
            }
        gemm(ctx, emb, cols, &v->patch_w, NULL, NP);
        float *xi = x + (long)i * T * C;
        for (int c = 0; c < C; c++) xi[c] = v->class_emb[c] + v->pos_emb[c];
        for (int p = 0; p < NP; p++)
            for (int c = 0; c < C; c++)
                xi[(long)(p + 1) * C + c] =
                    emb[(long)p * C + c] + v->pos_emb[(long)(p + 1) * C + c];
    }
    layernorm(ctx, x, x, v->pre_w, v->pre_b, R, C, v->eps);
    for (int l = 0; l < v->n_layers; l++) {
        const VisionLayer *L = &v->layers[l];
        layernorm(ctx, h, x, L->ln1_w, L->ln1_b, R, C, v->eps);
        gemm(ctx, q, h, &L->q_w, L->q_b, R);
        gemm(ctx, k, h, &L->k_w, L->k_b, R);
        gemm(ctx, vv, h, &L->v_w, L->v_b, R);
        for (int i = 0; i < n_img; i++) {
            long o = (long)i * T * v->C_l;
            for (int t = 0; t < T; t++)
                kv_store(kc, vc, cap, v->heads_l, v->head_dim, t, k + o + (long)t * v->C_l,
                         vv + o + (long)t * v->C_l);
            attention(ctx, a + o, v->C_l, q + o, v->C_l, T, 0, kc, vc, cap, T, v->heads_l,
                      v->head_dim, 0, work);
        }
        gemm(ctx, h, a, &L->o_w, NULL, R);
        group_allreduce_sum(tp, h, (long)R * C);
        add_rows(h, L->o_b, R, C);
        add_inplace(x, h, (long)R * C);
        layernorm(ctx, h, x, L->ln2_w, L->ln2_b, R, C, v->eps);
        gemm(ctx, f, h, &L->fc1_w, L->fc1_b, R);
        quick_gelu(ctx, f, (long)R * v->I_l);
        gemm(ctx, h, f, &L->fc2_w, NULL, R);
        group_allreduce_sum(tp, h, (long)R * C);
        add_rows(h, L->fc2_b, R, C);
        add_inplace(x, h, (long)R * C);
    }
    for (int i = 0; i < n_img; i++)
        memcpy(feats + (long)i * NP * C, x + ((long)i * T + 1) * C, (size_t)NP * C * sizeof(float));
    free(x), free(h), free(q), free(k), free(vv), free(a), free(f), free(cols), free(emb);
    free(kc), free(vc), free(work);
}
