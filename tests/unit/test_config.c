/* Run config: valid files parse to the expected values; every error class is
 * one line naming the file, the line and the key (checked in a forked child,
 * since hl_fail exits); layout checks; stage split and rank numbering. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/config.h"
#include "shape_7b.h"
#include "test.h"
#include "util/path.h"

static char tmpdir[] = "/tmp/hl-test-config-XXXXXX";

static void load_config(const char *path) {
    RunConfig c;
    run_config_load(path, &c);
    run_config_free(&c);
}

/* The file text must fail with exactly "hyperllava: error: <want>" where
 * every %s in want is the file's path. */
static void expect_error(const char *name, const char *text, const char *want_fmt) {
    const char *path = test_write_file(tmpdir, name, text);
    char want[1024], line[1200];
    snprintf(want, sizeof want, want_fmt, path, path);
    snprintf(line, sizeof line, "hyperllava: error: %s\n", want);
    char err[4096];
    int status = test_child(load_config, path, err, sizeof err);
    EXPECT(status == 1, "%s: exit status %d, stderr: %s", name, status, err);
    EXPECT(!strcmp(err, line), "%s:\n  got:  %s  want: %s", name, err, line);
}

static void test_valid(void) {
    RunConfig c;
    run_config_load("tests/fixtures/yaml/run-full.yaml", &c);
    EXPECT(!strcmp(c.path, "tests/fixtures/yaml/run-full.yaml"), "path %s", c.path);
    EXPECT(!strcmp(c.model, "tests/fixtures/models/all/model.h5"), "model %s", c.model);
    EXPECT(c.dp == 2 && c.pp == 2 && c.tp == 2, "layout %d %d %d", c.dp, c.pp, c.tp);
    EXPECT(c.n_stage_blocks == 2 && c.stage_blocks[0] == 3 && c.stage_blocks[1] == 1, "stages %d",
           c.n_stage_blocks);
    EXPECT(!strcmp(c.backend, "cpu") && !strcmp(c.dtype, "f32"), "%s %s", c.backend, c.dtype);
    EXPECT(c.threads == 4 && c.batch_size == 8 && c.micro_batches == 4 && c.nodes == 2,
           "threads %d batch %d micro %d nodes %d", c.threads, c.batch_size, c.micro_batches,
           c.nodes);
    EXPECT(c.watchdog_s == 30, "watchdog_s %d", c.watchdog_s);
    RunConfig copy;
    run_config_copy(&copy, &c);
    run_config_free(&c);
    EXPECT(copy.stage_blocks[0] == 3 && !strcmp(copy.model, "tests/fixtures/models/all/model.h5"),
           "copy");
    run_config_free(&copy);

    run_config_load("tests/fixtures/yaml/run-minimal.yaml", &c);
    EXPECT(!strcmp(c.model, "/data/models/llava-v1.5-7b.h5"), "absolute model %s", c.model);
    EXPECT(c.dp == 1 && c.pp == 1 && c.tp == 1 && !c.stage_blocks, "default layout");
    EXPECT(c.threads == 1 && c.batch_size == 1 && c.micro_batches == 1 && c.nodes == 0, "defaults");
    EXPECT(c.watchdog_s == RUN_WATCHDOG_S && RUN_WATCHDOG_S == 600, "default watchdog_s %d",
           c.watchdog_s);
    EXPECT(!strcmp(c.backend, "cpu") && !strcmp(c.dtype, "f32"), "default backend");
    run_config_free(&c);

    /* cuda with a reduced dtype, flow style, env expansion, quoted model name. */
    setenv("HL_TEST_MODELS", "/models", 1);
    unsetenv("HL_TEST_UNSET");
    const char *p = test_write_file(tmpdir, "cuda.yaml",
                                    "model: \"${HL_TEST_MODELS}/${HL_TEST_UNSET:-x}.h5\"\n"
                                    "backend: cuda\ndtype: bf16\n"
                                    "parallel: {tp: 4}\nbatch_size: 32\n");
    run_config_load(p, &c);
    EXPECT(!strcmp(c.model, "/models/x.h5"), "expanded %s", c.model);
    EXPECT(!strcmp(c.backend, "cuda") && !strcmp(c.dtype, "bf16"), "%s %s", c.backend, c.dtype);
    EXPECT(c.dp == 1 && c.pp == 1 && c.tp == 4 && c.batch_size == 32, "cuda layout");
    run_config_free(&c);

    p = test_write_file(tmpdir, "rel.yaml", "model: weights/m.h5\n");
    run_config_load(p, &c);
    char want[512];
    snprintf(want, sizeof want, "%s/weights/m.h5", tmpdir);
    EXPECT(!strcmp(c.model, want), "relative to the file's folder: %s", c.model);
    run_config_free(&c);
}

