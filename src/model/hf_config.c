#include "model/hf_config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"
#include "util/path.h"

/* An integer key of obj (prefix names obj in messages), or def when absent
 * or null. */
static int int_key(json_t *obj, const char *key, int def, const char *path, const char *prefix) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v)) return def;
    if (json_is_boolean(v)) return json_is_true(v);
    if (!json_is_integer(v) || json_integer_value(v) < -(1 << 30) ||
        json_integer_value(v) > (1 << 30))
        hl_fail("%s: %s%s: expected an integer", path, prefix, key);
    return (int)json_integer_value(v);
}

static int pos_key(json_t *obj, const char *key, int def, const char *path, const char *prefix) {
    int v = int_key(obj, key, def, path, prefix);
    if (v <= 0) hl_fail("%s: %s%s: expected a positive integer, got %d", path, prefix, key, v);
    return v;
}

/* CLIP vision sizes: transformers' CLIPVisionConfig defaults, or LLaVA's
 * ViT-L/14 tower when the config names it / has no vision config. */
typedef struct {
    int hidden, inter, layers, heads, image, patch;
} Tower;

static const Tower clip_defaults = {768, 3072, 12, 12, 224, 32};
static const Tower vit_l14_336 = {1024, 4096, 24, 16, 336, 14};

static Tower tower_of(json_t *v, Tower def, const char *path, const char *prefix) {
    Tower t;
    t.hidden = pos_key(v, "hidden_size", def.hidden, path, prefix);
    t.inter = pos_key(v, "intermediate_size", def.inter, path, prefix);
    t.layers = pos_key(v, "num_hidden_layers", def.layers, path, prefix);
    t.heads = pos_key(v, "num_attention_heads", def.heads, path, prefix);
    t.image = pos_key(v, "image_size", def.image, path, prefix);
    t.patch = pos_key(v, "patch_size", def.patch, path, prefix);
    return t;
}

static void llama_of(json_t *t, const char *path, const char *prefix, ModelConfig *c) {
    c->vocab = pos_key(t, "vocab_size", 32000, path, prefix);
    c->hidden = pos_key(t, "hidden_size", 4096, path, prefix);
    c->inter = pos_key(t, "intermediate_size", 11008, path, prefix);
    c->layers = pos_key(t, "num_hidden_layers", 32, path, prefix);
    c->heads = pos_key(t, "num_attention_heads", 32, path, prefix);
    c->max_pos = pos_key(t, "max_position_embeddings", 2048, path, prefix);
    int kv = int_key(t, "num_key_value_heads", c->heads, path, prefix);
    if (kv != c->heads)
        hl_fail("%s: %snum_key_value_heads %d differs from num_attention_heads %d; grouped-query "
                "attention is not supported",
                path, prefix, kv, c->heads);
}

