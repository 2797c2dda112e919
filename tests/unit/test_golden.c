/* Every stage of every fixture model against the PyTorch reference's golden
 * outputs: pixels (bit for bit), prompt ids (exact), vision features,
 * projector output, guidance vectors, generated adapters, prompt logits
 * (max |c-g| <= 1e-4 * max|g|) and greedy tokens (identical). The engine's
 * batched generation must give the same tokens for any batch size and
 * micro-batch count. */
#include <dirent.h>
#include <string.h>

#include "comm/comm.h"
#include "golden.h"
#include "kernels/ops.h"
#include "model/llava.h"
#include "run/engine.h"
#include "run/model_file.h"
#include "test.h"
#include "text/prompt.h"

static void cmp(hid_t g, const char *name, const float *c, long n, const char *fx, int k) {
    long gn;
    float *gv = golden_f32(g, name, &gn);
    EXPECT(gn == n, "%s case %d %s: %ld values, golden %ld", fx, k, name, n, gn);
    if (gn == n) {
        double e = golden_rel_err(c, gv, n);
        EXPECT(e <= GOLDEN_TOL, "%s case %d %s: relative error %.3g", fx, k, name, e);
    }
    free(gv);
}

typedef struct {
    int *ids, n_ids;
    int *tokens, n_tokens, max_new;
    char *image;
} Case;

