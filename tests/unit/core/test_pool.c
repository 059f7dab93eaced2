/* test_pool.c - the bounded pool through its connection ops (no PostgreSQL): acquire up
 * to max, waiting and timing out with 503, release waking a waiter, waiters served in
 * arrival order (a released connection or a freed slot is handed over), broken and stale
 * connections replaced, idle connections above min closed, and a database that is down
 * at start then comes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apibench/db.h"
#include "apibench/metrics.h"
#include "apibench/pool.h"

/* A fake database: connections are bare structs; opened_us holds the server "epoch" they
 * were opened in, so that a restart (epoch++) makes old ones unusable. */
struct fakedb {
    atomic_int connects, closes;
    atomic_bool down;
    atomic_long epoch;
    atomic_llong now_us;
};

static struct dbconn *fake_connect(void *arg, char *err, size_t errlen)
{
    struct fakedb *db = arg;
    if (atomic_load(&db->down)) {
        snprintf(err, errlen, "cannot connect to postgres: fake server is down");
        return NULL;
    }
    atomic_fetch_add(&db->connects, 1);
    struct dbconn *c = calloc(1, sizeof *c);
    c->opened_us = atomic_load(&db->epoch);
    return c;
}

static void fake_close(void *arg, struct dbconn *c)
{
    struct fakedb *db = arg;
    atomic_fetch_add(&db->closes, 1);
    free(c);
}

static bool fake_usable(void *arg, struct dbconn *c)
{
    struct fakedb *db = arg;
    return c->opened_us == atomic_load(&db->epoch);
}

static int64_t fake_now(void *arg)
{
    struct fakedb *db = arg;
    return atomic_load(&db->now_us);
}

static struct pool *open_pool(struct fakedb *db, int max, int min, int idle_ms, int timeout_ms,
                              bool reaper)
{
    struct pool_settings s = {.max = max,
                              .min = min,
                              .idle_ms = idle_ms,
                              .acquire_timeout_ms = timeout_ms,
                              .reaper_thread = reaper};
    struct pool_conn_ops ops = {.connect = fake_connect,
                                .close = fake_close,
                                .usable = fake_usable,
                                .now_us = reaper ? NULL : fake_now,
                                .arg = db};
    char err[256] = "";
    struct pool *p = pool_open_with(&s, &ops, err, sizeof err);
    assert_non_null(p);
    return p;
}

static struct dbconn *acquire_ok(struct pool *p)
{
    int status = 0;
    char err[256] = "";
    struct dbconn *c = pool_acquire(p, &status, err, sizeof err);
    if (!c)
        fail_msg("acquire failed: %d %s", status, err);
    return c;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_opens_min_and_reuses(void **state)
{
    (void)state;
    struct fakedb db = {0};
    struct pool *p = open_pool(&db, 4, 2, 30000, 50, false);
    struct pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.total, 2);
    assert_int_equal(st.idle, 2);
    assert_int_equal(db.connects, 2);
    /* acquire/release cycles reuse the same connection */
    struct dbconn *c1 = acquire_ok(p);
    pool_release(p, c1);
    struct dbconn *c2 = acquire_ok(p);
    assert_ptr_equal(c1, c2);
    pool_release(p, c2);
    assert_int_equal(db.connects, 2);
    pool_close(p);
    assert_int_equal(db.closes, 2);
}

static void test_acquire_up_to_max_then_timeout(void **state)
{
    (void)state;
    struct fakedb db = {0};
    struct pool *p = open_pool(&db, 3, 1, 30000, 50, false);
    struct dbconn *held[3];
    for (int i = 0; i < 3; i++)
        held[i] = acquire_ok(p);
    assert_ptr_not_equal(held[0], held[1]);
    assert_ptr_not_equal(held[1], held[2]);
    assert_int_equal(db.connects, 3);

    uint64_t waits = metrics_get(C_POOL_WAITS), timeouts = metrics_get(C_POOL_TIMEOUTS);
    int status = 0;
    char err[256] = "";
    assert_null(pool_acquire(p, &status, err, sizeof err));
    assert_int_equal(status, 503);
    assert_string_equal(err, "connection pool exhausted: waited 50 ms");
    assert_int_equal(metrics_get(C_POOL_WAITS) - waits, 1);
    assert_int_equal(metrics_get(C_POOL_TIMEOUTS) - timeouts, 1);
    assert_int_equal(db.connects, 3); /* never above max */
    struct pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.waiting, 0); /* the timed-out acquire left the queue */

    for (int i = 0; i < 3; i++)
        pool_release(p, held[i]);
    pool_get_stats(p, &st);
    assert_int_equal(st.idle, 3); /* nothing was handed to the departed waiter */
    pool_close(p);
    assert_int_equal(db.closes, 3);
}

struct waiter {
    struct pool *p;
    struct dbconn *got;
    int status;
};

