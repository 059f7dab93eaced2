/* test_segment.c - segments of one run's load: the union of N segments' send times is
 * the unsegmented schedule (N = 1..7, constant and Poisson, with and without unequal
 * weights and generator threads), shares are disjoint, and bad specs are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "segment.h"

#define RUN_REQUESTS 5000
#define RATE 3000.0
#define START_NS 123456789LL

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The first RUN_REQUESTS send times of the whole run. */
static void whole_run(enum schedule_arrival arrival, int64_t *out)
{
    struct schedule s;
    assert_int_equal(schedule_init(&s, arrival, RATE, START_NS, 42), 0);
    for (int i = 0; i < RUN_REQUESTS; i++)
        out[i] = schedule_next(&s);
}

/* Collects every send time below `limit` that segment (of count, weights) with `threads`
 * threads sends, appending to out at *n. */
static void collect_segment(enum schedule_arrival arrival, const char *spec, const char *weights,
                            int threads, int64_t limit, int64_t *out, int *n)
{
    static struct segment seg;
    char err[256];
    assert_int_equal(segment_parse(spec, weights, &seg, err, sizeof err), 0);
    for (int t = 0; t < threads; t++) {
        struct schedule s;
        assert_int_equal(schedule_init(&s, arrival, RATE, START_NS, 42), 0);
        schedule_set_share(&s, &seg, t, threads);
        for (;;) {
            int64_t when = schedule_next(&s);
            if (when > limit)
                break;
            assert_true(*n < RUN_REQUESTS);
            out[(*n)++] = when;
        }
    }
}

/* The union of all segments' sends equals the whole run's, element for element. */
static void check_union(enum schedule_arrival arrival, int count, bool weighted, int threads)
{
    int64_t *want = malloc(RUN_REQUESTS * sizeof *want);
    int64_t *got = malloc(RUN_REQUESTS * sizeof *got);
    whole_run(arrival, want);
    int64_t limit = want[RUN_REQUESTS - 1];
    char weights[256] = "";
    for (int i = 0; weighted && i < count; i++)
        snprintf(weights + strlen(weights), sizeof weights - strlen(weights), "%s%d",
                 i ? "," : "", 1 + (i * 7) % 5);
    int n = 0;
    for (int i = 0; i < count; i++) {
        char spec[32];
        snprintf(spec, sizeof spec, "%d/%d", i, count);
        collect_segment(arrival, spec, weighted ? weights : NULL, threads, limit, got, &n);
    }
    assert_int_equal(n, RUN_REQUESTS);
    qsort(got, (size_t)n, sizeof *got, cmp_i64);
    for (int i = 0; i < RUN_REQUESTS; i++)
        if (got[i] != want[i])
            fail_msg("%s, %d segments%s, %d threads: send %d is %lld, want %lld",
                     schedule_arrival_name(arrival), count, weighted ? " (weighted)" : "",
                     threads, i, (long long)got[i], (long long)want[i]);
    free(want);
    free(got);
}

static void test_union_constant(void **state)
{
    (void)state;
    for (int count = 1; count <= 7; count++) {
        check_union(SCHEDULE_CONSTANT, count, false, 1);
        check_union(SCHEDULE_CONSTANT, count, false, 3);
        check_union(SCHEDULE_CONSTANT, count, true, 2);
    }
}

static void test_union_poisson(void **state)
{
    (void)state;
    for (int count = 1; count <= 7; count++) {
        check_union(SCHEDULE_POISSON, count, false, 1);
        check_union(SCHEDULE_POISSON, count, false, 3);
        check_union(SCHEDULE_POISSON, count, true, 2);
    }
}

/* Equal weights stripe: segment i of n sends requests i, i+n, ... exactly. */
static void test_equal_segments_stripe(void **state)
{
    (void)state;
    struct segment seg;
    char err[256];
    assert_int_equal(segment_parse("2/5", NULL, &seg, err, sizeof err), 0);
    for (uint64_t k = 0; k < 1000; k++)
        assert_int_equal(segment_owns(&seg, k), k % 5 == 2);
    struct schedule s;
    assert_int_equal(schedule_init(&s, SCHEDULE_CONSTANT, 1000.0, 0, 1), 0);
    schedule_set_share(&s, &seg, 0, 1);
    for (int64_t j = 0; j < 100; j++)
        assert_int_equal(schedule_next(&s), (2 + 5 * j) * 1000000);
}

/* Weights 2,1,1: segment 0 owns half of every cycle of 4, interleaved with the others
 * (smooth weighted round robin gives the cycle 0,1,2,0). */
static void test_weighted_share(void **state)
{
    (void)state;
    struct segment seg;
    char err[256];
    assert_int_equal(segment_parse("0/3", "2,1,1", &seg, err, sizeof err), 0);
    int owned = 0;
    for (uint64_t k = 0; k < 4000; k++)
        owned += segment_owns(&seg, k);
    assert_int_equal(owned, 2000);
    static const int cycle[] = {0, 1, 2, 0};
    for (int k = 0; k < 4; k++)
        assert_int_equal(seg.owner[k], cycle[k]);
    assert_true(segment_fraction(&seg) == 0.5);
}

static void test_connection_shares_sum(void **state)
{
    (void)state;
    char err[256];
    static const char *const seqs[] = {NULL, "3,1,1,2,5,1,1"};
    for (int q = 0; q < 2; q++)
        for (int total = 7; total <= 40; total++) {
            int sum = 0;
            for (int i = 0; i < 7; i++) {
                struct segment seg;
                char spec[16];
                snprintf(spec, sizeof spec, "%d/7", i);
                assert_int_equal(segment_parse(spec, seqs[q], &seg, err, sizeof err), 0);
                int share = segment_share(&seg, total);
                assert_true(share >= 0);
                sum += share;
            }
            assert_int_equal(sum, total);
        }
}

static void test_rejects_bad_specs(void **state)
{
    (void)state;
    struct segment seg;
    char err[256];
    static const char *const bad[] = {"", "1", "2/2", "-1/2", "0/0", "1/65", "a/b", "0/2x", "1/2/3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(segment_parse(bad[i], NULL, &seg, err, sizeof err), -1);
    assert_int_equal(segment_parse("0/3", "1,1", &seg, err, sizeof err), -1);
    assert_non_null(strstr(err, "2 weights for 3 segments"));
    assert_int_equal(segment_parse("0/2", "1,0", &seg, err, sizeof err), -1);
    assert_int_equal(segment_parse("0/2", "1,,1", &seg, err, sizeof err), -1);
    assert_int_equal(segment_parse("0/2", "9999,2", &seg, err, sizeof err), -1);
    assert_int_equal(segment_parse("1/2", "3,1", &seg, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_union_constant),
        cmocka_unit_test(test_union_poisson),
        cmocka_unit_test(test_equal_segments_stripe),
        cmocka_unit_test(test_weighted_share),
        cmocka_unit_test(test_connection_shares_sum),
        cmocka_unit_test(test_rejects_bad_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
