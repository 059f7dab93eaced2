/* cache_tiered.c - the two-level cache of 03-cache on: L1 an in-process TTL map (ttlmap.c,
 * 5 s), L2 Redis shared by every instance (5 min for static data, 30 s for dynamic).
 *
 * L2 layout: namespace ns is the Redis hash "apibench:cache:<scope>:<ns>"; each field is a
 * key and its value is "<expires_at_ms>|<body>" (wall clock), because Redis 7.0 has no
 * per-field expiry and one hash holds entries of both classes. A field past its time is a
 * miss. The hash itself gets a TTL that only ever grows (EXPIRE NX, then EXPIRE GT), so it
 * outlives its longest-lived field and disappears once every field is dead. <scope> is a
 * hash of the database URL: instances serving one database share entries and
 * invalidations, while instances (or tests) serving other databases from the same Redis
 * never see each other's rows. Without a database URL the scope and its colon are left out.
 *
 * Invalidation of ns: bump its L1 generation here, DEL the hash, and PUBLISH
 * "<instance> <ns>" on "apibench:invalidate[:<scope>]". A subscriber thread in every
 * instance drops ns from its own L1 when another instance's message arrives, and drops all
 * of L1 whenever it (re)subscribes, since messages sent while it was away are lost.
 *
 * Staleness bounds (what the contract allows between builds):
 *  - normal operation: none beyond pub/sub delivery (sub-millisecond on loopback), except
 *    that a request which read PostgreSQL before another instance's commit but stores its
 *    result after that instance's DEL leaves a stale L2 entry (up to its class TTL) and
 *    only if the PUBLISH had not yet reached this instance; locally, a put is skipped when
 *    its namespace was invalidated since the request's get.
 *  - Redis unreachable: invalidations cannot be sent, so other instances serve from their
 *    L1 for up to l1_ttl (5 s), and L2 entries stored before the outage may be stale for up
 *    to their class TTL (30 s dynamic, 300 s static) once Redis is back.
 *
 * Fail open: when Redis is down or slow (100 ms connect and command timeouts), a lookup is
 * an L2 error (counted) and the request goes on to PostgreSQL; puts and invalidations are
 * skipped, counted in write_errors and reported at close. Reconnects are attempted at most
 * once per second across all threads, so a dead Redis does not add a timeout to every
 * request. */
#include "apibench/cache.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "apibench/config.h"
#include "apibench/metrics.h"
#include "apibench/redis_url.h"
#include "apibench/request.h"
#include "apibench/strbuf.h"
#include "apibench/ttlmap.h"

#define REDIS_TIMEOUT_MS 100       /* connect and command timeout */
#define RECONNECT_INTERVAL_MS 1000 /* at most one connect attempt per interval after a failure */
#define IDLE_CONTEXTS_MAX 64       /* contexts kept between requests */
/* L1 memory bound besides l1_max_entries: what the bodies may hold at most, so that a
 * workload of large pages (limit=500) cannot grow the server without bound. */
#define L1_MAX_BYTES ((size_t)256 << 20)
#define CHANNEL_PREFIX "apibench:invalidate"
#define HASH_PREFIX "apibench:cache:"

struct cache {
    struct ttlmap *l1;
    int l1_ttl_ms;
    int static_ttl_s, dynamic_ttl_s;
    struct redis_url redis;
    char instance[24]; /* tags our own PUBLISHes */
    char scope[16];    /* "<hash of the database url>:" or "" */
    char channel[48];  /* invalidation channel of the scope */

    /* Redis contexts for the request path, taken and given back under ctx_lock */
    pthread_mutex_t ctx_lock;
    redisContext *idle[IDLE_CONTEXTS_MAX];
    int nidle;
    _Atomic int64_t next_connect_ms; /* no connect attempt before this (monotonic) */
    _Atomic int64_t next_warning_ms;
    _Atomic uint64_t write_errors; /* puts and invalidations that could not reach Redis */

    /* the subscriber thread */
    pthread_t subscriber;
    bool subscriber_running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    _Atomic bool stopping;
};

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add_cache_time(int64_t start_us)
{
    if (current_timing)
        current_timing->cache_us += monotonic_us() - start_us;
}

/* Logs a Redis problem at most once per 10 s. */
static void warn_redis(struct cache *c, const char *what, const char *detail)
{
    int64_t now = monotonic_ms();
    int64_t next = atomic_load(&c->next_warning_ms);
    if (now < next || !atomic_compare_exchange_strong(&c->next_warning_ms, &next, now + 10000))
        return;
    fprintf(stderr, "warning: redis at %s:%d %s: %s; serving without L2 until it is back\n",
            c->redis.host, c->redis.port, what, detail);
}

