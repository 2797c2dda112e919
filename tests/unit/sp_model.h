/* Reads a SentencePiece tokenizer.model file (ModelProto, protobuf wire
 * format) into a Tokenizer: the tests compare the weight file's flattened
 * tokenizer with the original model and run sentencepiece's own files. */
#ifndef HL_TEST_SP_MODEL_H
#define HL_TEST_SP_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text/tokenizer.h"
#include "util/check.h"
#include "util/strbuf.h"

/* ---- tokenizer.model (protobuf) ----------------------------------------------------- */

/* A cursor over protobuf wire data; any overrun is a corrupt file. */
typedef struct {
    const uint8_t *p, *end;
    const char *path;
} Pb;

HL_NORETURN static inline void pb_corrupt(const Pb *b) {
    hl_fail("%s: truncated or corrupt SentencePiece model file", b->path);
}

static inline uint64_t pb_varint(Pb *b) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end) pb_corrupt(b);
        uint8_t c = *b->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return v;
    }
    pb_corrupt(b);
}

/* Reads the next field's key; returns 0 at the end of the message. */
static inline int pb_next(Pb *b, int *field, int *wire) {
    if (b->p >= b->end) return 0;
    uint64_t key = pb_varint(b);
    *field = (int)(key >> 3), *wire = (int)(key & 7);
    if (*field == 0) pb_corrupt(b);
    return 1;
}

/* A length-delimited field's body as a sub-cursor. */
static inline Pb pb_bytes(Pb *b) {
    uint64_t n = pb_varint(b);
    if (n > (uint64_t)(b->end - b->p)) pb_corrupt(b);
    Pb sub = {b->p, b->p + n, b->path};
    b->p += n;
    return sub;
}

static inline void pb_skip(Pb *b, int wire) {
    size_t n;
    switch (wire) {
    case 0:
        pb_varint(b);
        return;
    case 2:
        pb_bytes(b);
        return;
    case 1:
        n = 8;
        break;
    case 5:
        n = 4;
        break;
    default:
        pb_corrupt(b);
    }
    if (n > (size_t)(b->end - b->p)) pb_corrupt(b);
    b->p += n;
}

static inline int64_t pb_int(Pb *b, int wire) {
    if (wire != 0) pb_corrupt(b);
    return (int64_t)pb_varint(b); /* int32 negatives are sign-extended varints */
}

