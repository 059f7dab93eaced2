/* loadgen.h - the load generator: libcurl multi driven by intended send times.
 *
 * Open loop: each generator thread owns a schedule (schedule.h); a request becomes due at
 * its intended time, waits in a bounded backlog while all of the thread's connections are
 * busy, and is timed from the intended time, so queueing in the server or the generator
 * shows up in its latency (no coordinated omission). Closed loop: every connection sends
 * its next request as soon as the previous one completes.
 *
 * Each thread owns its counters and histograms, one set per phase; loadgen_run merges
 * them after the threads join. A request belongs to the phase of its intended send time. */
#ifndef APIBENCH_LOADGEN_H
#define APIBENCH_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"
#include "hlog.h"
#include "mix.h"
#include "schedule.h"
#include "segment.h"

enum loadgen_phase { LOADGEN_WARMUP, LOADGEN_MEASURED, LOADGEN_COOLDOWN, LOADGEN_NPHASES };

/* Error kinds. Every failed request (connect, timeout, other, backlog, unsent) enters the
 * phase's latency histogram as max(its time since the intended send, the timeout), as
 * wrk2 users expect, but not latency_answered. HTTP 4xx/5xx are responses: they enter
 * both histograms with their real latency and are counted here as well. */
enum loadgen_error {
    LOADGEN_ERR_CONNECT, /* could not connect (refused, unreachable, connect timeout) */
    LOADGEN_ERR_TIMEOUT, /* no complete response within the per-request timeout */
    LOADGEN_ERR_HTTP4XX,
    LOADGEN_ERR_HTTP5XX,
    LOADGEN_ERR_OTHER,   /* any other transfer failure (reset, malformed response, ...) */
    LOADGEN_ERR_BACKLOG, /* due while the backlog was full: never sent */
    LOADGEN_ERR_UNSENT,  /* still in the backlog when the drain deadline passed */
    LOADGEN_NERRORS
};

struct loadgen_config {
    const char *target;    /* base URL without a trailing '/', e.g. http://127.0.0.1:18101 */
    const struct mix *mix; /* borrowed */
    bool closed;           /* closed loop (rate unused) */
    enum schedule_arrival arrival;
    double rate;     /* open loop: total intended requests per second, > 0 */
    int connections; /* total, split between threads; >= threads */
    int threads;     /* generator threads, >= 1 */
    int64_t warmup_ns, duration_ns, cooldown_ns;
    long timeout_ms; /* per request, > 0 */
    uint64_t seed;
    bool gzip;                  /* send Accept-Encoding: gzip */
    bool decode;                /* inflate gzip bodies to count their decoded bytes; off:
                                   wire bytes and status only (body_bytes_decoded stays 0) */
    bool busy_poll;             /* spin (poll with timeout 0) instead of sleeping */
    int backlog_max;            /* per thread bound on due-but-unsent requests, >= 1 */
    const char *const *headers; /* extra "Name: value" headers, nheaders of them */
    int nheaders;
    FILE *progress; /* a progress line per second goes here; NULL for none */
    const struct segment *segment; /* this generator's share of the run; NULL: all of it */
    int64_t start_at_ms; /* wall-clock moment (Unix ms) of the run's request 0; 0: now */
    /* network emulation in the generator (network.h): per-connection limits in bytes/s
     * (0: none), and the TCP segment size to ask for (0: the system's) */
    int64_t recv_limit, send_limit;
    int mss;
};

struct loadgen_route_stats {
    int64_t sent, responses, errors;
    int64_t body_bytes_wire;    /* response bodies as they came over the wire */
    int64_t body_bytes_decoded; /* the same after un-gzipping (cfg->decode only) */
    struct hist *latency;       /* responses and failed transfers, as the phase's */
    struct hist *service;       /* responses only */
    struct hist *transfer;      /* responses: first byte to last (network.h profiles) */
};

/* One second of the measured phase, by intended send time: what happened to the
 * requests due in it (latency as in loadgen_stats.latency, failures included). */
struct loadgen_second {
    int64_t due, responses, errors;
    int64_t latency_sum_us, latency_max_us; /* over responses and failures */
    int64_t latency_count;
};