/* Sends argv and reads its reply. NULL on an I/O error (the context is then unusable). */
static redisReply *command(redisContext *ctx, int argc, const char **argv, const size_t *lens)
{
    void *reply = NULL;
    if (redisAppendCommandArgv(ctx, argc, argv, lens) != REDIS_OK)
        return NULL;
    if (redisGetReply(ctx, &reply) != REDIS_OK)
        return NULL;
    return reply;
}

/* Connects with the short timeouts, authenticates and selects the database. Returns NULL
 * with a message in err on failure. */
static redisContext *redis_open(struct cache *c, char *err, size_t errlen)
{
    return redis_url_connect(&c->redis, REDIS_TIMEOUT_MS, REDIS_TIMEOUT_MS, err, errlen);
}

/* A context for one operation: an idle one, or a new one unless a recent failure says to
 * wait. NULL when Redis cannot be reached now. */
static redisContext *ctx_take(struct cache *c)
{
    pthread_mutex_lock(&c->ctx_lock);
    redisContext *ctx = c->nidle ? c->idle[--c->nidle] : NULL;
    pthread_mutex_unlock(&c->ctx_lock);
    if (ctx)
        return ctx;
    int64_t now = monotonic_ms();
    if (now < atomic_load(&c->next_connect_ms))
        return NULL;
    char err[256] = "";
    ctx = redis_open(c, err, sizeof err);
    if (!ctx) {
        atomic_store(&c->next_connect_ms, now + RECONNECT_INTERVAL_MS);
        warn_redis(c, "unreachable", err);
    }
    return ctx;
}

/* Gives ctx back after an operation; failed says it saw an I/O error, in which case it and
 * every idle context (likely dead too) are closed and reconnects are paused. */
static void ctx_give(struct cache *c, redisContext *ctx, bool failed)
{
    if (failed || ctx->err) {
        warn_redis(c, "failed", ctx->errstr[0] ? ctx->errstr : "i/o error");
        redisFree(ctx);
        redisContext *dead[IDLE_CONTEXTS_MAX];
        pthread_mutex_lock(&c->ctx_lock);
        int n = c->nidle;
        memcpy(dead, c->idle, (size_t)n * sizeof *dead);
        c->nidle = 0;
        pthread_mutex_unlock(&c->ctx_lock);
        for (int i = 0; i < n; i++)
            redisFree(dead[i]);
        atomic_store(&c->next_connect_ms, monotonic_ms() + RECONNECT_INTERVAL_MS);
        return;
    }
    pthread_mutex_lock(&c->ctx_lock);
    if (c->nidle < IDLE_CONTEXTS_MAX) {
        c->idle[c->nidle++] = ctx;
        ctx = NULL;
    }
    pthread_mutex_unlock(&c->ctx_lock);
    if (ctx)
        redisFree(ctx);
}

static char *hash_name(const struct cache *c, const char *ns)
{
    size_t n = strlen(HASH_PREFIX) + strlen(c->scope) + strlen(ns) + 1;
    char *h = xmalloc(n);
    snprintf(h, n, "%s%s%s", HASH_PREFIX, c->scope, ns);
    return h;
}

/* Sets the scope and channel from the database url (FNV-1a, 32 bits in hex). */
static void set_scope(struct cache *c, const char *database_url)
{
    c->scope[0] = '\0';
    if (database_url && *database_url) {
        uint32_t h = 2166136261u;
        for (const char *p = database_url; *p; p++) {
            h ^= (unsigned char)*p;
            h *= 16777619u;
        }
        snprintf(c->scope, sizeof c->scope, "%08x:", (unsigned)h);
    }
    size_t n = strlen(c->scope);
    snprintf(c->channel, sizeof c->channel, "%s%s%.*s", CHANNEL_PREFIX, n ? ":" : "",
             n ? (int)(n - 1) : 0, c->scope);
}

/* --- the generation a request saw at get time, so that its put can tell whether ns was
 * invalidated while it was reading PostgreSQL. One request per thread at a time. */

struct seen {
    const struct cache *cache;
    uint64_t gen;
    char nskey[512]; /* ns NUL key NUL; empty when unset or too long */
};

static _Thread_local struct seen seen;

