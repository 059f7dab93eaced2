/* request.h - what one API request carries through the core: who is calling, the lazily
 * acquired database connection, the Server-Timing parts, and how an error is reported. */
#ifndef APIBENCH_REQUEST_H
#define APIBENCH_REQUEST_H

#include <stdint.h>

struct dbconn;
struct server;

#define CALLER_MAX_SITES 256

/* An authenticated user and the sites they may see. */
struct caller {
    int user_id;
    char email[256];
    int nsites;
    int sites[CALLER_MAX_SITES]; /* ascending */
};

/* An error for the client: status (4xx/5xx) and a one-line message, sent as
 * {"error": {"status": N, "message": "..."}}. retry_after_s > 0 adds Retry-After. */
struct apierr {
    int status;
    int retry_after_s;
    char message[240];
};

/* Server-Timing parts, in microseconds. */
struct timing {
    int64_t db_us;
    int64_t cache_us;
    int64_t render_us;
    int64_t encode_us;
};

struct reqctx {
    struct server *srv;
    struct dbconn *conn; /* NULL until reqctx_db() is first called */
    struct timing timing;
};

/* Returns the request's connection, acquiring it from the build's connection source on
 * first use (so a request served from cache never touches PostgreSQL). Returns NULL and
 * fills err (503, Retry-After) when none can be had. Released when the request ends. */
struct dbconn *reqctx_db(struct reqctx *ctx, struct apierr *err);

/* Sets err and returns -1, for one-line error returns: return apierr_set(e, 404, "..."). */
int apierr_set(struct apierr *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The timing record of the request being handled on this thread (NULL outside one):
 * db_query() and the cache add their durations to it. */
extern _Thread_local struct timing *current_timing;

#endif
