/* qshape.c - JSON shapes and helpers shared by queries_naive and queries_optimised. */
#include "apibench/qshape.h"

#include <stdio.h>
#include <string.h>

#include "apibench/cursor.h"
#include "apibench/db.h"
#include "apibench/render.h"

static void set_col(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, v ? v : json_null());
}

json_t *qshape_reading(const PGresult *r, int row, const struct reading_cols *cols,
                       json_t *site_name)
{
    json_t *o = json_object();
    set_col(o, "id", render_int(r, row, cols->id));
    if (cols->device_id >= 0)
        set_col(o, "device_id", render_int(r, row, cols->device_id));
    if (cols->device_name >= 0)
        set_col(o, "device_name", render_text(r, row, cols->device_name));
    if (cols->site_id >= 0)
        set_col(o, "site_id", render_int(r, row, cols->site_id));
    if (site_name)
        set_col(o, "site_name", site_name);
    else if (cols->site_name >= 0)
        set_col(o, "site_name", render_text(r, row, cols->site_name));
    set_col(o, "timestamp", render_ts(r, row, cols->timestamp));
    set_col(o, "temperature", render_real(r, row, cols->temperature));
    set_col(o, "humidity", render_real(r, row, cols->humidity));
    set_col(o, "battery", render_real(r, row, cols->battery));
    set_col(o, "rssi", render_int(r, row, cols->rssi));
    return o;
}

int qshape_cursor_after(const json_t *readings, int64_t offset, struct cursor *c)
{
    size_t n = json_array_size(readings);
    if (n == 0)
        return -1;
    const json_t *last = json_array_get(readings, n - 1);
    const char *ts = json_string_value(json_object_get(last, "timestamp"));
    if (!ts || strlen(ts) >= sizeof c->timestamp)
        return -1;
    memset(c, 0, sizeof *c);
    strcpy(c->timestamp, ts);
    c->reading_id = json_integer_value(json_object_get(last, "id"));
    c->offset = offset;
    return 0;
}

json_t *qshape_latest_page(json_t *readings, int limit, bool more, int64_t page_offset)
{
    json_t *o = json_object();
    size_t n = json_array_size(readings);
    json_t *next = json_null();
    struct cursor c;
    char text[CURSOR_TEXT_MAX + 1];
    if (more && page_offset + (int64_t)n <= CURSOR_MAX_OFFSET &&
        qshape_cursor_after(readings, page_offset + (int64_t)n, &c) == 0 &&
        cursor_encode(&c, text, sizeof text) == 0) {
        json_decref(next);
        next = json_string(text);
    }
    json_object_set_new(o, "readings", readings);
    json_object_set_new(o, "count", json_integer((json_int_t)n));
    json_object_set_new(o, "limit", json_integer(limit));
    json_object_set_new(o, "next_cursor", next);
    return o;
}

json_t *qshape_device_readings(int device_id, int hours, int limit, json_t *readings)
{
    json_t *o = json_object();
    json_object_set_new(o, "device_id", json_integer(device_id));
    json_object_set_new(o, "hours", json_integer(hours));
    json_object_set_new(o, "limit", json_integer(limit));
    json_object_set_new(o, "count", json_integer((json_int_t)json_array_size(readings)));
    json_object_set_new(o, "readings", readings);
    return o;
}

void qshape_sites_param(const struct caller *who, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    used += (size_t)snprintf(out, outlen, "{");
    for (int i = 0; i < who->nsites && used < outlen; i++)
        used += (size_t)snprintf(out + used, outlen - used, "%s%d", i ? "," : "", who->sites[i]);
    if (used < outlen)
        snprintf(out + used, outlen - used, "}");
}

int qshape_db_error(struct dbconn *c, PGresult *r, const char *what, struct apierr *err)
{
    if (!r || c->broken) {
        PQclear(r);
        return apierr_set(err, 503, "database unavailable: connection lost during %s", what);
    }
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorMessage(r);
    fprintf(stderr, "apibench: %s failed: %s", what, msg && *msg ? msg : "(no message)\n");
    /* 57014 query_canceled (statement timeout), 53xxx insufficient resources, 57P0x
     * shutdown: the database, not the request, is the problem. */
    bool busy = state && (strcmp(state, "57014") == 0 || strncmp(state, "53", 2) == 0 ||
                          strncmp(state, "57P", 3) == 0 || strncmp(state, "08", 2) == 0);
    PQclear(r);
    if (busy)
        return apierr_set(err, 503, "database unavailable during %s", what);
    return apierr_set(err, 500, "database error during %s", what);
}