static void run_fixture(const char *dir, const char *fx, Comm *comm) {
    char path[1024], gpath[1024];
    snprintf(path, sizeof path, "%s/model.h5", dir);
    snprintf(gpath, sizeof gpath, "%s/golden.h5", dir);
    /* the whole model on one rank, loaded as the engine loads a stage */
    WeightFile wf;
    golden_open(&wf, path);
    ModelConfig c;
    model_config_read(&wf, &c);
    Llava m;
    LlmPart whole = {.tp_size = 1, .n_blocks = c.layers, .has_embed = 1, .has_head = 1};
    llava_load(&m, &wf, &c, &whole);
    Tokenizer *tok = model_file_tokenizer(&wf);
    Llm *llm = &m.llm;
    Group solo = {.rank = 0, .size = 1};
    Ctx ctx = golden_ctx();
    hid_t gf = H5Fopen(gpath, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(gf >= 0);
    int n_cases = (int)golden_attr_int(gf, "n_cases");
    const int S = c.image_size, NP = c.n_patches, d = c.hidden, C = c.v_hidden;
    Case *cases = hl_calloc((size_t)n_cases, sizeof(Case));
    for (int k = 0; k < n_cases; k++) {
        char gname[32];
        snprintf(gname, sizeof gname, "case%d", k);
        hid_t g = H5Gopen2(gf, gname, H5P_DEFAULT);
        Case *cs = &cases[k];
        cs->image = golden_attr_str(g, "image");
        char *question = golden_attr_str(g, "question");
        char *prompt_g = golden_attr_str(g, "prompt");
        cs->max_new = (int)golden_attr_int(g, "max_new_tokens");
        /* prompt text and ids */
        char *prompt = prompt_vicuna_v1(question, 1);
        EXPECT(!strcmp(prompt, prompt_g), "%s case %d: prompt differs:\n%s\n%s", fx, k, prompt,
               prompt_g);
        cs->n_ids = prompt_tokenize(tok, prompt, &cs->ids);
        long gn;
        int *gids = golden_i32(g, "ids", &gn);
        int same = gn == cs->n_ids;
        for (long i = 0; same && i < gn; i++) same = gids[i] == cs->ids[i];
        EXPECT(same, "%s case %d: prompt ids differ (%d vs golden %ld)", fx, k, cs->n_ids, gn);
        /* pixels: bit for bit */
        float *pix = hl_malloc((size_t)3 * S * S * sizeof(float));
        llava_pixels(&c, &(ImageRef){.path = cs->image}, pix, NULL);
        float *gpix = golden_f32(g, "pixels", &gn);
        EXPECT(gn == 3L * S * S && !memcmp(pix, gpix, (size_t)gn * sizeof(float)),
               "%s case %d: pixels differ from Pillow + CLIPImageProcessor", fx, k);
        free(gpix);
        /* vision and projector */
        float *feats = hl_malloc((size_t)NP * C * sizeof(float));
        float *v = hl_malloc((size_t)NP * d * sizeof(float));
        ProjectorTrace tr = {0};
        llava_encode_images(&ctx, &m, pix, 1, v, &solo, feats, &tr);
        cmp(g, "vision_features", feats, (long)NP * C, fx, k);
        cmp(g, "projector", v, (long)NP * d, fx, k);
        if (c.expert_v1 || c.expert_v2) cmp(g, "visual_guidance", tr.guidance, C, fx, k);
        if (c.expert_v1) {
            cmp(g, "v1.w_d", tr.a1.w_d, (long)c.e_rank * C, fx, k);
            cmp(g, "v1.w_u", tr.a1.w_u, (long)d * c.e_rank, fx, k);
        }
        if (c.expert_v2) {
            cmp(g, "v2.w_d", tr.a2.w_d, (long)c.e_rank * d, fx, k);
            cmp(g, "v2.w_u", tr.a2.w_u, (long)d * c.e_rank, fx, k);
        }
        projector_trace_free(&ctx, &tr);
        /* the language model over the spliced prompt */
        int T = llava_prompt_rows(&c, cs->ids, cs->n_ids);
        float *x = hl_malloc((size_t)T * d * sizeof(float));
        llava_embed_prompt(&ctx, &m, cs->ids, cs->n_ids, v, x, k);
        SeqState st;
        seq_state_init(&ctx, &st, llm, T + cs->max_new);
        SeqSpan span = {.st = &st, .n_rows = T, .pos0 = 0, .prefill = 1};
        llm_blocks(&ctx, llm, x, &span, 1, &solo);
        if (c.expert_lang) {
            cmp(g, "language_guidance", st.guidance, d, fx, k);
            for (int b = c.guide_layer; b < c.layers; b++) {
                char nm[64];
                snprintf(nm, sizeof nm, "lang.%d.w_d", b);
                cmp(g, nm, st.adapters[b].w_d, (long)c.e_rank * d, fx, k);
                snprintf(nm, sizeof nm, "lang.%d.w_u", b);
                cmp(g, nm, st.adapters[b].w_u, (long)d * c.e_rank, fx, k);
            }
        }
        float *logits = hl_malloc((size_t)T * c.vocab * sizeof(float));
        llm_logits(&ctx, llm, x, T, logits);
        long l0 = golden_attr_int(g, "logits_start");
        float *gl = golden_f32(g, "logits", &gn);
        long rows = gn / c.vocab;
        EXPECT(l0 + rows <= T, "%s case %d: golden logits rows", fx, k);
        if (l0 + rows <= T) {
            double e = golden_rel_err(logits + l0 * c.vocab, gl, gn);
            EXPECT(e <= GOLDEN_TOL, "%s case %d: prompt logits relative error %.3g", fx, k, e);
        }
        free(gl);
        /* greedy decoding with the KV cache */
        int *gt = golden_i32(g, "tokens", &gn);
        cs->tokens = gt, cs->n_tokens = (int)gn;
        int tokn = argmax(logits + (long)(T - 1) * c.vocab, c.vocab), pos = T, ok = 1;
        float *xr = hl_malloc((size_t)d * sizeof(float)),
              *lr = hl_malloc((size_t)c.vocab * sizeof(float));
        for (long t = 0; t < gn; t++) {
            ok &= tokn == gt[t];
            if (!ok || tokn == c.eos || t + 1 == gn) break;
            llm_embed(&ctx, llm, &tokn, 1, xr);
            SeqSpan one = {.st = &st, .n_rows = 1, .pos0 = pos++, .prefill = 0};
            llm_blocks(&ctx, llm, xr, &one, 1, &solo);
            llm_logits(&ctx, llm, xr, 1, lr);
            tokn = argmax(lr, c.vocab);
        }
        EXPECT(ok, "%s case %d: greedy tokens differ from the reference", fx, k);
        char *ans = golden_attr_str(g, "answer");
        char *dec = prompt_answer(tok, gt, (int)gn), *a = dec;
        EXPECT(!strcmp(a, ans), "%s case %d: decoded answer '%s' vs '%s'", fx, k, a, ans);
        free(ans), free(dec), free(xr), free(lr);
        seq_state_free(&ctx, &st, llm);
        free(logits), free(x), free(v), free(feats), free(pix), free(prompt), free(question),
            free(prompt_g), free(gids);
        H5Gclose(g);
    }
    H5Fclose(gf);
    /* the engine, batched: every batch size and micro-batch count, same tokens */
    Engine e;
    engine_init(&e, comm, &wf, &c, NULL, &ctx);
    wf_close(&wf);
    int sizes[][2] = {{1, 1}, {3, 1}, {3, 2}, {3, 3}};
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        int bs = sizes[z][0] < n_cases ? sizes[z][0] : n_cases;
        e.micro_batches = sizes[z][1];
        for (int b0 = 0; b0 < n_cases; b0 += bs) {
            int cnt = n_cases - b0 < bs ? n_cases - b0 : bs;
            GenRequest *rq = hl_calloc((size_t)cnt, sizeof(GenRequest));
            GenResult *rs = hl_calloc((size_t)cnt, sizeof(GenResult));
            for (int j = 0; j < cnt; j++) {
                Case *cs = &cases[b0 + j];
                rq[j] = (GenRequest){.id = b0 + j,
                                     .image = {.path = cs->image},
                                     .ids = cs->ids,
                                     .n_ids = cs->n_ids,
                                     .max_new = cs->max_new};
            }
            engine_generate(&e, rq, cnt, rs);
            for (int j = 0; j < cnt; j++) {
                Case *cs = &cases[b0 + j];
                int same = rs[j].n_tokens == cs->n_tokens;
                for (int t = 0; same && t < cs->n_tokens; t++)
                    same = rs[j].tokens[t] == cs->tokens[t];
                EXPECT(same, "%s: engine batch %d micro %d case %d: tokens differ", fx, bs,
                       sizes[z][1], b0 + j);
                gen_result_free(&rs[j]);
            }
            free(rq), free(rs);
        }
    }
    for (int k = 0; k < n_cases; k++)
        free(cases[k].ids), free(cases[k].tokens), free(cases[k].image);
    free(cases);
    tokenizer_free(tok);
    printf("%s: %d cases checked\n", fx, n_cases);
}

int main(int argc, char **argv) {
    Comm comm;
    comm_init(&argc, &argv, &comm);
    comm_grid(&comm, 1, 1, 1);
    const char *root = "tests/fixtures/models";
    DIR *dir = opendir(root);
    CHECKF(dir, "cannot open %s (run from the repository root)", root);
    struct dirent *de;
    char names[64][256];
    int n = 0;
    while ((de = readdir(dir)) && n < 64)
        if (de->d_name[0] != '.') snprintf(names[n++], sizeof names[0], "%s", de->d_name);
    closedir(dir);
    EXPECT(n >= 6, "only %d fixture models", n);
    for (int i = 0; i < n; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", root, names[i]);
        run_fixture(p, names[i], &comm);
    }
    int rc = test_done("golden");
    comm_finalize(&comm);
    return rc;
}
