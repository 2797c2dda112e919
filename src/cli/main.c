/* bin/hyperllava: one binary, a subcommand per task. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} Command;

static const Command commands[] = {
    {"generate", cmd_generate, "answer questions about images (one or many, any layout)"},
    {"inspect", cmd_inspect, "print a weight file's config and tensor table"},
    {"eval", cmd_eval, "run a benchmark suite job: answers, scores, metrics"},
    {"score", cmd_score, "score a job's answers files as the official scripts do"},
    {"compare", cmd_compare, "compare two runs: score differences with CIs, McNemar, changes"},
    {"bench", cmd_bench, "measure throughput on synthetic POPE-shaped and decode work"},
    {"plan", cmd_plan, "validate a run config or job and print its rank grid"},
    {"tokenize", cmd_tokenize, "print a prompt's token ids, as generate feeds them"},
    {"preprocess", cmd_preprocess, "write an image's pixel tensor (.npy) and its SHA-256"},
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: hyperllava <command> [options]   (hyperllava <command> --help)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("hyperllava %s\n", HL_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hyperllava: error: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
