/* Scorers on the fixture data sets: score_answers() on each tests/fixtures/bench/<kind>/
 * answers.jsonl must give the numbers of its expected.json (computed once by
 * tests/reference/make_bench_fixtures.py, whose rules agree with LLaVA's official
 * scripts run on the same files: see its --official mode), and write conversion files
 * byte-identical to the expected_* files (what LLaVA's convert scripts write). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/jsonio.h"
#include "eval/scores.h"
#include "json_match.h"
#include "test.h"

#define FIX "tests/fixtures/bench"

static char out[256];

static json_t *run(const char *kind, const char *questions, const char *annotations,
                   const char *answers, char **summary) {
    char q[512], a[512], ans[512];
    BenchSpec s = {0};
    bench_kind_parse(kind, &s.kind);
    s.name = (char *)kind;
    snprintf(q, sizeof q, FIX "/%s/%s", kind, questions);
    s.questions = q;
    if (annotations) {
        snprintf(a, sizeof a, FIX "/%s/%s", kind, annotations);
        s.annotations = a;
    }
    snprintf(ans, sizeof ans, "%s", answers);
    ScoreReport r = score_answers(&s, ans, out);
    if (summary)
        *summary = r.summary;
    else
        free(r.summary);
    return r.scores;
}

static void check_kind(const char *kind, const char *questions, const char *annotations,
                       int complete, const char *headline) {
    char answers[512], exp_path[512];
    snprintf(answers, sizeof answers, FIX "/%s/answers.jsonl", kind);
    snprintf(exp_path, sizeof exp_path, FIX "/%s/expected.json", kind);
    json_t *exp = json_read_file(exp_path);
    char *summary;
    json_t *got = run(kind, questions, annotations, answers, &summary);
    EXPECT(json_match(json_object_get(exp, "scores"), got, kind), "%s: scores match expected.json",
           kind);
    EXPECT(json_is_true(json_object_get(got, "complete")) == complete, "%s: complete = %d", kind,
           complete);
    json_t *h = json_object_get(got, "headline");
    EXPECT(headline ? json_is_object(h) &&
                          !strcmp(json_string_value(json_object_get(h, "metric")), headline)
                    : json_is_null(h),
           "%s: headline %s", kind, headline ? headline : "null");
    EXPECT(summary && strstr(summary, kind) == summary, "%s: summary [%s]", kind, summary);
    /* conversion files, byte for byte */
    const char *suffix;
    json_t *file;
    json_object_foreach(json_object_get(exp, "files"), suffix, file) {
        char mine[512], want[512];
        snprintf(mine, sizeof mine, "%s/%s%s", out, kind, suffix);
        snprintf(want, sizeof want, FIX "/%s/%s", kind, json_string_value(file));
        char *a = test_read_file(mine, NULL), *b = test_read_file(want, NULL);
        EXPECT(a && b && !strcmp(a, b), "%s: %s is byte-identical to %s", kind, mine, want);
        free(a), free(b);
    }
    free(summary);
    json_decref(got);
    json_decref(exp);
}

static void check_local(const char *kind, const char *questions, const char *annotations) {
    char answers[512], exp_path[512];
    snprintf(answers, sizeof answers, FIX "/%s/answers.jsonl", kind);
    snprintf(exp_path, sizeof exp_path, FIX "/%s/expected.json", kind);
    json_t *exp = json_read_file(exp_path);
    json_t *got = run(kind, questions, annotations, answers, NULL);
    EXPECT(json_match(json_object_get(exp, "local"), got, kind), "%s: local accuracy with %s", kind,
           annotations);
    EXPECT(json_is_object(json_object_get(got, "headline")), "%s: local accuracy is the headline",
           kind);
    json_decref(got);
    json_decref(exp);
}

static void test_partial(void) {
    /* the first 4 POPE answers only (a smoke run): scored, marked incomplete */
    char path[512];
    snprintf(path, sizeof path, "%s/partial.jsonl", out);
    FILE *in = fopen(FIX "/pope/answers.jsonl", "rb"), *o = fopen(path, "wb");
    char line[4096];
    for (int i = 0; i < 4 && fgets(line, sizeof line, in); i++) fputs(line, o);
    fclose(in);
    fclose(o);
    json_t *got = run("pope", "llava_pope_test.jsonl", "coco", path, NULL);
    json_t *adv = json_object_get(json_object_get(got, "categories"), "adversarial");
    EXPECT(json_integer_value(json_object_get(adv, "answers")) == 4 &&
               json_is_false(json_object_get(got, "complete")) &&
               json_object_get(json_object_get(got, "categories"), "random") == NULL,
           "partial POPE answers: one category, incomplete");
    /* TP/FP of the first 4: Yes/yes, No/no, No/no, Yes/yes */
    EXPECT(json_integer_value(json_object_get(adv, "TP")) == 2 &&
               json_integer_value(json_object_get(adv, "TN")) == 2,
           "partial POPE counts");
    json_decref(got);
    /* no annotations: a note and no numbers */
    got = run("pope", "llava_pope_test.jsonl", NULL, FIX "/pope/answers.jsonl", NULL);
    EXPECT(json_is_string(json_object_get(got, "note")) &&
               json_is_null(json_object_get(got, "headline")),
           "POPE without labels is not scored");
    json_decref(got);
}

int main(void) {
    snprintf(out, sizeof out, "/tmp/hl_scores_XXXXXX");
    test_tmpdir(out);
    check_kind("pope", "llava_pope_test.jsonl", "coco", 1, "mean F1 (%)");
    check_kind("mme", "llava_mme.jsonl", "MME_Benchmark_release_version", 0, "perception score");
    check_kind("gqa", "llava_gqa_testdev_balanced.jsonl", "testdev_balanced_questions.json", 1,
               "accuracy (%)");
    check_kind("sqa", "llava_test_CQM-A.json", ".", 0, "IMG-accuracy (%)");
    check_kind("textvqa", "llava_textvqa_val_v051_ocr.jsonl", "TextVQA_0.5.1_val.json", 1,
               "accuracy (%)");
    check_kind("vqav2", "llava_vqav2_mscoco_test-dev2015.jsonl",
               "llava_vqav2_mscoco_test2015.jsonl", 1, NULL); /* every test-dev question answered */
    check_local("vqav2", "llava_vqav2_mscoco_test-dev2015.jsonl",
                "v2_mscoco_val2014_annotations.json");
    check_kind("vizwiz", "llava_test.jsonl", NULL, 1, NULL);
    check_local("vizwiz", "llava_test.jsonl", "val.json");
    check_kind("seed", "llava-seed-bench.jsonl", "SEED-Bench.json", 0, "accuracy (%)");
    check_kind("mmbench", "mmbench_dev_20230712.tsv", NULL, 1,
               "circular accuracy (%, rule-based matching)");
    check_kind("mmbench_cn", "mmbench_dev_cn_20231003.tsv", NULL, 1,
               "circular accuracy (%, rule-based matching)");
    check_kind("llava_bench", "questions.jsonl", NULL, 1, NULL);
    check_kind("mmvet", "llava-mm-vet.jsonl", NULL, 1, NULL);
    /* MMBench submission: a real xlsx (zip) */
    char x[512];
    snprintf(x, sizeof x, "%s/mmbench_submission.xlsx", out);
    char *b = test_read_file(x, NULL);
    EXPECT(b && b[0] == 'P' && b[1] == 'K', "MMBench submission xlsx written");
    free(b);
    test_partial();
    test_rmdir(out);
    return test_done("test_score_bench");
}
