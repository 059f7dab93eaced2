/* cliopt.h - one command-line option with a value, for the CLIs that parse by hand. */
#ifndef APIBENCH_CLIOPT_H
#define APIBENCH_CLIOPT_H

#include <stdbool.h>

/* "--name V" or "--name=V" at argv[*i]: returns the value (a pointer into argv) and
 * advances *i past it, or NULL when argv[*i] is not this option. Sets *missing when it is
 * but the value is absent. */
const char *cliopt_value(int argc, char **argv, int *i, const char *name, bool *missing);

#endif
