/* pool.c - a bounded connection pool and connsrc_pool, the connection source of 04-pool
 * on. See pool.h for the behaviour; the article's settings (max 20, min 5, idle 30 s,
 * acquire timeout 2 s) come from the configuration. */
#include "apibench/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apibench/clock.h"
#include "apibench/config.h"
#include "apibench/db.h"
#include "apibench/metrics.h"
#include "apibench/strbuf.h"

/* An acquire blocked in the queue. It lives on the waiter's stack; whoever frees a
 * connection or a slot takes the head off the queue, fills in what it hands over and
 * signals it, so that a later arrival cannot take it first. */
struct waiter {
    struct waiter *next;
    pthread_cond_t handed;
    struct dbconn *conn; /* a released connection, now the waiter's */
    bool slot;           /* or a free slot (counted in total): the waiter connects */
};

/* Invariant: while the queue is not empty, nothing is idle and total == max; every
 * connection or slot that frees up goes to the head of the queue. */
struct pool {
    pthread_mutex_t lock;
    pthread_cond_t stop; /* wakes the reaper when closing */
    struct pool_settings s;
    struct pool_conn_ops ops;
    struct dbconn **idle; /* oldest first: released in time order, taken from the end */
    int nidle;
    int total;                   /* connections open or being opened */
    struct waiter *head, *tail;  /* blocked acquires, oldest first */
    int waiting;
    bool stopping;
    bool reaper_running;
    pthread_t reaper;
    int64_t last_warning_us; /* rate-limits "cannot refill" warnings */
};

static int64_t pool_now_us(struct pool *p)
{
    return p->ops.now_us ? p->ops.now_us(p->ops.arg) : clock_mono_us();
}

static bool usable(struct pool *p, struct dbconn *c)
{
    return !c->broken && (!p->ops.usable || p->ops.usable(p->ops.arg, c));
}

/* Logs a failed background connect at most once per 10 s. The caller holds p->lock. */
static void warn_connect_failed(struct pool *p, const char *err)
{
    int64_t now = clock_mono_us();
    if (p->last_warning_us && now - p->last_warning_us < 10000000)
        return;
    p->last_warning_us = now;
    fprintf(stderr, "warning: pool cannot open its minimum connections: %s\n", err);
}

static void *reaper_main(void *arg);

struct pool *pool_open_with(const struct pool_settings *s, const struct pool_conn_ops *ops,
                            char *err, size_t errlen)
{
    if (s->max < 1 || s->min < 0 || s->min > s->max || s->idle_ms < 0 ||
        s->acquire_timeout_ms < 0) {
        snprintf(err, errlen,
                 "invalid pool settings: max %d, min %d, idle %d ms, acquire "
                 "timeout %d ms (need 0 <= min <= max, max >= 1)",
                 s->max, s->min, s->idle_ms, s->acquire_timeout_ms);
        return NULL;
    }
    struct pool *p = xcalloc(1, sizeof *p);
    p->s = *s;
    p->ops = *ops;
    p->idle = xcalloc((size_t)s->max, sizeof *p->idle);
    pthread_mutex_init(&p->lock, NULL);
    /* timed waits use CLOCK_MONOTONIC so that a wall clock step cannot stretch them */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->stop, &attr);
    pthread_condattr_destroy(&attr);

    pool_reap(p); /* opens min connections, best-effort */
    if (s->reaper_thread) {
        if (pthread_create(&p->reaper, NULL, reaper_main, p) == 0)
            p->reaper_running = true;
        else
            fprintf(stderr,
                    "warning: pool reaper thread not started: idle connections stay open\n");
    }
    return p;
}

/* Takes the oldest waiter off the queue. The caller holds p->lock. */
static struct waiter *dequeue_locked(struct pool *p)
{
    struct waiter *w = p->head;
    if (w) {
        p->head = w->next;
        if (!p->head)
            p->tail = NULL;
        p->waiting--;
    }
    return w;
}

/* Gives a usable connection to the oldest waiter, or makes it idle. Holds p->lock. */
static void put_locked(struct pool *p, struct dbconn *c)
{
    struct waiter *w = dequeue_locked(p);
    if (w) {
        w->conn = c;
        pthread_cond_signal(&w->handed);
    } else {
        p->idle[p->nidle++] = c;
    }
}

/* A connection was closed or never opened: its slot goes to the oldest waiter, who
 * connects, or back to the pool. Holds p->lock. */
