/* `hyperllava bench --calibrate`: its options; the measurement is
 * run/calibrate.h. */
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "run/calibrate.h"
#include "util/check.h"
#include "util/dtype.h"

static const char *help =
    "usage: hyperllava bench --calibrate [--json FILE] [--threads N] [--dtype D]\n"
    "Measures this node's rates for `hyperllava plan --calibration FILE`, for one rank\n"
    "with every rank busy: the GEMM's GFLOP/s, the weight-streaming GB/s (also with\n"
    "rank 0 alone), attention (per FLOP, score and query row) and a block's row\n"
    "operations (per element and row); with two ranks or more the message latency\n"
    "and bandwidth between ranks 0 and 1.\n"
    "Start it as the run will be (mpirun -n WORLD / srun, same threads); takes ~10 s.\n"
    "  --json FILE   where to write the rates (default calibration.json)\n"
    "  --threads N   compute threads per rank (default 1)\n"
    "  --dtype D     weights held as f32, bf16 or f16 (default f32)\n"
    "  --seconds S   time spent on the GEMM rate, the streaming rate, all attention\n"
    "                shapes and all row-operation shapes each (default 1.5)\n"
    "  --backend B   cpu (default) or cuda: the rates of each rank's GPU\n";

int bench_calibrate(int argc, char **argv) {
    const char *json = "calibration.json", *dtype = "f32", *backend = "cpu";
    int threads = 1, calibrate = 0;
    double budget = 1.5;
    const Opt opts[] = {{"--calibrate", OPT_FLAG, &calibrate, 0, NULL},
                        {"--json", OPT_STR, &json, 0, NULL},
                        {"--threads", OPT_INT, &threads, 1, NULL},
                        {"--dtype", OPT_STR, &dtype, 0, NULL},
                        {"--seconds", OPT_REAL, &budget, 0, NULL},
                        {"--backend", OPT_STR, &backend, 0, NULL},
                        {0}};
    args_parse(&(ArgsCmd){.name = "bench --calibrate",
                          .help = help,
                          .unknown = "bench --calibrate: unknown argument '%s' (see --help)"},
               opts, argc, argv);
    Dtype dt;
    if (dtype_parse(dtype, &dt) != 0)
        hl_fail("bench --calibrate: --dtype expects f32, bf16 or f16, got '%s'", dtype);
    if (strcmp(backend, "cpu") && strcmp(backend, "cuda"))
        hl_fail("bench --calibrate: --backend expects cpu or cuda, got '%s'", backend);
    run_calibrate(&argc, &argv, json, threads, dt, budget, !strcmp(backend, "cuda"));
    return 0;
}
