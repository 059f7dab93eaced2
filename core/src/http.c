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
 * Slow and abusive clients. A connection has two timeouts, both counted from its last
 * byte in either direction: --request-timeout (10 s) while a request is on its way in
 * (MHD's daemon-wide timeout, so a new connection gets it) and --connection-timeout (60 s)
 * while it idles between keep-alive requests (set per connection when a request
 * completes, back to the request timeout when the next request line arrives).
 * libmicrohttpd gives each thread an equal share of --max-connections, and a thread at its
 * share accepts no more; so a thread holding more than 3/4 of its share is busy: its
 * connections that go idle get BUSY_IDLE_TIMEOUT_S instead, and each time it accepts a
 * connection while busy it shortens its idle ones the same way. A thread counts
 * and touches only its own connections, so no lock is needed. --max-per-ip bounds one
 * address's connections (MHD counts them across threads).
 *
 * Keep-alive is HTTP/1.1's default. Bodies above --max-body get 413. A client that sent
 * `Expect: 100-continue` gets it at once, before it sends the body. Any other client is
 * already sending: closing now would reset the connection under it before it reads the
 * answer (libmicrohttpd 0.9.75 closes when a response is queued before the body is read),
 * so the body is read and dropped, then 413 is sent (a lingering read, as nginx does),
 * for at most LINGER_MAX_BYTES and --request-timeout; beyond that the connection is cut.
 *
 * Shutdown (http_stop): stop accepting (MHD_quiesce_daemon), let the requests already in a
 * handler finish and send their answers (with `Connection: close`) for up to
 * DRAIN_TIMEOUT_US, then stop the daemon; MHD_USE_ITC wakes each thread at once instead of
 * at its next connection timeout. */
#include "apibench/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "apibench/accesslog.h"
#include "apibench/build.h"
#include "apibench/clock.h"
#include "apibench/handlers.h"
#include "apibench/metrics.h"
#include "apibench/server.h"
#include "apibench/strbuf.h"

#define BUSY_IDLE_TIMEOUT_S 2                  /* idle keep-alive limit when busy */
#define LINGER_MAX_BYTES (64u * 1024 * 1024)   /* most of an oversized body read and dropped */
#define DRAIN_TIMEOUT_US 1500000               /* shutdown: wait this long for handlers */

struct http {
    struct MHD_Daemon *daemon;
    struct server *srv;
    atomic_int in_handler;       /* requests between their handler's first call and done */
    atomic_bool stopping;        /* http_stop has begun: answers close their connection */
    int busy_connections;        /* a thread holding more connections than this is busy */
};

/* Per-connection state (MHD's socket context), touched only by the connection's thread. */
struct conn {
    struct MHD_Connection *mhd;
    struct conn *prev, *next; /* in this thread's idle list while idle */
    bool idle;
    unsigned timeout_s;       /* the timeout last given to MHD for this connection */
};

/* This thread's connections: how many, and the idle keep-alive ones. */
static _Thread_local int open_connections;
static _Thread_local struct conn *idle_head;

/* Per-request state kept by MHD between calls of the access handler. */
struct pending {
    struct strbuf body;
    bool headers_seen;   /* the handler has had its first call */
    bool in_handler;     /* counted in http.in_handler */
    bool too_large;
    size_t discarded;    /* bytes dropped after the body went over the limit */
    int64_t discard_start_us;
    int64_t start_us;
};

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

static void set_timeout(struct conn *c, unsigned seconds)
{
    if (c->timeout_s == seconds)
        return;
    c->timeout_s = seconds;
    MHD_set_connection_option(c->mhd, MHD_CONNECTION_OPTION_TIMEOUT, seconds);
}

static struct conn *conn_of(struct MHD_Connection *mhd)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* True when this thread holds more than 3/4 of its share of the connections. */
static bool busy(const struct http *h)
{
    return open_connections > h->busy_connections;
}

static void idle_remove(struct conn *c)
{
    if (!c->idle)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        idle_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->idle = false;
}

/* A request completed and the connection waits for the next one. */
static void idle_add(struct http *h, struct conn *c)
{
    if (!c->idle) {
        c->next = idle_head;
        if (idle_head)
            idle_head->prev = c;
        idle_head = c;
        c->idle = true;
    }
    set_timeout(c, busy(h) ? BUSY_IDLE_TIMEOUT_S : (unsigned)h->srv->cfg.connection_timeout_s);
}

/* Counts this thread's connections; accepting one while busy shortens the idle timeout of
 * the thread's idle connections. */
static void on_connection(void *cls, struct MHD_Connection *mhd, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http *h = cls;
    struct conn *c = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        c = xcalloc(1, sizeof *c);
        c->mhd = mhd;
        c->timeout_s = (unsigned)h->srv->cfg.request_timeout_s; /* the daemon's default */
        *socket_context = c;
        open_connections++;
        if (busy(h))
            for (struct conn *i = idle_head; i; i = i->next)
                set_timeout(i, BUSY_IDLE_TIMEOUT_S);
        return;
    }
    if (!c)
        return;
    idle_remove(c);
    free(c);
    *socket_context = NULL;
    open_connections--;
}

