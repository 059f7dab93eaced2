/* queries_naive.c - the query set of 01-baseline: what a first version of the service
 * does. Each statement has a reason such a service really has; none is padding.
 *
 * GET /api/readings/latest (the article's endpoint), 5 + S statements, S = the distinct
 * sites on the page (scale 1: S <= 5, so 10 for the admin user):
 *   1. SELECT * FROM api_keys WHERE key_hash = $1      find the presented key
 *   2. SELECT * FROM users WHERE id = $1               load the key's user (an "ORM object")
 *   3. SELECT * FROM user_sites WHERE user_id = $1     load the user's permissions
 *   4. SELECT count(*) FROM devices JOIN readings ...  the total, to know if a next page exists
 *   5. SELECT * FROM devices JOIN readings ... ORDER BY timestamp DESC LIMIT n OFFSET o
 *      (the article's unoptimised query, with the caller's sites and OFFSET paging)
 *   6.. SELECT * FROM sites WHERE id = $1              once per site on the page (N+1),
 *      for the site name
 * GET /api/devices/{id}/readings: 3 (auth) + device + readings = 5.
 * GET /api/devices/{id}: 3 + device + site + last reading + count + one aggregate per
 *   sensor (temperature, humidity, battery) = 10.
 * POST /api/devices/{id}/readings (n rows): 3 + device + BEGIN + n INSERTs (ids from the
 *   sequence) + UPDATE devices + COMMIT = n + 7; n + 8 with --ingest-lock (the lock).
 * No statement filters readings by time where the API does not ask for it: that and the
 * OFFSET scans are what makes this set slow on a large table. */
#include "apibench/queries.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/auth.h"
#include "apibench/cursor.h"
#include "apibench/db.h"
#include "apibench/qshape.h"
#include "apibench/render.h"

