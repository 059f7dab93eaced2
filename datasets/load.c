/* load.c - seed and freshen steps against PostgreSQL (see load.h). */
#include "load.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apibench/clock.h"
#include "apibench/strbuf.h"
#include "gen.h"

#ifndef APIBENCH_SQL_DIR
#define APIBENCH_SQL_DIR "sql"
#endif

#define COPY_BUFFER (1 << 20)
#define FRESH_MS (3600LL * 1000) /* freshen leaves data alone when its anchor is younger */

/* Every table the seeder creates, in drop order (dependents first). */
static const char *const apibench_tables[] = {"seed_info", "reports", "user_sites", "api_keys",
                                              "readings",  "devices", "users",      "sites"};
#define NTABLES (sizeof apibench_tables / sizeof apibench_tables[0])

/* ---- interruption */

static volatile sig_atomic_t interrupted;
static PGcancel *volatile cancel_handle;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    PGcancel *c = cancel_handle;
    if (c) {
        char buf[256];
        PQcancel(c, buf, sizeof buf); /* documented as safe in a signal handler */
    }
}

void load_handle_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
    sigaction(SIGINT, &sa, NULL);
}

/* ---- small helpers */

static double now_s(void)
{
    return (double)clock_mono_ns() / 1e9;
}

const char *load_sql_dir(void)
{
    const char *dir = getenv("APIBENCH_SQL_DIR");
    return dir && *dir ? dir : APIBENCH_SQL_DIR;
}

/* libpq messages end in a newline and may span lines: make them one line. */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* whitespace runs (libpq's "\n\t") become one space */
    char *w = err;
    for (const char *r = err; *r; r++) {
        bool space = *r == '\n' || *r == '\r' || *r == '\t' || *r == ' ';
        if (!space)
            *w++ = *r;
        else if (w > err && w[-1] != ' ')
            *w++ = ' ';
    }
    *w = '\0';
    size_t n = strlen(err);
    while (n > 0 && err[n - 1] == ' ')
        err[--n] = '\0';
}

static bool step_open; /* a step line waits for its time */

/* Step lines go to stdout unless quiet. */
static void say(const struct load_options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const struct load_options *o, const char *fmt, ...)
{
    if (o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    step_open = fmt[0] && fmt[strlen(fmt) - 1] != '\n';
    fflush(stdout);
}

/* Ends a step line left open by a failure, so that the error stands on its own line. */
static void close_step(void)
{
    if (step_open)
        putchar('\n');
    step_open = false;
    fflush(stdout);
}

/* Opens a connection and registers it for cancellation. NULL with err on failure. */
static PGconn *open_db(const char *url, char *err, size_t errlen)
{
    const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *values[] = {url, "apibench-seed", "10", NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        set_err(err, errlen, "cannot connect to postgres at %s: %s", url,
                c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return NULL;
    }
    cancel_handle = PQgetCancel(c);
    return c;
}

static void close_db(PGconn *c)
{
    PGcancel *h = cancel_handle;
    cancel_handle = NULL;
    PQfreeCancel(h);
    PQfinish(c);
}

/* Runs parameterless SQL (our own constant statements and sql/ files). 0 or -1 with err
 * "what: message". */
static int exec(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        set_err(err, errlen, "%s: %s", what, PQerrorMessage(c));
        rc = -1;
    }
    PQclear(r);
    return rc;
}

/* Runs a parameterised query; returns its result (caller clears) or NULL with err. */
static PGresult *query(PGconn *c, const char *sql, int nparams, const char *const *params,
                       const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        set_err(err, errlen, "%s: %s", what, PQerrorMessage(c));
        PQclear(r);
        return NULL;
    }
    return r;
}

/* Reads a whole file of the sql/ folder. NULL with err on failure; the caller frees. */
static char *read_sql(const char *name, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", load_sql_dir(), name);
    char *sql = strbuf_read_file(path, NULL);
    if (!sql)
        set_err(err, errlen, "cannot read %s: %m (set APIBENCH_SQL_DIR to the sql/ folder)", path);
    return sql;
}

