/* hyperllava score --job FILE: re-scores the answers files a job wrote (or
 * any LLaVA-format answers file with --answers), without MPI or a model. The
 * merge step of a SLURM suite runs this after the array tasks. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/jsonio.h"
#include "eval/questions.h"
#include "eval/scores.h"
#include "run/job.h"
#include "util/check.h"
#include "util/path.h"

static const char *help =
    "usage: hyperllava score --job JOB.yaml [--bench NAME] [--answers FILE] [--output DIR]\n"
    "                        [--results FILE]\n"
    "Scores the answers files of a job (OUTPUT/<bench>/answers.jsonl) as the official\n"
    "scripts do, writes OUTPUT/<bench>/scores.json, the server submission files and\n"
    "OUTPUT/scores.json, and prints a summary table. --answers scores another answers\n"
    "file against the benchmark's ground truth (needs --bench); with --output it writes\n"
    "OUTPUT/<bench>/scores.json and the server files too. A benchmark that cannot be\n"
    "scored is named, the others are scored, and the exit status is 1.\n"
    "Per-question results (question_id, category, prediction, parsed answer, ground\n"
    "truth, correct / score; docs/benchmarks.md) go to OUTPUT/<bench>/results.jsonl for\n"
    "every benchmark scored locally; --results FILE writes them there instead (one\n"
    "benchmark: with --bench).\n";

int cmd_score(int argc, char **argv) {
    const char *C = "score";
    const char *job_path = NULL, *bench_sel = NULL, *answers = NULL, *output = NULL,
               *results = NULL;
    const Opt opts[] = {
        {"--job", OPT_STR, &job_path, 0, NULL},    {"--bench", OPT_STR, &bench_sel, 0, NULL},
        {"--answers", OPT_STR, &answers, 0, NULL}, {"--output", OPT_STR, &output, 0, NULL},
        {"--results", OPT_STR, &results, 0, NULL}, {0}};
    args_parse(&(ArgsCmd){.name = C, .help = help}, opts, argc, argv);
    if (!job_path) hl_fail("score: no job given (hyperllava score --job JOB.yaml)");
    if (answers && !bench_sel) hl_fail("score: --answers needs --bench");
    if (results && !bench_sel) hl_fail("score: --results needs --bench");
    Job job;
    job_load(job_path, &job);
    if (output) {
        free(job.output);
        job.output = hl_strdup(output);
    }
    json_t *all = json_object();
    int done = 0, missing = 0, broken = 0;
    score_table_header(stdout);
    for (int i = 0; i < job.n_benches; i++) {
        BenchSpec *b = &job.benches[i];
        if (bench_sel && strcmp(b->name, bench_sel)) continue;
        char *dir = path_os_join(job.output, b->name);
        char *ap = answers ? hl_strdup(answers) : path_os_join(dir, "answers.jsonl");
        struct stat st;
        if (stat(ap, &st) != 0) {
            hl_warn("%s: no answers file; %s not scored", ap, b->name);
            missing++;
            free(dir), free(ap);
            continue;
        }
        /* --answers writes files only with --output (to OUTPUT/<bench>, as --job does) */
        int write = !answers || output;
        if (answers && output) mkdir(job.output, 0777), mkdir(dir, 0777);
        char *rp = results ? hl_strdup(results) : write ? path_os_join(dir, "results.jsonl") : NULL;
        ScoreReport rep;
        if (!score_answers_isolated(b, ap, write ? dir : NULL, rp, &rep)) {
            hl_warn("%s: cannot be scored (error above); scoring the others", b->name);
            broken++;
            free(dir), free(ap), free(rp);
            continue;
        }
        if (write) {
            char *sp = path_os_join(dir, "scores.json");
            json_write_atomic(sp, rep.scores, JSON_INDENT(2));
            free(sp);
        }
        score_table_row(stdout, b->name, rep.scores);
        json_object_set(all, b->name, rep.scores);
        score_report_free(&rep);
        done++;
        free(dir), free(ap), free(rp);
    }
    if (bench_sel && done + missing + broken == 0)
        hl_fail("%s: no benchmark named '%s'", job_path, bench_sel);
    if (!answers && !bench_sel) {
        char *sp = path_os_join(job.output, "scores.json");
        json_write_atomic(sp, all, JSON_INDENT(2));
        free(sp);
    }
    json_decref(all);
    job_free(&job);
    if (broken) hl_warn("%d benchmark(s) could not be scored", broken);
    return done > 0 && !broken ? 0 : 1;
}
