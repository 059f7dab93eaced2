/* test_results.c - the results document built from a synthetic run: counts, rates, error
 * rate, SLO verdicts, and the files written atomically (spectra + JSON, nothing left over). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"

static void fill(struct loadgen_result *lg)
{
    memset(lg, 0, sizeof *lg);
    for (int p = 0; p < LOADGEN_NPHASES; p++)
        loadgen_stats_init(&lg->phases[p]);
    struct loadgen_stats *st = &lg->phases[LOADGEN_MEASURED];
    st->due = 1000;
    st->sent = 1000;
    st->responses = 990;
    st->responses_in_window = 980;
    st->errors[LOADGEN_ERR_TIMEOUT] = 10;
    st->errors[LOADGEN_ERR_HTTP5XX] = 5;
    st->status_class[2] = 985;
    st->status_class[5] = 5;
    st->header_bytes = 1000;
    st->body_bytes_wire = 5000;
    st->body_bytes_decoded = 20000;
    for (int i = 1; i <= 990; i++) {
        hist_record(st->latency, i * 100); /* 0.1 .. 99 ms */
        hist_record(st->service, i * 10);
        hist_record(st->lag, i);
        hist_record(st->routes[MIX_LATEST].latency, i * 100);
    }
    st->routes[MIX_LATEST].sent = 1000;
    st->routes[MIX_LATEST].responses = 990;
    lg->phase_s[LOADGEN_WARMUP] = 1.0;
    lg->phase_s[LOADGEN_MEASURED] = 10.0;
    /* a timeline of 10 s: 100 due each second; second 3 has no latencies at all */
    lg->timeline_len = 10;
    lg->timeline = calloc(10, sizeof *lg->timeline);
    for (int i = 0; i < 10; i++) {
        if (i == 3)
            continue;
        lg->timeline[i] = (struct loadgen_second){.due = 100,
                                                  .responses = 99,
                                                  .errors = 1,
                                                  .latency_sum_us = 100 * 2000,
                                                  .latency_count = 100,
                                                  .latency_max_us = 9000};
    }
}

static json_t *build(struct loadgen_result *lg, const char *spec, struct slo *slo, bool *passed,
                     struct envinfo *env, json_t *config)
{
    char err[256];
    if (spec)
        assert_int_equal(slo_parse(spec, slo, err, sizeof err), 0);
    struct results_run r = {.label = "t",
                            .config = config,
                            .env = env,
                            .lg = lg,
                            .intended_rate = 100.0,
                            .started_at = "2026-01-01T00:00:00Z",
                            .finished_at = "2026-01-01T00:00:11Z",
                            .slo_spec = spec,
                            .slo = slo};
    return results_run_json(&r, passed);
}

