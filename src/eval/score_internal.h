/* Shared pieces of the scorers (score_*.c); not part of the public API. */
#ifndef HL_SCORE_INTERNAL_H
#define HL_SCORE_INTERNAL_H

#include <jansson.h>

#include "eval/answers.h"
#include "eval/bench.h"
#include "text/pytext.h"

typedef struct {
    const BenchSpec *spec;
    const char *name; /* spec->name or the kind name */
    AnswerList *answers;
    const char *out_dir; /* NULL: write no files */
    json_t *scores;      /* the result object being filled */
    StrBuf summary;
    int complete;    /* cleared by a scorer when answers or ground truth are missing */
    json_t *results; /* per-question records (results.jsonl); NULL: not scored locally */
} ScoreCtx;

void score_pope(ScoreCtx *c);
void score_mme(ScoreCtx *c);
void score_gqa(ScoreCtx *c);
void score_sqa(ScoreCtx *c);
void score_textvqa(ScoreCtx *c);
void score_vqav2(ScoreCtx *c);
void score_vizwiz(ScoreCtx *c);
void score_seed(ScoreCtx *c);
void score_mmbench(ScoreCtx *c);
void score_llava_bench(ScoreCtx *c);
void score_mmvet(ScoreCtx *c);

/* The answer-parsing rules of the official scripts, exposed for the tests. */
int pope_answer_is_yes(const char *text);          /* 1 yes, 0 no */
const char *mme_parse_answer(const char *text);    /* "yes", "no" or "other" */
char sqa_parse_answer(const char *text);           /* 'A'..'E' (as parsed) or 0 = FAILED */
char *textvqa_prompt_question(const char *prompt); /* lower-cased question, NULL if no rule */
char *gqa_prediction(const char *text);            /* text.rstrip('.').lower() */
/* MMBench rule-based option matching (VLMEvalKit's can_infer): letters[i] = "A".. with
 * option texts opts[i]; returns the letter, 'Z' (refusal / "Z"), or 0 when no rule
 * matches (the server would then ask GPT). */
char mmbench_infer(const char *pred, const char *const *opts, int nopt);
/* The rules OpenCompass's tools/eval_mmbench.py (the MMBench server's judge of LLaVA's
 * submission) applies before asking GPT: opts[0..3] are the texts of options A-D
 * (NULL when missing). Returns 'A'..'E' ("E" is a letter it accepts though no question
 * has it) or 0 when the rules leave the answer to GPT. */
char mmbench_infer_opencompass(const char *pred, const char *const *opts);

/* out_dir/<name><suffix> (new string), or NULL when no out_dir. */
char *score_out_path(ScoreCtx *c, const char *suffix);
/* Records a written file in scores["files"]. */
void score_add_file(ScoreCtx *c, const char *path);
void score_headline(ScoreCtx *c, const char *metric, double value);
/* Marks the score as not what the official script gives, with a reason (warning). */
void score_incomplete(ScoreCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds "note" (and a summary line) saying why nothing was scored. */
void score_note(ScoreCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends one question's record to c->results (results.jsonl): question_id (borrowed),
 * category (NULL: null), the prediction as scored (NULL: unanswered, null), the parsed
 * answer and the ground truth (references stolen; NULL: null). The caller then calls
 * score_result_correct (right/wrong kinds: "correct" and "score" 1/0) or
 * score_result_score (a per-question score in [0, 1], e.g. VQA soft accuracy). */
json_t *score_result(ScoreCtx *c, json_t *qid, const char *category, const char *prediction,
                     json_t *parsed, json_t *ground_truth);
void score_result_correct(json_t *rec, int ok);
void score_result_score(json_t *rec, double score);
void set_num(json_t *o, const char *key, double v);
void set_int(json_t *o, const char *key, long long v);
/* a / b, or 0 when b == 0 (where the official script would divide by zero). */
double safe_div(double a, double b);

#endif
