/* Question readers: every fixture data set (tests/fixtures/bench/<kind>/, in LLaVA's
 * formats) must give exactly the items of its expected_items.jsonl, written by
 * tests/reference/make_bench_fixtures.py from LLaVA's own prompt logic
 * (model_vqa_loader / model_vqa_science --single-pred-prompt / model_vqa_mmbench
 * --single-pred-prompt [--lang cn]). Bad inputs are read in a forked child that must
 * exit 1 with one line naming the file, line and key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/jsonio.h"
#include "eval/questions.h"
#include "eval/tsv.h"
#include "test.h"
#include "util/path.h"

#define FIX "tests/fixtures/bench"

static BenchSpec spec_for(const char *kind, const char *questions, const char *images) {
    static char q[512], im[512];
    BenchSpec s = {0};
    bench_kind_parse(kind, &s.kind);
    snprintf(q, sizeof q, FIX "/%s/%s", kind, questions);
    s.questions = q;
    if (images) {
        snprintf(im, sizeof im, FIX "/%s/%s", kind, images);
        s.images = im;
    }
    return s;
}

static void check_items(const char *kind, const char *questions, const char *images) {
    BenchSpec s = spec_for(kind, questions, images);
    EvalSet *set = eval_read(&s, NULL);
    char path[512];
    snprintf(path, sizeof path, FIX "/%s/expected_items.jsonl", kind);
    JsonlReader r;
    jsonl_open(&r, path);
    json_t *e;
    size_t i = 0, bad = 0;
    while ((e = jsonl_next(&r))) {
        if (i >= set->n) {
            EXPECT(0, "%s: fewer items than expected (%zu)", kind, set->n);
            json_decref(e);
            break;
        }
        const EvalItem *it = &set->items[i];
        int ok = json_equal(it->question_id, json_object_get(e, "question_id"));
        ok &= !strcmp(it->question, json_string_value(json_object_get(e, "question")));
        ok &= !strcmp(it->prompt_text, json_string_value(json_object_get(e, "prompt")));
        json_t *img = json_object_get(e, "image");
        if (json_is_string(img)) {
            char want[512];
            snprintf(want, sizeof want, FIX "/%s/%s", kind, json_string_value(img));
            ok &= it->image && !strcmp(it->image, want) && access(it->image, R_OK) == 0;
        } else if (s.kind == BENCH_MMBENCH || s.kind == BENCH_MMBENCH_CN) {
            char png[512];
            size_t n;
            snprintf(png, sizeof png, FIX "/%s/image.png", kind);
            unsigned char *b = test_read_file(png, &n);
            ok &= !it->image && b && it->image_size == n && !memcmp(it->image_data, b, n);
            ok &= json_equal(json_object_get(it->meta, "options"), json_object_get(e, "options"));
            ok &= json_equal(json_object_get(it->meta, "option_char"),
                             json_object_get(e, "option_char"));
            ok &= it->image_raw == 1;
            free(b);
        } else {
            ok &= it->image == NULL && it->image_data == NULL && !eval_item_has_image(it);
        }
        if (!ok && bad++ < 3)
            fprintf(stderr,
                    "%s item %zu differs:\n  question [%s]\n  want     [%s]\n  prompt [%s]\n"
                    "  want   [%s]\n  image %s\n",
                    kind, i, it->question, json_string_value(json_object_get(e, "question")),
                    it->prompt_text, json_string_value(json_object_get(e, "prompt")),
                    it->image ? it->image : "(none)");
        EXPECT(ok, "%s: item %zu matches expected_items.jsonl line %ld", kind, i, r.line);
        json_decref(e);
        i++;
    }
    jsonl_close(&r);
    EXPECT(i == set->n && i > 0, "%s: %zu items, %zu expected", kind, set->n, i);
    eval_set_free(set);
}

static void test_fixtures(void) {
    check_items("pope", "llava_pope_test.jsonl", "val2014");
    check_items("mme", "llava_mme.jsonl", "MME_Benchmark_release_version");
    check_items("gqa", "llava_gqa_testdev_balanced.jsonl", "images");
    check_items("sqa", "llava_test_CQM-A.json", "images/test");
    check_items("textvqa", "llava_textvqa_val_v051_ocr.jsonl", "train_images");
    check_items("vqav2", "llava_vqav2_mscoco_test-dev2015.jsonl", "test2015");
    check_items("vizwiz", "llava_test.jsonl", "test");
    check_items("seed", "llava-seed-bench.jsonl", "");
    check_items("mmbench", "mmbench_dev_20230712.tsv", NULL);
    check_items("mmbench_cn", "mmbench_dev_cn_20231003.tsv", NULL);
    check_items("llava_bench", "questions.jsonl", "images");
    check_items("mmvet", "llava-mm-vet.jsonl", "images");
}

static void test_details(void) {
    /* limit: the first N questions */
    BenchSpec s = spec_for("pope", "llava_pope_test.jsonl", "val2014");
    s.limit = 4;
    EvalSet *set = eval_read(&s, NULL);
    EXPECT(set->n == 4, "limit 4 gives 4 items (%zu)", set->n);
    EXPECT(
        !strcmp(json_string_value(json_object_get(set->items[0].meta, "category")), "adversarial"),
        "jsonl meta keeps the category");
    EXPECT(json_object_get(set->items[0].meta, "text") == NULL, "meta holds only the extra keys");
    char *k = eval_item_key(&set->items[0]);
    EXPECT(!strcmp(k, "i:1"), "key of question_id 1: %s", k);
    free(k);
    eval_set_free(set);
    /* SQA: images are handed over without convert('RGB'), text-only questions have none */
    s = spec_for("sqa", "llava_test_CQM-A.json", "images/test");
    set = eval_read(&s, NULL);
    EXPECT(set->items[0].image == NULL && set->items[1].image != NULL && set->items[1].image_raw,
           "SQA: question 4 is text-only, 5 has an image");
    eval_set_free(set);
    /* MMBench --all-rounds: one item per rotation of the options */
    s = spec_for("mmbench", "mmbench_dev_20230712.tsv", NULL);
    EvalReadOpts o = {1};
    set = eval_read(&s, &o);
    EXPECT(set->n >= 4, "all rounds");
    const EvalItem *r1 = &set->items[1];
    json_t *chars = json_object_get(r1->meta, "option_char");
    EXPECT(json_integer_value(json_object_get(r1->meta, "round_id")) == 1 &&
               !strcmp(json_string_value(json_array_get(chars, 0)), "B") &&
               !strcmp(json_string_value(json_array_get(chars, 3)), "A"),
           "round 1 option_char is B, C, D, A");
    EXPECT(strstr(r1->question, "\nA. dog\nB. bird\nC. fish\nD. cat\n") != NULL,
           "round 1 shows the options rotated once: %s", r1->question);
    k = eval_item_key(r1);
    EXPECT(!strcmp(k, "i:1#1"), "MMBench key carries the round: %s", k);
    free(k);
    eval_set_free(set);
    /* path joining as os.path.join */
    char *p = path_os_join("dir", "/abs/x.jpg");
    EXPECT(!strcmp(p, "/abs/x.jpg"), "absolute names win");
    free(p);
    p = path_os_join("dir/", "x.jpg");
    EXPECT(!strcmp(p, "dir/x.jpg"), "no doubled slash");
    free(p);
    /* base64 as Python's b64decode: junk skipped, padding required */
    size_t n;
    unsigned char *b = base64_decode("aGVs\nbG8=", &n);
    EXPECT(b && n == 5 && !memcmp(b, "hello", 5), "base64 with a newline");
    free(b);
    EXPECT(base64_decode("aGVsbG8", &n) == NULL, "base64 without padding fails");
    EXPECT(tsv_is_na("N/A") && tsv_is_na("") && tsv_is_na("None") && !tsv_is_na("none") &&
               !tsv_is_na("0"),
           "pandas missing values");
}