static void seen_set(const struct cache *c, const char *ns, const char *key, uint64_t gen)
{
    size_t nl = strlen(ns), kl = strlen(key);
    seen.cache = NULL;
    if (nl + kl + 2 > sizeof seen.nskey)
        return;
    memcpy(seen.nskey, ns, nl + 1);
    memcpy(seen.nskey + nl + 1, key, kl + 1);
    seen.gen = gen;
    seen.cache = c;
}

/* The generation seen at get time for (ns, key), or the current one. */
static uint64_t seen_take(struct cache *c, const char *ns, const char *key)
{
    size_t nl = strlen(ns);
    if (seen.cache == c && strcmp(seen.nskey, ns) == 0 && strcmp(seen.nskey + nl + 1, key) == 0) {
        seen.cache = NULL;
        return seen.gen;
    }
    return ttlmap_generation(c->l1, ns);
}

/* --- the subscriber */

/* Handles one pub/sub reply: ["message", channel, "<instance> <ns>"]. */
static void on_message(struct cache *c, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0 ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return;
    const char *payload = r->element[2]->str;
    const char *sp = strchr(payload, ' ');
    const char *ns = sp ? sp + 1 : payload; /* a bare ns (e.g. from redis-cli) works too */
    if (sp && (size_t)(sp - payload) == strlen(c->instance) &&
        strncmp(payload, c->instance, (size_t)(sp - payload)) == 0)
        return; /* our own: already dropped */
    if (!*ns)
        return;
    ttlmap_invalidate(c->l1, ns);
    metrics_add(C_CACHE_INVALIDATIONS_RECEIVED, 1);
}

/* Waits up to ms or until close; returns true when stopping. */
static bool sleep_or_stop(struct cache *c, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->stop_lock);
    while (!atomic_load(&c->stopping)) {
        if (pthread_cond_timedwait(&c->stop_cond, &c->stop_lock, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&c->stop_lock);
    return atomic_load(&c->stopping);
}

/* Subscribed: reads messages until the connection fails or the cache closes. Polls with a
 * short timeout so that close() is noticed. */
static void subscriber_loop(struct cache *c, redisContext *ctx)
{
    while (!atomic_load(&c->stopping)) {
        void *reply = NULL;
        /* messages already buffered by an earlier read */
        for (;;) {
            if (redisReaderGetReply(ctx->reader, &reply) != REDIS_OK)
                return; /* protocol error: reconnect */
            if (!reply)
                break;
            on_message(c, reply);
            freeReplyObject(reply);
            reply = NULL;
        }
        struct pollfd pfd = {.fd = ctx->fd, .events = POLLIN};
        int n = poll(&pfd, 1, 200);
        if (n < 0 && errno != EINTR)
            return;
        if (n <= 0)
            continue;
        if (redisBufferRead(ctx) != REDIS_OK)
            return; /* connection lost */
    }
}

static void *subscriber_main(void *arg)
{
    struct cache *c = arg;
    int backoff_ms = 100;
    while (!atomic_load(&c->stopping)) {
        char err[256] = "";
        redisContext *ctx = redis_open(c, err, sizeof err);
        redisReply *r = NULL;
        if (ctx) {
            const char *argv[] = {"SUBSCRIBE", c->channel};
            r = command(ctx, 2, argv, NULL);
        }
        if (r && r->type == REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            /* messages sent while we were not subscribed are lost: start L1 afresh */
            ttlmap_invalidate_all(c->l1);
            backoff_ms = 100;
            /* a blocking read would hold close() up: the loop polls instead */
            struct timeval none = {0, 0};
            redisSetTimeout(ctx, none);
            subscriber_loop(c, ctx);
        } else {
            freeReplyObject(r);
        }
        if (ctx)
            redisFree(ctx);
        if (sleep_or_stop(c, backoff_ms))
            break;
        backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
    }
    return NULL;
}

/* --- the cache_ops */

static void tiered_close(struct cache *c);

static struct cache *tiered_open(const struct config *cfg, char *err, size_t errlen)
{
    struct cache *c = xcalloc(1, sizeof *c);
    if (redis_url_parse(cfg->redis_url, &c->redis, err, errlen) != 0) {
        free(c);
        return NULL;
    }
    if (cfg->l1_ttl_ms <= 0 || cfg->l1_max_entries == 0 || cfg->l2_static_ttl_s <= 0 ||
        cfg->l2_dynamic_ttl_s <= 0) {
        snprintf(err, errlen,
                 "invalid cache settings: l1 ttl %d ms, l1 max %zu entries, "
                 "l2 ttls %d s / %d s (all must be positive)",
                 cfg->l1_ttl_ms, cfg->l1_max_entries, cfg->l2_static_ttl_s, cfg->l2_dynamic_ttl_s);
        redis_url_free(&c->redis);
        free(c);
        return NULL;
    }
    c->l1_ttl_ms = cfg->l1_ttl_ms;
    c->static_ttl_s = cfg->l2_static_ttl_s;
    c->dynamic_ttl_s = cfg->l2_dynamic_ttl_s;
    c->l1 = ttlmap_new(cfg->l1_max_entries, cfg->l1_ttl_ms, NULL, NULL);
    ttlmap_set_max_bytes(c->l1, L1_MAX_BYTES);
    set_scope(c, cfg->database_url);
    snprintf(c->instance, sizeof c->instance, "%x-%llx", (unsigned)getpid(),
             (unsigned long long)(monotonic_us() ^ (uint64_t)(uintptr_t)c) & 0xffffffffULL);
    pthread_mutex_init(&c->ctx_lock, NULL);
    pthread_mutex_init(&c->stop_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->stop_cond, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&c->subscriber, NULL, subscriber_main, c) != 0) {
        snprintf(err, errlen, "cannot start the cache invalidation subscriber thread");
        tiered_close(c);
        return NULL;
    }
    c->subscriber_running = true;
    return c;
}

