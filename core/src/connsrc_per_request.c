/* connsrc_per_request.c - the connection strategy of 01-03: connect for each request that
 * needs the database, close when it ends. Nothing is shared between requests, so nothing
 * is locked, and a restarted PostgreSQL is simply reached by the next request. */
#include "apibench/db.h"

#include <stdio.h>
#include <stdlib.h>

#include "apibench/config.h"
#include "apibench/strbuf.h"

struct connsrc {
    char *url;
    char *application_name;
};

static struct connsrc *per_request_open(const struct config *cfg, const char *application_name,
                                        char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct connsrc *s = xcalloc(1, sizeof *s);
    s->url = xstrdup(cfg->database_url ? cfg->database_url : "");
    s->application_name = xstrdup(application_name ? application_name : "apibench");
    return s;
}

static struct dbconn *per_request_acquire(struct connsrc *s, int *http_status, char *err,
                                          size_t errlen)
{
    struct dbconn *c = db_connect(s->url, s->application_name, err, errlen);
    if (!c)
        *http_status = 503;
    return c;
}

static void per_request_release(struct connsrc *s, struct dbconn *c)
{
    (void)s;
    db_close(c);
}

static void per_request_close(struct connsrc *s)
{
    if (!s)
        return;
    free(s->url);
    free(s->application_name);
    free(s);
}

const struct connsrc_ops connsrc_per_request = {
    .name = "per-request",
    .open = per_request_open,
    .acquire = per_request_acquire,
    .release = per_request_release,
    .close = per_request_close,
};