static int exec_file(PGconn *c, const char *name, char *err, size_t errlen)
{
    char *sql = read_sql(name, err, errlen);
    if (!sql)
        return -1;
    char what[64];
    snprintf(what, sizeof what, "running sql/%s", name);
    int rc = exec(c, sql, what, err, errlen);
    free(sql);
    return rc;
}

/* ---- what the database holds already */

struct db_state {
    bool present[NTABLES]; /* apibench_tables[i] exists */
    bool any_table;
    bool any_data; /* a data table has rows */
    bool seed_row; /* seed_info has a row */
    bool complete; /* ... marked complete */
    int scale;
    int64_t seed;
    char checksum[40];
    char anchor[40];
    char generator[40]; /* "" when seeded before the column existed */
};

static int inspect(PGconn *c, struct db_state *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    const char *list = "{seed_info,reports,user_sites,api_keys,readings,devices,users,sites}";
    PGresult *r = query(c,
                        "SELECT c.relname FROM pg_class c JOIN pg_namespace n"
                        " ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
                        " AND c.relkind IN ('r', 'p') AND c.relname = ANY ($1::text[])",
                        1, &list, "inspecting the database", err, errlen);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        for (size_t t = 0; t < NTABLES; t++)
            if (strcmp(PQgetvalue(r, i, 0), apibench_tables[t]) == 0)
                s->present[t] = s->any_table = true;
    PQclear(r);

    /* Table names below come from our own constant list, never from input. */
    for (size_t t = 1; t < NTABLES && !s->any_data; t++) {
        if (!s->present[t] || strcmp(apibench_tables[t], "reports") == 0)
            continue;
        char sql[128];
        /* sql-format-ok: a table name from apibench_tables */
        snprintf(sql, sizeof sql, "SELECT EXISTS (SELECT 1 FROM %s)", apibench_tables[t]);
        r = query(c, sql, 0, NULL, "inspecting the database", err, errlen);
        if (!r)
            return -1;
        s->any_data = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
    }

    if (s->present[0]) {
        r = query(c,
                  "SELECT scale, seed, complete, checksum,"
                  " to_char(anchor AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC',"
                  " coalesce(to_jsonb(s) ->> 'generator', '')"
                  " FROM seed_info s ORDER BY seeded_at DESC LIMIT 1",
                  0, NULL, "reading seed_info", err, errlen);
        if (!r)
            return -1;
        if (PQntuples(r) == 1) {
            s->seed_row = true;
            s->scale = atoi(PQgetvalue(r, 0, 0));
            s->seed = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
            s->complete = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
            snprintf(s->checksum, sizeof s->checksum, "%s", PQgetvalue(r, 0, 3));
            snprintf(s->anchor, sizeof s->anchor, "%s", PQgetvalue(r, 0, 4));
            snprintf(s->generator, sizeof s->generator, "%s", PQgetvalue(r, 0, 5));
        }
        PQclear(r);
    }
    return 0;
}

/* ---- progress */

struct progress {
    bool enabled, tty;
    double start, last;
    int64_t done, total;
};

static void progress_show(struct progress *p, bool final)
{
    if (!p->enabled)
        return;
    double t = now_s();
    if (!final && t - p->last < (p->tty ? 0.25 : 2.0))
        return;
    p->last = t;
    double elapsed = t - p->start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0.0;
    double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0.0;
    fprintf(stderr,
            "%s%" PRId64 " of %" PRId64 " rows (%d%%), %.0f rows/s, elapsed %.1f s, eta %.1f s%s",
            p->tty ? "\r" : "", p->done, p->total, p->total ? (int)(100 * p->done / p->total) : 100,
            rate, elapsed, eta, p->tty ? (final ? "\n" : "  ") : "\n");
    fflush(stderr);
}

/* ---- COPY */

/* Streams table t through COPY. Returns 0, -1 with err, or 1 when interrupted (the COPY is
 * then aborted and the transaction must be rolled back). */
