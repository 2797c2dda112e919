/* MME, as LLaVA's convert_answer_to_mme.py and MME's eval_tool/calculation.py score it.
 *
 * Ground truth: in the MME_Benchmark_release_version folder, each subtask folder holds
 * "question\tanswer" txt files (in questions_answers_YN/ when the folder has images/),
 * one file per image, two questions each. An answer finds its line by subtask
 * (question_id up to the first '/'), file (the image name with .txt) and question
 * (the prompt without the short-answer instruction, plus " Please answer yes or no."
 * when missing, with one or two spaces). Per subtask, in answers-file order: the
 * answer is lower-cased; "yes"/"no" exactly, else "yes" or "no" inside its first 4
 * characters, else "other" (wrong); acc = right / questions, acc+ = images (pairs of
 * consecutive answers) with both right / images; score = 100 acc + 100 acc+.
 * Perception = sum over 10 subtasks, cognition over 4. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/jsonio.h"
#include "eval/questions.h"
#include "eval/score_internal.h"
#include "eval/strmap.h"
#include "util/check.h"
#include "util/path.h"

static const char *const perception[] = {"existence", "count", "position", "color",   "posters",
                                         "celebrity", "scene", "landmark", "artwork", "OCR"};
static const char *const cognition[] = {"commonsense_reasoning", "numerical_calculation",
                                        "text_translation", "code_reasoning"};

const char *mme_parse_answer(const char *text) {
    char *low = py_lower(text);
    const char *r;
    if (!strcmp(low, "yes") || !strcmp(low, "no")) {
        r = !strcmp(low, "yes") ? "yes" : "no";
    } else {
        char *prefix = py_slice(low, 0, 4);
        r = strstr(prefix, "yes") ? "yes" : strstr(prefix, "no") ? "no" : "other";
        free(prefix);
    }
    free(low);
    return r;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* GT["category\x1f" "file\x1f" "question"] = answer */
static void load_gt(const char *root, StrMap *gt) {
    DIR *d = opendir(root);
    if (!d) hl_fail("%s: cannot open the MME folder", root);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *cat_dir = path_os_join(root, e->d_name);
        if (!is_dir(cat_dir)) {
            free(cat_dir);
            continue;
        }
        char *images = path_os_join(cat_dir, "images");
        char *qa =
            is_dir(images) ? path_os_join(cat_dir, "questions_answers_YN") : hl_strdup(cat_dir);
        DIR *qd = opendir(qa);
        if (!qd) hl_fail("%s: missing folder", qa);
        struct dirent *f;
        while ((f = readdir(qd))) {
            if (!str_endswith(f->d_name, ".txt")) continue;
            char *path = path_os_join(qa, f->d_name);
            FILE *fp = hl_fopen(path, "rb");
            char *buf = NULL;
            size_t cap = 0;
            long line = 0;
            while (getline(&buf, &cap, fp) > 0) {
                line++;
                char *s = py_strip(buf);
                size_t n;
                char **parts = str_split(s, "\t", &n);
                if (n != 2) hl_fail("%s:%ld: expected 'question<TAB>answer'", path, line);
                StrBuf k = {0};
                sb_printf(&k, "%s\x1f%s\x1f%s", e->d_name, f->d_name, parts[0]);
                void **slot = smap_slot(gt, k.s);
                free(*slot);
                *slot = hl_strdup(parts[1]);
                sb_free(&k);
                strv_free(parts, n);
                free(s);
            }
            free(buf);
            fclose(fp);
            free(path);
        }
        closedir(qd);
        free(images);
        free(qa);
        free(cat_dir);
    }
    closedir(d);
}

typedef struct {
    char *category;
    size_t n;
    char **file, **prompt, **gt, **pred; /* per answer, in answers-file order */
    json_t **qid;
} Task;

static Task *task_get(Task **tasks, size_t *nt, const char *category) {
    for (size_t i = 0; i < *nt; i++)
        if (!strcmp((*tasks)[i].category, category)) return &(*tasks)[i];
    *tasks = hl_realloc(*tasks, (*nt + 1) * sizeof **tasks);
    Task *t = &(*tasks)[(*nt)++];
    memset(t, 0, sizeof *t);
    t->category = hl_strdup(category);
    return t;
}