static void free_slot_locked(struct pool *p)
{
    struct waiter *w = dequeue_locked(p);
    if (w) {
        w->slot = true;
        pthread_cond_signal(&w->handed);
    } else {
        p->total--;
    }
}

/* Waits at the tail of the queue until a connection or a slot is handed over or the
 * deadline passes. Returns with p->lock held; w tells what was handed (nothing: timeout). */
static void wait_in_queue_locked(struct pool *p, struct waiter *w,
                                 const struct timespec *deadline)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->handed, &attr);
    pthread_condattr_destroy(&attr);
    if (p->tail)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    p->waiting++;
    metrics_add(C_POOL_WAITS, 1);
    while (!w->conn && !w->slot) {
        if (pthread_cond_timedwait(&w->handed, &p->lock, deadline) != ETIMEDOUT)
            continue;
        if (w->conn || w->slot)
            break; /* handed over just as the deadline passed: take it */
        /* give up: unlink from the queue */
        struct waiter **link = &p->head, *prev = NULL;
        while (*link != w) {
            prev = *link;
            link = &(*link)->next;
        }
        *link = w->next;
        if (p->tail == w)
            p->tail = prev;
        p->waiting--;
        break;
    }
    pthread_cond_destroy(&w->handed);
}

struct dbconn *pool_acquire(struct pool *p, int *http_status, char *err, size_t errlen)
{
    struct timespec deadline = clock_deadline_after_ms(CLOCK_MONOTONIC, p->s.acquire_timeout_ms);
    struct dbconn *c = NULL;

    pthread_mutex_lock(&p->lock);
    /* Idle connections exist only while nobody waits (see struct pool), so taking one
     * here never overtakes a waiter. */
    if (p->nidle > 0) {
        c = p->idle[--p->nidle];
        pthread_mutex_unlock(&p->lock);
        goto check;
    }
    if (p->total < p->s.max) {
        p->total++; /* reserve the slot, then connect without the lock */
        pthread_mutex_unlock(&p->lock);
        goto connect;
    }
    struct waiter w = {0};
    wait_in_queue_locked(p, &w, &deadline);
    pthread_mutex_unlock(&p->lock);
    if (w.conn) {
        c = w.conn;
        goto check;
    }
    if (w.slot)
        goto connect;
    metrics_add(C_POOL_TIMEOUTS, 1);
    *http_status = 503;
    snprintf(err, errlen, "connection pool exhausted: waited %d ms", p->s.acquire_timeout_ms);
    return NULL;

check: /* c was idle: it may have died meanwhile (server restart) */
    if (usable(p, c))
        return c;
    metrics_add(C_POOL_DEAD, 1);
    p->ops.close(p->ops.arg, c); /* its slot is ours: open a replacement on it */

connect: /* we own a slot counted in total */
    c = p->ops.connect(p->ops.arg, err, errlen);
    if (c)
        return c;
    pthread_mutex_lock(&p->lock);
    free_slot_locked(p);
    pthread_mutex_unlock(&p->lock);
    *http_status = 503;
    return NULL;
}

void pool_release(struct pool *p, struct dbconn *c)
{
    if (!c)
        return;
    if (!usable(p, c)) {
        p->ops.close(p->ops.arg, c);
        pthread_mutex_lock(&p->lock);
        free_slot_locked(p);
        pthread_mutex_unlock(&p->lock);
        return;
    }
    c->last_used_us = pool_now_us(p);
    pthread_mutex_lock(&p->lock);
    put_locked(p, c);
    pthread_mutex_unlock(&p->lock);
}

void pool_reap(struct pool *p)
{
    struct dbconn **expired = xcalloc((size_t)p->s.max, sizeof *expired);
    int nexpired = 0;
    int64_t now = pool_now_us(p);
    int64_t idle_us = (int64_t)p->s.idle_ms * 1000;

    /* the oldest idle connections come first; close them while above min */
    pthread_mutex_lock(&p->lock);
    while (nexpired < p->nidle && p->total - nexpired > p->s.min &&
           now - p->idle[nexpired]->last_used_us >= idle_us) {
        expired[nexpired] = p->idle[nexpired];
        nexpired++;
    }
    memmove(p->idle, p->idle + nexpired, (size_t)(p->nidle - nexpired) * sizeof *p->idle);
    p->nidle -= nexpired;
    p->total -= nexpired;
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < nexpired; i++)
        p->ops.close(p->ops.arg, expired[i]);
    free(expired);

    /* refill to min, one connect at a time, without holding the lock */
    pthread_mutex_lock(&p->lock);
    while (p->total < p->s.min && !p->stopping) {
        p->total++;
        pthread_mutex_unlock(&p->lock);
        char err[256] = "";
        struct dbconn *c = p->ops.connect(p->ops.arg, err, sizeof err);
        pthread_mutex_lock(&p->lock);
        if (!c) {
            free_slot_locked(p);
            warn_connect_failed(p, err);
            break;
        }
        c->last_used_us = pool_now_us(p);
        put_locked(p, c);
    }
    pthread_mutex_unlock(&p->lock);
}

