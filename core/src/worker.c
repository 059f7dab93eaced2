/* worker.c - the 06-async job consumer (apibench-worker): a state machine around
 * XREADGROUP/XAUTOCLAIM, the report builder, SMTP with retries and the reports table. */
#include "apibench/worker.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apibench/clock.h"
#include "apibench/db.h"
#include "apibench/jobstream.h"
#include "apibench/redis_prefix.h"
#include "apibench/mail.h"
#include "apibench/report.h"
#include "apibench/rollup.h"
#include "apibench/strbuf.h"

/* ---------------------------------------------------------------- pure decisions */

enum worker_state worker_next(enum worker_state s, enum worker_event e)
{
    if (e == WE_STOP || s == WS_DONE)
        return WS_DONE;
    if (e == WE_ERROR)
        return WS_BACKOFF;
    switch (s) {
    case WS_CONNECT:
        return WS_SETUP;
    case WS_SETUP:
        return WS_RECOVER;
    case WS_RECOVER:
        /* Keep re-reading own pending entries until none is left. */
        return e == WE_OK ? WS_RECOVER : WS_HOUSEKEEP;
    case WS_HOUSEKEEP:
        return WS_READ;
    case WS_READ:
        return e == WE_IDLE ? WS_DONE : WS_HOUSEKEEP;
    case WS_BACKOFF:
        return WS_CONNECT;
    case WS_DONE:
        break;
    }
    return WS_DONE;
}