static void expect_join(const char *dir, const char *p, const char *want) {
    char *got = path_resolve(dir, p);
    EXPECT(!strcmp(got, want), "join(%s, %s) = %s, want %s", dir, p, got, want);
    free(got);
}

static void test_paths(void) {
    char real[600], link[600], want[700];
    snprintf(real, sizeof real, "%s/real", tmpdir);
    snprintf(link, sizeof link, "%s/link", tmpdir);
    snprintf(want, sizeof want, "%s/real/sub", tmpdir);
    if (mkdir(real, 0755) || mkdir(want, 0755) || symlink(want, link)) perror("setup");
    expect_join(".", "a/./b//c", "a/b/c");
    expect_join(".", "./x.h5", "x.h5");
    expect_join("/", "x", "/x");
    expect_join("../..", "x", "../../x");
    expect_join("tests/fixtures/yaml", "../models/m.h5", "tests/fixtures/models/m.h5");
    expect_join("tests/fixtures/yaml", "../../../..", "..");
    expect_join("no-such-dir", "../x", "no-such-dir/../x");
    expect_join("configs", "/abs/../x.h5", "/abs/../x.h5");
    snprintf(want, sizeof want, "%s/m.h5", tmpdir);
    expect_join(real, "../m.h5", want);
    /* Through a symbolic link ".." is the target's parent: left to the kernel. */
    snprintf(want, sizeof want, "%s/../m.h5", link);
    expect_join(link, "../m.h5", want);
}

