/* test_queries.c - statements per endpoint for each query set, with libpq replaced at the
 * leaf (test_queries.wrap): every statement the server sends is answered from a small fake
 * database and counted. The integration test test_query_counts.sh measures the same thing
 * against PostgreSQL and pg_stat_statements; this one pins the shapes down without a
 * server and checks db.c's prepare-once behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/auth.h"
#include "apibench/db.h"
#include "apibench/indexes.h"
#include "apibench/metrics.h"
#include "apibench/queries.h"

static int executed, prepared, locks, inserts;
static char prepared_sql[DB_MAX_STMTS][1024];
static char prepared_name[DB_MAX_STMTS][64];
static int nprepared_names;

static PGresult *table(int ncols, const char *const *names, int nrows, const char *const *v)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc a[32];
    memset(a, 0, sizeof a);
    for (int i = 0; i < ncols; i++) {
        a[i].name = (char *)(uintptr_t)names[i];
        a[i].typid = 25;
        a[i].typlen = -1;
        a[i].atttypmod = -1;
    }
    PQsetResultAttrs(r, ncols, a);
    for (int row = 0; row < nrows; row++)
        for (int col = 0; col < ncols; col++) {
            const char *s = v[row * ncols + col];
            PQsetvalue(r, row, col, (char *)(uintptr_t)(s ? s : ""), s ? (int)strlen(s) : -1);
        }
    return r;
}

#define TABLE(names, nrows, ...)                                                            \
    table((int)(sizeof names / sizeof names[0]), names, nrows, (const char *const[]){__VA_ARGS__})

static const char *const key_cols[] = {"id", "user_id", "prefix", "key_hash", "created_at",
                                       "last_used_at", "revoked_at"};
static const char *const user_cols[] = {"id", "email", "name", "created_at"};
static const char *const us_cols[] = {"user_id", "site_id"};
static const char *const count_cols[] = {"count"};
static const char *const site_cols[] = {"id", "name", "region", "timezone", "created_at"};
static const char *const dev_cols[] = {"id", "site_id", "name", "model", "firmware", "status",
                                       "installed_at", "last_seen_at"};
static const char *const join_cols[] = {"id", "site_id", "name", "model", "firmware", "status",
                                        "installed_at", "last_seen_at", "id", "device_id",
                                        "timestamp", "temperature", "humidity", "battery", "rssi"};
static const char *const rd_cols[] = {"id", "device_id", "timestamp", "temperature",
                                      "humidity", "battery", "rssi"};
static const char *const agg_cols[] = {"min", "max", "avg"};
static const char *const opt_auth_cols[] = {"key_hash", "revoked", "id", "email", "sites"};
static const char *const opt_latest_cols[] = {"id", "id", "name", "site_id", "name", "timestamp",
                                              "temperature", "humidity", "battery", "rssi"};

#define TS "2026-11-27 10:00:00+00"
#define DEV(site) "7", site, "TH-100-000007", "TH-100", "1.4.2", "active", TS, TS
#define READING(id) id, "7", TS, "21.5", "40", "88", "-70"

/* The fake database: answers by what the statement is. */
static PGresult *answer(const char *sql, const char *const *params)
{
    executed++;
    if (strstr(sql, "FROM api_keys k"))
        return TABLE(opt_auth_cols, 1, params[0], "f", "1", "admin@apibench.test", "{3,1,2}");
    if (strstr(sql, "FROM api_keys"))
        return TABLE(key_cols, 1, "1", "1", "ak_33c6c", params[0], TS, NULL, NULL);
    if (strstr(sql, "FROM users"))
        return TABLE(user_cols, 1, "1", "admin@apibench.test", "Ada", TS);
    if (strstr(sql, "FROM user_sites"))
        return TABLE(us_cols, 3, "1", "3", "1", "1", "1", "2");
    if (strstr(sql, "SELECT count(*) FROM devices d JOIN readings"))
        return TABLE(count_cols, 1, "250");
    if (strstr(sql, "SELECT * FROM devices d JOIN readings")) /* 4 rows over sites 1, 2, 3 */
        return TABLE(join_cols, 4, DEV("1"), READING("4"), DEV("2"), READING("3"), DEV("2"),
                     READING("2"), DEV("3"), READING("1"));
    if (strstr(sql, "FROM sites WHERE id"))
        return TABLE(site_cols, 1, params[0], "Site", "eu", "UTC", TS);
    if (strstr(sql, "SELECT site_id FROM devices WHERE id")) {
        static const char *const site_id_cols[] = {"site_id"};
        return TABLE(site_id_cols, 1, "2");
    }
    if (strstr(sql, "FROM devices WHERE id"))
        return TABLE(dev_cols, 1, DEV("2"));
    if (strstr(sql, "SELECT count(*) FROM readings"))
        return TABLE(count_cols, 1, "5");
    if (strstr(sql, "SELECT min("))
        return TABLE(agg_cols, 1, "1", "2", "1.5");
    if (strstr(sql, "SELECT * FROM readings"))
        return TABLE(rd_cols, 2, READING("9"), READING("8"));
    if (strstr(sql, "FROM devices d JOIN readings r ON r.device_id")) /* optimised page */
        return TABLE(opt_latest_cols, 3, "3", "7", "d", "1", "s", TS, "1", "2", "3", "-4", "2",
                     "7", "d", "1", "s", TS, "1", "2", "3", "-4", "1", "7", "d", "1", "s", TS, "1",
                     "2", "3", "-4");
    if (strstr(sql, "pg_advisory_xact_lock")) {
        static const char *const lock_cols[] = {"pg_advisory_xact_lock"};
        locks++;
        return TABLE(lock_cols, 1, "");
    }
    if (strstr(sql, "INSERT INTO readings")) {
        /* ids come from the sequence: no statement names or computes one */
        assert_null(strstr(sql, "(id,"));
        assert_null(strstr(sql, "max(id)"));
        static const char *const id_cols[] = {"id"};
        inserts++;
        return TABLE(id_cols, 1, "5000001");
    }
    if (strstr(sql, "UPDATE devices SET last_seen_at")) {
        assert_string_equal(params[1], "5000001"); /* the batch's first id */
        return PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
    }
    if (strstr(sql, "FROM pg_indexes")) { /* the article's two, not the headline one */
        static const char *const idx_cols[] = {"indexname"};
        return TABLE(idx_cols, 2, "readings_device_id_timestamp_idx", "devices_status_id_idx");
    }
    fail_msg("unexpected statement: %s", sql);
    return NULL;
}

