/* hist.c - HdrHistogram-layout histogram (see hist.h), written from the layout's
 * published description. Lowest discernible value 1 us, so the unit magnitude is 0. */
#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/strbuf.h"

/* 3 significant digits need 2 * 10^3 distinct sub-buckets: rounded up to 2^11. */
#define SUB_BUCKET_COUNT_MAGNITUDE 11
#define SUB_BUCKET_COUNT (1 << SUB_BUCKET_COUNT_MAGNITUDE)
#define SUB_BUCKET_HALF_COUNT_MAGNITUDE (SUB_BUCKET_COUNT_MAGNITUDE - 1)
#define SUB_BUCKET_HALF_COUNT (1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE)
#define SUB_BUCKET_MASK ((int64_t)SUB_BUCKET_COUNT - 1)
/* Buckets until 2048 << (n - 1) exceeds one hour in microseconds: 2048 << 21 > 3.6e9. */
#define BUCKET_COUNT 22
#define COUNTS_LEN ((BUCKET_COUNT + 1) * SUB_BUCKET_HALF_COUNT)

struct hist {
    int64_t total;
    int64_t min;
    int64_t max;
    double mean; /* running mean and sum of squared deviations (Welford), mergeable */
    double m2;
    int64_t counts[COUNTS_LEN];
};

static int bucket_index(int64_t v)
{
    int pow2ceiling = 64 - __builtin_clzll((uint64_t)(v | SUB_BUCKET_MASK));
    return pow2ceiling - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1);
}

static int counts_index(int64_t v)
{
    int bucket = bucket_index(v);
    int sub = (int)(v >> bucket);
    return ((bucket + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + (sub - SUB_BUCKET_HALF_COUNT);
}

static int64_t value_from_index(int index)
{
    int bucket = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) - 1;
    int sub = (index & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if (bucket < 0) {
        sub -= SUB_BUCKET_HALF_COUNT;
        bucket = 0;
    }
    return (int64_t)sub << bucket;
}

int64_t hist_highest_equivalent(int64_t v)
{
    if (v < 0)
        v = 0;
    int bucket = bucket_index(v);
    int64_t lowest = (v >> bucket) << bucket;
    return lowest + ((int64_t)1 << bucket) - 1;
}

bool hist_values_equivalent(int64_t a, int64_t b)
{
    return hist_highest_equivalent(a) == hist_highest_equivalent(b);
}

int hist_bucket_count(void)
{
    return BUCKET_COUNT;
}

int hist_sub_bucket_count(void)
{
    return SUB_BUCKET_COUNT;
}

struct hist *hist_new(void)
{
    struct hist *h = xcalloc(1, sizeof *h);
    return h;
}

void hist_free(struct hist *h)
{
    free(h);
}

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof *h);
}