static void test_errors(void) {
    expect_error("unknown.yaml", "model: m.h5\nmodle: x\n",
                 "%s:2: modle: unknown key (expected one of model, parallel, stages, backend, "
                 "threads, batch_size, micro_batches, dtype, nodes, watchdog_s)");
    expect_error("unknown2.yaml", "model: m.h5\nparallel:\n  dp: 1\n  xp: 2\n",
                 "%s:4: parallel.xp: unknown key (expected one of dp, pp, tp)");
    expect_error("bad.yaml", "model: m.h5\nparallel:\n  dp: 1\n  tp: two\n",
                 "%s:4: parallel.tp: expected a positive integer, got \"two\"");
    expect_error("negative.yaml", "model: m.h5\nthreads: -1\n",
                 "%s:2: threads: expected a positive integer, got \"-1\"");
    expect_error("zero.yaml", "model: m.h5\nbatch_size: 0\n",
                 "%s:2: batch_size: expected a positive integer, got \"0\"");
    expect_error("float.yaml", "model: m.h5\nbatch_size: 8.0\n",
                 "%s:2: batch_size: expected a positive integer, got \"8.0\"");
    expect_error("quoted.yaml", "model: m.h5\nparallel: {pp: \"2\"}\n",
                 "%s:2: parallel.pp: expected a positive integer, got \"2\" (quoted, so a string)");
    expect_error("watchdog.yaml", "model: m.h5\nwatchdog_s: -5\n",
                 "%s:2: watchdog_s: expected an integer in [0, 604800], got \"-5\"");
    expect_error("watchdog2.yaml", "model: m.h5\nwatchdog_s: 1.5\n",
                 "%s:2: watchdog_s: expected an integer in [0, 604800], got \"1.5\"");
    expect_error("null.yaml", "model: m.h5\nthreads:\n",
                 "%s:2: threads: expected a positive integer, got null");
    expect_error(
        "huge.yaml", "model: m.h5\nthreads: 99999999999999999999999\n",
        "%s:2: threads: expected a positive integer, got \"99999999999999999999999\" (too large)");
    expect_error("large.yaml", "model: m.h5\nparallel: {dp: 2000000}\n",
                 "%s:2: parallel.dp: 2000000 is too large (at most 1048576)");
    expect_error("listmap.yaml", "model: m.h5\nparallel:\n  - 1\n  - 2\n",
                 "%s:2: parallel: expected a map, got a list");
    expect_error("mapstr.yaml", "model: {file: m.h5}\n",
                 "%s:1: model: expected a non-empty string, got a map");
    expect_error("emptystr.yaml", "model: \"\"\n",
                 "%s:1: model: expected a non-empty string, got an empty string");
    expect_error("dup.yaml", "model: m.h5\nbatch_size: 4\nthreads: 2\nbatch_size: 8\n",
                 "%s:4: batch_size: duplicate key (first at line 2)");
    expect_error("dupnested.yaml", "model: m.h5\nparallel: {tp: 1, tp: 2}\n",
                 "%s:2: parallel.tp: duplicate key (first at line 2)");
    expect_error("missing.yaml", "# no model here\nparallel: {tp: 2}\nthreads: 2\n",
                 "%s:2: model: missing required key");
    expect_error("syntax.yaml", "model: m.h5\nparallel: {dp: 1, tp: 2\nthreads: 2\n",
                 "%s:3:8: YAML syntax error: did not find expected ',' or '}' (while parsing a "
                 "flow mapping, line 2)");
    expect_error("syntax2.yaml", "model: m.h5\n  threads: 2\n",
                 "%s:2:10: YAML syntax error: mapping values are not allowed in this context");
    expect_error("backend.yaml", "model: m.h5\nbackend: gpu\n",
                 "%s:2: backend: expected cpu or cuda, got \"gpu\"");
    expect_error("dtype.yaml", "model: m.h5\nbackend: cuda\ndtype: f64\n",
                 "%s:3: dtype: expected f32, bf16 or f16, got \"f64\"");
    expect_error("micro.yaml", "model: m.h5\nbatch_size: 4\nmicro_batches: 8\n",
                 "%s:3: micro_batches: 8 micro-batches but batch_size is 4");
    expect_error("stageslen.yaml", "model: m.h5\nparallel: {pp: 2}\nstages: [1, 2, 1]\n",
                 "%s:3: stages: 3 entries but parallel.pp is 2");
    expect_error("stageszero.yaml", "model: m.h5\nparallel: {pp: 2}\nstages: [4, 0]\n",
                 "%s:3: stages[1]: expected a positive integer, got \"0\"");
    expect_error("stagesmap.yaml", "model: m.h5\nstages: {a: 1}\n",
                 "%s:2: stages: expected a list, got a map");
    expect_error("env.yaml", "model: ${HL_TEST_UNSET}/m.h5\n",
                 "%s:1: model: environment variable HL_TEST_UNSET is not set");
    expect_error("envterm.yaml", "model: ${HL_TEST_UNSET/m.h5\n",
                 "%s:1: model: unterminated ${ in \"${HL_TEST_UNSET/m.h5\"");
    expect_error("empty.yaml", "# nothing\n",
                 "%s: empty file (a run config needs at least 'model')");
    expect_error("toplist.yaml", "- model: m.h5\n",
                 "%s:1: expected a map at the top level, got a list");
    expect_error("alias.yaml", "model: &m m.h5\nbackend: *m\n",
                 "%s:2: backend: YAML aliases (*name) are not supported");
    expect_error("twodocs.yaml", "model: m.h5\n---\nmodel: n.h5\n",
                 "%s:2: only one YAML document is allowed per file");
    expect_error("tag.yaml", "model: m.h5\nthreads: !!int 2\n",
                 "%s:2: threads: YAML tags other than !!str are not supported");

    char missing[600], err[4096];
    snprintf(missing, sizeof missing, "%s/does-not-exist.yaml", tmpdir);
    int status = test_child(load_config, missing, err, sizeof err);
    EXPECT(status == 1 && strstr(err, "does-not-exist.yaml: No such file or directory\n"),
           "missing file: %d %s", status, err);
}

static char *check(const RunConfig *c, const ModelShape *m, int world) {
    return run_config_check_layout(c, m, world);
}

static void expect_layout(const RunConfig *c, const ModelShape *m, int world, const char *want) {
    char *msg = check(c, m, world);
    EXPECT(msg && !strcmp(msg, want), "layout:\n  got:  %s\n  want: %s", msg ? msg : "(ok)", want);
    free(msg);
}

