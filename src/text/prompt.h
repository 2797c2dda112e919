/* LLaVA-1.5's single-turn prompt and its token ids (docs/model.md §6).
 *
 * prompt_vicuna_v1 builds the vicuna_v1 conversation text that LLaVA's
 * evaluation scripts give the model; prompt_tokenize turns a prompt into ids
 * as LLaVA's tokenizer_image_token does: the text is split at every "<image>",
 * each chunk is tokenized on its own (LlamaTokenizer with BOS), only the
 * first chunk keeps its BOS, and one HL_IMAGE_TOKEN marks where each "<image>"
 * was. The model later replaces each marker by the image's visual tokens. */
#ifndef HL_PROMPT_H
#define HL_PROMPT_H

#include "text/tokenizer.h"

#define HL_IMAGE_TOKEN (-200) /* LLaVA's IMAGE_TOKEN_INDEX */
#define HL_IMAGE_TAG "<image>"

/* "<system> USER: [<image>\n]<question> ASSISTANT:" (no trailing space); malloc'd. */
char *prompt_vicuna_v1(const char *question, int has_image);

/* The spliced ids of a prompt (BOS first, no EOS); returns the count and sets
 * *ids (malloc'd). Each "<image>" in the prompt gives one HL_IMAGE_TOKEN. */
int prompt_tokenize(const Tokenizer *tok, const char *prompt, int **ids);

/* The answer LLaVA reports for generated ids: decoded with special tokens
 * skipped, then Python's str.strip() (Unicode whitespace). malloc'd. */
char *prompt_answer(const Tokenizer *tok, const int *ids, int n);

/* How many HL_IMAGE_TOKEN markers ids holds. */
int prompt_image_count(const int *ids, int n);

#endif