/* What one phase measured. */
struct loadgen_stats {
    int64_t due;                 /* requests whose intended time fell in the phase */
    int64_t sent;                /* handed to curl */
    int64_t responses;           /* completed with an HTTP response (any status) */
    int64_t aborted;             /* cut off by an interrupt (neither error nor latency) */
    int64_t responses_in_window; /* responses (of any phase) that arrived during the phase:
                                    the throughput, which the achieved rate reports */
    int64_t errors[LOADGEN_NERRORS];
    int64_t status_class[6]; /* responses by status / 100 (index 1..5) */
    int64_t header_bytes, body_bytes_wire, body_bytes_decoded;
    int64_t gzip_responses;
    struct hist *latency;          /* completion - intended send; failures as at least the
                                      timeout (see enum loadgen_error) */
    struct hist *latency_answered; /* the same for HTTP responses only */
    struct hist *service;          /* completion - actual send, responses only */
    struct hist *lag;              /* actual send - intended send */
    struct hist *transfer;         /* responses: first response byte to last, as curl
                                      times it (the body's time on the wire) */
    struct loadgen_route_stats routes[MIX_NROUTES];
};

/* The measured phase's histograms as one-second intervals (by completion time; by send
 * time for the send lag), for the .hlog files. */
enum loadgen_series {
    LOADGEN_SERIES_LATENCY,  /* as loadgen_stats.latency */
    LOADGEN_SERIES_ANSWERED, /* as loadgen_stats.latency_answered */
    LOADGEN_SERIES_SERVICE,  /* as loadgen_stats.service */
    LOADGEN_SERIES_LAG,      /* as loadgen_stats.lag */
    LOADGEN_NSERIES
};

struct loadgen_result {
    struct loadgen_stats phases[LOADGEN_NPHASES];
    double phase_s[LOADGEN_NPHASES]; /* how long each phase actually ran */
    bool interrupted;                /* loadgen_request_stop was called */
    bool cut_short;                  /* a phase ended early */
    bool decoded;                    /* cfg->decode: body_bytes_decoded was measured */
    struct loadgen_second *timeline; /* the measured phase, one entry per intended second */
    int timeline_len;                /* ceil(duration_s) */
    struct hlog_series intervals[LOADGEN_NSERIES]; /* second 0: the measured phase's start */
    double measured_start_epoch_s; /* wall-clock time (Unix s) the measured phase started */
};

/* Runs the load described by cfg and fills res (which the caller zeroes first and frees
 * with loadgen_result_free, also on failure). Returns 0, or -1 with a one-line reason in
 * err when the generator could not be set up (curl, threads, timerfd). An interrupt is
 * not a failure: it returns 0 with res->interrupted set. */
int loadgen_run(const struct loadgen_config *cfg, struct loadgen_result *res, char *err,
                size_t errlen);

/* Asks a running loadgen_run to stop sending, wait briefly for requests in flight, and
 * return. Async-signal-safe (for SIGINT/SIGTERM handlers). */
void loadgen_request_stop(void);

/* Makes SIGINT and SIGTERM call loadgen_request_stop (a run then ends with partial
 * results instead of the process dying). */
void loadgen_stop_on_signals(void);

/* Clears a previous stop request (for tests running several loads in one process). */
void loadgen_reset_stop(void);

/* Opens (and closes) one TCP connection to target, so that an unreachable server fails
 * before anything is measured or written. Returns 0, or -1 with "cannot connect to ...:
 * reason" in err. Needs curl_global_init. */
int loadgen_preflight(const char *target, long timeout_ms, char *err, size_t errlen);

/* Frees the histograms and timeline in res. Accepts a zeroed result. */
void loadgen_result_free(struct loadgen_result *res);

/* Allocates the histograms of st (zeroed before) / frees them; merges src into dst. */
void loadgen_stats_init(struct loadgen_stats *st);
void loadgen_stats_free(struct loadgen_stats *st);
void loadgen_stats_merge(struct loadgen_stats *dst, const struct loadgen_stats *src);

/* Sum of the error kinds of st. */
int64_t loadgen_stats_errors(const struct loadgen_stats *st);

/* "connect", "timeout", "http_4xx", ... */
const char *loadgen_error_name(enum loadgen_error e);

/* Monotonic clock in ns (CLOCK_MONOTONIC). */
int64_t loadgen_now_ns(void);

#endif
