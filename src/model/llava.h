/* The LLaVA forward of one rank, as the Python reference's embed/run:
 *
 *   image  → pixels (CLIP preprocessing) → vision tower → projector
 *          = the image's visual tokens [n_patches, d]
 *   prompt → rows: text embeddings with the visual tokens spliced in place of
 *            the image marker (HL_IMAGE_TOKEN)
 *   rows   → this rank's blocks (llm_blocks) → logits on the last stage
 *
 * A Llava holds what one rank owns: the vision tower and projector on the
 * first pipeline stage, its LLM blocks, the head on the last stage. The
 * engine schedules these calls over the stages; the golden test calls them
 * on one rank. Errors about a request name it by its id. */
#ifndef HL_LLAVA_H
#define HL_LLAVA_H

#include <stdint.h>

#include "io/image.h"
#include "io/weights.h"
#include "model/config.h"
#include "model/llm.h"
#include "model/projector.h"
#include "model/vision.h"

typedef struct {
    ModelConfig cfg;
    Vision vision;  /* has_vision only */
    Projector proj; /* has_vision only */
    Llm llm;
    int has_vision;
} Llava;

/* Loads this rank's part: the vision tower and projector with the token
 * embedding (part->has_embed: the first stage), the blocks and head of part. */
void llava_load(Llava *m, WeightFile *wf, const ModelConfig *c, const LlmPart *part);

/* What an image was before preprocessing (for the per-sample log). */
typedef struct {
    int w, h;
    char mode[8];
} ImageInfo;

/* Decodes an image and preprocesses it as LLaVA-1.5 does (pad to a square,
 * resize, crop, normalise) into pix [3, S, S]. info may be NULL. */
void llava_pixels(const ModelConfig *c, const ImageRef *ref, float *pix, ImageInfo *info);

/* pixels [n, 3, S, S] → visual tokens vis [n, n_patches, d], both host
 * memory. For tests: feats [n, n_patches, v_hidden] (host) receives the
 * vision features and trace the projector's experts of the first image (CPU
 * only); either may be NULL. */
void llava_encode_images(const Ctx *ctx, const Llava *m, const float *pix, int n, float *vis,
                         Group *tp, float *feats, ProjectorTrace *trace);

/* Image markers in a prompt; more than one fails (one image per prompt). */
int llava_image_markers(const int *ids, int n_ids, int64_t id);
/* Prompt positions: the text ids, with a marker standing for n_patches rows. */
int llava_prompt_rows(const ModelConfig *c, const int *ids, int n_ids);
/* x [rows, d] = the prompt's embeddings with vis [n_patches, d] (the image's
 * visual tokens; NULL for a prompt without a marker) at the marker; host
 * memory. */
void llava_embed_prompt(const Ctx *ctx, const Llava *m, const int *ids, int n_ids, const float *vis,
                        float *x, int64_t id);

#endif