int qshape_col(const PGresult *r, const char *name, int nth)
{
    int seen = 0;
    for (int i = 0; i < PQnfields(r); i++)
        if (strcmp(PQfname(r, i), name) == 0 && seen++ == nth)
            return i;
    return -1;
}

json_t *qshape_triple(const PGresult *r, int row, int col)
{
    json_t *o = json_object();
    json_object_set_new(o, "min", render_real(r, row, col));
    json_object_set_new(o, "max", render_real(r, row, col + 1));
    json_object_set_new(o, "avg", render_real(r, row, col + 2));
    return o;
}

json_t *qshape_stats(json_t *count, json_t *temperature, json_t *humidity, json_t *battery)
{
    json_t *o = json_object();
    json_object_set_new(o, "readings", count);
    json_object_set_new(o, "temperature", temperature);
    json_object_set_new(o, "humidity", humidity);
    json_object_set_new(o, "battery", battery);
    return o;
}

json_t *qshape_device(const PGresult *r, int row, const struct device_cols *cols,
                      const PGresult *site_r, int site_row, int site_name_col,
                      json_t *latest_reading, json_t *stats)
{
    json_t *o = json_object();
    set_col(o, "id", render_int(r, row, cols->id));
    set_col(o, "name", render_text(r, row, cols->name));
    set_col(o, "site_id", render_int(r, row, cols->site_id));
    set_col(o, "site_name", render_text(site_r, site_row, site_name_col));
    set_col(o, "model", render_text(r, row, cols->model));
    set_col(o, "firmware", render_text(r, row, cols->firmware));
    set_col(o, "status", render_text(r, row, cols->status));
    set_col(o, "installed_at", render_ts(r, row, cols->installed_at));
    set_col(o, "last_seen_at", render_ts(r, row, cols->last_seen_at));
    json_object_set_new(o, "latest_reading", latest_reading ? latest_reading : json_null());
    json_object_set_new(o, "stats_24h", stats);
    return o;
}

static const struct stmt ingest_lock = {
    .id = 34, .name = "ingest_lock", .sql = "SELECT pg_advisory_xact_lock($1::bigint)", .nparams = 1};

int qshape_take_ingest_lock(struct dbconn *c, struct apierr *err)
{
    const char *key[] = {"4242001"};
    PGresult *r = qshape_run(c, &ingest_lock, key, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int qshape_check_row(const struct reading_in *row, size_t index, struct apierr *err)
{
    if (!cursor_timestamp_valid(row->timestamp))
        return apierr_set(err, 400,
                          "invalid readings[%zu].timestamp: expected UTC ISO 8601 such as "
                          "2026-11-27T10:00:00Z",
                          index);
    if (!(row->temperature >= -100.0 && row->temperature <= 150.0))
        return apierr_set(err, 400, "invalid readings[%zu].temperature: expected -100..150",
                          index);
    if (!(row->humidity >= 0.0 && row->humidity <= 100.0))
        return apierr_set(err, 400, "invalid readings[%zu].humidity: expected 0..100", index);
    if (!(row->battery >= 0.0 && row->battery <= 100.0))
        return apierr_set(err, 400, "invalid readings[%zu].battery: expected 0..100", index);
    if (row->rssi < -200 || row->rssi > 0)
        return apierr_set(err, 400, "invalid readings[%zu].rssi: expected -200..0", index);
    return 0;
}

PGresult *qshape_run(struct dbconn *c, const struct stmt *s, const char *const *params,
                     struct apierr *err)
{
    PGresult *r = db_query(c, s, params);
    if (!db_ok(r)) {
        qshape_db_error(c, r, s->name, err);
        return NULL;
    }
    return r;
}