int hist_record(struct hist *h, int64_t value_us)
{
    int rc = 0;
    if (value_us < 0) {
        value_us = 0;
        rc = -1;
    } else if (value_us > HIST_MAX_US) {
        value_us = HIST_MAX_US;
        rc = -1;
    }
    h->counts[counts_index(value_us)]++;
    if (h->total == 0 || value_us < h->min)
        h->min = value_us;
    if (value_us > h->max)
        h->max = value_us;
    h->total++;
    double delta = (double)value_us - h->mean;
    h->mean += delta / (double)h->total;
    h->m2 += delta * ((double)value_us - h->mean);
    return rc;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    if (src->total == 0)
        return;
    for (int i = 0; i < COUNTS_LEN; i++)
        dst->counts[i] += src->counts[i];
    if (dst->total == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    /* combine two (count, mean, M2) summaries (Chan et al.) */
    double na = (double)dst->total, nb = (double)src->total, n = na + nb;
    double delta = src->mean - dst->mean;
    dst->mean += delta * nb / n;
    dst->m2 += src->m2 + delta * delta * na * nb / n;
    dst->total += src->total;
}

int64_t hist_count(const struct hist *h)
{
    return h->total;
}

int64_t hist_min(const struct hist *h)
{
    return h->min;
}

int64_t hist_max(const struct hist *h)
{
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->total ? h->mean : 0.0;
}

double hist_stdev(const struct hist *h)
{
    return h->total ? sqrt(h->m2 / (double)h->total) : 0.0;
}

int64_t hist_percentile_rank(double percentile, int64_t count)
{
    if (count <= 0)
        return 0;
    if (percentile > 100.0)
        percentile = 100.0;
    if (percentile < 0.0)
        percentile = 0.0;
    int64_t rank = (int64_t)(percentile / 100.0 * (double)count + 0.5);
    if (rank < 1)
        rank = 1;
    return rank < count ? rank : count;
}

int64_t hist_value_at_percentile(const struct hist *h, double percentile)
{
    int64_t rank = hist_percentile_rank(percentile, h->total);
    if (rank == 0)
        return 0;
    int64_t seen = 0;
    for (int i = 0; i < COUNTS_LEN; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t v = hist_highest_equivalent(value_from_index(i));
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

/* The next reporting level after `level` percent: 5 ticks per half of the distance left to
 * 100%, so the rows thicken towards the tail (0, 10, ..., 50, 55, ..., 75, 77.5, ...). */
static double next_level(double level)
{
    double halvings = floor(log2(100.0 / (100.0 - level)));
    double ticks = 5.0 * pow(2.0, halvings + 1.0);
    return level + 100.0 / ticks;
}

int hist_write_hgrm(const struct hist *h, FILE *out, double scale)
{
    fprintf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
            "1/(1-Percentile)");
    double level = 0.0;
    int64_t cumulative = 0;
    for (int i = 0; i < COUNTS_LEN && h->total > 0; i++) {
        if (h->counts[i] == 0)
            continue;
        cumulative += h->counts[i];
        double value = (double)hist_highest_equivalent(value_from_index(i)) / scale;
        double reached = 100.0 * (double)cumulative / (double)h->total;
        bool last = cumulative == h->total;
        while (reached >= level && level < 100.0) {
            fprintf(out, "%12.3f %2.12f %10lld %14.2f\n", value, level / 100.0,
                    (long long)cumulative, 1.0 / (1.0 - level / 100.0));
            level = next_level(level);
            if (last)
                break; /* the last value gets one row plus the closing 100% row */
        }
        if (last) {
            fprintf(out, "%12.3f %2.12f %10lld\n", value, 1.0, (long long)cumulative);
            break;
        }
    }
    int64_t max = h->total ? hist_highest_equivalent(h->max) : 0;
    fprintf(out, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", hist_mean(h) / scale,
            hist_stdev(h) / scale);
    fprintf(out, "#[Max     = %12.3f, Total count    = %12lld]\n", (double)max / scale,
            (long long)h->total);
    fprintf(out, "#[Buckets = %12d, SubBuckets     = %12d]\n", BUCKET_COUNT, SUB_BUCKET_COUNT);
    return ferror(out) ? -1 : 0;
}

int hist_counts_len(void)
{
    return COUNTS_LEN;
}

int hist_index_of(int64_t v)
{
    return counts_index(v < 0 ? 0 : v > HIST_MAX_US ? HIST_MAX_US : v);
}

int64_t hist_value_at_index(int index)
{
    return value_from_index(index);
}

int64_t hist_count_at(const struct hist *h, int index)
{
    return h->counts[index];
}

void hist_add_at(struct hist *h, int index, int64_t count)
{
    if (count <= 0)
        return;
    int64_t low = value_from_index(index), high = hist_highest_equivalent(low);
    h->counts[index] += count;
    if (h->total == 0 || low < h->min)
        h->min = low;
    if (high > h->max)
        h->max = high;
    /* count equal values joining the running (count, mean, M2) summary */
    double value = (double)low + (double)(high - low + 1) / 2.0;
    double na = (double)h->total, nb = (double)count, n = na + nb;
    double delta = value - h->mean;
    h->mean += delta * nb / n;
    h->m2 += delta * delta * na * nb / n;
    h->total += count;
}
