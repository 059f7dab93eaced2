/* compare_runs.h - two reproductions (two machines or two configurations) side by side. */
#ifndef APIBENCH_COMPARE_RUNS_H
#define APIBENCH_COMPARE_RUNS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* How many of the keys that make two runs comparable (run.scale, seed, mix, mode, quick)
 * differ between summaries a and b; buf gets them as "scale (A 1, B 10); ...". */
int compare_unlike(const json_t *a, const json_t *b, char *buf, size_t len);

/* Writes the comparison of summaries a and b (labelled name_a, name_b) as Markdown to out:
 * the differences that make them unlike (when forced), the environment differences, then
 * one table of metric x build (capacity, figures at 167 req/s) with A, B and B/A.
 * Returns 0, or -1 on a write error. */
int compare_md_write(const json_t *a, const char *name_a, const json_t *b, const char *name_b,
                     FILE *out);

#endif
