/* jobs_queue.c - 06-async: POST /api/reports records the job and returns 202;
 * apibench-worker builds the report and sends the e-mail.
 *
 * Transactional outbox: the 'queued' report row and its outbox row are inserted by one
 * statement (one transaction), then the job is XADDed and the outbox row deleted. If the
 * process dies or Redis is down between the commit and the XADD, the outbox row remains
 * and a relay adds the job later: this build's relay thread (at start, and whenever an
 * XADD failed, until the outbox is empty) and apibench-worker's periodic relay. The job is
 * durable once the row is committed, so the answer is 202 even when Redis is down. */
#include "apibench/jobs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apibench/clock.h"
#include "apibench/config.h"
#include "apibench/db.h"
#include "apibench/jobstream.h"
#include "apibench/redis_prefix.h"
#include "apibench/report.h"
#include "apibench/strbuf.h"
#include "apibench/metrics.h"

#define ISO(x) "to_char(" x ", 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Statement id 58 (see db.h). */
static const struct stmt st_enqueue = {
    58, "queue_report_insert",
    "WITH r AS (INSERT INTO reports (user_id, kind, target_id, hours, email, status) "
    " VALUES ($1, $2, $3, $4, $5, 'queued') RETURNING id, created_at) "
    "INSERT INTO outbox (report_id, created_at) SELECT id, created_at FROM r "
    "RETURNING report_id, " ISO("created_at"),
    5};

#define REDIS_CONNECT_MS 500
#define REDIS_COMMAND_MS 2000
#define REDIS_RETRY_US 1000000 /* after a failed connect, wait this long before the next */
#define RELAY_MIN_AGE_MS 1000  /* leave rows whose request is still adding them */
#define RELAY_RETRY_MS 1000

struct jobs {
    struct redis_url redis;
    struct jobstream_names names;
    char *database_url;

    pthread_mutex_t mu;  /* guards rc and next_connect_us (request threads, /metrics) */
    redisContext *rc;
    long long next_connect_us;

    pthread_t relay;
    bool relay_started;
    pthread_mutex_t relay_mu;
    pthread_cond_t relay_cv;
    bool relay_wanted, stopping;

    atomic_ullong xadd_failed, relayed, relay_errors;
    atomic_llong outbox_left;
};

/* The shared context, (re)connected when needed; call with mu held. NULL when Redis is
 * down (no new attempt before next_connect_us). */
static redisContext *redis_locked(struct jobs *j)
{
    if (j->rc && j->rc->err) {
        redisFree(j->rc);
        j->rc = NULL;
    }
    if (!j->rc && clock_mono_us() >= j->next_connect_us) {
        char err[256];
        j->rc = redis_url_connect(&j->redis, REDIS_CONNECT_MS, REDIS_COMMAND_MS, err, sizeof(err));
        if (!j->rc)
            j->next_connect_us = clock_mono_us() + REDIS_RETRY_US;
        else if (jobstream_create_group(j->rc, &j->names, err, sizeof(err)) != 0)
            fprintf(stderr, "06-async: %s\n", err);
    }
    return j->rc;
}

static void relay_wake(struct jobs *j)
{
    pthread_mutex_lock(&j->relay_mu);
    j->relay_wanted = true;
    pthread_cond_signal(&j->relay_cv);
    pthread_mutex_unlock(&j->relay_mu);
}

/* The relay thread. It sleeps until woken (a failed XADD) and then relays every second
 * until the outbox is empty; it runs once at start for rows a previous process left. */
