/* test_ttlmap.c - the L1 map: TTL with an injected clock, LRU eviction at the bound,
 * namespace invalidation, and a multi-threaded smoke test (run it under ASan/TSan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/ttlmap.h"

static int64_t fake_now_ms;

static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now_ms;
}

/* Gets (ns, key) and checks it is body, or a miss when body is NULL. */
static void expect_get(struct ttlmap *m, const char *ns, const char *key, const char *body)
{
    size_t len = 12345;
    char *got = ttlmap_get(m, ns, key, &len);
    if (!body) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_int_equal(len, strlen(body));
    assert_string_equal(got, body);
    free(got);
}

static void put(struct ttlmap *m, const char *ns, const char *key, const char *body)
{
    ttlmap_put(m, ns, key, body, strlen(body), 0, ttlmap_generation(m, ns));
}

static void test_put_get_and_replace(void **state)
{
    (void)state;
    fake_now_ms = 1000;
    struct ttlmap *m = ttlmap_new(100, 5000, fake_clock, NULL);
    expect_get(m, "latest", "u1?limit=10", NULL);
    put(m, "latest", "u1?limit=10", "{\"a\":1}");
    expect_get(m, "latest", "u1?limit=10", "{\"a\":1}");
    expect_get(m, "latest", "u1?limit=11", NULL);
    expect_get(m, "device:1", "u1?limit=10", NULL);
    /* the separator keeps ("ab","c") apart from ("a","bc") */
    put(m, "ab", "c", "x");
    expect_get(m, "a", "bc", NULL);
    /* replacing keeps one entry */
    put(m, "latest", "u1?limit=10", "{\"a\":2}");
    expect_get(m, "latest", "u1?limit=10", "{\"a\":2}");
    assert_int_equal(ttlmap_count(m), 2);
    /* an empty body is a hit, not a miss */
    put(m, "latest", "empty", "");
    expect_get(m, "latest", "empty", "");
    ttlmap_free(m);
}

static void test_ttl_expiry(void **state)
{
    (void)state;
    fake_now_ms = 0;
    struct ttlmap *m = ttlmap_new(100, 5000, fake_clock, NULL);
    put(m, "latest", "k", "body");
    fake_now_ms = 4999;
    expect_get(m, "latest", "k", "body");
    fake_now_ms = 5000;
    expect_get(m, "latest", "k", NULL);
    assert_int_equal(ttlmap_count(m), 0); /* the expired entry was freed */

    /* a shorter TTL is honoured, a longer one is capped at the map's */
    fake_now_ms = 10000;
    ttlmap_put(m, "latest", "short", "s", 1, 1000, ttlmap_generation(m, "latest"));
    ttlmap_put(m, "latest", "long", "l", 1, 60000, ttlmap_generation(m, "latest"));
    fake_now_ms = 10999;
    expect_get(m, "latest", "short", "s");
    fake_now_ms = 11000;
    expect_get(m, "latest", "short", NULL);
    expect_get(m, "latest", "long", "l");
    fake_now_ms = 15000;
    expect_get(m, "latest", "long", NULL);
    ttlmap_free(m);
}

static void test_lru_eviction_at_bound(void **state)
{
    (void)state;
    fake_now_ms = 0;
    struct ttlmap *m = ttlmap_new(3, 5000, fake_clock, NULL);
    put(m, "n", "a", "A");
    put(m, "n", "b", "B");
    put(m, "n", "c", "C");
    expect_get(m, "n", "a", "A"); /* a is now the most recently used: b is the oldest */
    put(m, "n", "d", "D");
    assert_int_equal(ttlmap_count(m), 3);
    expect_get(m, "n", "b", NULL);
    expect_get(m, "n", "a", "A");
    expect_get(m, "n", "c", "C");
    expect_get(m, "n", "d", "D");
    /* replacing an existing key evicts nothing */
    put(m, "n", "c", "C2");
    expect_get(m, "n", "a", "A");
    expect_get(m, "n", "d", "D");
    expect_get(m, "n", "c", "C2");
    ttlmap_free(m);
}

static void test_sharded_map_stays_bounded(void **state)
{
    (void)state;
    fake_now_ms = 0;
    struct ttlmap *m = ttlmap_new(1000, 5000, fake_clock, NULL);
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        put(m, "latest", key, "0123456789");
    }
    size_t n = ttlmap_count(m);
    assert_true(n <= 1000 + 15);                     /* per-shard bound rounds up */
    assert_true(n >= 500);                           /* and the shards are used, not one of them */
    expect_get(m, "latest", "k19999", "0123456789"); /* the newest survives */
    expect_get(m, "latest", "k0", NULL);             /* the oldest is gone */
    ttlmap_free(m);
}