PGresult *__wrap_PQexecParams(PGconn *conn, const char *command, int nParams,
                              const Oid *paramTypes, const char *const *paramValues,
                              const int *paramLengths, const int *paramFormats, int resultFormat);
PGresult *__wrap_PQexecParams(PGconn *conn, const char *command, int nParams,
                              const Oid *paramTypes, const char *const *paramValues,
                              const int *paramLengths, const int *paramFormats, int resultFormat)
{
    (void)conn, (void)nParams, (void)paramTypes, (void)paramLengths, (void)paramFormats,
        (void)resultFormat;
    return answer(command, paramValues);
}

PGresult *__wrap_PQprepare(PGconn *conn, const char *stmtName, const char *query, int nParams,
                           const Oid *paramTypes);
PGresult *__wrap_PQprepare(PGconn *conn, const char *stmtName, const char *query, int nParams,
                           const Oid *paramTypes)
{
    (void)conn, (void)nParams, (void)paramTypes;
    prepared++;
    for (int i = 0; i < nprepared_names; i++)
        if (strcmp(prepared_name[i], stmtName) == 0)
            fail_msg("statement %s prepared twice on one connection", stmtName);
    snprintf(prepared_name[nprepared_names], sizeof prepared_name[0], "%s", stmtName);
    snprintf(prepared_sql[nprepared_names++], sizeof prepared_sql[0], "%s", query);
    return PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
}

