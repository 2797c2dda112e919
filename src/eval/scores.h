/* Local scoring of a benchmark's answers file, the way the official scripts score it.
 *
 * score_answers() reads the answers file (LLaVA's format, answers.h) and the
 * benchmark's ground truth (BenchSpec.annotations; for POPE and MMBench also the
 * question file), and returns a JSON object of numbers plus a short text table. When
 * out_dir is given it also writes the files the official converters make for the
 * evaluation servers (named after spec->name, listed in scores["files"]):
 *   vqav2 / vizwiz  <name>_submission.json       (EvalAI-normalised answers)
 *   gqa             <name>_predictions.json      (testdev_balanced_predictions.json)
 *   mme             <name>_mme/<subtask>.txt     (eval_tool/answers/<experiment>/)
 *   sqa             <name>_output.json, <name>_result.json
 *   seed            <name>_submission.jsonl
 *   mmbench(_cn)    <name>_submission.xlsx
 *   mmvet           <name>_mmvet.json            (results/<model>.json for the grader)
 * Every scores object has "benchmark", "kind", "answers" (lines read), "complete"
 * (false when the official script would refuse or count missing answers as wrong),
 * and "headline": {"metric", "value"}: the number LLaVA-1.5's paper reports, in its
 * units (percent; MME: perception score points), or null for server/GPT-scored kinds
 * without local ground truth. */
#ifndef HL_SCORES_H
#define HL_SCORES_H

#include <jansson.h>
#include <stdio.h>

#include "eval/bench.h"

typedef struct {
    json_t *scores; /* new reference */
    char *summary;  /* a few lines of text */
} ScoreReport;

/* spec: the benchmark entry (kind, name, questions, annotations); answers_path: its
 * answers file; out_dir: where to write submission/conversion files (NULL: none). */
ScoreReport score_answers(const BenchSpec *spec, const char *answers_path, const char *out_dir);
/* score_answers writing the per-question records to results_path (NULL: none);
 * score_answers itself writes them to out_dir/results.jsonl when out_dir is given.
 * One JSON object a line, for every question a locally scored benchmark scores:
 *   question_id, category (the benchmark's grouping: POPE category, MME subtask, GQA
 *   structural type, ScienceQA subject, VQA answer type, SEED question type, MMBench
 *   category; null where there is none), prediction (the answer text as scored; null
 *   for a question without an answer, counted wrong), parsed (what the official rule
 *   made of it: yes/no, an option letter, the normalised answer; null when no rule
 *   matched), ground_truth (the label, letter, or list of human answers), score (the
 *   question's contribution in [0, 1]) and, for right/wrong kinds, correct.
 * Benchmarks scored by a server or GPT (and any without ground truth) write none, and
 * a stale file is removed. The file written is listed in scores["files"] and its
 * record count is scores["results_questions"]. */
ScoreReport score_answers_results(const BenchSpec *spec, const char *answers_path,
                                  const char *out_dir, const char *results_path);
void score_report_free(ScoreReport *r);
/* score_answers in a child process: returns 0 (its one-line error already printed)
 * when the benchmark cannot be scored, so that a suite scores the others. No MPI. */
int score_answers_isolated(const BenchSpec *spec, const char *answers_path, const char *out_dir,
                           const char *results_path, ScoreReport *out);

/* One line of a suite's summary table (header: score_table_header) from a
 * scores object: name, kind, headline metric and value. */
void score_table_header(FILE *f);
void score_table_row(FILE *f, const char *name, const json_t *scores);

#endif
