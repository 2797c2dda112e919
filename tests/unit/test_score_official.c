/* Scorers against numbers the official scripts themselves printed on fixture inputs
 * (tests/reference/run_official_scorers.py runs them; only their inputs and outputs are
 * committed): OpenCompass's MMBench matching rules, GQA's breakdowns, the tolerant
 * converters and the inputs where an official script raises. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/jsonio.h"
#include "eval/score_internal.h"
#include "eval/scores.h"
#include "json_match.h"
#include "test.h"

#define FIX "tests/fixtures/bench"

/* Scores dir/answers against dir/expected (its "scores" object). */
static json_t *check(const char *kind, const char *dir, const char *questions,
                     const char *annotations, const char *answers, const char *expected) {
    char q[512], a[512], ans[512], e[512];
    BenchSpec s = {0};
    bench_kind_parse(kind, &s.kind);
    s.name = (char *)kind;
    snprintf(q, sizeof q, FIX "/%s/%s", dir, questions);
    s.questions = q;
    if (annotations) {
        snprintf(a, sizeof a, FIX "/%s/%s", dir, annotations);
        s.annotations = a;
    }
    snprintf(ans, sizeof ans, FIX "/%s/%s", dir, answers);
    ScoreReport r = score_answers(&s, ans, NULL);
    free(r.summary);
    if (expected) {
        snprintf(e, sizeof e, FIX "/%s/%s", dir, expected);
        json_t *exp = json_read_file(e);
        EXPECT(json_match(json_object_get(exp, "scores"), r.scores, e), "%s: %s", e,
               "scores match the official script's");
        json_decref(exp);
    }
    return r.scores;
}

/* The exception the official script ended with on a fixture, as run_official_scorers.py
 * --raises recorded it ("...: raises ZeroDivisionError: ..."): its name, or "" when
 * the script ran through. */
static void official_outcome(const char *dir, const char *file, char *name, size_t cap) {
    char p[512], line[2048] = "";
    snprintf(p, sizeof p, FIX "/%s/%s", dir, file);
    FILE *f = fopen(p, "r");
    EXPECT(f != NULL, "%s exists", p);
    if (!f) return;
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
    name[0] = 0;
    const char *r = strstr(line, ": raises ");
    if (!r) {
        EXPECT(strstr(line, ": runs") != NULL, "%s: raises or runs", p);
        return;
    }
    r += strlen(": raises ");
    size_t n = strcspn(r, ": \n");
    if (n >= cap) n = cap - 1;
    memcpy(name, r, n);
    name[n] = 0;
}

/* Scores a fixture where the official script stops: the score must be incomplete and
 * one warning must name the exception the script ended with (expected_<case>.txt). */
static json_t *check_raises(const char *kind, const char *dir, const char *questions,
                            const char *annotations, const char *answers, const char *expected) {
    char exc[64];
    official_outcome(dir, expected, exc, sizeof exc);
    EXPECT(exc[0] != 0, "%s/%s: the official script raises", dir, expected);
    json_t *s = check(kind, dir, questions, annotations, answers, NULL);
    EXPECT(json_is_false(json_object_get(s, "complete")), "%s/%s: complete is false", dir, answers);
    json_t *w = json_object_get(s, "warnings"), *v;
    size_t i;
    int named = 0;
    json_array_foreach(w, i, v) named |= exc[0] && strstr(json_string_value(v), exc) != NULL;
    EXPECT(named, "%s/%s: a warning names %s, as the official script raises", dir, answers, exc);
    return s;
}

