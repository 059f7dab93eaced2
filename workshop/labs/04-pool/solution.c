/* solution.c - lab 04-pool: the connection source of apibench-lab-04.
 *
 * It starts as 03-cache's connsrc_per_request: a new PostgreSQL connection (TCP, auth,
 * a backend process) for every request that misses the cache, closed after it. Keep a
 * bounded set of open connections instead and hand them out (config.h has the pool's
 * sizes; db.h's db_idle_alive tells whether an idle one is still usable). */
#include "lab.h"

static struct connsrc *lab_open(const struct config *cfg, const char *application_name, char *err,
                                size_t errlen)
{
    /* TODO: the pool's state: its connections, a lock, a condition to wait on. */
    return connsrc_per_request.open(cfg, application_name, err, errlen);
}

static struct dbconn *lab_acquire(struct connsrc *src, int *http_status, char *err, size_t errlen)
{
    /* TODO: an idle connection, or a new one below the maximum, or wait (bounded) for one;
     * 503 when none comes. */
    return connsrc_per_request.acquire(src, http_status, err, errlen);
}

static void lab_release(struct connsrc *src, struct dbconn *c)
{
    /* TODO: give c back (close it when c->broken). */
    connsrc_per_request.release(src, c);
}

static void lab_close(struct connsrc *src)
{
    connsrc_per_request.close(src);
}

const struct connsrc_ops lab_connections = {
    .name = "lab",
    .open = lab_open,
    .acquire = lab_acquire,
    .release = lab_release,
    .close = lab_close,
};
