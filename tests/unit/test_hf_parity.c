/* Against Hugging Face transformers itself: checkpoints saved by transformers
 * in both LLaVA-1.5 layouts, and by transformers 5.x (tests/fixtures/hf), are
 * converted with tools/convert.py, loaded by the engine, and compared with the
 * float32 outputs transformers produced for them (expected_outputs.h5,
 * expected5_outputs.h5): CLIP features
 * of the selected layer, the projector, LlamaForCausalLM's text logits,
 * LlavaForConditionalGeneration's logits for a prompt with an image and,
 * for the 5.x checkpoint, the greedy tokens of its generate(). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golden.h"
#include "model/config.h"
#include "model/llm.h"
#include "model/projector.h"
#include "model/vision.h"
#include "test.h"

static void check(const char *what, const float *c, const float *g, long n) {
    double e = golden_rel_err(c, g, n);
    EXPECT(e <= GOLDEN_TOL, "%s: relative error %.3g", what, e);
    printf("  %-28s max rel err %.2e\n", what, e);
}

static int argmax(const float *v, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

/* Logits of the rows x [T, d]; cols = golden width (<= vocab). With want,
 * then decodes n_want tokens greedily with the KV cache and counts those
 * equal to want (stopping at the first difference). */
static int run_llm_gen(const Llm *m, float *x, int T, float *logits, const int *want, int n_want) {
    Ctx ctx = golden_ctx();
    SeqState st;
    seq_state_init(&ctx, &st, m, T + n_want);
    SeqSpan sp = {.st = &st, .n_rows = T, .pos0 = 0, .prefill = 1};
    Group solo = {.rank = 0, .size = 1};
    llm_blocks(&ctx, m, x, &sp, 1, &solo);
    llm_logits(&ctx, m, x, T, logits);
    int same = 0, tok = n_want ? argmax(logits + (long)(T - 1) * m->vocab, m->vocab) : 0;
    float *xr = hl_malloc((size_t)m->d * sizeof(float)),
          *lr = hl_malloc((size_t)m->vocab * sizeof(float));
    for (int t = 0; t < n_want && tok == want[t]; t++) {
        same++;
        if (t + 1 == n_want) break;
        llm_embed(&ctx, m, &tok, 1, xr);
        SeqSpan one = {.st = &st, .n_rows = 1, .pos0 = T + t, .prefill = 0};
        llm_blocks(&ctx, m, xr, &one, 1, &solo);
        llm_logits(&ctx, m, xr, 1, lr);
        tok = argmax(lr, m->vocab);
    }
    free(xr), free(lr);
    seq_state_free(&ctx, &st, m);
    return same;
}

static void run_llm(const Llm *m, float *x, int T, float *logits) {
    run_llm_gen(m, x, T, logits, NULL, 0);
}

