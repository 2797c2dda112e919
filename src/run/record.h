/* The run record (run.json) beside every answers file: what produced it.
 * --resume appends only to answers made under the same record: the same
 * model file (checksum, which covers the tokenizer inside it), tokenizer
 * rule, prompt rule, generation settings, question file (checksum), images
 * folder (digest), the engine's answer compatibility and model_id — mixing
 * them is how published numbers stop reproducing. The exact engine version,
 * layout and libraries are recorded but may change between a run and its
 * resumption (results do not depend on the layout; an engine change that can
 * change an answer bumps HL_ANSWER_COMPAT). A resumption never rewrites the
 * original fields: it appends an entry to the record's "resumes" array. */
#ifndef HL_RECORD_H
#define HL_RECORD_H

#include <jansson.h>

#include "eval/bench.h"
#include "run/config.h"
#include "run/sampler.h"

/* Bump when the text that reaches the model changes for any benchmark. */
#define HL_PROMPT_RULE "llava-1.5-vicuna_v1/1"

/* Bump when an engine change can change any answer (kernels, model math,
 * image preprocessing, decoding): runs made before cannot be resumed after. */
#define HL_ANSWER_COMPAT "hyperllava-answers/1"
/* Bump when the tokenizer's behaviour changes (its data is in the model file). */
#define HL_TOKENIZER_RULE "sentencepiece-bpe/1"

typedef struct {
    const char *model_path, *model_sha256;
    const char *questions_sha256;
    const char *images_sha256; /* record_folder_digest of the images folder */
    long images_files;
    const char *model_id;
    const RunConfig *run;
    const BenchSpec *bench;
    const GenSettings *gen;
    int max_new_tokens;
} RecordInput;

json_t *record_build(const RecordInput *in);
/* NULL when `old` may be resumed under `cur`, else a malloc'd reason naming
 * the first differing field ("generation.max_new_tokens: 128 before, 64 now"). */
char *record_mismatch(const json_t *old, const json_t *cur);
/* The record in dir/run.json beside existing answers: NULL and a malloc'd
 * one-line reason with what to do (*why) when it is missing, empty, cut or
 * not a record. */
json_t *record_load(const char *path, char **why);
/* The record with a resume entry appended (engine version, layout,
 * libraries and time of `cur`, answers kept): a new reference. */
json_t *record_resumed(const json_t *old, const json_t *cur, long kept);
/* Identity of an images folder: sha256 over its regular files, walked
 * recursively in name order, of (relative path, size, first 4 KiB); *files:
 * how many. A NULL or empty folder gives the digest of nothing. */
void record_folder_digest(const char *dir, char out[65], long *files);
/* Hex sha256 of a file's bytes (out: 65 bytes). */
void record_file_sha256(const char *path, char out[65]);

#endif
