/* Answers files: lines byte-identical to LLaVA's (json.dumps of its key order; the
 * expected lines below are what model_vqa_loader.py / model_vqa_mmbench.py write, with
 * the answer_id replaced), deterministic answer ids, durable appends, resume after a
 * crash (cut final line dropped and truncated), resume checks, loading for scoring. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/answers.h"
#include "eval/jsonio.h"
#include "test.h"

#define FIX "tests/fixtures/bench"

static char dir[256];

static char *replace_id(char *line, const char *id, const char *with) {
    char *p = strstr(line, id);
    if (p) memcpy(p, with, strlen(with));
    return line;
}

static void test_format(void) {
    BenchSpec s = {0};
    s.kind = BENCH_POPE;
    s.questions = FIX "/pope/llava_pope_test.jsonl";
    s.images = FIX "/pope/val2014";
    EvalSet *set = eval_read(&s, NULL);
    char id[23];
    answers_id(&set->items[0], "No", "llava-v1.5-13b", id);
    char *line = answers_format(BENCH_POPE, &set->items[0], "No", "llava-v1.5-13b");
    const char *want =
        "{\"question_id\": 1, \"prompt\": \"Is there a dog in the image?\\nAnswer the question "
        "using a "
        "single word or phrase.\", \"text\": \"No\", \"answer_id\": \"XXXXXXXXXXXXXXXXXXXXXX\", "
        "\"model_id\": \"llava-v1.5-13b\", \"metadata\": {}}\n";
    EXPECT(!strcmp(replace_id(line, id, "XXXXXXXXXXXXXXXXXXXXXX"), want), "POPE line: %s", line);
    free(line);
    /* the id: 22 characters of shortuuid's alphabet, a function of the answer */
    const char *alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    EXPECT(strlen(id) == 22 && strspn(id, alphabet) == 22, "answer_id %s", id);
    char id2[23], id3[23], id4[23];
    answers_id(&set->items[0], "No", "llava-v1.5-13b", id2);
    answers_id(&set->items[0], "Yes", "llava-v1.5-13b", id3);
    answers_id(&set->items[1], "No", "llava-v1.5-13b", id4);
    EXPECT(!strcmp(id, id2) && strcmp(id, id3) && strcmp(id, id4),
           "deterministic, and different for another text or question: %s %s %s", id, id3, id4);
    /* non-ASCII text: \u escapes as json.dumps (ensure_ascii) */
    line = answers_format(BENCH_POPE, &set->items[0], "Caf\xc3\xa9 \xf0\x9f\x98\x80", "m");
    EXPECT(strstr(line, "\"text\": \"Caf\\u00e9 \\ud83d\\ude00\"") != NULL, "escaped text: %s",
           line);
    free(line);
    /* ill-formed UTF-8 from a decoder becomes U+FFFD, never a broken line */
    line = answers_format(BENCH_POPE, &set->items[0], "ok\xe4\xb8", "m");
    EXPECT(strstr(line, "\"text\": \"ok\\ufffd\"") != NULL, "replacement character: %s", line);
    free(line);
    eval_set_free(set);

    /* MMBench: round_id after question_id, options and option_char after text */
    s.kind = BENCH_MMBENCH;
    s.questions = FIX "/mmbench/mmbench_dev_20230712.tsv";
    s.images = NULL;
    set = eval_read(&s, NULL);
    const EvalItem *it = &set->items[4]; /* index 2: "Is the sky blue?", no hint, 2 options */
    answers_id(it, "A", "llava-v1.5-13b", id);
    line = answers_format(BENCH_MMBENCH, it, "A", "llava-v1.5-13b");
    want =
        "{\"question_id\": 2, \"round_id\": 0, \"prompt\": \"Is the sky blue?\\nA. yes\\nB. no\", "
        "\"text\": \"A\", \"options\": [\"yes\", \"no\"], \"option_char\": [\"A\", \"B\"], "
        "\"answer_id\": \"XXXXXXXXXXXXXXXXXXXXXX\", \"model_id\": \"llava-v1.5-13b\", "
        "\"metadata\": {}}\n";
    EXPECT(!strcmp(replace_id(line, id, "XXXXXXXXXXXXXXXXXXXXXX"), want), "MMBench line: %s", line);
    free(line);
    eval_set_free(set);

    /* SQA: string ids, "<image>\n" in the prompt of questions with an image */
    s.kind = BENCH_SQA;
    s.questions = FIX "/sqa/llava_test_CQM-A.json";
    s.images = FIX "/sqa/images/test";
    set = eval_read(&s, NULL);
    line = answers_format(BENCH_SQA, &set->items[1], "B", "m");
    EXPECT(str_startswith(line, "{\"question_id\": \"5\", \"prompt\": \"<image>\\nContext: "),
           "SQA line: %s", line);
    free(line);
    eval_set_free(set);
}

