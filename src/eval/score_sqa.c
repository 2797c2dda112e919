/* ScienceQA, as LLaVA's llava/eval/eval_science_qa.py scores it.
 *
 * Over the problems of pid_splits.json["test"] (problems.json for choices and answer):
 * the parsed answer is the text itself when it is one of A-E; else its first letter
 * when the text starts "X. " with X in A-E; else the letter of "The answer is X." when
 * that pattern occurs exactly once; else FAILED. It is right when it is among the
 * first len(choices) letters and its index equals the answer. Problems without an
 * answer count as FAILED. IMG-accuracy counts the answers whose prompt holds
 * "<image>". Writes <name>_output.json and <name>_result.json as the script does. */
#include <stdlib.h>
#include <string.h>

#include "eval/jsonio.h"
#include "eval/questions.h"
#include "eval/score_internal.h"
#include "eval/strmap.h"
#include "util/check.h"
#include "util/path.h"

static const char options[] = "ABCDE";
static const char missing_text[] = "FAILED"; /* the script's text for an unanswered problem */

char sqa_parse_answer(const char *t) {
    if (t[0] && !t[1] && strchr(options, t[0])) return t[0];
    if (t[0] && strchr(options, t[0]) && t[1] == '.' && t[2] == ' ') return t[0];
    /* re.findall(r'The answer is ([A-Z]).', t): non-overlapping, '.' = any but newline */
    const char *pat = "The answer is ";
    size_t plen = strlen(pat), n = strlen(t), i = 0, matches = 0;
    char letter = 0;
    while (i + plen + 1 < n) {
        if (!strncmp(t + i, pat, plen) && t[i + plen] >= 'A' && t[i + plen] <= 'Z' &&
            t[i + plen + 1] != '\n') {
            size_t len;
            utf8_decode(t + i + plen + 1, n - i - plen - 1, &len);
            letter = t[i + plen];
            matches++;
            i += plen + 1 + len;
        } else {
            i++;
        }
    }
    return matches == 1 ? letter : 0;
}

void score_sqa(ScoreCtx *c) {
    const char *dir = c->spec->annotations;
    if (!dir) {
        score_note(c, "no annotations folder (problems.json, pid_splits.json): not scored");
        return;
    }
    char *split_path = path_os_join(dir, "pid_splits.json");
    char *prob_path = path_os_join(dir, "problems.json");
    json_t *splits = json_read_file(split_path);
    json_t *problems = json_read_file(prob_path);
    json_t *test = json_object_get(splits, "test");
    if (!json_is_array(test)) hl_fail("%s: missing key 'test'", split_path);
    StrMap pred = {0}; /* question_id key -> answer index (later lines win) */
    for (size_t i = 0; i < c->answers->n; i++) {
        char *k = json_id_key(c->answers->a[i].question_id);
        smap_put_index(&pred, k, i);
        free(k);
    }
    json_t *correct = json_array(), *incorrect = json_array();
    json_t *results = json_object(), *outputs = json_object();
    size_t total = 0, right = 0, mm_total = 0, mm_right = 0, missing = 0, failed = 0;
    size_t i;
    json_t *pid_v;
    json_array_foreach(test, i, pid_v) {
        const char *pid = json_string_value(pid_v);
        if (!pid) hl_fail("%s: test split entry %zu is not a string", split_path, i);
        json_t *prob = json_object_get(problems, pid);
        if (!prob) hl_fail("%s: no problem '%s'", prob_path, pid);
        json_t *choices = json_object_get(prob, "choices");
        json_t *ans = json_object_get(prob, "answer");
        if (!json_is_array(choices) || !json_is_integer(ans))
            hl_fail("%s: problem '%s': missing key 'choices' or 'answer'", prob_path, pid);
        StrBuf k = {0};
        sb_printf(&k, "s:%s", pid);
        size_t ai;
        const char *text = missing_text, *prompt = "Unknown";
        if (smap_get_index(&pred, k.s, &ai)) {
            text = c->answers->a[ai].text;
            prompt = c->answers->a[ai].prompt;
        } else {
            missing++;
        }
        sb_free(&k);
        char letter = sqa_parse_answer(text);
        size_t nchoices = json_array_size(choices);
        const char *at = letter ? strchr(options, letter) : NULL;
        long idx = at && (size_t)(at - options) < nchoices ? at - options : -1;
        long gt = (long)json_integer_value(ans);
        int ok = idx == gt, mm = strstr(prompt, "<image>") != NULL;
        failed += !letter;
        total++, right += ok, mm_total += mm, mm_right += mm && ok;
        {
            char pl[2] = {letter, 0}, gl[2] = {gt >= 0 && gt < 5 ? options[gt] : '?', 0};
            json_t *pj = json_string(pid);
            score_result_correct(score_result(c, pj,
                                              json_string_value(json_object_get(prob, "subject")),
                                              text != missing_text ? text : NULL,
                                              letter ? json_string(pl) : NULL, json_string(gl)),
                                 ok);
            json_decref(pj);
        }
        json_t *a = json_object();
        json_object_set_new(a, "question_id", json_string(pid));
        char parsed[2] = {letter, 0};
        json_object_set_new(a, "parsed_ans", json_string(letter ? parsed : "FAILED"));
        char gtl[2] = {gt >= 0 && gt < 5 ? options[gt] : '?', 0};
        json_object_set_new(a, "ground_truth", json_string(gtl));
        json_object_set_new(a, "question", json_string(prompt));
        json_object_set_new(a, "pred", json_string(text));
        json_object_set_new(a, "is_multimodal", json_boolean(mm));
        json_array_append_new(ok ? correct : incorrect, a);
        json_object_set_new(results, pid, json_integer(idx));
        json_object_set_new(outputs, pid, json_string(text));
    }
    if (missing) score_incomplete(c, "%zu test problems have no answer (counted wrong)", missing);
    /* as the script computes them: correct / total * 100 */
    double acc = total ? (double)right / (double)total * 100 : 0;
    double img = mm_total ? (double)mm_right / (double)mm_total * 100 : 0;
    char *out = score_out_path(c, "_output.json");
    if (out) {
        json_t *o = json_object();
        json_object_set(o, "correct", correct);
        json_object_set(o, "incorrect", incorrect);
        pyjson_write_file(out, o, 2);
        score_add_file(c, out);
        json_decref(o);
        free(out);
        out = score_out_path(c, "_result.json");
        o = json_object();
        set_num(o, "acc", acc);
        set_int(o, "correct", (long long)right);
        set_int(o, "count", (long long)total);
        json_object_set(o, "results", results);
        json_object_set(o, "outputs", outputs);
        pyjson_write_file(out, o, 2);
        score_add_file(c, out);
        json_decref(o);
        free(out);
    }
    set_num(c->scores, "accuracy", acc);
    set_num(c->scores, "img_accuracy", img);
    set_int(c->scores, "correct", (long long)right);
    set_int(c->scores, "count", (long long)total);
    set_int(c->scores, "img_correct", (long long)mm_right);
    set_int(c->scores, "img_count", (long long)mm_total);
    set_int(c->scores, "failed", (long long)failed);
    sb_printf(&c->summary, "  accuracy %.2f (%zu/%zu)  IMG-accuracy %.2f (%zu/%zu)  FAILED %zu\n",
              acc, right, total, img, mm_right, mm_total, failed);
    score_headline(c, "IMG-accuracy (%)", img);
    json_decref(correct), json_decref(incorrect), json_decref(results), json_decref(outputs);
    json_decref(splits), json_decref(problems);
    smap_free(&pred, NULL);
    free(split_path), free(prob_path);
}