PGresult *__wrap_PQexecPrepared(PGconn *conn, const char *stmtName, int nParams,
                                const char *const *paramValues, const int *paramLengths,
                                const int *paramFormats, int resultFormat);
PGresult *__wrap_PQexecPrepared(PGconn *conn, const char *stmtName, int nParams,
                                const char *const *paramValues, const int *paramLengths,
                                const int *paramFormats, int resultFormat)
{
    (void)conn, (void)nParams, (void)paramLengths, (void)paramFormats, (void)resultFormat;
    for (int i = 0; i < nprepared_names; i++)
        if (strcmp(prepared_name[i], stmtName) == 0)
            return answer(prepared_sql[i], paramValues);
    fail_msg("statement %s executed before it was prepared", stmtName);
    return NULL;
}

PGresult *__wrap_PQexec(PGconn *conn, const char *query);
PGresult *__wrap_PQexec(PGconn *conn, const char *query)
{
    (void)conn, (void)query;
    executed++;
    return PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
}

ConnStatusType __wrap_PQstatus(const PGconn *conn);
ConnStatusType __wrap_PQstatus(const PGconn *conn)
{
    (void)conn;
    return CONNECTION_OK;
}

static struct dbconn conn;
static unsigned char key_hash[32];

static int setup(void **state)
{
    (void)state;
    memset(&conn, 0, sizeof conn);
    executed = prepared = nprepared_names = locks = inserts = 0;
    metrics_reset();
    auth_hash_key("ak_33c6c247817387d253e4c12d1afcf549", key_hash);
    return 0;
}

/* Authenticates with qs, then runs the headline endpoint; returns the statements it took. */
static int latest_statements(const struct queries_ops *qs, struct caller *who, json_t **page)
{
    struct apierr err = {0};
    struct latest_params p = {.limit = 4, .cursor = NULL};
    int before = executed;
    assert_int_equal(qs->authenticate(&conn, key_hash, who, &err), 0);
    assert_int_equal(qs->latest(&conn, who, &p, page, &err), 0);
    return executed - before;
}

static void test_naive_latest(void **state)
{
    (void)state;
    struct caller who;
    json_t *page;
    /* key, user, sites, count, page, and one site lookup per distinct site on it (3) */
    assert_int_equal(latest_statements(&queries_naive, &who, &page), 8);
    assert_int_equal(who.user_id, 1);
    assert_int_equal(who.nsites, 3);
    assert_int_equal(who.sites[0], 1); /* sorted although the rows were not */
    assert_int_equal(who.sites[2], 3);
    assert_int_equal(json_array_size(json_object_get(page, "readings")), 4);
    assert_true(json_is_string(json_object_get(page, "next_cursor"))); /* 250 > 4 */
    assert_true(metrics_get(C_DB_QUERIES) == 8);
    json_decref(page);
}

static void test_optimised_latest(void **state)
{
    (void)state;
    struct caller who;
    json_t *page;
    /* auth+permissions, page; the fake returns limit rows, so no next page is claimed */
    assert_int_equal(latest_statements(&queries_optimised, &who, &page), 2);
    assert_int_equal(who.nsites, 3);
    assert_int_equal(json_array_size(json_object_get(page, "readings")), 3);
    assert_true(json_is_null(json_object_get(page, "next_cursor")));
    json_decref(page);
}

static void test_naive_device_detail(void **state)
{
    (void)state;
    struct caller who = {.user_id = 1, .nsites = 2, .sites = {1, 2}};
    struct apierr err = {0};
    json_t *out;
    /* device, site, last reading, count, three aggregates */
    assert_int_equal(queries_naive.device_detail(&conn, &who, 7, &out, &err), 0);
    assert_int_equal(executed, 7);
    json_decref(out);
    /* not the caller's site: 403 after the device lookup only */
    struct caller other = {.user_id = 5, .nsites = 1, .sites = {9}};
    executed = 0;
    assert_int_equal(queries_naive.device_detail(&conn, &other, 7, &out, &err), -1);
    assert_int_equal(err.status, 403);
    assert_int_equal(executed, 1);
}

