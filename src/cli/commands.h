/* The subcommands of bin/hyperllava. Each takes the arguments after its
 * name (argv[0] is the command name) and returns the process exit status. */
#ifndef HL_COMMANDS_H
#define HL_COMMANDS_H

int cmd_generate(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* bench --calibrate (cli/calibrate.c) */
int bench_calibrate(int argc, char **argv);
int cmd_compare(int argc, char **argv);

#endif