const char *worker_state_name(enum worker_state s)
{
    static const char *const names[] = {"connect", "setup", "recover", "housekeep",
                                        "read",    "backoff", "done"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

long worker_backoff_ms(int retry, int base_ms, int max_ms)
{
    if (retry < 1)
        retry = 1;
    long d = base_ms;
    for (int i = 1; i < retry && d < max_ms; i++)
        d *= 2;
    return d < max_ms ? d : max_ms;
}

bool worker_should_dead_letter(long long deliveries, int max_deliveries)
{
    return deliveries > max_deliveries;
}

enum worker_claim worker_classify_claim(bool claimed, const char *status)
{
    if (claimed)
        return WC_PROCESS;
    if (status && (strcmp(status, "done") == 0 || strcmp(status, "failed") == 0))
        return WC_SKIP;
    return WC_FAIL;
}

long long worker_parse_report_id(const char *value)
{
    if (!value || !*value)
        return -1;
    char *end;
    errno = 0;
    long long id = strtoll(value, &end, 10);
    if (errno || *end || id <= 0)
        return -1;
    return id;
}

/* ---------------------------------------------------------------- configuration */

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

void worker_config_defaults(struct worker_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->redis_url = env_or("REDIS_URL", "redis://127.0.0.1:56379/0");
    cfg->database_url = env_or("WORKER_DATABASE_URL", env_or("DATABASE_URL", ""));
    cfg->smtp_url = env_or("SMTP_URL", "smtp://127.0.0.1:52525");
    cfg->mail_from = env_or("MAIL_FROM", MAIL_DEFAULT_FROM);
    cfg->stream = env_or("APIBENCH_STREAM", JOBSTREAM_DEFAULT_PREFIX);
    cfg->redis_prefix = env_or("APIBENCH_REDIS_PREFIX", "");
    cfg->group = env_or("APIBENCH_GROUP", JOBSTREAM_DEFAULT_GROUP);
    cfg->max_deliveries = 5;
    cfg->claim_idle_ms = 30000;
    cfg->block_ms = 2000;
    cfg->mail_retries = 3;
    cfg->mail_backoff_ms = 200;
    cfg->mail_backoff_max_ms = 5000;
    cfg->mail_timeout_ms = 10000;
    cfg->relay_every_ms = 2000;
    cfg->compare_reps = 5;
}

static const char usage[] =
    "usage: apibench-worker [options]\n"
    "  --redis-url URL          (REDIS_URL)\n"
    "  --database-url URL       (WORKER_DATABASE_URL, else DATABASE_URL)\n"
    "  --smtp-url URL           (SMTP_URL)\n"
    "  --mail-from ADDR         (MAIL_FROM)\n"
    "  --stream PREFIX          stream key prefix (APIBENCH_STREAM; apibench:jobs)\n"
    "  --redis-prefix P         before every Redis key (APIBENCH_REDIS_PREFIX; none)\n"
    "  --group NAME             consumer group (APIBENCH_GROUP; apibench-workers)\n"
    "  --consumer NAME          consumer name (worker-<host>-<pid>)\n"
    "  --max-deliveries N       dead-letter after N deliveries (5)\n"
    "  --claim-idle-ms MS       reclaim entries idle this long (30000)\n"
    "  --block-ms MS            XREADGROUP BLOCK (2000; waits of at most 1 s)\n"
    "  --mail-retries N         extra SMTP attempts per delivery (3)\n"
    "  --mail-backoff-ms MS     first retry delay, doubling (200)\n"
    "  --mail-backoff-max-ms MS retry delay cap (5000)\n"
    "  --mail-timeout-ms MS     per SMTP attempt (10000)\n"
    "  --relay-every-ms MS      outbox relay period (2000)\n"
    "  --rollup-every-s S       refresh readings_hourly every S seconds (0: off)\n"
    "  --report-from-rollup     build reports from readings_hourly + edges\n"
    "  --exit-when-idle         exit when the stream and the outbox are empty\n"
    "  --quiet                  no line per job\n"
    "  --compare-reports K:ID:H[,...]  measure raw vs rollup report builds (no jobs; the\n"
    "                           transaction is rolled back)\n"
    "  --compare-setup FILE     SQL to run first in that transaction (sql/async.sql)\n"
    "  --compare-reps N         timed builds per source (5)\n";

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int worker_config_parse(struct worker_config *cfg, int argc, char **argv, char *err,
                        size_t errlen)
{
    enum { O_REDIS = 256, O_DB, O_SMTP, O_FROM, O_STREAM, O_GROUP, O_CONSUMER, O_MAXDEL,
           O_CLAIM, O_BLOCK, O_RETRIES, O_BACKOFF, O_BACKOFF_MAX, O_MAIL_TIMEOUT, O_RELAY,
           O_ROLLUP, O_FROM_ROLLUP, O_IDLE, O_QUIET, O_HELP, O_COMPARE, O_COMPARE_SETUP,
           O_COMPARE_REPS, O_REDIS_PREFIX };
    static const struct option opts[] = {
        {"redis-url", required_argument, NULL, O_REDIS},
        {"database-url", required_argument, NULL, O_DB},
        {"smtp-url", required_argument, NULL, O_SMTP},
        {"mail-from", required_argument, NULL, O_FROM},
        {"stream", required_argument, NULL, O_STREAM},
        {"redis-prefix", required_argument, NULL, O_REDIS_PREFIX},
        {"group", required_argument, NULL, O_GROUP},
        {"consumer", required_argument, NULL, O_CONSUMER},
        {"max-deliveries", required_argument, NULL, O_MAXDEL},
        {"claim-idle-ms", required_argument, NULL, O_CLAIM},
        {"block-ms", required_argument, NULL, O_BLOCK},
        {"mail-retries", required_argument, NULL, O_RETRIES},
        {"mail-backoff-ms", required_argument, NULL, O_BACKOFF},
        {"mail-backoff-max-ms", required_argument, NULL, O_BACKOFF_MAX},
        {"mail-timeout-ms", required_argument, NULL, O_MAIL_TIMEOUT},
        {"relay-every-ms", required_argument, NULL, O_RELAY},
        {"rollup-every-s", required_argument, NULL, O_ROLLUP},
        {"report-from-rollup", no_argument, NULL, O_FROM_ROLLUP},
        {"exit-when-idle", no_argument, NULL, O_IDLE},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, O_HELP},
        {"compare-reports", required_argument, NULL, O_COMPARE},
        {"compare-setup", required_argument, NULL, O_COMPARE_SETUP},
        {"compare-reps", required_argument, NULL, O_COMPARE_REPS},
        {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c, idx = 0;
    while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        int bad = 0;
        switch (c) {
        case O_REDIS: cfg->redis_url = optarg; break;
        case O_DB: cfg->database_url = optarg; break;
        case O_SMTP: cfg->smtp_url = optarg; break;
        case O_FROM: cfg->mail_from = optarg; break;
        case O_STREAM: cfg->stream = optarg; break;
        case O_REDIS_PREFIX: cfg->redis_prefix = optarg; break;
        case O_GROUP: cfg->group = optarg; break;
        case O_CONSUMER: cfg->consumer = optarg; break;
        case O_MAXDEL: bad = parse_int(optarg, 1, 1000, &cfg->max_deliveries); break;
        case O_CLAIM: bad = parse_int(optarg, 1, 86400000, &cfg->claim_idle_ms); break;
        case O_BLOCK: bad = parse_int(optarg, 1, 600000, &cfg->block_ms); break;
        case O_RETRIES: bad = parse_int(optarg, 0, 100, &cfg->mail_retries); break;
        case O_BACKOFF: bad = parse_int(optarg, 0, 600000, &cfg->mail_backoff_ms); break;
        case O_BACKOFF_MAX: bad = parse_int(optarg, 0, 600000, &cfg->mail_backoff_max_ms); break;
        case O_MAIL_TIMEOUT: bad = parse_int(optarg, 100, 600000, &cfg->mail_timeout_ms); break;
        case O_RELAY: bad = parse_int(optarg, 10, 3600000, &cfg->relay_every_ms); break;
        case O_ROLLUP: bad = parse_int(optarg, 0, 86400, &cfg->rollup_every_s); break;
        case O_FROM_ROLLUP: cfg->report_from_rollup = true; break;
        case O_IDLE: cfg->exit_when_idle = true; break;
        case O_QUIET: cfg->quiet = true; break;
        case O_HELP: fputs(usage, stdout); return 1;
        case O_COMPARE: cfg->compare = optarg; break;
        case O_COMPARE_SETUP: cfg->compare_setup = optarg; break;
        case O_COMPARE_REPS: bad = parse_int(optarg, 1, 1000, &cfg->compare_reps); break;
        default:
            snprintf(err, errlen, "bad option '%s': see --help", argv[optind - 1]);
            return -1;
        }
        if (bad) {
            snprintf(err, errlen, "bad value '%s' for --%s: expected a number in range", optarg,
                     opts[idx].name);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s': see --help", argv[optind]);
        return -1;
    }
    if (redis_prefix_check(cfg->redis_prefix, err, errlen) != 0)
        return -1;
    if (!cfg->database_url || !*cfg->database_url) {
        snprintf(err, errlen, "no database: set WORKER_DATABASE_URL or --database-url");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- the worker */

#define STOP_CHECK_MS 1000 /* longest XREADGROUP BLOCK: SIGTERM waits at most this */

#define ISO(x) "to_char(" x ", 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Statement ids 59..63 (db.h). */
static const struct stmt st_claim = {
    59, "worker_claim",
    "UPDATE reports SET status = 'running', attempts = attempts + 1, started_at = now() "
    "WHERE id = $1 AND status IN ('queued', 'running') "
    "RETURNING kind, target_id, hours, email, attempts",
    1};
static const struct stmt st_status = {60, "worker_status",
                                      "SELECT status FROM reports WHERE id = $1", 1};
static const struct stmt st_attempt_failed = {
    61, "worker_attempt_failed",
    "UPDATE reports SET status = 'queued', error = $2 WHERE id = $1 AND status = 'running'", 2};
static const struct stmt st_done = {
    62, "worker_done",
    "UPDATE reports SET status = 'done', result = $2::jsonb, mails_sent = mails_sent + 1, "
    "mailed_at = now(), finished_at = now(), error = NULL WHERE id = $1 "
    "RETURNING attempts, mails_sent",
    2};
static const struct stmt st_dead = {
    63, "worker_dead",
    "UPDATE reports SET status = 'failed', finished_at = now(), "
    "error = 'dead-lettered after ' || $2 || ' deliveries: ' || coalesce(error, 'no error recorded') "
    "WHERE id = $1 AND status <> 'done' RETURNING error",
    2};

struct worker {
    const struct worker_config *cfg;
    volatile sig_atomic_t *stop;
    struct jobstream_names names;
    struct redis_url redis;
    char consumer[160];
    redisContext *rc;
    struct dbconn *db;
    int backoff_round;
    long long next_reclaim_ms, next_relay_ms, next_rollup_ms;
    long long outbox_left;
    char recover_from[64]; /* WS_RECOVER's cursor through this consumer's pending list */
};

/* Sleeps ms, or less when a stop is requested (SIGTERM must end the worker within 2 s). */
static void sleep_ms(const struct worker *w, long ms)
{
    long long until = clock_mono_ms() + ms;
    for (long long left = ms; left > 0 && !*w->stop; left = until - clock_mono_ms()) {
        long slice = left < 50 ? (long)left : 50;
        struct timespec ts = {0, slice * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void logf_(const struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const struct worker *w, const char *fmt, ...)
{
    if (w->cfg->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "apibench-worker %s: ", w->consumer);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* True when the last Redis or database call broke the connection. */
static bool broken(const struct worker *w)
{
    return !w->rc || w->rc->err || !w->db || w->db->broken;
}

static void count(struct worker *w, const char *field, long long by)
{
    jobstream_count(w->rc, &w->names, field, by);
}

/* XACK, XDEL and the counters that go with them (field1, field2; NULL for none) in one
 * MULTI/EXEC: a crash cannot acknowledge a job without counting it, or the reverse. */
static void ack(struct worker *w, const char *entry_id, const char *field1, const char *field2)
{
    int n = 4;
    redisAppendCommand(w->rc, "MULTI");
    redisAppendCommand(w->rc, "XACK %s %s %s", w->names.stream, w->names.group, entry_id);
    redisAppendCommand(w->rc, "XDEL %s %s", w->names.stream, entry_id);
    if (field1) {
        redisAppendCommand(w->rc, "HINCRBY %s %s 1", w->names.stats, field1);
        n++;
    }
    if (field2) {
        redisAppendCommand(w->rc, "HINCRBY %s %s 1", w->names.stats, field2);
        n++;
    }
    redisAppendCommand(w->rc, "EXEC");
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(w->rc, (void **)&r) != REDIS_OK)
            return;
        freeReplyObject(r);
    }
}

/* How many times entry_id has been delivered (XPENDING's counter), or -1. */
static long long deliveries(struct worker *w, const char *entry_id)
{
    long long n = -1;
    redisReply *r = redisCommand(w->rc, "XPENDING %s %s %s %s 1", w->names.stream,
                                 w->names.group, entry_id, entry_id);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 4)
        n = r->element[0]->element[3]->integer;
    if (r)
        freeReplyObject(r);
    return n;
}

/* SIGTERM while the job was in progress: the row goes back to 'queued' and the entry is
 * left pending, not acknowledged, for XAUTOCLAIM (another worker, after claim_idle_ms) or
 * this consumer's next start (WS_RECOVER). Not counted as a failed attempt. */
static void release(struct worker *w, const char *id)
{
    const char *params[] = {id, "released: the worker stopped before the job finished"};
    PQclear(db_query(w->db, &st_attempt_failed, params));
    count(w, "released", 1);
    logf_(w, "job %s released: stopping", id);
}

/* Records a failed attempt: the row goes back to 'queued' with the reason, the entry stays
 * pending, and XAUTOCLAIM delivers it again after claim_idle_ms. */
static void attempt_failed(struct worker *w, const char *id, const char *why)
{
    const char *params[] = {id, why};
    PQclear(db_query(w->db, &st_attempt_failed, params));
    count(w, "failed", 1);
    logf_(w, "job %s attempt failed: %s", id, why);
}

static void dead_letter(struct worker *w, const char *entry_id, const char *id, long long n)
{
    char nbuf[24];
    snprintf(nbuf, sizeof(nbuf), "%lld", n);
    char error[512] = "no valid report id in the entry";
    if (worker_parse_report_id(id) > 0) {
        snprintf(error, sizeof(error), "report %s does not exist", id);
        const char *params[] = {id, nbuf};
        PGresult *r = db_query(w->db, &st_dead, params);
        if (!r)
            return; /* database gone: try again on the next delivery */
        if (db_ok(r) && PQntuples(r) == 1)
            snprintf(error, sizeof(error), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    redisReply *x = redisCommand(w->rc, "XADD %s * report %s deliveries %s entry %s error %s",
                                 w->names.dead, id, nbuf, entry_id, error);
    if (!x)
        return;
    freeReplyObject(x);
    ack(w, entry_id, "dead_lettered", NULL);
    logf_(w, "job %s dead-lettered after %lld deliveries", id, n);
}

/* Sends the report e-mail with retries and exponential backoff. Returns 0 or -1 (err). */
static int send_with_retries(struct worker *w, const char *entry_id, const struct mail *m,
                             char *err, size_t errlen)
{
    for (int attempt = 0;; attempt++) {
        if (mail_send(w->cfg->smtp_url, m, w->cfg->mail_timeout_ms, err, errlen) == 0)
            return 0;
        if (attempt >= w->cfg->mail_retries || *w->stop)
            return -1;
        long delay = worker_backoff_ms(attempt + 1, w->cfg->mail_backoff_ms,
                                       w->cfg->mail_backoff_max_ms);
        logf_(w, "%s; retry %d in %ld ms", err, attempt + 1, delay);
        count(w, "retried", 1);
        sleep_ms(w, delay);
        if (*w->stop)
            return -1;
        /* Still working on it: reset the entry's idle time so that no other worker's
         * XAUTOCLAIM takes it over (JUSTID: the delivery counter does not move). */
        redisReply *r = redisCommand(w->rc, "XCLAIM %s %s %s 0 %s JUSTID", w->names.stream,
                                     w->names.group, w->consumer, entry_id);
        if (r)
            freeReplyObject(r);
    }
}

/* Handles one delivered entry. Returns 0, or -1 when a connection broke (the entry stays
 * pending and is handled again after reconnecting). */
static int handle_entry(struct worker *w, const char *entry_id, const char *report_field)
{
    int rc = 0;
    PGresult *claim = NULL, *st = NULL, *done = NULL;
    json_t *report = NULL;
    char *text = NULL, *result = NULL;
    char id[24], err[400];
    long long t0 = clock_mono_ms();

    long long report_id = worker_parse_report_id(report_field);
    snprintf(id, sizeof(id), "%s", report_field && report_id > 0 ? report_field : "?");

    long long n = deliveries(w, entry_id);
    if (n < 0)
        return broken(w) ? -1 : 0; /* not pending any more (acknowledged elsewhere) */
    if (worker_should_dead_letter(n, w->cfg->max_deliveries)) {
        dead_letter(w, entry_id, id, n);
        return broken(w) ? -1 : 0;
    }
    if (report_id <= 0) {
        count(w, "failed", 1);
        logf_(w, "entry %s has no valid report id: attempt failed", entry_id);
        return 0;
    }

    const char *p_id[] = {id};
    claim = db_query(w->db, &st_claim, p_id);
    if (!claim)
        goto broken;
    bool claimed = db_ok(claim) && PQntuples(claim) == 1;
    const char *status = NULL;
    if (!claimed) {
        st = db_query(w->db, &st_status, p_id);
        if (!st)
            goto broken;
        if (db_ok(st) && PQntuples(st) == 1)
            status = PQgetvalue(st, 0, 0);
    }
    switch (worker_classify_claim(claimed, status)) {
    case WC_SKIP:
        /* Delivered again after it was finished (crash before XACK, or relayed twice). */
        ack(w, entry_id, "duplicate_skipped", NULL);
        logf_(w, "job %s already %s: acknowledged without side effects", id, status);
        goto out;
    case WC_FAIL:
        count(w, "failed", 1);
        logf_(w, "job %s: report row missing, attempt failed", id);
        goto out;
    case WC_PROCESS:
        break;
    }
    count(w, "started", 1);

    struct report_request req = {PQgetvalue(claim, 0, 0), atoi(PQgetvalue(claim, 0, 1)),
                                 atoi(PQgetvalue(claim, 0, 2)), PQgetvalue(claim, 0, 3)};
    struct apierr aerr = {0};
    if (report_build(w->db, &req,
                     w->cfg->report_from_rollup ? REPORT_FROM_ROLLUP : REPORT_FROM_READINGS,
                     &report, &aerr) != 0) {
        if (w->db->broken)
            goto broken;
        attempt_failed(w, id, aerr.message);
        goto out;
    }
    char subject[160];
    report_mail_subject(report, subject, sizeof(subject));
    text = report_mail_text(report, report_id);
    struct mail m = {w->cfg->mail_from, req.email, subject, text, report_id, w->stop};
    if (send_with_retries(w, entry_id, &m, err, sizeof(err)) != 0) {
        if (*w->stop)
            release(w, id);
        else
            attempt_failed(w, id, err);
        goto out;
    }
    /* The mail server has the message: a crash from here to the UPDATE re-sends it. */
    result = json_dumps(report, JSON_COMPACT | JSON_REAL_PRECISION(15));
    const char *p_done[] = {id, result};
    done = db_query(w->db, &st_done, p_done);
    if (!done)
        goto broken;
    if (!db_ok(done) || PQntuples(done) != 1) {
        snprintf(err, sizeof(err), "cannot record job done: %s", PQresultErrorMessage(done));
        attempt_failed(w, id, err);
        goto out;
    }
    int attempts = atoi(PQgetvalue(done, 0, 0));
    ack(w, entry_id, "completed", attempts > 1 ? "redelivered_completed" : NULL);
    logf_(w, "job %s done (delivery %lld, attempt %d, mails_sent %s, %lld ms)", id, n, attempts,
          PQgetvalue(done, 0, 1), clock_mono_ms() - t0);
    goto out;
broken:
    rc = -1;
out:
    free(result);
    free(text);
    json_decref(report);
    PQclear(done);
    PQclear(st);
    PQclear(claim);
    return rc;
}

/* Handles every entry of an XREADGROUP/XAUTOCLAIM entry array. Sets *handled and copies
 * the last entry id into last (when not NULL). Returns -1 when a connection broke. */
static int handle_entries(struct worker *w, const redisReply *entries, int *handled,
                          char *last, size_t lastlen)
{
    *handled = 0;
    if (!entries || entries->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || !e->element[0]->str)
            continue;
        const char *entry_id = e->element[0]->str;
        const redisReply *fields = e->element[1];
        if (last)
            snprintf(last, lastlen, "%s", entry_id);
        const char *report = NULL;
        if (fields->type == REDIS_REPLY_ARRAY) {
            for (size_t k = 0; k + 1 < fields->elements; k += 2)
                if (fields->element[k]->str && strcmp(fields->element[k]->str, "report") == 0)
                    report = fields->element[k + 1]->str;
        } else {
            /* A pending entry deleted from the stream: nothing left to do. */
            ack(w, entry_id, NULL, NULL);
            (*handled)++;
            continue;
        }
        if (handle_entry(w, entry_id, report) != 0)
            return -1;
        (*handled)++;
        if (*w->stop)
            break;
    }
    return 0;
}

/* XREADGROUP ... STREAMS <stream> <from>; from = an id: this consumer's pending entries
 * after it (the cursor moves on, so that an entry whose attempt failed is not re-read at
 * once: XAUTOCLAIM retries it after claim_idle_ms); ">" = new entries. */
static enum worker_event read_group(struct worker *w, const char *from, int block_ms)
{
    bool history = strcmp(from, ">") != 0;
    redisReply *r;
    if (block_ms > 0)
        r = redisCommand(w->rc, "XREADGROUP GROUP %s %s COUNT 10 BLOCK %d STREAMS %s %s",
                         w->names.group, w->consumer, block_ms, w->names.stream, from);
    else
        r = redisCommand(w->rc, "XREADGROUP GROUP %s %s COUNT 10 STREAMS %s %s",
                         w->names.group, w->consumer, w->names.stream, from);
    if (!r)
        return WE_ERROR;
    if (r->type == REDIS_REPLY_ERROR) {
        logf_(w, "XREADGROUP: %s", r->str);
        bool nogroup = strncmp(r->str, "NOGROUP", 7) == 0;
        freeReplyObject(r);
        return nogroup ? WE_ERROR : WE_EMPTY; /* NOGROUP: the stream was deleted */
    }
    int handled = 0, rc = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
        rc = handle_entries(w, r->element[0]->element[1], &handled,
                            history ? w->recover_from : NULL, sizeof(w->recover_from));
    freeReplyObject(r);
    if (rc != 0)
        return WE_ERROR;
    return handled > 0 ? WE_OK : WE_EMPTY;
}

/* Claims entries idle longer than claim_idle_ms from any consumer (a crashed one, or this
 * one after a failed attempt) and handles them. */
static int reclaim(struct worker *w)
{
    char cursor[64] = "0-0";
    for (int round = 0; round < 10 && !*w->stop; round++) {
        redisReply *r = redisCommand(w->rc, "XAUTOCLAIM %s %s %s %d %s COUNT 10",
                                     w->names.stream, w->names.group, w->consumer,
                                     w->cfg->claim_idle_ms, cursor);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
            freeReplyObject(r);
            return 0;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str ? r->element[0]->str : "0-0");
        int handled = 0;
        size_t claimed = r->element[1]->type == REDIS_REPLY_ARRAY ? r->element[1]->elements : 0;
        if (claimed > 0) {
            count(w, "reclaimed", (long long)claimed);
            logf_(w, "reclaimed %zu idle entries", claimed);
        }
        int rc = handle_entries(w, r->element[1], &handled, NULL, 0);
        freeReplyObject(r);
        if (rc != 0)
            return -1;
        if (strcmp(cursor, "0-0") == 0)
            break;
    }
    return 0;
}

/* Runs whichever timers are due: reclaim, outbox relay, rollup refresh. */
static enum worker_event housekeep(struct worker *w)
{
    long long now = clock_mono_ms();
    char err[400];
    if (now >= w->next_reclaim_ms) {
        int every = w->cfg->claim_idle_ms / 2;
        w->next_reclaim_ms = now + (every < 100 ? 100 : every > 5000 ? 5000 : every);
        if (reclaim(w) != 0)
            return WE_ERROR;
    }
    if (now >= w->next_relay_ms) {
        w->next_relay_ms = now + w->cfg->relay_every_ms;
        int moved = 0;
        if (jobstream_relay(w->db, w->rc, &w->names, 5000, &moved, &w->outbox_left, err,
                            sizeof(err)) != 0) {
            logf_(w, "outbox relay: %s", err);
            if (broken(w))
                return WE_ERROR;
        } else if (moved > 0) {
            logf_(w, "relayed %d jobs from the outbox", moved);
        }
    }
    if (w->cfg->rollup_every_s > 0 && now >= w->next_rollup_ms) {
        w->next_rollup_ms = now + (long long)w->cfg->rollup_every_s * 1000;
        long long rows = 0, t0 = clock_mono_ms();
        if (rollup_refresh(w->db, &rows, err, sizeof(err)) != 0) {
            logf_(w, "rollup: %s", err);
            if (broken(w))
                return WE_ERROR;
        } else if (rows >= 0) {
            logf_(w, "rollup: %lld hourly rows in %lld ms", rows, clock_mono_ms() - t0);
        }
    }
    return WE_OK;
}

/* With exit_when_idle: true when the stream holds no unfinished entry and the outbox is
 * empty (relayed jobs would otherwise be missed). */
static bool idle(struct worker *w)
{
    if (!w->cfg->exit_when_idle)
        return false;
    int moved = 0;
    char err[300];
    if (jobstream_relay(w->db, w->rc, &w->names, 0, &moved, &w->outbox_left, err,
                        sizeof(err)) != 0 || moved > 0 || w->outbox_left != 0)
        return false;
    redisReply *r = redisCommand(w->rc, "XLEN %s", w->names.stream);
    bool empty = r && r->type == REDIS_REPLY_INTEGER && r->integer == 0;
    if (r)
        freeReplyObject(r);
    return empty;
}

static enum worker_event step_connect(struct worker *w)
{
    char err[400];
    if (!w->rc) {
        w->rc = redis_url_connect(&w->redis, 2000, w->cfg->block_ms + 5000, err, sizeof(err));
        if (!w->rc) {
            logf_(w, "%s", err);
            return WE_ERROR;
        }
    }
    if (!w->db) {
        w->db = db_connect(w->cfg->database_url, "apibench-worker", err, sizeof(err));
        if (!w->db) {
            logf_(w, "%s", err);
            return WE_ERROR;
        }
        w->db->prepare = true; /* one long-lived connection: prepare each statement once */
    }
    return WE_OK;
}

static void disconnect(struct worker *w)
{
    if (w->rc)
        redisFree(w->rc);
    w->rc = NULL;
    db_close(w->db);
    w->db = NULL;
}

int worker_run(const struct worker_config *cfg, volatile sig_atomic_t *stop)
{
    struct worker w = {.cfg = cfg, .stop = stop, .outbox_left = -1};
    char err[300] = "";
    if (redis_url_parse(cfg->redis_url, &w.redis, err, sizeof(err)) != 0 ||
        redis_prefix_check(cfg->redis_prefix, err, sizeof(err)) != 0 ||
        jobstream_names_init_prefixed(&w.names, cfg->redis_prefix, cfg->stream, cfg->group) !=
            0) {
        fprintf(stderr, "apibench-worker: %s\n", err[0] ? err : "stream name too long");
        redis_url_free(&w.redis);
        return 2;
    }
    if (cfg->consumer) {
        snprintf(w.consumer, sizeof(w.consumer), "%s", cfg->consumer);
    } else {
        char host[64] = "host";
        gethostname(host, sizeof(host) - 1);
        snprintf(w.consumer, sizeof(w.consumer), "worker-%s-%d", host, (int)getpid());
    }
    if (mail_global_init() != 0) {
        fprintf(stderr, "apibench-worker: cannot initialise libcurl\n");
        redis_url_free(&w.redis);
        return 1;
    }

    enum worker_state s = WS_CONNECT;
    while (s != WS_DONE) {
        enum worker_event e;
        if (*stop) {
            s = worker_next(s, WE_STOP);
            continue;
        }
        switch (s) {
        case WS_CONNECT:
            /* Both connections, or back off: a worker outlives Redis and Postgres restarts. */
            e = step_connect(&w);
            break;
        case WS_SETUP:
            snprintf(w.recover_from, sizeof(w.recover_from), "0");
            /* The group starts at 0, not $: jobs added before any worker ran are kept. */
            e = jobstream_create_group(w.rc, &w.names, err, sizeof(err)) == 0 ? WE_OK : WE_ERROR;
            if (e == WE_ERROR)
                logf_(&w, "%s", err);
            else
                logf_(&w, "consuming %s as %s/%s", w.names.stream, w.names.group, w.consumer);
            break;
        case WS_RECOVER:
            /* Entries delivered to this consumer name and never acknowledged (a previous
             * run with the same --consumer crashed): handle them before new work. */
            e = read_group(&w, w.recover_from, 0);
            break;
        case WS_HOUSEKEEP:
            e = housekeep(&w);
            break;
        case WS_READ:
            /* Block for new entries (at most STOP_CHECK_MS at a time: hiredis resumes a
             * read that a signal interrupts, so a stop is seen only when BLOCK ends);
             * after an empty wait, maybe exit when idle. */
            e = read_group(&w, ">", cfg->block_ms < STOP_CHECK_MS ? cfg->block_ms : STOP_CHECK_MS);
            if (e == WE_EMPTY && idle(&w))
                e = WE_IDLE;
            if (e != WE_ERROR && broken(&w))
                e = WE_ERROR;
            break;
        case WS_BACKOFF:
            /* Close both connections and wait before reconnecting (doubling to 5 s). */
            disconnect(&w);
            w.backoff_round++;
            sleep_ms(&w, worker_backoff_ms(w.backoff_round, 200, 5000));
            e = WE_OK;
            break;
        default:
            e = WE_STOP;
            break;
        }
        if (s == WS_RECOVER && e == WE_EMPTY)
            w.backoff_round = 0;
        enum worker_state next = worker_next(s, e);
        if (next == WS_BACKOFF && s != WS_BACKOFF)
            logf_(&w, "connection lost in state %s: reconnecting", worker_state_name(s));
        s = next;
    }
    logf_(&w, "stopped");
    disconnect(&w);
    redis_url_free(&w.redis);
    return 0;
}

/* ---------------------------------------------------------------- measurement mode */

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Builds req from src once, timed. Returns the report (new reference) or NULL. */
static json_t *timed_build(struct dbconn *c, const struct report_request *req,
                           enum report_source src, long long *us)
{
    struct apierr e = {0};
    json_t *out = NULL;
    long long t0 = clock_mono_us();
    if (report_build(c, req, src, &out, &e) != 0) {
        fprintf(stderr, "apibench-worker: %s %d: %s\n", req->kind, req->target_id, e.message);
        return NULL;
    }
    *us = clock_mono_us() - t0;
    return out;
}

int worker_compare_reports(const struct worker_config *cfg)
{
    char err[400];
    int rc = 2;
    char *specs = xstrdup(cfg->compare), *setup = NULL;
    long long *raw = xcalloc((size_t)cfg->compare_reps, sizeof(long long));
    long long *rolled = xcalloc((size_t)cfg->compare_reps, sizeof(long long));
    struct dbconn *c = db_connect(cfg->database_url, "apibench-worker-compare", err, sizeof(err));
    if (!c) {
        fprintf(stderr, "apibench-worker: %s\n", err);
        goto out;
    }
    c->prepare = true;
    if (db_exec_simple(c, "BEGIN") != 0)
        goto pgfail;
    if (cfg->compare_setup) {
        if (!(setup = strbuf_read_file(cfg->compare_setup, NULL))) {
            fprintf(stderr, "apibench-worker: cannot read %s\n", cfg->compare_setup);
            goto out;
        }
        if (db_exec_simple(c, setup) != 0)
            goto pgfail;
    }
    long long rows = 0, t0 = clock_mono_us();
    if (rollup_refresh_in_tx(c, &rows, err, sizeof(err)) != 0) {
        fprintf(stderr, "apibench-worker: %s\n", err);
        goto out;
    }
    printf("rollup refresh: %lld hourly rows in %.1f ms\n", rows, (double)(clock_mono_us() - t0) / 1000);
    if (db_exec_simple(c, "ANALYZE readings_hourly") != 0)
        goto pgfail;
    rc = 0;
    printf("%-18s %12s %12s %8s  equal\n", "report", "raw_p50_ms", "rollup_p50_ms", "speedup");
    for (char *save = NULL, *spec = strtok_r(specs, ",", &save); spec;
         spec = strtok_r(NULL, ",", &save)) {
        char kind[16];
        int id, hours;
        if (sscanf(spec, "%15[a-z]:%d:%d", kind, &id, &hours) != 3) {
            fprintf(stderr, "apibench-worker: bad report spec '%s': expected kind:id:hours\n", spec);
            rc = 2;
            goto rollback;
        }
        struct report_request req = {kind, id, hours, "x@example.com"};
        long long us;
        json_t *a = timed_build(c, &req, REPORT_FROM_READINGS, &us); /* warm-up */
        json_t *b = timed_build(c, &req, REPORT_FROM_ROLLUP, &us);
        if (!a || !b) {
            json_decref(a);
            json_decref(b);
            rc = 2;
            goto rollback;
        }
        bool equal = json_equal(json_object_get(a, "devices"), json_object_get(b, "devices")) &&
                     json_equal(json_object_get(a, "totals"), json_object_get(b, "totals"));
        json_decref(a);
        json_decref(b);
        for (int i = 0; i < cfg->compare_reps; i++) {
            json_decref(timed_build(c, &req, REPORT_FROM_READINGS, &raw[i]));
            json_decref(timed_build(c, &req, REPORT_FROM_ROLLUP, &rolled[i]));
        }
        qsort(raw, (size_t)cfg->compare_reps, sizeof(long long), cmp_ll);
        qsort(rolled, (size_t)cfg->compare_reps, sizeof(long long), cmp_ll);
        double r50 = (double)raw[cfg->compare_reps / 2] / 1000;
        double o50 = (double)rolled[cfg->compare_reps / 2] / 1000;
        printf("%-18s %12.2f %12.2f %7.2fx  %s\n", spec, r50, o50, o50 > 0 ? r50 / o50 : 0,
               equal ? "yes" : "NO");
        if (!equal)
            rc = 1;
    }
rollback:
    db_exec_simple(c, "ROLLBACK");
    goto out;
pgfail:
    fprintf(stderr, "apibench-worker: %s", PQerrorMessage(c->pg));
    rc = 2;
out:
    db_close(c);
    free(setup);
    free(raw);
    free(rolled);
    free(specs);
    return rc;
}
