/* queries_optimised.c - the query set of 02-indexes on: the article's rewrite.
 *
 * GET /api/readings/latest: 2 statements.
 *   1. authentication and permissions in one: api_keys JOIN users LEFT JOIN user_sites,
 *      the sites aggregated into an array.
 *   2. the article's optimised query: only the rendered columns, sites joined for the
 *      name (no N+1), the last day only (r.timestamp > now() - interval '1 day'), and a
 *      keyset cursor (r.timestamp, r.id) < ($ts, $id) instead of OFFSET; one row more than
 *      the page tells whether there is a next one (no COUNT).
 * GET /api/devices/{id}/readings: 2 (auth; device, permission and readings in one).
 * GET /api/devices/{id}: 2 (auth; device, site, latest reading and 24 h stats in one).
 * POST /api/devices/{id}/readings: 3 (auth, device, one INSERT ... SELECT FROM unnest()
 *   that takes ids from the sequence and also moves last_seen_at: one statement, so its
 *   own transaction), whatever the batch size. With --ingest-lock 6: BEGIN, the lock and
 *   COMMIT around the INSERT.
 * It relies on the indexes in sql/indexes_article.sql and sql/index_headline.sql. */
#include "apibench/queries.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/auth.h"
#include "apibench/cursor.h"
#include "apibench/db.h"
#include "apibench/qshape.h"
#include "apibench/render.h"
#include "apibench/strbuf.h"

