/* report_network.h - the report's "Network profile" part: under which link profile the
 * builds were measured (run.info's network_* keys, written by scripts/lib/network.sh),
 * how it was emulated, and per build the response time, the headline's transfer time and
 * the bytes on the wire, with the link's use at each load. */
#ifndef APIBENCH_REPORT_NETWORK_H
#define APIBENCH_REPORT_NETWORK_H

#include <jansson.h>
#include <stdio.h>

/* summary.json's "network" object for the results folder run_dir, whose run.info text is
 * info and whose builds (summary "builds" entries) are builds (new reference). A run
 * from before profiles existed reads as loopback. */
json_t *report_network_summary(const char *run_dir, const char *info, const json_t *builds);

/* Writes the "Network profile" section for summary's "network" object (nothing for
 * loopback). Returns 0, or -1 on a write error. */
int report_network_write(const json_t *summary, FILE *out);

#endif
