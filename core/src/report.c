/* report.c - the device/site report: one aggregation statement over PostgreSQL, rendered
 * as JSON and as a plain-text e-mail. */
#include "apibench/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/db.h"
#include "apibench/mail.h"
#include "apibench/strbuf.h"

#define ISO(x) "to_char(" x ", 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const struct stmt st_device_site = {
    40, "report_device_site", "SELECT site_id FROM devices WHERE id = $1", 1};
static const struct stmt st_site_exists = {
    41, "report_site_exists", "SELECT 1 FROM sites WHERE id = $1", 1};

/* The devices a report covers: one device, or every device of a site (a site without
 * devices gives one row of NULLs, so that "no devices" differs from "no such site"). */
#define DEVS_DEVICE "devs AS (SELECT id, name, site_id FROM devices WHERE id = $1)"
#define DEVS_SITE                                                                          \
    "devs AS (SELECT d.id, d.name, d.site_id FROM sites s "                                \
    "LEFT JOIN devices d ON d.site_id = s.id WHERE s.id = $1)"
#define WINDOW "w AS (SELECT now() - make_interval(hours => $2::int) AS t0, now() AS t1)"

/* Raw: aggregate every reading in the window. Columns: id, name, site_id, n, temp min,
 * avg, max, humidity avg, battery min, battery last, first, last, window from, to. */
#define RAW_SELECT(devs)                                                                   \
    "WITH " WINDOW ", " devs " "                                                           \
    "SELECT devs.id, devs.name, devs.site_id, count(r.device_id), "                        \
    "min(r.temperature), round(avg(r.temperature)::numeric, 2), max(r.temperature), "      \
    "round(avg(r.humidity)::numeric, 2), min(r.battery), "                                 \
    "(array_agg(r.battery ORDER BY r.\"timestamp\" DESC) "                                 \
    " FILTER (WHERE r.device_id IS NOT NULL))[1], " ISO("min(r.\"timestamp\")") ", "       \
    ISO("max(r.\"timestamp\")") ", " ISO("min(w.t0)") ", " ISO("min(w.t1)") " "            \
    "FROM w CROSS JOIN devs LEFT JOIN readings r ON r.device_id = devs.id "                \
    "AND r.\"timestamp\" > w.t0 AND r.\"timestamp\" <= w.t1 "                              \
    "GROUP BY devs.id, devs.name, devs.site_id ORDER BY devs.id"

/* Rollup: whole hours in [hs, he) from readings_hourly, where he stops at the rollup's
 * watermark (the hours it has seen complete), and the two edges (t0, hs) and [he, t1]
 * from readings. Same columns as RAW_SELECT. */
#define ROLLUP_PART(from_where)                                                      \
    "SELECT r.device_id, 1::bigint AS n, r.temperature AS tmin, r.temperature AS tsum, "   \
    "r.temperature AS tmax, r.humidity AS hsum, r.battery AS bmin, r.battery AS blast, "   \
    "r.\"timestamp\" AS first_ts, r.\"timestamp\" AS last_ts FROM b, readings r "          \
    "WHERE r.device_id IN (SELECT id FROM devs) AND " from_where
#define ROLLUP_SELECT(devs)                                                                \
    "WITH " WINDOW ", "                                                                    \
    "b AS (SELECT t0, t1, date_trunc('hour', t0) + interval '1 hour' AS hs, "              \
    " least(date_trunc('hour', t1), coalesce((SELECT complete_through FROM rollup_state "  \
    " WHERE name = 'readings_hourly'), '-infinity')) AS he FROM w), " devs ", "            \
    "parts AS ("                                                                           \
    "SELECT h.device_id, h.n::bigint AS n, h.temp_min AS tmin, h.temp_sum AS tsum, "       \
    "h.temp_max AS tmax, h.hum_sum AS hsum, h.batt_min AS bmin, h.batt_last AS blast, "    \
    "h.first_ts, h.last_ts FROM b, readings_hourly h "                                     \
    "WHERE h.device_id IN (SELECT id FROM devs) AND h.hour >= b.hs AND h.hour < b.he "     \
    "UNION ALL " ROLLUP_PART("r.\"timestamp\" > b.t0 AND r.\"timestamp\" < b.hs ")       \
    "UNION ALL "                                                                           \
    ROLLUP_PART("r.\"timestamp\" >= greatest(b.he, b.hs) AND r.\"timestamp\" <= b.t1") \
    ") "                                                                                   \
    "SELECT devs.id, devs.name, devs.site_id, coalesce(sum(p.n), 0), min(p.tmin), "        \
    "round((sum(p.tsum) / nullif(sum(p.n), 0))::numeric, 2), max(p.tmax), "                \
    "round((sum(p.hsum) / nullif(sum(p.n), 0))::numeric, 2), min(p.bmin), "                \
    "(array_agg(p.blast ORDER BY p.last_ts DESC) FILTER (WHERE p.n IS NOT NULL))[1], "     \
    ISO("min(p.first_ts)") ", " ISO("max(p.last_ts)") ", " ISO("min(b.t0)") ", "           \
    ISO("min(b.t1)") " "                                                                   \
    "FROM b CROSS JOIN devs LEFT JOIN parts p ON p.device_id = devs.id "                   \
    "GROUP BY devs.id, devs.name, devs.site_id ORDER BY devs.id"

