/* cache_tiered.c - the two-level cache of 03-cache on: L1 an in-process TTL map (ttlmap.c,
 * 5 s), L2 Redis shared by every instance (5 min for static data, 30 s for dynamic).
 *
 * What each level keeps. An entry is a body and, from builds that compress, its gzip
 * encoding (cache.h). L1 keeps both, so that a hit costs a copy whatever the client accepts:
 * inflating the 19.5 KB headline page for an identity client would cost about 19 us per
 * response against 0.4 us for copying it (scripts/bench_gzip.c), while keeping the identity
 * body beside the gzip costs L1 memory only. L2 keeps one form, the smaller: the gzip when
 * there is one (about a sixth of the identity body's bytes in Redis and on the wire), else
 * the body; an L2 hit inflates it once, to fill L1.
 *
 * L2 layout: namespace ns is the Redis hash "apibench:cache:<scope>:<ns>"; each field is a
 * key and its value is "<expires_at_ms>|g|<gzip>" or "<expires_at_ms>|i|<body>" (wall
 * clock), because Redis 7.0 has no per-field expiry and one hash holds entries of both
 * classes. A field past its time is a miss. The field "#version" (keys never start with
 * '#') holds the namespace's version, a unique value set by each invalidation. <scope> is a
 * hash of the database URL: instances serving one database share entries and
 * invalidations, while instances (or tests) serving other databases from the same Redis
 * never see each other's rows. Without a database URL the scope and its colon are left out.
 * A Redis key prefix (--redis-prefix, redis_prefix.h) goes before every hash and channel
 * name: "<prefix>apibench:cache:...", "<prefix>apibench:invalidate...".
 *
 * Invalidation of ns, after the write committed: one script replaces the hash by one holding
 * only a new "#version"; then PUBLISH "<instance> <ns>" on "apibench:invalidate[:<scope>]";
 * then bump ns's L1 generation here. A subscriber thread in every instance drops ns from its
 * own L1 when another instance's message arrives, and drops all of L1 whenever it
 * (re)subscribes, since messages sent while it was away are lost.
 *
 * No stale write after an invalidation. A lookup that misses L1 reads the field and
 * "#version" in one HMGET, before the request reads PostgreSQL; its put stores the result
 * only if "#version" is still what it read (compare-and-set in one script), and into L1 only
 * if ns's L1 generation has not moved. A request that read PostgreSQL before a commit can
 * therefore not store its result after that commit's invalidation, in this instance or any
 * other. Because Redis is updated before L1's generation moves, an L2 read that raced the
 * invalidation is dropped from L1 too.
 *
 * Redis memory. Expired fields are removed by the put script: each write samples up to 4
 * fields and deletes the expired ones, which keeps a hash within about 4/3 of its live
 * entries, and a hash that reaches L2_MAX_FIELDS fields is emptied (it is a cache). The
 * hash's TTL is that of its longest-lived field, so an idle namespace disappears. Live
 * entries are bounded by the write rate times the class TTL; Redis's maxmemory with an
 * volatile-lru policy gives a hard total (variants/03-cache/README.md).
 *
 * Staleness bounds (what the contract allows between builds):
 *  - normal operation: none in the invalidating instance; in the others, pub/sub delivery
 *    (sub-millisecond on loopback) for what their L1 holds.
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

#include "apibench/clock.h"
#include "apibench/config.h"
#include "apibench/encoder.h"
#include "apibench/metrics.h"
#include "apibench/redis_prefix.h"
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
#define VERSION_FIELD "#version"
#define L2_MAX_FIELDS 4096          /* a hash that reaches this many fields is emptied */
#define L2_PRUNE_SAMPLE 4           /* fields each write checks for expiry */
#define MAX_BODY ((size_t)64 << 20) /* an L2 gzip decoding to more is treated as absent */

/* Stores a field only if the namespace's version is still the one its request read (ARGV[1],
 * "" for none), after deleting the expired fields of a small random sample; empties a full
 * hash. KEYS[1] hash; ARGV field, value, ttl s, now ms, max fields, sample size. */
