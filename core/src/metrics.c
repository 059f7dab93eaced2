/* metrics.c - process-wide counters, per-route request counts and a duration histogram,
 * rendered in Prometheus text format. Everything is a relaxed atomic: /metrics may read a
 * histogram mid-update (a count one ahead of its sum), which Prometheus tolerates. */
#include "apibench/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "apibench/clock.h"
#include "apibench/strbuf.h"

static _Atomic uint64_t counters[C__COUNT];

/* Statuses are counted in a small table per route; anything unusual lands in "other". */
static const int tracked_status[] = {200, 201, 202, 304, 400, 401, 403, 404, 405, 413,
                                     415, 422, 429, 500, 503};
#define NSTATUS (sizeof tracked_status / sizeof tracked_status[0])
static _Atomic uint64_t requests[R__COUNT][NSTATUS + 1];

/* Upper bounds in seconds, as Prometheus' default buckets widened to cover a 10 s baseline. */
static const double bucket_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25,  0.5,    1.0,   2.5,  5.0,   10.0, 30.0};
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0])
static _Atomic uint64_t hist_bucket[R__COUNT][NBUCKETS]; /* not cumulative; summed on render */
static _Atomic uint64_t hist_count[R__COUNT];
static _Atomic uint64_t hist_sum_us[R__COUNT];

static double start_time_s;

__attribute__((constructor)) static void metrics_record_start(void)
{
    start_time_s = (double)clock_ns(CLOCK_REALTIME) / 1e9;
}

static const char *const route_labels[R__COUNT] = {
    [R_LATEST] = "latest",   [R_DEVICE_READINGS] = "device_readings",
    [R_DEVICE] = "device",   [R_INGEST] = "ingest",
    [R_REPORTS] = "reports", [R_JOB] = "job",
    [R_HEALTHZ] = "healthz", [R_METRICS] = "metrics",
    [R_OTHER] = "other",
};

const char *route_label(enum route r)
{
    return (r >= 0 && r < R__COUNT) ? route_labels[r] : "other";
}

void metrics_add(enum counter c, uint64_t n)
{
    if (c >= 0 && c < C__COUNT)
        atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

uint64_t metrics_get(enum counter c)
{
    if (c < 0 || c >= C__COUNT)
        return 0;
    return atomic_load_explicit(&counters[c], memory_order_relaxed);
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < NSTATUS; i++)
        if (tracked_status[i] == status)
            return i;
    return NSTATUS;
}

void metrics_observe_request(enum route r, int status, int64_t duration_us)
{
    if (r < 0 || r >= R__COUNT)
        r = R_OTHER;
    if (duration_us < 0)
        duration_us = 0;
    atomic_fetch_add_explicit(&requests[r][status_slot(status)], 1, memory_order_relaxed);
    double s = (double)duration_us / 1e6;
    size_t b = 0;
    while (b < NBUCKETS && s > bucket_le[b])
        b++;
    if (b < NBUCKETS)
        atomic_fetch_add_explicit(&hist_bucket[r][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hist_count[r], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hist_sum_us[r], (uint64_t)duration_us, memory_order_relaxed);
}

static void counter_line(struct strbuf *out, const char *name, const char *help,
                         enum counter c)
{
    strbuf_appendf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                   (unsigned long long)metrics_get(c));
}

static void render_process(struct strbuf *out)
{
    struct rusage ru;
    double cpu = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    unsigned long long size_pages = 0, rss_pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%llu %llu", &size_pages, &rss_pages) != 2)
            rss_pages = 0;
        fclose(f);
    }
    long page = sysconf(_SC_PAGESIZE);
    strbuf_appendf(out,
                   "# HELP process_cpu_seconds_total User and system CPU time spent in seconds.\n"
                   "# TYPE process_cpu_seconds_total counter\n"
                   "process_cpu_seconds_total %.6f\n"
                   "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                   "# TYPE process_resident_memory_bytes gauge\n"
                   "process_resident_memory_bytes %llu\n"
                   "# HELP process_start_time_seconds Start time of the process since the epoch.\n"
                   "# TYPE process_start_time_seconds gauge\n"
                   "process_start_time_seconds %.3f\n",
                   cpu, rss_pages * (unsigned long long)(page > 0 ? page : 4096), start_time_s);
}

