/* test_report_instances.c - the capacity against K block of summary.json, from a
 * hand-made scaling/ folder: brackets, invalidations summed over the instances' scrapes,
 * per second over the snapshots' window, nginx's CPU share; null without --instances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_instances.h"
#include "report_md.h"

static char dir[] = "/tmp/apibench-test-instances.XXXXXX";

static void put(const char *rel, const char *text)
{
    char path[512], sub[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    /* make the parent folders */
    for (char *p = strchr(path + strlen(dir) + 1, '/'); p; p = strchr(p + 1, '/')) {
        snprintf(sub, sizeof sub, "%.*s", (int)(p - path), path);
        mkdir(sub, 0700);
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Two instances scraped one after the other: each metric appears twice and adds up. */
static const char before2[] = "apibench_cache_invalidations_total 10\n"
                              "apibench_cache_invalidations_received_total 3\n"
                              "apibench_cache_invalidations_total 20\n"
                              "apibench_cache_invalidations_received_total 4\n";
static const char after2[] = "apibench_cache_invalidations_total 60\n"
                             "apibench_cache_invalidations_received_total 33\n"
                             "apibench_cache_invalidations_total 50\n"
                             "apibench_cache_invalidations_received_total 54\n";

static void test_block(void **state)
{
    const char *info = "scaling_builds=04-pool,../etc\nscaling_ks=1,2\nbalancer=nginx here\n";
    json_t *b, *points, *p2;
    (void)state;

    assert_non_null(mkdtemp(dir));
    put("scaling/04-pool/k1/status", "ok\n");
    put("scaling/04-pool/k1/capacity/capacity.json",
        "{\"lower\": 900, \"upper\": 1000, \"limited_by\": \"slo\", \"probes\": [1, 2, 3]}");
    put("scaling/04-pool/k1/metrics.before.prom", "apibench_cache_invalidations_total 5\n");
    put("scaling/04-pool/k1/metrics.after.prom", "apibench_cache_invalidations_total 15\n"
                                                 "apibench_cache_invalidations_received_total 0\n");
    put("scaling/04-pool/k2/status", "ok\n");
    put("scaling/04-pool/k2/capacity/capacity.json",
        "{\"lower\": 1800, \"upper\": 2000, \"limited_by\": \"slo\", \"probes\": [1]}");
    put("scaling/04-pool/k2/metrics.before.prom", before2);
    put("scaling/04-pool/k2/metrics.after.prom", after2);
    /* 10 s window, 2 cores, 100 ticks/s: 400 ticks = 4 CPU-s = 20% of the machine */
    put("scaling/04-pool/k2/snap.before", "wall_ns=1000000000\nclk_tck=100\ncores=2\n");
    put("scaling/04-pool/k2/snap.after", "wall_ns=11000000000\nclk_tck=100\ncores=2\n");
    put("scaling/04-pool/k2/balancer.ticks", "balancer_ticks=400\n");

    b = report_instances_block(dir, info);
    assert_true(json_is_object(b));
    assert_string_equal(json_string_value(json_object_get(b, "balancer")), "nginx here");
    /* a name other than the two measured builds is not a folder to read */
    assert_int_equal(json_array_size(json_object_get(b, "builds")), 1);
    points = json_object_get(json_array_get(json_object_get(b, "builds"), 0), "points");
    assert_int_equal(json_array_size(points), 2);
    assert_float_equal(json_number_value(report_path(json_array_get(points, 0), "capacity.lower")),
                       900, 1e-9);
    assert_int_equal(json_integer_value(report_path(json_array_get(points, 0), "capacity.probes")), 3);
    assert_float_equal(
        json_number_value(report_path(json_array_get(points, 0), "invalidations.received")), 0, 1e-9);
    /* no snapshots for k=1: no window, no rate, no CPU share */
    assert_true(json_is_null(json_object_get(json_array_get(points, 0), "balancer_cpu_pct")));
    p2 = json_array_get(points, 1);
    assert_int_equal(json_integer_value(json_object_get(p2, "k")), 2);
    assert_string_equal(json_string_value(json_object_get(p2, "status")), "ok");
    assert_float_equal(json_number_value(report_path(p2, "invalidations.sent")), 80, 1e-9);
    assert_float_equal(json_number_value(report_path(p2, "invalidations.received")), 80, 1e-9);
    assert_float_equal(json_number_value(report_path(p2, "invalidations.received_per_s")), 8, 1e-9);
    assert_float_equal(json_number_value(json_object_get(p2, "window_s")), 10, 1e-9);
    assert_float_equal(json_number_value(json_object_get(p2, "balancer_cpu_pct")), 20, 1e-9);

    /* the report's section: one row per k */
    {
        json_t *summary = json_pack("{s:O}", "scaling", b);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        report_instances_md(f, summary);
        fclose(f);
        assert_non_null(strstr(text, "## Capacity against K instances"));
        assert_non_null(strstr(text, "| 04-pool | 1 | [900, 1000] | slo | 3 | 10 | 0 |"));
        assert_non_null(strstr(text, "| 04-pool | 2 | [1800, 2000] | slo | 1 | 80 | 80 | 8.00 | 20.00% | ok |"));
        free(text);
        json_decref(summary);
    }
    json_decref(b);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_without_instances(void **state)
{
    json_t *b = report_instances_block("/nonexistent", "instances=1\n");
    json_t *summary;
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    (void)state;
    assert_true(json_is_null(b));
    summary = json_pack("{s:o}", "scaling", b);
    f = open_memstream(&text, &len);
    report_instances_md(f, summary);
    fclose(f);
    assert_int_equal(len, 0);
    free(text);
    json_decref(summary);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block),
        cmocka_unit_test(test_without_instances),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
