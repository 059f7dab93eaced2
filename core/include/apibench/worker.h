/* worker.h - apibench-worker, the 06-async job consumer: reads report jobs from the Redis
 * Stream through a consumer group, builds the report, e-mails it, records completion in
 * PostgreSQL and acknowledges the entry. Delivery is at least once; handling is
 * idempotent where it can be (a job already 'done' is acknowledged without a second
 * e-mail). The one duplicate it cannot prevent, a crash after the mail server accepted the
 * message and before 'done' is recorded, re-sends the e-mail; such jobs finish with
 * attempts > 1 and are counted (redelivered_completed), and the sink counts the copies.
 *
 * The loop is a state machine (worker_next) over the states below; the decisions it takes
 * (backoff, dead-lettering, what a claim result means) are pure functions, unit-tested. */
#ifndef APIBENCH_WORKER_H
#define APIBENCH_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct worker_config {
    const char *redis_url;     /* --redis-url, REDIS_URL */
    const char *database_url;  /* --database-url, WORKER_DATABASE_URL, else DATABASE_URL */
    const char *smtp_url;      /* --smtp-url, SMTP_URL */
    const char *mail_from;     /* --mail-from, MAIL_FROM */
    const char *stream;        /* --stream, APIBENCH_STREAM: key prefix (jobstream.h) */
    const char *redis_prefix;  /* --redis-prefix, APIBENCH_REDIS_PREFIX (redis_prefix.h) */
    const char *group;         /* --group, APIBENCH_GROUP */
    const char *consumer;      /* --consumer; default worker-<hostname>-<pid> */
    int max_deliveries;        /* --max-deliveries: more deliveries than this dead-letter; 5 */
    int claim_idle_ms;         /* --claim-idle-ms: XAUTOCLAIM entries idle this long; 30000 */
    int block_ms;              /* --block-ms: XREADGROUP BLOCK; 2000, in waits of <= 1 s */
    int mail_retries;          /* --mail-retries: extra SMTP attempts per delivery; 3 */
    int mail_backoff_ms;       /* --mail-backoff-ms: first retry delay, doubling; 200 */
    int mail_backoff_max_ms;   /* --mail-backoff-max-ms: cap; 5000 */
    int mail_timeout_ms;       /* --mail-timeout-ms: per SMTP attempt; 10000 */
    int relay_every_ms;        /* --relay-every-ms: outbox relay period; 2000 */
    int rollup_every_s;        /* --rollup-every-s: readings_hourly refresh; 0 = off (default) */
    bool report_from_rollup;   /* --report-from-rollup: build reports from readings_hourly */
    bool exit_when_idle;       /* --exit-when-idle: exit 0 when stream and outbox are empty */
    bool quiet;                /* --quiet: no line per job */
    /* Measurement mode (scripts/bench_async.sh): no jobs are consumed. */
    const char *compare;       /* --compare-reports KIND:ID:HOURS[,...] */
    const char *compare_setup; /* --compare-setup FILE: SQL run first (e.g. sql/async.sql) */
    int compare_reps;          /* --compare-reps N: timed builds per source; 5 */
};

/* Fills cfg with the defaults above (URLs from the environment). */
void worker_config_defaults(struct worker_config *cfg);

/* Parses argv (after the environment). Returns 0, 1 when --help was printed, or -1 with a
 * message in err. */
int worker_config_parse(struct worker_config *cfg, int argc, char **argv, char *err,
                        size_t errlen);

/* Runs the worker until *stop is set or, with exit_when_idle, until there is nothing left
 * to do. Returns the exit code. On a stop (SIGTERM/SIGINT) the job in hand is finished,
 * or released when its e-mail is still being sent or retried: the row goes back to
 * 'queued' and the entry stays pending (XAUTOCLAIM or this consumer's restart takes it);
 * the worker exits within about 1 s plus the SQL statement then running. */
int worker_run(const struct worker_config *cfg, volatile sig_atomic_t *stop);

/* Measurement mode: in ONE transaction that is rolled back at the end (so it can run on a
 * database that must not change), runs compare_setup, refreshes the rollup, then builds
 * each report from the raw readings and from the rollup compare_reps times each, and
 * prints the median times and whether the two reports are equal. The transaction's now()
 * is fixed, so both sources see the same window. Returns 0, 1 when a pair differs, or 2
 * on error. */
int worker_compare_reports(const struct worker_config *cfg);

/* --- the state machine and its decisions (pure; tests/unit/core/test_worker.c) --- */

enum worker_state {
    WS_CONNECT,   /* connect to Redis and PostgreSQL */
    WS_SETUP,     /* create the consumer group (BUSYGROUP is fine) */
    WS_RECOVER,   /* re-read this consumer's own pending entries (XREADGROUP ... 0) */
    WS_HOUSEKEEP, /* timers: reclaim idle entries (XAUTOCLAIM), relay the outbox, rollup */
    WS_READ,      /* wait for a new entry (XREADGROUP ... > BLOCK) and handle it */
    WS_BACKOFF,   /* a connection failed: close both, sleep, reconnect */
    WS_DONE       /* stop requested or idle exit */
};

enum worker_event {
    WE_OK,    /* the step did its work (and may have more) */
    WE_EMPTY, /* the step found nothing to do */
    WE_IDLE,  /* nothing queued anywhere and exit_when_idle is set */
    WE_ERROR, /* Redis or PostgreSQL failed at the connection level */
    WE_STOP   /* SIGTERM/SIGINT */
};

/* The state after s when e happened. */
enum worker_state worker_next(enum worker_state s, enum worker_event e);

/* Name of s, for logs ("connect", ...). */
const char *worker_state_name(enum worker_state s);

/* Delay before SMTP retry number retry (1 = the first retry): base * 2^(retry-1), at most
 * max_ms. */
long worker_backoff_ms(int retry, int base_ms, int max_ms);

/* True when an entry delivered `deliveries` times (XPENDING's counter, this delivery
 * included) must go to the dead-letter stream instead of being handled. */
bool worker_should_dead_letter(long long deliveries, int max_deliveries);

/* What a delivery does, from the claim UPDATE (claimed: it moved the row to 'running') and
 * otherwise the row's status (NULL: no such report). */
enum worker_claim {
    WC_PROCESS, /* build, mail, record done, ack */
    WC_SKIP,    /* already done or failed: ack without side effects (duplicate delivery) */
    WC_FAIL     /* the report row is missing: a failed attempt (dead-lettered in the end) */
};
enum worker_claim worker_classify_claim(bool claimed, const char *status);

/* Parses a report id from a stream entry's field value. Returns it, or -1 when absent or
 * not a positive integer. */
long long worker_parse_report_id(const char *value);

#endif
