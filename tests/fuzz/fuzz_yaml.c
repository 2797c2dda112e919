/* Fuzz target: the YAML readers. Each input is read as a run config and as a
 * job (run map, generation, benchmarks, sweep), and a run config that parses
 * is checked against a model's shape as plan and eval do. */
#include "fuzz.h"
#include "run/config.h"
#include "run/job.h"
#include "../unit/shape_7b.h"

static void run_config(const char *path) {
    RunConfig c;
    run_config_load(path, &c);
    ModelShape m = shape_7b();
    m.vision_cost = 1.4;
    free(run_config_check_layout(&c, &m, 0));
    run_config_free(&c);
}

static void job(const char *path) {
    Job j;
    job_load(path, &j);
    job_free(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size, ".yaml");
    FUZZ_TRY(run_config(path));
    FUZZ_TRY(job(path));
    return 0;
}
