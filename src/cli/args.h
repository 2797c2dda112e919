/* Small helpers for the commands' option parsing. */
#ifndef HL_ARGS_H
#define HL_ARGS_H

/* argv[*i] is an option taking a value: returns argv[++*i] or fails with
 * "<cmd>: <option> needs a value". */
const char *arg_value(const char *cmd, int argc, char **argv, int *i);
int arg_int(const char *cmd, const char *opt, const char *s, int min);
double arg_real(const char *cmd, const char *opt, const char *s);
int arg_is_help(const char *s);

#endif