static const char PUT_SCRIPT[] =
    "local h = KEYS[1]\n"
    "if (redis.call('HGET', h, '" VERSION_FIELD "') or '') ~= ARGV[1] then return 0 end\n"
    "local now = tonumber(ARGV[5])\n"
    "local sample = redis.call('HRANDFIELD', h, tonumber(ARGV[7]), 'WITHVALUES')\n"
    "for i = 1, #sample, 2 do\n"
    "  local exp = tonumber(string.match(sample[i + 1], '^(%d+)|'))\n"
    "  if exp and exp <= now then redis.call('HDEL', h, sample[i]) end\n"
    "end\n"
    "if redis.call('HLEN', h) >= tonumber(ARGV[6]) then\n"
    "  redis.call('DEL', h)\n"
    "  if ARGV[1] ~= '' then redis.call('HSET', h, '" VERSION_FIELD "', ARGV[1]) end\n"
    "end\n"
    "redis.call('HSET', h, ARGV[2], ARGV[3])\n"
    "if redis.call('EXPIRE', h, ARGV[4], 'NX') == 0 then\n"
    "  redis.call('EXPIRE', h, ARGV[4], 'GT')\n"
    "end\n"
    "return 1\n";

/* Replaces the hash by one holding only a new version. KEYS[1] hash; ARGV version, ttl s. */
static const char INVALIDATE_SCRIPT[] =
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('HSET', KEYS[1], '" VERSION_FIELD "', ARGV[1])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "return 1\n";

struct cache {
    struct ttlmap *l1;
    int l1_ttl_ms;
    int static_ttl_s, dynamic_ttl_s;
    struct redis_url redis;
    char instance[24]; /* tags our own PUBLISHes */
    char prefix[REDIS_PREFIX_MAX + 1]; /* --redis-prefix, "" by default */
    char scope[16];    /* "<hash of the database url>:" or "" */
    char channel[REDIS_PREFIX_MAX + 48]; /* invalidation channel of the scope */

    /* Redis contexts for the request path, taken and given back under ctx_lock */
    pthread_mutex_t ctx_lock;
    redisContext *idle[IDLE_CONTEXTS_MAX];
    int nidle;
    _Atomic int64_t next_connect_ms; /* no connect attempt before this (monotonic) */
    _Atomic int64_t next_warning_ms;
    _Atomic uint64_t write_errors; /* puts and invalidations that could not reach Redis */
    _Atomic uint64_t versions;     /* invalidations made here: part of each new version */

    /* the subscriber thread */
    pthread_t subscriber;
    bool subscriber_running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    _Atomic bool stopping;
};

static void add_cache_time(int64_t start_us)
{
    if (current_timing)
        current_timing->cache_us += clock_mono_us() - start_us;
}

/* Logs a Redis problem at most once per 10 s. */
static void warn_redis(struct cache *c, const char *what, const char *detail)
{
    int64_t now = clock_mono_ms();
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
    int64_t now = clock_mono_ms();
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
        atomic_store(&c->next_connect_ms, clock_mono_ms() + RECONNECT_INTERVAL_MS);
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
    size_t n = strlen(c->prefix) + strlen(HASH_PREFIX) + strlen(c->scope) + strlen(ns) + 1;
    char *h = xmalloc(n);
    snprintf(h, n, "%s%s%s%s", c->prefix, HASH_PREFIX, c->scope, ns);
    return h;
}

/* Sets the scope and channel from the database url (FNV-1a, 32 bits in hex) and the key
 * prefix already in c->prefix. */
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
    snprintf(c->channel, sizeof c->channel, "%s%s%s%.*s", c->prefix, CHANNEL_PREFIX,
             n ? ":" : "", n ? (int)(n - 1) : 0, c->scope);
}

/* --- what a request saw at get time (the L1 generation and the L2 version of ns), so that
 * its put can tell whether ns was invalidated while it was reading PostgreSQL. One request
 * per thread at a time. */

struct seen {
    const struct cache *cache;
    uint64_t gen;
    bool version_known; /* false when L2 was not read (L1 hit, Redis down) */
    char version[64];   /* "#version" as read, "" when absent */
    char nskey[512];    /* ns NUL key NUL; empty when unset or too long */
};

static _Thread_local struct seen seen;

static void seen_set(const struct cache *c, const char *ns, const char *key, uint64_t gen)
{
    size_t nl = strlen(ns), kl = strlen(key);
    seen.cache = NULL;
    seen.version_known = false;
    if (nl + kl + 2 > sizeof seen.nskey)
        return;
    memcpy(seen.nskey, ns, nl + 1);
    memcpy(seen.nskey + nl + 1, key, kl + 1);
    seen.gen = gen;
    seen.cache = c;
}

