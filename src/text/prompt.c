/* vicuna_v1 prompt text and LLaVA's tokenizer_image_token splicing. */
#include "text/prompt.h"

#include <string.h>

#include "text/pytext.h"
#include "util/check.h"

/* conv_vicuna_v1's system message; its sep is " ", roles USER and ASSISTANT. */
static const char kSystem[] =
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives "
    "helpful, detailed, and polite answers to the user's questions.";

char *prompt_vicuna_v1(const char *question, int has_image) {
    const char *image = has_image ? HL_IMAGE_TAG "\n" : "";
    size_t n = strlen(kSystem) + strlen(question) + strlen(image) + 32;
    char *s = hl_malloc(n);
    snprintf(s, n, "%s USER: %s%s ASSISTANT:", kSystem, image, question);
    return s;
}

int prompt_tokenize(const Tokenizer *tok, const char *prompt, int **ids) {
    size_t tag = strlen(HL_IMAGE_TAG), len = strlen(prompt);
    int n = 0, cap = 64, offset = 0;
    int *out = hl_malloc((size_t)cap * sizeof(int));
    char *chunk = hl_malloc(len + 1);
    const char *p = prompt;
    for (int k = 0;; k++) {
        const char *hit = strstr(p, HL_IMAGE_TAG);
        size_t clen = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(chunk, p, clen);
        chunk[clen] = 0;
        int *c, nc = tokenizer_encode(tok, chunk, 1, &c);
        /* The first chunk's BOS stays; every chunk then loses its first
         * `offset` ids (its own BOS), as in tokenizer_image_token. */
        if (k == 0 && nc > 0 && c[0] == tokenizer_bos(tok)) {
            offset = 1;
            out[n++] = c[0];
        }
        if (n + nc + 1 > cap) {
            while (n + nc + 1 > cap) cap *= 2;
            out = hl_realloc(out, (size_t)cap * sizeof(int));
        }
        for (int i = offset; i < nc; i++) out[n++] = c[i];
        free(c);
        if (!hit) break;
        out[n++] = HL_IMAGE_TOKEN; /* the separator [IMAGE]*(offset+1) minus `offset` */
        p = hit + tag;
    }
    free(chunk);
    *ids = out;
    return n;
}

int prompt_image_count(const int *ids, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += ids[i] == HL_IMAGE_TOKEN;
    return c;
}

char *prompt_answer(const Tokenizer *tok, const int *ids, int n) {
    char *text = tokenizer_decode(tok, ids, n);
    char *a = py_strip(text);
    free(text);
    return a;
}
