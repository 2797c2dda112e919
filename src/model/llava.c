#include "model/llava.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/clip_image.h"
#include "text/prompt.h"
#include "util/check.h"

void llava_load(Llava *m, WeightFile *wf, const ModelConfig *c, const LlmPart *part) {
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->has_vision = part->has_embed;
    if (m->has_vision) {
        vision_load(&m->vision, wf, &m->cfg, part->tp_rank, part->tp_size);
        projector_load(&m->proj, wf, &m->cfg);
    }
    llm_load(&m->llm, wf, &m->cfg, part);
}

void llava_pixels(const ModelConfig *c, const ImageRef *ref, float *pix, ImageInfo *info) {
    Image img;
    image_ref_load(ref, &img);
    if (info) {
        info->w = img.w, info->h = img.h;
        snprintf(info->mode, sizeof info->mode, "%s", img.mode);
    }
    if (ref->raw)
        clip_preprocess_unconverted(&img, c->image_size, c->image_mean, c->image_std, pix);
    else
        clip_preprocess(&img, c->image_size, c->image_mean, c->image_std, pix);
    image_free(&img);
}

void llava_encode_images(const Ctx *ctx, const Llava *m, const float *pix, int n, float *vis,
                         Group *tp, float *feats, ProjectorTrace *trace) {
    const ModelConfig *c = &m->cfg;
    const int NP = c->n_patches, C = c->v_hidden, d = c->hidden, S = c->image_size;
    if (n <= 0) return;
    CHECK(m->has_vision);
    CHECK(!trace || ctx->backend == BACKEND_CPU); /* the trace is read on the host */
    const size_t f = sizeof(float), pb = (size_t)n * 3 * S * S * f;
    const size_t fb = (size_t)n * NP * C * f, vb = (size_t)n * NP * d * f;
    float *px = ctx_view(ctx, pix, pb, pb);
    float *fv = feats ? ctx_view(ctx, feats, 0, fb) : ctx_alloc(ctx, fb);
    float *vv = ctx_view(ctx, vis, 0, vb);
    vision_forward(ctx, &m->vision, px, n, fv, tp);
    for (int j = 0; j < n; j++)
        projector_forward(ctx, &m->proj, fv + (long)j * NP * C, NP, vv + (long)j * NP * d,
                          j == 0 ? trace : NULL);
    ctx_view_end(ctx, vis, vv, vb);
    if (feats)
        ctx_view_end(ctx, feats, fv, fb);
    else
        ctx_free(ctx, fv);
    ctx_view_end(ctx, (void *)pix, px, 0);
}

int llava_image_markers(const int *ids, int n_ids, int64_t id) {
    int markers = 0;
    for (int j = 0; j < n_ids; j++) markers += ids[j] == HL_IMAGE_TOKEN;
    if (markers > 1)
        hl_fail("request %lld: %d <image> markers; one image per prompt is supported",
                (long long)id, markers);
    return markers;
}

int llava_prompt_rows(const ModelConfig *c, const int *ids, int n_ids) {
    int rows = 0;
    for (int j = 0; j < n_ids; j++) rows += ids[j] == HL_IMAGE_TOKEN ? c->n_patches : 1;
    return rows;
}

void llava_embed_prompt(const Ctx *ctx, const Llava *m, const int *ids, int n_ids, const float *vis,
                        float *x, int64_t id) {
    const ModelConfig *c = &m->cfg;
    const int d = c->hidden, NP = c->n_patches;
    for (int j = 0, row = 0; j < n_ids;) {
        if (ids[j] == HL_IMAGE_TOKEN) {
            CHECK(vis);
            memcpy(x + (long)row * d, vis, (size_t)NP * d * sizeof(float));
            row += NP, j++;
            continue;
        }
        /* a run of text tokens: one embedding lookup */
        int e = j;
        for (; e < n_ids && ids[e] != HL_IMAGE_TOKEN; e++)
            if (ids[e] < 0 || ids[e] >= c->vocab)
                hl_fail("request %lld: token id %d outside the vocabulary of %d", (long long)id,
                        ids[e], c->vocab);
        llm_embed(ctx, &m->llm, ids + j, e - j, x + (long)row * d);
        row += e - j, j = e;
    }
}
