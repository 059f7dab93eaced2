/* test_cache_tiered.c - the L1+L2 cache with Redis replaced at the leaf (hiredis calls
 * wrapped with --wrap, see test_cache_tiered.wrap) by a small in-memory fake: L1 hits, L2
 * hits filling L1, misses, expired L2 fields, class TTLs, invalidation (a new version +
 * PUBLISH), the put skipped after an invalidation (here or through the L2 version), gzip
 * entries stored compressed in L2, and failing open when Redis is down or dies. The fake
 * runs the two Lua scripts' effects in C (their pruning of expired fields is tested against
 * a real Redis: tests/integration/test_cache_race.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apibench/cache.h"
#include "apibench/clock.h"
#include "apibench/config.h"
#include "apibench/encoder.h"
#include "apibench/metrics.h"

/* --- the fake Redis: hashes of fields, a log of commands, queued replies */

struct field {
    char hash[128], name[256];
    char *value;
    size_t len;
};

static struct field store[64];
static int nstore;
static char cmdlog[64][512];
static int ncmd;
static redisReply *pending[16];
static int npending;
static pthread_t main_thread;
static atomic_bool redis_down;
static bool fail_next_reply;
static int main_connects;        /* attempts from the test's (request) thread */
static atomic_int live_contexts; /* made for the test's thread and not yet freed */

static void fake_reset(void)
{
    for (int i = 0; i < nstore; i++)
        free(store[i].value);
    nstore = ncmd = 0;
    for (int i = 0; i < npending; i++)
        freeReplyObject(pending[i]);
    npending = 0;
    redis_down = false;
    fail_next_reply = false;
    main_connects = 0;
}

static struct field *find_field(const char *hash, const char *name)
{
    for (int i = 0; i < nstore; i++)
        if (strcmp(store[i].hash, hash) == 0 && strcmp(store[i].name, name) == 0)
            return &store[i];
    return NULL;
}

static void store_field(const char *hash, const char *name, const char *value, size_t len)
{
    struct field *f = find_field(hash, name);
    if (!f) {
        assert_true(nstore < 64);
        f = &store[nstore++];
        snprintf(f->hash, sizeof f->hash, "%s", hash);
        snprintf(f->name, sizeof f->name, "%s", name);
    } else {
        free(f->value);
    }
    f->value = malloc(len + 1);
    memcpy(f->value, value, len);
    f->value[len] = '\0';
    f->len = len;
}

static redisReply *reply_new(int type)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = type;
    return r;
}

static redisReply *reply_str(int type, const char *s, size_t len)
{
    redisReply *r = reply_new(type);
    r->str = malloc(len + 1);
    memcpy(r->str, s, len);
    r->str[len] = '\0';
    r->len = len;
    return r;
}

static redisReply *reply_int(long long n)
{
    redisReply *r = reply_new(REDIS_REPLY_INTEGER);
    r->integer = n;
    return r;
}

redisContext *__wrap_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv);
int __wrap_redisSetTimeout(redisContext *c, const struct timeval tv);
void __wrap_redisFree(redisContext *c);
int __wrap_redisAppendCommandArgv(redisContext *c, int argc, const char **argv,
                                  const size_t *argvlen);
int __wrap_redisGetReply(redisContext *c, void **reply);

redisContext *__wrap_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv)
{
    (void)ip;
    (void)port;
    (void)tv;
    redisContext *c = calloc(1, sizeof *c);
    /* the subscriber thread never gets a connection here: the test drives requests */
    bool is_main = pthread_equal(pthread_self(), main_thread);
    c->fd = is_main ? -1 : -2; /* tells redisFree whose it was */
    if (is_main) {
        main_connects++;
        atomic_fetch_add(&live_contexts, 1);
    }
    if (!is_main || atomic_load(&redis_down)) {
        c->err = REDIS_ERR_IO;
        snprintf(c->errstr, sizeof c->errstr, "Connection refused");
    }
    return c;
}

int __wrap_redisSetTimeout(redisContext *c, const struct timeval tv)
{
    (void)c;
    (void)tv;
    return REDIS_OK;
}