static void *wait_for_connection(void *arg)
{
    struct waiter *w = arg;
    char err[256];
    w->got = pool_acquire(w->p, &w->status, err, sizeof err);
    return NULL;
}

static void test_release_wakes_waiter(void **state)
{
    (void)state;
    struct fakedb db = {0};
    struct pool *p = open_pool(&db, 1, 0, 30000, 60000, false);
    struct dbconn *c = acquire_ok(p);
    uint64_t timeouts = metrics_get(C_POOL_TIMEOUTS);

    struct waiter w = {.p = p};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_for_connection, &w), 0);
    struct pool_stats st;
    for (int i = 0; i < 5000; i++) { /* until the waiter is blocked (bounded) */
        pool_get_stats(p, &st);
        if (st.waiting == 1)
            break;
        sleep_ms(1);
    }
    assert_int_equal(st.waiting, 1);
    pool_release(p, c);
    pthread_join(t, NULL);
    assert_ptr_equal(w.got, c); /* it got the released connection, not a new one */
    assert_int_equal(db.connects, 1);
    assert_int_equal(metrics_get(C_POOL_TIMEOUTS), timeouts);
    pool_release(p, w.got);
    pool_close(p);
}

/* Blocks until the pool reports want waiters (bounded: fails after 5 s). */
static void await_waiting(struct pool *p, int want)
{
    struct pool_stats st;
    for (int i = 0; i < 5000; i++) {
        pool_get_stats(p, &st);
        if (st.waiting == want)
            return;
        sleep_ms(1);
    }
    fail_msg("the pool never had %d waiters (has %d)", want, st.waiting);
}

/* A client that acquires, writes its name in the hand-over order, holds the connection
 * until the gate opens, then releases it. */
struct queued_client {
    struct pool *p;
    char name;
    int status;
};
static char handover_order[8];
static atomic_int nhandovers;
static atomic_bool gate_open;

static void *queued_client_main(void *arg)
{
    struct queued_client *q = arg;
    char err[256];
    struct dbconn *c = pool_acquire(q->p, &q->status, err, sizeof err);
    if (!c)
        return NULL;
    handover_order[atomic_fetch_add(&nhandovers, 1)] = q->name;
    for (int i = 0; i < 5000 && !atomic_load(&gate_open); i++)
        sleep_ms(1);
    pool_release(q->p, c);
    return NULL;
}

/* Closes the gate and starts q[0] then q[1], each once the one before is waiting. */
static void queue_two_clients(struct pool *p, struct queued_client *q, pthread_t *t)
{
    atomic_store(&nhandovers, 0);
    atomic_store(&gate_open, false);
    memset(handover_order, 0, sizeof handover_order);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, queued_client_main, &q[i]), 0);
        await_waiting(p, i + 1);
    }
}

static void test_waiters_served_in_arrival_order(void **state)
{
    (void)state;
    struct fakedb db = {0};
    struct pool *p = open_pool(&db, 1, 0, 30000, 60000, false);
    struct dbconn *c = acquire_ok(p);
    struct queued_client q[3] = {{p, 'A', 0}, {p, 'B', 0}, {p, 'N', 0}};
    pthread_t t[3];
    queue_two_clients(p, q, t); /* A, then B, behind the one connection */

    /* The release hands the connection to A at once: it is not idle for a moment, so an
     * acquire arriving now cannot take it ahead of A (the old pool made it idle and
     * signalled, and whoever locked first won). */
    pool_release(p, c);
    struct pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.waiting, 1); /* B only: A is no longer waiting */

    /* N arrives after the release; it must queue behind B */
    assert_int_equal(pthread_create(&t[2], NULL, queued_client_main, &q[2]), 0);
    await_waiting(p, 2);
    atomic_store(&gate_open, true);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&nhandovers), 3);
    assert_memory_equal(handover_order, "ABN", 3);
    assert_int_equal(db.connects, 1); /* one connection, passed from hand to hand */
    pool_close(p);
}

/* A slot freed by a broken connection goes to the oldest waiter, who connects. */
static void test_freed_slot_goes_to_oldest_waiter(void **state)
{
    (void)state;
    struct fakedb db = {0};
    struct pool *p = open_pool(&db, 1, 0, 30000, 60000, false);
    struct dbconn *c = acquire_ok(p);
    struct queued_client q[2] = {{p, 'A', 0}, {p, 'B', 0}};
    pthread_t t[2];
    queue_two_clients(p, q, t);
    c->broken = true;
    pool_release(p, c); /* closed; its slot is A's */
    struct pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.total, 1); /* the slot stayed reserved for A */
    assert_int_equal(st.waiting, 1);
    atomic_store(&gate_open, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_memory_equal(handover_order, "AB", 2);
    assert_int_equal(db.connects, 2);
    assert_int_equal(db.closes, 1);
    pool_close(p);
}