static int copy_table(PGconn *c, const struct gen *g, enum gen_table t, bool binary,
                      int64_t anchor_ms, char *buf, uint64_t *checksum, struct progress *p,
                      char *err, size_t errlen)
{
    char sql[192];
    binary = binary && t == GEN_READINGS; /* the small tables are not worth it */
    /* sql-format-ok: table and column names of the generator's own tables */
    snprintf(sql, sizeof sql, "COPY %s %s FROM STDIN WITH (%sFREEZE)", gen_table_name(t),
             gen_table_columns(t), binary ? "FORMAT binary, " : "");
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        set_err(err, errlen, "copying %s: %s", gen_table_name(t), PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    PQclear(r);

    struct gen_cursor *cur = gen_cursor_new(g, t);
    const char *abort_reason = NULL;
    int rc = 0;
    gen_checksum_table(checksum, t);
    size_t len = binary ? gen_copy_binary_header(buf) : 0;
    for (;;) {
        size_t n = 0;
        int64_t rows = 0;
        while (len <= COPY_BUFFER - 2 * GEN_MAX_ROW &&
               (n = binary ? gen_next_copy_binary(cur, anchor_ms, buf + len, checksum)
                           : gen_next_copy_line(cur, anchor_ms, buf + len, checksum)) > 0) {
            len += n;
            rows++;
        }
        if (n == 0 && binary)
            len += gen_copy_binary_trailer(buf + len);
        if (len > 0 && PQputCopyData(c, buf, (int)len) != 1) {
            set_err(err, errlen, "copying %s: %s", gen_table_name(t), PQerrorMessage(c));
            rc = -1;
            abort_reason = "send failed";
            break;
        }
        p->done += rows;
        progress_show(p, false);
        if (interrupted) {
            rc = 1;
            abort_reason = "interrupted";
            break;
        }
        if (n == 0)
            break;
        len = 0;
    }
    gen_cursor_free(cur);

    if (PQputCopyEnd(c, abort_reason) != 1 && rc == 0) {
        set_err(err, errlen, "copying %s: %s", gen_table_name(t), PQerrorMessage(c));
        rc = -1;
    }
    while ((r = PQgetResult(c)) != NULL) {
        if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK) {
            set_err(err, errlen, "copying %s: %s", gen_table_name(t), PQerrorMessage(c));
            rc = interrupted ? 1 : -1;
        }
        PQclear(r);
    }
    return rc;
}

/* ---- seed */

static const char *const app_roles[] = {"apibench_app", "apibench_worker"};

