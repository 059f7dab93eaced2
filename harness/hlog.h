/* hlog.h - HdrHistogram interval logs (.hlog, log format 1.3), written and read from the
 * format's published description (docs/RESULTS.md).
 *
 * A log is header lines ("#[Histogram log format version 1.3]", "#[StartTime: ...]",
 * "#[BaseTime: ...]"), the CSV legend, then one line per interval:
 * [Tag=NAME,]START_S,LENGTH_S,MAX,HISTOGRAM where START_S is relative to BaseTime and
 * HISTOGRAM is base64 of the compressed V2 encoding: cookie 0x1c849314 (the V2
 * compression cookie 0x1c849304 with word-size bits 0x10), length, then zlib deflate of
 * the V2 encoding (cookie 0x1c849313, payload length, normalizing offset 0, significant
 * digits, lowest discernible and highest trackable values, conversion ratio 1.0, then
 * the counts array as zigzag LEB128, a negative number standing for a run of zeros).
 * hist.h's layout is HdrHistogram's for (1, HIST_MAX_US, 3), so counts map one to one.
 *
 * While a run records, each generator thread keeps an hlog_series per histogram: the
 * current second's histogram, and the V2 encodings (uncompressed) of the seconds before
 * it. Series of several threads (or several runs, for apibench merge) are joined by
 * moving their chunks together; the writer adds up chunks of the same second. */
#ifndef APIBENCH_HLOG_H
#define APIBENCH_HLOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"

#define HLOG_TAG_MAX 64

/* One interval's counts, V2-encoded (not compressed). */
struct hlog_chunk {
    int second; /* interval start, whole seconds after the series' start */
    size_t len;
    uint8_t *data;
};

struct hlog_series {
    int64_t start_ns;      /* when second 0 starts (any clock, the recorder's) */
    int second;            /* the second `current` holds; -1: none yet */
    struct hist *current;  /* allocated on the first record */
    struct hlog_chunk *chunks;
    int nchunks, cap;
};

/* An empty series whose second 0 starts at start_ns. */
void hlog_series_init(struct hlog_series *s, int64_t start_ns);

/* Counts value_us in the interval of when_ns (a when before the current interval's
 * second counts in the current one, so records need only be roughly in time order). */
void hlog_series_record(struct hlog_series *s, int64_t when_ns, int64_t value_us);

/* Encodes the current interval (if any) into a chunk and frees its histogram. */
void hlog_series_close(struct hlog_series *s);

/* Moves src's chunks (closed first) into dst; src is left empty. */
void hlog_series_take(struct hlog_series *dst, struct hlog_series *src);

/* Appends a chunk (copying data) for second. */
void hlog_series_add_chunk(struct hlog_series *s, int second, const uint8_t *data, size_t len);

/* Frees everything in s. Accepts a zeroed series. */
void hlog_series_free(struct hlog_series *s);

/* The V2 encoding of h (new buffer, free it; *len set). */
uint8_t *hlog_encode(const struct hist *h, size_t *len);

/* Adds the counts of a V2 encoding to h. Returns 0, or -1 with a reason in err when the
 * data is not a V2 encoding or its configuration (significant digits, lowest and highest
 * values) is not hist.h's: the configurations must agree for counts to add exactly. */
int hlog_decode_add(const uint8_t *data, size_t len, struct hist *h, char *err, size_t errlen);

/* A tagged total: a whole-window histogram on its own line ("Tag=NAME,..."). */
struct hlog_tagged {
    const char *tag;
    const struct hist *h;
};

/* Writes a log: header with StartTime/BaseTime start_epoch_s, the series' intervals
 * (chunks of a second added together, one line per second in order, each 1 s long), then
 * each tagged histogram as one line from 0 lasting window_s. Values are microseconds;
 * the Interval_Max column is in milliseconds. Returns 0, or -1 on a write error. */
int hlog_write(FILE *out, double start_epoch_s, const struct hlog_series *series,
               const struct hlog_tagged *tagged, int ntagged, double window_s);

/* What hlog_read found: StartTime (BaseTime when given), and the untagged intervals as
 * chunks keyed by their start second relative to that time (rounded down). */
struct hlog_file {
    double start_epoch_s;
    double end_s; /* the latest interval end, relative to start_epoch_s */
    struct hlog_series intervals;
};

/* Reads path. For each tagged line whose tag passes want_tag (called with the tag; may
 * be NULL), on_tagged(tag, hist, ctx) gets the decoded histogram (borrowed). Returns 0,
 * or -1 with a reason in err (unreadable file, malformed line, other configuration). */
int hlog_read(const char *path, struct hlog_file *f,
              void (*on_tagged)(const char *tag, const struct hist *h, void *ctx), void *ctx,
              char *err, size_t errlen);

/* Frees f's intervals. */
void hlog_file_free(struct hlog_file *f);

#endif
