/* metrics.h - process-wide counters and the request duration histogram, rendered in
 * Prometheus text format for /metrics. Counters are relaxed atomics: one uncontended
 * fetch_add per event, cheap enough for the request path. */
#ifndef APIBENCH_METRICS_H
#define APIBENCH_METRICS_H

#include <stdint.h>

struct strbuf;

enum counter {
    C_DB_QUERIES,              /* apibench_db_queries_total */
    C_DB_CONNECTIONS_OPENED,   /* apibench_db_connections_opened_total */
    C_DB_ERRORS,               /* apibench_db_errors_total */
    C_POOL_WAITS,              /* apibench_pool_waits_total: acquires that had to wait */
    C_POOL_TIMEOUTS,           /* apibench_pool_timeouts_total: acquires that gave up (503) */
    C_POOL_DEAD,               /* apibench_pool_dead_connections_total: found dead, replaced */
    C_DB_READ_RETRIES,         /* apibench_db_read_retries_total: reads rerun on a new connection */
    C_CACHE_L1_HIT,            /* apibench_cache_lookups_total{level="l1",result="hit"} */
    C_CACHE_L1_MISS,
    C_CACHE_L2_HIT,
    C_CACHE_L2_MISS,
    C_CACHE_L2_ERROR,          /* {level="l2",result="error"}: Redis down, served from postgres */
    C_CACHE_INVALIDATIONS,     /* apibench_cache_invalidations_total (sent) */
    C_CACHE_INVALIDATIONS_RECEIVED, /* ...received from other instances */
    C_BYTES_BEFORE_ENCODING,   /* apibench_response_bytes_total{stage="rendered"} */
    C_BYTES_AFTER_ENCODING,    /* apibench_response_bytes_total{stage="sent"} */
    C_REPORTS_INLINE,          /* apibench_reports_inline_total */
    C_JOBS_ENQUEUED,           /* apibench_jobs_enqueued_total */
    C__COUNT
};

enum route {
    R_LATEST,          /* GET /api/readings/latest */
    R_DEVICE_READINGS, /* GET /api/devices/{id}/readings */
    R_DEVICE,          /* GET /api/devices/{id} */
    R_INGEST,          /* POST /api/devices/{id}/readings */
    R_REPORTS,         /* POST /api/reports */
    R_JOB,             /* GET /api/jobs/{id} */
    R_HEALTHZ,
    R_METRICS,
    R_OTHER,           /* unknown paths (404) */
    R__COUNT
};

/* Prometheus label value of r ("latest", "device_readings", ...). */
const char *route_label(enum route r);

void metrics_add(enum counter c, uint64_t n);
uint64_t metrics_get(enum counter c);

/* Records one finished request: its route, HTTP status and duration. */
void metrics_observe_request(enum route r, int status, int64_t duration_us);

/* Appends every metric, plus process_cpu_seconds_total, process_resident_memory_bytes and
 * process_start_time_seconds, to out. build is exported as apibench_build_info{build=...}. */
void metrics_render(struct strbuf *out, const char *build);

/* Sets every counter back to zero (tests only). */
void metrics_reset(void);

#endif
