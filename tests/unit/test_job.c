/* Job files: valid jobs parse to the expected values (paths resolved,
 * defaults filled, sweep expanded); every error class is one line naming the
 * file, the line and the key (checked in a forked child). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/job.h"
#include "test.h"

static char tmpdir[] = "/tmp/hl-test-job-XXXXXX";

static void load_job(const char *path) {
    Job j;
    job_load(path, &j);
    job_free(&j);
}

/* A job with a valid run config and the given benchmark list / extra keys. */
#define RUN "run: {model: m.h5}\noutput: out\n"
#define POPE "benchmarks:\n  - kind: pope\n    questions: q.jsonl\n    images: img\n"

/* The first %s in want_fmt is the job file's path, a second one its folder. */
static void expect_error(const char *name, const char *text, const char *want_fmt) {
    const char *path = test_write_file(tmpdir, name, text);
    char want[1024], line[1200];
    snprintf(want, sizeof want, want_fmt, path, tmpdir);
    snprintf(line, sizeof line, "hyperllava: error: %s\n", want);
    char err[4096];
    int status = test_child(load_job, path, err, sizeof err);
    EXPECT(status == 1, "%s: exit status %d, stderr: %s", name, status, err);
    EXPECT(!strcmp(err, line), "%s:\n  got:  %s  want: %s", name, err, line);
}

static void test_suite(void) {
    Job j;
    job_load("tests/fixtures/yaml/job-suite.yaml", &j);
    const char *d = "tests/fixtures/yaml/";
    char want[256];
    EXPECT(!strcmp(j.path, "tests/fixtures/yaml/job-suite.yaml"), "path %s", j.path);
    EXPECT(!strcmp(j.run.path, "tests/fixtures/yaml/run-full.yaml"), "run path %s", j.run.path);
    EXPECT(!strcmp(j.run.model, "tests/fixtures/models/all/model.h5"), "model %s", j.run.model);
    EXPECT(j.run.dp == 2 && j.run.pp == 2 && j.run.tp == 2 && j.run.batch_size == 8, "run");
    snprintf(want, sizeof want, "%sout/suite", d);
    EXPECT(!strcmp(j.output, want), "output %s", j.output);
    EXPECT(!strcmp(j.model_id, "model"), "model_id defaults to the file's stem: %s", j.model_id);
    EXPECT(j.temperature == 0.7 && j.top_p == 0.9 && j.seed == 1234, "generation %g %g %llu",
           j.temperature, j.top_p, (unsigned long long)j.seed);
    snprintf(want, sizeof want, "%sbench", d);
    EXPECT(j.data_root && !strcmp(j.data_root, want), "data_root %s", j.data_root);
    EXPECT(!j.has_sweep, "no sweep");
    EXPECT(j.n_benches == 3, "benches %d", j.n_benches);
    if (j.n_benches == 3) {
        BenchSpec *b = j.benches;
        EXPECT(b[0].kind == BENCH_POPE && !strcmp(b[0].name, "pope"), "pope %s", b[0].name);
        EXPECT(!strcmp(b[0].questions, "tests/fixtures/yaml/bench/pope/llava_pope_test.jsonl"),
               "questions %s", b[0].questions);
        EXPECT(!strcmp(b[0].images, "tests/fixtures/yaml/bench/pope/val2014"), "images %s",
               b[0].images);
        EXPECT(!strcmp(b[0].annotations, "tests/fixtures/yaml/bench/pope/coco"), "ann %s",
               b[0].annotations);
        EXPECT(b[0].batch_size == 4 && b[0].limit == 10 && b[0].max_new_tokens == 128,
               "pope numbers %d %d %d", b[0].batch_size, b[0].limit, b[0].max_new_tokens);
        EXPECT(b[1].kind == BENCH_SQA && !strcmp(b[1].name, "sqa-img"), "sqa %s", b[1].name);
        EXPECT(!strcmp(b[1].images, "/abs/scienceqa/images/test"), "absolute kept %s", b[1].images);
        EXPECT(!b[1].annotations && b[1].max_new_tokens == 1024 && !b[1].batch_size && !b[1].limit,
               "sqa defaults %d", b[1].max_new_tokens);
        EXPECT(b[2].kind == BENCH_MMBENCH && !b[2].images && b[2].max_new_tokens == 16,
               "mmbench %d", b[2].max_new_tokens);
    }
    job_free(&j);

    job_load("tests/fixtures/yaml/job-inline.yaml", &j);
    EXPECT(!strcmp(j.run.path, "tests/fixtures/yaml/job-inline.yaml"), "inline run path %s",
           j.run.path);
    EXPECT(!strcmp(j.run.model, "tests/fixtures/models/lang/model.h5"), "inline model %s",
           j.run.model);
    EXPECT(j.run.pp == 2 && j.run.batch_size == 2, "inline layout");
    EXPECT(!strcmp(j.output, "/tmp/hyperllava-out") && !strcmp(j.model_id, "tiny-lang"),
           "output %s id %s", j.output, j.model_id);
    EXPECT(j.temperature == 0 && j.top_p == 1.0 && j.seed == 0, "greedy by default");
    EXPECT(!j.data_root, "no data_root");
    EXPECT(j.n_benches == 1 && j.benches[0].kind == BENCH_MME &&
               !strcmp(j.benches[0].questions, "tests/fixtures/yaml/mme/llava_mme.jsonl"),
           "mme relative to the job: %s", j.n_benches ? j.benches[0].questions : "");
    job_free(&j);
}