/* Records the L2 version read for the (ns, key) of the last seen_set; a reply that is not a
 * string or nil leaves it unknown. */
static void seen_version(const redisReply *v)
{
    if (v->type == REDIS_REPLY_NIL) {
        seen.version[0] = '\0';
        seen.version_known = true;
    } else if (v->type == REDIS_REPLY_STRING && v->len < sizeof seen.version) {
        memcpy(seen.version, v->str, v->len + 1);
        seen.version_known = true;
    }
}

/* The generation seen at get time for (ns, key), or the current one; *version is the L2
 * version seen, or NULL when none was (the put then leaves L2 alone). */
static uint64_t seen_take(struct cache *c, const char *ns, const char *key, const char **version)
{
    size_t nl = strlen(ns);
    *version = NULL;
    if (seen.cache == c && strcmp(seen.nskey, ns) == 0 && strcmp(seen.nskey + nl + 1, key) == 0) {
        seen.cache = NULL;
        if (seen.version_known)
            *version = seen.version;
        return seen.gen;
    }
    return ttlmap_generation(c->l1, ns);
}

/* --- the forms of an entry in each level */

void cache_entry_free(struct cache_entry *e)
{
    free(e->body);
    free(e->gzip);
    *e = (struct cache_entry){0};
}

/* L1 keeps one blob per entry: body, NUL, gzip, then gzip's length (a size_t). The body's
 * copy from ttlmap_get is then the entry's body as it is. */
static char *l1_pack(const struct cache_entry *e, size_t *blob_len)
{
    size_t glen = e->gzip ? e->gzip_len : 0;
    size_t n = e->len + 1 + glen + sizeof glen;
    char *blob = xmalloc(n);
    if (e->len)
        memcpy(blob, e->body, e->len);
    blob[e->len] = '\0';
    if (glen)
        memcpy(blob + e->len + 1, e->gzip, glen);
    memcpy(blob + n - sizeof glen, &glen, sizeof glen);
    *blob_len = n;
    return blob;
}

/* Takes over blob (from ttlmap_get) as out's body. Returns false for a blob too short. */
static bool l1_unpack(char *blob, size_t n, struct cache_entry *out)
{
    size_t glen;
    if (n < 1 + sizeof glen)
        goto bad;
    memcpy(&glen, blob + n - sizeof glen, sizeof glen);
    if (glen > n - 1 - sizeof glen)
        goto bad;
    out->len = n - 1 - glen - sizeof glen;
    out->body = blob;
    out->body[out->len] = '\0';
    out->gzip = NULL;
    out->gzip_len = glen;
    if (glen) {
        out->gzip = xmalloc(glen);
        memcpy(out->gzip, blob + out->len + 1, glen);
    }
    return true;
bad:
    free(blob);
    return false;
}

/* The L2 value "<expires_at_ms>|g|<gzip>" or "<expires_at_ms>|i|<body>", malloc'd. */
static char *l2_pack(const struct cache_entry *e, int ttl_s, size_t *value_len)
{
    const char *form = e->gzip ? e->gzip : e->body;
    size_t flen = e->gzip ? e->gzip_len : e->len;
    char prefix[40];
    int plen = snprintf(prefix, sizeof prefix, "%lld|%c|", (long long)(clock_wall_ms() + ttl_s * 1000LL),
                        e->gzip ? 'g' : 'i');
    char *value = xmalloc((size_t)plen + flen + 1);
    memcpy(value, prefix, (size_t)plen);
    if (flen)
        memcpy(value + plen, form, flen);
    *value_len = (size_t)plen + flen;
    return value;
}

/* Fills out from an L2 value, inflating a gzip form. Returns the milliseconds it has left,
 * or 0 when it is expired, malformed or undecodable (out is then empty). */
