/* db.h - the one way the core talks to PostgreSQL.
 *
 * Every statement the server runs goes through db_query(), which counts it
 * (apibench_db_queries_total) and adds its duration to the request's "db" timing. A
 * statement is a static struct stmt; whether it is sent with PQexecParams or prepared
 * once on the connection and then executed by name is the connection's business
 * (pooled connections prepare, one-shot connections do not), so a query set does not
 * change when the connection strategy does. */
#ifndef APIBENCH_DB_H
#define APIBENCH_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define DB_MAX_STMTS 64
/* Statement ids 40..63 belong to reports and jobs: 40-45 report.c, 46-50 rollup.c,
 * 51-53 jobs_inline.c, 54-57 jobstream.c, 58 jobs_queue.c, 59-63 worker.c. */
/* stmt id ranges, so that modules never share a slot: 0-15 queries_naive,
 * 16-31 queries_optimised, 32-39 the server's own (index check, job status, key revocation),
 * 40-63 reports, mail and jobs. */

struct stmt {
    int id;           /* 0..DB_MAX_STMTS-1, unique across the program: the prepared-statement slot */
    const char *name; /* prepared statement name, also used in logs */
    const char *sql;  /* parameterised SQL ($1, $2, ...) */
    int nparams;
};

struct dbconn {
    PGconn *pg;
    bool prepare;        /* prepare statements once on this connection */
    uint64_t prepared;   /* bit i set: stmt id i is prepared here */
    bool broken;         /* set by db_query on a connection-level failure */
    int64_t opened_us;   /* monotonic time it was opened */
    int64_t last_used_us;
};

/* Opens a connection to url with TimeZone=UTC and the given application_name.
 * Counts apibench_db_connections_opened_total. Returns NULL and fills err on failure. */
struct dbconn *db_connect(const char *url, const char *application_name, char *err, size_t errlen);

/* Closes and frees c. Accepts NULL. */
void db_close(struct dbconn *c);

/* True when an idle connection c can be handed out: connected as far as libpq knows,
 * outside any transaction, and with nothing waiting on its socket (no shutdown notice, no
 * EOF). Checks without blocking; reads nothing. */
bool db_idle_alive(struct dbconn *c);

/* Runs s with params (text format; NULL entries are SQL NULL). Returns a result the caller
 * must PQclear (also on error), or NULL when the connection failed, in which case
 * c->broken is set. Counts the query and times it. */
PGresult *db_query(struct dbconn *c, const struct stmt *s, const char *const *params);

/* Runs a parameterless utility statement (BEGIN, COMMIT, ROLLBACK). Counted like any query.
 * Returns 0 or -1. */
int db_exec_simple(struct dbconn *c, const char *sql);

/* True if r is a successful command or tuples result. */
bool db_ok(const PGresult *r);

/* A connection source: per request (01-03) or a bounded pool (04 on). */
struct connsrc;
struct config;

struct connsrc_ops {
    const char *name;
    /* Returns NULL and fills err when it cannot start (a pool whose min connections fail). */
    struct connsrc *(*open)(const struct config *cfg, const char *application_name, char *err,
                            size_t errlen);
    /* Returns a connection, or NULL with *http_status 503 (postgres unreachable, or the
     * pool's acquire timeout) and a message in err. */
    struct dbconn *(*acquire)(struct connsrc *src, int *http_status, char *err, size_t errlen);
    /* Gives c back; a broken connection is closed (and a pool replaces it later). */
    void (*release)(struct connsrc *src, struct dbconn *c);
    void (*close)(struct connsrc *src);
};

extern const struct connsrc_ops connsrc_per_request; /* connect, use once, close */
extern const struct connsrc_ops connsrc_pool;        /* bounded pool, prepared statements */

#endif