void __wrap_redisFree(redisContext *c)
{
    if (!c)
        return;
    if (c->fd == -1)
        atomic_fetch_sub(&live_contexts, 1);
    free(c);
}

static void delete_hash(const char *hash)
{
    for (int i = 0; i < nstore;) {
        if (strcmp(store[i].hash, hash) == 0) {
            free(store[i].value);
            store[i] = store[--nstore];
        } else {
            i++;
        }
    }
}

static redisReply *field_reply(const char *hash, const char *name)
{
    struct field *f = find_field(hash, name);
    return f ? reply_str(REDIS_REPLY_STRING, f->value, f->len) : reply_new(REDIS_REPLY_NIL);
}

/* The put script: EVAL script 1 hash version field value ttl now max sample. Logged as the
 * HSET and EXPIRE it makes, or as "CAS-FAIL hash field". */
static redisReply *fake_put(const char **argv, const size_t *len, char *line)
{
    struct field *v = find_field(argv[3], "#version");
    if (strcmp(v ? v->value : "", argv[4]) != 0) {
        snprintf(line, 512, "CAS-FAIL %s %s", argv[3], argv[5]);
        return reply_int(0);
    }
    store_field(argv[3], argv[5], argv[6], len[6]);
    snprintf(line, 512, "HSET %s %s <%zu bytes>", argv[3], argv[5], len[6]);
    assert_true(ncmd < 64);
    snprintf(cmdlog[ncmd++], 512, "EXPIRE %s %s", argv[3], argv[7]);
    return reply_int(1);
}

/* The invalidation script: EVAL script 1 hash version ttl. Logged as "DEL hash" and
 * "VERSION hash version". */
static redisReply *fake_invalidate(const char **argv, char *line)
{
    delete_hash(argv[3]);
    store_field(argv[3], "#version", argv[4], strlen(argv[4]));
    snprintf(line, 512, "DEL %s", argv[3]);
    assert_true(ncmd < 64);
    snprintf(cmdlog[ncmd++], 512, "VERSION %s %s", argv[3], argv[4]);
    return reply_int(1);
}

/* Runs one command against the store and queues its reply. */
int __wrap_redisAppendCommandArgv(redisContext *c, int argc, const char **argv,
                                  const size_t *argvlen)
{
    assert_int_equal(c->err, 0);
    size_t len[12];
    assert_true(argc <= 12);
    for (int i = 0; i < argc; i++)
        len[i] = argvlen ? argvlen[i] : strlen(argv[i]);
    /* log the command with its first three arguments */
    char *line = cmdlog[ncmd < 64 ? ncmd++ : 63];
    snprintf(line, 512, "%s", argv[0]);
    for (int i = 1; i < argc && i < 4; i++) {
        size_t used = strlen(line);
        snprintf(line + used, 512 - used, " %.*s", (int)len[i], argv[i]);
    }
    redisReply *r;
    if (strcmp(argv[0], "HMGET") == 0) {
        assert_int_equal(argc, 4);
        r = reply_new(REDIS_REPLY_ARRAY);
        r->elements = 2;
        r->element = calloc(2, sizeof *r->element);
        r->element[0] = field_reply(argv[1], argv[2]);
        r->element[1] = field_reply(argv[1], argv[3]);
    } else if (strcmp(argv[0], "EVAL") == 0 && strstr(argv[1], "HRANDFIELD")) {
        assert_int_equal(argc, 11);
        r = fake_put(argv, len, line);
    } else if (strcmp(argv[0], "EVAL") == 0) {
        assert_int_equal(argc, 6);
        r = fake_invalidate(argv, line);
    } else if (strcmp(argv[0], "PUBLISH") == 0) {
        r = reply_int(0);
    } else {
        r = reply_str(REDIS_REPLY_ERROR, "ERR unknown command", 19);
    }
    assert_true(npending < 16);
    pending[npending++] = r;
    return REDIS_OK;
}