static size_t count_lines(const char *path) {
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static EvalSet *mme_set(void) {
    BenchSpec s = {0};
    s.kind = BENCH_MME;
    s.questions = FIX "/mme/llava_mme.jsonl";
    s.images = FIX "/mme/MME_Benchmark_release_version";
    return eval_read(&s, NULL);
}

static char resume_path[512];

static void resume_wrong_order(const char *unused) {
    (void)unused;
    static EvalSet *set, shifted;
    static AnswersResume r;
    set = mme_set();
    answers_resume(resume_path, &r);
    /* the same questions, starting one later */
    shifted = *set;
    shifted.items++;
    shifted.n--;
    answers_resume_check(&r, &shifted, resume_path);
}

static void test_write_resume(void) {
    EvalSet *set = mme_set(); /* MME: question ids repeat (two questions per image) */
    snprintf(resume_path, sizeof resume_path, "%s/out/sub/answers.jsonl", dir);
    AnswersResume r;
    answers_resume(resume_path, &r);
    EXPECT(r.n == 0, "no file: nothing to resume");
    answers_resume_free(&r);
    AnswersWriter *w = answers_open(resume_path, 1); /* creates out/sub/ */
    for (size_t i = 0; i < 3; i++) {
        char *line = answers_format(BENCH_MME, &set->items[i], "Yes", "m");
        answers_write(w, line);
        free(line);
    }
    answers_sync(w);
    EXPECT(count_lines(resume_path) == 3, "3 lines after sync");
    answers_close(w);
    long whole = file_size(resume_path);
    /* a crash in the middle of the 4th line */
    FILE *f = fopen(resume_path, "ab");
    fputs("{\"question_id\": \"count/000000000003.jpg\", \"prompt\": \"Are th", f);
    fclose(f);
    answers_resume(resume_path, &r);
    EXPECT(r.n == 3 && r.dropped > 0, "3 complete lines, the cut one dropped (%zu, %zu)", r.n,
           r.dropped);
    EXPECT(file_size(resume_path) == whole, "file truncated to the last complete line");
    EXPECT(answers_resume_check(&r, set, resume_path) == 3, "resume skips 3 questions");
    EXPECT(!strcmp(r.keys[0], "s:existence/000000000001.jpg") && !strcmp(r.keys[0], r.keys[1]),
           "keys in file order, repeated ids kept: %s %s", r.keys[0], r.keys[1]);
    answers_resume_free(&r);
    /* appending after the resume continues the file */
    w = answers_open(resume_path, 1);
    char *line = answers_format(BENCH_MME, &set->items[3], "No", "m");
    answers_write(w, line);
    free(line);
    answers_close(w);
    AnswerList *l = answers_load(resume_path);
    EXPECT(l->n == 4 && !strcmp(l->a[3].text, "No") && l->a[3].line == 4, "4 answers loaded");
    EXPECT(!strcmp(l->a[0].prompt, set->items[0].prompt_text), "prompt kept");
    answers_free(l);
    /* answers that do not follow the question order are refused */
    char msg[1024];
    int st = test_child(resume_wrong_order, NULL, msg, sizeof msg);
    EXPECT(st == 1 && strstr(msg, "answers.jsonl:") && strstr(msg, "existence/000000000001.jpg"),
           "resume of answers to other questions fails: %d [%s]", st, msg);
    /* a last line without its newline but complete is kept when loading for scoring */
    f = fopen(resume_path, "ab");
    fputs("{\"question_id\": \"x/y.jpg\", \"prompt\": \"p\", \"text\": \"t\"}", f);
    fclose(f);
    l = answers_load(resume_path);
    EXPECT(l->n == 5 && !strcmp(l->a[4].text, "t"), "complete final line kept (%zu)", l->n);
    char *k = answer_key(&l->a[4]);
    EXPECT(!strcmp(k, "s:x/y.jpg"), "answer key %s", k);
    free(k);
    answers_free(l);
    /* truncating open */
    w = answers_open(resume_path, 0);
    answers_close(w);
    EXPECT(file_size(resume_path) == 0, "append = 0 starts over");
    eval_set_free(set);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/hl_answers_XXXXXX");
    test_tmpdir(dir);
    test_format();
    test_write_resume();
    test_rmdir(dir);
    return test_done("test_eval_answers");
}
