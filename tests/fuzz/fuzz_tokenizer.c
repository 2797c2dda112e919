/* Fuzz target: the tokenizer model loader (tokenizer_create, as the weight
 * file's /tokenizer group feeds it) and, when a model loads, both encoders
 * and decoders on the input's text. Input layout (little-endian):
 *   5 bytes  model_type, add_dummy_prefix, remove_extra_whitespaces,
 *            escape_whitespaces, byte_fallback (signed)
 *   8 bytes  unk_id, bos_id, eos_id, pad_id (int16 each)
 *   2 bytes  n, the piece count
 *   n times  type (uint8), score (float32), length (uint8), the piece's bytes
 *   the rest the text to encode.
 * tests/fuzz/make_seeds.py writes the fixture models' tokenizers this way. */
#include "fuzz.h"
#include "text/tokenizer.h"

typedef struct {
    const uint8_t *p, *end;
} Cur;

static int take(Cur *c, void *out, size_t n) {
    if ((size_t)(c->end - c->p) < n) return 0;
    memcpy(out, c->p, n);
    c->p += n;
    return 1;
}

static void tokenizer(const uint8_t *data, size_t size) {
    Cur c = {data, data + size};
    int8_t fl[5];
    int16_t id[4];
    uint16_t n;
    if (!take(&c, fl, 5) || !take(&c, id, 8) || !take(&c, &n, 2)) return;
    TokenizerFlags f = {.model_type = fl[0],
                        .add_dummy_prefix = fl[1],
                        .remove_extra_whitespaces = fl[2],
                        .escape_whitespaces = fl[3],
                        .byte_fallback = fl[4],
                        .unk_id = id[0],
                        .bos_id = id[1],
                        .eos_id = id[2],
                        .pad_id = id[3]};
    int64_t *off = malloc(((size_t)n + 1) * sizeof *off);
    float *score = malloc(((size_t)n + 1) * sizeof *score);
    int32_t *type = malloc(((size_t)n + 1) * sizeof *type);
    uint8_t *blob = malloc(size + 1);
    int64_t nb = 0;
    int k = 0;
    for (; k < n; k++) {
        uint8_t t, len;
        if (!take(&c, &t, 1) || !take(&c, &score[k], 4) || !take(&c, &len, 1) ||
            !take(&c, blob + nb, len))
            break;
        type[k] = t, off[k] = nb, nb += len;
    }
    off[k] = nb;
    size_t tl = (size_t)(c.end - c.p);
    char *text = malloc(tl + 1);
    memcpy(text, c.p, tl);
    text[tl] = 0;
    Tokenizer *tok = NULL;
    if (k > 0) tok = tokenizer_create("fuzz", k, blob, nb, off, score, type, &f);
    free(off), free(score), free(type), free(blob);
    if (tok) {
        for (int sp = 0; sp < 2; sp++) {
            int *ids;
            int m =
                sp ? tokenizer_encode_sp(tok, text, 1, &ids) : tokenizer_encode(tok, text, 1, &ids);
            size_t len;
            free(tokenizer_decode_len(tok, ids, m, sp, &len));
            free(ids);
        }
        int raw[8];
        for (int i = 0; i < 8; i++) raw[i] = i < (int)tl ? (int8_t)text[i] * 3 : i - 2;
        free(tokenizer_decode(tok, raw, 8));
        free(tokenizer_decode_sp(tok, raw, 8));
        tokenizer_free(tok);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FUZZ_TRY(tokenizer(data, size));
    return 0;
}
