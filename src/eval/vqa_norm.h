/* VQA answer normalisation and the VQA soft accuracy.
 *
 * Two flavours of the same processing exist in the official code:
 *  - EvalAI's answer processor (m4c_evaluator.EvalAIAnswerProcessor, used by LLaVA's
 *    TextVQA scorer and by its VQAv2 / VizWiz submission converters): lower-case, drop
 *    ',' and '?', split "'s", strip, then punctuation, then digits / articles /
 *    contractions;
 *  - the VQA evaluation server's vqaEval (and VizWiz's copy of it): punctuation then
 *    digits / articles / contractions on the prediction, punctuation alone on the
 *    human answers when they disagree (VQAv2 only).
 * The punctuation step differs only in its "digit,digit" test (EvalAI: a run of
 * commas, vqaEval: one comma). Both remove at most 32 periods, because the official
 * code passes re.UNICODE (= 32) where re.sub expects its count. */
#ifndef HL_VQA_NORM_H
#define HL_VQA_NORM_H

#include <stddef.h>

enum { VQA_COMMA_RUN = 0, VQA_COMMA_SINGLE = 1 };

/* EvalAIAnswerProcessor()(answer). New string. */
char *vqa_evalai_normalize(const char *answer);
/* process_punctuation(in) with comma rule VQA_COMMA_RUN (EvalAI) or VQA_COMMA_SINGLE. */
char *vqa_process_punctuation(const char *in, int comma_rule);
/* process_digit_article(in): lower-case words, number words to digits, articles
 * dropped, contractions restored, joined by single spaces. */
char *vqa_process_digit_article(const char *in);
/* Prediction processing of the VQA server: newline/tab to space, strip, punctuation
 * (single-comma rule), digits/articles. */
char *vqa_server_normalize(const char *answer);

/* VQA accuracy of pred against n human answers: the mean over i of
 * min(1, #{j != i : gts[j] == pred} / 3), summed in order as the official code does. */
double vqa_leave_one_out(const char *pred, char *const *gts, size_t n);

#endif
