/* handlers.c - one function per route: authenticate, validate, try the cache, run the
 * build's query set, render, store. The order is fixed: 401 before 400 before 404/403. */
#include "apibench/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apibench/auth.h"
#include "apibench/build.h"
#include "apibench/clock.h"
#include "apibench/cursor.h"
#include "apibench/db.h"
#include "apibench/params.h"
#include "apibench/render.h"
#include "apibench/server.h"
#include "apibench/strbuf.h"

#define JSON_TYPE "application/json"

void handlers_error(struct api_response *resp, const struct apierr *err)
{
    free(resp->body);
    free(resp->gzip);
    resp->gzip = NULL;
    resp->gzip_len = 0;
    resp->status = err->status ? err->status : 500;
    resp->body = render_error(resp->status, err->message, &resp->len);
    resp->content_type = JSON_TYPE;
    resp->encodable = true;
    resp->retry_after_s = err->retry_after_s;
}

static void reply_json(struct api_response *resp, int status, json_t *body)
{
    resp->status = status;
    resp->body = render_json(body, &resp->len);
    resp->content_type = JSON_TYPE;
    resp->encodable = true;
    json_decref(body);
}

/* Cache calls. The cache strategy adds its own time to Server-Timing "cache" (cache.h). */

/* On a hit, answers from the entry (its stored gzip included) and returns true. */
static bool cache_get(struct reqctx *ctx, const char *ns, const char *key,
                      struct api_response *resp)
{
    const char *level = NULL;
    struct cache_entry e;
    if (!ctx->srv->build->cache->get(ctx->srv->cache, ns, key, &e, &level))
        return false;
    resp->status = 200;
    resp->body = e.body;
    resp->len = e.len;
    resp->gzip = e.gzip;
    resp->gzip_len = e.gzip_len;
    resp->content_type = JSON_TYPE;
    resp->encodable = true;
    return true;
}

/* Fills the cache with a rendered 200. The build's encoder compresses the body here, once
 * for the entry's life (nothing for identity builds), and this response is sent from that
 * encoding too. A build without a cache skips it: it compresses per response. */
static void cache_put(struct reqctx *ctx, const char *ns, const char *key,
                      struct api_response *resp, enum cache_class cls)
{
    const struct build *b = ctx->srv->build;
    if (b->cache == &cache_none)
        return;
    int64_t t0 = clock_mono_us();
    if (b->encoder->precompress(resp->body, resp->len, &resp->gzip, &resp->gzip_len) != 0) {
        resp->gzip = NULL;
        resp->gzip_len = 0;
    }
    ctx->timing.encode_us += clock_mono_us() - t0;
    struct cache_entry e = {resp->body, resp->len, resp->gzip, resp->gzip_len};
    b->cache->put(ctx->srv->cache, ns, key, &e, cls);
}

/* Renders a query set's result into resp, timing the rendering. */
static void reply_rendered(struct reqctx *ctx, struct api_response *resp, int status, json_t *v)
{
    int64_t t0 = clock_mono_us();
    reply_json(resp, status, v);
    ctx->timing.render_us += clock_mono_us() - t0;
}

static void get_latest(struct reqctx *ctx, const struct api_request *req,
                       struct api_response *resp)
{
    struct apierr err = {0};
    struct caller who;
    struct latest_params p = {.cursor = req->arg(req->arg_ctx, "cursor")};
    struct cursor cur;
    if (auth_caller(ctx, req->api_key, &who, &err) != 0 ||
        params_int("limit", req->arg(req->arg_ctx, "limit"), 1, PARAMS_LIMIT_MAX,
                   PARAMS_LIMIT_DEFAULT, &p.limit, &err) != 0)
        goto fail;
    if (p.cursor && cursor_decode(p.cursor, &cur) != 0) {
        apierr_set(&err, 400, "invalid cursor: use next_cursor from a previous page");
        goto fail;
    }
    char key[64 + CURSOR_TEXT_MAX];
    snprintf(key, sizeof key, "u%d|l%d|c%s", who.user_id, p.limit, p.cursor ? p.cursor : "-");
    if (cache_get(ctx, "latest", key, resp))
        return;
    struct dbconn *c = reqctx_db(ctx, &err);
    json_t *out = NULL;
    if (!c || ctx->srv->build->queries->latest(c, &who, &p, &out, &err) != 0)
        goto fail;
    reply_rendered(ctx, resp, 200, out);
    cache_put(ctx, "latest", key, resp, CACHE_DYNAMIC);
    return;
fail:
    handlers_error(resp, &err);
}

