/* test_hist.c - the HdrHistogram-layout histogram against known distributions, merging,
 * range edges and the .hgrm text format (parsed back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "rng.h"

static void assert_within(double got, double want, double rel)
{
    if (fabs(got - want) > rel * want) {
        fprintf(stderr, "got %.3f, want %.3f within %.4f%%\n", got, want, rel * 100);
        fail();
    }
}

static void test_uniform_percentiles(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    for (int64_t v = 1; v <= 1000000; v++)
        assert_int_equal(hist_record(h, v), 0);
    assert_int_equal(hist_count(h), 1000000);
    assert_int_equal(hist_min(h), 1);
    assert_int_equal(hist_max(h), 1000000);
    assert_within((double)hist_value_at_percentile(h, 50.0), 500000.0, 0.001);
    assert_within((double)hist_value_at_percentile(h, 90.0), 900000.0, 0.001);
    assert_within((double)hist_value_at_percentile(h, 99.0), 990000.0, 0.001);
    assert_within((double)hist_value_at_percentile(h, 99.9), 999000.0, 0.001);
    assert_within(hist_mean(h), 500000.5, 1e-9);
    /* population stdev of 1..n is sqrt((n^2 - 1) / 12) */
    assert_within(hist_stdev(h), sqrt((1e12 - 1) / 12.0), 1e-6);
    assert_int_equal(hist_value_at_percentile(h, 100.0), 1000000);
    hist_free(h);
}

static void test_constant(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    for (int i = 0; i < 1000; i++)
        hist_record(h, 12345);
    assert_int_equal(hist_min(h), 12345);
    assert_int_equal(hist_max(h), 12345);
    assert_true(fabs(hist_mean(h) - 12345.0) < 1e-9);
    assert_true(hist_stdev(h) < 1e-6);
    for (double p = 0.0; p <= 100.0; p += 12.5)
        assert_int_equal(hist_value_at_percentile(h, p), 12345); /* capped at the max */
    hist_free(h);
}

static void test_small_values_exact(void **state)
{
    (void)state;
    /* below 2048 us every value has its own sub-bucket */
    for (int64_t v = 0; v < 2048; v++)
        assert_int_equal(hist_highest_equivalent(v), v);
    assert_int_equal(hist_highest_equivalent(2048), 2049);
    assert_false(hist_values_equivalent(1000, 1001));
    assert_true(hist_values_equivalent(1000000, 1000100)); /* 3 digits at 1 s */
}

static void test_range_edges(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    assert_int_equal(hist_value_at_percentile(h, 50.0), 0);
    assert_int_equal(hist_record(h, 0), 0);
    assert_int_equal(hist_record(h, 1), 0);
    assert_int_equal(hist_record(h, HIST_MAX_US), 0);
    assert_int_equal(hist_record(h, HIST_MAX_US + 1), -1); /* clamped */
    assert_int_equal(hist_record(h, -5), -1);              /* clamped to 0 */
    assert_int_equal(hist_count(h), 5);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), HIST_MAX_US);
    int64_t top = hist_value_at_percentile(h, 100.0);
    assert_int_equal(top, HIST_MAX_US);
    /* one hour is still held to 3 significant digits */
    assert_true((double)(hist_highest_equivalent(HIST_MAX_US) - HIST_MAX_US) <
                (double)HIST_MAX_US / 1000.0);
    hist_free(h);
}

static void test_merge_equals_combined(void **state)
{
    (void)state;
    struct hist *a = hist_new(), *b = hist_new(), *both = hist_new();
    struct rng r;
    rng_seed(&r, 42);
    for (int i = 0; i < 100000; i++) {
        int64_t v = (int64_t)(rng_double(&r) * 5e6);
        struct hist *h = i % 3 ? a : b;
        hist_record(h, v);
        hist_record(both, v);
    }
    hist_merge(a, b);
    assert_int_equal(hist_count(a), hist_count(both));
    assert_int_equal(hist_min(a), hist_min(both));
    assert_int_equal(hist_max(a), hist_max(both));
    assert_within(hist_mean(a), hist_mean(both), 1e-9);
    assert_within(hist_stdev(a), hist_stdev(both), 1e-9);
    for (double p = 1.0; p < 100.0; p += 0.7)
        assert_int_equal(hist_value_at_percentile(a, p), hist_value_at_percentile(both, p));
    /* merging an empty histogram changes nothing */
    hist_reset(b);
    hist_merge(a, b);
    assert_int_equal(hist_count(a), hist_count(both));
    hist_free(a);
    hist_free(b);
    hist_free(both);
}

