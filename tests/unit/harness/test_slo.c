/* test_slo.c - the --slo parser and checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "slo.h"

static void test_parse_full(void **state)
{
    (void)state;
    struct slo s;
    char err[256];
    assert_int_equal(
        slo_parse("p99<100ms,p50<=20ms,errors<0.1%,rate>95%,p99.9<2s,max<500us,rate>=900", &s, err,
                  sizeof err),
        0);
    assert_int_equal(s.n, 7);
    assert_int_equal(s.terms[0].metric, SLO_P99);
    assert_int_equal(s.terms[0].op, SLO_LT);
    assert_true(fabs(s.terms[0].threshold - 100.0) < 1e-9);
    assert_int_equal(s.terms[1].op, SLO_LE);
    assert_int_equal(s.terms[2].metric, SLO_ERRORS);
    assert_true(fabs(s.terms[2].threshold - 0.001) < 1e-12);
    assert_true(s.terms[3].relative);
    assert_true(fabs(s.terms[3].threshold - 0.95) < 1e-12);
    assert_int_equal(s.terms[4].metric, SLO_P999);
    assert_true(fabs(s.terms[4].threshold - 2000.0) < 1e-9);
    assert_true(fabs(s.terms[5].threshold - 0.5) < 1e-12);
    assert_false(s.terms[6].relative);
    assert_int_equal(s.terms[6].op, SLO_GE);
    assert_string_equal(s.terms[0].text, "p99<100ms");
}

static void test_parse_errors(void **state)
{
    (void)state;
    struct slo s;
    char err[256];
    const char *bad[] = {"",          "p99",    "p98<10ms", "p99<abc",  "p99<10parsecs", "errors<1",
                         "p99<10ms,", ",p99<1", "rate>95x", "p99<-1ms", "p99=10ms"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(slo_parse(bad[i], &s, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
        assert_null(strchr(err, '\n'));
    }
}

static void test_checks(void **state)
{
    (void)state;
    struct slo s;
    char err[256];
    assert_int_equal(slo_parse("p99<100ms,errors<0.1%,rate>95%", &s, err, sizeof err), 0);
    struct slo_observed obs = {
        .error_fraction = 0.0005, .achieved_rate = 990, .intended_rate = 1000};
    obs.latency_ms[SLO_P99] = 99.0;
    double v;
    assert_true(slo_term_passes(&s.terms[0], &obs, &v));
    assert_true(fabs(v - 99.0) < 1e-9);
    assert_true(slo_term_passes(&s.terms[1], &obs, &v));
    assert_true(slo_term_passes(&s.terms[2], &obs, &v));
    assert_true(fabs(v - 0.99) < 1e-9);
    obs.latency_ms[SLO_P99] = 100.0; /* strict < */
    assert_false(slo_term_passes(&s.terms[0], &obs, &v));
    obs.error_fraction = 0.002;
    assert_false(slo_term_passes(&s.terms[1], &obs, &v));
    obs.achieved_rate = 900;
    assert_false(slo_term_passes(&s.terms[2], &obs, &v));
    obs.intended_rate = 0; /* closed loop: a relative rate cannot pass */
    assert_false(slo_term_passes(&s.terms[2], &obs, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