static void get_device_readings(struct reqctx *ctx, const struct api_request *req, int device_id,
                                struct api_response *resp)
{
    struct apierr err = {0};
    struct caller who;
    int hours, limit;
    if (auth_caller(ctx, req->api_key, &who, &err) != 0 ||
        params_int("hours", req->arg(req->arg_ctx, "hours"), 1, PARAMS_HOURS_MAX,
                   PARAMS_HOURS_DEFAULT, &hours, &err) != 0 ||
        params_int("limit", req->arg(req->arg_ctx, "limit"), 1, PARAMS_LIMIT_MAX,
                   PARAMS_LIMIT_DEFAULT, &limit, &err) != 0)
        goto fail;
    char ns[32], key[64];
    snprintf(ns, sizeof ns, "device:%d", device_id);
    snprintf(key, sizeof key, "readings|u%d|h%d|l%d", who.user_id, hours, limit);
    if (cache_get(ctx, ns, key, resp))
        return;
    struct dbconn *c = reqctx_db(ctx, &err);
    json_t *out = NULL;
    if (!c || ctx->srv->build->queries->device_readings(c, &who, device_id, hours, limit, &out,
                                                        &err) != 0)
        goto fail;
    reply_rendered(ctx, resp, 200, out);
    cache_put(ctx, ns, key, resp, CACHE_DYNAMIC);
    return;
fail:
    handlers_error(resp, &err);
}

static void get_device(struct reqctx *ctx, const struct api_request *req, int device_id,
                       struct api_response *resp)
{
    struct apierr err = {0};
    struct caller who;
    if (auth_caller(ctx, req->api_key, &who, &err) != 0)
        goto fail;
    char ns[32], key[64];
    snprintf(ns, sizeof ns, "device:%d", device_id);
    snprintf(key, sizeof key, "detail|u%d", who.user_id);
    if (cache_get(ctx, ns, key, resp))
        return;
    struct dbconn *c = reqctx_db(ctx, &err);
    json_t *out = NULL;
    if (!c || ctx->srv->build->queries->device_detail(c, &who, device_id, &out, &err) != 0)
        goto fail;
    reply_rendered(ctx, resp, 200, out);
    /* It carries 24 h statistics and the latest reading: dynamic, not device metadata. */
    cache_put(ctx, ns, key, resp, CACHE_DYNAMIC);
    return;
fail:
    handlers_error(resp, &err);
}

static void post_readings(struct reqctx *ctx, const struct api_request *req, int device_id,
                          struct api_response *resp)
{
    struct apierr err = {0};
    struct caller who;
    struct reading_in *rows = NULL;
    size_t nrows = 0;
    int site_id = 0;
    json_t *out = NULL;
    if (auth_caller(ctx, req->api_key, &who, &err) != 0 ||
        params_ingest(req->body, req->body_len, &rows, &nrows, &err) != 0)
        goto fail;
    struct dbconn *c = reqctx_db(ctx, &err);
    if (!c ||
        ctx->srv->build->queries->ingest(c, &who, device_id, rows, nrows,
                                         ctx->srv->cfg.ingest_lock, &site_id, &out, &err) != 0)
        goto fail;
    free(rows);
    /* Committed: now drop what it made stale, here and on every other instance. */
    char ns[32];
    snprintf(ns, sizeof ns, "device:%d", device_id);
    ctx->srv->build->cache->invalidate(ctx->srv->cache, "latest");
    ctx->srv->build->cache->invalidate(ctx->srv->cache, ns);
    reply_rendered(ctx, resp, 201, out);
    return;
fail:
    free(rows);
    handlers_error(resp, &err);
}

