/* test_run_options.c - `apibench run` options: defaults, values, and bad input rejected
 * with one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "run_options.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_defaults_and_values(void **state)
{
    (void)state;
    struct run_options o;
    char err[256];
    char *a1[] = {"run", "--target", "http://127.0.0.1:18101/", "--rate", "250"};
    assert_int_equal(run_options_parse(ARGC(a1), a1, &o, err, sizeof err), 0);
    assert_string_equal(o.target, "http://127.0.0.1:18101");
    assert_false(o.closed);
    assert_true(o.rate == 250.0);
    assert_int_equal(o.connections, 64);
    assert_int_equal(o.threads, 1);
    assert_int_equal(o.timeout_ms, 30000);
    assert_int_equal(o.warmup_ns, 5000000000LL);
    assert_int_equal(o.duration_ns, 30000000000LL);
    assert_int_equal(o.cooldown_ns, 0);
    assert_true(o.gzip);
    assert_false(o.decode);
    assert_false(o.busy_poll);
    assert_null(o.mix_path);

    char *a2[] = {"run",           "--target=http://h:1",
                  "--mode",        "closed",
                  "--connections", "8",
                  "--threads",     "2",
                  "--warmup",      "500ms",
                  "--duration",    "2m",
                  "--cooldown",    "1.5",
                  "--timeout-ms",  "1500",
                  "--seed",        "42",
                  "--path",        "/x",
                  "--header",      "X-API-Key: k",
                  "--no-gzip",     "--quiet",
                  "--slo",         "p99<10ms",
                  "--out",         "d/n",
                  "--label",       "L"};
    assert_int_equal(run_options_parse(ARGC(a2), a2, &o, err, sizeof err), 0);
    assert_true(o.closed);
    assert_int_equal(o.connections, 8);
    assert_int_equal(o.threads, 2);
    assert_int_equal(o.warmup_ns, 500000000LL);
    assert_int_equal(o.duration_ns, 120000000000LL);
    assert_int_equal(o.cooldown_ns, 1500000000LL);
    assert_int_equal(o.timeout_ms, 1500);
    assert_int_equal(o.seed, 42);
    assert_string_equal(o.path, "/x");
    assert_int_equal(o.nheaders, 1);
    assert_false(o.gzip);
    assert_true(o.quiet);
    assert_int_equal(o.slo.n, 1);
    assert_string_equal(o.out, "d/n");
    assert_string_equal(o.label, "L");

    char *a3[] = {"run", "--target", "http://h:1", "--mode", "closed"};
    assert_int_equal(run_options_parse(ARGC(a3), a3, &o, err, sizeof err), 0);
    assert_int_equal(o.connections, 16);
}

static void expect_bad(int argc, char **argv, const char *fragment)
{
    struct run_options o;
    char err[256] = "";
    if (run_options_parse(argc, argv, &o, err, sizeof err) == 0)
        fail_msg("accepted bad options (%s)", fragment);
    if (!strstr(err, fragment))
        fail_msg("error '%s' lacks '%s'", err, fragment);
    assert_null(strchr(err, '\n'));
}

static void test_bad_input(void **state)
{
    (void)state;
    char *t = "--target", *u = "http://127.0.0.1:1";
    char *rate0[] = {"run", t, u, "--rate", "0"};
    expect_bad(ARGC(rate0), rate0, "bad --rate");
    char *rateneg[] = {"run", t, u, "--rate", "-5"};
    expect_bad(ARGC(rateneg), rateneg, "bad --rate");
    char *ratetxt[] = {"run", t, u, "--rate", "fast"};
    expect_bad(ARGC(ratetxt), ratetxt, "bad --rate");
    char *norate[] = {"run", t, u};
    expect_bad(ARGC(norate), norate, "missing --rate");
    char *closedrate[] = {"run", t, u, "--mode", "closed", "--rate", "5"};
    expect_bad(ARGC(closedrate), closedrate, "--rate makes no sense");
    char *dur0[] = {"run", t, u, "--rate", "5", "--duration", "0"};
    expect_bad(ARGC(dur0), dur0, "bad --duration");
    char *durneg[] = {"run", t, u, "--rate", "5", "--duration", "-3"};
    expect_bad(ARGC(durneg), durneg, "bad --duration");
    char *durunit[] = {"run", t, u, "--rate", "5", "--warmup", "3 fortnights"};
    expect_bad(ARGC(durunit), durunit, "bad --warmup");
    char *durlong[] = {"run", t, u, "--rate", "5", "--duration", "25h"};
    expect_bad(ARGC(durlong), durlong, "bad --duration");
    char *to0[] = {"run", t, u, "--rate", "5", "--timeout-ms", "0"};
    expect_bad(ARGC(to0), to0, "bad --timeout-ms");
    char *toneg[] = {"run", t, u, "--rate", "5", "--timeout-ms", "-1"};
    expect_bad(ARGC(toneg), toneg, "bad --timeout-ms");
    char *conn0[] = {"run", t, u, "--rate", "5", "--connections", "0"};
    expect_bad(ARGC(conn0), conn0, "bad --connections");
    char *fewconn[] = {"run", t, u, "--rate", "5", "--connections", "2", "--threads", "4"};
    expect_bad(ARGC(fewconn), fewconn, "at least --threads");
    char *notarget[] = {"run", "--rate", "5"};
    expect_bad(ARGC(notarget), notarget, "missing --target");
    char *badtarget[] = {"run", t, "ftp://x", "--rate", "5"};
    expect_bad(ARGC(badtarget), badtarget, "bad --target");
    char *both[] = {"run", t, u, "--rate", "5", "--mix", "m.json", "--path", "/x"};
    expect_bad(ARGC(both), both, "not both");
    char *badpath[] = {"run", t, u, "--rate", "5", "--path", "x"};
    expect_bad(ARGC(badpath), badpath, "bad --path");
    char *unknown[] = {"run", t, u, "--rate", "5", "--turbo"};
    expect_bad(ARGC(unknown), unknown, "unknown option '--turbo'");
    char *novalue[] = {"run", t, u, "--rate"};
    expect_bad(ARGC(novalue), novalue, "needs a value");
    char *badslo[] = {"run", t, u, "--rate", "5", "--slo", "p99<fast"};
    expect_bad(ARGC(badslo), badslo, "bad slo term");
    char *badarrival[] = {"run", t, u, "--rate", "5", "--arrival", "bursty"};
    expect_bad(ARGC(badarrival), badarrival, "bad --arrival");
    char *badmode[] = {"run", t, u, "--mode", "half-open"};
    expect_bad(ARGC(badmode), badmode, "bad --mode");
    char *badheader[] = {"run", t, u, "--rate", "5", "--header", "NoColon"};
    expect_bad(ARGC(badheader), badheader, "bad --header");
    char *badout[] = {"run", t, u, "--rate", "5", "--out", "dir/"};
    expect_bad(ARGC(badout), badout, "bad --out");
    char *decodeval[] = {"run", t, u, "--rate", "5", "--decode=yes"};
    expect_bad(ARGC(decodeval), decodeval, "--decode takes no value");
    char *busyval[] = {"run", t, u, "--rate", "5", "--busy-poll=1"};
    expect_bad(ARGC(busyval), busyval, "--busy-poll takes no value");
}

/* --decode and --busy-poll are off by default and reach loadgen_config through the one
 * mapping that `apibench capacity` shares. */
