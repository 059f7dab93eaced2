/* jobstream.c - the Redis Stream of report jobs: names, XADD, outbox relay,
 * metrics. */
#include "apibench/jobstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "apibench/clock.h"
#include "apibench/db.h"
#include "apibench/strbuf.h"

/* Statement ids 54..57 (db.h lists who uses which). */
static const struct stmt st_relay_pick = {
    54, "outbox_relay_pick",
    "SELECT report_id FROM outbox WHERE created_at < now() - make_interval(secs => $1::int / 1000.0) "
    "ORDER BY report_id LIMIT 100 FOR UPDATE SKIP LOCKED",
    1};
static const struct stmt st_outbox_delete = {
    55, "outbox_delete", "DELETE FROM outbox WHERE report_id = $1", 1};
static const struct stmt st_relay_note = {
    56, "outbox_relay_note",
    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE report_id = $1", 2};
static const struct stmt st_outbox_count = {57, "outbox_count", "SELECT count(*) FROM outbox",
                                            0};

int jobstream_names_init(struct jobstream_names *n, const char *prefix, const char *group)
{
    return jobstream_names_init_prefixed(n, NULL, prefix, group);
}

int jobstream_names_init_prefixed(struct jobstream_names *n, const char *key_prefix,
                                  const char *prefix, const char *group)
{
    if (!key_prefix)
        key_prefix = "";
    if (!prefix || !*prefix)
        prefix = JOBSTREAM_DEFAULT_PREFIX;
    if (!group || !*group)
        group = JOBSTREAM_DEFAULT_GROUP;
    int a = snprintf(n->stream, sizeof(n->stream), "%s%s", key_prefix, prefix);
    int b = snprintf(n->dead, sizeof(n->dead), "%s%s:dead", key_prefix, prefix);
    int c = snprintf(n->stats, sizeof(n->stats), "%s%s:stats", key_prefix, prefix);
    int d = snprintf(n->group, sizeof(n->group), "%s", group);
    if (a < 0 || (size_t)a >= sizeof(n->stream) || b < 0 || (size_t)b >= sizeof(n->dead) ||
        c < 0 || (size_t)c >= sizeof(n->stats) || d < 0 || (size_t)d >= sizeof(n->group))
        return -1;
    return 0;
}

/* Runs one command and checks its reply is not an error. Frees the reply. */
static int command_ok(redisContext *rc, char *err, size_t errlen, const char *what,
                      redisReply *reply)
{
    int rc_ = 0;
    if (!reply) {
        snprintf(err, errlen, "cannot %s: %s", what, rc->errstr[0] ? rc->errstr : "no reply");
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "cannot %s: %s", what, reply->str);
        rc_ = -1;
    }
    freeReplyObject(reply);
    return rc_;
}

int jobstream_create_group(redisContext *rc, const struct jobstream_names *n, char *err,
                           size_t errlen)
{
    redisReply *r = redisCommand(rc, "XGROUP CREATE %s %s 0 MKSTREAM", n->stream, n->group);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) == 0) {
        freeReplyObject(r);
        return 0;
    }
    return command_ok(rc, err, errlen, "create consumer group", r);
}

int jobstream_add(redisContext *rc, const struct jobstream_names *n, int64_t report_id,
                  bool relayed, char *err, size_t errlen)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)report_id);
    /* Pipelined: XADD, then the counters, in one round trip. */
    redisAppendCommand(rc, "XADD %s * report %s", n->stream, id);
    redisAppendCommand(rc, "HINCRBY %s enqueued 1", n->stats);
    if (relayed)
        redisAppendCommand(rc, "HINCRBY %s relayed 1", n->stats);
    int rc_ = 0;
    for (int i = 0; i < (relayed ? 3 : 2); i++) {
        redisReply *r = NULL;
        if (redisGetReply(rc, (void **)&r) != REDIS_OK) {
            snprintf(err, errlen, "cannot add job %s to %s: %s", id, n->stream, rc->errstr);
            return -1;
        }
        if (i == 0 && r->type != REDIS_REPLY_STRING) {
            snprintf(err, errlen, "cannot add job %s to %s: %s", id, n->stream,
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            rc_ = -1;
        }
        freeReplyObject(r);
    }
    return rc_;
}