void pool_get_stats(struct pool *p, struct pool_stats *out)
{
    pthread_mutex_lock(&p->lock);
    out->total = p->total;
    out->idle = p->nidle;
    out->waiting = p->waiting;
    pthread_mutex_unlock(&p->lock);
}

/* Reaps every half idle period (at most every second) until the pool closes. */
static void *reaper_main(void *arg)
{
    struct pool *p = arg;
    int period_ms = p->s.idle_ms / 2;
    if (period_ms > 1000)
        period_ms = 1000;
    if (period_ms < 50)
        period_ms = 50;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        struct timespec deadline = clock_deadline_after_ms(CLOCK_MONOTONIC, period_ms);
        pthread_cond_timedwait(&p->stop, &p->lock, &deadline);
        if (p->stopping)
            break;
        pthread_mutex_unlock(&p->lock);
        pool_reap(p);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void pool_close(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->stop);
    pthread_mutex_unlock(&p->lock);
    if (p->reaper_running)
        pthread_join(p->reaper, NULL);
    for (int i = 0; i < p->nidle; i++)
        p->ops.close(p->ops.arg, p->idle[i]);
    if (p->total != p->nidle)
        fprintf(stderr, "warning: pool closed with %d connections still in use\n",
                p->total - p->nidle);
    free(p->idle);
    pthread_cond_destroy(&p->stop);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* --- connsrc_pool: the pool over db_connect, preparing statements on each connection */

struct connsrc {
    struct pool *pool;
    char *url;
    char *application_name;
};

static struct dbconn *pg_connect(void *arg, char *err, size_t errlen)
{
    struct connsrc *src = arg;
    struct dbconn *c = db_connect(src->url, src->application_name, err, errlen);
    if (c)
        c->prepare = true; /* each statement is prepared once on this connection */
    return c;
}

static void pg_close(void *arg, struct dbconn *c)
{
    (void)arg;
    db_close(c);
}

/* Alive (the socket is checked, see db.h), and not left inside a transaction. */
static bool pg_usable(void *arg, struct dbconn *c)
{
    (void)arg;
    return db_idle_alive(c);
}

static struct connsrc *pool_src_open(const struct config *cfg, const char *application_name,
                                     char *err, size_t errlen)
{
    if (!cfg->database_url || !*cfg->database_url) {
        snprintf(err, errlen,
                 "cannot start the connection pool: no database url "
                 "(set DATABASE_URL or --database-url)");
        return NULL;
    }
    struct connsrc *src = xcalloc(1, sizeof *src);
    src->url = xstrdup(cfg->database_url);
    src->application_name = xstrdup(application_name ? application_name : "apibench");
    struct pool_settings s = {
        .max = cfg->pool_max,
        .min = cfg->pool_min,
        .idle_ms = cfg->pool_idle_ms,
        .acquire_timeout_ms = cfg->pool_acquire_timeout_ms,
        .reaper_thread = true,
    };
    struct pool_conn_ops ops = {
        .connect = pg_connect,
        .close = pg_close,
        .usable = pg_usable,
        .arg = src,
    };
    src->pool = pool_open_with(&s, &ops, err, errlen);
    if (!src->pool) {
        free(src->url);
        free(src->application_name);
        free(src);
        return NULL;
    }
    return src;
}

static struct dbconn *pool_src_acquire(struct connsrc *src, int *http_status, char *err,
                                       size_t errlen)
{
    return pool_acquire(src->pool, http_status, err, errlen);
}

static void pool_src_release(struct connsrc *src, struct dbconn *c)
{
    pool_release(src->pool, c);
}

static void pool_src_close(struct connsrc *src)
{
    if (!src)
        return;
    pool_close(src->pool);
    free(src->url);
    free(src->application_name);
    free(src);
}

const struct connsrc_ops connsrc_pool = {
    .name = "pool",
    .open = pool_src_open,
    .acquire = pool_src_acquire,
    .release = pool_src_release,
    .close = pool_src_close,
};
