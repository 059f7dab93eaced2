/* clock_offset.h - how far this machine's clock is from the others' when several
 * generators start one run at the same wall-clock moment (--start-at, docs/SEGMENTS.md).
 * chronyc's own estimate when chronyc is installed; otherwise the target's HTTP Date
 * header, which has a resolution of one second: it shows a clock that is seconds off,
 * never one that is a few milliseconds off. */
#ifndef APIBENCH_CLOCK_OFFSET_H
#define APIBENCH_CLOCK_OFFSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CLOCK_OFFSET_WARN_MS 1.0

struct clock_offset {
    const char *method;   /* "chronyc", "http-date" or "none" */
    bool known;           /* false: neither method worked */
    double offset_ms;     /* this clock minus the reference (NTP, or the target's clock) */
    double resolution_ms; /* how far the true offset may be from offset_ms */
    char detail[160];     /* what was measured, or why nothing was */
};

/* Measures the offset: `chronyc -n tracking` if it answers, else a HEAD request to
 * target (libcurl, curl_global_init done) timed around its Date header. Never fails:
 * out->known says whether anything was measured. */
void clock_offset_measure(const char *target, long timeout_ms, struct clock_offset *out);

/* Parses chronyc tracking's "System time : X seconds fast|slow of NTP time" line.
 * Returns 0 with *offset_ms (positive: this clock is ahead), or -1. */
int clock_offset_parse_chronyc(const char *line, double *offset_ms);

/* True when c is worth a warning: an offset above CLOCK_OFFSET_WARN_MS, or one not
 * known to better than that. */
bool clock_offset_warn(const struct clock_offset *c);

/* {"method", "known", "offset_ms", "resolution_ms", "detail", "warning"} (new reference). */
json_t *clock_offset_json(const struct clock_offset *c);

#endif
