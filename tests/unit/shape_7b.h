/* LLaVA-1.5-7B's shape (CLIP ViT-L/14-336, LLaMA-7B, guidance from block
 * 16) for the layout checks of the tests and the YAML fuzz target. */
#ifndef HL_TEST_SHAPE_7B_H
#define HL_TEST_SHAPE_7B_H

#include "run/config.h"

static inline ModelShape shape_7b(void) {
    return (ModelShape){.vision_heads = 16,
                        .vision_hidden = 1024,
                        .vision_intermediate = 4096,
                        .heads = 32,
                        .hidden = 4096,
                        .intermediate = 11008,
                        .layers = 32,
                        .vocab = 32000,
                        .guide_layer = 16};
}

#endif