static void test_byte_bound(void **state)
{
    (void)state;
    fake_now_ms = 0;
    struct ttlmap *m = ttlmap_new(100, 5000, fake_clock, NULL); /* one shard */
    ttlmap_set_max_bytes(m, 4000);
    char body[1001];
    memset(body, 'x', 1000);
    body[1000] = '\0';
    char key[16];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "k%d", i);
        put(m, "n", key, body);
        assert_true(ttlmap_bytes(m) <= 4000);
    }
    assert_int_equal(ttlmap_count(m), 3); /* 3 bodies of 1000 bytes plus bookkeeping fit */
    expect_get(m, "n", "k9", body);
    expect_get(m, "n", "k6", NULL); /* the least recently used went first */
    /* a body larger than the whole budget is not cached, and evicts nothing */
    char *huge = malloc(5000);
    memset(huge, 'y', 4999);
    huge[4999] = '\0';
    put(m, "n", "huge", huge);
    expect_get(m, "n", "huge", NULL);
    assert_int_equal(ttlmap_count(m), 3);
    free(huge);
    /* replacing an entry gives its bytes back */
    put(m, "n", "k9", "small");
    expect_get(m, "n", "k9", "small");
    assert_true(ttlmap_bytes(m) < 3000);
    ttlmap_free(m);
}

static void test_namespace_invalidation(void **state)
{
    (void)state;
    fake_now_ms = 0;
    struct ttlmap *m = ttlmap_new(100, 5000, fake_clock, NULL);
    put(m, "device:1", "a", "1a");
    put(m, "device:1", "b", "1b");
    put(m, "device:2", "a", "2a");
    uint64_t before = ttlmap_generation(m, "device:1");
    ttlmap_invalidate(m, "device:1");
    assert_int_not_equal(ttlmap_generation(m, "device:1"), before);
    expect_get(m, "device:1", "a", NULL);
    expect_get(m, "device:1", "b", NULL);
    expect_get(m, "device:2", "a", "2a");
    /* data read before the invalidation (old generation) is not stored */
    ttlmap_put(m, "device:1", "a", "old", 3, 0, before);
    expect_get(m, "device:1", "a", NULL);
    put(m, "device:1", "a", "new");
    expect_get(m, "device:1", "a", "new");
    ttlmap_invalidate_all(m);
    expect_get(m, "device:1", "a", NULL);
    expect_get(m, "device:2", "a", NULL);
    ttlmap_free(m);
}

/* --- concurrency smoke: every body names its key, so a torn or mixed-up entry shows */

struct worker_arg {
    struct ttlmap *m;
    int id;
    int hits;
    int bad; /* wrong bodies seen (checked in the main thread: cmocka asserts are not thread-safe)
              */
};

static void *worker(void *p)
{
    struct worker_arg *w = p;
    char key[32], body[64];
    unsigned seed = (unsigned)w->id * 7919u + 1u;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % 300);
        const char *ns = (k % 3) ? "latest" : "device:7";
        snprintf(key, sizeof key, "key-%d", k);
        snprintf(body, sizeof body, "body-of-%s-%d", ns, k);
        size_t len;
        char *got = ttlmap_get(w->m, ns, key, &len);
        if (got) {
            if (strcmp(got, body) != 0 || len != strlen(body))
                w->bad++;
            free(got);
            w->hits++;
        } else {
            ttlmap_put(w->m, ns, key, body, strlen(body), 0, ttlmap_generation(w->m, ns));
        }
        if (i % 997 == 0)
            ttlmap_invalidate(w->m, "device:7");
    }
    return NULL;
}

static void test_concurrent_smoke(void **state)
{
    (void)state;
    struct ttlmap *m = ttlmap_new(256, 60000, NULL, NULL); /* real clock, sharded */
    enum { NTHREADS = 4 };
    pthread_t t[NTHREADS];
    struct worker_arg args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (struct worker_arg){.m = m, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    }
    int hits = 0, bad = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        hits += args[i].hits;
        bad += args[i].bad;
    }
    assert_int_equal(bad, 0);
    assert_true(hits > 0);
    assert_true(ttlmap_count(m) <= 256);
    ttlmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_and_replace),
        cmocka_unit_test(test_ttl_expiry),
        cmocka_unit_test(test_lru_eviction_at_bound),
        cmocka_unit_test(test_sharded_map_stays_bounded),
        cmocka_unit_test(test_byte_bound),
        cmocka_unit_test(test_namespace_invalidation),
        cmocka_unit_test(test_concurrent_smoke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
