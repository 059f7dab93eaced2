/* rollup.c - hourly aggregates of readings for the 06-async report builder. */
#include "apibench/rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/db.h"

/* Only one refresher at a time (several workers may run). */
static const struct stmt st_lock = {
    46, "rollup_lock", "SELECT pg_try_advisory_xact_lock(7243190142)", 0};

/* Full rebuild needed? (no watermark yet, or the readings were re-anchored since). Returns
 * the lower bound of the hours to re-fold, or NULL for "everything". */
static const struct stmt st_bounds = {
    47, "rollup_bounds",
    "SELECT CASE WHEN s.complete_through IS NULL "
    " OR s.anchor IS DISTINCT FROM (SELECT max(anchor) FROM seed_info) THEN NULL "
    " ELSE s.complete_through - interval '2 hours' END "
    "FROM (SELECT 1) one LEFT JOIN rollup_state s ON s.name = 'readings_hourly'",
    0};

static const struct stmt st_truncate = {48, "rollup_truncate", "DELETE FROM readings_hourly", 0};

/* Folds the readings in [$1 or -infinity, current hour) into hourly rows. */
static const struct stmt st_fold = {
    49, "rollup_fold",
    "INSERT INTO readings_hourly (device_id, hour, n, temp_min, temp_sum, temp_max, hum_sum, "
    " batt_min, batt_last, first_ts, last_ts) "
    "SELECT device_id, date_trunc('hour', \"timestamp\"), count(*), min(temperature), "
    " sum(temperature), max(temperature), sum(humidity), min(battery), "
    " (array_agg(battery ORDER BY \"timestamp\" DESC))[1], min(\"timestamp\"), "
    " max(\"timestamp\") "
    "FROM readings WHERE \"timestamp\" >= coalesce($1::timestamptz, '-infinity') "
    " AND \"timestamp\" < date_trunc('hour', now()) "
    "GROUP BY 1, 2 "
    "ON CONFLICT (device_id, hour) DO UPDATE SET n = EXCLUDED.n, temp_min = EXCLUDED.temp_min, "
    " temp_sum = EXCLUDED.temp_sum, temp_max = EXCLUDED.temp_max, hum_sum = EXCLUDED.hum_sum, "
    " batt_min = EXCLUDED.batt_min, batt_last = EXCLUDED.batt_last, "
    " first_ts = EXCLUDED.first_ts, last_ts = EXCLUDED.last_ts",
    1};

static const struct stmt st_mark = {
    50, "rollup_mark",
    "INSERT INTO rollup_state (name, complete_through, anchor, refreshed_at) "
    "VALUES ('readings_hourly', date_trunc('hour', now()), (SELECT max(anchor) FROM seed_info), "
    " now()) ON CONFLICT (name) DO UPDATE SET complete_through = EXCLUDED.complete_through, "
    " anchor = EXCLUDED.anchor, refreshed_at = EXCLUDED.refreshed_at",
    0};

static void set_err(char *err, size_t errlen, const char *what, struct dbconn *c,
                    const PGresult *r)
{
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg);
    snprintf(err, errlen, "cannot %s: %.*s", what, (int)strcspn(msg, "\n"), msg);
}

int rollup_refresh_in_tx(struct dbconn *c, long long *rows, char *err, size_t errlen)
{
    PGresult *r = NULL;
    *rows = -1;
    r = db_query(c, &st_lock, NULL);
    if (!db_ok(r)) {
        set_err(err, errlen, "lock rollup", c, r);
        goto fail;
    }
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        PQclear(r);
        return 0; /* someone else is refreshing */
    }
    PQclear(r);
    r = db_query(c, &st_bounds, NULL);
    if (!db_ok(r) || PQntuples(r) != 1) {
        set_err(err, errlen, "read rollup watermark", c, r);
        goto fail;
    }
    char lo[64] = "";
    bool full = PQgetisnull(r, 0, 0);
    if (!full)
        snprintf(lo, sizeof(lo), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (full) {
        r = db_query(c, &st_truncate, NULL);
        if (!db_ok(r)) {
            set_err(err, errlen, "clear readings_hourly", c, r);
            goto fail;
        }
        PQclear(r);
    }
    const char *params[] = {full ? NULL : lo};
    r = db_query(c, &st_fold, params);
    if (!db_ok(r)) {
        set_err(err, errlen, "fold readings into readings_hourly", c, r);
        goto fail;
    }
    long long n = atoll(PQcmdTuples(r));
    PQclear(r);
    r = db_query(c, &st_mark, NULL);
    if (!db_ok(r)) {
        set_err(err, errlen, "move rollup watermark", c, r);
        goto fail;
    }
    PQclear(r);
    *rows = n;
    return 0;
fail:
    PQclear(r);
    return -1;
}

int rollup_refresh(struct dbconn *c, long long *rows, char *err, size_t errlen)
{
    if (db_exec_simple(c, "BEGIN") != 0) {
        set_err(err, errlen, "begin rollup refresh", c, NULL);
        return -1;
    }
    if (rollup_refresh_in_tx(c, rows, err, errlen) != 0) {
        if (!c->broken)
            db_exec_simple(c, "ROLLBACK");
        return -1;
    }
    if (db_exec_simple(c, "COMMIT") != 0) {
        set_err(err, errlen, "commit rollup refresh", c, NULL);
        *rows = -1;
        return -1;
    }
    return 0;
}