static int64_t l2_unpack(const char *v, size_t n, struct cache_entry *out)
{
    *out = (struct cache_entry){0};
    const char *sep = memchr(v, '|', n);
    if (!sep || (size_t)(sep - v) + 3 > n || sep[2] != '|' || (sep[1] != 'g' && sep[1] != 'i'))
        return 0;
    int64_t remaining_ms = strtoll(v, NULL, 10) - clock_wall_ms();
    if (remaining_ms <= 0)
        return 0;
    const char *form = sep + 3;
    size_t flen = n - (size_t)(form - v);
    if (sep[1] == 'i') {
        out->body = xmalloc(flen + 1);
        memcpy(out->body, form, flen);
        out->body[flen] = '\0';
        out->len = flen;
        return remaining_ms;
    }
    out->body = gzip_decode(form, flen, MAX_BODY, &out->len);
    if (!out->body)
        return 0;
    out->gzip = xmalloc(flen);
    memcpy(out->gzip, form, flen);
    out->gzip_len = flen;
    return remaining_ms;
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
    struct timespec ts = clock_deadline_after_ms(CLOCK_MONOTONIC, ms);
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
    if (redis_prefix_check(cfg->redis_prefix, err, errlen) != 0) {
        redis_url_free(&c->redis);
        free(c);
        return NULL;
    }
    snprintf(c->prefix, sizeof c->prefix, "%s", cfg->redis_prefix ? cfg->redis_prefix : "");
    c->l1_ttl_ms = cfg->l1_ttl_ms;
    c->static_ttl_s = cfg->l2_static_ttl_s;
    c->dynamic_ttl_s = cfg->l2_dynamic_ttl_s;
    c->l1 = ttlmap_new(cfg->l1_max_entries, cfg->l1_ttl_ms, NULL, NULL);
    ttlmap_set_max_bytes(c->l1, L1_MAX_BYTES);
    set_scope(c, cfg->database_url);
    snprintf(c->instance, sizeof c->instance, "%x-%llx", (unsigned)getpid(),
             (unsigned long long)(clock_mono_us() ^ (uint64_t)(uintptr_t)c) & 0xffffffffULL);
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

static bool tiered_get(struct cache *c, const char *ns, const char *key, struct cache_entry *out,
                       const char **level)
{
    int64_t start = clock_mono_us();
    uint64_t gen = ttlmap_generation(c->l1, ns);
    seen_set(c, ns, key, gen);
    *out = (struct cache_entry){0};

    size_t blob_len;
    char *blob = ttlmap_get(c->l1, ns, key, &blob_len);
    if (blob && l1_unpack(blob, blob_len, out)) {
        metrics_add(C_CACHE_L1_HIT, 1);
        if (level)
            *level = "l1";
        add_cache_time(start);
        return true;
    }
    metrics_add(C_CACHE_L1_MISS, 1);

    redisContext *ctx = ctx_take(c);
    if (!ctx) {
        metrics_add(C_CACHE_L2_ERROR, 1);
        add_cache_time(start);
        return false;
    }
    char *h = hash_name(c, ns);
    /* the version with the field: what a put after this miss must still find */
    const char *argv[] = {"HMGET", h, VERSION_FIELD, key};
    redisReply *r = command(ctx, 4, argv, NULL);
    free(h);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        metrics_add(C_CACHE_L2_ERROR, 1);
        if (r)
            warn_redis(c, "refused HMGET", r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        freeReplyObject(r);
        ctx_give(c, ctx, r == NULL);
        add_cache_time(start);
        return false;
    }
    ctx_give(c, ctx, false);
    seen_version(r->element[0]);

    const redisReply *v = r->element[1];
    int64_t remaining_ms = v->type == REDIS_REPLY_STRING ? l2_unpack(v->str, v->len, out) : 0;
    freeReplyObject(r);
    if (remaining_ms <= 0) {
        metrics_add(C_CACHE_L2_MISS, 1);
        add_cache_time(start);
        return false;
    }
    /* fill L1 for the shorter of its TTL and what L2 has left */
    blob = l1_pack(out, &blob_len);
    ttlmap_put(c->l1, ns, key, blob, blob_len,
               remaining_ms < c->l1_ttl_ms ? (int)remaining_ms : c->l1_ttl_ms, gen);
    free(blob);
    metrics_add(C_CACHE_L2_HIT, 1);
    if (level)
        *level = "l2";
    add_cache_time(start);
    return true;
}

/* Sends the pipelined commands already appended to ctx and reads their n replies. Returns
 * 0, or -1 after an I/O error (*failed set) or an error reply (logged as what). */
static int read_replies(struct cache *c, redisContext *ctx, int n, const char *what, bool *failed)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        void *reply = NULL;
        if (redisGetReply(ctx, &reply) != REDIS_OK) {
            *failed = true;
            return -1;
        }
        if (((redisReply *)reply)->type == REDIS_REPLY_ERROR) {
            warn_redis(c, what, ((redisReply *)reply)->str);
            rc = -1;
        }
        freeReplyObject(reply);
    }
    return rc;
}