static void run(const char *model_path, const char *label, hid_t ex, int check_mm) {
    printf("%s\n", label);
    ModelConfig c;
    Vision vis;
    Projector proj;
    Llm llm;
    golden_load_model(model_path, &c, &vis, &proj, &llm, NULL);
    Group solo = {.rank = 0, .size = 1};
    Ctx ctx = golden_ctx();
    long n;
    const int NP = c.n_patches, C = c.v_hidden, d = c.hidden, V = c.vocab;
    float *pix = golden_f32(ex, "vision/pixel_values", &n);
    EXPECT(n == 3L * c.image_size * c.image_size, "pixel tensor size");
    float *feats = hl_malloc((size_t)NP * C * sizeof(float)),
          *vt = hl_malloc((size_t)NP * d * sizeof(float));
    vision_forward(&ctx, &vis, pix, 1, feats, &solo);
    float *g = golden_f32(ex, "vision/features", &n);
    EXPECT(n == (long)NP * C, "features size");
    check("CLIP features (layer -2)", feats, g, n);
    free(g);
    projector_forward(&ctx, &proj, feats, NP, vt, NULL);
    g = golden_f32(ex, "vision/projected", &n);
    check("projector", vt, g, n);
    free(g);
    /* text-only logits (LlamaForCausalLM: the first 400 columns) */
    int *ids = golden_i32(ex, "text/input_ids", &n);
    int T = (int)n;
    float *x = hl_malloc((size_t)(T + NP) * d * sizeof(float));
    float *lg = hl_malloc((size_t)(T + NP) * V * sizeof(float));
    llm_embed(&ctx, &llm, ids, T, x);
    run_llm(&llm, x, T, lg);
    long gn;
    g = golden_f32(ex, "text/logits", &gn);
    int gv = (int)(gn / T);
    float *cut = hl_malloc((size_t)gn * sizeof(float));
    for (int r = 0; r < T; r++)
        memcpy(cut + (long)r * gv, lg + (long)r * V, (size_t)gv * sizeof(float));
    check("text logits", cut, g, gn);
    free(g), free(cut), free(ids);
    if (check_mm) {
        /* LlavaForConditionalGeneration: image token replaced by the visual tokens */
        ids = golden_i32(ex, "mm/input_ids", &n);
        int *tokn = golden_i32(ex, "mm/image_token", &gn);
        int rows = 0;
        for (long i = 0; i < n; i++) {
            if (ids[i] == tokn[0]) {
                memcpy(x + (long)rows * d, vt, (size_t)NP * d * sizeof(float));
                rows += NP;
            } else {
                llm_embed(&ctx, &llm, &ids[i], 1, x + (long)rows * d);
                rows++;
            }
        }
        /* greedy tokens of generate(), where the reference has them */
        int *want = NULL, n_want = 0;
        if (golden_has(ex, "mm/generated"))
            want = golden_i32(ex, "mm/generated", &gn), n_want = (int)gn;
        int same = run_llm_gen(&llm, x, rows, lg, want, n_want);
        g = golden_f32(ex, "mm/logits", &gn);
        EXPECT(gn == (long)rows * V, "mm logits: %ld vs %ld", gn, (long)rows * V);
        if (gn == (long)rows * V) check("LLaVA logits with image", lg, g, gn);
        if (want) {
            EXPECT(same == n_want, "greedy tokens: %d of %d equal to generate()'s", same, n_want);
            printf("  %-28s %d of %d equal\n", "greedy tokens (generate)", same, n_want);
        }
        free(g), free(ids), free(tokn), free(want);
    }
    free(pix), free(feats), free(vt), free(x), free(lg);
}

int main(void) {
    char dir[] = "/tmp/hl-hfXXXXXX";
    test_tmpdir(dir);
    char cmd[2048], a[64], b[64], b5[64];
    snprintf(a, sizeof a, "%s/orig.h5", dir);
    snprintf(b, sizeof b, "%s/hf.h5", dir);
    snprintf(b5, sizeof b5, "%s/hf5.h5", dir);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 tools/convert.py tests/fixtures/hf/llava-orig --vision-tower "
             "tests/fixtures/hf/clip --out %s >/dev/null && /usr/bin/python3 tools/convert.py "
             "tests/fixtures/hf/llava-hf --out %s >/dev/null && /usr/bin/python3 tools/convert.py "
             "tests/fixtures/hf/llava-hf5 --out %s >/dev/null",
             a, b, b5);
    int rc = system(cmd);
    EXPECT(rc == 0, "conversion failed (%d)", rc);
    if (rc == 0) {
        hid_t ex = H5Fopen("tests/fixtures/hf/expected_outputs.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
        CHECK(ex >= 0);
        run(a, "original LLaVA-1.5 layout (f16 .bin shards + CLIP folder)", ex, 0);
        run(b, "llava-hf layout (bf16 safetensors)", ex, 1);
        H5Fclose(ex);
        ex = H5Fopen("tests/fixtures/hf/expected5_outputs.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
        CHECK(ex >= 0);
        run(b5, "transformers 5.x save_pretrained (f16 model.safetensors)", ex, 1);
        H5Fclose(ex);
    }
    test_rmdir(dir);
    return test_done("hf_parity");
}
