/* Model hyper-parameters, read from the weight file's root attributes
 * (docs/weight-file.md) and checked for consistency. */
#ifndef HL_MODEL_CONFIG_H
#define HL_MODEL_CONFIG_H

#include "io/weights.h"

typedef struct {
    char model_name[128];
    /* vision tower */
    int v_hidden, v_heads, v_inter, v_layers, image_size, patch_size, v_select;
    double v_eps, image_mean[3], image_std[3];
    /* language model */
    int hidden, heads, inter, layers, vocab, max_pos, bos, eos;
    double rms_eps, rope_theta;
    /* experts */
    int expert_v1, expert_v2, expert_lang, guide_layer, e_embed, e_hidden, e_rank;
    /* derived */
    int grid, n_patches; /* patch grid side and count */
    int v_layers_used;   /* encoder layers run to reach the selected hidden state */
} ModelConfig;

/* Reads the root attributes and checks them: the one validator of a model's
 * numbers (hl_fail naming the file and the attribute). */
void model_config_read(WeightFile *wf, ModelConfig *c);
/* Opens path, reads its config, closes it (no tensors are read). */
void model_config_load(const char *path, ModelConfig *c);

#endif