/* Called when a request line has arrived: the request's state begins here, and the
 * connection is no longer idle (it has the request timeout again). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *mhd)
{
    (void)uri;
    struct http *h = cls;
    struct conn *c = conn_of(mhd);
    if (c) {
        idle_remove(c);
        set_timeout(c, (unsigned)h->srv->cfg.request_timeout_s);
    }
    struct pending *p = xcalloc(1, sizeof *p);
    p->start_us = clock_mono_us();
    return p;
}

/* libmicrohttpd's messages, at most one a second: a flood of refused connections must not
 * turn into a flood of identical lines on stderr. The others are counted and reported with
 * the next message printed. */
static void on_mhd_message(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    static atomic_llong last_second;
    static atomic_long suppressed;
    long long second = clock_mono_us() / 1000000;
    long long last = atomic_load(&last_second);
    if (second == last || !atomic_compare_exchange_strong(&last_second, &last, second)) {
        atomic_fetch_add(&suppressed, 1);
        return;
    }
    long dropped = atomic_exchange(&suppressed, 0);
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    if (dropped > 0)
        fprintf(stderr, "libmicrohttpd: %s (%ld more since the last line)\n", line,
                dropped);
    else
        fprintf(stderr, "libmicrohttpd: %s\n", line);
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
        int64_t t0 = clock_mono_us();
        const char *accept =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
        /* a cached body may bring its gzip, made when its entry was filled: no deflate then */
        int rc = resp->gzip ? b->encoder->encode_entry(accept, resp->body, resp->len, resp->gzip,
                                                       resp->gzip_len, &enc)
                            : b->encoder->encode(accept, resp->body, resp->len, &enc);
        if (rc == 0) {
            free(resp->body);
            body = enc.body;
            len = enc.len;
            content_encoding = enc.content_encoding;
            vary = enc.vary;
        }
        timing->encode_us += clock_mono_us() - t0;
        metrics_add(C_BYTES_BEFORE_ENCODING, resp->len);
        metrics_add(C_BYTES_AFTER_ENCODING, len);
    }
    resp->body = NULL;
    free(resp->gzip);
    resp->gzip = NULL;

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
    if (atomic_load(&h->stopping))
        add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned int)resp->status, r);
    MHD_destroy_response(r);

    int64_t dur = clock_mono_us() - start_us;
    metrics_observe_request(resp->route, resp->status, dur);
    accesslog_write(method, url, resp->status, len, dur);
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

static bool expects_continue(struct MHD_Connection *conn)
{
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return expect && strcasecmp(expect, "100-continue") == 0;
}

/* Reads and drops n bytes of an oversized body. Returns MHD_NO (cut the connection) once
 * the lingering read has gone on too long or too far. */
static enum MHD_Result discard(struct http *h, struct pending *p, size_t n)
{
    if (!p->too_large) {
        p->too_large = true;
        p->discard_start_us = clock_mono_us();
        strbuf_free(&p->body);
    }
    p->discarded += n;
    int64_t lingered_us = clock_mono_us() - p->discard_start_us;
    if (p->discarded > LINGER_MAX_BYTES ||
        lingered_us > (int64_t)h->srv->cfg.request_timeout_s * 1000000)
        return MHD_NO;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct http *h = cls;
    struct pending *p = *con_cls;
    if (!p)
        *con_cls = p = on_request_line(h, url, conn);
    if (!p->headers_seen) {
        /* First call: headers only. */
        p->headers_seen = true;
        p->in_handler = true;
        atomic_fetch_add(&h->in_handler, 1);
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
        if (declared > h->srv->cfg.max_body_bytes) {
            /* Answer at once when the client waits for 100 Continue, or when the body is
             * beyond what a lingering read would drop; else read it first (discard). */
            p->too_large = true;
            if (expects_continue(conn) || declared > LINGER_MAX_BYTES)
                return too_large(h, conn, method, url, p->start_us);
            p->discard_start_us = clock_mono_us();
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
        return discard(h, p, n);
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

/* The request is over (answered, or its connection closed). A connection kept alive
 * becomes idle. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http *h = cls;
    struct pending *p = *con_cls;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        struct conn *c = conn_of(conn);
        if (c)
            idle_add(h, c);
    }
    if (!p)
        return;
    if (p->in_handler)
        atomic_fetch_sub(&h->in_handler, 1);
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
    h->busy_connections = srv->cfg.max_connections / srv->cfg.threads * 3 / 4;
    /* The daemon-wide timeout is the request timeout: a new connection must send its
     * request without stalling; idle keep-alive connections get theirs in idle_add. */
    h->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_message, h,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)srv->cfg.threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)srv->cfg.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)srv->cfg.max_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)srv->cfg.request_timeout_s,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_URI_LOG_CALLBACK, on_request_line, h,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
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
    atomic_store(&h->stopping, true);
    /* Stop accepting; shutting the socket down resets connections still in its backlog
     * at once (it is closed after the daemon stops, so that no thread holds a stale fd). */
    MHD_socket listen_fd = MHD_quiesce_daemon(h->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        shutdown(listen_fd, SHUT_RDWR);
    /* Let the handlers running now finish and send their answers. */
    int64_t deadline = clock_mono_us() + DRAIN_TIMEOUT_US;
    while (atomic_load(&h->in_handler) > 0 && clock_mono_us() < deadline) {
        struct timespec tick = {0, 10 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    MHD_stop_daemon(h->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    free(h);
}