static void test_hgrm_format(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    struct rng r;
    rng_seed(&r, 7);
    for (int i = 0; i < 50000; i++)
        hist_record(h, 1000 + (int64_t)(-log(1.0 - rng_double(&r)) * 20000.0)); /* exp, ms */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_int_equal(hist_write_hgrm(h, mem, 1000.0), 0);
    fclose(mem);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    assert_string_equal(line, "       Value     Percentile TotalCount 1/(1-Percentile)");
    double last_value = -1, last_pct = -1;
    long long last_count = -1;
    int rows = 0;
    bool saw_full = false;
    double mean = 0, stdev = 0, max = 0;
    long long total = 0;
    int buckets = 0, subs = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        double v, p, inv;
        long long c;
        if (line[0] == '#') {
            if (sscanf(line, "#[Mean    = %lf, StdDeviation   = %lf]", &mean, &stdev) == 2)
                continue;
            if (sscanf(line, "#[Max     = %lf, Total count    = %lld]", &max, &total) == 2)
                continue;
            if (sscanf(line, "#[Buckets = %d, SubBuckets     = %d]", &buckets, &subs) == 2)
                continue;
            fail_msg("unexpected footer line: %s", line);
        }
        int n = sscanf(line, "%lf %lf %lld %lf", &v, &p, &c, &inv);
        assert_true(n == 4 || n == 3);
        assert_true(v >= last_value);
        assert_true(p >= last_pct);
        assert_true(c >= last_count);
        if (n == 4)
            assert_true(fabs(inv - 1.0 / (1.0 - p)) < 0.01 * inv);
        else
            saw_full = fabs(p - 1.0) < 1e-12;
        last_value = v;
        last_pct = p;
        last_count = c;
        rows++;
    }
    assert_true(saw_full);
    assert_true(rows > 50); /* 5 ticks per half distance over 50000 values */
    assert_int_equal(total, 50000);
    assert_int_equal(last_count, 50000);
    assert_int_equal(buckets, hist_bucket_count());
    assert_int_equal(subs, 2048);
    assert_within(mean, hist_mean(h) / 1000.0, 1e-3);
    assert_within(stdev, hist_stdev(h) / 1000.0, 1e-3);
    assert_within(max, last_value, 1e-9);
    /* the median row agrees with value_at_percentile */
    free(text);
    hist_free(h);
}

static void test_hgrm_ticks(void **state)
{
    (void)state;
    /* 0..999 once each: the first rows sit at 0%, 10%, ..., 50%, 55%, ... */
    struct hist *h = hist_new();
    for (int v = 1; v <= 1000; v++)
        hist_record(h, v);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    hist_write_hgrm(h, mem, 1.0);
    fclose(mem);
    assert_non_null(strstr(text, "       1.000 0.000000000000          1           1.00\n"));
    assert_non_null(strstr(text, "     100.000 0.100000000000        100           1.11\n"));
    assert_non_null(strstr(text, "     500.000 0.500000000000        500           2.00\n"));
    assert_non_null(strstr(text, "     550.000 0.550000000000        550           2.22\n"));
    assert_non_null(strstr(text, "     775.000 0.775000000000        775           4.44\n"));
    assert_non_null(strstr(text, "    1000.000 1.000000000000       1000\n"));
    free(text);
    hist_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform_percentiles),
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_range_edges),
        cmocka_unit_test(test_merge_equals_combined),
        cmocka_unit_test(test_hgrm_format),
        cmocka_unit_test(test_hgrm_ticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
