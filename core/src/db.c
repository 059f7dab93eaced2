/* db.c - connections and statements: every query the server runs passes through here, so
 * that counting (apibench_db_queries_total) and timing (Server-Timing db) cannot be
 * forgotten by a query set. */
#include "apibench/db.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apibench/clock.h"
#include "apibench/metrics.h"
#include "apibench/request.h"
#include "apibench/strbuf.h"

/* Copies libpq's message without its trailing newline. */
static void copy_pq_error(char *err, size_t errlen, const char *prefix, const char *msg)
{
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        n--;
    snprintf(err, errlen, "%s: %.*s", prefix, (int)n, msg);
}

struct dbconn *db_connect(const char *url, const char *application_name, char *err, size_t errlen)
{
    /* expand_dbname lets url be a URI or a keyword string; later keywords override it. */
    const char *keys[] = {"dbname", "options", "application_name", "connect_timeout", NULL};
    const char *vals[] = {url ? url : "", "-c TimeZone=UTC", application_name, "5", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (!pg) {
        snprintf(err, errlen, "cannot connect to postgres: out of memory");
        return NULL;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        copy_pq_error(err, errlen, "cannot connect to postgres", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    metrics_add(C_DB_CONNECTIONS_OPENED, 1);
    struct dbconn *c = xcalloc(1, sizeof *c);
    c->pg = pg;
    c->opened_us = c->last_used_us = clock_mono_us();
    return c;
}

void db_close(struct dbconn *c)
{
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

bool db_idle_alive(struct dbconn *c)
{
    if (c->broken || PQstatus(c->pg) != CONNECTION_OK ||
        PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        return false;
    /* PQstatus only reports what libpq last saw, so look at the socket itself: an idle
     * connection has nothing to read. A server that shuts down sends FATAL and closes
     * (readable, then EOF); a reset socket reports POLLERR/POLLHUP. Anything else there
     * (a rare unsolicited notice) costs only a reconnect. */
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
    if (pfd.fd < 0)
        return false;
    int n;
    do
        n = poll(&pfd, 1, 0);
    while (n < 0 && errno == EINTR);
    return n == 0;
}

/* Marks c broken when libpq says the connection itself is gone. */
static void note_failure(struct dbconn *c)
{
    metrics_add(C_DB_ERRORS, 1);
    if (PQstatus(c->pg) == CONNECTION_BAD)
        c->broken = true;
}

PGresult *db_query(struct dbconn *c, const struct stmt *s, const char *const *params)
{
    int64_t start = clock_mono_us();
    PGresult *r = NULL;
    metrics_add(C_DB_QUERIES, 1);
    if (c->prepare && s->id >= 0 && s->id < DB_MAX_STMTS) {
        uint64_t bit = (uint64_t)1 << s->id;
        if (!(c->prepared & bit)) {
            PGresult *p = PQprepare(c->pg, s->name, s->sql, s->nparams, NULL);
            bool ok = p && PQresultStatus(p) == PGRES_COMMAND_OK;
            if (!ok) {
                note_failure(c);
                r = p; /* the caller sees the prepare error and clears it */
                goto done;
            }
            PQclear(p);
            c->prepared |= bit;
        }
        r = PQexecPrepared(c->pg, s->name, s->nparams, params, NULL, NULL, 0);
    } else {
        r = PQexecParams(c->pg, s->sql, s->nparams, NULL, params, NULL, NULL, 0);
    }
    if (!db_ok(r))
        note_failure(c);
done:
    if (r && c->broken) {
        /* The contract: NULL means "the connection is gone", not "the statement failed". */
        PQclear(r);
        r = NULL;
    }
    if (!r)
        c->broken = true;
    c->last_used_us = clock_mono_us();
    if (current_timing)
        current_timing->db_us += c->last_used_us - start;
    return r;
}

int db_exec_simple(struct dbconn *c, const char *sql)
{
    int64_t start = clock_mono_us();
    metrics_add(C_DB_QUERIES, 1);
    PGresult *r = PQexec(c->pg, sql);
    int rc = db_ok(r) ? 0 : -1;
    if (rc != 0)
        note_failure(c);
    if (!r)
        c->broken = true;
    PQclear(r);
    c->last_used_us = clock_mono_us();
    if (current_timing)
        current_timing->db_us += c->last_used_us - start;
    return rc;
}

bool db_ok(const PGresult *r)
{
    if (!r)
        return false;
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}