static void test_prepared_once(void **state)
{
    (void)state;
    struct caller who;
    json_t *page;
    conn.prepare = true;
    assert_int_equal(latest_statements(&queries_optimised, &who, &page), 2);
    json_decref(page);
    assert_int_equal(prepared, 2);
    assert_int_equal(latest_statements(&queries_optimised, &who, &page), 2);
    json_decref(page);
    assert_int_equal(prepared, 2); /* the second request reuses both statements */
    assert_int_equal(latest_statements(&queries_naive, &who, &page), 8);
    json_decref(page);
    assert_int_equal(prepared, 2 + 6); /* naive's six distinct statements, once each */
}

/* Ingests a batch of 3 with qs into device 7 (site 2); returns the statements it took. */
static int ingest_statements(const struct queries_ops *qs, bool global_lock)
{
    struct caller who = {.user_id = 1, .nsites = 2, .sites = {1, 2}};
    struct reading_in rows[3];
    struct apierr err = {0};
    json_t *out = NULL;
    int site = 0;
    for (int i = 0; i < 3; i++)
        rows[i] = (struct reading_in){"2026-11-27T10:00:00Z", 21.5, 40, 88, -70};
    int before = executed;
    assert_int_equal(qs->ingest(&conn, &who, 7, rows, 3, global_lock, &site, &out, &err), 0);
    assert_int_equal(site, 2);
    assert_int_equal(json_integer_value(json_object_get(out, "inserted")), 3);
    json_decref(out);
    return executed - before;
}

static void test_naive_ingest(void **state)
{
    (void)state;
    /* device, BEGIN, one INSERT per row, UPDATE devices, COMMIT */
    assert_int_equal(ingest_statements(&queries_naive, false), 7);
    assert_int_equal(inserts, 3);
    assert_int_equal(locks, 0);
    /* --ingest-lock: the same and the lock */
    assert_int_equal(ingest_statements(&queries_naive, true), 8);
    assert_int_equal(locks, 1);
}

static void test_optimised_ingest(void **state)
{
    (void)state;
    /* device, then one INSERT ... UPDATE statement (its own transaction) */
    assert_int_equal(ingest_statements(&queries_optimised, false), 2);
    assert_int_equal(inserts, 1);
    assert_int_equal(locks, 0);
    /* --ingest-lock: BEGIN, lock, the statement, COMMIT */
    assert_int_equal(ingest_statements(&queries_optimised, true), 5);
    assert_int_equal(locks, 1);
}

static void test_required_indexes(void **state)
{
    (void)state;
    char err[256];
    /* the naive set needs none: no statement at all */
    assert_int_equal(indexes_check(&conn, queries_naive.required_indexes, err, sizeof err), 0);
    assert_int_equal(executed, 0);
    assert_int_equal(indexes_check(&conn, queries_optimised.required_indexes, err, sizeof err),
                     -1);
    assert_int_equal(executed, 1);
    assert_non_null(strstr(err, "missing index readings_timestamp_idx"));
    assert_non_null(strstr(err, "sql/index_headline.sql"));
    assert_string_equal(indexes_source_file("devices_status_id_idx"), "sql/indexes_article.sql");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_naive_latest, setup),
        cmocka_unit_test_setup(test_optimised_latest, setup),
        cmocka_unit_test_setup(test_naive_device_detail, setup),
        cmocka_unit_test_setup(test_prepared_once, setup),
        cmocka_unit_test_setup(test_naive_ingest, setup),
        cmocka_unit_test_setup(test_optimised_ingest, setup),
        cmocka_unit_test_setup(test_required_indexes, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