static void test_layout(void) {
    ModelShape m = shape_7b();
    RunConfig c;
    run_config_defaults(&c);
    c.path = hl_strdup("configs/x.yaml");
    c.model = hl_strdup("m.h5");
    c.pp = 2, c.tp = 2;
    char *ok = check(&c, &m, 4);
    EXPECT(!ok, "valid layout refused: %s", ok);
    free(ok);
    ok = check(&c, &m, 0);
    EXPECT(!ok, "world 0 must skip the world check: %s", ok);
    free(ok);
    expect_layout(&c, &m, 3, "configs/x.yaml: parallel: world size 3 != dp*pp*tp = 4");

    c.pp = 1, c.tp = 3;
    expect_layout(&c, &m, 3,
                  "configs/x.yaml: parallel.tp: vision heads 16 is not divisible by tp = 3");
    ModelShape m2 = m;
    m2.vision_heads = 12;
    expect_layout(&c, &m2, 0,
                  "configs/x.yaml: parallel.tp: LLM heads 32 is not divisible by tp = 3");
    m2 = m;
    c.tp = 8;
    m2.vision_intermediate = 4100;
    expect_layout(
        &c, &m2, 0,
        "configs/x.yaml: parallel.tp: vision intermediate size 4100 is not divisible by tp = 8");
    m2 = m;
    m2.intermediate = 11004;
    expect_layout(
        &c, &m2, 0,
        "configs/x.yaml: parallel.tp: LLM intermediate size 11004 is not divisible by tp = 8");
    m2 = m;
    m2.vocab = 32001;
    expect_layout(&c, &m2, 0,
                  "configs/x.yaml: parallel.tp: vocab 32001 is not divisible by tp = 8");
    char *none = check(&c, NULL, 8);
    EXPECT(!none, "m == NULL must skip the model checks: %s", none);
    free(none);

    c.tp = 1, c.pp = 33;
    expect_layout(&c, &m, 0,
                  "configs/x.yaml: parallel.pp: 33 pipeline stages but the model has 32 blocks");
    c.pp = 2;
    c.stage_blocks = hl_malloc(2 * sizeof(int));
    c.n_stage_blocks = 2;
    c.stage_blocks[0] = 20, c.stage_blocks[1] = 10;
    expect_layout(&c, &m, 0, "configs/x.yaml: stages: blocks add up to 30 but the model has 32");
    c.stage_blocks[1] = 12;
    ok = check(&c, &m, 2);
    EXPECT(!ok, "stages 20+12: %s", ok);
    free(ok);
    c.stage_blocks[1] = 0;
    expect_layout(&c, &m, 0, "configs/x.yaml: stages[1]: a stage needs at least one block, got 0");
    c.stage_blocks[1] = 12;
    c.pp = 4; /* as after an override that forgot to drop the list */
    expect_layout(&c, &m, 0, "configs/x.yaml: stages: 2 entries but parallel.pp is 4");
    c.pp = 2;

    c.micro_batches = 2;
    expect_layout(&c, &m, 0, "configs/x.yaml: micro_batches: 2 is not in [1, batch_size = 1]");
    c.micro_batches = 1;
    snprintf(c.backend, sizeof c.backend, "tpu");
    expect_layout(&c, &m, 0, "configs/x.yaml: backend: expected cpu or cuda, got \"tpu\"");
    snprintf(c.backend, sizeof c.backend, "cpu");
    /* the cpu backend holds weights in f16 or bf16 and computes in f32 */
    snprintf(c.dtype, sizeof c.dtype, "f16");
    char *ok16 = check(&c, &m, 0);
    EXPECT(ok16 == NULL, "dtype f16 on cpu refused: %s", ok16);
    free(ok16);
    snprintf(c.dtype, sizeof c.dtype, "i8");
    expect_layout(&c, &m, 0, "configs/x.yaml: dtype: expected f32, bf16 or f16, got \"i8\"");
    snprintf(c.dtype, sizeof c.dtype, "f32");
    c.nodes = 3;
    expect_layout(&c, &m, 0, "configs/x.yaml: nodes: world size 2 is not a multiple of 3 nodes");
    c.nodes = 2;
    ok = check(&c, &m, 2);
    EXPECT(!ok, "nodes 2: %s", ok);
    free(ok);
    run_config_free(&c);
}

