/* test_report.c - the reproduction's summary and report, from a hand-made results folder
 * (data/run_fixture: fictional figures chosen so that every derived number is easy to
 * check by hand) and a golden report (data/report_golden.md).
 * Regenerate the golden file after an intended change of the report with:
 *   APIBENCH_UPDATE_GOLDEN=1 build/tests/unit_harness_test_report */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apibench/strbuf.h"
#include "compare_runs.h"
#include "hist.h"
#include "report_md.h"
#include "report_prom.h"
#include "report_summary.h"

#define FIXTURE APIBENCH_TEST_DATA "/run_fixture"
#define GOLDEN APIBENCH_TEST_DATA "/report_golden.md"

static json_t *summary;

static int load_fixture(void **state)
{
    char err[256];
    (void)state;
    summary = report_summary_build(FIXTURE, err, sizeof err);
    if (summary == NULL)
        fprintf(stderr, "fixture: %s\n", err);
    return summary ? 0 : -1;
}

static int free_fixture(void **state)
{
    (void)state;
    json_decref(summary);
    return 0;
}

static const json_t *build(const char *name)
{
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(summary, "builds"), i,
                       b) if (strcmp(json_string_value(json_object_get(b, "build")), name) ==
                              0) return b;
    fail_msg("no build %s in the summary", name);
    return NULL;
}

static double at(const json_t *obj, const char *path)
{
    json_t *x = report_path(obj, path);
    if (!json_is_number(x))
        fail_msg("%s is not a number", path);
    return json_number_value(x);
}

/* Element i of the array arr as a number. */
static double item(const json_t *arr, size_t i)
{
    json_t *x = json_array_get(arr, i);
    if (!json_is_number(x))
        fail_msg("element %zu is not a number", i);
    return json_number_value(x);
}

static void test_prom_sums_matching_series(void **state)
{
    const char *text = "# HELP x y\n"
                       "apibench_cache_lookups_total{level=\"l1\",result=\"hit\"} 3\n"
                       "apibench_cache_lookups_total{result=\"hit\",level=\"l2\"} 4\n"
                       "apibench_cache_lookups_total{level=\"l1\",result=\"miss\"} 5\n"
                       "apibench_cache_lookups_totally 100\n"
                       "http_requests_total{route=\"latest\",status=\"200\"} 10\n"
                       "http_requests_total{route=\"metrics\",status=\"200\"} 7\n"
                       "broken{level=\"l1\" 9\n"
                       "apibench_cache_lookups_total{level=\"l1\",result=\"hit\"} 2\n";
    static const char *const own[] = {"metrics", NULL};
    double sum;
    (void)state;

    assert_int_equal(
        report_prom_sum(text, "apibench_cache_lookups_total", "level=\"l1\",result=\"hit\"", &sum),
        2);
    assert_true(sum == 5); /* two scrapes' series add up */
    assert_int_equal(report_prom_sum(text, "apibench_cache_lookups_total", "result=\"hit\"", &sum),
                     3);
    assert_true(sum == 9);
    assert_int_equal(report_prom_sum(text, "apibench_cache_lookups_total", NULL, &sum), 4);
    assert_true(sum == 14);
    assert_int_equal(report_prom_sum(text, "absent_total", NULL, &sum), 0);
    assert_true(sum == 0);
    assert_int_equal(report_prom_sum_except(text, "http_requests_total", "route", own, &sum), 1);
    assert_true(sum == 10);
}

static void test_percentile_nearest_rank(void **state)
{
    double v[] = {900, 310, 330, 320};
    (void)state;
    assert_true(report_percentile(v, 4, 50) == 320);
    assert_true(report_percentile(v, 4, 99) == 900);
    assert_true(report_percentile(v, 4, 0) == 310);
    assert_true(isnan(report_percentile(v, 0, 50)));
}

/* The report's percentiles and the histograms' follow one rule for every sample size: with
 * 60 values p99 is the second largest, with 49 the largest. Values under 2048 us are exact
 * in the histogram, so both must return the same value. */