static void test_document(void **state)
{
    (void)state;
    struct loadgen_result lg;
    fill(&lg);
    struct envinfo env;
    envinfo_collect(&env);
    assert_true(env.cores >= 1);
    json_t *config = json_pack("{s:s}", "target", "http://x");
    struct slo slo;
    bool passed;
    json_t *doc = build(&lg, "p99<100ms,errors<1%,rate>95%", &slo, &passed, &env, config);
    assert_false(passed); /* errors 1.5% and rate 98% of 100: one breach */
    assert_string_equal(json_string_value(json_object_get(doc, "format")), "apibench-run/1");
    assert_true(json_is_false(json_object_get(doc, "partial")));
    assert_true(fabs(json_real_value(json_object_get(doc, "achieved_rate")) - 98.0) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(doc, "error_rate")) - 0.015) < 1e-9);
    assert_int_equal(json_integer_value(json_object_get(doc, "bytes_received")), 6000);
    json_t *errors = json_object_get(doc, "errors");
    assert_int_equal(json_integer_value(json_object_get(errors, "total")), 15);
    assert_int_equal(json_integer_value(json_object_get(errors, "timeout")), 10);
    json_t *lat = json_object_get(doc, "latency");
    assert_int_equal(json_integer_value(json_object_get(lat, "count")), 990);
    assert_true(fabs(json_real_value(json_object_get(lat, "p50_ms")) - 49.5) < 0.1);
    assert_true(fabs(json_real_value(json_object_get(lat, "max_ms")) - 99.0) < 1e-9);
    json_t *breaches = json_object_get(json_object_get(doc, "slo"), "breaches");
    assert_int_equal(json_array_size(breaches), 1);
    assert_string_equal(json_string_value(json_array_get(breaches, 0)), "errors<1%");
    assert_non_null(json_object_get(json_object_get(doc, "routes"), "latest"));
    assert_null(json_object_get(json_object_get(doc, "routes"), "ingest"));
    /* decoded sizes: null unless the load decoded bodies */
    assert_true(json_is_null(json_object_get(json_object_get(doc, "bytes"), "body_decoded")));
    assert_non_null(json_object_get(doc, "latency_answered"));
    json_t *tl = json_object_get(doc, "timeline");
    assert_int_equal(json_array_size(tl), 10);
    json_t *s0 = json_array_get(tl, 0);
    assert_int_equal(json_integer_value(json_object_get(s0, "t_s")), 0);
    assert_int_equal(json_integer_value(json_object_get(s0, "due")), 100);
    assert_true(fabs(json_real_value(json_object_get(s0, "mean_ms")) - 2.0) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(s0, "max_ms")) - 9.0) < 1e-9);
    assert_true(json_is_null(json_object_get(json_array_get(tl, 3), "mean_ms")));
    json_decref(doc);
    lg.decoded = true;
    doc = build(&lg, NULL, &slo, &passed, &env, config);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(doc, "bytes"), "body_decoded")), 20000);
    lg.decoded = false;
    json_decref(doc);

    /* interrupted: partial */
    lg.interrupted = true;
    doc = build(&lg, NULL, &slo, &passed, &env, config);
    assert_true(passed);
    assert_true(json_is_true(json_object_get(doc, "partial")));
    assert_true(json_is_null(json_object_get(doc, "slo")));
    json_decref(doc);
    json_decref(config);
    loadgen_result_free(&lg);
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/apibench-test-results.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char base[256], err[256], path[300];
    snprintf(base, sizeof base, "%s/sub/run", dir);
    assert_int_equal(results_prepare_dir(base, err, sizeof err), 0);
    struct loadgen_result lg;
    fill(&lg);
    struct envinfo env;
    envinfo_collect(&env);
    json_t *config = json_object();
    struct slo slo;
    bool passed;
    json_t *doc = build(&lg, NULL, &slo, &passed, &env, config);
    struct results_run r = {
        .config = config, .env = &env, .lg = &lg, .started_at = "a", .finished_at = "b"};
    assert_int_equal(results_write_all(base, &r, doc, err, sizeof err), 0);
    const char *files[] = {"run.json",         "run.latency.hgrm",  "run.latency_answered.hgrm",
                           "run.service.hgrm", "run.send_lag.hgrm", "run.latest.latency.hgrm",
                           "run.latency.hlog", "run.latency_answered.hlog", "run.service.hlog",
                           "run.send_lag.hlog"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/sub/%s", dir, files[i]);
        assert_int_equal(access(path, R_OK), 0);
    }
    snprintf(path, sizeof path, "%s/sub", dir);
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        assert_null(strstr(e->d_name, ".tmp"));
        n++;
    }
    closedir(d);
    assert_int_equal(n, 10);
    snprintf(path, sizeof path, "%s/sub/run.json", dir);
    json_t *back = json_load_file(path, 0, NULL);
    assert_non_null(back);
    /* reals are written with 10 significant digits */
    assert_true(json_equal(json_object_get(back, "errors"), json_object_get(doc, "errors")));
    assert_int_equal(json_integer_value(json_object_get(back, "completed")), 990);
    double p99 = json_real_value(json_object_get(json_object_get(doc, "latency"), "p99_ms"));
    double p99_back = json_real_value(json_object_get(json_object_get(back, "latency"), "p99_ms"));
    assert_true(fabs(p99 - p99_back) < 1e-6 * p99);
    json_decref(back);
    /* an unwritable place fails with a message and leaves nothing */
    assert_int_equal(results_write_atomic("/proc/apibench-nope", "x", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot write /proc/apibench-nope"));
    json_decref(doc);
    json_decref(config);
    loadgen_result_free(&lg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