static char *tiered_get(struct cache *c, const char *ns, const char *key, size_t *len,
                        const char **level)
{
    int64_t start = monotonic_us();
    uint64_t gen = ttlmap_generation(c->l1, ns);
    seen_set(c, ns, key, gen);

    char *body = ttlmap_get(c->l1, ns, key, len);
    if (body) {
        metrics_add(C_CACHE_L1_HIT, 1);
        if (level)
            *level = "l1";
        add_cache_time(start);
        return body;
    }
    metrics_add(C_CACHE_L1_MISS, 1);

    redisContext *ctx = ctx_take(c);
    if (!ctx) {
        metrics_add(C_CACHE_L2_ERROR, 1);
        add_cache_time(start);
        return NULL;
    }
    char *h = hash_name(c, ns);
    const char *argv[] = {"HGET", h, key};
    redisReply *r = command(ctx, 3, argv, NULL);
    free(h);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        metrics_add(C_CACHE_L2_ERROR, 1);
        if (r)
            warn_redis(c, "refused HGET", r->str);
        freeReplyObject(r);
        ctx_give(c, ctx, r == NULL);
        add_cache_time(start);
        return NULL;
    }
    ctx_give(c, ctx, false);

    /* "<expires_at_ms>|<body>"; anything else is treated as absent */
    char *sep = r->type == REDIS_REPLY_STRING ? memchr(r->str, '|', r->len) : NULL;
    int64_t remaining_ms = sep ? strtoll(r->str, NULL, 10) - wall_ms() : 0;
    if (remaining_ms <= 0) {
        metrics_add(C_CACHE_L2_MISS, 1);
        freeReplyObject(r);
        add_cache_time(start);
        return NULL;
    }
    size_t n = r->len - (size_t)(sep + 1 - r->str);
    body = xmalloc(n + 1);
    memcpy(body, sep + 1, n);
    body[n] = '\0';
    freeReplyObject(r);
    /* fill L1 for the shorter of its TTL and what L2 has left */
    ttlmap_put(c->l1, ns, key, body, n,
               remaining_ms < c->l1_ttl_ms ? (int)remaining_ms : c->l1_ttl_ms, gen);
    metrics_add(C_CACHE_L2_HIT, 1);
    if (len)
        *len = n;
    if (level)
        *level = "l2";
    add_cache_time(start);
    return body;
}