static const struct stmt st_raw_device = {42, "report_raw_device", RAW_SELECT(DEVS_DEVICE), 2};
static const struct stmt st_raw_site = {43, "report_raw_site", RAW_SELECT(DEVS_SITE), 2};
static const struct stmt st_rollup_device = {44, "report_rollup_device",
                                             ROLLUP_SELECT(DEVS_DEVICE), 2};
static const struct stmt st_rollup_site = {45, "report_rollup_site", ROLLUP_SELECT(DEVS_SITE),
                                           2};

static bool caller_has_site(const struct caller *who, int site)
{
    int lo = 0, hi = who->nsites - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (who->sites[mid] == site)
            return true;
        if (who->sites[mid] < site)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return false;
}

/* 503 when the connection is gone, 500 when the statement failed (a bug or a missing
 * table: sql/async.sql not applied). */
static int db_fail(struct apierr *err, const struct dbconn *c, const PGresult *r,
                   const char *what)
{
    const char *pq = r ? PQresultErrorMessage(r) : c && c->pg ? PQerrorMessage(c->pg) : "";
    int n = (int)strcspn(pq, "\n");
    if (!r || c->broken)
        return apierr_set(err, 503, "cannot %s: database unavailable%s%.*s", what,
                          n ? ": " : "", n > 150 ? 150 : n, pq);
    return apierr_set(err, 500, "cannot %s: %.*s", what, n > 180 ? 180 : n, pq);
}

int report_check_access(struct dbconn *c, const struct caller *who,
                        const struct report_request *req, struct apierr *err)
{
    char id[16];
    snprintf(id, sizeof(id), "%d", req->target_id);
    const char *params[] = {id};
    bool device = strcmp(req->kind, "device") == 0;
    if (!device && strcmp(req->kind, "site") != 0)
        return apierr_set(err, 400, "bad report kind '%s': expected device or site", req->kind);
    PGresult *r = db_query(c, device ? &st_device_site : &st_site_exists, params);
    if (!db_ok(r)) {
        int rc = db_fail(err, c, r, "check report target");
        PQclear(r);
        return rc;
    }
    int site = -1;
    if (PQntuples(r) == 1)
        site = device ? atoi(PQgetvalue(r, 0, 0)) : req->target_id;
    PQclear(r);
    if (site < 0 || !caller_has_site(who, site))
        return apierr_set(err, 404, "%s %d not found", req->kind, req->target_id);
    return 0;
}

/* A float8/numeric column as a JSON real, or null. */
static json_t *real_or_null(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    return json_real(strtod(PQgetvalue(r, row, col), NULL));
}

static json_t *text_or_null(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    return json_string(PQgetvalue(r, row, col));
}

int report_build(struct dbconn *c, const struct report_request *req, enum report_source src,
                 json_t **out, struct apierr *err)
{
    bool device = strcmp(req->kind, "device") == 0;
    if (!device && strcmp(req->kind, "site") != 0)
        return apierr_set(err, 400, "bad report kind '%s': expected device or site", req->kind);
    const struct stmt *s = src == REPORT_FROM_ROLLUP ? (device ? &st_rollup_device : &st_rollup_site)
                                                     : (device ? &st_raw_device : &st_raw_site);
    char id[16], hours[16];
    snprintf(id, sizeof(id), "%d", req->target_id);
    snprintf(hours, sizeof(hours), "%d", req->hours);
    const char *params[] = {id, hours};
    PGresult *r = db_query(c, s, params);
    if (!db_ok(r)) {
        int rc = db_fail(err, c, r, "build report");
        PQclear(r);
        return rc;
    }
    int rows = PQntuples(r);
    if (rows == 0) {
        PQclear(r);
        return apierr_set(err, 404, "%s %d not found", req->kind, req->target_id);
    }
    json_t *devices = json_array();
    long long total = 0;
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(r, i, 0))
            continue; /* a site without devices */
        long long n = atoll(PQgetvalue(r, i, 3));
        total += n;
        json_t *temp = n ? json_pack("{s:o,s:o,s:o}", "min", real_or_null(r, i, 4), "avg",
                                     real_or_null(r, i, 5), "max", real_or_null(r, i, 6))
                         : json_null();
        json_t *batt = n ? json_pack("{s:o,s:o}", "min", real_or_null(r, i, 8), "last",
                                     real_or_null(r, i, 9))
                         : json_null();
        json_array_append_new(
            devices, json_pack("{s:i,s:s,s:i,s:I,s:o,s:o,s:o,s:o,s:o}", "id",
                               atoi(PQgetvalue(r, i, 0)), "name", PQgetvalue(r, i, 1), "site_id",
                               atoi(PQgetvalue(r, i, 2)), "readings", (json_int_t)n,
                               "temperature", temp, "humidity_avg", real_or_null(r, i, 7),
                               "battery", batt, "first_at", text_or_null(r, i, 10), "last_at",
                               text_or_null(r, i, 11)));
    }
    *out = json_pack("{s:s,s:i,s:i,s:{s:o,s:o},s:o,s:{s:I,s:I}}", "kind", req->kind,
                     "target_id", req->target_id, "hours", req->hours, "window", "from",
                     text_or_null(r, 0, 12), "to", text_or_null(r, 0, 13), "devices", devices,
                     "totals", "devices", (json_int_t)json_array_size(devices), "readings",
                     (json_int_t)total);
    PQclear(r);
    if (!*out)
        return apierr_set(err, 500, "cannot render report: invalid text in a device name");
    return 0;
}