static void test_percentile_one_definition(void **state)
{
    static const double pcts[] = {0, 50, 90, 99, 99.9, 100};
    (void)state;
    for (int n = 1; n <= 250; n++) {
        struct hist *h = hist_new();
        double *v = malloc((size_t)n * sizeof *v);
        assert_non_null(v);
        for (int i = 0; i < n; i++) {
            v[i] = (double)((i * 37) % n + 1); /* 1..n, shuffled */
            hist_record(h, (int64_t)v[i]);
        }
        for (size_t k = 0; k < sizeof pcts / sizeof pcts[0]; k++)
            assert_true(report_percentile(v, (size_t)n, pcts[k]) ==
                        (double)hist_value_at_percentile(h, pcts[k]));
        free(v);
        hist_free(h);
    }
    double sixty[60];
    for (int i = 0; i < 60; i++)
        sixty[i] = i + 1;
    assert_true(report_percentile(sixty, 60, 99) == 59);
    double fortynine[49];
    for (int i = 0; i < 49; i++)
        fortynine[i] = i + 1;
    assert_true(report_percentile(fortynine, 49, 99) == 49);
    assert_int_equal(hist_percentile_rank(99, 60), 59);
    assert_int_equal(hist_percentile_rank(99, 50), 50);
    assert_int_equal(hist_percentile_rank(99, 49), 49);
    assert_int_equal(hist_percentile_rank(50, 0), 0);
}

static void test_step_holds(void **state)
{
    json_t *ok =
        json_pack("{s:f,s:f,s:f,s:i,s:i,s:{s:f}}", "intended_rate", 10.0, "measured_s", 10.0,
                  "error_rate", 0.0, "sent", 100, "completed", 96, "latency", "p99_ms", 400.0);
    json_t *slow = json_deep_copy(ok), *lost = json_deep_copy(ok), *unsent = json_deep_copy(ok);
    (void)state;
    json_object_set_new(json_object_get(slow, "latency"), "p99_ms", json_real(600));
    json_object_set_new(lost, "completed", json_integer(94));
    json_object_set_new(unsent, "sent", json_integer(90));
    json_object_set_new(unsent, "completed", json_integer(90));
    assert_true(report_step_holds(ok, 500));
    assert_false(report_step_holds(slow, 500));
    assert_false(report_step_holds(lost, 500));
    assert_false(report_step_holds(unsent, 500));
    json_decref(ok);
    json_decref(slow);
    json_decref(lost);
    json_decref(unsent);
}

