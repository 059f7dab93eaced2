/* report_instances.h - the report's "capacity against K": 04-pool and 06-async with 1, 2,
 * ..., K instances behind the nginx balancer of scripts/reproduce --instances K, and the
 * cache invalidations that crossed instances meanwhile (scripts/lib/instances.sh writes
 * the raw files under scaling/BUILD/kK/). */
#ifndef APIBENCH_REPORT_INSTANCES_H
#define APIBENCH_REPORT_INSTANCES_H

#include <jansson.h>
#include <stdio.h>

/* The "scaling" block of summary.json from run_dir and its run.info text (info):
 * {"balancer", "builds": [{"build", "points": [{"k", "status", "capacity": {lower, upper,
 * limited_by, probes}, "invalidations": {sent, received, received_per_s}, "window_s",
 * "balancer_cpu_pct"}]}]}. Returns a new reference; JSON null when the run had no
 * --instances K > 1 (run.info has no scaling_builds). Missing files give nulls. */
json_t *report_instances_block(const char *run_dir, const char *info);

/* Writes the section of report.md for summary's "scaling" block; nothing when it is
 * null. */
void report_instances_md(FILE *out, const json_t *summary);

#endif
