/* report_prom.h - reads the Prometheus text format of a /metrics scrape, for the report.
 * Only what the report needs: the sum of the series of one metric that carry given labels. */
#ifndef APIBENCH_REPORT_PROM_H
#define APIBENCH_REPORT_PROM_H

#include <stdbool.h>

/* Sums, over every sample line of text named name whose labels include every pair of
 * want (a label set written as in the format, without braces: `level="l1",result="hit"`;
 * NULL or "" matches any series), the sample values into *sum. Several scrapes may be
 * concatenated in text (one per instance): their series add up. Returns the number of
 * matching lines (0 leaves *sum at 0). Comment lines and malformed lines are skipped. */
int report_prom_sum(const char *text, const char *name, const char *want, double *sum);

/* Like report_prom_sum, but skips series whose label exclude_label has one of the values in
 * the NULL-terminated list exclude_values (e.g. route="metrics"). */
int report_prom_sum_except(const char *text, const char *name, const char *exclude_label,
                           const char *const *exclude_values, double *sum);

#endif
