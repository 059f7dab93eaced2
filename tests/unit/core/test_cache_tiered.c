/* test_cache_tiered.c - the L1+L2 cache with Redis replaced at the leaf (hiredis calls
 * wrapped with --wrap, see test_cache_tiered.wrap) by a small in-memory fake: L1 hits, L2
 * hits filling L1, misses, expired L2 fields, class TTLs, invalidation (DEL + PUBLISH), the
 * put skipped after an invalidation, and failing open when Redis is down or dies. */
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
#include "apibench/config.h"
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

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/* Runs one command against the store and queues its reply. */
int __wrap_redisAppendCommandArgv(redisContext *c, int argc, const char **argv,
                                  const size_t *argvlen)
{
    assert_int_equal(c->err, 0);
    size_t len[8];
    assert_true(argc <= 8);
    for (int i = 0; i < argc; i++)
        len[i] = argvlen ? argvlen[i] : strlen(argv[i]);
    /* log the command with its first three arguments (values are logged by length) */
    char *line = cmdlog[ncmd < 64 ? ncmd++ : 63];
    snprintf(line, 512, "%s", argv[0]);
    for (int i = 1; i < argc && i < 4; i++) {
        size_t used = strlen(line);
        if (strcmp(argv[0], "HSET") == 0 && i == 3)
            snprintf(line + used, 512 - used, " <%zu bytes>", len[i]);
        else
            snprintf(line + used, 512 - used, " %.*s", (int)len[i], argv[i]);
    }
    redisReply *r;
    if (strcmp(argv[0], "HGET") == 0) {
        struct field *f = find_field(argv[1], argv[2]);
        r = f ? reply_str(REDIS_REPLY_STRING, f->value, f->len) : reply_new(REDIS_REPLY_NIL);
    } else if (strcmp(argv[0], "HSET") == 0) {
        store_field(argv[1], argv[2], argv[3], len[3]);
        r = reply_int(1);
    } else if (strcmp(argv[0], "EXPIRE") == 0) {
        r = reply_int(1);
    } else if (strcmp(argv[0], "DEL") == 0) {
        int n = 0;
        for (int i = 0; i < nstore;) {
            if (strcmp(store[i].hash, argv[1]) == 0) {
                free(store[i].value);
                store[i] = store[--nstore];
                n = 1;
            } else {
                i++;
            }
        }
        r = reply_int(n);
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

static struct cache *open_cache_for(const char *database_url)
{
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.database_url = database_url;
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
    size_t len = 0;
    const char *lvl = NULL;
    char *got = cache_tiered.get(c, ns, key, &len, &lvl);
    if (!body) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_int_equal(len, strlen(body));
    assert_string_equal(got, body);
    assert_non_null(lvl);
    assert_string_equal(lvl, level);
    free(got);
}

static void seed_l2(const char *ns, const char *key, const char *body, int64_t expires_ms)
{
    char hash[128], value[512];
    snprintf(hash, sizeof hash, "apibench:cache:%s", ns);
    int n = snprintf(value, sizeof value, "%lld|%s", (long long)expires_ms, body);
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
    assert_true(logged("HGET apibench:cache:device:1 u1:/api/devices/1"));
    cache_tiered.close(c);
}

static void test_put_then_l1_hit(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    expect_get(c, "latest", "u1:limit=10", NULL, NULL);
    cache_tiered.put(c, "latest", "u1:limit=10", "{\"data\":[]}", 11, CACHE_DYNAMIC);
    int hgets = count_logged("HGET");
    expect_get(c, "latest", "u1:limit=10", "{\"data\":[]}", "l1");
    assert_int_equal(count_logged("HGET"), hgets); /* L1 answered: Redis not asked */
    assert_int_equal(metrics_get(C_CACHE_L1_HIT), 1);
    assert_int_equal(metrics_get(C_CACHE_L2_HIT), 0);
    cache_tiered.close(c);
}

static void test_put_writes_l2_with_class_ttl(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    int64_t before = wall_ms();
    cache_tiered.put(c, "device:7", "static", "{\"id\":7}", 8, CACHE_STATIC);
    cache_tiered.put(c, "device:7", "dynamic", "{\"r\":1}", 7, CACHE_DYNAMIC);
    int64_t after = wall_ms();
    assert_true(logged("HSET apibench:cache:device:7 static"));
    assert_true(logged("EXPIRE apibench:cache:device:7 300 NX"));
    assert_true(logged("EXPIRE apibench:cache:device:7 300 GT"));
    assert_true(logged("EXPIRE apibench:cache:device:7 30 NX"));

    struct field *f = find_field("apibench:cache:device:7", "static");
    assert_non_null(f);
    char *bar = strchr(f->value, '|');
    assert_non_null(bar);
    assert_string_equal(bar + 1, "{\"id\":7}");
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
    seed_l2("device:3", "u2:/api/devices/3", "{\"id\":3}", wall_ms() + 60000);
    expect_get(c, "device:3", "u2:/api/devices/3", "{\"id\":3}", "l2");
    assert_int_equal(metrics_get(C_CACHE_L1_MISS), 1);
    assert_int_equal(metrics_get(C_CACHE_L2_HIT), 1);
    int hgets = count_logged("HGET");
    expect_get(c, "device:3", "u2:/api/devices/3", "{\"id\":3}", "l1");
    assert_int_equal(count_logged("HGET"), hgets);
    assert_int_equal(metrics_get(C_CACHE_L1_HIT), 1);
    cache_tiered.close(c);
}

static void test_expired_or_malformed_l2_field_is_a_miss(void **state)
{
    (void)state;
    struct cache *c = open_cache();
    seed_l2("device:4", "k", "{\"old\":true}", wall_ms() - 1);
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
    cache_tiered.put(c, "device:5", "k", "{\"v\":1}", 7, CACHE_DYNAMIC);
    cache_tiered.put(c, "device:6", "k", "{\"v\":2}", 7, CACHE_DYNAMIC);
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
    cache_tiered.put(c, "latest", "u1", "{\"stale\":true}", 14, CACHE_DYNAMIC);
    assert_false(logged("HSET"));
    expect_get(c, "latest", "u1", NULL, NULL);
    /* the next request's put is stored */
    cache_tiered.put(c, "latest", "u1", "{\"fresh\":true}", 14, CACHE_DYNAMIC);
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
    cache_tiered.put(c, "device:8", "k", "{\"v\":8}", 7, CACHE_DYNAMIC);
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
    cache_tiered.put(c, "device:9", "k", "{\"v\":9}", 7, CACHE_DYNAMIC); /* a context is idle now */
    assert_int_equal(atomic_load(&live_contexts), 1);
    cache_tiered.invalidate(c, "device:9"); /* L1 dropped; L2 deleted */
    fail_next_reply = true;
    expect_get(c, "device:9", "k", NULL, NULL);
    assert_int_equal(metrics_get(C_CACHE_L2_ERROR), 1);
    assert_int_equal(atomic_load(&live_contexts), 0); /* the failed context was closed */
    cache_tiered.close(c);
}

static void test_database_scopes_keys(void **state)
{
    (void)state;
    struct cache *a = open_cache_for("postgresql://app@127.0.0.1:55432/db_one");
    struct cache *a2 = open_cache_for("postgresql://app@127.0.0.1:55432/db_one");
    struct cache *b = open_cache_for("postgresql://app@127.0.0.1:55432/db_two");
    cache_tiered.put(a, "device:1", "k", "{\"db\":1}", 8, CACHE_DYNAMIC);
    assert_int_equal(count_logged("HSET apibench:cache:"), 1);
    assert_false(logged("HSET apibench:cache:device:1")); /* scoped, not bare */
    expect_get(b, "device:1", "k", NULL, NULL);           /* another database: not shared */
    expect_get(a2, "device:1", "k", "{\"db\":1}", "l2");  /* the same database: shared */
    cache_tiered.invalidate(b, "device:1");               /* does not touch db_one's hash */
    expect_get(a2, "device:1", "k", "{\"db\":1}", "l1");
    assert_int_equal(nstore, 1); /* db_one's entry is still in L2 */
    cache_tiered.close(a);
    cache_tiered.close(a2);
    cache_tiered.close(b);
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
    cache_none.put(c, "latest", "k", "{}", 2, CACHE_DYNAMIC);
    size_t len;
    const char *level = "x";
    assert_null(cache_none.get(c, "latest", "k", &len, &level));
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
        cmocka_unit_test_setup_teardown(test_bad_configuration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_none_counts_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