void model_config_from_hf(const char *path, ModelConfig *c) {
    memset(c, 0, sizeof *c);
    json_error_t err;
    json_t *o = json_load_file(path, 0, &err);
    if (!o) hl_fail("%s:%d: %s", path, err.line, err.text);
    if (!json_is_object(o))
        hl_fail("%s: expected a JSON object (a checkpoint's config.json)", path);
    json_t *name = json_object_get(o, "_name_or_path");
    if (json_is_string(name) && *json_string_value(name)) {
        snprintf(c->model_name, sizeof c->model_name, "%s", json_string_value(name));
    } else {
        char *dir = path_dirname(path), *stem = path_stem(dir);
        snprintf(c->model_name, sizeof c->model_name, "%s", stem);
        free(dir), free(stem);
    }
    json_t *text = json_object_get(o, "text_config"), *vis = json_object_get(o, "vision_config");
    json_t *type = json_object_get(o, "model_type");
    int hf = json_is_object(text) || json_is_object(vis) ||
             (json_is_string(type) && !strcmp(json_string_value(type), "llava"));
    Tower t;
    int select;
    if (hf) { /* llava-hf */
        llama_of(json_is_object(text) ? text : NULL, path, "text_config.", c);
        t = json_is_object(vis) ? tower_of(vis, clip_defaults, path, "vision_config.")
                                : vit_l14_336;
        select = int_key(o, "vision_feature_layer", -2, path, "");
    } else { /* the original release */
        llama_of(o, path, "", c);
        json_t *tw = json_object_get(o, "mm_vision_tower");
        const char *tower = json_is_string(tw) ? json_string_value(tw) : "";
        const char *base = strrchr(tower, '/') ? strrchr(tower, '/') + 1 : tower;
        if (!strcmp(base, "clip-vit-large-patch14-336"))
            t = vit_l14_336;
        else if (!strcmp(base, "clip-vit-large-patch14"))
            t = vit_l14_336, t.image = 224;
        else
            hl_fail("%s: mm_vision_tower: '%s' is not a tower whose sizes are known "
                    "(clip-vit-large-patch14-336 or clip-vit-large-patch14); plan the converted "
                    "weight file instead",
                    path, tower);
        if (!json_object_get(o, "mm_vision_select_layer"))
            hl_fail("%s: mm_vision_select_layer: missing required key", path);
        select = int_key(o, "mm_vision_select_layer", 0, path, "");
        int mm = int_key(o, "mm_hidden_size", t.hidden, path, "");
        if (mm != t.hidden)
            hl_fail("%s: mm_hidden_size %d differs from the tower's hidden size %d", path, mm,
                    t.hidden);
    }
    int used = select < 0 ? t.layers + 1 + select : select;
    if (used < 1 || used > t.layers)
        hl_fail("%s: vision feature layer %d does not select one of the %d encoder layers", path,
                select, t.layers);
    c->v_hidden = t.hidden, c->v_inter = t.inter, c->v_heads = t.heads;
    c->image_size = t.image, c->patch_size = t.patch;
    c->v_layers = used, c->v_select = -1, c->v_layers_used = used;
    if (c->image_size % c->patch_size)
        hl_fail("%s: image_size %d is not divisible by patch_size %d", path, c->image_size,
                c->patch_size);
    if (c->v_hidden % c->v_heads || c->hidden % c->heads)
        hl_fail("%s: a hidden size is not divisible by its head count", path);
    c->grid = c->image_size / c->patch_size;
    c->n_patches = c->grid * c->grid;

    json_t *ve = json_object_get(o, "visual_expert");
    const char *v = json_is_string(ve) ? json_string_value(ve) : "none";
    if (ve && !json_is_null(ve) && !json_is_string(ve))
        hl_fail("%s: visual_expert: expected none, layer1, layer2 or both", path);
    if (!strcmp(v, "layer1") || !strcmp(v, "both")) c->expert_v1 = 1;
    if (!strcmp(v, "layer2") || !strcmp(v, "both")) c->expert_v2 = 1;
    if (strcmp(v, "none") && !c->expert_v1 && !c->expert_v2)
        hl_fail("%s: visual_expert: '%s' (expected none, layer1, layer2 or both)", path, v);
    c->expert_lang = int_key(o, "language_expert", 0, path, "") != 0;
    c->guide_layer = int_key(o, "guide_layer", 0, path, "");
    if (c->expert_v1 || c->expert_v2 || c->expert_lang) {
        const char *need[3] = {"expert_embed", "expert_hidden", "expert_rank"};
        for (int i = 0; i < 3; i++)
            if (!json_object_get(o, need[i]))
                hl_fail("%s: %s: missing (the experts need it)", path, need[i]);
        c->e_embed = pos_key(o, "expert_embed", 0, path, "");
        c->e_hidden = pos_key(o, "expert_hidden", 0, path, "");
        c->e_rank = pos_key(o, "expert_rank", 0, path, "");
    }
    if (c->expert_lang && (c->guide_layer < 1 || c->guide_layer >= c->layers))
        hl_fail("%s: guide_layer %d must be in [1, %d]", path, c->guide_layer, c->layers - 1);
    json_decref(o);
}