static void test_sweep(void) {
    Job j;
    job_load("tests/fixtures/yaml/job-sweep.yaml", &j);
    JobSweep *s = &j.sweep;
    EXPECT(j.has_sweep && s->n_layouts == 4 && s->n_batch_sizes == 2, "sweep %d x %d", s->n_layouts,
           s->n_batch_sizes);
    if (s->n_layouts == 4) {
        EXPECT(s->layouts[0].dp == 1 && s->layouts[0].pp == 1 && s->layouts[0].tp == 1, "l0");
        EXPECT(s->layouts[1].dp == 1 && s->layouts[1].pp == 2 && s->layouts[1].tp == 1, "l1");
        EXPECT(s->layouts[2].dp == 2 && s->layouts[2].pp == 1 && s->layouts[2].tp == 1, "l2");
        EXPECT(s->layouts[3].dp == 1 && s->layouts[3].pp == 1 && s->layouts[3].tp == 2, "l3");
    }
    EXPECT(s->batch_sizes[0] == 1 && s->batch_sizes[1] == 8, "batch sizes");
    EXPECT(!strcmp(j.output, "out/sweep"), "output %s", j.output);
    job_free(&j);

    /* A missing list defaults to the run's own value. */
    const char *p = test_write_file(tmpdir, "sweep-default.yaml",
                                    "run: {model: m.h5, parallel: {dp: 2, tp: 2}, batch_size: 6}\n"
                                    "output: out\n" POPE "sweep: {layouts: [1x1x1]}\n");
    job_load(p, &j);
    EXPECT(j.sweep.n_layouts == 1 && j.sweep.n_batch_sizes == 1 && j.sweep.batch_sizes[0] == 6,
           "default batch list");
    job_free(&j);
    p = test_write_file(tmpdir, "sweep-default2.yaml",
                        "run: {model: m.h5, parallel: {dp: 2, tp: 2}}\n"
                        "output: out\n" POPE "sweep: {batch_sizes: [2, 4, 16]}\n");
    job_load(p, &j);
    EXPECT(j.sweep.n_layouts == 1 && j.sweep.layouts[0].dp == 2 && j.sweep.layouts[0].pp == 1 &&
               j.sweep.layouts[0].tp == 2 && j.sweep.n_batch_sizes == 3,
           "default layout list");
    job_free(&j);
}

