/* hyperllava eval --job FILE [--resume]: a benchmark suite end to end
 * (run/suite.h does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "run/job.h"
#include "run/session.h"
#include "run/suite.h"
#include "util/check.h"

static const char *help =
    "usage: hyperllava eval --job JOB.yaml [options]\n"
    "Runs every benchmark of the job (or one: --bench) and scores it. Launch it with the\n"
    "world size of the job's layout (launcher/hyperllava-run does).\n"
    "  --resume            continue answers files of an interrupted run (same run record)\n"
    "  --bench I|NAME      only this benchmark (index from 0, or its name): SLURM arrays\n"
    "  --layout DxPxT      override the run config's layout\n"
    "  --batch-size N      override the batch size\n"
    "  --micro-batches M   override the micro-batch count\n"
    "  --threads N         override threads per rank\n"
    "  --watchdog S        end the job when a rank waits S s on a silent one (0 = off)\n"
    "  --dtype D           override the held weight precision (f32, bf16, f16)\n"
    "  --backend B         cpu or cuda (one GPU per rank: local rank % GPUs)\n"
    "  --limit N           only the first N questions of each benchmark (smoke runs)\n"
    "  --no-score          write answers only\n"
    "  --output DIR        override the job's output folder\n"
    "  --metrics FILE      where metrics go (default OUTPUT/metrics.json, or\n"
    "                      OUTPUT/<bench>/metrics.json with --bench)\n"
    "Outputs in the job's output folder, per benchmark NAME: NAME/answers.jsonl (LLaVA's\n"
    "format), NAME/samples.jsonl, NAME/run.json, NAME/scores.json and the server files;\n"
    "then scores.json, metrics.json and a summary table for the suite.\n";

int cmd_eval(int argc, char **argv) {
    const char *C = "eval";
    const char *job_path = NULL, *bench_sel = NULL, *metrics = NULL, *output = NULL;
    RunOverrides ov = {0};
    int resume = 0, no_score = 0, limit = -1;
    const Opt opts[] = {{"--job", OPT_STR, &job_path, 0, NULL},
                        {"--resume", OPT_FLAG, &resume, 0, NULL},
                        {"--no-score", OPT_FLAG, &no_score, 0, NULL},
                        {"--bench", OPT_STR, &bench_sel, 0, NULL},
                        {"--limit", OPT_INT, &limit, 0, NULL},
                        {"--metrics", OPT_STR, &metrics, 0, NULL},
                        {"--output", OPT_STR, &output, 0, NULL},
                        RUN_OVERRIDE_OPTS(ov),
                        {0}};
    args_parse(&(ArgsCmd){.name = C, .help = help}, opts, argc, argv);
    if (!job_path) hl_fail("eval: no job given (hyperllava eval --job JOB.yaml)");
    Job job;
    job_load(job_path, &job);
    if (output) {
        free(job.output);
        job.output = hl_strdup(output);
    }
    SuiteOptions so = {
        .b0 = 0, .b1 = job.n_benches, .resume = resume, .score = !no_score, .metrics = metrics};
    if (bench_sel) {
        so.b0 = job_find_bench(&job, bench_sel);
        so.b1 = so.b0 + 1, so.one = 1;
    }
    run_overrides_apply(C, &ov, &job.run);
    if (limit >= 0)
        for (int i = 0; i < job.n_benches; i++) job.benches[i].limit = limit;
    GenSettings gen = {.temperature = job.temperature, .top_p = job.top_p, .seed = job.seed};
    Session s;
    session_open(&s, &argc, &argv, &job.run, &gen);
    suite_run(&s, &job, &so);
    job_free(&job);
    session_close(&s);
    return 0;
}
