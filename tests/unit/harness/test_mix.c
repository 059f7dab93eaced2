/* test_mix.c - mix files: parsing and rejection, determinism for a seed, route shares,
 * Zipf skew, request shapes and the API keys derived from the dataset seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "mix.h"
#include "seed_keys.h"

#define NOW_MS 1795000000000LL

static const char *const shipped[] = {"default", "headline", "reports"};

static struct mix *load_shipped(const char *name)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/harness/mixes/%s.json", APIBENCH_SOURCE_DIR, name);
    struct mix *m = mix_load(path, err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    return m;
}

static void test_shipped_mixes_load(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
        struct mix *m = load_shipped(shipped[i]);
        assert_true(mix_route_share(m, MIX_LATEST) >= 0.8);
        assert_true(mix_user_count(m) >= 1);
        char want[40];
        assert_int_equal(seed_api_key(1, mix_user_id(m, 0), want), 0);
        assert_string_equal(mix_user_key(m, 0), want);
        mix_free(m);
    }
}

/* ingest.json: mostly 100-reading batches, spread over many devices, plus headline reads. */
static void test_ingest_mix(void **state)
{
    (void)state;
    struct mix *m = load_shipped("ingest");
    assert_true(mix_route_share(m, MIX_INGEST) >= 0.75);
    assert_true(mix_route_share(m, MIX_LATEST) > 0.0);
    struct rng r;
    rng_seed(&r, 1);
    struct mix_request req = {0};
    static bool seen[10001];
    int ingests = 0, devices = 0;
    for (int i = 0; i < 2000; i++) {
        mix_next(m, &r, NOW_MS, &req);
        if (req.route != MIX_INGEST)
            continue;
        ingests++;
        int dev = 0;
        assert_int_equal(sscanf(req.path, "/api/devices/%d/readings", &dev), 1);
        assert_true(dev >= 1 && dev <= 10000);
        devices += !seen[dev];
        seen[dev] = true;
        int rows = 0;
        for (const char *p = req.body.data; (p = strstr(p, "\"timestamp\"")); p++)
            rows++;
        assert_int_equal(rows, 100);
    }
    assert_true(ingests > 1400);
    assert_true(devices > ingests / 2); /* no hot device: few repeats */
    strbuf_free(&req.body);
    mix_free(m);
}

static void expect_error(const char *json, const char *fragment)
{
    char err[512] = "";
    struct mix *m = mix_parse(json, "t.json", err, sizeof err);
    if (m) {
        mix_free(m);
        fail_msg("accepted: %s", json);
    }
    if (!strstr(err, fragment))
        fail_msg("error '%s' lacks '%s'", err, fragment);
    assert_null(strchr(err, '\n'));
}

static void test_rejects(void **state)
{
    (void)state;
    expect_error("{\"routes\": [{\"route\": \"lastest\", \"weight\": 1}]}",
                 "unknown route 'lastest'");
    expect_error("{\"routes\": [{\"route\": \"latest\", \"weight\": 1}", "malformed mix t.json");
    expect_error("[1, 2]", "top level");
    expect_error("{\"routes\": []}", "non-empty");
    expect_error("{\"routes\": [{\"route\": \"latest\"}]}", "weight");
    expect_error("{\"routes\": [{\"route\": \"latest\", \"weight\": -1}]}", "weight");
    expect_error("{\"routes\": [{\"route\": \"latest\", \"weight\": 0}]}", "add up to 0");
    expect_error("{\"routes\": [{\"route\": \"latest\", \"weight\": 1, \"limit\": 0}]}", "limit");
    expect_error("{\"rootes\": []}", "unknown key");
    expect_error("{\"devices\": {\"min\": 10, \"max\": 5}, \"routes\": [{\"route\": \"device\", "
                 "\"weight\": 1}]}",
                 "device range");
    /* found by tests/fuzz/fuzz_mix.c: a bad user after one that made the dataset's
     * generator leaked it (LeakSanitizer in the ASan build) */
    expect_error("{\"dataset_seed\": 2, \"dataset_scale\": 1, \"users\": [2, {\"id\": 3, "
                 "\"device_min\": 0}], \"routes\": [{\"route\": \"latest\", \"weight\": 1}]}",
                 "device_min");
    /* found by tests/fuzz/fuzz_mix.c: three users over 1e8 ids took 12 s and 2.4 GB */
    expect_error("{\"users\": [{\"id\": 1, \"device_min\": 1, \"device_max\": 6000000}, "
                 "{\"id\": 2, \"device_min\": 2, \"device_max\": 6000000}], "
                 "\"routes\": [{\"route\": \"latest\", \"weight\": 1}]}",
                 "more than 10000000 ids");
    expect_error("{\"devices\": {\"min\": 1, \"max\": 10000001}, \"routes\": [{\"route\": "
                 "\"device\", \"weight\": 1}]}",
                 "device range");
    expect_error("{\"routes\": [{\"route\": \"latest\", \"weight\": 1}, {\"route\": \"latest\", "
                 "\"weight\": 1}]}",
                 "twice");
    expect_error("{\"routes\": [{\"route\": \"report\", \"weight\": 1, \"kind\": \"planet\"}]}",
                 "kind");
    expect_error("{\"users\": [0], \"routes\": [{\"route\": \"latest\", \"weight\": 1}]}", "user");
    char err[256];
    assert_null(mix_load("/nonexistent/mix.json", err, sizeof err));
    assert_non_null(strstr(err, "cannot read mix /nonexistent/mix.json"));
}