#define STMT(ID, NAME, N, SQL) \
    static const struct stmt NAME = {.id = ID, .name = "naive_" #NAME, .sql = SQL, .nparams = N}

STMT(0, key_by_hash, 1, "SELECT * FROM api_keys WHERE key_hash = $1::bytea");
STMT(1, user_by_id, 1, "SELECT * FROM users WHERE id = $1");
STMT(2, user_sites, 1, "SELECT * FROM user_sites WHERE user_id = $1");
STMT(3, latest_count, 1,
     "SELECT count(*) FROM devices d JOIN readings r ON d.id = r.device_id "
     "WHERE d.status = 'active' AND d.site_id = ANY($1::int[])");
STMT(4, latest_page, 3,
     "SELECT * FROM devices d JOIN readings r ON d.id = r.device_id "
     "WHERE d.status = 'active' AND d.site_id = ANY($1::int[]) "
     "ORDER BY r.\"timestamp\" DESC, r.id DESC LIMIT $2 OFFSET $3");
STMT(5, site_by_id, 1, "SELECT * FROM sites WHERE id = $1");
STMT(6, device_by_id, 1, "SELECT * FROM devices WHERE id = $1");
STMT(7, device_readings, 3,
     "SELECT * FROM readings WHERE device_id = $1 "
     "AND \"timestamp\" > now() - make_interval(hours => $2::int) "
     "ORDER BY \"timestamp\" DESC, id DESC LIMIT $3");
STMT(8, last_reading, 1,
     "SELECT * FROM readings WHERE device_id = $1 ORDER BY \"timestamp\" DESC, id DESC LIMIT 1");
STMT(9, count_24h, 1,
     "SELECT count(*) FROM readings WHERE device_id = $1 "
     "AND \"timestamp\" > now() - interval '24 hours'");
STMT(10, temperature_24h, 1,
     "SELECT min(temperature), max(temperature), round(avg(temperature::numeric), 2)::float8 "
     "FROM readings WHERE device_id = $1 AND \"timestamp\" > now() - interval '24 hours'");
STMT(11, humidity_24h, 1,
     "SELECT min(humidity), max(humidity), round(avg(humidity::numeric), 2)::float8 "
     "FROM readings WHERE device_id = $1 AND \"timestamp\" > now() - interval '24 hours'");
STMT(12, battery_24h, 1,
     "SELECT min(battery), max(battery), round(avg(battery::numeric), 2)::float8 "
     "FROM readings WHERE device_id = $1 AND \"timestamp\" > now() - interval '24 hours'");
STMT(14, insert_reading, 6,
     "INSERT INTO readings (device_id, \"timestamp\", temperature, humidity, battery, rssi) "
     "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id");
STMT(15, touch_device, 2,
     "UPDATE devices SET last_seen_at = greatest(last_seen_at, (SELECT max(\"timestamp\") "
     "FROM readings WHERE id >= $2 AND device_id = $1)) WHERE id = $1");

static int naive_authenticate(struct dbconn *c, const unsigned char key_hash[32],
                              struct caller *out, struct apierr *err)
{
    char hash[67], uid[16];
    auth_hash_param(key_hash, hash);
    const char *p1[] = {hash};
    PGresult *k = qshape_run(c, &key_by_hash, p1, err);
    if (!k)
        return -1;
    int rc = -1;
    PGresult *u = NULL, *s = NULL;
    if (PQntuples(k) != 1 || !auth_hash_matches(PQgetvalue(k, 0, PQfnumber(k, "key_hash")),
                                                key_hash)) {
        apierr_set(err, 401, "unknown api key");
        goto out;
    }
    if (!PQgetisnull(k, 0, PQfnumber(k, "revoked_at"))) {
        apierr_set(err, 401, "api key revoked");
        goto out;
    }
    snprintf(uid, sizeof uid, "%s", PQgetvalue(k, 0, PQfnumber(k, "user_id")));
    const char *p2[] = {uid};
    if (!(u = qshape_run(c, &user_by_id, p2, err)))
        goto out;
    if (PQntuples(u) != 1) {
        apierr_set(err, 401, "unknown api key");
        goto out;
    }
    if (!(s = qshape_run(c, &user_sites, p2, err)))
        goto out;
    memset(out, 0, sizeof *out);
    out->user_id = atoi(uid);
    snprintf(out->email, sizeof out->email, "%s", PQgetvalue(u, 0, PQfnumber(u, "email")));
    int col = PQfnumber(s, "site_id");
    if (PQntuples(s) > CALLER_MAX_SITES) {
        apierr_set(err, 500, "user %d has more sites than this server supports (%d)",
                   out->user_id, CALLER_MAX_SITES);
        goto out;
    }
    /* The ORM hands rows back in no particular order; the caller wants them sorted. */
    for (int i = 0; i < PQntuples(s); i++) {
        int site = atoi(PQgetvalue(s, i, col)), j = out->nsites++;
        while (j > 0 && out->sites[j - 1] > site) {
            out->sites[j] = out->sites[j - 1];
            j--;
        }
        out->sites[j] = site;
    }
    rc = 0;
out:
    PQclear(k);
    PQclear(u);
    PQclear(s);
    return rc;
}

static int naive_latest(struct dbconn *c, const struct caller *who, const struct latest_params *p,
                        json_t **out, struct apierr *err)
{
    struct cursor cur = {.offset = 0};
    if (p->cursor && cursor_decode(p->cursor, &cur) != 0)
        return apierr_set(err, 400, "invalid cursor: use next_cursor from a previous page");
    char sites[CALLER_MAX_SITES * 12 + 3], limit[16], offset[24];
    qshape_sites_param(who, sites, sizeof sites);
    snprintf(limit, sizeof limit, "%d", p->limit);
    snprintf(offset, sizeof offset, "%lld", (long long)cur.offset);

    const char *pc[] = {sites};
    PGresult *cnt = qshape_run(c, &latest_count, pc, err);
    if (!cnt)
        return -1;
    long long total = atoll(PQgetvalue(cnt, 0, 0));
    PQclear(cnt);

    const char *pp[] = {sites, limit, offset};
    PGresult *r = qshape_run(c, &latest_page, pp, err);
    if (!r)
        return -1;
    struct reading_cols cols = {
        .id = qshape_col(r, "id", 1),         .device_id = qshape_col(r, "device_id", 0),
        .device_name = qshape_col(r, "name", 0), .site_id = qshape_col(r, "site_id", 0),
        .site_name = -1,                      .timestamp = qshape_col(r, "timestamp", 0),
        .temperature = qshape_col(r, "temperature", 0),
        .humidity = qshape_col(r, "humidity", 0), .battery = qshape_col(r, "battery", 0),
        .rssi = qshape_col(r, "rssi", 0)};

    /* N+1: the site name of every site on the page, one lookup each (memoised per page,
     * as an ORM's identity map would). */
    int nrows = PQntuples(r), site_ids[CALLER_MAX_SITES], nsite = 0, rc = -1;
    json_t *names[CALLER_MAX_SITES];
    json_t *readings = json_array();
    for (int i = 0; i < nrows; i++) {
        int site = atoi(PQgetvalue(r, i, cols.site_id)), k;
        for (k = 0; k < nsite && site_ids[k] != site; k++)
            ;
        if (k == nsite) {
            if (nsite == CALLER_MAX_SITES) {
                apierr_set(err, 500, "too many sites on one page");
                goto out;
            }
            char sid[16];
            snprintf(sid, sizeof sid, "%d", site);
            const char *ps[] = {sid};
            PGresult *s = qshape_run(c, &site_by_id, ps, err);
            if (!s)
                goto out;
            names[nsite] = PQntuples(s) == 1 ? render_text(s, 0, PQfnumber(s, "name"))
                                             : json_null();
            site_ids[nsite++] = site;
            PQclear(s);
        }
        json_array_append_new(readings,
                              qshape_reading(r, i, &cols, json_incref(names[k])));
    }
    bool more = cur.offset + nrows < total;
    *out = qshape_latest_page(readings, p->limit, more, cur.offset);
    readings = NULL;
    rc = 0;
out:
    for (int k = 0; k < nsite; k++)
        json_decref(names[k]);
    json_decref(readings);
    PQclear(r);
    return rc;
}

/* Loads the device and checks the caller may see it: 404 unknown, 403 not theirs. Returns
 * the device row (caller clears) or NULL with err. */
static PGresult *device_for(struct dbconn *c, const struct caller *who, const char *id,
                            struct apierr *err)
{
    const char *p[] = {id};
    PGresult *d = qshape_run(c, &device_by_id, p, err);
    if (!d)
        return NULL;
    if (PQntuples(d) != 1) {
        PQclear(d);
        apierr_set(err, 404, "device %s not found", id);
        return NULL;
    }
    if (!auth_may_see_site(who, atoi(PQgetvalue(d, 0, PQfnumber(d, "site_id"))))) {
        PQclear(d);
        apierr_set(err, 403, "device %s belongs to a site you cannot access", id);
        return NULL;
    }
    return d;
}

static const struct reading_cols *device_reading_cols(const PGresult *r, struct reading_cols *c)
{
    *c = (struct reading_cols){.id = PQfnumber(r, "id"), .device_id = -1, .device_name = -1,
                               .site_id = -1, .site_name = -1,
                               .timestamp = PQfnumber(r, "timestamp"),
                               .temperature = PQfnumber(r, "temperature"),
                               .humidity = PQfnumber(r, "humidity"),
                               .battery = PQfnumber(r, "battery"), .rssi = PQfnumber(r, "rssi")};
    return c;
}

static int naive_device_readings(struct dbconn *c, const struct caller *who, int device_id,
                                 int hours, int limit, json_t **out, struct apierr *err)
{
    char id[16], h[16], l[16];
    snprintf(id, sizeof id, "%d", device_id);
    snprintf(h, sizeof h, "%d", hours);
    snprintf(l, sizeof l, "%d", limit);
    PGresult *d = device_for(c, who, id, err);
    if (!d)
        return -1;
    PQclear(d);
    const char *p[] = {id, h, l};
    PGresult *r = qshape_run(c, &device_readings, p, err);
    if (!r)
        return -1;
    struct reading_cols cols;
    device_reading_cols(r, &cols);
    json_t *readings = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(readings, qshape_reading(r, i, &cols, NULL));
    PQclear(r);
    *out = qshape_device_readings(device_id, hours, limit, readings);
    return 0;
}

static int naive_device_detail(struct dbconn *c, const struct caller *who, int device_id,
                               json_t **out, struct apierr *err)
{
    char id[16], site[16];
    snprintf(id, sizeof id, "%d", device_id);
    PGresult *d = device_for(c, who, id, err);
    if (!d)
        return -1;
    PGresult *s = NULL, *last = NULL, *cnt = NULL, *t = NULL, *h = NULL, *b = NULL;
    int rc = -1;
    snprintf(site, sizeof site, "%s", PQgetvalue(d, 0, PQfnumber(d, "site_id")));
    const char *ps[] = {site}, *pd[] = {id};
    if (!(s = qshape_run(c, &site_by_id, ps, err)) || !(last = qshape_run(c, &last_reading, pd, err)) ||
        !(cnt = qshape_run(c, &count_24h, pd, err)) || !(t = qshape_run(c, &temperature_24h, pd, err)) ||
        !(h = qshape_run(c, &humidity_24h, pd, err)) || !(b = qshape_run(c, &battery_24h, pd, err)))
        goto out;
    struct reading_cols rcols;
    device_reading_cols(last, &rcols);
    json_t *latest = PQntuples(last) == 1 ? qshape_reading(last, 0, &rcols, NULL) : json_null();
    json_t *stats = qshape_stats(render_int(cnt, 0, 0), qshape_triple(t, 0, 0),
                                 qshape_triple(h, 0, 0), qshape_triple(b, 0, 0));
    struct device_cols dcols = {
        .id = PQfnumber(d, "id"),           .name = PQfnumber(d, "name"),
        .site_id = PQfnumber(d, "site_id"), .model = PQfnumber(d, "model"),
        .firmware = PQfnumber(d, "firmware"), .status = PQfnumber(d, "status"),
        .installed_at = PQfnumber(d, "installed_at"),
        .last_seen_at = PQfnumber(d, "last_seen_at")};
    if (PQntuples(s) != 1) {
        json_decref(latest);
        json_decref(stats);
        apierr_set(err, 500, "device %s has no site", id);
        goto out;
    }
    *out = qshape_device(d, 0, &dcols, s, 0, PQfnumber(s, "name"), latest, stats);
    rc = 0;
out:
    PQclear(d);
    PQclear(s);
    PQclear(last);
    PQclear(cnt);
    PQclear(t);
    PQclear(h);
    PQclear(b);
    return rc;
}

static int naive_ingest(struct dbconn *c, const struct caller *who, int device_id,
                        const struct reading_in *rows, size_t nrows, bool global_lock,
                        int *site_id, json_t **out, struct apierr *err)
{
    char id[16];
    snprintf(id, sizeof id, "%d", device_id);
    for (size_t i = 0; i < nrows; i++)
        if (qshape_check_row(&rows[i], i, err) != 0)
            return -1;
    PGresult *d = device_for(c, who, id, err);
    if (!d)
        return -1;
    *site_id = atoi(PQgetvalue(d, 0, PQfnumber(d, "site_id")));
    PQclear(d);

    if (db_exec_simple(c, "BEGIN") != 0)
        return qshape_db_error(c, NULL, "BEGIN", err);
    if (global_lock && qshape_take_ingest_lock(c, err) != 0)
        goto rollback;
    PGresult *r;
    char first[24] = "0"; /* the batch's first id: its rows are the device's ids >= it */
    for (size_t i = 0; i < nrows; i++) {
        char temp[32], hum[32], bat[32], rssi[16];
        snprintf(temp, sizeof temp, "%.17g", rows[i].temperature);
        snprintf(hum, sizeof hum, "%.17g", rows[i].humidity);
        snprintf(bat, sizeof bat, "%.17g", rows[i].battery);
        snprintf(rssi, sizeof rssi, "%d", rows[i].rssi);
        const char *p[] = {id, rows[i].timestamp, temp, hum, bat, rssi};
        if (!(r = qshape_run(c, &insert_reading, p, err)))
            goto rollback;
        if (i == 0)
            snprintf(first, sizeof first, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    const char *pt[] = {id, first};
    if (!(r = qshape_run(c, &touch_device, pt, err)))
        goto rollback;
    PQclear(r);
    if (db_exec_simple(c, "COMMIT") != 0)
        return qshape_db_error(c, NULL, "COMMIT", err);
    *out = json_pack("{s:i,s:I}", "device_id", device_id, "inserted", (json_int_t)nrows);
    return 0;
rollback:
    if (!c->broken)
        db_exec_simple(c, "ROLLBACK");
    return -1;
}

const struct queries_ops queries_naive = {
    .name = "naive",
    .required_indexes = NULL,
    .authenticate = naive_authenticate,
    .latest = naive_latest,
    .device_readings = naive_device_readings,
    .device_detail = naive_device_detail,
    .ingest = naive_ingest,
};