static void test_summary_figures(void **state)
{
    const json_t *base = build("01-baseline"), *cache = build("03-cache");
    const json_t *async = build("06-async"), *gzip = build("05-gzip");
    (void)state;

    assert_string_equal(json_string_value(json_object_get(summary, "format")),
                        "apibench-summary/2");
    /* 300 queries and 20 connections over 20 API requests (metrics/healthz excluded) */
    assert_true(at(base, "db_queries_per_request.server") == 15);
    assert_true(at(base, "db_queries_per_request.pg_stat_statements") == 15);
    assert_true(json_is_true(report_path(base, "db_queries_per_request.agree")));
    assert_true(at(base, "connections_opened_per_request") == 1);
    /* l1 15 hits 5 misses; l2 2 hits 3 misses */
    assert_true(fabs(at(cache, "cache_hit_rate.l1") - 0.75) < 1e-9);
    assert_true(fabs(at(cache, "cache_hit_rate.l2") - 0.40) < 1e-9);
    assert_true(fabs(at(cache, "cache_hit_rate.overall") - 0.85) < 1e-9);
    /* 40 ticks at 100 Hz over 5 s on 2 cores = 4% of the machine */
    assert_true(fabs(at(base, "cpu.server_pct") - 4.0) < 1e-9);
    assert_true(fabs(at(base, "cpu.postgres_pct") - 10.0) < 1e-9);
    /* 0.4 s server + 1 s Postgres over 20 requests */
    assert_true(fabs(at(base, "cpu.total_us_per_request") - 70000) < 1e-6);
    /* 200000 rendered, 60000 sent over 20 requests */
    assert_true(at(async, "bytes_per_response.rendered") == 10000);
    assert_true(at(async, "bytes_per_response.sent") == 3000);
    assert_true(at(async, "jobs.latency_p50_ms") == 320);
    assert_true(at(async, "jobs.latency_p99_ms") == 900);
    /* headline sample: 150 queries over 10 headline requests, both counters */
    assert_true(at(base, "headline_sample.db_queries_per_request.server") == 15);
    assert_true(at(base, "headline_sample.db_queries_per_request.pg_stat_statements") == 15);
    assert_string_equal(json_string_value(json_object_get(cache, "verify")),
                        "failed: FAIL fixture check");
    /* Server-Timing: two samples, db 10 and 20 */
    assert_true(at(base, "server_timing_ms.db") == 15);
    assert_string_equal(json_string_value(json_object_get(gzip, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(gzip, "reason")),
                        "exited with status 1 before /healthz answered");
    assert_true(at(gzip, "repeats") == 0);
    assert_true(json_is_null(report_path(gzip, "capacity.lower")));
    assert_true(json_is_null(report_path(gzip, "article_load.latency_ms.mean")));
    assert_true(at(summary, "calibration.rps") == 4);
    assert_true(fabs(at(summary, "plans.with_timestamp_index.execution_ms") - 30.25) < 1e-9);
    assert_string_equal(
        json_string_value(report_path(summary, "plans.with_timestamp_index.readings_node")),
        "Index Scan Backward using readings_timestamp_idx on readings");
}

/* Two repeats: medians (the mean of the two), min-max ranges, one entry per repeat. */
static void test_summary_repeats(void **state)
{
    const json_t *base = build("01-baseline"), *cache = build("03-cache");
    const json_t *per = json_object_get(base, "per_repeat");
    (void)state;

    assert_true(at(base, "repeats") == 2);
    assert_true(at(base, "latency_ms.mean") == 2100); /* 2000 and 2200 */
    assert_true(at(base, "latency_ms.p99") == 3200);  /* 3000 and 3400 */
    assert_true(item(report_path(base, "range.mean_ms"), 0) == 2000);
    assert_int_equal(json_array_size(per), 2);
    assert_true(at(json_array_get(per, 1), "common.mean_ms") == 2200);
    assert_true(at(json_array_get(per, 1), "repeat") == 2);
    assert_true(at(cache, "article_load.latency_ms.mean") == 4); /* 3 and 5 */
    assert_true(item(report_path(cache, "article_load.range.p99_ms"), 1) == 30);
}

/* The article's load: a build that cannot hold it (timeouts, backlog, a growing timeline)
 * and one that does; CPU per request. */
static void test_summary_article_load(void **state)
{
    const json_t *base = build("01-baseline"), *cache = build("03-cache");
    const json_t *tl = report_path(base, "article_load.timeline");
    (void)state;

    assert_true(json_is_false(report_path(base, "article_load.held")));
    assert_true(json_is_true(report_path(cache, "article_load.held")));
    assert_true(at(base, "article_load.offered_rps") == 167);
    assert_true(at(base, "article_load.achieved_rps") == 10);
    assert_true(at(base, "article_load.errors.timeout") == 84);
    assert_true(at(base, "article_load.errors.backlog") == 1800);
    assert_true(fabs(at(base, "article_load.errors.rate") - 1884.0 / 2004) < 1e-9);
    /* failed requests are in the latency count: 120 answered + 1884 failed */
    assert_true(at(base, "article_load.latency_count") == 2004);
    assert_true(at(base, "article_load.latency_answered_ms.p99") == 25000);
    /* server 0.6 s (process_cpu_seconds_total) and Postgres 21.6 s over 120 requests in 12 s */
    assert_true(fabs(at(base, "article_load.cpu.server_us_per_request") - 5000) < 1e-6);
    assert_true(fabs(at(base, "article_load.cpu.postgres_us_per_request") - 180000) < 1e-6);
    assert_true(fabs(at(base, "article_load.cpu.postgres_pct") - 90) < 1e-9);
    /* the timeline: element-wise medians of the repeats (growth 2000 and 2200 ms/s) */
    assert_int_equal(json_array_size(tl), 12);
    assert_true(at(json_array_get(tl, 11), "mean_ms") == 2000 + 2100 * 11);
}

static void test_summary_capacity(void **state)
{
    const json_t *base = build("01-baseline"), *cache = build("03-cache");
    const json_t *async = build("06-async");
    (void)state;

    /* no search: it failed the SLO at the common rate, so below 4 req/s */
    assert_true(at(base, "capacity.lower") == 0);
    assert_true(at(base, "capacity.upper") == 4);
    assert_string_equal(json_string_value(report_path(base, "capacity.limited_by")), "slo");
    /* [800, 830] and [760, 790]: medians 780 and 810, ranges over repeats */
    assert_true(at(cache, "capacity.lower") == 780);
    assert_true(at(cache, "capacity.upper") == 810);
    assert_true(item(report_path(cache, "capacity.range.lower"), 0) == 760);
    assert_true(item(report_path(cache, "capacity.range.upper"), 1) == 830);
    assert_true(json_is_true(report_path(cache, "capacity.confirmed")));
    assert_int_equal(json_array_size(report_path(cache, "capacity.probes")), 16);
    assert_true(at(json_array_get(report_path(cache, "capacity.probes"), 8), "repeat") == 2);
    /* at the generator's ceiling: an open bracket */
    assert_true(at(async, "capacity.lower") == 20000);
    assert_true(json_is_null(report_path(async, "capacity.upper")));
    assert_string_equal(json_string_value(report_path(async, "capacity.limited_by")), "generator");
    /* the generator's own limits and the CPU placement */
    assert_true(at(summary, "generator.ceiling_rps.identity") == 25000);
    assert_true(at(summary, "generator.ceiling_rps.gzip") == 20000);
    assert_true(at(summary, "generator.ceiling.gzip.upper") == 20900);
    assert_true(at(summary, "generator.floor_ms.article.p99") == 0.8);
    assert_true(at(summary, "generator.floor_ms.common.count") == 20);
    assert_true(at(summary, "generator.body_bytes.identity") == 19500);
    assert_string_equal(json_string_value(report_path(summary, "cpu_placement.mode")), "shared");
}

/* A results folder of the older layout (no repeat-K, generator/, article or capacity
 * files) still gives a summary and a report, with n/a for what it lacks. */
static void test_older_folder_gives_na(void **state)
{
    char dir[] = "/tmp/apibench-test-report-XXXXXX", path[256], err[256], *md = NULL;
    size_t len = 0;
    json_t *s, *b;
    FILE *f;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/run.info", dir);
    f = fopen(path, "w");
    fputs("id=old\nbuilds=01-baseline\ncommon_rate=2\nslo_p99_ms=500\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/builds", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/builds/01-baseline", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/builds/01-baseline/status", dir);
    f = fopen(path, "w");
    fputs("ok\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/builds/01-baseline/load.json", dir);
    f = fopen(path, "w");
    fputs("{\"intended_rate\": 2, \"achieved_rate\": 2, \"measured_s\": 5, \"sent\": 10, "
          "\"completed\": 10, \"error_rate\": 0, \"latency\": {\"count\": 10, "
          "\"mean_ms\": 7, \"p99_ms\": 9}}",
          f);
    fclose(f);

    s = report_summary_build(dir, err, sizeof err);
    assert_non_null(s);
    b = json_array_get(json_object_get(s, "builds"), 0);
    assert_true(at(b, "latency_ms.mean") == 7);
    assert_true(at(b, "repeats") == 1);
    assert_true(json_is_null(report_path(b, "article_load.latency_ms.mean")));
    assert_true(json_is_null(report_path(b, "capacity.lower"))); /* it held: no bracket known */
    assert_true(json_is_null(report_path(s, "generator.ceiling_rps.identity")));
    f = open_memstream(&md, &len);
    assert_int_equal(report_md_write(s, f), 0);
    fclose(f);
    assert_non_null(strstr(md, "identity n/a (not measured)"));
    assert_non_null(strstr(md, "| Capacity under the SLO (req/s) | n/a |"));
    free(md);
    json_decref(s);
    remove(path);
    snprintf(path, sizeof path, "%s/builds/01-baseline/status", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/builds/01-baseline", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/builds", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/run.info", dir);
    remove(path);
    rmdir(dir);
}

static void test_queries_mismatch_is_flagged(void **state)
{
    char err[256], *md = NULL;
    size_t len = 0;
    json_t *s = report_summary_build(FIXTURE, err, sizeof err);
    json_t *b = json_array_get(json_object_get(s, "builds"), 0);
    FILE *f;
    (void)state;

    json_object_set_new(json_object_get(b, "db_queries_per_request"), "agree", json_false());
    f = open_memstream(&md, &len);
    assert_int_equal(report_md_write(s, f), 0);
    fclose(f);
    assert_non_null(strstr(md, "**Mismatch (whole mix):** 01-baseline"));
    free(md);
    json_decref(s);
}

static void test_compare_lists_differences_and_ratios(void **state)
{
    json_t *b = json_deep_copy(summary);
    json_t *lat =
        report_path(json_array_get(json_object_get(b, "builds"), 0), "article_load.latency_ms");
    char *md = NULL, unlike[256];
    size_t len = 0;
    FILE *f = open_memstream(&md, &len);
    (void)state;

    json_object_set_new(json_object_get(b, "run"), "hostname", json_string("other-host"));
    json_object_set_new(lat, "mean",
                        json_real(json_number_value(json_object_get(lat, "mean")) * 2));
    assert_int_equal(compare_unlike(summary, b, unlike, sizeof unlike), 0);
    assert_int_equal(compare_md_write(summary, "A", b, "B", f), 0);
    fclose(f);
    assert_non_null(strstr(md, "- hostname: A \"fixture-host\", B \"other-host\""));
    assert_null(strstr(md, "- kernel:")); /* equal keys are not listed */
    assert_null(strstr(md, "Unlike runs"));
    assert_non_null(strstr(
        md, "| 167 req/s: response time mean (ms) | 01-baseline | 21500.0 | 43000.0 | 2.00 |"));
    assert_non_null(
        strstr(md, "| Capacity lower bound (req/s) | 03-cache | 780.00 | 780.00 | 1.00 |"));
    assert_non_null(
        strstr(md, "| 167 req/s: response time mean (ms) | 05-gzip | n/a | n/a | n/a |"));
    assert_null(strstr(md, "| Response time mean (ms) |")); /* the common rate is not compared */
    free(md);
    json_decref(b);
}

/* Runs of another scale or mix are unlike: named, and (when forced) listed at the top. */
static void test_compare_names_unlike_runs(void **state)
{
    json_t *b = json_deep_copy(summary);
    char *md = NULL, unlike[256];
    size_t len = 0;
    FILE *f = open_memstream(&md, &len);
    (void)state;

    json_object_set_new(json_object_get(b, "run"), "scale", json_real(10));
    json_object_set_new(json_object_get(b, "run"), "mix", json_string("other.json"));
    assert_int_equal(compare_unlike(summary, b, unlike, sizeof unlike), 2);
    assert_non_null(strstr(unlike, "scale (A 1.0, B 10.0)"));
    assert_non_null(strstr(unlike, "mix (A \"harness/mixes/default.json\", B \"other.json\")"));
    assert_int_equal(compare_md_write(summary, "A", b, "B", f), 0);
    fclose(f);
    assert_non_null(strstr(md, "**Unlike runs, compared with --force:** scale"));
    free(md);
    json_decref(b);
}

/* put_file DIR REL TEXT: writes DIR/REL (its folder must exist). */
static void put_file(const char *dir, const char *rel, const char *text)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* An interrupted run (scripts/reproduce on Ctrl-C): run.info says partial and why, one build
 * died (status "dead: ..." and last_log.txt), one was interrupted, one never ran. The summary
 * keeps each status, the report says PARTIAL and shows the dead build's last log lines, and
 * `apibench compare` lists all of it. */
static void test_partial_run_with_dead_build(void **state)
{
    char dir[] = "/tmp/apibench-test-report-XXXXXX", sub[512], err[256], *md = NULL;
    size_t len = 0;
    json_t *s, *b;
    FILE *f;
    (void)state;

    assert_non_null(mkdtemp(dir));
    put_file(dir, "run.info",
             "id=cut\nbuilds=02-indexes,03-cache,04-pool\npartial=1\n"
             "interrupted=SIGINT during 03-cache: capacity search\nslo_p99_ms=500\n");
    snprintf(sub, sizeof sub, "%s/builds", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(sub, sizeof sub, "%s/builds/02-indexes", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(sub, sizeof sub, "%s/builds/03-cache", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    put_file(dir, "builds/02-indexes/status",
             "dead: instance 0 (pid 42) killed by signal 9 (SIGKILL) during the load\n");
    put_file(dir, "builds/02-indexes/last_log.txt",
             "apibench-02-indexes: listening on http://127.0.0.1:18702\nlast words\n");
    put_file(dir, "builds/03-cache/status", "interrupted: during 03-cache: capacity search\n");

    s = report_summary_build(dir, err, sizeof err);
    assert_non_null(s);
    assert_true(json_is_true(report_path(s, "run.partial")));
    assert_string_equal(json_string_value(report_path(s, "run.interrupted")),
                        "SIGINT during 03-cache: capacity search");
    b = json_array_get(json_object_get(s, "builds"), 0);
    assert_string_equal(json_string_value(json_object_get(b, "status")), "dead");
    assert_string_equal(json_string_value(json_object_get(b, "reason")),
                        "instance 0 (pid 42) killed by signal 9 (SIGKILL) during the load");
    assert_int_equal(json_array_size(json_object_get(b, "last_log")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "last_log"), 1)),
                        "last words");
    b = json_array_get(json_object_get(s, "builds"), 1);
    assert_string_equal(json_string_value(json_object_get(b, "status")), "interrupted");
    b = json_array_get(json_object_get(s, "builds"), 2);
    assert_string_equal(json_string_value(json_object_get(b, "status")), "not-run");

    f = open_memstream(&md, &len);
    assert_int_equal(report_md_write(s, f), 0);
    fclose(f);
    assert_non_null(strstr(md, "**PARTIAL RUN.**"));
    assert_non_null(strstr(md, "Interrupted by SIGINT during 03-cache: capacity search."));
    assert_non_null(strstr(md, "- 02-indexes: dead: instance 0 (pid 42) killed by signal 9"));
    assert_non_null(strstr(md, "Its last log lines:\n\n      apibench-02-indexes: listening"));
    assert_non_null(strstr(md, "      last words\n"));
    assert_non_null(strstr(md, "- 03-cache: interrupted: during 03-cache: capacity search"));
    free(md);

    md = NULL;
    f = open_memstream(&md, &len);
    assert_int_equal(compare_md_write(summary, "A", s, "B", f), 0);
    fclose(f);
    assert_non_null(strstr(md, "- B is a **partial run** (interrupted by SIGINT during 03-cache"));
    assert_non_null(strstr(md, "- B 02-indexes: dead: instance 0"));
    assert_non_null(strstr(md, "- B 04-pool: not-run"));
    free(md);
    json_decref(s);
    assert_int_equal(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static void test_report_matches_golden(void **state)
{
    char *md = NULL, *golden;
    size_t len = 0;
    FILE *f = open_memstream(&md, &len);
    (void)state;

    assert_int_equal(report_md_write(summary, f), 0);
    fclose(f);
    if (getenv("APIBENCH_UPDATE_GOLDEN")) {
        FILE *g = fopen(GOLDEN, "w");
        assert_non_null(g);
        fputs(md, g);
        fclose(g);
    }
    golden = strbuf_read_file(GOLDEN, NULL);
    assert_non_null(golden);
    assert_string_equal(md, golden);
    free(golden);
    free(md);
}

/* Numbers no run writes (found by tests/fuzz/fuzz_results.c): converting them to integers
 * was undefined; now they count as absent. Run under UBSan (float-cast-overflow). */
static void test_out_of_range_numbers(void **state)
{
    char dir[] = "/tmp/apibench-test-report-XXXXXX", path[512], err[256], *md = NULL;
    size_t len = 0;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/builds", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/builds/01-baseline", dir);
    mkdir(path, 0755);
    put_file(dir, "run.info", "builds=01-baseline\nrepeat=1e300\nslo_p99_ms=nan\n");
    put_file(dir, "builds/01-baseline/status", "ok\n");
    put_file(dir, "builds/01-baseline/load.json",
             "{\"intended_rate\": 2, \"due\": -1e300, \"sent\": 1e300, \"completed\": 1e300, "
             "\"latency\": {\"count\": 1e300, \"p99_ms\": 1}}");
    json_t *s = report_summary_build(dir, err, sizeof err);
    assert_non_null(s);
    assert_true(at(json_array_get(json_object_get(s, "builds"), 0), "repeats") == 1);
    FILE *f = open_memstream(&md, &len);
    assert_int_equal(report_md_write(s, f), 0);
    fclose(f);
    free(md);
    json_decref(s);
    static const char *const files[] = {"builds/01-baseline/load.json",
                                        "builds/01-baseline/status", "builds/01-baseline",
                                        "builds", "run.info"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
}

/* A build name that is no folder name (found by tests/fuzz/fuzz_results.c: a byte that is
 * not UTF-8 made json_pack fail, and the report then read a NULL status). */
static void test_bad_build_names(void **state)
{
    char dir[] = "/tmp/apibench-test-report-XXXXXX", path[512], err[256];
    (void)state;
    assert_non_null(mkdtemp(dir));
    put_file(dir, "run.info", "builds=01-basel\x92ne,../x,.hidden,\nrepeat=1\n");
    json_t *s = report_summary_build(dir, err, sizeof err);
    assert_non_null(s);
    json_t *builds = json_object_get(s, "builds");
    assert_int_equal(json_array_size(builds), 3); /* the empty name is no token */
    for (size_t i = 0; i < json_array_size(builds); i++) {
        json_t *b = json_array_get(builds, i);
        assert_string_equal(json_string_value(json_object_get(b, "status")), "failed");
        assert_string_equal(json_string_value(json_object_get(b, "reason")),
                            "bad build name in run.info");
    }
    json_decref(s);
    snprintf(path, sizeof path, "%s/run.info", dir);
    remove(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_sums_matching_series),
        cmocka_unit_test(test_percentile_nearest_rank),
        cmocka_unit_test(test_percentile_one_definition),
        cmocka_unit_test(test_step_holds),
        cmocka_unit_test(test_summary_figures),
        cmocka_unit_test(test_summary_repeats),
        cmocka_unit_test(test_summary_article_load),
        cmocka_unit_test(test_summary_capacity),
        cmocka_unit_test(test_older_folder_gives_na),
        cmocka_unit_test(test_out_of_range_numbers),
        cmocka_unit_test(test_bad_build_names),
        cmocka_unit_test(test_queries_mismatch_is_flagged),
        cmocka_unit_test(test_compare_lists_differences_and_ratios),
        cmocka_unit_test(test_compare_names_unlike_runs),
        cmocka_unit_test(test_partial_run_with_dead_build),
        cmocka_unit_test(test_report_matches_golden),
    };
    return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
