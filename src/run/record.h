/* The run record (run.json) beside every answers file: what produced it.
 * --resume appends only to answers made under the same record: the same
 * model file (checksum), prompt rule, generation settings, question file
 * (checksum) and model_id — mixing them is how published numbers stop
 * reproducing. The engine version, layout and libraries are recorded but
 * may change between a run and its resumption (results do not depend on the
 * layout). */
#ifndef HL_RECORD_H
#define HL_RECORD_H

#include <jansson.h>

#include "eval/bench.h"
#include "run/config.h"
#include "run/sampler.h"

/* Bump when the text that reaches the model changes for any benchmark. */
#define HL_PROMPT_RULE "llava-1.5-vicuna_v1/1"

typedef struct {
    const char *model_path, *model_sha256;
    const char *questions_sha256;
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
/* Hex sha256 of a file's bytes (out: 65 bytes). */
void record_file_sha256(const char *path, char out[65]);

#endif
