/* merge.h - `apibench merge OUT RUN...`: several runs (the segments of one load, or one
 * generator per server instance) combined into one run result, as if one generator had
 * sent all of their requests (docs/SEGMENTS.md).
 *
 * Histograms are added exactly from the runs' .hlog files (the layouts must agree);
 * counters, bytes, status classes and errors are summed; min, max, mean and standard
 * deviation are combined exactly from the runs' JSON; rates are over the union of the
 * measured windows (earliest start to latest end). */
#ifndef APIBENCH_MERGE_H
#define APIBENCH_MERGE_H

#include <stddef.h>
#include <stdio.h>

/* Merges the runs (each DIR/NAME as given to `apibench run --out`, a trailing ".json"
 * allowed) into out.json, out.*.hgrm and out.*.hlog. Notes that do not stop the merge
 * (segments missing or given twice) go to warn (NULL: none). Returns 0, or -1 with a
 * one-line reason in err: a run's file missing or malformed, or histogram configurations
 * that differ (nothing is written then). */
int merge_runs(const char *out, char *const *runs, int nruns, FILE *warn, char *err,
               size_t errlen);

#endif