void jobstream_count(redisContext *rc, const struct jobstream_names *n, const char *field,
                     long long by)
{
    if (!rc || rc->err || by == 0)
        return;
    redisReply *r = redisCommand(rc, "HINCRBY %s %s %lld", n->stats, field, by);
    if (r)
        freeReplyObject(r);
}

static void pq_message(char *err, size_t errlen, const char *what, struct dbconn *c,
                       const PGresult *r)
{
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg);
    snprintf(err, errlen, "cannot %s: %.*s", what, (int)strcspn(msg, "\n"), msg);
}

int jobstream_relay(struct dbconn *c, redisContext *rc, const struct jobstream_names *n,
                    int min_age_ms, int *moved, long long *left, char *err, size_t errlen)
{
    PGresult *picked = NULL, *r = NULL;
    int rc_ = -1;
    *moved = 0;
    *left = -1;
    if (db_exec_simple(c, "BEGIN") != 0) {
        pq_message(err, errlen, "begin outbox relay", c, NULL);
        return -1;
    }
    char age[16];
    snprintf(age, sizeof(age), "%d", min_age_ms);
    const char *p1[] = {age};
    picked = db_query(c, &st_relay_pick, p1);
    if (!db_ok(picked)) {
        pq_message(err, errlen, "read outbox", c, picked);
        goto rollback;
    }
    rc_ = 0;
    for (int i = 0; i < PQntuples(picked); i++) {
        const char *id = PQgetvalue(picked, i, 0);
        char xerr[200];
        if (jobstream_add(rc, n, atoll(id), true, xerr, sizeof(xerr)) != 0) {
            const char *p2[] = {id, xerr};
            r = db_query(c, &st_relay_note, p2);
            PQclear(r);
            snprintf(err, errlen, "%s", xerr);
            rc_ = -1;
            break; /* Redis is down: the rest stays for the next pass */
        }
        const char *p3[] = {id};
        r = db_query(c, &st_outbox_delete, p3);
        bool ok = db_ok(r);
        PQclear(r);
        if (!ok) {
            /* Added but not deleted: the worker will skip the duplicate delivery. */
            pq_message(err, errlen, "delete relayed outbox row", c, NULL);
            rc_ = -1;
            goto rollback;
        }
        (*moved)++;
    }
    if (db_exec_simple(c, "COMMIT") != 0) {
        pq_message(err, errlen, "commit outbox relay", c, NULL);
        rc_ = -1;
        goto out;
    }
    r = db_query(c, &st_outbox_count, NULL);
    if (db_ok(r))
        *left = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    goto out;
rollback:
    if (!c->broken)
        db_exec_simple(c, "ROLLBACK");
out:
    PQclear(picked);
    return rc_;
}

int jobstream_check_schema(struct dbconn *c, char *err, size_t errlen)
{
    PGresult *r = db_query(c, &st_outbox_count, NULL);
    int rc = 0;
    if (!db_ok(r)) {
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        if (state && strcmp(state, "42P01") == 0) {
            snprintf(err, errlen, "missing table outbox: the job queue needs it; create it "
                                  "with psql -f sql/async.sql");
            rc = -1;
        } else {
            snprintf(err, errlen, "cannot check the outbox table: %s",
                     r ? PQresultErrorMessage(r) : "connection lost");
            err[strcspn(err, "\n")] = '\0';
            rc = -2;
        }
    }
    PQclear(r);
    return rc;
}

int jobstream_outbox_done(struct dbconn *c, int64_t report_id)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)report_id);
    const char *params[] = {id};
    PGresult *r = db_query(c, &st_outbox_delete, params);
    int rc = db_ok(r) ? 0 : -1;
    PQclear(r);
    return rc;
}

long long jobstream_id_ms(const char *id)
{
    char *end;
    if (!id)
        return -1;
    long long ms = strtoll(id, &end, 10);
    if (end == id || (*end != '-' && *end != '\0'))
        return -1;
    return ms;
}

