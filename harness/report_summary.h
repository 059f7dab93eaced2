/* report_summary.h - turns the raw files of a reproduction's results folder (the run JSON
 * of each measured load, /metrics and Postgres/Redis/CPU snapshots before and after it,
 * sweeps, plans; docs/RESULTS.md lists them) into summary.json: one figure per metric per
 * build. */
#ifndef APIBENCH_REPORT_SUMMARY_H
#define APIBENCH_REPORT_SUMMARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Relative difference allowed between the two counts of queries per request (the server's
 * counter and pg_stat_statements) before the report flags them as disagreeing. */
#define REPORT_QPR_TOLERANCE 0.02

/* Builds the summary of the results folder run_dir. Returns a new reference, or NULL with
 * err filled when run_dir is not a reproduction's folder (no run.info). Missing or broken
 * files of one build give nulls in that build's entry, not a failure. */
json_t *report_summary_build(const char *run_dir, char *err, size_t errlen);

/* True when the apibench-run result run held at p99 < slo_ms and the other default
 * criteria: capacity_run_holds (capacity.h), the one home of that decision. */
bool report_step_holds(const json_t *run, double slo_ms);

/* snprintf into the array buf; true when the whole text fitted (paths, mostly). */
#define REPORT_FMT_FITS(buf, ...) (snprintf((buf), sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

/* Looks up key in text made of `key=value` lines. Returns a pointer into a static buffer
 * holding the value (valid until the next call), or NULL when absent. */
const char *report_kv(const char *text, const char *key);
/* report_kv's value as a number; NAN when absent or not a number. */
double report_kv_num(const char *text, const char *key);

/* Sorts the n values of v in place and returns percentile p (0..100) by the rank rule of
 * hist_percentile_rank. NAN when n is 0. */
double report_percentile(double *v, size_t n, double p);

#endif
