/* test_lab_stats.c - the Mann-Whitney U statistic and its exact lower tail against the
 * published tables (Mann and Whitney 1947, the cumulative probabilities for n = 3..5),
 * medians and speed-ups. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lab_stats.h"

static void assert_close(double got, double want)
{
    if (fabs(got - want) > 5e-4)
        fail_msg("got %.6f, want %.6f", got, want);
}

/* n1 = n2 = 5: P(U <= u) = 1, 2, 4, 7, 12, 19 orderings of 252. */
static void test_exact_5_5(void **state)
{
    (void)state;
    const double want[] = {0.0040, 0.0079, 0.0159, 0.0278, 0.0476, 0.0754};
    for (int u = 0; u < 6; u++)
        assert_close(lab_mann_whitney_p_lower(u, 5, 5), want[u]);
    /* symmetric about 12.5: exactly half the orderings have U <= 12 */
    assert_close(lab_mann_whitney_p_lower(12, 5, 5), 0.5);
    assert_close(lab_mann_whitney_p_lower(25, 5, 5), 1.0);
}

/* n1 = 3, n2 = 4 (35 orderings): 1, 2, 4, 7, 11 (Mann-Whitney's table for n = 4). */
static void test_exact_3_4(void **state)
{
    (void)state;
    const double want[] = {0.0286, 0.0571, 0.1143, 0.2000, 0.3143};
    for (int u = 0; u < 5; u++) {
        assert_close(lab_mann_whitney_p_lower(u, 3, 4), want[u]);
        assert_close(lab_mann_whitney_p_lower(u, 4, 3), want[u]); /* symmetric in the sizes */
    }
}

/* n1 = 2, n2 = 2: 6 orderings, U = 0, 1, 2 (twice), 3, 4. */
static void test_exact_2_2(void **state)
{
    (void)state;
    assert_close(lab_mann_whitney_p_lower(0, 2, 2), 1.0 / 6);
    assert_close(lab_mann_whitney_p_lower(1, 2, 2), 2.0 / 6);
    assert_close(lab_mann_whitney_p_lower(2, 2, 2), 4.0 / 6);
    assert_close(lab_mann_whitney_p_lower(2.5, 2, 2), 4.0 / 6); /* a tie rounds down */
    assert_close(lab_mann_whitney_p_lower(-1, 2, 2), 0.0);
}

static void test_u_statistic(void **state)
{
    (void)state;
    const double lower[] = {1, 2, 3, 4, 5}, higher[] = {6, 7, 8, 9, 10};
    assert_true(lab_mann_whitney_u(lower, 5, higher, 5) == 0.0);
    assert_true(lab_mann_whitney_u(higher, 5, lower, 5) == 25.0);
    const double a[] = {1, 5, 9}, b[] = {5, 6};
    /* 1: beats none; 5: ties 5 (0.5); 9: beats both (2) */
    assert_true(lab_mann_whitney_u(a, 3, b, 2) == 2.5);
    const double same[] = {3, 3, 3};
    assert_true(lab_mann_whitney_u(same, 3, same, 3) == 4.5);
}

static void test_median_and_speedups(void **state)
{
    (void)state;
    const double odd[] = {5, 1, 3}, even[] = {4, 1, 3, 2};
    assert_close(lab_median(odd, 3), 3.0);
    assert_close(lab_median(even, 4), 2.5);
    const double prev[] = {100, 90, 80}, lab[] = {10, 30, 40};
    double s[3];
    assert_true(lab_speedups(prev, lab, 3, s));
    assert_close(s[0], 10.0);
    assert_close(s[1], 3.0);
    assert_close(s[2], 2.0);
    const double zero[] = {10, 0, 1};
    assert_false(lab_speedups(prev, zero, 3, s));
}

/* The verdict's rules: share on the log scale, significance, a reference that must win. */
static void test_judge(void **state)
{
    (void)state;
    struct lab_judgement j;
    const double prev[] = {100, 110, 90, 105, 95};
    const double ref[] = {1, 1.1, 0.9, 1.05, 0.95}; /* 100x every round */
    const double ten[] = {10, 11, 9, 10.5, 9.5};    /* 10x: half of 100x on the log scale */
    const double five[] = {20, 22, 18, 21, 19};     /* 5x: 35% */
    const double same[] = {101, 108, 92, 104, 96};  /* the previous build again */
    assert_true(lab_judge(prev, ten, ref, 5, &j));
    assert_close(j.speedup_median, 10.0);
    assert_close(j.reference_speedup, 100.0);
    assert_close(j.share, 0.5);
    assert_true(j.significant);
    assert_close(j.p, 1.0 / 252);
    assert_true(j.pass);
    assert_true(lab_judge(prev, five, ref, 5, &j));
    assert_close(j.share, log(5.0) / log(100.0));
    assert_true(j.significant);
    assert_false(j.pass);
    assert_true(lab_judge(prev, same, ref, 5, &j));
    assert_false(j.significant);
    assert_false(j.pass);
    /* the lab equals the reference, but the reference did not beat the previous build */
    assert_true(lab_judge(prev, same, same, 5, &j));
    assert_false(j.reference_faster);
    assert_true(isnan(j.share));
    assert_false(j.pass);
    /* fast but not significant: two runs each cannot reach p < 0.05 (p >= 1/6) */
    assert_true(lab_judge(prev, ten, ref, 2, &j));
    assert_false(j.significant);
    assert_false(j.pass);
    const double zero[] = {0, 1, 1, 1, 1};
    assert_false(lab_judge(prev, zero, ref, 5, &j));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_5_5),           cmocka_unit_test(test_exact_3_4),
        cmocka_unit_test(test_exact_2_2),           cmocka_unit_test(test_u_statistic),
        cmocka_unit_test(test_median_and_speedups), cmocka_unit_test(test_judge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