static void test_broken_connection_is_replaced(void **state)
{
    (void)state;
    struct fakedb db = {0};
    struct pool *p = open_pool(&db, 1, 0, 30000, 50, false);
    struct dbconn *c = acquire_ok(p);
    c->broken = true; /* as db_query marks it when the connection dies */
    pool_release(p, c);
    assert_int_equal(db.closes, 1);
    struct pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.total, 0);
    struct dbconn *c2 = acquire_ok(p); /* the slot is free again: a new connection */
    assert_int_equal(db.connects, 2);
    assert_false(c2->broken);
    pool_release(p, c2);

    /* idle connections that went bad meanwhile (server restart) are replaced on acquire,
     * on the same slot, and counted */
    uint64_t dead = metrics_get(C_POOL_DEAD);
    atomic_fetch_add(&db.epoch, 1);
    struct dbconn *c3 = acquire_ok(p);
    assert_int_equal(db.closes, 2);
    assert_int_equal(db.connects, 3);
    assert_int_equal(c3->opened_us, 1);
    assert_int_equal(metrics_get(C_POOL_DEAD) - dead, 1);
    pool_get_stats(p, &st);
    assert_int_equal(st.total, 1);
    pool_release(p, c3);
    pool_close(p);
}

static void test_idle_above_min_closed(void **state)
{
    (void)state;
    struct fakedb db = {0};
    struct pool *p = open_pool(&db, 4, 1, 30000, 50, false);
    struct dbconn *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = acquire_ok(p);
    db.now_us = 1000000;
    for (int i = 0; i < 4; i++)
        pool_release(p, c[i]);

    db.now_us = 1000000 + 29999999; /* not idle long enough */
    pool_reap(p);
    struct pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.total, 4);
    assert_int_equal(db.closes, 0);

    db.now_us = 1000000 + 30000000;
    pool_reap(p);
    pool_get_stats(p, &st);
    assert_int_equal(st.total, 1); /* down to min */
    assert_int_equal(st.idle, 1);
    assert_int_equal(db.closes, 3);
    /* the one kept is the most recently released */
    struct dbconn *kept = acquire_ok(p);
    assert_ptr_equal(kept, c[3]);
    pool_release(p, kept);
    pool_close(p);
}

static void test_database_down_at_start_then_back(void **state)
{
    (void)state;
    struct fakedb db = {0};
    db.down = true;
    struct pool *p = open_pool(&db, 4, 2, 30000, 50, false); /* starts anyway */
    struct pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.total, 0);

    int status = 0;
    char err[256] = "";
    assert_null(pool_acquire(p, &status, err, sizeof err));
    assert_int_equal(status, 503);
    assert_non_null(strstr(err, "fake server is down"));
    pool_get_stats(p, &st);
    assert_int_equal(st.total, 0); /* the failed slot was given back */

    db.down = false;
    struct dbconn *c = acquire_ok(p);
    pool_release(p, c);
    pool_reap(p); /* refills to min */
    pool_get_stats(p, &st);
    assert_int_equal(st.total, 2);
    pool_close(p);
}

static void test_reaper_thread(void **state)
{
    (void)state;
    struct fakedb db = {0};
    struct pool *p = open_pool(&db, 3, 1, 60, 50, true); /* real clock, 60 ms idle */
    struct dbconn *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = acquire_ok(p);
    for (int i = 0; i < 3; i++)
        pool_release(p, c[i]);
    struct pool_stats st;
    for (int i = 0; i < 500; i++) { /* the reaper runs every 50 ms; give it up to 5 s */
        pool_get_stats(p, &st);
        if (st.total == 1)
            break;
        sleep_ms(10);
    }
    assert_int_equal(st.total, 1);
    pool_close(p);
    assert_int_equal(db.closes, 3);
}

static void test_invalid_settings(void **state)
{
    (void)state;
    struct fakedb db = {0};
    struct pool_settings s = {.max = 2, .min = 3, .idle_ms = 1000, .acquire_timeout_ms = 10};
    struct pool_conn_ops ops = {.connect = fake_connect, .close = fake_close, .arg = &db};
    char err[256] = "";
    assert_null(pool_open_with(&s, &ops, err, sizeof err));
    assert_non_null(strstr(err, "invalid pool settings"));
    s.min = 0;
    s.max = 0;
    assert_null(pool_open_with(&s, &ops, err, sizeof err));
    assert_int_equal(db.connects, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opens_min_and_reuses),
        cmocka_unit_test(test_acquire_up_to_max_then_timeout),
        cmocka_unit_test(test_release_wakes_waiter),
        cmocka_unit_test(test_waiters_served_in_arrival_order),
        cmocka_unit_test(test_freed_slot_goes_to_oldest_waiter),
        cmocka_unit_test(test_broken_connection_is_replaced),
        cmocka_unit_test(test_idle_above_min_closed),
        cmocka_unit_test(test_database_down_at_start_then_back),
        cmocka_unit_test(test_reaper_thread),
        cmocka_unit_test(test_invalid_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
