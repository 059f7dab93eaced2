/* hist.h - latency histograms with HdrHistogram's layout: values in microseconds from
 * 1 us to HIST_MAX_US (one hour), 3 significant decimal digits. Values are counted in
 * buckets of 2048 sub-buckets each (the first bucket uses all of them, later ones their
 * upper half), each bucket twice as wide as the one before, so a recorded value is known
 * within 1/1024 of itself at any magnitude. Each load-generator thread owns its
 * histograms and they are merged after the threads join; nothing here locks. */
#ifndef APIBENCH_HIST_H
#define APIBENCH_HIST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define HIST_MAX_US (3600LL * 1000 * 1000) /* highest trackable value: one hour */
#define HIST_SIGNIFICANT_DIGITS 3

struct hist;

/* A new empty histogram (about 190 KB). Aborts on out-of-memory; free with hist_free. */
struct hist *hist_new(void);

/* Frees h. Accepts NULL. */
void hist_free(struct hist *h);

/* Empties h. */
void hist_reset(struct hist *h);

/* Counts one value (microseconds). Negative values are counted as 0 and values above
 * HIST_MAX_US as HIST_MAX_US (min/max/mean keep the clamped value); returns -1 when it
 * had to clamp, 0 otherwise. */
int hist_record(struct hist *h, int64_t value_us);

/* Adds every count of src to dst (both built by hist_new, so they share the layout). */
void hist_merge(struct hist *dst, const struct hist *src);

/* Number of values recorded. */
int64_t hist_count(const struct hist *h);

/* Smallest and largest recorded values (exact, not bucketed); 0 when empty. */
int64_t hist_min(const struct hist *h);
int64_t hist_max(const struct hist *h);

/* Mean and standard deviation of the recorded values (exact sums); 0 when empty. */
double hist_mean(const struct hist *h);
double hist_stdev(const struct hist *h);

/* The rank (1..count) of the value that stands for `percentile` (0..100) among count
 * values: percentile/100 * count rounded half up, at least 1, at most count. This is
 * HdrHistogram's rule and the one percentile definition of apibench (docs/RESULTS.md):
 * with 60 values p99 is rank 59, the second largest; p99 is the largest value only while
 * count < 50. 0 when count is 0. */
int64_t hist_percentile_rank(double percentile, int64_t count);

/* The value below or at which `percentile` percent (0..100) of the recorded values lie:
 * the highest value equivalent to the bucket holding the value of rank
 * hist_percentile_rank (as HdrHistogram reports it), capped at hist_max. 0 when empty. */
int64_t hist_value_at_percentile(const struct hist *h, double percentile);

/* Writes h's percentile spectrum in HdrHistogram's classic text (.hgrm) format, values
 * divided by scale (1000.0 gives milliseconds from microseconds), 5 ticks per half
 * distance to 100%, then the Mean/Max/Buckets footer. Returns 0, or -1 on a write error. */
int hist_write_hgrm(const struct hist *h, FILE *out, double scale);

/* The layout's bucket and sub-bucket counts (what the .hgrm footer states). */
int hist_bucket_count(void);
int hist_sub_bucket_count(void);

/* True when a and b are known to be the same value at this precision. */
bool hist_values_equivalent(int64_t a, int64_t b);

/* The highest value equivalent to v (the top of v's sub-bucket). */
int64_t hist_highest_equivalent(int64_t v);

/* The counts array, in HdrHistogram's order (what .hlog files encode): its length, the
 * index a value is counted at, the lowest value counted at an index, and the count there. */
int hist_counts_len(void);
int hist_index_of(int64_t v);
int64_t hist_value_at_index(int index);
int64_t hist_count_at(const struct hist *h, int index);

/* Adds count values at counts index `index` (0 <= index < hist_counts_len(), count >= 0)
 * as if each were the index's middle value: counts are exact, min/max are the index's
 * lowest/highest values, and mean/stdev are within the layout's precision (this is how
 * histograms decoded from a log are rebuilt). */
void hist_add_at(struct hist *h, int index, int64_t count);

#endif
