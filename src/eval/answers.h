/* Answers files in LLaVA's format: one JSON object a line, written exactly as LLaVA's
 * model_vqa*.py scripts write them (json.dumps, keys in their order):
 *
 *   {"question_id": ..., "prompt": ..., "text": ..., "answer_id": ..., "model_id": ..., "metadata":
 * {}} MMBench: {"question_id", "round_id", "prompt", "text", "options", "option_char", "answer_id",
 * "model_id", "metadata"}
 *
 * answer_id: LLaVA uses a random shortuuid; here it is deterministic so that reruns give
 * identical files: 22 characters of shortuuid's alphabet (base 57) encoding a 128-bit
 * hash of question_id, round, prompt, text and model_id.
 *
 * Writing appends and is made durable with answers_sync() (fflush + fsync) after each
 * batch. Resuming reads the complete lines of an existing file (a final line cut by a
 * crash is dropped and the file truncated to the last complete line) and checks that
 * they answer the first questions of the set, in order. */
#ifndef HL_ANSWERS_H
#define HL_ANSWERS_H

#include <jansson.h>
#include <stddef.h>

#include "eval/bench.h"
#include "eval/questions.h"

/* One answers line, '\n'-terminated (new string). */
char *answers_format(BenchKind kind, const EvalItem *it, const char *text, const char *model_id);
/* The 22-character answer_id of answers_format (out must hold 23 bytes). */
void answers_id(const EvalItem *it, const char *text, const char *model_id, char out[23]);

typedef struct AnswersWriter AnswersWriter;
/* Opens for appending (append = 1: keep what is there) or truncates (append = 0);
 * creates missing parent folders. */
AnswersWriter *answers_open(const char *path, int append);
void answers_write(AnswersWriter *w, const char *line); /* a line from answers_format */
void answers_sync(AnswersWriter *w);                    /* fflush + fsync */
void answers_close(AnswersWriter *w);                   /* sync and close */

typedef struct {
    size_t n;       /* complete answer lines in the file */
    char **keys;    /* their keys (eval_item_key form), in file order */
    size_t dropped; /* bytes of a cut final line removed from the file */
} AnswersResume;

/* Reads path for --resume. A missing file gives n = 0. Truncates a cut final line.
 * Fails (file:line) on a complete line that is not a JSON object with question_id. */
void answers_resume(const char *path, AnswersResume *r);
/* Checks that the resumed lines answer set->items[0..r->n) in order; fails with a
 * one-line message naming the first line that does not. Returns r->n, the number of
 * items to skip. */
size_t answers_resume_check(const AnswersResume *r, const EvalSet *set, const char *path);
void answers_resume_free(AnswersResume *r);

/* An answers file loaded for scoring. */
typedef struct {
    json_t *obj;         /* the whole line */
    json_t *question_id; /* borrowed from obj */
    const char *prompt;  /* "" when absent */
    const char *text;
    long line;
} Answer;

typedef struct {
    char *path;
    Answer *a;
    size_t n;
    size_t bad_lines; /* answers_load_tolerant: lines json.loads would refuse, skipped */
} AnswerList;

/* Every complete line; fails (file:line) on bad JSON or a missing question_id / text.
 * A cut final line is skipped with a warning. */
AnswerList *answers_load(const char *path);
/* As LLaVA's VQAv2 / VizWiz converters read: a line that is no JSON (blank lines
 * included) is skipped and counted in bad_lines; a JSON line without question_id or
 * text still fails (the converters stop with a KeyError there). Lines may hold any
 * JSON Python's json reads, \u0000 escapes included. */
AnswerList *answers_load_tolerant(const char *path);
void answers_free(AnswerList *l);
char *answer_key(const Answer *a); /* same form as eval_item_key */

#endif
