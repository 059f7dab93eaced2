/* report_md.h - report.md of a reproduction, from its summary.json. */
#ifndef APIBENCH_REPORT_MD_H
#define APIBENCH_REPORT_MD_H

#include <jansson.h>
#include <stdio.h>

/* Writes the Markdown report of summary (report_summary_build's output) to out. Plots are
 * linked relative to the results folder (plots/NAME.png). Returns 0, or -1 on a write error. */
int report_md_write(const json_t *summary, FILE *out);

/* Formats x as the report's tables do (fixed decimals per kind, "n/a" for null), into a
 * small rotating static buffer: valid until 32 more calls. kind: 'm' milliseconds (1 dp),
 * 'q' per-request counts (2 dp), 'p' a 0..1 fraction as a percentage (1 dp), 'c' a
 * percentage already (2 dp), 'r' a rate (2 dp), 'b' bytes (0 dp). */
const char *report_fmt(const json_t *x, char kind);

/* The value at a dotted path in obj ("latency_ms.p99"), or NULL. Borrowed reference. */
json_t *report_path(const json_t *obj, const char *path);

/* The first object of array whose string member key equals value, or NULL. Borrowed. */
const json_t *report_find(const json_t *array, const char *key, const char *value);

#endif