static void *relay_main(void *arg)
{
    struct jobs *j = arg;
    struct dbconn *c = NULL;
    redisContext *rc = NULL;
    bool again = true; /* the first pass */
    for (;;) {
        pthread_mutex_lock(&j->relay_mu);
        if (!again) {
            while (!j->relay_wanted && !j->stopping)
                pthread_cond_wait(&j->relay_cv, &j->relay_mu);
        } else if (!j->stopping) {
            struct timespec until = clock_deadline_after_ms(CLOCK_REALTIME, RELAY_RETRY_MS);
            pthread_cond_timedwait(&j->relay_cv, &j->relay_mu, &until);
        }
        j->relay_wanted = false;
        bool stop = j->stopping;
        pthread_mutex_unlock(&j->relay_mu);
        if (stop)
            break;

        char err[300];
        again = true;
        if (!c || c->broken) {
            db_close(c);
            c = db_connect(j->database_url, "apibench-06-async-relay", err, sizeof(err));
            if (!c)
                continue;
        }
        if (rc && rc->err) {
            redisFree(rc);
            rc = NULL;
        }
        if (!rc && !(rc = redis_url_connect(&j->redis, REDIS_CONNECT_MS, REDIS_COMMAND_MS, err,
                                            sizeof(err))))
            continue;
        int moved = 0;
        long long left = -1;
        int r = jobstream_relay(c, rc, &j->names, RELAY_MIN_AGE_MS, &moved, &left, err,
                                sizeof(err));
        atomic_fetch_add(&j->relayed, (unsigned long long)moved);
        if (r != 0)
            atomic_fetch_add(&j->relay_errors, 1);
        if (left >= 0)
            atomic_store(&j->outbox_left, left);
        again = r != 0 || left != 0;
    }
    if (rc)
        redisFree(rc);
    db_close(c);
    return NULL;
}

static struct jobs *queue_open(const struct config *cfg, char *err, size_t errlen)
{
    struct jobs *j = xcalloc(1, sizeof(*j));
    pthread_mutex_init(&j->mu, NULL);
    pthread_mutex_init(&j->relay_mu, NULL);
    pthread_cond_init(&j->relay_cv, NULL);
    atomic_store(&j->outbox_left, -1);
    if (redis_url_parse(cfg->redis_url ? cfg->redis_url : "redis://127.0.0.1:6379/0",
                        &j->redis, err, errlen) != 0)
        goto fail;
    if (redis_prefix_check(cfg->redis_prefix, err, errlen) != 0)
        goto fail;
    if (jobstream_names_init_prefixed(&j->names, cfg->redis_prefix, getenv("APIBENCH_STREAM"),
                                      getenv("APIBENCH_GROUP")) != 0) {
        snprintf(err, errlen, "bad APIBENCH_STREAM: name too long");
        goto fail;
    }
    j->database_url = xstrdup(cfg->database_url ? cfg->database_url : "");
    /* Refuse to start without the outbox (as 02 refuses without its indexes); an
     * unreachable database is not a reason: requests get 503 until it is back. */
    struct dbconn *c = db_connect(j->database_url, "06-async", err, errlen);
    if (c) {
        int rc = jobstream_check_schema(c, err, errlen);
        db_close(c);
        if (rc == -1)
            goto fail;
    }
    pthread_mutex_lock(&j->mu);
    redis_locked(j); /* creates the group when Redis is up; down is not fatal */
    pthread_mutex_unlock(&j->mu);
    if (pthread_create(&j->relay, NULL, relay_main, j) != 0) {
        snprintf(err, errlen, "cannot start the outbox relay thread");
        goto fail;
    }
    j->relay_started = true;
    return j;
fail:
    redis_url_free(&j->redis);
    free(j->database_url);
    free(j);
    return NULL;
}

