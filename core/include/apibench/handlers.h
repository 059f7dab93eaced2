/* handlers.h - the API's routes, independent of the HTTP library: a request in, a rendered
 * JSON body (before encoding) and its status out. */
#ifndef APIBENCH_HANDLERS_H
#define APIBENCH_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"
#include "request.h"

struct server;

struct api_request {
    const char *method;
    const char *path;
    const char *api_key; /* X-API-Key, or NULL */
    const char *body;    /* the collected body (may be NULL) */
    size_t body_len;
    /* Looks up a query parameter (NULL when absent). */
    const char *(*arg)(void *arg_ctx, const char *name);
    void *arg_ctx;
    int api_key_headers; /* how many X-API-Key headers came: more than one is a 400 */
};

struct api_response {
    enum route route;
    int status;
    char *body;               /* malloc'd, rendered (not encoded) */
    size_t len;
    char *gzip;               /* malloc'd gzip of body made for the cache (encode_entry), or NULL */
    size_t gzip_len;
    const char *content_type; /* static */
    bool encodable;           /* pass through the build's encoder (false for /metrics) */
    char location[128];       /* "" or a Location header */
    int retry_after_s;        /* > 0: Retry-After */
    const char *allow;        /* for 405: the Allow header */
};

/* Routes and answers req. Always fills resp (errors become JSON bodies). A GET that got
 * 503 because its connection died is run once more on a new connection (counted in
 * apibench_db_read_retries_total); writes never are. */
void handlers_dispatch(struct server *srv, struct reqctx *ctx, const struct api_request *req,
                       struct api_response *resp);

/* Fills resp with the API's JSON error for err. */
void handlers_error(struct api_response *resp, const struct apierr *err);

#endif