static void task_push(Task *t, json_t *qid, const char *file, const char *prompt, const char *gt,
                      const char *pred) {
    t->qid = hl_realloc(t->qid, (t->n + 1) * sizeof(json_t *));
    t->qid[t->n] = qid;
    t->file = hl_realloc(t->file, (t->n + 1) * sizeof(char *));
    t->prompt = hl_realloc(t->prompt, (t->n + 1) * sizeof(char *));
    t->gt = hl_realloc(t->gt, (t->n + 1) * sizeof(char *));
    t->pred = hl_realloc(t->pred, (t->n + 1) * sizeof(char *));
    t->file[t->n] = hl_strdup(file), t->prompt[t->n] = hl_strdup(prompt);
    t->gt[t->n] = hl_strdup(gt), t->pred[t->n] = hl_strdup(pred);
    t->n++;
}

static void write_eval_tool(ScoreCtx *c, Task *tasks, size_t nt) {
    char *dir = score_out_path(c, "_mme");
    if (!dir) return;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) hl_fail("%s: cannot create folder", dir);
    for (size_t i = 0; i < nt; i++) {
        StrBuf p = {0};
        sb_printf(&p, "%s/%s.txt", dir, tasks[i].category);
        FILE *f = hl_fopen(p.s, "wb");
        for (size_t k = 0; k < tasks[i].n; k++)
            fprintf(f, "%s\t%s\t%s\t%s\n", tasks[i].file[k], tasks[i].prompt[k], tasks[i].gt[k],
                    tasks[i].pred[k]);
        if (fclose(f) != 0) hl_fail("%s: write failed", p.s);
        sb_free(&p);
    }
    score_add_file(c, dir);
    free(dir);
}

/* Scores one subtask into o; returns the subtask score (100 acc + 100 acc+). */
static double score_task(ScoreCtx *c, const Task *t, json_t *o) {
    size_t right = 0, other = 0, images = 0, both = 0;
    for (size_t k = 0; k < t->n; k += 2) {
        if (k + 1 >= t->n)
            score_incomplete(c,
                             "%s: odd number of answers (%zu): the last image has one question; "
                             "calculation.py asserts two answers an image and stops "
                             "(AssertionError)",
                             t->category, t->n);
        int img_right = 0;
        for (size_t j = k; j < k + 2 && j < t->n; j++) {
            char *gt = py_lower(t->gt[j]);
            if (strcmp(gt, "yes") && strcmp(gt, "no"))
                hl_fail("MME ground truth for %s/%s: answer '%s' is not yes/no", t->category,
                        t->file[j], t->gt[j]);
            const char *pred = mme_parse_answer(t->pred[j]);
            if (!strcmp(pred, gt)) img_right++, right++;
            score_result_correct(score_result(c, t->qid[j], t->category, t->pred[j],
                                              json_string(pred), json_string(gt)),
                                 !strcmp(pred, gt));
            if (!strcmp(pred, "other")) other++;
            free(gt);
        }
        images++;
        both += img_right == 2;
    }
    double acc = (double)right / (double)t->n, acc_plus = (double)both / (double)images;
    double score = 0.0 + acc * 100; /* the script's order: acc then acc+ added to 0 */
    score += acc_plus * 100;
    set_int(o, "questions", (long long)t->n);
    set_int(o, "images", (long long)images);
    set_int(o, "other", (long long)other);
    set_num(o, "acc", acc);
    set_num(o, "acc_plus", acc_plus);
    set_num(o, "score", score);
    return score;
}

