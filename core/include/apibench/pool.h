/* pool.h - a bounded pool of database connections (connsrc_pool, 04-pool on).
 *
 * At most max connections exist at once; acquire hands out an idle one (the most recently
 * used, so that surplus ones age), opens a new one while under max, or queues up to the
 * acquire timeout. Waiters are served first come, first served: a release hands its
 * connection, and a closed connection its slot, straight to the oldest waiter, so a later
 * arrival cannot overtake it. An idle connection that the usable op rejects (it died
 * while idle) is closed and replaced on the same slot before it is handed out.
 * Connections released broken are closed and their slot freed, so a waiter (or the next
 * acquire) opens a replacement. A reaper closes idle
 * connections above min after the idle timeout and reopens up to min. Opening happens
 * outside the pool's lock, so a slow connect never blocks releases.
 *
 * How connections are made is a small table of functions, so tests drive the pool
 * without PostgreSQL. */
#ifndef APIBENCH_POOL_H
#define APIBENCH_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dbconn;
struct pool;

struct pool_conn_ops {
    /* Opens a connection, or returns NULL with a message in err. */
    struct dbconn *(*connect)(void *arg, char *err, size_t errlen);
    /* Closes and frees c. */
    void (*close)(void *arg, struct dbconn *c);
    /* True when an idle connection may be handed out (NULL: always). */
    bool (*usable)(void *arg, struct dbconn *c);
    /* Monotonic clock in microseconds (NULL: CLOCK_MONOTONIC). Acquire timeouts always use
     * the real clock; this one decides idleness. */
    int64_t (*now_us)(void *arg);
    void *arg;
};

struct pool_settings {
    int max;                /* >= 1 */
    int min;                /* 0..max */
    int idle_ms;            /* idle connections above min are closed after this */
    int acquire_timeout_ms; /* acquire gives up (503) after waiting this long */
    bool reaper_thread;     /* run pool_reap in a background thread (tests call it) */
};

/* Creates a pool and opens min connections best-effort: when PostgreSQL is down the pool
 * still starts (the failures are logged), acquire opens on demand and returns 503 until it
 * is back. Returns NULL and fills err only for invalid settings. */
struct pool *pool_open_with(const struct pool_settings *s, const struct pool_conn_ops *ops,
                            char *err, size_t errlen);

/* Returns a connection, or NULL with *http_status 503 and err filled when the acquire
 * timed out ("connection pool exhausted: waited N ms", counts C_POOL_TIMEOUTS) or no
 * connection could be opened. An acquire that had to wait counts C_POOL_WAITS once; an
 * idle connection found dead counts C_POOL_DEAD. */
struct dbconn *pool_acquire(struct pool *p, int *http_status, char *err, size_t errlen);

/* Gives c back. A broken (c->broken) or unusable connection is closed and its slot
 * freed. Wakes one waiter. */
void pool_release(struct pool *p, struct dbconn *c);

/* Closes idle connections above min that have been idle longer than idle_ms, then opens
 * connections up to min (best-effort). Called by the reaper thread, or by tests. */
void pool_reap(struct pool *p);

struct pool_stats {
    int total; /* open or being opened */
    int idle;
    int waiting; /* acquires blocked right now */
};

void pool_get_stats(struct pool *p, struct pool_stats *out);

/* Stops the reaper and closes every idle connection. Connections still handed out are
 * reported and leaked (a caller bug). Accepts NULL. */
void pool_close(struct pool *p);

#endif
