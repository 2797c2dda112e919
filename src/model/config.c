#include "model/config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"

/* Sizes and counts above this are damaged files, not models (and keep every
 * product of two of them inside 64 bits). */
#define MAX_ATTR (1 << 30)

static int pos_int(WeightFile *wf, const char *name) {
    int64_t v = wf_attr_int(wf, name);
    if (v <= 0)
        hl_fail("%s: attribute '%s' = %lld must be a positive integer", wf->path, name,
                (long long)v);
    if (v > MAX_ATTR)
        hl_fail("%s: attribute '%s' = %lld is larger than any model's (at most 2^30 = %d): a "
                "damaged or hand-edited file",
                wf->path, name, (long long)v, MAX_ATTR);
    return (int)v;
}

/* A real attribute that must be finite and, when positive is set, above 0
 * (an epsilon, a RoPE base, a standard deviation). */
static void real_attrs(WeightFile *wf, const char *name, double *out, int n, int positive) {
    wf_attr_reals(wf, name, out, n);
    for (int i = 0; i < n; i++) {
        char which[32] = "";
        if (n > 1) snprintf(which, sizeof which, "[%d]", i);
        if (!isfinite(out[i]))
            hl_fail("%s: attribute '%s'%s = %g is not a finite number", wf->path, name, which,
                    out[i]);
        if (positive && !(out[i] > 0))
            hl_fail("%s: attribute '%s'%s = %g must be positive", wf->path, name, which, out[i]);
    }
}

static double pos_real(WeightFile *wf, const char *name) {
    double v;
    real_attrs(wf, name, &v, 1, 1);
    return v;
}

static int opt_int(WeightFile *wf, const char *name, int fallback) {
    return wf_has_attr(wf, name) ? (int)wf_attr_int(wf, name) : fallback;
}

void model_config_read(WeightFile *wf, ModelConfig *c) {
    memset(c, 0, sizeof *c);
    if (wf_has_attr(wf, "model_name")) {
        char *s = wf_attr_str(wf, "model_name");
        snprintf(c->model_name, sizeof c->model_name, "%s", s);
        free(s);
    }
    c->v_hidden = pos_int(wf, "vision_hidden");
    c->v_heads = pos_int(wf, "vision_heads");
    c->v_inter = pos_int(wf, "vision_intermediate");
    c->v_layers = pos_int(wf, "vision_layers");
    c->image_size = pos_int(wf, "vision_image_size");
    c->patch_size = pos_int(wf, "vision_patch_size");
    c->v_select = (int)wf_attr_int(wf, "vision_select_layer");
    c->v_eps = pos_real(wf, "vision_layer_norm_eps");
    real_attrs(wf, "image_mean", c->image_mean, 3, 0);
    real_attrs(wf, "image_std", c->image_std, 3, 1);
    c->hidden = pos_int(wf, "hidden");
    c->heads = pos_int(wf, "heads");
    c->inter = pos_int(wf, "intermediate");
    c->layers = pos_int(wf, "layers");
    c->vocab = pos_int(wf, "vocab");
    c->max_pos = pos_int(wf, "max_positions");
    c->rms_eps = pos_real(wf, "rms_norm_eps");
    c->rope_theta = pos_real(wf, "rope_theta");
    c->bos = opt_int(wf, "bos_id", 1);
    c->eos = opt_int(wf, "eos_id", 2);

    char *ve =
        wf_has_attr(wf, "visual_expert") ? wf_attr_str(wf, "visual_expert") : hl_strdup("none");
    if (!strcmp(ve, "none")) {
    } else if (!strcmp(ve, "layer1"))
        c->expert_v1 = 1;
    else if (!strcmp(ve, "layer2"))
        c->expert_v2 = 1;
    else if (!strcmp(ve, "both"))
        c->expert_v1 = c->expert_v2 = 1;
    else
        hl_fail("%s: attribute 'visual_expert' = '%s' (expected none, layer1, layer2 or both)",
                wf->path, ve);
    free(ve);
    c->expert_lang = opt_int(wf, "language_expert", 0) != 0;
    c->guide_layer = opt_int(wf, "guide_layer", 0);
    if (c->expert_v1 || c->expert_v2 || c->expert_lang) {
        c->e_embed = pos_int(wf, "expert_embed");
        c->e_hidden = pos_int(wf, "expert_hidden");
        c->e_rank = pos_int(wf, "expert_rank");
    }
    if (c->expert_lang && (c->guide_layer < 1 || c->guide_layer >= c->layers))
        hl_fail("%s: attribute 'guide_layer' = %d must be in [1, layers-1] = [1, %d]", wf->path,
                c->guide_layer, c->layers - 1);

    if (c->v_hidden % c->v_heads)
        hl_fail("%s: vision_hidden %d is not divisible by vision_heads %d", wf->path, c->v_hidden,
                c->v_heads);
    if (c->hidden % c->heads)
        hl_fail("%s: hidden %d is not divisible by heads %d", wf->path, c->hidden, c->heads);
    if ((c->hidden / c->heads) % 2)
        hl_fail("%s: LLaMA head dim %d must be even (RoPE)", wf->path, c->hidden / c->heads);
    if (c->image_size % c->patch_size)
        hl_fail("%s: vision_image_size %d is not divisible by vision_patch_size %d", wf->path,
                c->image_size, c->patch_size);
    c->grid = c->image_size / c->patch_size;
    c->n_patches = c->grid * c->grid;
    int idx = c->v_select < 0 ? c->v_layers + 1 + c->v_select : c->v_select;
    if (idx < 1 || idx > c->v_layers)
        hl_fail("%s: vision_select_layer %d selects hidden state %d of %d (need 1..%d)", wf->path,
                c->v_select, idx, c->v_layers + 1, c->v_layers);
    c->v_layers_used = idx;
}

void model_config_load(const char *path, ModelConfig *c) {
    WeightFile wf;
    wf_open(&wf, path);
    model_config_read(&wf, c);
    wf_close(&wf);
}
