/* compare_runs.h - two reproductions (two machines or two configurations) side by side. */
#ifndef APIBENCH_COMPARE_RUNS_H
#define APIBENCH_COMPARE_RUNS_H

#include <jansson.h>
#include <stdio.h>

/* Writes the comparison of summaries a and b (labelled name_a, name_b) as Markdown to out:
 * the environment differences, then one table of metric x build with A, B and B/A.
 * Returns 0, or -1 on a write error. */
int compare_md_write(const json_t *a, const char *name_a, const json_t *b, const char *name_b,
                     FILE *out);

#endif