/* Grants the servers' and the worker's roles what they need, when those roles exist. */
static int grant_roles(PGconn *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof app_roles / sizeof app_roles[0]; i++) {
        PGresult *r = query(c, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, &app_roles[i],
                            "looking up roles", err, errlen);
        if (!r)
            return -1;
        bool exists = PQntuples(r) == 1;
        PQclear(r);
        if (!exists)
            continue;
        char sql[256];
        /* sql-format-ok: role names are our constants (app_roles) */
        snprintf(sql, sizeof sql,
                 "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %s",
                 app_roles[i]);
        if (exec(c, sql, "granting table access", err, errlen) != 0)
            return -1;
        /* sql-format-ok: role names are our constants (app_roles) */
        snprintf(sql, sizeof sql, "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %s",
                 app_roles[i]);
        if (exec(c, sql, "granting sequence access", err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Ends the open transaction, if any (a warning only outside one). */
static void rollback(PGconn *c)
{
    PQclear(PQexec(c, "ROLLBACK"));
}

static bool interrupted_now(PGconn *c)
{
    if (!interrupted)
        return false;
    rollback(c);
    return true;
}

/* A seed made before readings.id had an identity sequence gets one, started after the
 * largest id present (ingests may have added some). Nothing to do for a newer seed. */
static int add_readings_identity(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = query(c,
                        "SELECT attidentity = '' FROM pg_attribute"
                        " WHERE attrelid = 'readings'::regclass AND attname = 'id'",
                        0, NULL, "inspecting readings.id", err, errlen);
    if (!r)
        return -1;
    bool missing = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!missing)
        return 0;
    printf("adding the identity sequence of readings.id (a seed from before it had one)\n");
    /* ALTER TABLE locks readings, so no ingest can slip in between it and setval. */
    if (exec(c, "BEGIN", "adding the readings sequence", err, errlen) != 0)
        return -1;
    if (exec(c, "ALTER TABLE readings ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY",
             "adding the readings sequence", err, errlen) != 0 ||
        exec(c,
             "SELECT setval(pg_get_serial_sequence('readings', 'id'),"
             " greatest(max(id), 1), max(id) IS NOT NULL) FROM readings",
             "moving the readings sequence", err, errlen) != 0 ||
        exec(c, "COMMIT", "adding the readings sequence", err, errlen) != 0) {
        rollback(c);
        return -1;
    }
    return grant_roles(c, err, errlen);
}

enum load_status load_seed(const struct load_options *o, char *err, size_t errlen)
{
    enum load_status status = LOAD_FAILED;
    struct gen *g = NULL;
    char *buf = NULL;
    struct db_state st;
    double t_drop = 0, t_create = 0, t_data = 0, t_vacuum = 0, t_keys = 0, t_finish = 0;
    uint64_t checksum = gen_checksum_init();
    double t0 = now_s(), t;

    PGconn *c = open_db(o->database_url, err, errlen);
    if (!c)
        return LOAD_FAILED;
    if (exec(c, "SET client_min_messages = warning", "configuring the session", err, errlen))
        goto out_close;
    if (inspect(c, &st, err, errlen) != 0)
        goto out_check_interrupt;

    if (st.complete && !o->force) {
        bool same_rules = strcmp(st.generator, GEN_VERSION) == 0;
        if (st.scale == o->scale && st.seed == (int64_t)o->seed && same_rules) {
            printf("database already seeded with scale %d, seed %" PRIu64
                   " (checksum %s, anchor %s); skipping (--force reseeds)\n",
                   o->scale, o->seed, st.checksum, st.anchor);
            if (add_readings_identity(c, err, errlen) == 0)
                status = LOAD_OK;
        } else if (!same_rules) {
            set_err(err, errlen,
                    "database already seeded (scale %d, seed %" PRId64 ") by other generation "
                    "rules ('%s', not '%s'); use --force to reseed",
                    st.scale, st.seed, st.generator, GEN_VERSION);
        } else {
            set_err(err, errlen,
                    "database already seeded (scale %d, seed %" PRId64 "); use --force to reseed",
                    st.scale, st.seed);
        }
        goto out_close;
    }
    if (st.any_table && !st.seed_row && st.any_data && !o->force) {
        set_err(err, errlen,
                "database holds apibench tables with data but no seed record; "
                "use --force to replace them");
        goto out_close;
    }
    if (st.any_table && !st.complete && !o->force)
        printf("found a partial seed (seed_info %s); reseeding\n",
               st.seed_row ? "not complete" : "missing");

    g = gen_new(o->seed, o->scale);
    if (!g) {
        set_err(err, errlen, "bad scale or seed");
        goto out_close;
    }
    int64_t total = 0;
    for (int i = 0; i < GEN_NTABLES; i++)
        total += gen_rows(g, (enum gen_table)i);
    say(o,
        "seeding scale %d, seed %" PRIu64 ": %" PRId64 " sites, %" PRId64 " devices, %" PRId64
        " readings, %d users (%" PRId64 " rows)\n",
        o->scale, o->seed, gen_rows(g, GEN_SITES), gen_rows(g, GEN_DEVICES),
        gen_rows(g, GEN_READINGS), GEN_USERS, total);

    /* The anchor: the server's now, to the second, as ms since the epoch. */
    PGresult *r =
        query(c, "SELECT (extract(epoch FROM date_trunc('second', now())) * 1000)::bigint", 0, NULL,
              "reading the server clock", err, errlen);
    if (!r)
        goto out_check_interrupt;
    int64_t anchor_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);

    /* One transaction for drop, create and load: an interrupted load rolls back to what
     * was there, and with wal_level = minimal the new tables' data skips the WAL. */
    if (exec(c, "BEGIN", "starting the load", err, errlen) != 0)
        goto out_check_interrupt;
    if (st.any_table) {
        say(o, "dropping old tables... ");
        t = now_s();
        if (exec(c,
                 "DROP TABLE IF EXISTS seed_info, reports, user_sites, api_keys, readings,"
                 " devices, users, sites CASCADE",
                 "dropping tables", err, errlen) != 0)
            goto out_rollback;
        t_drop = now_s() - t;
        say(o, "%.2f s\n", t_drop);
    }
    say(o, "creating tables... ");
    t = now_s();
    if (exec_file(c, "schema.sql", err, errlen) != 0)
        goto out_rollback;
    t_create = now_s() - t;
    say(o, "%.2f s\n", t_create);

    say(o, "generating data (client-side)...\n");
    buf = xmalloc(COPY_BUFFER);
    struct progress p = {!o->quiet, isatty(STDERR_FILENO) == 1, now_s(), now_s(), 0, total};
    t = now_s();
    for (int i = 0; i < GEN_NTABLES; i++) {
        int rc = copy_table(c, g, (enum gen_table)i, !o->text_copy, anchor_ms, buf, &checksum, &p,
                            err, errlen);
        if (rc != 0)
            goto out_rollback;
    }
    progress_show(&p, true);
    t_data = now_s() - t;
    /* The readings came with their ids (1..N); ingests take theirs from the sequence. */
    char nreadings[24];
    snprintf(nreadings, sizeof nreadings, "%" PRId64, gen_rows(g, GEN_READINGS));
    const char *seq_param[] = {nreadings};
    r = query(c, "SELECT setval(pg_get_serial_sequence('readings', 'id'), $1::bigint)", 1,
              seq_param, "moving the readings sequence", err, errlen);
    if (!r)
        goto out_rollback;
    PQclear(r);

    char scale_s[16], seed_s[24], sum_s[40], anchor_s[24];
    snprintf(scale_s, sizeof scale_s, "%d", o->scale);
    snprintf(seed_s, sizeof seed_s, "%" PRIu64, o->seed);
    snprintf(sum_s, sizeof sum_s, "fnv1a64:%016" PRIx64, checksum);
    snprintf(anchor_s, sizeof anchor_s, "%" PRId64, anchor_ms);
    const char *params[] = {scale_s, seed_s, sum_s, anchor_s, GEN_VERSION};
    r = query(
        c,
        "INSERT INTO seed_info (scale, seed, checksum, seeded_at, anchor, complete, generator)"
        " VALUES ($1, $2, $3, now(), to_timestamp($4::bigint / 1000.0), false, $5)",
        5, params, "recording the seed", err, errlen);
    if (!r)
        goto out_rollback;
    PQclear(r);
    if (exec(c, "COMMIT", "committing the load", err, errlen) != 0)
        goto out_rollback;
    say(o, "generated %" PRId64 " readings in %.2f s (%.0f readings/s)\n",
        gen_rows(g, GEN_READINGS), t_data, (double)gen_rows(g, GEN_READINGS) / t_data);

    /* From here on an interruption leaves complete = false: the next run reseeds. */
    say(o, "vacuuming/analyzing... ");
    t = now_s();
    if (exec(c,
             "VACUUM (ANALYZE) sites, devices, users, api_keys, user_sites, readings,"
             " reports, seed_info",
             "vacuuming", err, errlen) != 0)
        goto out_check_interrupt;
    t_vacuum = now_s() - t;
    say(o, "%.2f s\n", t_vacuum);

    say(o, "creating primary keys and foreign keys... ");
    t = now_s();
    if (exec(c, "BEGIN", "creating keys", err, errlen) != 0 ||
        exec_file(c, "keys.sql", err, errlen) != 0 ||
        exec(c, "COMMIT", "creating keys", err, errlen) != 0)
        goto out_rollback;
    t_keys = now_s() - t;
    say(o, "%.2f s\n", t_keys);

    say(o, "enabling pg_stat_statements, granting access... ");
    t = now_s();
    char ext_err[512];
    if (exec(c, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", "creating extension", ext_err,
             sizeof ext_err) != 0) {
        if (interrupted_now(c))
            goto out_interrupted;
        fprintf(stderr, "apibench seed: note: %s (query counts from postgres unavailable)\n",
                ext_err);
    }
    if (grant_roles(c, err, errlen) != 0 || exec(c, "UPDATE seed_info SET complete = true",
                                                 "marking the seed complete", err, errlen) != 0)
        goto out_check_interrupt;
    t_finish = now_s() - t;
    say(o, "%.2f s\n", t_finish);

    printf("done in %.2f s (drop tables %.2f s, create tables %.2f s, client-side generate "
           "%.2f s, vacuum %.2f s, primary and foreign keys %.2f s, finish %.2f s)\n",
           now_s() - t0, t_drop, t_create, t_data, t_vacuum, t_keys, t_finish);
    printf("rate: %.0f readings/s (client-side generate step)\n",
           (double)gen_rows(g, GEN_READINGS) / t_data);
    printf("checksum: %s (scale %d, seed %" PRIu64
           ", all rows in load order, timestamps as offsets before the anchor)\n",
           sum_s, o->scale, o->seed);
    status = LOAD_OK;
    goto out_close;

out_rollback:
    rollback(c);
out_check_interrupt:
    if (interrupted)
        goto out_interrupted;
    goto out_close;
out_interrupted:
    if (!o->quiet && isatty(STDERR_FILENO))
        fputc('\n', stderr);
    status = LOAD_INTERRUPTED;
out_close:
    close_step();
    free(buf);
    gen_free(g);
    close_db(c);
    return status;
}

/* ---- freshen */

enum load_status load_freshen(const struct load_options *o, char *err, size_t errlen)
{
    enum load_status status = LOAD_FAILED;
    struct db_state st;
    PGresult *r = NULL;
    double t0 = now_s(), t, t_update, t_vacuum;

    PGconn *c = open_db(o->database_url, err, errlen);
    if (!c)
        return LOAD_FAILED;
    if (inspect(c, &st, err, errlen) != 0)
        goto out_check_interrupt;
    if (!st.complete) {
        set_err(err, errlen, "database is not seeded (no complete seed_info); run apibench seed");
        goto out_close;
    }

    r = query(c,
              "SELECT (extract(epoch FROM date_trunc('second', now()) - anchor) * 1000)::bigint,"
              " (extract(epoch FROM anchor) * 1000)::bigint, to_char(anchor AT TIME ZONE 'UTC', "
              "'YYYY-MM-DD HH24:MI:SS'),"
              " to_char(date_trunc('second', now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
              " FROM seed_info ORDER BY seeded_at DESC LIMIT 1",
              0, NULL, "reading seed_info", err, errlen);
    if (!r)
        goto out_check_interrupt;
    int64_t delta_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    int64_t anchor_ms = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    char from[32], to[32], delta_s[24], anchor_s[24];
    snprintf(from, sizeof from, "%s", PQgetvalue(r, 0, 2));
    snprintf(to, sizeof to, "%s", PQgetvalue(r, 0, 3));
    PQclear(r);
    r = NULL;

    int64_t secs = delta_ms / 1000;
    char age[64];
    snprintf(age, sizeof age, "%" PRId64 " d %02d:%02d:%02d", secs / 86400, (int)(secs / 3600 % 24),
             (int)(secs / 60 % 60), (int)(secs % 60));
    if (delta_ms <= 0 || (delta_ms < FRESH_MS && !o->force)) {
        printf("data is fresh (anchor %s UTC is %s old); nothing to do (--force shifts "
               "anyway)\n",
               from, age);
        status = LOAD_OK;
        goto out_close;
    }

    /* Only seeded values (at or before the old anchor) move: rows the servers wrote
     * later already carry real times. */
    say(o, "shifting timestamps forward by %s (anchor %s -> %s UTC)... ", age, from, to);
    snprintf(delta_s, sizeof delta_s, "%" PRId64, delta_ms);
    snprintf(anchor_s, sizeof anchor_s, "%" PRId64, anchor_ms);
    const char *params[] = {delta_s, anchor_s};
    /* readings: a rewrite rather than an UPDATE. An UPDATE of every row leaves the table
     * twice its size (slower scans, so different figures) and writes WAL; ALTER ... TYPE
     * with USING rewrites it compactly, in the same order, rebuilding its indexes and
     * keeping keys, grants and index names. Utility statements take no parameters: the two
     * numbers are formatted from integers. */
    char rewrite[512];
    /* sql-format-ok: two int64 values; a utility statement takes no parameters */
    snprintf(rewrite, sizeof rewrite,
             "ALTER TABLE readings ALTER COLUMN \"timestamp\" TYPE timestamptz USING"
             " CASE WHEN \"timestamp\" <= to_timestamp(%" PRId64 " / 1000.0)"
             " THEN \"timestamp\" + %" PRId64 " * interval '1 ms' ELSE \"timestamp\" END",
             anchor_ms, delta_ms);
    static const char *const shifts[] = {
        "UPDATE devices SET"
        " installed_at = CASE WHEN installed_at <= to_timestamp($2::bigint / 1000.0)"
        "   THEN installed_at + $1::bigint * interval '1 ms' ELSE installed_at END,"
        " last_seen_at = CASE WHEN last_seen_at <= to_timestamp($2::bigint / 1000.0)"
        "   THEN last_seen_at + $1::bigint * interval '1 ms' ELSE last_seen_at END",
        "UPDATE sites SET created_at = created_at + $1::bigint * interval '1 ms'"
        " WHERE created_at <= to_timestamp($2::bigint / 1000.0)",
        "UPDATE users SET created_at = created_at + $1::bigint * interval '1 ms'"
        " WHERE created_at <= to_timestamp($2::bigint / 1000.0)",
        "UPDATE api_keys SET created_at = created_at + $1::bigint * interval '1 ms'"
        " WHERE created_at <= to_timestamp($2::bigint / 1000.0)",
        "UPDATE seed_info SET anchor = to_timestamp($2::bigint / 1000.0)"
        " + $1::bigint * interval '1 ms'",
    };
    t = now_s();
    if (exec(c, "BEGIN", "starting freshen", err, errlen) != 0)
        goto out_check_interrupt;
    if (exec(c, rewrite, "shifting readings", err, errlen) != 0)
        goto out_rollback;
    for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++) {
        r = query(c, shifts[i], 2, params, "shifting timestamps", err, errlen);
        if (!r)
            goto out_rollback;
        PQclear(r);
        r = NULL;
    }
    if (exec(c, "COMMIT", "committing freshen", err, errlen) != 0)
        goto out_rollback;
    t_update = now_s() - t;
    say(o, "%.2f s\n", t_update);

    say(o, "vacuuming/analyzing... ");
    t = now_s();
    if (exec(c, "VACUUM (ANALYZE) readings, devices, sites, users, api_keys, seed_info",
             "vacuuming", err, errlen) != 0)
        goto out_check_interrupt;
    t_vacuum = now_s() - t;
    say(o, "%.2f s\n", t_vacuum);
    printf("freshened: moved the seeded timestamps forward by %s in %.2f s (rewrite and "
           "update %.2f s, vacuum %.2f s)\n",
           age, now_s() - t0, t_update, t_vacuum);
    status = LOAD_OK;
    goto out_close;

out_rollback:
    rollback(c);
out_check_interrupt:
    if (interrupted)
        status = LOAD_INTERRUPTED;
out_close:
    close_step();
    PQclear(r);
    close_db(c);
    return status;
}