static void test_loadgen_config(void **state)
{
    (void)state;
    struct run_options o;
    char err[256];
    /* kept as option/value pairs (clang-format would put one string per line) */
    // clang-format off
    char *a[] = {"run", "--target", "http://127.0.0.1:18101", "--rate", "2500.5",
                 "--decode", "--busy-poll", "--no-gzip",
                 "--threads", "2", "--connections", "10", "--timeout-ms", "750",
                 "--backlog", "77", "--warmup", "1", "--duration", "3", "--cooldown", "0.5",
                 "--seed", "9", "--arrival", "poisson", "--header", "X-A: 1",
                 "--path", "/static.json"};
    // clang-format on
    assert_int_equal(run_options_parse(ARGC(a), a, &o, err, sizeof err), 0);
    assert_true(o.decode);
    assert_true(o.busy_poll);
    struct mix *m = run_options_load_mix(&o, err, sizeof err);
    assert_non_null(m);
    struct loadgen_config cfg;
    assert_int_equal(run_options_to_loadgen_config(&o, m, stderr, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.target, "http://127.0.0.1:18101");
    assert_ptr_equal(cfg.mix, m);
    assert_false(cfg.closed);
    assert_int_equal(cfg.arrival, SCHEDULE_POISSON);
    assert_true(cfg.rate == 2500.5);
    assert_int_equal(cfg.threads, 2);
    assert_int_equal(cfg.connections, 10);
    assert_int_equal(cfg.timeout_ms, 750);
    assert_int_equal(cfg.backlog_max, 77);
    assert_int_equal(cfg.warmup_ns, 1000000000LL);
    assert_int_equal(cfg.duration_ns, 3000000000LL);
    assert_int_equal(cfg.cooldown_ns, 500000000LL);
    assert_int_equal(cfg.seed, 9);
    assert_false(cfg.gzip);
    assert_true(cfg.decode);
    assert_true(cfg.busy_poll);
    assert_int_equal(cfg.nheaders, 1);
    assert_string_equal(cfg.headers[0], "X-A: 1");
    assert_ptr_equal(cfg.progress, stderr);

    /* the run JSON's config records both flags */
    json_t *cj = run_options_config_json(&o, m);
    assert_true(json_is_true(json_object_get(cj, "decode")));
    assert_true(json_is_true(json_object_get(cj, "busy_poll")));
    assert_false(json_is_true(json_object_get(cj, "gzip")));
    json_decref(cj);

    /* defaults: neither flag; closed loop has no rate */
    char *b[] = {"run", "--target", "http://h:1", "--mode", "closed", "--path", "/x"};
    assert_int_equal(run_options_parse(ARGC(b), b, &o, err, sizeof err), 0);
    assert_int_equal(run_options_to_loadgen_config(&o, m, NULL, &cfg, err, sizeof err), 0);
    assert_true(cfg.closed);
    assert_false(cfg.decode);
    assert_false(cfg.busy_poll);
    assert_true(cfg.gzip);
    assert_null(cfg.progress);

    /* an open loop without a rate is refused, with one line */
    o.closed = false;
    o.rate = 0;
    assert_int_equal(run_options_to_loadgen_config(&o, m, NULL, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "rate"));
    mix_free(m);
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(run_parse_duration("2", &ns), 0);
    assert_int_equal(ns, 2000000000LL);
    assert_int_equal(run_parse_duration("250ms", &ns), 0);
    assert_int_equal(ns, 250000000LL);
    assert_int_equal(run_parse_duration("1h", &ns), 0);
    assert_int_equal(ns, 3600000000000LL);
    assert_int_equal(run_parse_duration("0", &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(run_parse_duration("", &ns), -1);
    assert_int_equal(run_parse_duration("s", &ns), -1);
    assert_int_equal(run_parse_duration("nan", &ns), -1);
    assert_int_equal(run_parse_duration("5d", &ns), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_loadgen_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