static void read_jsonl_file(const char *path) {
    BenchSpec s = {0};
    s.kind = BENCH_POPE;
    s.questions = (char *)path;
    s.images = "img";
    eval_read(&s, NULL);
}

static void read_sqa_file(const char *path) {
    BenchSpec s = {0};
    s.kind = BENCH_SQA;
    s.questions = (char *)path;
    eval_read(&s, NULL);
}

static void read_tsv_file(const char *path) {
    BenchSpec s = {0};
    s.kind = BENCH_MMBENCH;
    s.questions = (char *)path;
    eval_read(&s, NULL);
}

static void expect_failure(void (*fn)(const char *), const char *path, const char *want1,
                           const char *want2) {
    char msg[1024];
    int st = test_child(fn, path, msg, sizeof msg);
    EXPECT(st == 1, "%s: exit status %d", path, st);
    EXPECT(strstr(msg, want1) && strstr(msg, want2) && strchr(msg, '\n') == msg + strlen(msg) - 1,
           "one line naming '%s' and '%s': got [%s]", want1, want2, msg);
}

static void test_errors(void) {
    char tmpdir[] = "/tmp/hl_readers_XXXXXX";
    test_tmpdir(tmpdir);
    char missing[512];
    snprintf(missing, sizeof missing, "%s/missing.jsonl", tmpdir);
    expect_failure(read_jsonl_file, missing, "missing.jsonl", "No such file");
    const char *p = test_write_file(
        tmpdir, "bad.jsonl",
        "{\"question_id\": 1, \"image\": \"a.jpg\", \"text\": \"q\"}\n{\"question_id\": 2,\n");
    expect_failure(read_jsonl_file, p, "bad.jsonl:2:", "bad JSON");
    p = test_write_file(tmpdir, "nokey.jsonl",
                        "{\"question_id\": 1, \"image\": \"a.jpg\", \"text\": \"q\"}\n\n"
                        "{\"question_id\": 2, \"image\": \"a.jpg\"}\n");
    expect_failure(read_jsonl_file, p, "nokey.jsonl:3:", "missing key 'text'");
    p = test_write_file(
        tmpdir, "sqa.json",
        "[{\"id\": \"1\", \"conversations\": [{\"from\": \"human\", \"value\": \"q\"}]},"
        " {\"id\": \"2\"}]");
    expect_failure(read_sqa_file, p, "sqa.json: entry 1", "'conversations'");
    p = test_write_file(tmpdir, "mmb.tsv", "index\tquestion\tA\n1\tq\ta\n");
    expect_failure(read_tsv_file, p, "mmb.tsv", "missing column 'image'");
    p = test_write_file(tmpdir, "mmb2.tsv",
                        "index\tquestion\tA\timage\n1\tq\ta\tiVBORw0KGgo=\n2\tq\ta\t!!\n");
    expect_failure(read_tsv_file, p, "mmb2.tsv:3:", "column 'image'");
    test_rmdir(tmpdir);
}

int main(void) {
    test_fixtures();
    test_details();
    test_errors();
    return test_done("test_eval_readers");
}