static int queue_submit(struct jobs *j, struct reqctx *ctx, const struct caller *who,
                        const struct report_request *req, struct job_reply *reply,
                        struct apierr *err)
{
    struct report_row row;
    struct dbconn *c = report_admit(ctx, who, req, &row, err);
    if (!c)
        return -1;
    PGresult *r = db_query(c, &st_enqueue, row.params);
    if (!db_ok(r) || PQntuples(r) != 1) {
        /* A statement error (e.g. sql/async.sql not applied: no outbox table) is a 500 that
         * says so; a lost connection is a 503. */
        const char *msg = r ? PQresultErrorMessage(r) : "";
        int n = (int)strcspn(msg, "\n");
        if (r && !c->broken)
            apierr_set(err, 500, "cannot queue report: %.*s", n > 180 ? 180 : n, msg);
        else
            apierr_set(err, 503, "cannot queue report: database unavailable");
        PQclear(r);
        return -1;
    }
    long long id = atoll(PQgetvalue(r, 0, 0));
    /* Committed: from here on the job is accepted, whatever Redis does. */
    char xerr[256];
    int added;
    pthread_mutex_lock(&j->mu);
    redisContext *rc = redis_locked(j);
    added = rc ? jobstream_add(rc, &j->names, id, false, xerr, sizeof(xerr)) : -1;
    pthread_mutex_unlock(&j->mu);
    if (added == 0)
        jobstream_outbox_done(c, id); /* on failure the relay adds it again: harmless */
    else {
        atomic_fetch_add(&j->xadd_failed, 1);
        relay_wake(j);
    }
    metrics_add(C_JOBS_ENQUEUED, 1);
    reply->status = 202;
    snprintf(reply->location, sizeof(reply->location), "/api/jobs/%lld", id);
    reply->body = json_pack("{s:{s:I,s:s,s:s,s:i,s:i,s:s,s:i,s:i,s:s}}", "job", "id",
                            (json_int_t)id, "status", "queued", "kind", req->kind, "target_id",
                            req->target_id, "hours", req->hours, "email", req->email,
                            "attempts", 0, "mails_sent", 0, "created_at", PQgetvalue(r, 0, 1));
    PQclear(r);
    if (!reply->body)
        return apierr_set(err, 500, "cannot render job reply");
    return 0;
}

static void queue_render_metrics(struct jobs *j, struct strbuf *out)
{
    strbuf_appendf(out,
                   "# HELP apibench_jobs_xadd_failed_total Accepted jobs whose XADD failed "
                   "(left in the outbox for the relay).\n"
                   "# TYPE apibench_jobs_xadd_failed_total counter\n"
                   "apibench_jobs_xadd_failed_total %llu\n"
                   "# HELP apibench_jobs_relayed_by_server_total Outbox rows this server "
                   "relayed into the stream.\n"
                   "# TYPE apibench_jobs_relayed_by_server_total counter\n"
                   "apibench_jobs_relayed_by_server_total %llu\n",
                   (unsigned long long)atomic_load(&j->xadd_failed),
                   (unsigned long long)atomic_load(&j->relayed));
    long long left = atomic_load(&j->outbox_left);
    if (left >= 0)
        strbuf_appendf(out,
                       "# HELP apibench_jobs_outbox_rows Outbox rows left at the relay's last "
                       "pass.\n# TYPE apibench_jobs_outbox_rows gauge\n"
                       "apibench_jobs_outbox_rows %lld\n", left);
    pthread_mutex_lock(&j->mu);
    redisContext *rc = redis_locked(j);
    int ok = rc ? jobstream_render_metrics(rc, &j->names, out) : -1;
    pthread_mutex_unlock(&j->mu);
    strbuf_appendf(out, "# HELP apibench_jobs_queue_up Whether the job queue (Redis) answered "
                        "this scrape.\n# TYPE apibench_jobs_queue_up gauge\n"
                        "apibench_jobs_queue_up %d\n", ok == 0 ? 1 : 0);
}

static void queue_close(struct jobs *j)
{
    if (!j)
        return;
    if (j->relay_started) {
        pthread_mutex_lock(&j->relay_mu);
        j->stopping = true;
        pthread_cond_signal(&j->relay_cv);
        pthread_mutex_unlock(&j->relay_mu);
        pthread_join(j->relay, NULL);
    }
    if (j->rc)
        redisFree(j->rc);
    pthread_mutex_destroy(&j->mu);
    pthread_mutex_destroy(&j->relay_mu);
    pthread_cond_destroy(&j->relay_cv);
    redis_url_free(&j->redis);
    free(j->database_url);
    free(j);
}

const struct jobs_ops jobs_queue = {
    .name = "queue",
    .schema_file = "sql/async.sql",
    .needs_worker = true,
    .open = queue_open,
    .submit = queue_submit,
    .render_metrics = queue_render_metrics,
    .close = queue_close,
};