static const char *str_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

void report_mail_subject(const json_t *report, char *buf, size_t len)
{
    snprintf(buf, len, "apibench report: %s %lld, last %lld hours",
             str_or(json_string_value(json_object_get(report, "kind")), "?"),
             (long long)json_integer_value(json_object_get(report, "target_id")),
             (long long)json_integer_value(json_object_get(report, "hours")));
}

/* Appends "label value" with two decimals, or "label -" for null. */
static void append_num(struct strbuf *b, const char *label, const json_t *v, const char *unit)
{
    if (json_is_number(v))
        strbuf_appendf(b, " %s %.2f%s", label, json_number_value(v), unit);
    else
        strbuf_appendf(b, " %s -", label);
}

char *report_mail_text(const json_t *report, int64_t job_id)
{
    struct strbuf b = {0};
    const json_t *window = json_object_get(report, "window");
    const json_t *totals = json_object_get(report, "totals");
    strbuf_appendf(&b, "Report for %s %lld over the last %lld hours (job %lld)\n",
                   str_or(json_string_value(json_object_get(report, "kind")), "?"),
                   (long long)json_integer_value(json_object_get(report, "target_id")),
                   (long long)json_integer_value(json_object_get(report, "hours")),
                   (long long)job_id);
    strbuf_appendf(&b, "Window: %s to %s\n\n",
                   str_or(json_string_value(json_object_get(window, "from")), "?"),
                   str_or(json_string_value(json_object_get(window, "to")), "?"));
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(report, "devices"), i, d)
    {
        const json_t *t = json_object_get(d, "temperature");
        const json_t *bt = json_object_get(d, "battery");
        strbuf_appendf(&b, "Device %lld (%s), site %lld: %lld readings\n",
                       (long long)json_integer_value(json_object_get(d, "id")),
                       str_or(json_string_value(json_object_get(d, "name")), ""),
                       (long long)json_integer_value(json_object_get(d, "site_id")),
                       (long long)json_integer_value(json_object_get(d, "readings")));
        if (json_integer_value(json_object_get(d, "readings")) == 0)
            continue;
        strbuf_appendf(&b, "  temperature (C):");
        append_num(&b, "min", json_object_get(t, "min"), "");
        append_num(&b, "avg", json_object_get(t, "avg"), "");
        append_num(&b, "max", json_object_get(t, "max"), "");
        strbuf_appendf(&b, "\n  humidity (%%):");
        append_num(&b, "avg", json_object_get(d, "humidity_avg"), "");
        strbuf_appendf(&b, "\n  battery (%%):");
        append_num(&b, "min", json_object_get(bt, "min"), "");
        append_num(&b, "last", json_object_get(bt, "last"), "");
        strbuf_appendf(&b, "\n  first %s, last %s\n",
                       str_or(json_string_value(json_object_get(d, "first_at")), "-"),
                       str_or(json_string_value(json_object_get(d, "last_at")), "-"));
    }
    strbuf_appendf(&b, "\nTotals: %lld devices, %lld readings\n",
                   (long long)json_integer_value(json_object_get(totals, "devices")),
                   (long long)json_integer_value(json_object_get(totals, "readings")));
    size_t len;
    return strbuf_steal(&b, &len);
}

struct dbconn *report_admit(struct reqctx *ctx, const struct caller *who,
                            const struct report_request *req, struct report_row *row,
                            struct apierr *err)
{
    if (!mail_address_ok(req->email)) {
        apierr_set(err, 400, "bad email '%.80s': expected one address like name@example.com",
                   req->email ? req->email : "");
        return NULL;
    }
    struct dbconn *c = reqctx_db(ctx, err);
    if (!c || report_check_access(c, who, req, err) != 0)
        return NULL;
    snprintf(row->uid, sizeof row->uid, "%d", who->user_id);
    snprintf(row->target, sizeof row->target, "%d", req->target_id);
    snprintf(row->hours, sizeof row->hours, "%d", req->hours);
    row->params[0] = row->uid;
    row->params[1] = req->kind;
    row->params[2] = row->target;
    row->params[3] = row->hours;
    row->params[4] = req->email;
    return c;
}