static const char *const sample =
    "{\"dataset_seed\": 3, \"users\": [1, {\"id\": 2, \"device_min\": 100, \"device_max\": 199}],"
    " \"api_keys\": {\"2\": \"explicit-key\"},"
    " \"devices\": {\"min\": 1, \"max\": 1000, \"zipf_skew\": 1.0},"
    " \"routes\": [{\"route\": \"latest\", \"weight\": 50, \"limit\": 7},"
    "  {\"route\": \"device_readings\", \"weight\": 20, \"hours\": 6, \"limit\": 9},"
    "  {\"route\": \"device\", \"weight\": 10},"
    "  {\"route\": \"ingest\", \"weight\": 10, \"batch\": 3},"
    "  {\"route\": \"report\", \"weight\": 10, \"email\": \"a\\\"b@example.com\"}]}";

static void test_deterministic(void **state)
{
    (void)state;
    char err[256];
    struct mix *m = mix_parse(sample, "sample", err, sizeof err);
    assert_non_null(m);
    struct rng a, b;
    rng_seed(&a, 99);
    rng_seed(&b, 99);
    struct mix_request ra = {0}, rb = {0};
    for (int i = 0; i < 5000; i++) {
        mix_next(m, &a, NOW_MS, &ra);
        mix_next(m, &b, NOW_MS, &rb);
        assert_int_equal(ra.route, rb.route);
        assert_int_equal(ra.user, rb.user);
        assert_string_equal(ra.path, rb.path);
        assert_int_equal(ra.body.len, rb.body.len);
        if (ra.body.len)
            assert_memory_equal(ra.body.data, rb.body.data, ra.body.len);
    }
    /* another seed gives another sequence */
    rng_seed(&a, 99);
    rng_seed(&b, 100);
    int same = 0;
    for (int i = 0; i < 200; i++) {
        mix_next(m, &a, NOW_MS, &ra);
        mix_next(m, &b, NOW_MS, &rb);
        same += strcmp(ra.path, rb.path) == 0;
    }
    assert_true(same < 150);
    strbuf_free(&ra.body);
    strbuf_free(&rb.body);
    mix_free(m);
}

static void test_shapes_and_shares(void **state)
{
    (void)state;
    char err[256];
    struct mix *m = mix_parse(sample, "sample", err, sizeof err);
    assert_non_null(m);
    assert_string_equal(mix_user_key(m, 1), "explicit-key");
    char want[40];
    seed_api_key(3, 1, want);
    assert_string_equal(mix_user_key(m, 0), want);
    struct rng r;
    rng_seed(&r, 5);
    struct mix_request req = {0};
    int counts[MIX_NROUTES] = {0};
    const int n = 50000;
    for (int i = 0; i < n; i++) {
        mix_next(m, &r, NOW_MS, &req);
        counts[req.route]++;
        int id = 0;
        switch (req.route) {
        case MIX_LATEST:
            assert_string_equal(req.path, "/api/readings/latest?limit=7");
            assert_false(req.post);
            break;
        case MIX_DEVICE_READINGS: {
            int h = 0, l = 0;
            assert_int_equal(
                sscanf(req.path, "/api/devices/%d/readings?hours=%d&limit=%d", &id, &h, &l), 3);
            assert_int_equal(h, 6);
            assert_int_equal(l, 9);
            break;
        }
        case MIX_DEVICE:
            assert_int_equal(sscanf(req.path, "/api/devices/%d", &id), 1);
            break;
        case MIX_INGEST: {
            assert_true(req.post);
            assert_int_equal(sscanf(req.path, "/api/devices/%d/readings", &id), 1);
            json_error_t jerr;
            json_t *body = json_loadb(req.body.data, req.body.len, 0, &jerr);
            assert_non_null(body);
            json_t *readings = json_object_get(body, "readings");
            assert_int_equal(json_array_size(readings), 3);
            json_t *last = json_array_get(readings, 2);
            assert_string_equal(json_string_value(json_object_get(last, "timestamp")),
                                "2026-11-18T11:06:40.000Z");
            assert_true(json_is_number(json_object_get(last, "temperature")));
            assert_true(json_is_number(json_object_get(last, "humidity")));
            assert_true(json_is_number(json_object_get(last, "battery")));
            assert_true(json_is_integer(json_object_get(last, "rssi")));
            json_decref(body);
            break;
        }
        case MIX_REPORT: {
            assert_string_equal(req.path, "/api/reports");
            json_error_t jerr;
            json_t *body = json_loadb(req.body.data, req.body.len, 0, &jerr);
            assert_non_null(body);
            assert_string_equal(json_string_value(json_object_get(body, "kind")), "device");
            assert_string_equal(json_string_value(json_object_get(body, "email")),
                                "a\"b@example.com");
            assert_int_equal(json_integer_value(json_object_get(body, "hours")), 24);
            id = (int)json_integer_value(json_object_get(body, "id"));
            json_decref(body);
            break;
        }
        default:
            fail();
        }
        if (req.route != MIX_LATEST) {
            /* user 2's devices are 100..199, user 1's 1..1000 */
            if (req.user == 1)
                assert_true(id >= 100 && id <= 199);
            else
                assert_true(id >= 1 && id <= 1000);
        }
    }
    double want_share[] = {0.5, 0.2, 0.1, 0.1, 0.1};
    for (int i = 0; i < MIX_PATH; i++)
        assert_true(fabs((double)counts[i] / n - want_share[i]) < 0.01);
    strbuf_free(&req.body);
    mix_free(m);
}

