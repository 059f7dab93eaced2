/* test_schedule.c - intended send times: exact constant spacing, the Poisson mean, and
 * determinism for a seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "schedule.h"

static void test_constant_exact(void **state)
{
    (void)state;
    struct schedule s;
    assert_int_equal(schedule_init(&s, SCHEDULE_CONSTANT, 1000.0, 5000, 1), 0);
    for (int64_t i = 0; i < 100000; i++)
        assert_int_equal(schedule_next(&s), 5000 + i * 1000000);
    /* 3 per second: n * 1e9 / 3 without drift after many requests */
    assert_int_equal(schedule_init(&s, SCHEDULE_CONSTANT, 3.0, 0, 1), 0);
    int64_t t = 0;
    for (int i = 0; i <= 300000; i++)
        t = schedule_next(&s);
    assert_int_equal(t, 100000LL * 1000000000LL);
}

static void test_rejects_bad_rate(void **state)
{
    (void)state;
    struct schedule s;
    assert_int_equal(schedule_init(&s, SCHEDULE_CONSTANT, 0.0, 0, 1), -1);
    assert_int_equal(schedule_init(&s, SCHEDULE_POISSON, -5.0, 0, 1), -1);
    assert_int_equal(schedule_init(&s, SCHEDULE_POISSON, NAN, 0, 1), -1);
    assert_int_equal(schedule_init(&s, SCHEDULE_POISSON, INFINITY, 0, 1), -1);
}

static void test_poisson_mean(void **state)
{
    (void)state;
    struct schedule s;
    const double rate = 2500.0;
    const int n = 200000;
    assert_int_equal(schedule_init(&s, SCHEDULE_POISSON, rate, 0, 12345), 0);
    int64_t prev = schedule_next(&s);
    assert_int_equal(prev, 0);
    double sum = 0, sumsq = 0;
    for (int i = 0; i < n; i++) {
        int64_t t = schedule_next(&s);
        double gap = (double)(t - prev);
        assert_true(gap >= 0);
        sum += gap;
        sumsq += gap * gap;
        prev = t;
    }
    double mean = sum / n, want = 1e9 / rate;
    assert_true(fabs(mean - want) < 0.02 * want);
    /* exponential: the standard deviation equals the mean */
    double sd = sqrt(sumsq / n - mean * mean);
    assert_true(fabs(sd - want) < 0.05 * want);
}

static void test_poisson_deterministic(void **state)
{
    (void)state;
    struct schedule a, b, c;
    schedule_init(&a, SCHEDULE_POISSON, 100.0, 77, 9);
    schedule_init(&b, SCHEDULE_POISSON, 100.0, 77, 9);
    schedule_init(&c, SCHEDULE_POISSON, 100.0, 77, 10);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t ta = schedule_next(&a), tb = schedule_next(&b), tc = schedule_next(&c);
        assert_int_equal(ta, tb);
        differ += ta != tc;
    }
    assert_true(differ > 900);
}

static void test_arrival_names(void **state)
{
    (void)state;
    enum schedule_arrival a;
    assert_int_equal(schedule_parse_arrival("poisson", &a), 0);
    assert_int_equal(a, SCHEDULE_POISSON);
    assert_string_equal(schedule_arrival_name(a), "poisson");
    assert_int_equal(schedule_parse_arrival("constant", &a), 0);
    assert_int_equal(a, SCHEDULE_CONSTANT);
    assert_int_equal(schedule_parse_arrival("bursty", &a), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_exact), cmocka_unit_test(test_rejects_bad_rate),
        cmocka_unit_test(test_poisson_mean),   cmocka_unit_test(test_poisson_deterministic),
        cmocka_unit_test(test_arrival_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