/* Stores e in L2 if ns's version is still the one this request read. When it is not, ns
 * was invalidated by another instance whose message has not arrived yet: its L1 entries
 * are dropped now, as the message will. */
static void l2_put(struct cache *c, const char *ns, const char *key, const struct cache_entry *e,
                   enum cache_class cls, const char *version)
{
    redisContext *ctx = ctx_take(c);
    if (!ctx) {
        atomic_fetch_add(&c->write_errors, 1);
        return;
    }
    int ttl_s = cls == CACHE_STATIC ? c->static_ttl_s : c->dynamic_ttl_s;
    size_t value_len;
    char *value = l2_pack(e, ttl_s, &value_len);
    char *h = hash_name(c, ns);
    char ttl[16], now[24], max[16], sample[16];
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    snprintf(now, sizeof now, "%lld", (long long)clock_wall_ms());
    snprintf(max, sizeof max, "%d", L2_MAX_FIELDS);
    snprintf(sample, sizeof sample, "%d", L2_PRUNE_SAMPLE);
    const char *argv[] = {"EVAL", PUT_SCRIPT, "1", h, version, key, value, ttl, now, max, sample};
    size_t lens[11];
    for (int i = 0; i < 11; i++)
        lens[i] = i == 6 ? value_len : strlen(argv[i]);
    redisReply *r = command(ctx, 11, argv, lens);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        atomic_fetch_add(&c->write_errors, 1);
        if (r)
            warn_redis(c, "refused a cache write", r->str);
    } else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
        ttlmap_invalidate(c->l1, ns);
    }
    ctx_give(c, ctx, r == NULL);
    freeReplyObject(r);
    free(h);
    free(value);
}

static void tiered_put(struct cache *c, const char *ns, const char *key,
                       const struct cache_entry *e, enum cache_class cls)
{
    int64_t start = clock_mono_us();
    const char *version;
    uint64_t gen = seen_take(c, ns, key, &version);
    if (gen != ttlmap_generation(c->l1, ns)) {
        /* ns was invalidated after this request looked it up: its data may predate the
         * write, so it is cached nowhere */
        add_cache_time(start);
        return;
    }
    if (version)
        l2_put(c, ns, key, e, cls, version);
    /* dropped if l2_put learnt of an invalidation, or one lands meanwhile */
    size_t blob_len;
    char *blob = l1_pack(e, &blob_len);
    ttlmap_put(c->l1, ns, key, blob, blob_len, 0, gen);
    free(blob);
    add_cache_time(start);
}

static void tiered_invalidate(struct cache *c, const char *ns)
{
    int64_t start = clock_mono_us();
    metrics_add(C_CACHE_INVALIDATIONS, 1);
    redisContext *ctx = ctx_take(c);
    if (!ctx) {
        atomic_fetch_add(&c->write_errors, 1);
        goto drop_l1;
    }
    char *h = hash_name(c, ns);
    size_t mlen = strlen(c->instance) + 1 + strlen(ns) + 1;
    char *msg = xmalloc(mlen);
    snprintf(msg, mlen, "%s %s", c->instance, ns);
    char version[48], ttl[16];
    snprintf(version, sizeof version, "%s:%llu", c->instance,
             (unsigned long long)atomic_fetch_add(&c->versions, 1) + 1);
    snprintf(ttl, sizeof ttl, "%d", c->static_ttl_s);
    const char *inval[] = {"EVAL", INVALIDATE_SCRIPT, "1", h, version, ttl};
    const char *pub[] = {"PUBLISH", c->channel, msg};
    bool failed = redisAppendCommandArgv(ctx, 6, inval, NULL) != REDIS_OK ||
                  redisAppendCommandArgv(ctx, 3, pub, NULL) != REDIS_OK;
    if (failed || read_replies(c, ctx, 2, "refused an invalidation", &failed) != 0)
        atomic_fetch_add(&c->write_errors, 1);
    ctx_give(c, ctx, failed);
    free(h);
    free(msg);
drop_l1:
    /* after Redis: an L2 value read before the script ran cannot outlive this in L1 */
    ttlmap_invalidate(c->l1, ns);
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