static void test_official_raises(void) {
    json_t *s;
    /* POPE: eval_pope.py on a category without a yes answer (precision 0 / 0) */
    s = check_raises("pope", "pope/official", "llava_pope_test.jsonl", "coco_no_yes",
                     "answers_no_yes.jsonl", "expected_no_yes.txt");
    EXPECT(json_integer_value(json_object_get(
               json_object_get(json_object_get(s, "categories"), "adversarial"), "TP")) == 0,
           "pope: no true positive");
    json_decref(s);
    /* ... a label file whose category has no answer (yes ratio 0 / 0) */
    s = check_raises("pope", "pope/official", "llava_pope_test.jsonl", "coco_two",
                     "answers_one_category.jsonl", "expected_one_category.txt");
    EXPECT(json_object_get(json_object_get(s, "categories"), "random") == NULL,
           "pope: the category without answers is left out");
    json_decref(s);
    /* ... a file in the labels folder that is not coco_pope_*.json (assert) */
    json_decref(check_raises("pope", "pope/official", "llava_pope_test.jsonl", "coco_extra",
                             "answers_one_category.jsonl", "expected_extra_file.txt"));
    /* MME: an answer with a line break splits its eval_tool line (ValueError) */
    json_decref(check_raises("mme", "mme/official", "../llava_mme.jsonl",
                             "../MME_Benchmark_release_version", "answers_newline.jsonl",
                             "expected_newline.txt"));
    /* ... an image with one answer (calculation.py asserts pairs) */
    json_decref(check_raises("mme", "mme/official", "../llava_mme.jsonl",
                             "../MME_Benchmark_release_version", "answers_odd.jsonl",
                             "expected_odd.txt"));
    /* GQA: integer ids never match the questions' string ids ("missing predictions") */
    json_decref(check_raises("gqa", "gqa/official", "int_ids_questions.json",
                             "int_ids_questions.json", "answers_int_ids.jsonl",
                             "expected_int_ids.txt"));
    /* ... no balanced question with a global group: the distribution divides 0 by 0 */
    json_decref(check_raises("gqa", "gqa/official", "no_global_questions.json",
                             "no_global_questions.json", "answers_no_global.jsonl",
                             "expected_no_global.txt"));
    /* ... an unbalanced question without a prediction: eval.py runs (Accuracy: 50.00%) */
    {
        char exc[64];
        official_outcome("gqa/official", "expected_unbalanced.txt", exc, sizeof exc);
        EXPECT(exc[0] == 0, "gqa: eval.py runs with an unbalanced question unanswered");
        s = check("gqa", "gqa/official", "unbalanced_questions.json", "unbalanced_questions.json",
                  "answers_unbalanced.jsonl", NULL);
        EXPECT(json_is_true(json_object_get(s, "complete")),
               "gqa: unbalanced unanswered is complete");
        EXPECT(json_number_value(json_object_get(s, "accuracy")) == 50.0, "gqa: accuracy 50");
        json_decref(s);
    }
    /* SEED: a type answered and never right (KeyError), no video question (ZeroDivisionError),
     * a type id question_type does not name (KeyError), a type never right among the video
     * questions only (KeyError in the video pass) */
    s = check_raises("seed", "seed/official", "answers_never_right.jsonl", "never_right.json",
                     "answers_never_right.jsonl", "expected_never_right.txt");
    json_decref(s);
    s = check_raises("seed", "seed/official", "answers_image_only.jsonl", "image_only.json",
                     "answers_image_only.jsonl", "expected_image_only.txt");
    EXPECT(json_object_get(s, "video_accuracy") == NULL, "seed: no video accuracy without video");
    EXPECT(json_number_value(json_object_get(s, "image_accuracy")) == 100.0, "seed: image 100");
    json_decref(s);
    json_decref(check_raises("seed", "seed/official", "answers_unknown_type.jsonl",
                             "unknown_type.json", "answers_unknown_type.jsonl",
                             "expected_unknown_type.txt"));
    json_decref(check_raises("seed", "seed/official", "answers_mixed_type.jsonl", "mixed_type.json",
                             "answers_mixed_type.jsonl", "expected_mixed_type.txt"));
}

