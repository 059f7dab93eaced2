/* composition.h - a build assembled from flags instead of a variants/NN-name/main.c:
 * apibench-server picks one implementation per strategy by name, and every server binary
 * can say what its composition needs around it (indexes, schema, a worker). */
#ifndef APIBENCH_COMPOSITION_H
#define APIBENCH_COMPOSITION_H

#include <stddef.h>
#include <stdio.h>

#include "build.h"

/* Starts from the baseline's strategies and label "custom", then takes the strategy flags
 * (--connections, --queries, --cache, --encoder, --jobs, --build-label; "--flag V" or
 * "--flag=V") out of argv, leaving the other arguments in order for server_main. Returns
 * 0, or -1 with a one-line message in err (an unknown value lists the known ones). */
int composition_from_args(struct build *b, int *argc, char **argv, char *err, size_t errlen);

/* Prints the strategy flags and their values, for --help. */
void composition_print_help(FILE *out);

/* Prints what running build b needs, one line each, for scripts (server --needs):
 *   indexes create|drop     optimised queries need their indexes; naive ones are measured
 *                           without any of the build indexes
 *   schema FILE             the jobs strategy's tables
 *   worker                  apibench-worker must run
 *   composition connections=... queries=... cache=... encoder=... jobs=...           */
void build_print_needs(const struct build *b, FILE *out);

#endif