static void post_report(struct reqctx *ctx, const struct api_request *req,
                        struct api_response *resp)
{
    struct apierr err = {0};
    struct caller who;
    struct report_request rr;
    json_t *root = NULL;
    struct job_reply reply = {0};
    if (auth_caller(ctx, req->api_key, &who, &err) != 0 ||
        params_report(req->body, req->body_len, &rr, &root, &err) != 0)
        goto fail;
    if (ctx->srv->build->jobs->submit(ctx->srv->jobs, ctx, &who, &rr, &reply, &err) != 0)
        goto fail;
    json_decref(root);
    snprintf(resp->location, sizeof resp->location, "%s", reply.location);
    reply_rendered(ctx, resp, reply.status ? reply.status : 200,
                   reply.body ? reply.body : json_object());
    return;
fail:
    json_decref(root);
    handlers_error(resp, &err);
}

/* The one statement of GET /api/jobs/{id}, the same in every build: a job is visible only
 * to the user who asked for it (anyone else gets 404, as if it did not exist). */
static const struct stmt job_by_id = {
    .id = 33,
    .name = "job_by_id",
    .sql = "SELECT id, status, kind, target_id, hours, email, attempts, mails_sent, "
           "to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
           "to_char(finished_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), error, result "
           "FROM reports WHERE id = $1 AND user_id = $2",
    .nparams = 2};

static void get_job(struct reqctx *ctx, const struct api_request *req, int64_t job_id,
                    struct api_response *resp)
{
    struct apierr err = {0};
    struct caller who;
    if (auth_caller(ctx, req->api_key, &who, &err) != 0)
        goto fail;
    struct dbconn *c = reqctx_db(ctx, &err);
    if (!c)
        goto fail;
    char id[24], uid[16];
    snprintf(id, sizeof id, "%lld", (long long)job_id);
    snprintf(uid, sizeof uid, "%d", who.user_id);
    const char *params[] = {id, uid};
    PGresult *r = db_query(c, &job_by_id, params);
    if (!db_ok(r)) {
        if (!r || c->broken)
            apierr_set(&err, 503, "database unavailable: connection lost during job lookup");
        else
            apierr_set(&err, 500, "database error during job lookup");
        PQclear(r);
        goto fail;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        apierr_set(&err, 404, "job %s not found", id);
        goto fail;
    }
    /* The shape of POST /api/reports' reply (jobs_inline.c, jobs_queue.c), plus the
     * error of a failed job; "report" is the stored result (jsonb keeps no key order). */
    json_t *job = json_object();
    json_object_set_new(job, "id", render_int(r, 0, 0));
    json_object_set_new(job, "status", render_text(r, 0, 1));
    json_object_set_new(job, "kind", render_text(r, 0, 2));
    json_object_set_new(job, "target_id", render_int(r, 0, 3));
    json_object_set_new(job, "hours", render_int(r, 0, 4));
    json_object_set_new(job, "email", render_text(r, 0, 5));
    json_object_set_new(job, "attempts", render_int(r, 0, 6));
    json_object_set_new(job, "mails_sent", render_int(r, 0, 7));
    json_object_set_new(job, "created_at", render_text(r, 0, 8));
    json_object_set_new(job, "finished_at", render_text(r, 0, 9));
    json_object_set_new(job, "error", render_text(r, 0, 10));
    json_t *report = PQgetisnull(r, 0, 11) ? NULL : json_loads(PQgetvalue(r, 0, 11), 0, NULL);
    json_t *o = json_object();
    json_object_set_new(o, "job", job);
    json_object_set_new(o, "report", report ? report : json_null());
    PQclear(r);
    reply_rendered(ctx, resp, 200, o);
    return;
fail:
    handlers_error(resp, &err);
}

static void get_healthz(struct server *srv, struct api_response *resp)
{
    reply_json(resp, 200, json_pack("{s:s,s:s}", "status", "ok", "build", srv->build->name));
}

static void get_metrics(struct server *srv, struct api_response *resp)
{
    struct strbuf out = {0};
    metrics_render(&out, srv->build->name);
    if (srv->build->jobs->render_metrics)
        srv->build->jobs->render_metrics(srv->jobs, &out);
    resp->status = 200;
    resp->body = strbuf_steal(&out, &resp->len);
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp->encodable = false;
}

/* Splits "/api/devices/12/readings" style paths: returns the number of segments (at most
 * max) and points seg[i] into buf. */