static void test_zipf_skew(void **state)
{
    (void)state;
    const int n = 1000, samples = 200000;
    struct zipf *z = zipf_new(n, 1.0);
    struct rng r;
    rng_seed(&r, 11);
    int *hits = calloc((size_t)n + 1, sizeof *hits);
    for (int i = 0; i < samples; i++) {
        int64_t k = zipf_sample(z, &r);
        assert_true(k >= 1 && k <= n);
        hits[k]++;
    }
    double harmonic = 0;
    for (int k = 1; k <= n; k++)
        harmonic += 1.0 / k;
    /* P(1) = 1/H(n); rank 1 is hit twice as often as rank 2, ten times as often as 10 */
    double p1 = (double)hits[1] / samples;
    assert_true(fabs(p1 - 1.0 / harmonic) < 0.05 / harmonic);
    assert_true(fabs((double)hits[1] / hits[2] - 2.0) < 0.15);
    assert_true(fabs((double)hits[1] / hits[10] - 10.0) < 1.5);
    zipf_free(z);
    /* skew 0 is uniform */
    z = zipf_new(10, 0.0);
    memset(hits, 0, sizeof *hits * ((size_t)n + 1));
    for (int i = 0; i < samples; i++)
        hits[zipf_sample(z, &r)]++;
    for (int k = 1; k <= 10; k++)
        assert_true(fabs((double)hits[k] / samples - 0.1) < 0.005);
    zipf_free(z);
    assert_null(zipf_new(0, 1.0));
    assert_null(zipf_new(10, -1.0));
    free(hits);
}

static void test_fixed_path(void **state)
{
    (void)state;
    struct mix *m = mix_fixed_path("/index.html");
    assert_non_null(m);
    struct rng r;
    rng_seed(&r, 1);
    struct mix_request req = {0};
    mix_next(m, &r, NOW_MS, &req);
    assert_string_equal(req.path, "/index.html");
    assert_int_equal(req.route, MIX_PATH);
    assert_int_equal(req.user, -1);
    assert_false(req.post);
    assert_string_equal(mix_source(m), "path:/index.html");
    mix_free(m);
    assert_null(mix_fixed_path("index.html"));
}

/* With "dataset_scale" every device request names a device on one of that user's
 * sites, as the generator seeds them; without it, the restricted user would hit others'. */
static void test_users_ask_about_their_own_devices(void **state)
{
    (void)state;
    static const char json[] =
        "{\"dataset_seed\": 3, \"dataset_scale\": 1, \"users\": [1, 5],"
        " \"devices\": {\"min\": 1, \"max\": 1000, \"zipf_skew\": 0.5},"
        " \"routes\": [{\"route\": \"device\", \"weight\": 1}]}";
    char err[256];
    struct mix *m = mix_parse(json, "own", err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    struct gen *g = gen_new(3, 1);
    assert_non_null(g);
    struct rng r;
    rng_seed(&r, 7);
    struct mix_request req = {0};
    int seen_by[2] = {0, 0};
    for (int i = 0; i < 4000; i++) {
        mix_next(m, &r, NOW_MS, &req);
        int id = 0;
        assert_int_equal(sscanf(req.path, "/api/devices/%d", &id), 1);
        struct gen_device d;
        assert_int_equal(gen_device(g, id, &d), 0);
        assert_true(gen_user_sees(g, mix_user_id(m, req.user), d.site_id));
        seen_by[req.user]++;
    }
    assert_true(seen_by[0] > 1000 && seen_by[1] > 1000);
    strbuf_free(&req.body);
    gen_free(g);
    mix_free(m);

    /* a scale without the seed it belongs to is refused */
    expect_error("{\"dataset_scale\": 1, \"routes\": [{\"route\": \"latest\", \"weight\": 1}]}",
                 "dataset_scale");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_mixes_load), cmocka_unit_test(test_ingest_mix),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_deterministic),      cmocka_unit_test(test_shapes_and_shares),
        cmocka_unit_test(test_zipf_skew),          cmocka_unit_test(test_fixed_path),
        cmocka_unit_test(test_users_ask_about_their_own_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