int __wrap_redisGetReply(redisContext *c, void **reply)
{
    if (fail_next_reply) {
        fail_next_reply = false;
        c->err = REDIS_ERR_IO;
        snprintf(c->errstr, sizeof c->errstr, "Resource temporarily unavailable");
        return REDIS_ERR;
    }
    assert_true(npending > 0);
    *reply = pending[0];
    memmove(pending, pending + 1, (size_t)(npending - 1) * sizeof *pending);
    npending--;
    return REDIS_OK;
}

static bool logged(const char *prefix)
{
    for (int i = 0; i < ncmd; i++)
        if (strncmp(cmdlog[i], prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

static int count_logged(const char *prefix)
{
    int n = 0;
    for (int i = 0; i < ncmd; i++)
        n += strncmp(cmdlog[i], prefix, strlen(prefix)) == 0;
    return n;
}

/* --- helpers */

static struct cache *open_cache_prefixed(const char *database_url, const char *redis_prefix)
{
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.database_url = database_url;
    cfg.redis_prefix = redis_prefix;
    cfg.redis_url = "redis://127.0.0.1:56379/0";
    cfg.l1_ttl_ms = 5000;
    cfg.l1_max_entries = 100;
    cfg.l2_static_ttl_s = 300;
    cfg.l2_dynamic_ttl_s = 30;
    char err[256] = "";
    struct cache *c = cache_tiered.open(&cfg, err, sizeof err);
    if (!c)
        fail_msg("open: %s", err);
    return c;
}

static struct cache *open_cache_for(const char *database_url)
{
    return open_cache_prefixed(database_url, NULL);
}

static struct cache *open_cache(void)
{
    return open_cache_for(NULL);
}

static int setup(void **state)
{
    (void)state;
    fake_reset();
    metrics_reset();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

/* get, expecting body at level (NULL body: a miss) */
static void expect_get(struct cache *c, const char *ns, const char *key, const char *body,
                       const char *level)
{
    struct cache_entry e;
    const char *lvl = NULL;
    bool hit = cache_tiered.get(c, ns, key, &e, &lvl);
    if (!body) {
        assert_false(hit);
        assert_null(e.body);
        return;
    }
    assert_true(hit);
    assert_non_null(e.body);
    assert_int_equal(e.len, strlen(body));
    assert_string_equal(e.body, body);
    assert_non_null(lvl);
    assert_string_equal(lvl, level);
    cache_entry_free(&e);
}

/* put of an identity-only entry */
static void put(struct cache *c, const char *ns, const char *key, const char *body,
                enum cache_class cls)
{
    struct cache_entry e = {.body = (char *)(uintptr_t)body, .len = strlen(body)};
    cache_tiered.put(c, ns, key, &e, cls);
}

static void seed_l2(const char *ns, const char *key, const char *body, int64_t expires_ms)
{
    char hash[128], value[512];
    snprintf(hash, sizeof hash, "apibench:cache:%s", ns);
    int n = snprintf(value, sizeof value, "%lld|i|%s", (long long)expires_ms, body);
    store_field(hash, key, value, (size_t)n);
}

/* --- tests */

static void test_both_miss(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    expect_get(c, "device:1", "u1:/api/devices/1", NULL, NULL);
    assert_int_equal(metrics_get(C_CACHE_L1_MISS), 1);
    assert_int_equal(metrics_get(C_CACHE_L2_MISS), 1);
    assert_int_equal(metrics_get(C_CACHE_L2_ERROR), 0);
    assert_true(logged("HMGET apibench:cache:device:1 #version u1:/api/devices/1"));
    cache_tiered.close(c);
}

static void test_put_then_l1_hit(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    expect_get(c, "latest", "u1:limit=10", NULL, NULL);
    put(c, "latest", "u1:limit=10", "{\"data\":[]}", CACHE_DYNAMIC);
    int hgets = count_logged("HMGET");
    expect_get(c, "latest", "u1:limit=10", "{\"data\":[]}", "l1");
    assert_int_equal(count_logged("HMGET"), hgets); /* L1 answered: Redis not asked */
    assert_int_equal(metrics_get(C_CACHE_L1_HIT), 1);
    assert_int_equal(metrics_get(C_CACHE_L2_HIT), 0);
    cache_tiered.close(c);
}

static void test_put_writes_l2_with_class_ttl(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    int64_t before = clock_wall_ms();
    expect_get(c, "device:7", "static", NULL, NULL); /* a put follows a miss */
    put(c, "device:7", "static", "{\"id\":7}", CACHE_STATIC);
    expect_get(c, "device:7", "dynamic", NULL, NULL);
    put(c, "device:7", "dynamic", "{\"r\":1}", CACHE_DYNAMIC);
    int64_t after = clock_wall_ms();
    assert_true(logged("HMGET apibench:cache:device:7 #version static"));
    assert_true(logged("HSET apibench:cache:device:7 static"));
    assert_true(logged("EXPIRE apibench:cache:device:7 300"));
    assert_true(logged("EXPIRE apibench:cache:device:7 30"));

    struct field *f = find_field("apibench:cache:device:7", "static");
    assert_non_null(f);
    char *bar = strchr(f->value, '|');
    assert_non_null(bar);
    assert_string_equal(bar + 1, "i|{\"id\":7}"); /* identity form: no gzip was given */
    long long expires = strtoll(f->value, NULL, 10);
    assert_true(expires >= before + 300000 && expires <= after + 300000);
    f = find_field("apibench:cache:device:7", "dynamic");
    assert_non_null(f);
    expires = strtoll(f->value, NULL, 10);
    assert_true(expires >= before + 30000 && expires <= after + 30000);
    cache_tiered.close(c);
}

static void test_l2_hit_fills_l1(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    seed_l2("device:3", "u2:/api/devices/3", "{\"id\":3}", clock_wall_ms() + 60000);
    expect_get(c, "device:3", "u2:/api/devices/3", "{\"id\":3}", "l2");
    assert_int_equal(metrics_get(C_CACHE_L1_MISS), 1);
    assert_int_equal(metrics_get(C_CACHE_L2_HIT), 1);
    int hgets = count_logged("HMGET");
    expect_get(c, "device:3", "u2:/api/devices/3", "{\"id\":3}", "l1");
    assert_int_equal(count_logged("HMGET"), hgets);
    assert_int_equal(metrics_get(C_CACHE_L1_HIT), 1);
    cache_tiered.close(c);
}

static void test_expired_or_malformed_l2_field_is_a_miss(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    seed_l2("device:4", "k", "{\"old\":true}", clock_wall_ms() - 1);
    expect_get(c, "device:4", "k", NULL, NULL);
    store_field("apibench:cache:device:4", "j", "no separator", 12);
    expect_get(c, "device:4", "j", NULL, NULL);
    assert_int_equal(metrics_get(C_CACHE_L2_MISS), 2);
    assert_int_equal(metrics_get(C_CACHE_L2_HIT), 0);
    cache_tiered.close(c);
}

static void test_invalidate_sends_del_and_publish(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    put(c, "device:5", "k", "{\"v\":1}", CACHE_DYNAMIC);
    put(c, "device:6", "k", "{\"v\":2}", CACHE_DYNAMIC);
    cache_tiered.invalidate(c, "device:5");
    assert_true(logged("DEL apibench:cache:device:5"));
    assert_true(logged("PUBLISH apibench:invalidate "));
    bool found = false;
    for (int i = 0; i < ncmd; i++) {
        size_t n = strlen(cmdlog[i]);
        found |= strncmp(cmdlog[i], "PUBLISH", 7) == 0 && n > 9 &&
                 strcmp(cmdlog[i] + n - 9, " device:5") == 0;
    }
    assert_true(found); /* payload "<instance> device:5" */
    assert_int_equal(metrics_get(C_CACHE_INVALIDATIONS), 1);
    /* gone from both levels; the other namespace is untouched */
    expect_get(c, "device:5", "k", NULL, NULL);
    assert_int_equal(metrics_get(C_CACHE_L2_MISS), 1);
    expect_get(c, "device:6", "k", "{\"v\":2}", "l1");
    cache_tiered.close(c);
}

static void test_put_skipped_after_invalidation(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    /* a request misses, reads postgres; meanwhile an ingest invalidates the namespace */
    expect_get(c, "latest", "u1", NULL, NULL);
    cache_tiered.invalidate(c, "latest");
    put(c, "latest", "u1", "{\"stale\":true}", CACHE_DYNAMIC);
    assert_false(logged("HSET"));
    expect_get(c, "latest", "u1", NULL, NULL);
    /* the next request's put is stored */
    put(c, "latest", "u1", "{\"fresh\":true}", CACHE_DYNAMIC);
    assert_true(logged("HSET apibench:cache:latest u1"));
    expect_get(c, "latest", "u1", "{\"fresh\":true}", "l1");
    cache_tiered.close(c);
}

static void test_redis_down_fails_open(void **state)
{
    (void)state;
    redis_down = true;
    struct cache *c = open_cache(); /* opening is not an error */
    for (int i = 0; i < 5; i++)
        expect_get(c, "device:8", "k", NULL, NULL);
    assert_int_equal(metrics_get(C_CACHE_L2_ERROR), 5);
    assert_int_equal(metrics_get(C_CACHE_L2_MISS), 0);
    assert_true(main_connects >= 1);
    assert_true(main_connects < 5); /* reconnects are rate-limited, not one per request */
    assert_int_equal(ncmd, 0);

    /* L1 still works on its own; invalidation still drops it locally */
    put(c, "device:8", "k", "{\"v\":8}", CACHE_DYNAMIC);
    expect_get(c, "device:8", "k", "{\"v\":8}", "l1");
    cache_tiered.invalidate(c, "device:8");
    expect_get(c, "device:8", "k", NULL, NULL);
    assert_int_equal(ncmd, 0);

    /* Redis comes back: after the reconnect interval L2 is used again */
    redis_down = false;
    struct timespec ts = {.tv_sec = 1, .tv_nsec = 100000000L};
    nanosleep(&ts, NULL);
    expect_get(c, "device:8", "k", NULL, NULL);
    assert_int_equal(metrics_get(C_CACHE_L2_MISS), 1);
    cache_tiered.close(c);
    assert_int_equal(atomic_load(&live_contexts), 0);
}

static void test_redis_dies_mid_command(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    expect_get(c, "device:9", "k", NULL, NULL);
    put(c, "device:9", "k", "{\"v\":9}", CACHE_DYNAMIC); /* a context is idle now */
    assert_int_equal(atomic_load(&live_contexts), 1);
    cache_tiered.invalidate(c, "device:9"); /* L1 dropped; L2 deleted */
    fail_next_reply = true;
    expect_get(c, "device:9", "k", NULL, NULL);
    assert_int_equal(metrics_get(C_CACHE_L2_ERROR), 1);
    assert_int_equal(atomic_load(&live_contexts), 0); /* the failed context was closed */
    cache_tiered.close(c);
}

/* Two students on one Redis and (here) one database: the prefix alone keeps them apart. */
static void test_redis_prefix_separates_students(void **state)
{
    (void)state;
    const char *url = "postgresql://app@127.0.0.1:55432/shared";
    struct cache *alice = open_cache_prefixed(url, "alice:");
    struct cache *alice2 = open_cache_prefixed(url, "alice:");
    struct cache *bob = open_cache_prefixed(url, "bob:");
    expect_get(alice, "device:1", "k", NULL, NULL);
    put(alice, "device:1", "k", "{\"who\":\"alice\"}", CACHE_DYNAMIC);
    assert_int_equal(count_logged("HSET alice:apibench:cache:"), 1);
    assert_int_equal(count_logged("HSET apibench:cache:"), 0);
    expect_get(bob, "device:1", "k", NULL, NULL); /* bob does not see alice's entry */
    assert_int_equal(count_logged("HMGET bob:apibench:cache:"), 1);
    expect_get(alice2, "device:1", "k", "{\"who\":\"alice\"}", "l2"); /* alice does */
    cache_tiered.invalidate(bob, "device:1");
    assert_int_equal(count_logged("PUBLISH bob:apibench:invalidate:"), 1);
    assert_int_equal(count_logged("DEL alice:"), 0);
    struct field *f = NULL;
    for (int i = 0; i < nstore && !f; i++)
        if (strcmp(store[i].name, "k") == 0)
            f = &store[i];
    assert_non_null(f); /* bob's invalidation left alice's entry alone */
    assert_true(strncmp(f->hash, "alice:apibench:cache:", 21) == 0);
    cache_tiered.close(alice);
    cache_tiered.close(alice2);
    cache_tiered.close(bob);

    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.redis_url = "redis://127.0.0.1:56379/0";
    cfg.l1_ttl_ms = 5000;
    cfg.l1_max_entries = 100;
    cfg.l2_static_ttl_s = 300;
    cfg.l2_dynamic_ttl_s = 30;
    cfg.redis_prefix = "a*:"; /* a glob character would leak into --scan patterns */
    char err[256] = "";
    assert_null(cache_tiered.open(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "invalid redis prefix"));
}

static void test_database_scopes_keys(void **state)
{
    (void)state;
    struct cache *a = open_cache_for("postgresql://app@127.0.0.1:55432/db_one");
    struct cache *a2 = open_cache_for("postgresql://app@127.0.0.1:55432/db_one");
    struct cache *b = open_cache_for("postgresql://app@127.0.0.1:55432/db_two");
    expect_get(a, "device:1", "k", NULL, NULL);
    put(a, "device:1", "k", "{\"db\":1}", CACHE_DYNAMIC);
    assert_int_equal(count_logged("HSET apibench:cache:"), 1);
    assert_false(logged("HSET apibench:cache:device:1")); /* scoped, not bare */
    expect_get(b, "device:1", "k", NULL, NULL);           /* another database: not shared */
    expect_get(a2, "device:1", "k", "{\"db\":1}", "l2");  /* the same database: shared */
    cache_tiered.invalidate(b, "device:1");               /* does not touch db_one's hash */
    expect_get(a2, "device:1", "k", "{\"db\":1}", "l1");
    int entries = 0;
    for (int i = 0; i < nstore; i++)
        entries += strcmp(store[i].name, "k") == 0;
    assert_int_equal(entries, 1); /* db_one's entry is still in L2 */
    cache_tiered.close(a);
    cache_tiered.close(a2);
    cache_tiered.close(b);
}

static void test_gzip_entry_is_stored_compressed_in_l2(void **state)
{
    (void)state;
    /* a body worth compressing and its gzip, as a gzip build's fill makes them */
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.gzip_level = 6;
    cfg.gzip_threshold = 1024;
    char err[64];
    assert_int_equal(encoder_gzip.init(&cfg, err, sizeof err), 0);
    char body[4096];
    size_t n = 0;
    for (int i = 0; n < sizeof body - 64; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "{\"device_id\":%d,\"t\":21.5},", i);
    struct cache_entry e = {.body = body, .len = n};
    assert_int_equal(encoder_gzip.precompress(body, n, &e.gzip, &e.gzip_len), 0);
    assert_non_null(e.gzip);
    assert_true(e.gzip_len < n / 2);

    struct cache *a = open_cache(), *b = open_cache();
    expect_get(a, "latest", "big", NULL, NULL);
    cache_tiered.put(a, "latest", "big", &e, CACHE_DYNAMIC);
    /* L2 holds the gzip form only */
    struct field *f = find_field("apibench:cache:latest", "big");
    assert_non_null(f);
    char *form = strstr(f->value, "|g|");
    assert_non_null(form);
    form += 3;
    assert_int_equal(f->len - (size_t)(form - f->value), e.gzip_len);
    assert_memory_equal(form, e.gzip, e.gzip_len);

    /* L1 keeps both forms; another instance inflates the L2 form once and keeps both too */
    struct cache *readers[] = {a, b, b};
    const char *levels[] = {"l1", "l2", "l1"};
    for (int i = 0; i < 3; i++) {
        struct cache_entry got;
        const char *lvl = NULL;
        assert_true(cache_tiered.get(readers[i], "latest", "big", &got, &lvl));
        assert_string_equal(lvl, levels[i]);
        assert_int_equal(got.len, n);
        assert_memory_equal(got.body, body, n);
        assert_int_equal(got.body[n], '\0');
        assert_int_equal(got.gzip_len, e.gzip_len);
        assert_memory_equal(got.gzip, e.gzip, e.gzip_len);
        cache_entry_free(&got);
    }
    free(e.gzip);
    cache_tiered.close(a);
    cache_tiered.close(b);
}

static void test_put_after_another_instances_invalidation_is_refused(void **state)
{
    (void)state;
    /* a's request misses and reads postgres; b's ingest commits and invalidates before a's
     * put, whose pub/sub message has not reached a yet: the L2 version tells a's put */
    struct cache *a = open_cache(), *b = open_cache();
    expect_get(a, "latest", "u1", NULL, NULL);
    cache_tiered.invalidate(b, "latest");
    put(a, "latest", "u1", "{\"stale\":true}", CACHE_DYNAMIC);
    assert_true(logged("CAS-FAIL apibench:cache:latest u1"));
    assert_null(find_field("apibench:cache:latest", "u1"));
    /* the next lookup reads the new version, and its put is stored */
    expect_get(a, "latest", "u1", NULL, NULL);
    put(a, "latest", "u1", "{\"fresh\":true}", CACHE_DYNAMIC);
    assert_non_null(find_field("apibench:cache:latest", "u1"));
    expect_get(b, "latest", "u1", "{\"fresh\":true}", "l2");
    cache_tiered.close(a);
    cache_tiered.close(b);
}

static void test_put_without_lookup_leaves_l2_alone(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    put(c, "device:2", "k", "{\"v\":2}", CACHE_DYNAMIC);
    assert_int_equal(ncmd, 0); /* no version was read: nothing to compare with */
    expect_get(c, "device:2", "k", "{\"v\":2}", "l1");
    cache_tiered.close(c);
}

static void test_bad_configuration(void **state)
{
    (void)state;
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.l1_ttl_ms = 5000;
    cfg.l1_max_entries = 100;
    cfg.l2_static_ttl_s = 300;
    cfg.l2_dynamic_ttl_s = 30;
    char err[256] = "";
    static const char *bad[] = {NULL,
                                "http://127.0.0.1:6379",
                                "redis://",
                                "redis://h:0/0",
                                "redis://h:99999",
                                "redis://h:6379/x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.redis_url = bad[i];
        err[0] = '\0';
        assert_null(cache_tiered.open(&cfg, err, sizeof err));
        assert_non_null(strstr(err, "redis url"));
    }
    cfg.redis_url = "redis://127.0.0.1:56379/0";
    cfg.l1_max_entries = 0;
    assert_null(cache_tiered.open(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "invalid cache settings"));
}

static void test_cache_none_counts_nothing(void **state)
{
    (void)state;
    char err[64];
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    struct cache *c = cache_none.open(&cfg, err, sizeof err);
    assert_non_null(c);
    struct cache_entry e = {.body = "{}", .len = 2};
    cache_none.put(c, "latest", "k", &e, CACHE_DYNAMIC);
    const char *level = "x";
    assert_false(cache_none.get(c, "latest", "k", &e, &level));
    assert_null(e.body);
    cache_none.invalidate(c, "latest");
    for (int i = 0; i < C__COUNT; i++)
        assert_int_equal(metrics_get((enum counter)i), 0);
    cache_none.close(c);
}

int main(void)
{
    main_thread = pthread_self();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_both_miss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_then_l1_hit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_writes_l2_with_class_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_l2_hit_fills_l1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_or_malformed_l2_field_is_a_miss, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalidate_sends_del_and_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_skipped_after_invalidation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_down_fails_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_dies_mid_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_scopes_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_prefix_separates_students, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_entry_is_stored_compressed_in_l2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_put_after_another_instances_invalidation_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_without_lookup_leaves_l2_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_configuration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_none_counts_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