static void test_stages_and_ranks(void) {
    RunConfig c;
    run_config_defaults(&c);
    int counts[8];
    c.pp = 2;
    run_config_stage_blocks(&c, 5, counts);
    EXPECT(counts[0] == 3 && counts[1] == 2, "5 over 2: %d %d", counts[0], counts[1]);
    c.pp = 3;
    run_config_stage_blocks(&c, 32, counts);
    EXPECT(counts[0] == 11 && counts[1] == 11 && counts[2] == 10, "32 over 3: %d %d %d", counts[0],
           counts[1], counts[2]);
    c.pp = 4;
    run_config_stage_blocks(&c, 4, counts);
    EXPECT(counts[0] == 1 && counts[3] == 1, "4 over 4");

    c.dp = 2, c.pp = 3, c.tp = 4;
    int r = 0, bad = 0;
    for (int d = 0; d < 2; d++)
        for (int p = 0; p < 3; p++)
            for (int t = 0; t < 4; t++, r++) {
                int d2, p2, t2;
                run_rank_coords(&c, r, &d2, &p2, &t2);
                bad += d2 != d || p2 != p || t2 != t || run_rank_of(&c, d, p, t) != r;
            }
    EXPECT(!bad && r == 24, "rank numbering: %d mismatches", bad);

    RunLayout l;
    EXPECT(run_layout_parse("2x1x4", &l) && l.dp == 2 && l.pp == 1 && l.tp == 4, "2x1x4");
    EXPECT(run_layout_parse("16x10x8", &l) && l.dp == 16 && l.pp == 10 && l.tp == 8, "16x10x8");
    const char *bad_layouts[] = {"2x1", "0x1x1",  "2x1x4x", "axbxc",  "2X1X4",
                                 "",    "1x1x-1", " 1x1x1", "1x1x1 ", "1x2000000x1"};
    for (size_t i = 0; i < sizeof bad_layouts / sizeof bad_layouts[0]; i++)
        EXPECT(!run_layout_parse(bad_layouts[i], &l), "accepted '%s'", bad_layouts[i]);

    run_config_free(&c);
    run_config_load("tests/fixtures/yaml/run-full.yaml", &c);
    run_config_set_layout(&c, (RunLayout){4, 2, 1});
    EXPECT(c.stage_blocks && c.dp == 4 && c.pp == 2 && c.tp == 1, "same pp keeps stages");
    EXPECT(c.nodes == 2, "same world keeps nodes");
    run_config_set_layout(&c, (RunLayout){1, 4, 1});
    EXPECT(!c.stage_blocks && !c.n_stage_blocks && c.pp == 4, "new pp drops stages");
    EXPECT(c.nodes == 0, "new world drops nodes");
    run_config_set_batch_size(&c, 2);
    EXPECT(c.batch_size == 2 && c.micro_batches == 2, "micro clamped: %d", c.micro_batches);
    run_config_set_batch_size(&c, 16);
    EXPECT(c.batch_size == 16 && c.micro_batches == 2, "micro kept: %d", c.micro_batches);
    run_config_free(&c);
}

static void test_model_shape(void) {
    const char *path = "tests/fixtures/models/all/model.h5";
    if (access(path, R_OK)) {
        printf("note: %s not present, model shape reading not tested\n", path);
        return;
    }
    ModelShape m;
    run_model_shape_load(path, &m);
    EXPECT(m.layers == 4 && m.heads == 6 && m.hidden == 36 && m.intermediate == 44 &&
               m.vocab == 400 && m.vision_heads == 6 && m.vision_hidden == 24 &&
               m.vision_intermediate == 40 && m.guide_layer == 2,
           "shape %d %d %d %d %d %d %d %d %d", m.layers, m.heads, m.hidden, m.intermediate, m.vocab,
           m.vision_heads, m.vision_hidden, m.vision_intermediate, m.guide_layer);
}

int main(int argc, char **argv) {
    (void)argc;
    test_enter_root(argv[0], "tests/fixtures/yaml");
    test_tmpdir(tmpdir);
    test_valid();
    test_paths();
    test_errors();
    test_layout();
    test_stages_and_ranks();
    test_model_shape();
    test_rmdir(tmpdir);
    return test_done("test_config");
}
