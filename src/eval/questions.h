/* Benchmark question readers: one EvalItem per model query, in question order.
 *
 * Formats (LLaVA-1.5's, see docs/benchmarks.md):
 *  - question JSONL {question_id, image, text, category?}: every kind except SQA and
 *    MMBench; text already carries the suffix, and is used as is;
 *  - ScienceQA json list {id, image?, conversations: [{from, value}, ...]} with
 *    model_vqa_science.py's --single-pred-prompt rule;
 *  - MMBench / MMBench-CN TSV (index, question, hint, A..D, answer?, category?, image
 *    = base64, ...) with model_vqa_mmbench.py's rule (--single-pred-prompt; the Chinese
 *    suffix for MMBench-CN).
 * `question` is LLaVA's `qs` without the image token: the prompt template adds
 * "<image>\n" in front when the item has an image (image or image_data set). */
#ifndef HL_QUESTIONS_H
#define HL_QUESTIONS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "eval/bench.h"

#define SUFFIX_SHORT "\nAnswer the question using a single word or phrase."
#define SUFFIX_OPTION "\nAnswer with the option's letter from the given choices directly."
#define SUFFIX_OPTION_CN                                                                           \
    "\n\xe8\xaf\xb7\xe7\x9b\xb4\xe6\x8e\xa5\xe5\x9b\x9e\xe7\xad\x94\xe9\x80\x89\xe9\xa1\xb9\xe5"   \
    "\xad\x97\xe6\xaf\x8d\xe3\x80\x82" /* 请直接回答选项字母。 */

typedef struct {
    json_t *question_id; /* as in the file (integer or string); "id" for SQA, "index" for MMBench */
    char *image;         /* image file: images folder joined with the file's name (os.path.join
                            rules); NULL for MMBench and for text-only SQA questions */
    uint8_t *image_data; /* MMBench: the decoded base64 image bytes, else NULL */
    size_t image_size;
    int image_raw;     /* 1: LLaVA hands this image to expand2square without convert('RGB')
                          (SQA, MMBench), which differs for palette and grey images */
    char *question;    /* LLaVA's qs before the template, without the image token */
    char *prompt_text; /* what LLaVA writes as "prompt" in the answers file */
    json_t *meta;      /* object: JSONL: the line's other keys (category, ...); MMBench:
                          index, round_id, options, option_char, answer, category, ... */
} EvalItem;

typedef struct {
    BenchKind kind;
    char *path; /* the question file */
    EvalItem *items;
    size_t n;
} EvalSet;

typedef struct {
    int mmbench_all_rounds; /* model_vqa_mmbench.py --all-rounds: one item per rotation of the
                               options (LLaVA-1.5's scripts do not use it: the TSV already
                               holds the circular copies) */
} EvalReadOpts;

/* Reads spec->questions (first spec->limit items when limit > 0). opts may be NULL.
 * Fails (hl_fail, one line naming file, line and key) on a missing file, bad JSON,
 * a missing key or undecodable image data. */
EvalSet *eval_read(const BenchSpec *spec, const EvalReadOpts *opts);
void eval_set_free(EvalSet *set);

int eval_item_has_image(const EvalItem *it);
/* Key that identifies an item's answer line: question_id with Python equality, plus
 * "#round" for MMBench. Used to match answers to items on resume. New string. */
char *eval_item_key(const EvalItem *it);

#endif