void score_mme(ScoreCtx *c) {
    if (!c->spec->annotations) {
        score_note(c, "no annotations (MME_Benchmark_release_version folder): not scored");
        return;
    }
    StrMap gt = {0};
    load_gt(c->spec->annotations, &gt);
    Task *tasks = NULL;
    size_t nt = 0;
    const char *instr = "Answer the question using a single word or phrase.";
    size_t broken = 0;
    for (size_t i = 0; i < c->answers->n; i++)
        broken += strpbrk(c->answers->a[i].text, "\t\n\r") != NULL;
    if (broken)
        score_incomplete(c,
                         "%zu answers hold a tab or a line break: convert_answer_to_mme.py "
                         "writes them as they are, their line of the eval_tool txt file breaks "
                         "apart and calculation.py stops (ValueError unpacking the line, or "
                         "AssertionError when the lines no longer pair); scored here as read",
                         broken);
    for (size_t i = 0; i < c->answers->n; i++) {
        const Answer *a = &c->answers->a[i];
        if (!json_is_string(a->question_id))
            hl_fail("%s:%ld: MME question_id must be 'subtask/image'", c->answers->path, a->line);
        const char *qid = json_string_value(a->question_id);
        size_t np, ns;
        char **parts = str_split(qid, "/", &np);
        char **stem = str_split(parts[np - 1], ".", &ns);
        StrBuf file = {0};
        sb_printf(&file, "%s.txt", stem[0]);
        char *prompt = hl_strdup(a->prompt);
        if (strstr(prompt, instr)) {
            char *t = str_replace(prompt, instr, "");
            free(prompt);
            prompt = py_strip(t);
            free(t);
        }
        StrBuf key = {0};
        const char *answer = NULL;
        if (!strstr(prompt, "Please answer yes or no.")) {
            StrBuf p = {0};
            sb_printf(&p, "%s Please answer yes or no.", prompt);
            free(prompt);
            prompt = sb_take(&p);
            sb_printf(&key, "%s\x1f%s\x1f%s", parts[0], file.s, prompt);
            if (!smap_has(&gt, key.s)) {
                char *t =
                    str_replace(prompt, " Please answer yes or no.", "  Please answer yes or no.");
                free(prompt);
                prompt = t;
            }
            sb_free(&key);
        }
        sb_printf(&key, "%s\x1f%s\x1f%s", parts[0], file.s, prompt);
        answer = smap_get(&gt, key.s);
        if (!answer)
            hl_fail("%s:%ld: no MME ground truth for %s / %s / '%s'", c->answers->path, a->line,
                    parts[0], file.s, prompt);
        task_push(task_get(&tasks, &nt, parts[0]), a->question_id, file.s, prompt, answer, a->text);
        sb_free(&key);
        sb_free(&file);
        free(prompt);
        strv_free(stem, ns);
        strv_free(parts, np);
    }
    write_eval_tool(c, tasks, nt);
    json_t *subtasks = json_object();
    struct {
        const char *name;
        const char *const *list;
        size_t n;
    } types[] = {{"perception", perception, 10}, {"cognition", cognition, 4}};
    double totals[2] = {0, 0};
    for (int ty = 0; ty < 2; ty++) {
        size_t present = 0;
        sb_printf(&c->summary, "  %s:\n", types[ty].name);
        for (size_t k = 0; k < types[ty].n; k++) {
            const Task *t = NULL;
            for (size_t i = 0; i < nt; i++)
                if (!strcmp(tasks[i].category, types[ty].list[k])) t = &tasks[i];
            if (!t) continue;
            json_t *o = json_object();
            double s = score_task(c, t, o);
            json_object_set_new(subtasks, t->category, o);
            totals[ty] += s;
            present++;
            sb_printf(&c->summary, "    %-22s %7.2f\n", t->category, s);
        }
        if (present < types[ty].n)
            score_incomplete(c,
                             "%s: answers for %zu of %zu subtasks; calculation.py opens every "
                             "subtask's file and stops (FileNotFoundError)",
                             types[ty].name, present, types[ty].n);
        sb_printf(&c->summary, "    %-22s %7.2f\n", "total", totals[ty]);
    }
    json_object_set_new(c->scores, "subtasks", subtasks);
    set_num(c->scores, "perception", totals[0]);
    set_num(c->scores, "cognition", totals[1]);
    score_headline(c, "perception score", totals[0]);
    for (size_t i = 0; i < nt; i++) {
        Task *t = &tasks[i];
        strv_free(t->file, t->n), strv_free(t->prompt, t->n), strv_free(t->gt, t->n),
            strv_free(t->pred, t->n);
        free(t->qid);
        free(t->category);
    }
    free(tasks);
    smap_free(&gt, free);
}
