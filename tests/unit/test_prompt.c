/* vicuna_v1 prompts and LLaVA's tokenizer_image_token splicing against the
 * goldens of tests/reference/make_tokenizer_goldens.py (questions with and
 * without an image, ScienceQA/MMBench-style options, Chinese text, raw prompts
 * with zero, one or several "<image>"), for the tiny tokenizers and, when
 * ../shared has it, the real LLaMA one. */
#include <unistd.h>

#include "test.h"
#include "text/prompt.h"
#include "tokenizer_golden.h"

static char buf_a[8192], buf_b[8192];

static int count_tags(const char *s) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, HL_IMAGE_TAG)) != NULL; p += strlen(HL_IMAGE_TAG)) n++;
    return n;
}

static void check_ids(const Tokenizer *t, const char *name, const char *prompt,
                      const char *want_s) {
    int *got, *want;
    int ng = prompt_tokenize(t, prompt, &got), nw = golden_ids(want_s, &want);
    EXPECT(ids_equal(got, ng, want, nw), "%s: prompt '%s': got [%s] want [%s]", name, prompt,
           ids_text(got, ng, buf_a, sizeof buf_a), ids_text(want, nw, buf_b, sizeof buf_b));
    EXPECT(prompt_image_count(got, ng) == count_tags(prompt), "%s: '%s' has %d markers", name,
           prompt, prompt_image_count(got, ng));
    EXPECT(ng > 0 && got[0] == tokenizer_bos(t), "%s: '%s' does not start with BOS", name, prompt);
    free(got), free(want);
}

static int check_prompts(const Tokenizer *t, const char *name, const char *golden) {
    char **lines;
    int nl = golden_read(golden, &lines), cases = 0;
    EXPECT(nl > 0, "%s: cannot read %s", name, golden);
    for (int li = 0; li < nl; li++) {
        char *f[8];
        int nf = golden_fields(lines[li], f, 8);
        if (f[0][0] == 'Q' && nf == 5) {
            char *q = golden_unescape(f[2], NULL), *want = golden_unescape(f[3], NULL);
            char *p = prompt_vicuna_v1(q, atoi(f[1]));
            EXPECT(strcmp(p, want) == 0, "%s: prompt for '%s': got '%s' want '%s'", name, f[2], p,
                   want);
            check_ids(t, name, p, f[4]);
            free(q), free(want), free(p);
        } else if (f[0][0] == 'P' && nf == 3) {
            char *p = golden_unescape(f[1], NULL);
            check_ids(t, name, p, f[2]);
            free(p);
        } else {
            EXPECT(0, "%s: bad line %d of %s", name, li + 1, golden);
            continue;
        }
        cases++;
    }
    golden_free(lines, nl);
    printf("%s: %d prompt cases\n", name, cases);
    return cases;
}

int main(void) {
    char *p = prompt_vicuna_v1("What is this?", 1);
    EXPECT(strcmp(p,
                  "A chat between a curious user and an artificial intelligence assistant. The "
                  "assistant gives helpful, detailed, and polite answers to the user's questions. "
                  "USER: <image>\nWhat is this? ASSISTANT:") == 0,
           "vicuna_v1: '%s'", p);
    free(p);
    p = prompt_vicuna_v1("Q", 0);
    EXPECT(strstr(p, "questions. USER: Q ASSISTANT:") != NULL, "vicuna_v1 without image: '%s'", p);
    free(p);

    struct {
        const char *name, *model, *golden;
    } models[] = {
        {"tiny", "tests/fixtures/tokenizers/tiny.model", TOKENIZER_FIX "tiny.prompts"},
        {"tiny_userdef", TOKENIZER_FIX "tiny_userdef.model", TOKENIZER_FIX "tiny_userdef.prompts"},
        {"tiny_nobytes", TOKENIZER_FIX "tiny_nobytes.model", TOKENIZER_FIX "tiny_nobytes.prompts"},
        {"tiny_strip", TOKENIZER_FIX "tiny_strip.model", TOKENIZER_FIX "tiny_strip.prompts"},
        {"llama", LLAMA_MODEL, TOKENIZER_FIX "llama.prompts"},
    };
    int have_llama = access(LLAMA_MODEL, R_OK) == 0;
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        if (!strcmp(models[k].name, "llama") && !have_llama) continue;
        Tokenizer *t = tokenizer_load_model(models[k].model);
        check_prompts(t, models[k].name, models[k].golden);
        if (!strcmp(models[k].name, "llama")) {
            /* LLaVA-1.5's layout: "USER:" "▁" <image> "▁" "\n" ... ":" (the space before
             * "<image>" ends the first chunk; the second chunk gets its own dummy "▁") */
            char *q = prompt_vicuna_v1("Hi", 1);
            int *ids, n = prompt_tokenize(t, q, &ids), at = -1;
            for (int i = 0; i < n; i++)
                if (ids[i] == HL_IMAGE_TOKEN) at = i;
            EXPECT(at > 3 && at + 2 < n && ids[at - 2] == 29901 && ids[at - 1] == 29871 &&
                       ids[at + 1] == 29871 && ids[at + 2] == 13 && ids[n - 1] == 29901,
                   "llama: image marker at %d of %d", at, n);
            free(ids), free(q);
        }
        tokenizer_free(t);
    }
    return golden_done("test_prompt", have_llama);
}
