/* A model's numbers from a HuggingFace LLaVA checkpoint's config.json, for
 * costing a model before it is converted (`plan --model-config`). Both
 * layouts tools/convert.py reads: the original LLaVA-1.5 release (LLaMA keys
 * at the top, mm_vision_tower naming a known CLIP tower,
 * mm_vision_select_layer) and llava-hf (text_config, vision_config,
 * vision_feature_layer), with transformers' defaults for absent keys, and
 * HyperLLaVA's expert keys (visual_expert, language_expert, guide_layer,
 * expert_embed, expert_hidden, expert_rank). Only the layer sizes are filled
 * that the layout and cost need; the tower keeps only the layers run, as the
 * converter stores them. */
#ifndef HL_HF_CONFIG_H
#define HL_HF_CONFIG_H

#include "model/config.h"

/* hl_fail naming the file and the key on a problem. */
void model_config_from_hf(const char *path, ModelConfig *c);

#endif