static int split_path(const char *path, char *buf, size_t buflen, char **seg, int max)
{
    snprintf(buf, buflen, "%s", path);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok;
         tok = strtok_r(NULL, "/", &save)) {
        if (n == max)
            return max + 1;
        seg[n++] = tok;
    }
    return n;
}

static bool is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static void method_not_allowed(struct api_response *resp, const char *allow)
{
    struct apierr err;
    apierr_set(&err, 405, "method not allowed: use %s", allow);
    handlers_error(resp, &err);
    resp->allow = allow;
}

static void route(struct server *srv, struct reqctx *ctx, const struct api_request *req,
                  struct api_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->route = R_OTHER;
    char buf[512], *seg[6];
    struct apierr err = {0};
    bool get = is(req->method, "GET"), post = is(req->method, "POST");
    /* Ambiguous requests are refused whatever the route: a body on GET (RFC 9110 gives it
     * no meaning) and more than one API key (which would one authenticate?). */
    if (get && req->body_len > 0) {
        apierr_set(&err, 400, "unexpected body: a GET request takes none");
        handlers_error(resp, &err);
        return;
    }
    if (req->api_key_headers > 1) {
        apierr_set(&err, 400, "duplicate X-API-Key header: send exactly one key");
        handlers_error(resp, &err);
        return;
    }

    int n = strlen(req->path) < sizeof buf ? split_path(req->path, buf, sizeof buf, seg, 5) : 99;

    if (n == 1 && is(seg[0], "healthz")) {
        resp->route = R_HEALTHZ;
        get ? get_healthz(srv, resp) : method_not_allowed(resp, "GET");
        return;
    }
    if (n == 1 && is(seg[0], "metrics")) {
        resp->route = R_METRICS;
        get ? get_metrics(srv, resp) : method_not_allowed(resp, "GET");
        return;
    }
    if (n >= 2 && is(seg[0], "api")) {
        if (n == 3 && is(seg[1], "readings") && is(seg[2], "latest")) {
            resp->route = R_LATEST;
            get ? get_latest(ctx, req, resp) : method_not_allowed(resp, "GET");
            return;
        }
        if (n == 2 && is(seg[1], "reports")) {
            resp->route = R_REPORTS;
            post ? post_report(ctx, req, resp) : method_not_allowed(resp, "POST");
            return;
        }
        if (n == 3 && is(seg[1], "jobs")) {
            int64_t id;
            resp->route = R_JOB;
            if (!get)
                method_not_allowed(resp, "GET");
            else if (params_id("job", seg[2], INT64_MAX, &id, &err) != 0)
                handlers_error(resp, &err);
            else
                get_job(ctx, req, id, resp);
            return;
        }
        if ((n == 3 || (n == 4 && is(seg[3], "readings"))) && is(seg[1], "devices")) {
            int64_t id;
            resp->route = n == 3 ? R_DEVICE : post ? R_INGEST : R_DEVICE_READINGS;
            const char *allow = n == 3 ? "GET" : "GET, POST";
            if (!get && !(post && n == 4))
                method_not_allowed(resp, allow);
            else if (params_id("device", seg[2], INT32_MAX, &id, &err) != 0)
                handlers_error(resp, &err);
            else if (n == 3)
                get_device(ctx, req, (int)id, resp);
            else if (get)
                get_device_readings(ctx, req, (int)id, resp);
            else
                post_readings(ctx, req, (int)id, resp);
            return;
        }
    }
    apierr_set(&err, 404, "not found: no route for %s %s", req->method, req->path);
    handlers_error(resp, &err);
}

void handlers_dispatch(struct server *srv, struct reqctx *ctx, const struct api_request *req,
                       struct api_response *resp)
{
    route(srv, ctx, req, resp);
    /* A read whose connection died under it (PostgreSQL restarted, a socket cut) changed
     * nothing, so it runs once more on a new connection. A write is not run again: its
     * COMMIT may have been lost after it took effect, so the client gets the 503. */
    if (resp->status == 503 && is(req->method, "GET") && ctx->conn && ctx->conn->broken) {
        metrics_add(C_DB_READ_RETRIES, 1);
        reqctx_release(ctx);
        free(resp->body);
        route(srv, ctx, req, resp);
    }
}