void metrics_render(struct strbuf *out, const char *build)
{
    strbuf_appendf(out,
                   "# HELP apibench_build_info The server build (one optimisation per step).\n"
                   "# TYPE apibench_build_info gauge\n"
                   "apibench_build_info{build=\"%s\"} 1\n",
                   build ? build : "");

    strbuf_appendf(out, "# HELP http_requests_total HTTP requests by route and status.\n"
                        "# TYPE http_requests_total counter\n");
    for (int r = 0; r < R__COUNT; r++)
        for (size_t i = 0; i <= NSTATUS; i++) {
            uint64_t n = atomic_load_explicit(&requests[r][i], memory_order_relaxed);
            if (n == 0)
                continue;
            if (i < NSTATUS)
                strbuf_appendf(out, "http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                               route_labels[r], tracked_status[i], (unsigned long long)n);
            else
                strbuf_appendf(out, "http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                               route_labels[r], (unsigned long long)n);
        }

    strbuf_appendf(out,
                   "# HELP http_request_duration_seconds Time from request to response queued.\n"
                   "# TYPE http_request_duration_seconds histogram\n");
    for (int r = 0; r < R__COUNT; r++) {
        uint64_t count = atomic_load_explicit(&hist_count[r], memory_order_relaxed);
        if (count == 0)
            continue;
        uint64_t cumulative = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cumulative += atomic_load_explicit(&hist_bucket[r][b], memory_order_relaxed);
            strbuf_appendf(out,
                           "http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                           route_labels[r], bucket_le[b], (unsigned long long)cumulative);
        }
        strbuf_appendf(out,
                       "http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                       "http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                       "http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                       route_labels[r], (unsigned long long)count, route_labels[r],
                       (double)atomic_load_explicit(&hist_sum_us[r], memory_order_relaxed) / 1e6,
                       route_labels[r], (unsigned long long)count);
    }

    counter_line(out, "apibench_db_queries_total", "SQL statements sent to PostgreSQL.",
                 C_DB_QUERIES);
    counter_line(out, "apibench_db_connections_opened_total",
                 "PostgreSQL connections opened.", C_DB_CONNECTIONS_OPENED);
    counter_line(out, "apibench_db_errors_total", "Statements or connections that failed.",
                 C_DB_ERRORS);
    counter_line(out, "apibench_pool_waits_total", "Pool acquires that had to wait.",
                 C_POOL_WAITS);
    counter_line(out, "apibench_pool_timeouts_total",
                 "Pool acquires that timed out (answered 503).", C_POOL_TIMEOUTS);
    counter_line(out, "apibench_pool_dead_connections_total",
                 "Pooled connections found dead before use and replaced.", C_POOL_DEAD);
    counter_line(out, "apibench_db_read_retries_total",
                 "Read requests run again on a new connection after theirs died.",
                 C_DB_READ_RETRIES);
    strbuf_appendf(
        out,
        "# HELP apibench_cache_lookups_total Response cache lookups by level and result.\n"
        "# TYPE apibench_cache_lookups_total counter\n"
        "apibench_cache_lookups_total{level=\"l1\",result=\"hit\"} %llu\n"
        "apibench_cache_lookups_total{level=\"l1\",result=\"miss\"} %llu\n"
        "apibench_cache_lookups_total{level=\"l2\",result=\"hit\"} %llu\n"
        "apibench_cache_lookups_total{level=\"l2\",result=\"miss\"} %llu\n"
        "apibench_cache_lookups_total{level=\"l2\",result=\"error\"} %llu\n",
        (unsigned long long)metrics_get(C_CACHE_L1_HIT),
        (unsigned long long)metrics_get(C_CACHE_L1_MISS),
        (unsigned long long)metrics_get(C_CACHE_L2_HIT),
        (unsigned long long)metrics_get(C_CACHE_L2_MISS),
        (unsigned long long)metrics_get(C_CACHE_L2_ERROR));
    counter_line(out, "apibench_cache_invalidations_total",
                 "Cache namespaces invalidated by this instance.", C_CACHE_INVALIDATIONS);
    counter_line(out, "apibench_cache_invalidations_received_total",
                 "Invalidations received from other instances.",
                 C_CACHE_INVALIDATIONS_RECEIVED);
    strbuf_appendf(out,
                   "# HELP apibench_response_bytes_total Response body bytes before (rendered) "
                   "and after (sent) encoding.\n"
                   "# TYPE apibench_response_bytes_total counter\n"
                   "apibench_response_bytes_total{stage=\"rendered\"} %llu\n"
                   "apibench_response_bytes_total{stage=\"sent\"} %llu\n",
                   (unsigned long long)metrics_get(C_BYTES_BEFORE_ENCODING),
                   (unsigned long long)metrics_get(C_BYTES_AFTER_ENCODING));
    counter_line(out, "apibench_reports_inline_total", "Reports built inside the request.",
                 C_REPORTS_INLINE);
    counter_line(out, "apibench_jobs_enqueued_total", "Report jobs added to the queue.",
                 C_JOBS_ENQUEUED);
    render_process(out);
}

void metrics_reset(void)
{
    for (int c = 0; c < C__COUNT; c++)
        atomic_store_explicit(&counters[c], 0, memory_order_relaxed);
    for (int r = 0; r < R__COUNT; r++) {
        for (size_t i = 0; i <= NSTATUS; i++)
            atomic_store_explicit(&requests[r][i], 0, memory_order_relaxed);
        for (size_t b = 0; b < NBUCKETS; b++)
            atomic_store_explicit(&hist_bucket[r][b], 0, memory_order_relaxed);
        atomic_store_explicit(&hist_count[r], 0, memory_order_relaxed);
        atomic_store_explicit(&hist_sum_us[r], 0, memory_order_relaxed);
    }
}