static inline float pb_float(Pb *b, int wire) {
    if (wire != 5 || b->end - b->p < 4) pb_corrupt(b);
    uint32_t u = (uint32_t)b->p[0] | (uint32_t)b->p[1] << 8 | (uint32_t)b->p[2] << 16 |
                 (uint32_t)b->p[3] << 24;
    b->p += 4;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static inline Pb pb_message(Pb *b, int wire) {
    if (wire != 2) pb_corrupt(b);
    return pb_bytes(b);
}

/* What the normaliser specs say, for the identity check. */
typedef struct {
    Pb name, charsmap;
} NormSpec;

static inline void read_normalizer(Pb m, TokenizerFlags *f, NormSpec *ns) {
    int field, wire;
    while (pb_next(&m, &field, &wire)) {
        if (field == 1)
            ns->name = pb_message(&m, wire);
        else if (field == 2)
            ns->charsmap = pb_message(&m, wire);
        else if (field == 3 && f)
            f->add_dummy_prefix = pb_int(&m, wire) != 0;
        else if (field == 4 && f)
            f->remove_extra_whitespaces = pb_int(&m, wire) != 0;
        else if (field == 5 && f)
            f->escape_whitespaces = pb_int(&m, wire) != 0;
        else
            pb_skip(&m, wire);
    }
}

static inline Tokenizer *tokenizer_load_model(const char *path) {
    FILE *fp = hl_fopen(path, "rb");
    StrBuf file = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) sb_putn(&file, chunk, got);
    if (ferror(fp)) hl_fail("%s: read error", path);
    fclose(fp);

    /* proto2 defaults of TrainerSpec and NormalizerSpec */
    TokenizerFlags f = {.model_type = 1,
                        .add_dummy_prefix = 1,
                        .remove_extra_whitespaces = 1,
                        .escape_whitespaces = 1,
                        .byte_fallback = 0,
                        .unk_id = 0,
                        .bos_id = 1,
                        .eos_id = 2,
                        .pad_id = -1};
    int suffix_ws = 0;
    NormSpec norm = {{0}, {0}}, denorm = {{0}, {0}};
    StrBuf blob = {0};
    int n = 0, cap = 0;
    int64_t *off = NULL;
    float *score = NULL;
    int32_t *type = NULL;

    Pb b = {(const uint8_t *)file.s, (const uint8_t *)file.s + file.n, path};
    int field, wire;
    while (pb_next(&b, &field, &wire)) {
        if (field == 1) { /* SentencePiece {1 piece, 2 score, 3 type} */
            Pb m = pb_message(&b, wire);
            if (n + 1 >= cap) {
                cap = cap ? 2 * cap : 1024;
                off = hl_realloc(off, (size_t)(cap + 1) * sizeof(int64_t));
                score = hl_realloc(score, (size_t)cap * sizeof(float));
                type = hl_realloc(type, (size_t)cap * sizeof(int32_t));
            }
            off[n] = (int64_t)blob.n, score[n] = 0.0f, type[n] = TOK_NORMAL;
            Pb piece = {0};
            while (pb_next(&m, &field, &wire)) {
                if (field == 1)
                    piece = pb_message(&m, wire);
                else if (field == 2)
                    score[n] = pb_float(&m, wire);
                else if (field == 3)
                    type[n] = (int32_t)pb_int(&m, wire);
                else
                    pb_skip(&m, wire);
            }
            if (piece.p) sb_putn(&blob, (const char *)piece.p, (size_t)(piece.end - piece.p));
            n++;
            off[n] = (int64_t)blob.n;
        } else if (field == 2) { /* TrainerSpec */
            Pb m = pb_message(&b, wire);
            while (pb_next(&m, &field, &wire)) {
                if (field == 3)
                    f.model_type = (int)pb_int(&m, wire);
                else if (field == 24)
                    suffix_ws = pb_int(&m, wire) != 0;
                else if (field == 35)
                    f.byte_fallback = pb_int(&m, wire) != 0;
                else if (field == 40)
                    f.unk_id = (int32_t)pb_int(&m, wire);
                else if (field == 41)
                    f.bos_id = (int32_t)pb_int(&m, wire);
                else if (field == 42)
                    f.eos_id = (int32_t)pb_int(&m, wire);
                else if (field == 43)
                    f.pad_id = (int32_t)pb_int(&m, wire);
                else
                    pb_skip(&m, wire);
            }
        } else if (field == 3) {
            read_normalizer(pb_message(&b, wire), &f, &norm);
        } else if (field == 5) {
            read_normalizer(pb_message(&b, wire), NULL, &denorm);
        } else {
            pb_skip(&b, wire);
        }
    }
    if (n == 0) hl_fail("%s: not a SentencePiece model (no pieces)", path);
    size_t name_len = norm.name.p ? (size_t)(norm.name.end - norm.name.p) : 0;
    int identity = name_len == 0 || (name_len == 8 && memcmp(norm.name.p, "identity", 8) == 0);
    if (!identity || norm.charsmap.end != norm.charsmap.p)
        hl_fail("%s: normalizer '%.*s' is not supported (only identity)", path, (int)name_len,
                name_len ? (const char *)norm.name.p : "");
    if (denorm.charsmap.end != denorm.charsmap.p)
        hl_fail("%s: a denormalizer is not supported", path);
    if (suffix_ws) hl_fail("%s: treat_whitespace_as_suffix is not supported", path);
    free(file.s); /* the specs above pointed into it */

    static const uint8_t empty = 0;
    Tokenizer *t = tokenizer_create(path, n, blob.s ? (const uint8_t *)blob.s : &empty,
                                    (int64_t)blob.n, off, score, type, &f);
    free(blob.s);
    free(off);
    free(score);
    free(type);
    return t;
}

#endif