#define STMT(ID, NAME, N, SQL) \
    static const struct stmt NAME = {.id = ID, .name = "opt_" #NAME, .sql = SQL, .nparams = N}

STMT(16, authenticate, 1,
     "SELECT k.key_hash, k.revoked_at IS NOT NULL, u.id, u.email, "
     "coalesce(array_agg(us.site_id ORDER BY us.site_id) "
     "FILTER (WHERE us.site_id IS NOT NULL), '{}') "
     "FROM api_keys k JOIN users u ON u.id = k.user_id "
     "LEFT JOIN user_sites us ON us.user_id = u.id "
     "WHERE k.key_hash = $1::bytea GROUP BY k.id, u.id");

#define LATEST_SELECT                                                                      \
    "SELECT r.id, d.id, d.name, d.site_id, s.name, r.\"timestamp\", r.temperature, "        \
    "r.humidity, r.battery, r.rssi "                                                       \
    "FROM devices d JOIN readings r ON r.device_id = d.id JOIN sites s ON s.id = d.site_id " \
    "WHERE d.status = 'active' AND d.site_id = ANY($1::int[]) "                            \
    "AND r.\"timestamp\" > now() - interval '1 day' "
STMT(17, latest_first, 2,
     LATEST_SELECT "ORDER BY r.\"timestamp\" DESC, r.id DESC LIMIT $2");
/* The plain "timestamp <= $ts" lets the timestamp index bound its scan; the row
 * comparison then breaks ties by id. */
STMT(18, latest_after, 4,
     LATEST_SELECT "AND r.\"timestamp\" <= $2::timestamptz "
                   "AND (r.\"timestamp\", r.id) < ($2::timestamptz, $3::bigint) "
                   "ORDER BY r.\"timestamp\" DESC, r.id DESC LIMIT $4");
STMT(19, device_readings, 4,
     "SELECT d.site_id, r.id, r.\"timestamp\", r.temperature, r.humidity, r.battery, r.rssi "
     "FROM devices d LEFT JOIN readings r ON r.device_id = d.id "
     "AND d.site_id = ANY($4::int[]) "
     "AND r.\"timestamp\" > now() - make_interval(hours => $2::int) "
     "WHERE d.id = $1 ORDER BY r.\"timestamp\" DESC, r.id DESC LIMIT $3");
#define STATS(col)                                                                          \
    "min(" col "), max(" col "), round(avg(" col "::numeric), 2)::float8"
STMT(20, device_detail, 2,
     "SELECT d.id, d.name, d.site_id, s.name, d.model, d.firmware, d.status, d.installed_at, "
     "d.last_seen_at, d.site_id = ANY($2::int[]), "
     "l.id, l.\"timestamp\", l.temperature, l.humidity, l.battery, l.rssi, "
     "st.* "
     "FROM devices d JOIN sites s ON s.id = d.site_id "
     "LEFT JOIN LATERAL (SELECT r.id, r.\"timestamp\", r.temperature, r.humidity, r.battery, "
     "r.rssi FROM readings r WHERE r.device_id = d.id AND d.site_id = ANY($2::int[]) "
     "ORDER BY r.\"timestamp\" DESC, r.id DESC LIMIT 1) l ON true "
     "LEFT JOIN LATERAL (SELECT count(*), " STATS("temperature") ", " STATS("humidity") ", "
     STATS("battery") " FROM readings r WHERE r.device_id = d.id "
     "AND d.site_id = ANY($2::int[]) AND r.\"timestamp\" > now() - interval '24 hours') st "
     "ON true WHERE d.id = $1");
STMT(21, device_site, 1, "SELECT site_id FROM devices WHERE id = $1");
/* Ids come from the sequence in batch order (ORDER BY t.ord), as the naive set's row by row
 * INSERTs take them. One statement, so atomic without BEGIN/COMMIT. */
STMT(22, insert_batch, 6,
     "WITH ins AS (INSERT INTO readings "
     "(device_id, \"timestamp\", temperature, humidity, battery, rssi) "
     "SELECT $1, t.ts, t.temp, t.hum, t.bat, t.rssi "
     "FROM unnest($2::timestamptz[], $3::float8[], $4::float8[], $5::float8[], $6::int[]) "
     "WITH ORDINALITY AS t(ts, temp, hum, bat, rssi, ord) ORDER BY t.ord "
     "RETURNING \"timestamp\") "
     "UPDATE devices SET last_seen_at = greatest(last_seen_at, "
     "(SELECT max(\"timestamp\") FROM ins)) WHERE id = $1 "
     "RETURNING (SELECT count(*) FROM ins)");

static int opt_authenticate(struct dbconn *c, const unsigned char key_hash[32],
                            struct caller *out, struct apierr *err)
{
    char hash[67];
    auth_hash_param(key_hash, hash);
    const char *p[] = {hash};
    PGresult *r = qshape_run(c, &authenticate, p, err);
    if (!r)
        return -1;
    int rc = -1;
    if (PQntuples(r) != 1 || !auth_hash_matches(PQgetvalue(r, 0, 0), key_hash)) {
        apierr_set(err, 401, "unknown api key");
        goto out;
    }
    if (strcmp(PQgetvalue(r, 0, 1), "t") == 0) {
        apierr_set(err, 401, "api key revoked");
        goto out;
    }
    memset(out, 0, sizeof *out);
    out->user_id = atoi(PQgetvalue(r, 0, 2));
    snprintf(out->email, sizeof out->email, "%s", PQgetvalue(r, 0, 3));
    if (auth_parse_sites(PQgetvalue(r, 0, 4), out) != 0) {
        apierr_set(err, 500, "user %d has more sites than this server supports (%d)",
                   out->user_id, CALLER_MAX_SITES);
        goto out;
    }
    rc = 0;
out:
    PQclear(r);
    return rc;
}

static int opt_latest(struct dbconn *c, const struct caller *who, const struct latest_params *p,
                      json_t **out, struct apierr *err)
{
    struct cursor cur = {.offset = 0};
    if (p->cursor && cursor_decode(p->cursor, &cur) != 0)
        return apierr_set(err, 400, "invalid cursor: use next_cursor from a previous page");
    char sites[CALLER_MAX_SITES * 12 + 3], limit[16], rid[24];
    qshape_sites_param(who, sites, sizeof sites);
    snprintf(limit, sizeof limit, "%d", p->limit + 1);
    PGresult *r;
    if (p->cursor) {
        snprintf(rid, sizeof rid, "%lld", (long long)cur.reading_id);
        const char *pa[] = {sites, cur.timestamp, rid, limit};
        r = qshape_run(c, &latest_after, pa, err);
    } else {
        const char *pf[] = {sites, limit};
        r = qshape_run(c, &latest_first, pf, err);
    }
    if (!r)
        return -1;
    static const struct reading_cols cols = {.id = 0, .device_id = 1, .device_name = 2,
                                             .site_id = 3, .site_name = 4, .timestamp = 5,
                                             .temperature = 6, .humidity = 7, .battery = 8,
                                             .rssi = 9};
    int n = PQntuples(r);
    bool more = n > p->limit;
    if (more)
        n = p->limit;
    json_t *readings = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(readings, qshape_reading(r, i, &cols, NULL));
    PQclear(r);
    *out = qshape_latest_page(readings, p->limit, more, cur.offset);
    return 0;
}

static int opt_device_readings(struct dbconn *c, const struct caller *who, int device_id,
                               int hours, int limit, json_t **out, struct apierr *err)
{
    char id[16], h[16], l[16], sites[CALLER_MAX_SITES * 12 + 3];
    snprintf(id, sizeof id, "%d", device_id);
    snprintf(h, sizeof h, "%d", hours);
    snprintf(l, sizeof l, "%d", limit);
    qshape_sites_param(who, sites, sizeof sites);
    const char *p[] = {id, h, l, sites};
    PGresult *r = qshape_run(c, &device_readings, p, err);
    if (!r)
        return -1;
    int rc = -1;
    if (PQntuples(r) == 0) {
        apierr_set(err, 404, "device %s not found", id);
        goto out;
    }
    if (!auth_may_see_site(who, atoi(PQgetvalue(r, 0, 0)))) {
        apierr_set(err, 403, "device %s belongs to a site you cannot access", id);
        goto out;
    }
    static const struct reading_cols cols = {.id = 1, .device_id = -1, .device_name = -1,
                                             .site_id = -1, .site_name = -1, .timestamp = 2,
                                             .temperature = 3, .humidity = 4, .battery = 5,
                                             .rssi = 6};
    json_t *readings = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        if (!PQgetisnull(r, i, 1)) /* the LEFT JOIN's row for a device without readings */
            json_array_append_new(readings, qshape_reading(r, i, &cols, NULL));
    *out = qshape_device_readings(device_id, hours, limit, readings);
    rc = 0;
out:
    PQclear(r);
    return rc;
}

static int opt_device_detail(struct dbconn *c, const struct caller *who, int device_id,
                             json_t **out, struct apierr *err)
{
    char id[16], sites[CALLER_MAX_SITES * 12 + 3];
    snprintf(id, sizeof id, "%d", device_id);
    qshape_sites_param(who, sites, sizeof sites);
    const char *p[] = {id, sites};
    PGresult *r = qshape_run(c, &device_detail, p, err);
    if (!r)
        return -1;
    int rc = -1;
    if (PQntuples(r) != 1) {
        apierr_set(err, 404, "device %s not found", id);
        goto out;
    }
    if (strcmp(PQgetvalue(r, 0, 9), "t") != 0) {
        apierr_set(err, 403, "device %s belongs to a site you cannot access", id);
        goto out;
    }
    static const struct reading_cols rcols = {.id = 10, .device_id = -1, .device_name = -1,
                                              .site_id = -1, .site_name = -1, .timestamp = 11,
                                              .temperature = 12, .humidity = 13, .battery = 14,
                                              .rssi = 15};
    static const struct device_cols dcols = {.id = 0, .name = 1, .site_id = 2, .model = 4,
                                             .firmware = 5, .status = 6, .installed_at = 7,
                                             .last_seen_at = 8};
    json_t *latest = PQgetisnull(r, 0, 10) ? json_null() : qshape_reading(r, 0, &rcols, NULL);
    json_t *stats = qshape_stats(render_int(r, 0, 16), qshape_triple(r, 0, 17),
                                 qshape_triple(r, 0, 20), qshape_triple(r, 0, 23));
    *out = qshape_device(r, 0, &dcols, r, 0, 3, latest, stats);
    rc = 0;
out:
    PQclear(r);
    return rc;
}

static int opt_ingest(struct dbconn *c, const struct caller *who, int device_id,
                      const struct reading_in *rows, size_t nrows, bool global_lock,
                      int *site_id, json_t **out, struct apierr *err)
{
    char id[16];
    snprintf(id, sizeof id, "%d", device_id);
    for (size_t i = 0; i < nrows; i++)
        if (qshape_check_row(&rows[i], i, err) != 0)
            return -1;
    const char *pd[] = {id};
    PGresult *r = qshape_run(c, &device_site, pd, err);
    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return apierr_set(err, 404, "device %s not found", id);
    }
    *site_id = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!auth_may_see_site(who, *site_id))
        return apierr_set(err, 403, "device %s belongs to a site you cannot access", id);

    /* One array parameter per column; the values were validated, so none needs quoting. */
    struct strbuf ts = {0}, temp = {0}, hum = {0}, bat = {0}, rssi = {0};
    for (size_t i = 0; i < nrows; i++) {
        const char *sep = i ? "," : "{";
        strbuf_appendf(&ts, "%s%s", sep, rows[i].timestamp);
        strbuf_appendf(&temp, "%s%.17g", sep, rows[i].temperature);
        strbuf_appendf(&hum, "%s%.17g", sep, rows[i].humidity);
        strbuf_appendf(&bat, "%s%.17g", sep, rows[i].battery);
        strbuf_appendf(&rssi, "%s%d", sep, rows[i].rssi);
    }
    strbuf_append(&ts, "}", 1);
    strbuf_append(&temp, "}", 1);
    strbuf_append(&hum, "}", 1);
    strbuf_append(&bat, "}", 1);
    strbuf_append(&rssi, "}", 1);

    int rc = -1;
    if (global_lock && db_exec_simple(c, "BEGIN") != 0) {
        qshape_db_error(c, NULL, "BEGIN", err);
        goto out;
    }
    if (global_lock && qshape_take_ingest_lock(c, err) != 0)
        goto rollback;
    const char *pi[] = {id, ts.data, temp.data, hum.data, bat.data, rssi.data};
    if (!(r = qshape_run(c, &insert_batch, pi, err)))
        goto rollback;
    PQclear(r);
    if (global_lock && db_exec_simple(c, "COMMIT") != 0) {
        qshape_db_error(c, NULL, "COMMIT", err);
        goto out;
    }
    *out = json_pack("{s:i,s:I}", "device_id", device_id, "inserted", (json_int_t)nrows);
    rc = 0;
    goto out;
rollback:
    if (global_lock && !c->broken)
        db_exec_simple(c, "ROLLBACK");
out:
    strbuf_free(&ts);
    strbuf_free(&temp);
    strbuf_free(&hum);
    strbuf_free(&bat);
    strbuf_free(&rssi);
    return rc;
}

static const char *const required[] = {"devices_status_id_idx",
                                       "readings_device_id_timestamp_idx",
                                       "readings_timestamp_idx", NULL};

const struct queries_ops queries_optimised = {
    .name = "optimised",
    .required_indexes = required,
    .authenticate = opt_authenticate,
    .latest = opt_latest,
    .device_readings = opt_device_readings,
    .device_detail = opt_device_detail,
    .ingest = opt_ingest,
};
