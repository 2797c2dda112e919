/* SentencePiece BPE tokenizer (LLaMA's tokenizer.model, as LLaVA-1.5 uses it).
 *
 * Two encoders over the same model:
 *   tokenizer_encode     transformers 4.37's slow LlamaTokenizer(legacy=False),
 *                        the one LLaVA calls: "<s>", "</s>" and "<unk>" inside
 *                        the text become their control ids, the rest is
 *                        sentencepiece with a dummy "▁" in front.
 *   tokenizer_encode_sp  the sentencepiece library's Encode (those strings are
 *                        plain text there).
 * Both give the same ids on text without those strings. Decoding follows
 * LlamaTokenizer.decode(ids, skip_special_tokens=True), or sentencepiece's
 * Decode. docs/tokenizer.md lists every rule and what the tests compare.
 *
 * The model comes from the flattened arrays of the weight file's /tokenizer
 * group (docs/weight-file.md); only BPE models with the identity normaliser
 * are accepted. (The tests read tokenizer.model protobuf files with
 * tests/unit/sp_model.h.) A Tokenizer is
 * read-only after creation, so threads may share it. */
#ifndef HL_TOKENIZER_H
#define HL_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

/* SentencePiece piece types (ModelProto.SentencePiece.Type). */
enum {
    TOK_NORMAL = 1,
    TOK_UNKNOWN = 2,
    TOK_CONTROL = 3,
    TOK_USER_DEFINED = 4,
    TOK_UNUSED = 5,
    TOK_BYTE = 6
};

/* The attributes of the /tokenizer group (sentencepiece's trainer and
 * normaliser settings that encoding and decoding depend on). */
typedef struct {
    int model_type; /* 2 = BPE, the only one supported */
    int add_dummy_prefix;
    int remove_extra_whitespaces;
    int escape_whitespaces;
    int byte_fallback;
    int unk_id, bos_id, eos_id, pad_id; /* -1 when absent (bos/eos/pad) */
} TokenizerFlags;

typedef struct Tokenizer Tokenizer;

/* Builds a tokenizer from n pieces: piece i is blob[offsets[i] .. offsets[i+1]),
 * offsets[n] == blob_bytes. The arrays are copied. `source` names the origin in
 * error messages ("model.h5:/tokenizer"); a model that is not BPE, is
 * inconsistent (duplicate pieces, no unknown piece, missing byte pieces, ids out
 * of range) fails with one line naming it. */
Tokenizer *tokenizer_create(const char *source, int n, const uint8_t *blob, int64_t blob_bytes,
                            const int64_t *offsets, const float *scores, const int32_t *types,
                            const TokenizerFlags *flags);
void tokenizer_free(Tokenizer *t);

/* LlamaTokenizer(legacy=False)(text).input_ids: BOS first when add_bos (and the
 * model has one), no EOS. Returns the count; *ids is malloc'd (never NULL).
 * Bytes that are not valid UTF-8 count as U+FFFD, as sentencepiece reads them. */
int tokenizer_encode(const Tokenizer *t, const char *text, int add_bos, int **ids);
/* sentencepiece's SentencePieceProcessor.encode(text), BOS first when add_bos. */
int tokenizer_encode_sp(const Tokenizer *t, const char *text, int add_bos, int **ids);

/* LlamaTokenizer.decode(ids, skip_special_tokens=True): BOS, EOS and UNK are
 * dropped, the first remaining piece loses its leading "▁", byte pieces are
 * joined into UTF-8 (each invalid byte becomes U+FFFD), "▁" becomes a space.
 * No stripping (LLaVA strips the answer). Returns a malloc'd string. An id
 * outside [0, tokenizer_size) (the padding rows of a padded embedding) decodes
 * to nothing, in both decoders. */
char *tokenizer_decode(const Tokenizer *t, const int *ids, int n);
/* sentencepiece's decode(ids): control pieces vanish, UNK becomes " ⁇ ". */
char *tokenizer_decode_sp(const Tokenizer *t, const int *ids, int n);
/* Either decoder (sp = 0: LlamaTokenizer, 1: sentencepiece) that also gives the
 * length, which counts what follows a NUL byte that a <0x00> piece decoded to. */
char *tokenizer_decode_len(const Tokenizer *t, const int *ids, int n, int sp, size_t *len);

/* The piece's bytes (not NUL-terminated) and length; NULL for an id out of range. */
const char *tokenizer_piece(const Tokenizer *t, int id, int *len);
int tokenizer_type(const Tokenizer *t, int id);    /* TOK_*, 0 for an id out of range */
float tokenizer_score(const Tokenizer *t, int id); /* 0 for an id out of range */
int tokenizer_size(const Tokenizer *t);
int tokenizer_bos(const Tokenizer *t); /* -1 when the model has none */
int tokenizer_eos(const Tokenizer *t);
const TokenizerFlags *tokenizer_flags(const Tokenizer *t);

#endif
