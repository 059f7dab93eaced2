/* clock_offset.h - how far this machine's clock is from the others' when several
 * generators start one run at the same wall-clock moment (--start-at, docs/SEGMENTS.md).
 * chronyc's own estimate when chronyc is installed; otherwise the target's HTTP Date
 * header. That header has whole seconds only; timing the moment it ticks over (probes a
 * few ms apart, for at most ~1.2 s) narrows the offset to about the probes' round trip
 * plus their gap: it shows a clock that is tens of milliseconds off, not one that is
 * 1 ms off, and the target's own clock is the reference. */
#ifndef APIBENCH_CLOCK_OFFSET_H
#define APIBENCH_CLOCK_OFFSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CLOCK_OFFSET_WARN_MS 1.0
#define CLOCK_OFFSET_PROBES 300      /* HTTP Date probes while waiting for its tick */
#define CLOCK_OFFSET_PROBE_GAP_MS 4  /* between probes: at most ~1.2 s in all */

struct clock_offset {
    const char *method;   /* "chronyc", "http-date" or "none" */
    bool known;           /* false: neither method worked */
    double offset_ms;     /* this clock minus the reference (NTP, or the target's clock) */
    double resolution_ms; /* how far the true offset may be from offset_ms */
    char detail[160];     /* what was measured, or why nothing was */
};

/* Measures the offset: `chronyc -n tracking` if it answers, else HEAD requests to target
 * (libcurl, curl_global_init done) timed around its Date header's tick. Never fails:
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