static void test_errors(void) {
    expect_error("unknown.yaml", RUN POPE "outptu: x\n",
                 "%s:7: outptu: unknown key (expected one of run, output, model_id, generation, "
                 "data_root, benchmarks, sweep)");
    expect_error("norun.yaml", "output: out\n" POPE, "%s:1: run: missing required key");
    expect_error("nooutput.yaml", "run: {model: m.h5}\n" POPE,
                 "%s:1: output: missing required key");
    expect_error("nobench.yaml", RUN, "%s:1: benchmarks: missing required key");
    expect_error("emptybench.yaml", RUN "benchmarks: []\n", "%s:3: benchmarks: the list is empty");
    expect_error("benchmap.yaml", RUN "benchmarks: {kind: pope}\n",
                 "%s:3: benchmarks: expected a list, got a map");
    expect_error("benchitem.yaml", RUN "benchmarks:\n  - pope\n",
                 "%s:4: benchmarks[0]: expected a map, got \"pope\"");
    expect_error("kind.yaml", RUN "benchmarks:\n  - kind: pop\n    questions: q\n",
                 "%s:4: benchmarks[0].kind: unknown benchmark kind \"pop\" (expected one of "
                 "vqav2, gqa, vizwiz, textvqa, pope, mme, seed, sqa, mmbench, mmbench_cn, "
                 "llava_bench, mmvet)");
    expect_error("nokind.yaml", RUN "benchmarks:\n  - questions: q\n",
                 "%s:4: benchmarks[0].kind: missing required key");
    expect_error("benchkey.yaml", RUN POPE "    image_folder: x\n",
                 "%s:7: benchmarks[0].image_folder: unknown key (expected one of kind, name, "
                 "questions, images, annotations, batch_size, max_new_tokens, limit)");
    expect_error("noimages.yaml", RUN POPE "  - kind: gqa\n    questions: q.jsonl\n",
                 "%s:7: benchmarks[1].images: missing required key (kind gqa)");
    expect_error("noquestions.yaml", RUN "benchmarks:\n  - kind: mmbench\n",
                 "%s:4: benchmarks[0].questions: missing required key (kind mmbench)");
    expect_error("mmbenchimages.yaml",
                 RUN "benchmarks:\n  - kind: mmbench\n    questions: q.tsv\n    images: img\n",
                 "%s:6: benchmarks[0].images: not used by kind mmbench (see docs/benchmarks.md)");
    expect_error(
        "mmvetann.yaml",
        RUN "benchmarks:\n  - kind: mm-vet\n    questions: q\n    images: i\n"
            "    annotations: a\n",
        "%s:7: benchmarks[0].annotations: not used by kind mmvet (see docs/benchmarks.md)");
    expect_error("dupname.yaml", RUN POPE "  - kind: POPE\n    questions: q2\n    images: i\n",
                 "%s:7: benchmarks[1]: benchmark name \"pope\" is already used by benchmarks[0] "
                 "(give each a distinct 'name')");
    expect_error("badname.yaml", RUN POPE "    name: a/b\n",
                 "%s:7: benchmarks[0].name: \"a/b\" is not a usable name (letters, digits, '.', "
                 "'_', '-'; at most 64; output files are named after it)");
    expect_error("limit.yaml", RUN POPE "    limit: -5\n",
                 "%s:7: benchmarks[0].limit: expected a non-negative integer, got \"-5\"");
    expect_error("benchbatch.yaml", RUN POPE "    batch_size: 0\n",
                 "%s:7: benchmarks[0].batch_size: expected a positive integer, got \"0\"");
    expect_error("mnt.yaml", RUN POPE "    max_new_tokens: many\n",
                 "%s:7: benchmarks[0].max_new_tokens: expected a positive integer, got \"many\"");
    expect_error("topp.yaml", RUN POPE "generation: {top_p: 0}\n",
                 "%s:7: generation.top_p: must be > 0 (1.0 keeps every token)");
    expect_error("topp2.yaml", RUN POPE "generation: {top_p: 1.5}\n",
                 "%s:7: generation.top_p: expected a number in [0, 1], got \"1.5\"");
    expect_error("temp.yaml", RUN POPE "generation:\n  temperature: -0.1\n",
                 "%s:8: generation.temperature: expected a number in [0, 100], got \"-0.1\"");
    expect_error("temp2.yaml", RUN POPE "generation:\n  temperature: .nan\n",
                 "%s:8: generation.temperature: expected a number in [0, 100], got \".nan\"");
    expect_error("seed.yaml", RUN POPE "generation: {seed: -1}\n",
                 "%s:7: generation.seed: expected a non-negative 64-bit integer, got \"-1\"");
    expect_error("genkey.yaml", RUN POPE "generation: {greedy: true}\n",
                 "%s:7: generation.greedy: unknown key (expected one of temperature, top_p, seed)");
    expect_error("genlist.yaml", RUN POPE "generation: [0]\n",
                 "%s:7: generation: expected a map, got a list");
    expect_error("runlist.yaml", "run: [a]\noutput: o\n" POPE,
                 "%s:1: run: expected a run config file name or a map, got a list");
    expect_error("runmissing.yaml", "run: nothere.yaml\noutput: o\n" POPE,
                 "%s:1: run: cannot open %s/nothere.yaml: No such file or directory");
    expect_error("runinline.yaml", "run:\n  model: m.h5\n  parallel: {tp: 0}\noutput: o\n" POPE,
                 "%s:3: run.parallel.tp: expected a positive integer, got \"0\"");
    expect_error("runinline2.yaml", "run:\n  parallel: {tp: 2}\noutput: o\n" POPE,
                 "%s:1: run.model: missing required key");
    expect_error("runinline3.yaml", "run:\n  model: m.h5\n  thread: 2\noutput: o\n" POPE,
                 "%s:3: run.thread: unknown key (expected one of model, parallel, stages, "
                 "backend, threads, batch_size, micro_batches, dtype, nodes, watchdog_s)");
    expect_error("dupkey.yaml", RUN POPE "output: again\n",
                 "%s:7: output: duplicate key (first at line 2)");
    expect_error("modelid.yaml", RUN POPE "model_id: [x]\n",
                 "%s:7: model_id: expected a non-empty string, got a list");
    expect_error("sweepempty.yaml", RUN POPE "sweep: {}\n",
                 "%s:7: sweep: needs layouts, batch_sizes or both");
    expect_error(
        "sweeplayout.yaml", RUN POPE "sweep:\n  layouts: [1x1x1, 2x2]\n",
        "%s:8: sweep.layouts[1]: expected a layout DPxPPxTP such as \"2x1x4\", got \"2x2\"");
    expect_error("sweepdup.yaml", RUN POPE "sweep:\n  layouts: [1x1x1, 1x1x1]\n",
                 "%s:8: sweep.layouts[1]: layout 1x1x1 is listed twice");
    expect_error("sweepbatch.yaml", RUN POPE "sweep:\n  batch_sizes: [1, 0]\n",
                 "%s:8: sweep.batch_sizes[1]: expected a positive integer, got \"0\"");
    expect_error("sweepbatch2.yaml", RUN POPE "sweep:\n  batch_sizes: [4, 4]\n",
                 "%s:8: sweep.batch_sizes[1]: batch size 4 is listed twice");
    expect_error("sweepnolist.yaml", RUN POPE "sweep:\n  layouts: 1x1x1\n",
                 "%s:8: sweep.layouts: expected a list, got \"1x1x1\"");
    expect_error("sweepkey.yaml", RUN POPE "sweep:\n  nodes: [1]\n",
                 "%s:8: sweep.nodes: unknown key (expected one of layouts, batch_sizes)");
    expect_error("empty.yaml", "", "%s: empty file (a job needs run, output and benchmarks)");

    /* Errors inside a referenced run config name that file. */
    test_write_file(tmpdir, "badrun.yaml", "model: m.h5\nbatch_size: lots\n");
    char want[600];
    const char *p =
        test_write_file(tmpdir, "usesbadrun.yaml", "run: badrun.yaml\noutput: o\n" POPE);
    char err[4096];
    int status = test_child(load_job, p, err, sizeof err);
    snprintf(want, sizeof want,
             "hyperllava: error: %s/badrun.yaml:2: batch_size: expected a positive integer, got "
             "\"lots\"\n",
             tmpdir);
    EXPECT(status == 1 && !strcmp(err, want), "error in the run file:\n  got:  %s  want: %s", err,
           want);
}

int main(int argc, char **argv) {
    (void)argc;
    test_enter_root(argv[0], "tests/fixtures/yaml");
    test_tmpdir(tmpdir);
    test_suite();
    test_sweep();
    test_errors();
    test_rmdir(tmpdir);
    return test_done("test_job");
}