int jobstream_render_metrics(redisContext *rc, const struct jobstream_names *n,
                             struct strbuf *out)
{
    static const char *const events[] = {
        "enqueued", "relayed", "started", "completed", "failed", "retried",
        "reclaimed", "released", "dead_lettered", "duplicate_skipped", "redelivered_completed"};
    const size_t nevents = sizeof(events) / sizeof(events[0]);
    long long values[sizeof(events) / sizeof(events[0])] = {0};
    long long depth = -1, pending = -1, dead = -1, oldest_ms = -1;

    redisAppendCommand(rc, "HGETALL %s", n->stats);
    redisAppendCommand(rc, "XLEN %s", n->stream);
    redisAppendCommand(rc, "XPENDING %s %s", n->stream, n->group);
    redisAppendCommand(rc, "XRANGE %s - + COUNT 1", n->stream);
    redisAppendCommand(rc, "XLEN %s", n->dead);
    int rc_ = 0;
    for (int i = 0; i < 5; i++) {
        redisReply *r = NULL;
        if (redisGetReply(rc, (void **)&r) != REDIS_OK) {
            rc_ = -1;
            break;
        }
        if (i == 0 && r->type == REDIS_REPLY_ARRAY) {
            for (size_t k = 0; k + 1 < r->elements; k += 2)
                for (size_t e = 0; e < nevents; e++)
                    if (r->element[k]->str && strcmp(r->element[k]->str, events[e]) == 0)
                        values[e] = r->element[k + 1]->str ? atoll(r->element[k + 1]->str) : 0;
        } else if (i == 1 && r->type == REDIS_REPLY_INTEGER) {
            depth = r->integer;
        } else if (i == 2 && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                   r->element[0]->type == REDIS_REPLY_INTEGER) {
            pending = r->element[0]->integer;
        } else if (i == 3 && r->type == REDIS_REPLY_ARRAY) {
            oldest_ms = 0;
            if (r->elements > 0 && r->element[0]->type == REDIS_REPLY_ARRAY &&
                r->element[0]->elements > 0) {
                long long ms = jobstream_id_ms(r->element[0]->element[0]->str);
                if (ms > 0)
                    oldest_ms = clock_wall_ms() - ms;
                if (oldest_ms < 0)
                    oldest_ms = 0;
            }
        } else if (i == 4 && r->type == REDIS_REPLY_INTEGER) {
            dead = r->integer;
        }
        freeReplyObject(r);
    }
    strbuf_appendf(out, "# HELP apibench_jobs_total Report job events, from every server and "
                        "worker (Redis hash %s).\n# TYPE apibench_jobs_total counter\n",
                   n->stats);
    for (size_t e = 0; e < nevents; e++)
        strbuf_appendf(out, "apibench_jobs_total{event=\"%s\"} %lld\n", events[e], values[e]);
    if (depth >= 0)
        strbuf_appendf(out, "# HELP apibench_jobs_queue_depth Jobs in the stream not yet "
                            "acknowledged (waiting or in progress).\n"
                            "# TYPE apibench_jobs_queue_depth gauge\n"
                            "apibench_jobs_queue_depth %lld\n", depth);
    if (pending >= 0)
        strbuf_appendf(out, "# HELP apibench_jobs_pending Jobs delivered to a worker and not "
                            "yet acknowledged (XPENDING).\n# TYPE apibench_jobs_pending gauge\n"
                            "apibench_jobs_pending %lld\n", pending);
    if (oldest_ms >= 0)
        strbuf_appendf(out, "# HELP apibench_jobs_oldest_age_seconds Age of the oldest "
                            "unfinished job (0 when none).\n"
                            "# TYPE apibench_jobs_oldest_age_seconds gauge\n"
                            "apibench_jobs_oldest_age_seconds %.3f\n", (double)oldest_ms / 1000.0);
    if (dead >= 0)
        strbuf_appendf(out, "# HELP apibench_jobs_dead_letters Entries in the dead-letter "
                            "stream.\n# TYPE apibench_jobs_dead_letters gauge\n"
                            "apibench_jobs_dead_letters %lld\n", dead);
    return rc_;
}