static void test_mmbench_rules(void) {
    const char *o4[] = {"cat", "dog", "bird", "fish"};
    const char *o2[] = {NULL, "first", "second", NULL};
    static const struct {
        const char *text;
        char want;
    } cases[] = {
        {"A", 'A'},
        {"E", 'E'},                     /* OpenCompass accepts E as a letter */
        {"A cat is in the image", 'A'}, /* article "A", > 3 words: the text decides */
        {"A dog is in the image", 'B'}, /* ... and the text is dog */
        {"A dog", 'A'},                 /* <= 3 words: the letter */
        {"The answer is C", 'C'},
        {"D.", 'D'},
        {"(C)", 'C'},
        {"(C).", 'C'},
        {"B)", 'B'},
        {"B).", 'B'},
        {"B,", 'B'},
        {"B:", 'B'},
        {"answer :B", 'B'},
        {"answer :B,", 'B'},
        {"answer :B).", 'B'},
        {"[B]", 0},                         /* no such form: GPT */
        {"B; C", 'C'},                      /* "B;" is no form: the bare C is the one letter */
        {"A B", 0},                         /* two letters */
        {"Cannot determine the answer", 0}, /* no refusal rule */
        {"Z", 0},
        {"Failed to obtain answer via API: A", 0},
        {"cat or dog", 0},
        {"BIRD", 'C'},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got = mmbench_infer_opencompass(cases[i].text, o4);
        EXPECT(got == cases[i].want, "OpenCompass [%s] -> %c (got %c)", cases[i].text,
               cases[i].want ? cases[i].want : '0', got ? got : '0');
    }
    EXPECT(mmbench_infer_opencompass("second", o2) == 'C', "a missing option A is skipped");
    EXPECT(mmbench_infer_opencompass("C", o2) == 'C', "letters do not depend on the options");
}

int main(void) {
    test_mmbench_rules();
    json_t *s = check("mmbench", "mmbench", "mmbench_dev_20230712.tsv", NULL,
                      "answers_opencompass.jsonl", "expected_opencompass.json");
    EXPECT(json_integer_value(json_object_get(s, "questions_needing_gpt")) == 1,
           "one question (4) is left to GPT; 3 is wrong by the rules");
    EXPECT(json_number_value(json_object_get(s, "circular_accuracy_upper")) == 50.0,
           "upper bound: GPT right on question 4");
    json_decref(s);
    /* GQA: accuracies as eval.py computes them (avg * 100), by steps and by words */
    s = check("gqa", "gqa/official", "testdev_balanced_questions.json",
              "testdev_balanced_questions.json", "answers.jsonl", "expected.json");
    EXPECT(json_is_true(json_object_get(s, "complete")), "gqa: complete");
    EXPECT(json_number_value(json_object_get(s, "accuracy")) == 66.66666666666666,
           "gqa: 6/9 * 100, not 100 * 6 / 9");
    json_decref(s);
    test_official_raises();
    /* VQAv2: lines json.loads refuses are skipped and counted, as
     * convert_vqav2_for_submission.py does ("error_line: 3"); \u0000 is read */
    {
        const char *dir = FIX "/vqav2";
        BenchSpec b = {0};
        bench_kind_parse("vqav2", &b.kind);
        b.name = "vqav2";
        b.questions = (char *)FIX "/vqav2/llava_vqav2_mscoco_test-dev2015.jsonl";
        b.annotations = (char *)FIX "/vqav2/llava_vqav2_mscoco_test2015.jsonl";
        char tmpl[] = "/tmp/hl_official_XXXXXX";
        char *out = mkdtemp(tmpl);
        ScoreReport r = score_answers(&b, FIX "/vqav2/official/answers_bad_lines.jsonl", out);
        EXPECT(json_integer_value(json_object_get(r.scores, "error_lines")) == 3,
               "vqav2: 3 error lines");
        EXPECT(json_is_false(json_object_get(r.scores, "complete")),
               "vqav2: test-dev question 7 unanswered");
        char sp[512];
        snprintf(sp, sizeof sp, "%s/vqav2_submission.json", out);
        json_t *got = json_read_file(sp),
               *want = json_read_file(FIX "/vqav2/official/expected_submission.json");
        EXPECT(json_array_size(got) == json_array_size(want), "vqav2: submission size");
        for (size_t i = 0; i < json_array_size(want); i++) {
            json_t *g = json_array_get(got, i), *w = json_array_get(want, i);
            EXPECT(json_equal(json_object_get(g, "question_id"), json_object_get(w, "question_id")),
                   "vqav2: submission order");
            /* the \u0000 line is read (not an error line), but its text is cut at the
             * NUL character: "Two" -> "2", where Python keeps "two\u0000 dogs"
             * (docs/benchmarks.md, known differences) */
            if (i == 1) continue;
            const char *ws = json_string_value(json_object_get(w, "answer"));
            EXPECT(!strcmp(json_string_value(json_object_get(g, "answer")), ws),
                   "vqav2: answer %zu", i);
        }
        json_decref(got), json_decref(want);
        unlink(sp);
        rmdir(out);
        score_report_free(&r);
        (void)dir;
    }
    return test_done("test_score_official");
}