static void tiered_put(struct cache *c, const char *ns, const char *key, const char *body,
                       size_t len, enum cache_class cls)
{
    int64_t start = monotonic_us();
    uint64_t gen = seen_take(c, ns, key);
    if (gen != ttlmap_generation(c->l1, ns)) {
        /* ns was invalidated after this request looked it up: its data may predate the
         * write, so it is cached nowhere */
        add_cache_time(start);
        return;
    }
    ttlmap_put(c->l1, ns, key, body, len, 0, gen);

    redisContext *ctx = ctx_take(c);
    if (!ctx) {
        atomic_fetch_add(&c->write_errors, 1);
        add_cache_time(start);
        return;
    }
    int ttl_s = cls == CACHE_STATIC ? c->static_ttl_s : c->dynamic_ttl_s;
    char prefix[32], ttl[16];
    int plen = snprintf(prefix, sizeof prefix, "%lld|", (long long)(wall_ms() + ttl_s * 1000LL));
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    char *value = xmalloc((size_t)plen + len + 1);
    memcpy(value, prefix, (size_t)plen);
    if (len)
        memcpy(value + plen, body, len);
    char *h = hash_name(c, ns);

    /* one round trip: HSET, then a hash TTL that only grows */
    const char *hset[] = {"HSET", h, key, value};
    const size_t hset_len[] = {4, strlen(h), strlen(key), (size_t)plen + len};
    const char *nx[] = {"EXPIRE", h, ttl, "NX"};
    const char *gt[] = {"EXPIRE", h, ttl, "GT"};
    bool failed = redisAppendCommandArgv(ctx, 4, hset, hset_len) != REDIS_OK ||
                  redisAppendCommandArgv(ctx, 4, nx, NULL) != REDIS_OK ||
                  redisAppendCommandArgv(ctx, 4, gt, NULL) != REDIS_OK;
    bool refused = false;
    for (int i = 0; i < 3 && !failed; i++) {
        void *reply = NULL;
        if (redisGetReply(ctx, &reply) != REDIS_OK) {
            failed = true;
            break;
        }
        if (((redisReply *)reply)->type == REDIS_REPLY_ERROR) {
            refused = true;
            warn_redis(c, "refused a cache write", ((redisReply *)reply)->str);
        }
        freeReplyObject(reply);
    }
    if (failed || refused)
        atomic_fetch_add(&c->write_errors, 1);
    ctx_give(c, ctx, failed);
    free(h);
    free(value);
    add_cache_time(start);
}

static void tiered_invalidate(struct cache *c, const char *ns)
{
    int64_t start = monotonic_us();
    ttlmap_invalidate(c->l1, ns);
    metrics_add(C_CACHE_INVALIDATIONS, 1);

    redisContext *ctx = ctx_take(c);
    if (!ctx) {
        atomic_fetch_add(&c->write_errors, 1);
        add_cache_time(start);
        return;
    }
    char *h = hash_name(c, ns);
    size_t mlen = strlen(c->instance) + 1 + strlen(ns) + 1;
    char *msg = xmalloc(mlen);
    snprintf(msg, mlen, "%s %s", c->instance, ns);
    const char *del[] = {"DEL", h};
    const char *pub[] = {"PUBLISH", c->channel, msg};
    bool failed = redisAppendCommandArgv(ctx, 2, del, NULL) != REDIS_OK ||
                  redisAppendCommandArgv(ctx, 3, pub, NULL) != REDIS_OK;
    bool refused = false;
    for (int i = 0; i < 2 && !failed; i++) {
        void *reply = NULL;
        if (redisGetReply(ctx, &reply) != REDIS_OK) {
            failed = true;
            break;
        }
        refused |= ((redisReply *)reply)->type == REDIS_REPLY_ERROR;
        freeReplyObject(reply);
    }
    if (failed || refused)
        atomic_fetch_add(&c->write_errors, 1);
    ctx_give(c, ctx, failed);
    free(h);
    free(msg);
    add_cache_time(start);
}

static void tiered_close(struct cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->stop_lock);
    atomic_store(&c->stopping, true);
    pthread_cond_broadcast(&c->stop_cond);
    pthread_mutex_unlock(&c->stop_lock);
    if (c->subscriber_running)
        pthread_join(c->subscriber, NULL);
    for (int i = 0; i < c->nidle; i++)
        redisFree(c->idle[i]);
    uint64_t lost = atomic_load(&c->write_errors);
    if (lost)
        fprintf(stderr, "cache: %llu writes or invalidations could not reach redis\n",
                (unsigned long long)lost);
    ttlmap_free(c->l1);
    pthread_cond_destroy(&c->stop_cond);
    pthread_mutex_destroy(&c->stop_lock);
    pthread_mutex_destroy(&c->ctx_lock);
    redis_url_free(&c->redis);
    free(c);
}

uint64_t cache_tiered_write_errors(const struct cache *c)
{
    return atomic_load(&c->write_errors);
}

const struct cache_ops cache_tiered = {
    .name = "tiered",
    .open = tiered_open,
    .get = tiered_get,
    .put = tiered_put,
    .invalidate = tiered_invalidate,
    .close = tiered_close,
};
