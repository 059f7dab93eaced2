/* http.c - libmicrohttpd glue: body collection, limits, response headers, timing.
 *
 * Thread model. The daemon runs `--threads` event-loop threads (MHD_USE_EPOLL with
 * MHD_OPTION_THREAD_POOL_SIZE); each accepts connections and owns them for their life.
 * A thread runs each of its requests' handlers to completion, blocking, database and SMTP
 * calls included: while one handler waits for PostgreSQL, that thread's other connections
 * wait too. So the thread count bounds the requests in progress; the default (32) is above
 * the pool maximum (20) so that the pool, not the thread count, bounds database work, as
 * in the article's event-loop server. The baseline's multi-second requests hold a thread
 * each for their whole duration, which is part of what it measures.
 *
 * Keep-alive is HTTP/1.1's default. Bodies above --max-body are refused with 413: at once
 * when Content-Length says so, else once the excess has been read and discarded (a chunked
 * stream beyond 8 times the limit is cut off without an answer). */
#include "apibench/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apibench/build.h"
#include "apibench/handlers.h"
#include "apibench/metrics.h"
#include "apibench/server.h"
#include "apibench/strbuf.h"

struct http {
    struct MHD_Daemon *daemon;
    struct server *srv;
};

/* Per-request state kept by MHD between calls of the access handler. */
struct pending {
    struct strbuf body;
    bool too_large;
    size_t discarded; /* bytes dropped after the body went over the limit */
    int64_t start_us;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *query_arg(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Counts the X-API-Key headers of a request (MHD_KeyValueIterator). */
static enum MHD_Result count_api_keys(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    (void)value;
    if (strcasecmp(key, "X-API-Key") == 0)
        ++*(int *)cls;
    return MHD_YES;
}

static void add_header(struct MHD_Response *r, const char *name, const char *value)
{
    if (value && *value)
        MHD_add_response_header(r, name, value);
}

/* Encodes, adds headers, queues, records metrics and the access log line. */
static enum MHD_Result send_response(struct http *h, struct MHD_Connection *conn,
                                     const char *method, const char *url,
                                     struct api_response *resp, struct timing *timing,
                                     int64_t start_us)
{
    const struct build *b = h->srv->build;
    char *body = resp->body;
    size_t len = resp->len;
    const char *content_encoding = NULL;
    bool vary = false;
    if (resp->encodable) {
        struct encoded enc = {0};
        int64_t t0 = now_us();
        const char *accept =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
        if (b->encoder->encode(accept, resp->body, resp->len, &enc) == 0) {
            free(resp->body);
            body = enc.body;
            len = enc.len;
            content_encoding = enc.content_encoding;
            vary = enc.vary;
        }
        timing->encode_us += now_us() - t0;
        metrics_add(C_BYTES_BEFORE_ENCODING, resp->len);
        metrics_add(C_BYTES_AFTER_ENCODING, len);
    }
    resp->body = NULL;

    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    char st[160], retry[16];
    snprintf(st, sizeof st, "db;dur=%.3f, cache;dur=%.3f, render;dur=%.3f, encode;dur=%.3f",
             (double)timing->db_us / 1000.0, (double)timing->cache_us / 1000.0,
             (double)timing->render_us / 1000.0, (double)timing->encode_us / 1000.0);
    add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    add_header(r, "Server-Timing", st);
    add_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, content_encoding);
    if (vary)
        add_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (resp->retry_after_s > 0) {
        snprintf(retry, sizeof retry, "%d", resp->retry_after_s);
        add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    }
    add_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
    add_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned int)resp->status, r);
    MHD_destroy_response(r);

    int64_t dur = now_us() - start_us;
    metrics_observe_request(resp->route, resp->status, dur);
    if (!h->srv->cfg.quiet)
        fprintf(stderr, "%s %s %d %zu %.3fms\n", method, url, resp->status, len,
                (double)dur / 1000.0);
    return ret;
}

static enum MHD_Result too_large(struct http *h, struct MHD_Connection *conn, const char *method,
                                 const char *url, int64_t start_us)
{
    struct api_response resp = {.route = R_OTHER};
    struct apierr err;
    struct timing timing = {0};
    apierr_set(&err, 413, "request body too large: the limit is %zu bytes",
               h->srv->cfg.max_body_bytes);
    handlers_error(&resp, &err);
    return send_response(h, conn, method, url, &resp, &timing, start_us);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct http *h = cls;
    struct pending *p = *con_cls;
    if (!p) {
        /* First call: headers only. Refuse a declared oversize body before reading it. */
        p = xcalloc(1, sizeof *p);
        p->start_us = now_us();
        *con_cls = p;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > h->srv->cfg.max_body_bytes) {
            p->too_large = true;
            return too_large(h, conn, method, url, p->start_us);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!p->too_large && p->body.len + n <= h->srv->cfg.max_body_bytes) {
            strbuf_append(&p->body, upload_data, n);
            return MHD_YES;
        }
        /* A body without Content-Length (chunked) went over. libmicrohttpd 0.9.75 cannot
         * answer before the body is read, so the excess is read and dropped, then 413;
         * a stream that goes on past 8 times the limit is cut off instead. */
        p->too_large = true;
        strbuf_free(&p->body);
        p->discarded += n;
        return p->discarded > 8 * h->srv->cfg.max_body_bytes ? MHD_NO : MHD_YES;
    }
    if (p->too_large)
        return too_large(h, conn, method, url, p->start_us);

    struct reqctx ctx = {.srv = h->srv};
    current_timing = &ctx.timing;
    struct api_request req = {
        .method = method,
        .path = url,
        .api_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-API-Key"),
        .body = p->body.data,
        .body_len = p->body.len,
        .arg = query_arg,
        .arg_ctx = conn,
    };
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_api_keys, &req.api_key_headers);
    struct api_response resp;
    handlers_dispatch(h->srv, &ctx, &req, &resp);
    reqctx_release(&ctx);
    current_timing = NULL;
    return send_response(h, conn, method, url, &resp, &ctx.timing, p->start_us);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct pending *p = *con_cls;
    if (!p)
        return;
    strbuf_free(&p->body);
    free(p);
    *con_cls = NULL;
}

struct http *http_start(struct server *srv, char *err, size_t errlen)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)srv->cfg.port);
    if (inet_pton(AF_INET, srv->cfg.bind_address, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "invalid bind address '%s': expected an IPv4 address",
                 srv->cfg.bind_address);
        return NULL;
    }
    struct http *h = xcalloc(1, sizeof *h);
    h->srv = srv;
    h->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)srv->cfg.threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)srv->cfg.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)srv->cfg.connection_timeout_s,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d: address in use or not available",
                 srv->cfg.bind_address, srv->cfg.port);
        free(h);
        return NULL;
    }
    return h;
}

void http_stop(struct http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
